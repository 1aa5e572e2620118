package awsbilling_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// export describes one Data Exports delivery written by writeExport.
type export struct {
	name      string // export name
	period    string // YYYY-MM
	execution string // execution ID; with sub set, also its folder
	sub       bool   // "create new" delivery: one folder per execution
	columns   []string
	files     map[string][]byte // data file name → content
	modified  time.Time
}

// writeExport lays an export out as AWS delivers it under
// <root>/exports/<name>/{metadata,data}/BILLING_PERIOD=<period>/.
func writeExport(t *testing.T, root string, e export) {
	t.Helper()
	part := "BILLING_PERIOD=" + e.period
	if e.sub {
		part += "/" + e.execution
	}
	dataDir := path.Join("exports", e.name, "data", part)
	var dataFiles []string
	for name, b := range e.files {
		key := path.Join(dataDir, name)
		if err := writeFile(filepath.Join(root, key), b); err != nil {
			t.Fatal(err)
		}
		dataFiles = append(dataFiles, "s3://billing-exports/"+key)
	}
	cols := make([]map[string]string, 0, len(e.columns))
	for _, c := range e.columns {
		cols = append(cols, map[string]string{"name": c, "type": "string"})
	}
	manifest, _ := json.Marshal(map[string]any{
		"executionId": e.execution, "exportName": e.name, "dataFiles": dataFiles, "columns": cols,
		"billingPeriod": map[string]string{"start": e.period + "-01T00:00:00.000Z"},
	})
	key := filepath.Join(root, "exports", e.name, "metadata", filepath.FromSlash(part), e.name+"-Manifest.json")
	if err := writeFile(key, manifest); err != nil {
		t.Fatal(err)
	}
	if !e.modified.IsZero() {
		if err := os.Chtimes(key, e.modified, e.modified); err != nil {
			t.Fatal(err)
		}
	}
}

var cur2Header = []string{
	"bill_bill_type", "bill_billing_period_start_date", "bill_billing_period_end_date", "bill_payer_account_id",
	"line_item_usage_account_id", "line_item_line_item_type", "line_item_usage_start_date", "line_item_usage_end_date",
	"line_item_product_code", "line_item_usage_type", "line_item_currency_code", "line_item_unblended_cost",
	"line_item_net_unblended_cost", "line_item_usage_amount", "pricing_public_on_demand_cost", "product_region_code",
	"product", "resource_tags", "cost_category", "savings_plan_savings_plan_effective_cost", "savings_plan_savings_plan_a_r_n",
}

// cur2Rows is a CUR 2.0 month: net cost where AWS gives one, savings-plan
// covered usage, tax and a credit. BilledCost totals 0.0939.
func cur2Rows(period string) [][]string {
	start, end := period+"-01T00:00:00.000Z", nextMonth(period)+"-01T00:00:00.000Z"
	u0, u1 := period+"-02T00:00:00.000Z", period+"-02T01:00:00.000Z"
	product := `{"product_name":"Amazon Elastic Compute Cloud","instance_type":"m5.large","region":"us-east-1"}`
	return [][]string{cur2Header,
		{"Anniversary", start, end, "123456789012", "210987654321", "Usage", u0, u1, "AmazonEC2", "BoxUsage:m5.large", "USD", "0.1", "0.09", "1", "0.1", "us-east-1", product, `{"user_app":"web","user_env":"prod"}`, `{"team":"platform"}`, "", ""},
		{"Anniversary", start, end, "123456789012", "210987654321", "SavingsPlanCoveredUsage", u0, u1, "AmazonEC2", "BoxUsage:t3.medium", "USD", "0.0416", "", "1", "0.0416", "eu-west-1", "{}", "{}", "", "0.025", "arn:aws:savingsplans::123456789012:savingsplan/abc"},
		{"Anniversary", start, end, "123456789012", "210987654321", "Tax", u0, end, "AmazonEC2", "", "USD", "0.0123", "", "", "", "", "", "", "", "", ""},
		{"Anniversary", start, end, "123456789012", "210987654321", "Credit", u0, end, "AmazonEC2", "", "USD", "-0.05", "", "", "", "", "", "", "", "", ""},
	}
}

func nextMonth(period string) string {
	t, _ := time.Parse("2006-01", period)
	return t.AddDate(0, 1, 0).Format("2006-01")
}

func TestIngestOfCUR2CSVExportTakesNewestExecutionOnly(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		root := t.TempDir()
		e := newEnv(t, s, root)
		old := cur2Rows("2026-09")
		old[1][12] = "1000" // an earlier execution with other numbers
		writeExport(t, root, export{name: "cur2", period: "2026-09", execution: "exec-1", sub: true, columns: cur2Header,
			files: map[string][]byte{"cur2-00001.csv.gz": gzipCSV(t, old)}, modified: time.Now().Add(-time.Hour)})
		writeExport(t, root, export{name: "cur2", period: "2026-09", execution: "exec-2", sub: true, columns: cur2Header,
			files: map[string][]byte{"cur2-00001.csv.gz": gzipCSV(t, cur2Rows("2026-09"))}, modified: time.Now()})
		writeExport(t, root, export{name: "cur2", period: "2026-10", execution: "exec-3", columns: cur2Header,
			files: map[string][]byte{"cur2-00001.csv.gz": gzipCSV(t, cur2Rows("2026-10"))}})

		src := awsbilling.NewSource(localfiles.Dir(root), "exports", awsbilling.KindAuto)
		run := e.mustIngest(t, src, billing.RunSucceeded)
		if run.Format != awsbilling.FormatCUR2 || run.Rows != 8 {
			t.Errorf("run read %d rows as %s, want 8 as %s", run.Rows, run.Format, awsbilling.FormatCUR2)
		}
		for _, f := range run.Files {
			if strings.Contains(f, "exec-1") {
				t.Errorf("read %s of a superseded execution", f)
			}
		}
		month := decimal.RequireFromString("0.0939")
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimBillingPeriod), map[string]decimal.Decimal{
			"2026-09 USD": month, "2026-10 USD": month,
		})
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimChargeCategory), map[string]decimal.Decimal{
			"Usage USD": decimal.RequireFromString("0.2632"), "Tax USD": decimal.RequireFromString("0.0246"),
			"Credit USD": decimal.RequireFromString("-0.1"),
		})
		assertTotals(t, e.report(t, billing.EffectiveCost, billing.DimProvider), map[string]decimal.Decimal{
			"AWS USD": decimal.RequireFromString("0.1546"), // (0.09 + 0.025 + 0.0123 - 0.05) × 2
		})
		e.mustIngest(t, src, billing.RunUnchanged)
	})
}

func TestDecodeCUR2MapsMapColumns(t *testing.T) {
	var items []billing.LineItem
	err := awsbilling.DecodeCUR(context.Background(), "cur2.csv.gz", bytes.NewReader(gzipCSV(t, cur2Rows("2026-09"))), func(l *billing.LineItem) error {
		items = append(items, *l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l := items[0]
	checks := []struct{ name, got, want string }{
		{"BilledCost", string(l.BilledCost), "0.09"},
		{"ServiceName", l.ServiceName, "Amazon Elastic Compute Cloud"},
		{"RegionId", l.RegionID, "us-east-1"},
		{"Tags", l.Tags, `{"app":"web","env":"prod"}`},
		{"x_CostCategories", l.Extras["x_CostCategories"], `{"team":"platform"}`},
		{"x_ProductInstanceType", l.Extras["x_ProductInstanceType"], "m5.large"},
		{"x_LineItemUsageType", l.Extras["x_LineItemUsageType"], "BoxUsage:m5.large"},
		{"x_LineItemUnblendedCost absent (it is ContractedCost)", l.Extras["x_LineItemUnblendedCost"], ""},
		{"ContractedCost", string(l.ContractedCost), "0.1"},
		{"savings plan ARN", items[1].CommitmentDiscountID, "arn:aws:savingsplans::123456789012:savingsplan/abc"},
		{"savings plan effective cost", string(items[1].EffectiveCost), "0.025"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	bad := cur2Rows("2026-09")
	bad[2][17] = `{"user_app":` // resource_tags
	err = awsbilling.DecodeCUR(context.Background(), "cur2.csv.gz", bytes.NewReader(gzipCSV(t, bad)), func(*billing.LineItem) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "cur2.csv.gz: line 3, column resource_tags: not a JSON object") {
		t.Errorf("got %v, want the broken map located", err)
	}
}

func TestIngestOfFOCUSExports(t *testing.T) {
	t.Parallel()
	focusCSV := readFileBytes(t, "testdata/focus-1.2-aws.csv")
	tests := []struct {
		name   string
		period string
		file   string
		data   []byte
		want   decimal.Decimal
	}{
		{"FOCUS 1.2 CSV", "2024-09", "focus-00001.csv.gz", gzipBytes(t, string(focusCSV)), decimal.RequireFromString("93672.998281940000073")},
		{"FOCUS 1.2 Parquet", "2026-09", "focus-00001.snappy.parquet", focusParquetFile(t), decimal.RequireFromString("0.55")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
				root := t.TempDir()
				e := newEnv(t, s, root)
				writeExport(t, root, export{name: "focus", period: tt.period, execution: "exec-1",
					columns: []string{"BilledCost", "BillingCurrency"}, files: map[string][]byte{tt.file: tt.data}})
				run := e.mustIngest(t, awsbilling.NewSource(localfiles.Dir(root), "", awsbilling.KindFOCUS), billing.RunSucceeded)
				if run.Format != awsbilling.FormatFOCUS {
					t.Errorf("format %s, want %s", run.Format, awsbilling.FormatFOCUS)
				}
				assertTotals(t, e.report(t, billing.BilledCost, billing.DimProvider), map[string]decimal.Decimal{"AWS USD": tt.want})
			})
		})
	}
}

func TestDataExportsSharingAPrefixAreChosenByKind(t *testing.T) {
	root := t.TempDir()
	writeExport(t, root, export{name: "cur2", period: "2026-09", execution: "a", columns: cur2Header,
		files: map[string][]byte{"cur2-00001.csv.gz": gzipCSV(t, cur2Rows("2026-09"))}})
	writeExport(t, root, export{name: "focus", period: "2026-09", execution: "b", columns: []string{"BilledCost"},
		files: map[string][]byte{"focus-00001.snappy.parquet": focusParquetFile(t)}})
	bucket := localfiles.Dir(root)

	_, err := awsbilling.NewSource(bucket, "", awsbilling.KindAuto).Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "several Data Exports (cur2, focus)") {
		t.Errorf("auto kind over two exports: got %v, want them refused", err)
	}
	for kind, wantFile := range map[awsbilling.Kind]string{awsbilling.KindCUR2: "cur2-00001.csv.gz", awsbilling.KindFOCUS: "focus-00001.snappy.parquet"} {
		m, err := awsbilling.NewSource(bucket, "", kind).Scan(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if got := m.Parts[0].Files[0].Name; !strings.HasSuffix(got, wantFile) {
			t.Errorf("%s: read %s, want %s", kind, got, wantFile)
		}
	}
	// The prefix of one export needs no kind.
	if _, err := awsbilling.NewSource(bucket, "exports/focus", awsbilling.KindAuto).Scan(context.Background()); err != nil {
		t.Errorf("prefix of one export: %v", err)
	}
}

func TestReadRefusesAnExportOfTheWrongKind(t *testing.T) {
	root := t.TempDir()
	writeExport(t, root, export{name: "e", period: "2026-09", execution: "a",
		files: map[string][]byte{"e-00001.csv.gz": gzipCSV(t, cur2Rows("2026-09"))}})
	src := awsbilling.NewSource(localfiles.Dir(root), "", awsbilling.KindFOCUS)
	m, err := src.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err = src.Read(context.Background(), m.Parts[0], func(*billing.LineItem) error { return nil }, nil)
	if err == nil || domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), "e-00001.csv.gz: line 1: not a FOCUS export") {
		t.Errorf("got %v", err)
	}
}

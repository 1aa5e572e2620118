package awsbilling_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// cur2Parquet is a CUR 2.0 row as Data Exports writes it in Parquet.
type cur2Parquet struct {
	BillingPeriodStart time.Time         `parquet:"bill_billing_period_start_date,timestamp(millisecond)"`
	BillingPeriodEnd   time.Time         `parquet:"bill_billing_period_end_date,timestamp(millisecond)"`
	PayerAccountID     string            `parquet:"bill_payer_account_id"`
	UsageAccountID     string            `parquet:"line_item_usage_account_id"`
	LineItemType       string            `parquet:"line_item_line_item_type"`
	UsageStart         time.Time         `parquet:"line_item_usage_start_date,timestamp(microsecond)"`
	UsageEnd           time.Time         `parquet:"line_item_usage_end_date,timestamp(microsecond)"`
	ProductCode        string            `parquet:"line_item_product_code"`
	Currency           string            `parquet:"line_item_currency_code"`
	UnblendedCost      float64           `parquet:"line_item_unblended_cost"`
	NetUnblendedCost   *float64          `parquet:"line_item_net_unblended_cost,optional"`
	PublicCost         *float64          `parquet:"pricing_public_on_demand_cost,optional"`
	Product            map[string]string `parquet:"product"`
	ResourceTags       map[string]string `parquet:"resource_tags"`
	SPEffectiveCost    *float64          `parquet:"savings_plan_savings_plan_effective_cost,optional"`
}

// cur2ParquetFile holds doubles whose float64 sum is not their decimal sum:
// 0.1 + 0.2 + 0.3 is 0.6000000000000001 in binary, 0.6 here.
func cur2ParquetFile(t *testing.T) []byte {
	t.Helper()
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	var rows []cur2Parquet
	for i, cost := range []float64{0.1, 0.2, 0.3, 1.7e-05, 123456.789} {
		r := cur2Parquet{
			BillingPeriodStart: start, BillingPeriodEnd: start.AddDate(0, 1, 0), PayerAccountID: "123456789012",
			UsageAccountID: "210987654321", LineItemType: "Usage", UsageStart: start.Add(time.Duration(i) * time.Hour),
			UsageEnd: start.Add(time.Duration(i+1) * time.Hour), ProductCode: "AmazonS3", Currency: "USD",
			UnblendedCost: cost, PublicCost: f(cost), Product: map[string]string{"product_name": "Amazon Simple Storage Service"},
			ResourceTags: map[string]string{"user_app": "db"},
		}
		if i == 4 {
			r.LineItemType, r.SPEffectiveCost, r.ResourceTags = "SavingsPlanCoveredUsage", f(100.5), nil
		}
		rows = append(rows, r)
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIngestOfCUR2ParquetExportConvertsDoublesExactly(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		root := t.TempDir()
		e := newEnv(t, s, root)
		writeExport(t, root, export{name: "cur2-parquet", period: "2026-09", execution: "exec-1",
			files: map[string][]byte{"cur2-parquet-00001.snappy.parquet": cur2ParquetFile(t)}})
		e.mustIngest(t, awsbilling.NewSource(localfiles.Dir(root), "", awsbilling.KindCUR2), billing.RunSucceeded)
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimProvider), map[string]decimal.Decimal{
			"AWS USD": decimal.RequireFromString("123457.389017"),
		})
		assertTotals(t, e.report(t, billing.EffectiveCost, billing.DimProvider), map[string]decimal.Decimal{
			"AWS USD": decimal.RequireFromString("101.100017"),
		})
	})
}

func TestDecodeParquetKeepsShortestDecimalText(t *testing.T) {
	data := cur2ParquetFile(t)
	var got []string
	var tags []string
	err := awsbilling.DecodeParquet(context.Background(), "x.parquet", bytes.NewReader(data), int64(len(data)), func(l *billing.LineItem) error {
		got = append(got, string(l.BilledCost))
		tags = append(tags, l.Tags)
		if l.ChargePeriodStart.IsZero() || l.ServiceName != "Amazon Simple Storage Service" {
			t.Errorf("row lost its charge period or service: %+v", l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "0.1 0.2 0.3 0.000017 123456.789"
	if strings.Join(got, " ") != want {
		t.Errorf("billed costs %q, want %q", strings.Join(got, " "), want)
	}
	if tags[0] != `{"app":"db"}` || tags[4] != "" {
		t.Errorf("tags %q, want the map as JSON and none for the untagged row", tags)
	}
}

// focusParquet is a row of a FOCUS_1_2_AWS export in Parquet.
type focusParquet struct {
	BilledCost         float64           `parquet:"BilledCost"`
	EffectiveCost      float64           `parquet:"EffectiveCost"`
	ListCost           *float64          `parquet:"ListCost,optional"`
	BillingAccountID   string            `parquet:"BillingAccountId"`
	BillingCurrency    string            `parquet:"BillingCurrency"`
	BillingPeriodStart time.Time         `parquet:"BillingPeriodStart,timestamp(millisecond)"`
	BillingPeriodEnd   time.Time         `parquet:"BillingPeriodEnd,timestamp(millisecond)"`
	ChargePeriodStart  time.Time         `parquet:"ChargePeriodStart,timestamp(millisecond)"`
	ChargePeriodEnd    time.Time         `parquet:"ChargePeriodEnd,timestamp(millisecond)"`
	ChargeCategory     string            `parquet:"ChargeCategory"`
	ProviderName       string            `parquet:"ProviderName"`
	PublisherName      string            `parquet:"PublisherName"`
	InvoiceIssuerName  string            `parquet:"InvoiceIssuerName"`
	ServiceName        string            `parquet:"ServiceName"`
	Tags               map[string]string `parquet:"Tags"`
	CostCategories     map[string]string `parquet:"x_CostCategories"`
	UsageType          string            `parquet:"x_UsageType"`
}

func focusParquetFile(t *testing.T) []byte {
	t.Helper()
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var rows []focusParquet
	for i, cost := range []float64{0.1, 0.2, 0.3, -0.05} {
		cat := "Usage"
		if cost < 0 {
			cat = "Credit"
		}
		rows = append(rows, focusParquet{
			BilledCost: cost, EffectiveCost: cost / 2, BillingAccountID: "123456789012", BillingCurrency: "USD",
			BillingPeriodStart: start, BillingPeriodEnd: start.AddDate(0, 1, 0),
			ChargePeriodStart: start.Add(time.Duration(i) * time.Hour), ChargePeriodEnd: start.Add(time.Duration(i+1) * time.Hour),
			ChargeCategory: cat, ProviderName: "AWS", PublisherName: "AWS", InvoiceIssuerName: "AWS",
			ServiceName: "Amazon Simple Storage Service", Tags: map[string]string{"app": "db"},
			CostCategories: map[string]string{"team": "data"}, UsageType: "TimedStorage-ByteHrs",
		})
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeParquetReadsFOCUSMapsAndExtras(t *testing.T) {
	data := focusParquetFile(t)
	var items []billing.LineItem
	err := awsbilling.DecodeParquet(context.Background(), "f.parquet", bytes.NewReader(data), int64(len(data)), func(l *billing.LineItem) error {
		items = append(items, *l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l := items[1]
	if l.Tags != `{"app":"db"}` || l.Extras["x_CostCategories"] != `{"team":"data"}` || l.Extras["x_UsageType"] != "TimedStorage-ByteHrs" ||
		l.EffectiveCost != "0.1" || l.ListCost.Valid() {
		t.Errorf("got tags %s extras %v effective %s list %q", l.Tags, l.Extras, l.EffectiveCost, l.ListCost)
	}
}

func TestDecodeParquetRejectsBrokenFiles(t *testing.T) {
	good := cur2ParquetFile(t)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not Parquet", []byte("line_item_unblended_cost\n1\n"), "x.parquet: line 1: not a valid Parquet file"},
		{"truncated", good[:len(good)-100], "x.parquet: line 1: not a valid Parquet file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := awsbilling.DecodeParquet(context.Background(), "x.parquet", bytes.NewReader(tt.data), int64(len(tt.data)), func(*billing.LineItem) error { return nil })
			if err == nil || domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDecodeParquetReadsEveryRowAcrossBatchesAndRowGroups(t *testing.T) {
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	want := decimal.Zero
	var rows []cur2Parquet
	for i := range 1500 {
		cost := float64(i) / 100
		want = want.Add(decimal.New(int64(i), -2))
		rows = append(rows, cur2Parquet{
			BillingPeriodStart: start, BillingPeriodEnd: start.AddDate(0, 1, 0), LineItemType: "Usage",
			UsageStart: start, UsageEnd: start.Add(time.Hour), Currency: "USD", UnblendedCost: cost,
			ResourceTags: map[string]string{"n": decimal.NewFromInt(int64(i)).String()},
		})
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[cur2Parquet](&buf, parquet.MaxRowsPerRowGroup(400))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var sum billing.Sum
	n := 0
	err := awsbilling.DecodeParquet(context.Background(), "big.parquet", bytes.NewReader(buf.Bytes()), int64(buf.Len()), func(l *billing.LineItem) error {
		if wantTags := `{"n":"` + decimal.NewFromInt(int64(n)).String() + `"}`; l.Tags != wantTags {
			t.Fatalf("row %d has tags %s, want %s", n, l.Tags, wantTags)
		}
		n++
		sum.Add(l.BilledCost)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1500 || !sum.Decimal().Equal(want) {
		t.Errorf("read %d rows totalling %s, want 1500 totalling %s", n, sum.Decimal(), want)
	}
}

package ocibilling_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

const (
	sampleSep = "testdata/bucket/report_cost-1950_2026-09.csv"
	sampleOct = "testdata/bucket/report_cost-7576_2026-10.csv"
	usageOct  = "testdata/bucket/report_usage-5959_2026-10.csv"
)

// Independent totals of the samples' cost/myCost (testdata/README.md).
var (
	wantSep   = decimal.RequireFromString("331.98480")
	wantOct   = decimal.RequireFromString("33.19848")
	wantTotal = decimal.RequireFromString("365.18328")
)

// system is the caller the tests act as: it may act on every organization.
var system = tenancy.SystemPrincipal("test")

// env is a real store with an organization and a connector to ingest into.
type env struct {
	ingester *billing.Ingester
	reporter *billing.Reporter
	orgID    string
	connID   string
}

func newEnv(t *testing.T, s *sqlstore.Store) env {
	t.Helper()
	ctx := context.Background()
	rights := tenancy.NewRights(s)
	org, err := tenancy.NewService(s, rights).CreateOrganization(ctx, system, "acme", "", tenancy.Customer, "")
	if err != nil {
		t.Fatal(err)
	}
	location := "oci://bling/ocid1.tenancy.oc1..test"
	c := connectors.Connector{ID: tenancy.NewID(), OrgID: org.ID, Provider: connectors.Local, Name: filepath.Base(location),
		Location: location, Format: "oci", Enabled: true, Status: connectors.StatusNew, CreatedAt: time.Now().UTC()}
	if err := s.CreateConnector(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	return env{ingester: billing.NewIngester(s, tenancy.NewID), reporter: billing.NewReporter(s, s, rights), orgID: org.ID, connID: c.ID}
}

func (e env) ingest(t *testing.T, src billing.Source) (billing.IngestionRun, error) {
	t.Helper()
	return e.ingester.Ingest(context.Background(), billing.IngestRequest{OrgID: e.orgID, ConnectorID: e.connID, Source: src})
}

// totals reads BilledCost back through the Reporter, grouped by dim, keyed
// "VALUE CURRENCY".
func (e env) totals(t *testing.T, dim billing.Dimension) map[string]decimal.Decimal {
	t.Helper()
	rep, err := e.reporter.Report(context.Background(), system, billing.CostQuery{
		OrgID: e.orgID, From: day("2026-01-01"), To: day("2027-01-01"),
		DateBasis: billing.BillingPeriod, GroupBy: []billing.Dimension{dim},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]decimal.Decimal{}
	for _, g := range rep.Groups {
		k := "<none>"
		if v := g.Keys[0].Value; v != nil {
			k = *v
		}
		out[k+" "+g.Currency] = g.Total
	}
	return out
}

func assertTotals(t *testing.T, got, want map[string]decimal.Decimal) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d groups %v, want %d %v", len(got), got, len(want), want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !g.Equal(w) {
			t.Errorf("%s: got %s, want %s", k, g, w)
		}
	}
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func month(s string) time.Time { return day(s + "-01") }

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// put writes a file under dir at the slash-separated key, with the given
// modification time when it is not zero.
func put(t *testing.T, dir, key string, data []byte, modified time.Time) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if !modified.IsZero() {
		if err := os.Chtimes(path, modified, modified); err != nil {
			t.Fatal(err)
		}
	}
}

// records parses CSV text.
func records(t *testing.T, data []byte) [][]string {
	t.Helper()
	rs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func writeCSV(t *testing.T, rs [][]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sumByMonth adds cost/myCost per month of lineItem/intervalUsageStart
// straight from a cost report, independently of the package's decoder.
func sumByMonth(t *testing.T, paths ...string) map[string]decimal.Decimal {
	t.Helper()
	out := map[string]decimal.Decimal{}
	for _, p := range paths {
		rs := records(t, read(t, p))
		idx := map[string]int{}
		for i, h := range rs[0] {
			idx[h] = i
		}
		for _, r := range rs[1:] {
			k := r[idx["lineItem/intervalUsageStart"]][:7] + " " + r[idx["cost/currencyCode"]]
			out[k] = out[k].Add(decimal.RequireFromString(r[idx["cost/myCost"]]))
		}
	}
	return out
}

// OCI's FOCUS report header: FOCUS 1.0-preview names plus oci_* columns.
var ociFOCUSHeader = strings.Split("AvailabilityZone,BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,"+
	"BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeDescription,ChargeFrequency,ChargePeriodEnd,"+
	"ChargePeriodStart,ChargeSubcategory,CommitmentDiscountCategory,CommitmentDiscountId,CommitmentDiscountName,"+
	"CommitmentDiscountType,EffectiveCost,InvoiceIssuer,ListCost,ListUnitPrice,PricingCategory,PricingQuantity,"+
	"PricingUnit,Provider,Publisher,Region,ResourceId,ResourceName,ResourceType,ServiceCategory,ServiceName,SkuId,"+
	"SkuPriceId,SubAccountId,SubAccountName,Tags,UsageQuantity,UsageUnit,oci_ReferenceNumber,oci_CompartmentId,"+
	"oci_CompartmentName,oci_OverageFlag,oci_UnitPriceOverage,oci_BilledQuantityOverage,oci_CostOverage,"+
	"oci_AttributedUsage,oci_AttributedCost,oci_BackReferenceNumber", ",")

// focusRow is one OCI FOCUS report row: an hour of usage starting at start
// (2026-09-30T23:00Z), costing cost; backRef marks a correction.
type focusRow struct {
	start, cost, backRef string
}

// focusReport renders rows in OCI's FOCUS column set, gzipped.
func focusReport(t *testing.T, rows ...focusRow) []byte {
	t.Helper()
	rs := [][]string{ociFOCUSHeader}
	for i, r := range rows {
		start, err := time.Parse("2006-01-02T15:04Z", r.start)
		if err != nil {
			t.Fatal(err)
		}
		bp := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
		v := map[string]string{
			"AvailabilityZone": "Lylt:US-ASHBURN-AD-1", "BilledCost": r.cost, "BillingAccountId": "ocid1.tenancy.oc1..test",
			"BillingAccountName": "acme", "BillingCurrency": "USD",
			"BillingPeriodStart": bp.Format(time.RFC3339), "BillingPeriodEnd": bp.AddDate(0, 1, 0).Format(time.RFC3339),
			"ChargeCategory": "Usage", "ChargeDescription": "Block Volume - Performance", "ChargeFrequency": "Usage-Based",
			"ChargePeriodStart": start.Format("2006-01-02T15:04Z"), "ChargePeriodEnd": start.Add(time.Hour).Format("2006-01-02T15:04Z"),
			"ChargeSubcategory": "On-Demand", "EffectiveCost": r.cost, "InvoiceIssuer": "Oracle", "ListCost": r.cost,
			"ListUnitPrice": "0.0017", "PricingQuantity": "10", "PricingUnit": "GB Months", "Provider": "Oracle",
			"Publisher": "Oracle", "Region": "us-ashburn-1", "ResourceId": "ocid1.volume.oc1.iad.abc",
			"ResourceName": "data, volume", "ServiceCategory": "Storage", "ServiceName": "BLOCK_STORAGE", "SkuId": "B91961",
			"SubAccountId": "ocid1.compartment.oc1..apps", "SubAccountName": "apps",
			"Tags":          `{"Oracle-Tags.CreatedBy":"default/ops@example.com","team":"data"}`,
			"UsageQuantity": "10", "UsageUnit": "GB Months", "oci_ReferenceNumber": "V2.ref" + string(rune('A'+i)),
			"oci_CompartmentId": "ocid1.compartment.oc1..apps", "oci_CompartmentName": "apps", "oci_OverageFlag": "N",
			"oci_CostOverage": r.cost, "oci_AttributedCost": r.cost, "oci_BackReferenceNumber": r.backRef,
		}
		rec := make([]string, len(ociFOCUSHeader))
		for j, h := range ociFOCUSHeader {
			rec[j] = v[h]
		}
		rs = append(rs, rec)
	}
	return gz(t, writeCSV(t, rs))
}

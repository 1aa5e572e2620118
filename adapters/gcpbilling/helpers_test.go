package gcpbilling_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
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

// The sample extract and the totals its provenance README gives for it,
// computed outside this code (cost + Σ credits per invoice month, USD).
const (
	sampleDir  = "testdata/8f2d6c1e-bq-export"
	sampleFile = "202609_8f2d6c1e-bq-export_2026-09-01_2026-10-04.jsonl.gz"
	sampleRows = 6336

	readmeSeptember = "85.1120000639999994240"
	readmeOctober   = "9.990193536"
	readmeTotal     = "95.1021935999999994240"
)

var (
	september = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	october   = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
)

// system is the caller the tests act as: it may act on every organization.
var system = tenancy.SystemPrincipal("test")

type env struct {
	store    *sqlstore.Store
	tenancy  *tenancy.Service
	ingester *billing.Ingester
	reporter *billing.Reporter
}

func newEnv(s *sqlstore.Store) env {
	rights := tenancy.NewRights(s)
	return env{store: s, tenancy: tenancy.NewService(s, rights),
		ingester: billing.NewIngester(s, tenancy.NewID), reporter: billing.NewReporter(s, s, rights)}
}

// connector creates an organization and a connector for location in it.
func (e env) connector(t *testing.T, slug, location string) (orgID, connectorID string) {
	t.Helper()
	ctx := context.Background()
	o, err := e.tenancy.CreateOrganization(ctx, system, slug, "", tenancy.Customer, "")
	if err != nil {
		t.Fatal(err)
	}
	c := connectors.Connector{ID: tenancy.NewID(), OrgID: o.ID, Provider: connectors.Local, Name: filepath.Base(location),
		Location: location, Format: "gcp", Enabled: true, Status: connectors.StatusNew, CreatedAt: time.Now().UTC()}
	if err := e.store.CreateConnector(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	return o.ID, c.ID
}

func (e env) ingest(t *testing.T, orgID, connectorID string, src billing.Source) (billing.IngestionRun, error) {
	t.Helper()
	return e.ingester.Ingest(context.Background(), billing.IngestRequest{OrgID: orgID, ConnectorID: connectorID, Source: src})
}

// report sums a metric grouped by one dimension, dated by billing period,
// keyed "VALUE CURRENCY".
func (e env) report(t *testing.T, orgID string, metric billing.Metric, dim billing.Dimension) map[string]decimal.Decimal {
	t.Helper()
	rep, err := e.reporter.Report(context.Background(), system, billing.CostQuery{
		OrgID: orgID, From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		DateBasis: billing.BillingPeriod, Metric: metric, GroupBy: []billing.Dimension{dim},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]decimal.Decimal{}
	for _, g := range rep.Groups {
		k := "<none>"
		if g.Keys[0].Value != nil {
			k = *g.Keys[0].Value
		}
		out[k+" "+g.Currency] = g.Total
	}
	return out
}

func (e env) byPeriod(t *testing.T, orgID string) map[string]decimal.Decimal {
	t.Helper()
	return e.report(t, orgID, billing.BilledCost, billing.DimBillingPeriod)
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

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

func readmeByPeriod() map[string]decimal.Decimal {
	return map[string]decimal.Decimal{"2026-09 USD": dec(readmeSeptember), "2026-10 USD": dec(readmeOctober)}
}

// sampleLines returns the sample's JSON lines, uncompressed.
func sampleLines(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(sampleDir, sampleFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// exportRow is the part of a sample row the tests read on their own.
type exportRow struct {
	Cost           json.Number `json:"cost"`
	UsageStartTime string      `json:"usage_start_time"`
	Invoice        struct {
		Month string `json:"month"`
	} `json:"invoice"`
	Credits []struct {
		Amount json.Number `json:"amount"`
	} `json:"credits"`
}

func parseRow(t testing.TB, line string) exportRow {
	t.Helper()
	var row exportRow
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&row); err != nil {
		t.Fatal(err)
	}
	return row
}

// sums computes, straight from the JSON and independently of the package,
// the sum of cost and of credit amounts per invoice month.
func sums(t testing.TB, lines []string) (costs, credits map[string]decimal.Decimal) {
	t.Helper()
	costs, credits = map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
	for _, line := range lines {
		row := parseRow(t, line)
		m := row.Invoice.Month
		costs[m] = costs[m].Add(dec(row.Cost.String()))
		for _, c := range row.Credits {
			credits[m] = credits[m].Add(dec(c.Amount.String()))
		}
	}
	return costs, credits
}

// netByPeriod is cost + Σ credits per invoice month, keyed as byPeriod keys
// its groups.
func netByPeriod(t testing.TB, lines []string) map[string]decimal.Decimal {
	t.Helper()
	costs, credits := sums(t, lines)
	out := map[string]decimal.Decimal{}
	for m, c := range costs {
		out[m[:4]+"-"+m[4:]+" USD"] = c.Add(credits[m])
	}
	return out
}

// smallLines is a slice of the sample small enough for stores under the
// race detector: every 24th September row, and of October every 8th row
// plus all 48 rows with September usage.
func smallLines(t testing.TB) []string {
	t.Helper()
	var out []string
	for i, line := range sampleLines(t) {
		row := parseRow(t, line)
		switch {
		case row.Invoice.Month == "202609" && i%24 == 0,
			row.Invoice.Month == "202610" && (i%8 == 0 || strings.HasPrefix(row.UsageStartTime, "2026-09")):
			out = append(out, line)
		}
	}
	return out
}

// writeSmall writes smallLines to a new folder and returns it.
func writeSmall(t *testing.T) (dir string, lines []string) {
	t.Helper()
	dir = t.TempDir()
	lines = smallLines(t)
	writeFile(t, filepath.Join(dir, "202609_export.jsonl"), strings.Join(lines, "\n")+"\n")
	return dir, lines
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lateRow is one row of invoice month 202609 exported after every row of
// 202610: cost 1.25 with a promotion credit of -0.25.
const lateRow = `{"billing_account_id": "01A2B3-C4D5E6-F7A8B9", "service": {"description": "Compute Engine", "id": "6F81-5844-456A"}, "sku": {"id": "CF4E-A0C7-E3BF", "description": "Instance Core running in Americas"}, "usage_start_time": "2026-09-30T22:00:00", "usage_end_time": "2026-09-30T23:00:00", "project": {"name": "billing-test-web", "id": "billing-test-web-123456", "labels": []}, "labels": [{"key": "app", "value": "web"}], "system_labels": [], "location": {"location": "us-central1", "country": "US", "region": "us-central1", "zone": ""}, "export_time": "2026-10-06T10:00:00", "cost": 1.25, "currency": "USD", "currency_conversion_rate": 1, "usage": {"unit": "seconds", "pricing_unit": "hour", "amount": 3600, "amount_in_pricing_units": 1}, "credits": [{"name": "FreeTrial", "amount": -0.25, "full_name": "", "id": "FreeTrial", "type": "PROMOTION"}], "invoice": {"month": "202609"}, "cost_type": "regular"}`

func mkdirFor(path string) error { return os.MkdirAll(filepath.Dir(path), 0o755) }

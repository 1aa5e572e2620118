package sqlstore_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
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

func (e env) org(t *testing.T, slug string) tenancy.Organization {
	t.Helper()
	o, err := e.tenancy.CreateOrganization(context.Background(), system, slug, "", tenancy.Customer, "")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e env) ingest(t *testing.T, org tenancy.Organization, path string) (billing.IngestionRun, error) {
	t.Helper()
	ctx := context.Background()
	loc, err := connectors.CanonicalLocation(path)
	if err != nil {
		t.Fatal(err)
	}
	c := e.localConnector(t, org, loc)
	src, err := localfiles.New(loc, "focus")
	if err != nil {
		t.Fatal(err)
	}
	return e.ingester.Ingest(ctx, billing.IngestRequest{OrgID: org.ID, ConnectorID: c.ID, Source: src})
}

// localConnector returns the organization's local connector for loc,
// creating it on first use.
func (e env) localConnector(t testing.TB, org tenancy.Organization, loc string) connectors.Connector {
	t.Helper()
	ctx := context.Background()
	c, err := e.store.ConnectorByLocation(ctx, org.ID, connectors.Local, loc)
	if err == nil {
		return c
	}
	if !domain.IsNotFound(err) {
		t.Fatal(err)
	}
	c = connectors.Connector{ID: tenancy.NewID(), OrgID: org.ID, Provider: connectors.Local, Name: filepath.Base(loc),
		Location: loc, Format: "focus", Enabled: true, Status: connectors.StatusNew, CreatedAt: time.Now().UTC()}
	if err := e.store.CreateConnector(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func (e env) byProvider(t *testing.T, orgID string) map[string]decimal.Decimal {
	t.Helper()
	rep, err := e.reporter.Report(context.Background(), system, billing.CostQuery{
		OrgID: orgID, From: date("2024-01-01"), To: date("2027-01-01"), GroupBy: []billing.Dimension{billing.DimProvider},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]decimal.Decimal{}
	for _, g := range rep.Groups {
		out[*g.Keys[0].Value+" "+g.Currency] = g.Total
	}
	return out
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sumFromFile computes BilledCost per provider and currency straight from a
// FOCUS CSV, independently of the ingestion code.
func sumFromFile(t *testing.T, path string) map[string]decimal.Decimal {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]int{}
	for i, h := range rows[0] {
		idx[h] = i
	}
	out := map[string]decimal.Decimal{}
	for _, r := range rows[1:] {
		k := r[idx["ProviderName"]] + " " + r[idx["BillingCurrency"]]
		out[k] = out[k].Add(decimal.RequireFromString(r[idx["BilledCost"]]))
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

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestIngestedTotalsReconcileWithSourceFile(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		for _, file := range []string{"focus-1.2-sample.csv", "focus-1.3-sample.csv"} {
			org := e.org(t, strings.TrimSuffix(strings.ReplaceAll(file, ".", "-"), "-csv"))
			run, err := e.ingest(t, org, filepath.Join("testdata", file))
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if run.Status != billing.RunSucceeded || run.Rows != 1000 {
				t.Errorf("%s: run %s with %d rows, want succeeded with 1000", file, run.Status, run.Rows)
			}
			assertTotals(t, e.byProvider(t, org.ID), sumFromFile(t, filepath.Join("testdata", file)))
		}
	})
}

func TestIngestMatchesPublishedSampleTotals(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		org := e.org(t, "acme")
		if _, err := e.ingest(t, org, "testdata/focus-1.2-sample.csv"); err != nil {
			t.Fatal(err)
		}
		assertTotals(t, e.byProvider(t, org.ID), map[string]decimal.Decimal{
			"AWS USD":       decimal.RequireFromString("93672.998281940000073"),
			"Microsoft USD": decimal.RequireFromString("111643.501602049999716"),
			"Google USD":    decimal.RequireFromString("93468.59701118999982"),
			"Oracle USD":    decimal.RequireFromString("110509.47396102000021"),
		})
	})
}

func TestReingestOfUnchangedSourceIsNoop(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		org := e.org(t, "acme")
		first, err := e.ingest(t, org, "testdata/focus-1.2-sample.csv")
		if err != nil {
			t.Fatal(err)
		}
		second, err := e.ingest(t, org, "testdata/focus-1.2-sample.csv")
		if err != nil {
			t.Fatal(err)
		}
		if second.Status != billing.RunUnchanged || second.SourceVersion != first.SourceVersion {
			t.Errorf("second run: status %s version %s, want unchanged %s", second.Status, second.SourceVersion, first.SourceVersion)
		}
		assertTotals(t, e.byProvider(t, org.ID), sumFromFile(t, "testdata/focus-1.2-sample.csv"))
	})
}

func TestReingestReplacesRestatedPeriod(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		org := e.org(t, "acme")
		dir := t.TempDir()
		path := filepath.Join(dir, "export.csv")
		copyFile(t, "testdata/focus-1.2-sample.csv", path)
		if _, err := e.ingest(t, org, path); err != nil {
			t.Fatal(err)
		}
		// The provider restates the month: the same file with fewer rows.
		lines := strings.Split(readFile(t, path), "\n")
		restated := strings.Join(lines[:501], "\n") + "\n"
		if err := os.WriteFile(path, []byte(restated), 0o644); err != nil {
			t.Fatal(err)
		}
		future := time.Now().Add(time.Minute)
		_ = os.Chtimes(path, future, future)
		run, err := e.ingest(t, org, path)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != billing.RunSucceeded || run.Rows != 500 {
			t.Fatalf("restated run: %s, %d rows; want succeeded, 500", run.Status, run.Rows)
		}
		assertTotals(t, e.byProvider(t, org.ID), sumFromFile(t, path))
		if n := countRows(t, s, org.ID); n != 500 {
			t.Errorf("%d line items stored after the swap, want 500 (old version removed)", n)
		}
	})
}

func TestFailedIngestKeepsPreviousVersion(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		org := e.org(t, "acme")
		dir := t.TempDir()
		path := filepath.Join(dir, "export.csv")
		copyFile(t, "testdata/focus-1.2-sample.csv", path)
		if _, err := e.ingest(t, org, path); err != nil {
			t.Fatal(err)
		}
		// Break the last row's BilledCost: the run fails after loading 999
		// rows.
		content := readFile(t, path)
		last := strings.LastIndex(strings.TrimRight(content, "\n"), "\n")
		broken := content[:last+1] + "oops" + content[strings.Index(content[last+1:], ",")+last+1:]
		if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		future := time.Now().Add(time.Minute)
		_ = os.Chtimes(path, future, future)
		run, err := e.ingest(t, org, path)
		if err == nil {
			t.Fatal("ingest of a broken file succeeded")
		}
		if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), "line 1001, column BilledCost") {
			t.Errorf("error %q (code %s), want invalid naming line 1001, column BilledCost", err, domain.ErrorCode(err))
		}
		if run.Status != billing.RunFailed {
			t.Errorf("run status %s, want failed", run.Status)
		}
		assertTotals(t, e.byProvider(t, org.ID), sumFromFile(t, "testdata/focus-1.2-sample.csv"))
		if n := countRows(t, s, org.ID); n != 1000 {
			t.Errorf("%d line items stored, want the previous 1000 only", n)
		}
		if s.Dialect() == sqlstore.Postgres {
			if tables := sqlstore.LineItemTables(t, s); len(tables) != 1 {
				t.Errorf("line item tables %v, want the previous run's only", tables)
			}
		}
		runs, err := s.ListRuns(context.Background(), []string{org.ID}, 10)
		if err != nil || len(runs) != 2 || runs[0].Status != billing.RunFailed || runs[0].Error == "" {
			t.Errorf("runs %+v (err %v), want newest failed with its error", runs, err)
		}
	})
}

func TestCostsAreScopedToTheOrganization(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		a, b := e.org(t, "org-a"), e.org(t, "org-b")
		if _, err := e.ingest(t, a, "testdata/focus-1.2-sample.csv"); err != nil {
			t.Fatal(err)
		}
		if got := e.byProvider(t, b.ID); len(got) != 0 {
			t.Errorf("org B sees org A's costs: %v", got)
		}
		if runs, _ := s.ListRuns(context.Background(), []string{b.ID}, 10); len(runs) != 0 {
			t.Errorf("org B sees org A's runs: %v", runs)
		}
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func countRows(t *testing.T, s *sqlstore.Store, orgID string) int {
	t.Helper()
	return sqlstore.CountLineItems(t, s, orgID)
}

func TestIngestKeepsAwkwardTextIntact(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		org := e.org(t, "acme")
		name := "Tab\there, back\\slash, \"quotes\",\nnew line, ünïcode"
		csv := "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ProviderName,ServiceName,Tags,x_Note\n" +
			`2024-09-01T00:00:00Z,2024-10-01T00:00:00Z,2024-09-10T12:00:00Z,2024-09-10T13:00:00Z,EUR,0.22255356620000002,1.7e-05,AWS,"` +
			strings.ReplaceAll(name, `"`, `""`) + `","{""k\\t"": ""v\nw""}","x\ty"` + "\n"
		path := filepath.Join(t.TempDir(), "awkward.csv")
		if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ingest(t, org, path); err != nil {
			t.Fatal(err)
		}
		rep, err := e.reporter.Report(context.Background(), system, billing.CostQuery{OrgID: org.ID,
			From: date("2024-09-01"), To: date("2024-10-01"), GroupBy: []billing.Dimension{billing.DimServiceName}, TagKeys: []string{`k\t`}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Groups) != 1 {
			t.Fatalf("groups %+v", rep.Groups)
		}
		g := rep.Groups[0]
		if *g.Keys[0].Value != name || g.Keys[1].Value == nil || *g.Keys[1].Value != "v\nw" {
			t.Errorf("keys %q %v, want %q and tag v\\nw", *g.Keys[0].Value, g.Keys[1].Value, name)
		}
		if !g.Total.Equal(decimal.RequireFromString("0.22255356620000002")) || g.Currency != "EUR" {
			t.Errorf("total %s %s", g.Total, g.Currency)
		}
	})
}

// monthsSource serves one part per month, each row costing the month's
// amount; versions are set by the test.
type monthsSource struct {
	versions map[time.Time]string
	amount   map[time.Time]string
}

func (m *monthsSource) Scan(context.Context) (billing.Manifest, error) {
	var parts []billing.Part
	for _, p := range []time.Time{date("2026-09-01"), date("2026-10-01")} {
		parts = append(parts, billing.Part{Period: p, Version: m.versions[p], Files: []billing.SourceFile{{Name: p.Format("2006-01") + ".csv", Size: 1}}})
	}
	return billing.Manifest{Format: "test", Parts: parts}, nil
}

func (m *monthsSource) Read(_ context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	for i := 0; i < 3; i++ {
		l := billing.LineItem{BillingPeriodStart: p.Period, BillingPeriodEnd: p.Period.AddDate(0, 1, 0),
			ChargePeriodStart: p.Period.AddDate(0, 0, i), ChargePeriodEnd: p.Period.AddDate(0, 0, i+1),
			BillingCurrency: "USD", BilledCost: billing.Number(m.amount[p.Period]), EffectiveCost: "0", ProviderName: "AWS"}
		if err := fn(&l); err != nil {
			return err
		}
	}
	progress(1)
	return nil
}

// twoMonths returns a source of September and October 2026 (versions a1
// and b1, costing 1.10 and 2.20 a row) and a function ingesting it for org
// as connector conn-1.
func (e env) twoMonths(t *testing.T, org tenancy.Organization) (*monthsSource, func() billing.IngestionRun) {
	sep, oct := date("2026-09-01"), date("2026-10-01")
	src := &monthsSource{versions: map[time.Time]string{sep: "a1", oct: "b1"}, amount: map[time.Time]string{sep: "1.10", oct: "2.20"}}
	return src, func() billing.IngestionRun {
		t.Helper()
		run, err := e.ingester.Ingest(context.Background(), billing.IngestRequest{OrgID: org.ID, ConnectorID: "conn-1", Source: src})
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
}

func TestOnlyChangedPeriodsAreReloaded(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		org := e.org(t, "acme")
		sep, oct := date("2026-09-01"), date("2026-10-01")
		src, ingest := e.twoMonths(t, org)
		if run := ingest(); run.Rows != 6 || len(run.Periods) != 2 {
			t.Fatalf("first run: %d rows, periods %v", run.Rows, run.Periods)
		}
		// October is restated; September's export did not change.
		src.versions[oct], src.amount[oct] = "b2", "5.00"
		src.amount[sep] = "999" // would show if September were re-read
		run := ingest()
		if run.Rows != 3 || len(run.Periods) != 1 || !run.Periods[0].Equal(oct) {
			t.Errorf("second run read %d rows for %v, want October's 3 only", run.Rows, run.Periods)
		}
		got := e.byProvider(t, org.ID)["AWS USD"]
		if want := decimal.RequireFromString("18.30"); !got.Equal(want) { // 3×1.10 + 3×5.00
			t.Errorf("total %s, want %s", got, want)
		}
		if run := ingest(); run.Status != billing.RunUnchanged {
			t.Errorf("third run %s, want unchanged", run.Status)
		}
	})
}

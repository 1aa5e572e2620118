package azurebilling_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// system is the caller the tests act as: it may act on every organization.
var system = tenancy.SystemPrincipal("test")

// env is a real store with one organization and connector to ingest into.
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
	location := filepath.Join(t.TempDir(), "azure")
	c := connectors.Connector{ID: tenancy.NewID(), OrgID: org.ID, Provider: connectors.Local, Name: filepath.Base(location),
		Location: location, Format: azurebilling.Format, Enabled: true, Status: connectors.StatusNew, CreatedAt: time.Now().UTC()}
	if err := s.CreateConnector(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	return env{ingester: billing.NewIngester(s, tenancy.NewID), reporter: billing.NewReporter(s, s, rights), orgID: org.ID, connID: c.ID}
}

func (e env) ingest(t *testing.T, src billing.Source) (billing.IngestionRun, error) {
	t.Helper()
	return e.ingester.Ingest(context.Background(), billing.IngestRequest{OrgID: e.orgID, ConnectorID: e.connID, Source: src})
}

// totals reads BilledCost back through the reporter, by provider and by
// billing period.
func (e env) totals(t *testing.T) map[string]decimal.Decimal {
	t.Helper()
	out := map[string]decimal.Decimal{}
	for _, d := range []billing.Dimension{billing.DimProvider, billing.DimBillingPeriod} {
		rep, err := e.reporter.Report(context.Background(), system, billing.CostQuery{
			OrgID: e.orgID, From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			DateBasis: billing.BillingPeriod, GroupBy: []billing.Dimension{d},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range rep.Groups {
			out[*g.Keys[0].Value+" "+g.Currency] = g.Total
		}
	}
	return out
}

func assertTotals(t *testing.T, got map[string]decimal.Decimal, want map[string]decimal.Decimal) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d totals %v, want %d %v", len(got), got, len(want), want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !g.Equal(w) {
			t.Errorf("%s: got %s, want %s", k, g, w)
		}
	}
}

func sampleTotals() map[string]decimal.Decimal {
	return map[string]decimal.Decimal{"Microsoft USD": allTotal, "2026-09 USD": sepTotal, "2026-10 USD": octTotal}
}

// recordingBucket remembers which objects were opened.
type recordingBucket struct {
	billing.Bucket
	mu     sync.Mutex
	opened []string
}

func (r *recordingBucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r.mu.Lock()
	r.opened = append(r.opened, key)
	r.mu.Unlock()
	return r.Bucket.Open(ctx, key)
}

func TestIngestOfTheSampleExportReproducesItsTotals(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		src := azurebilling.NewSource(localfiles.Dir("testdata/native"), "", azurebilling.Options{})
		run, err := e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != billing.RunSucceeded || run.Rows != 3300 || run.Format != "azure" {
			t.Errorf("run %s, %d rows, format %s; want succeeded, 3300, azure", run.Status, run.Rows, run.Format)
		}
		if !slices.EqualFunc(run.Periods, []time.Time{sep(), oct()}, time.Time.Equal) {
			t.Errorf("periods %v, want September and October 2026", run.Periods)
		}
		if len(run.Totals) != 1 || !run.Totals[0].Amount.Equal(allTotal) {
			t.Errorf("run totals %v, want %s USD", run.Totals, allTotal)
		}
		assertTotals(t, e.totals(t), sampleTotals())

		again, err := e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}
		if again.Status != billing.RunUnchanged || again.SourceVersion != run.SourceVersion {
			t.Errorf("re-run of an unchanged export: %s (version %s), want unchanged (%s)", again.Status, again.SourceVersion, run.SourceVersion)
		}
		assertTotals(t, e.totals(t), sampleTotals())
	})
}

func TestScanMakesOnePartPerMonthOfTheOlderLayout(t *testing.T) {
	m, err := azurebilling.NewSource(localfiles.Dir("testdata/native/container"), "exports", azurebilling.Options{}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Parts) != 2 || !m.Parts[0].Period.Equal(sep()) || !m.Parts[1].Period.Equal(oct()) {
		t.Fatalf("parts %+v, want September and October", m.Parts)
	}
	for _, p := range m.Parts {
		if len(p.Files) != 1 || !strings.Contains(p.Files[0].Name, p.Period.Format("20060102")+"-") || p.Version == "" {
			t.Errorf("part %s: files %v version %q", p.Period.Format("2006-01"), p.Files, p.Version)
		}
	}
}

// partitioned writes September and October as partitioned export runs.
func partitioned(t *testing.T, root string) {
	t.Helper()
	partitionedRows(t, root, 3000, 300)
}

// partitionedRows writes the first rows of September and October as
// partitioned export runs and returns the expected totals.
func partitionedRows(t *testing.T, root string, sepRows, octRows int) map[string]decimal.Decimal {
	t.Helper()
	sepData, octData := firstRows(t, readBytes(t, sepFile), sepRows), firstRows(t, readBytes(t, octFile), octRows)
	writeRun(t, root, "cost-export", "20260901-20260930", "9a1f0c4e-0000-4000-8000-000000000001", time.Date(2026, 9, 30, 6, 0, 0, 0, time.UTC), "ActualCost",
		blob{"part_0_0001.csv.gz", gzipped(t, sepData), sepRows})
	writeRun(t, root, "cost-export", "20261001-20261031", "9a1f0c4e-0000-4000-8000-000000000002", time.Date(2026, 10, 3, 6, 0, 0, 0, time.UTC), "ActualCost",
		blob{"part_0_0001.csv", octData, octRows})
	s, o := sumColumn(t, sepData, "CostInBillingCurrency"), sumColumn(t, octData, "CostInBillingCurrency")
	return map[string]decimal.Decimal{"Microsoft USD": s.Add(o), "2026-09 USD": s, "2026-10 USD": o}
}

func TestSecondRunForAMonthReplacesTheFirst(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		root := t.TempDir()
		firstTotals := partitionedRows(t, filepath.Join(root, "exports"), 600, 60)
		bucket := &recordingBucket{Bucket: localfiles.Dir(root)}
		src := azurebilling.NewSource(bucket, "exports", azurebilling.Options{})
		first, err := e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}
		assertTotals(t, e.totals(t), firstTotals)

		// Cost Management restates September in a new run folder, split in
		// a gzipped CSV and a Parquet blob; the old run folder stays, and a
		// third run is still uploading (no manifest yet).
		sepData := readBytes(t, sepFile)
		rows := records(t, sepData)
		csvPart := firstRows(t, sepData, 250)
		parquetPart := parquetFromCSV(t, append(firstRows(t, sepData, 0), []byte(joinRows(rows[251:401]))...))
		writeRun(t, filepath.Join(root, "exports"), "cost-export", "20260901-20260930", "5c2d7e10-0000-4000-8000-000000000003", time.Date(2026, 10, 2, 6, 0, 0, 0, time.UTC), "ActualCost",
			blob{"part_0_0001.csv.gz", gzipped(t, csvPart), 250}, blob{"part_1_0001.parquet", parquetPart, 150})
		writeFile(t, filepath.Join(root, "exports", "cost-export", "20260901-20260930", "0e9b1111-0000-4000-8000-000000000004", "part_0_0001.csv"), sepData)

		bucket.opened = nil
		second, err := e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}
		if second.Status != billing.RunSucceeded || second.Rows != 400 || !slices.EqualFunc(second.Periods, []time.Time{sep()}, time.Time.Equal) {
			t.Errorf("restating run: %s, %d rows, periods %v; want succeeded, 400 rows, September only", second.Status, second.Rows, second.Periods)
		}
		// Only the new run's manifest and blobs are fetched: manifests read
		// before are not fetched again while unchanged.
		want := []string{"manifest.json", "part_0_0001.csv.gz", "part_1_0001.parquet"}
		if len(bucket.opened) != len(want) {
			t.Errorf("opened %v, want the new run's %v", bucket.opened, want)
		}
		for i, k := range bucket.opened {
			if !strings.Contains(k, "/5c2d7e10-0000-4000-8000-000000000003/") || i < len(want) && !strings.HasSuffix(k, want[i]) {
				t.Errorf("opened %s; only the newest September run may be read", k)
			}
		}
		restated := sumColumn(t, firstRows(t, sepData, 400), "CostInBillingCurrency")
		oct := firstTotals["2026-10 USD"]
		assertTotals(t, e.totals(t), map[string]decimal.Decimal{
			"Microsoft USD": restated.Add(oct), "2026-09 USD": restated, "2026-10 USD": oct,
		})
		if second.SourceVersion == first.SourceVersion {
			t.Error("the source version did not change with the new run")
		}

		third, err := e.ingest(t, src)
		if err != nil || third.Status != billing.RunUnchanged {
			t.Errorf("re-run after the restatement: %s, %v; want unchanged", third.Status, err)
		}
	})
}

func joinRows(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		for i, f := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			if strings.ContainsAny(f, ",\"\n") {
				f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			}
			b.WriteString(f)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestFailedRunKeepsThePreviousMonth(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		root := t.TempDir()
		before := partitionedRows(t, filepath.Join(root, "exports"), 300, 30)
		src := azurebilling.NewSource(localfiles.Dir(root), "exports", azurebilling.Options{})
		if _, err := e.ingest(t, src); err != nil {
			t.Fatal(err)
		}
		// The new run's seventh row has a cost no parser accepts.
		rows := records(t, firstRows(t, readBytes(t, sepFile), 20))
		costAt := slices.Index(rows[0], "CostInBillingCurrency")
		rows[7][costAt] = "1,234.5"
		writeRun(t, filepath.Join(root, "exports"), "cost-export", "20260901-20260930", "run-broken", time.Date(2026, 10, 2, 6, 0, 0, 0, time.UTC), "ActualCost",
			blob{"part_0_0001.csv", []byte(joinRows(rows)), 20})
		run, err := e.ingest(t, src)
		if err == nil {
			t.Fatal("a run with a broken blob succeeded")
		}
		for _, want := range []string{"run-broken/part_0_0001.csv: line 8, column CostInBillingCurrency", `"1,234.5" is not a number`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if run.Status != billing.RunFailed || billingCode(err) != "invalid" {
			t.Errorf("run %s, code %s; want failed, invalid", run.Status, billingCode(err))
		}
		assertTotals(t, e.totals(t), before)
	})
}

func TestIngestRejectsRowsOfAnotherBillingPeriod(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		root := t.TempDir()
		data := strings.ReplaceAll(string(firstRows(t, readBytes(t, octFile), 5)), ",2026-10-01,2026-10-31,", ",2026-09-01,2026-09-30,")
		writeFile(t, filepath.Join(root, "cost-export", "20261001-20261031", "costreport.csv"), []byte(data))
		_, err := e.ingest(t, azurebilling.NewSource(localfiles.Dir(root), "", azurebilling.Options{}))
		if err == nil || !strings.Contains(err.Error(), "costreport.csv: line 2, column BillingPeriodStart") {
			t.Errorf("error %v, want it to name the file, line 2 and BillingPeriodStart", err)
		}
	})
}

func TestScanPicksTheRunSubmittedLast(t *testing.T) {
	root := t.TempDir()
	sepData := readBytes(t, sepFile)
	// Folder names do not order runs: the manifest's submittedTime does.
	writeRun(t, root, "daily", "20260901-20260930", "zzzz-older", time.Date(2026, 9, 20, 6, 0, 0, 0, time.UTC), "ActualCost", blob{"part_0_0001.csv", sepData, 3000})
	writeRun(t, root, "daily", "20260901-20260930", "aaaa-newer", time.Date(2026, 9, 21, 6, 0, 0, 0, time.UTC), "ActualCost", blob{"part_0_0001.csv", firstRows(t, sepData, 10), 10})
	writeRun(t, root, "prices", "20260901-20260930", "p-1", time.Date(2026, 9, 21, 6, 0, 0, 0, time.UTC), "PriceSheet", blob{"part_0_0001.csv", []byte("MeterId,UnitPrice\nm,1\n"), 1})
	m, err := azurebilling.NewSource(localfiles.Dir(root), "", azurebilling.Options{}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Parts) != 1 || len(m.Parts[0].Files) != 1 || !strings.Contains(m.Parts[0].Files[0].Name, "aaaa-newer/") {
		t.Errorf("parts %+v, want one September part with the newer run's blob (and no price sheet)", m.Parts)
	}
}

func TestScanRejectsManifestsItCannotTrust(t *testing.T) {
	sepData := firstRows(t, readBytes(t, sepFile), 3)
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		want  []string
	}{
		{"a listed blob is missing", func(t *testing.T, root string) {
			dir := writeRun(t, root, "x", "20260901-20260930", "r1", time.Now(), "ActualCost", blob{"part_0_0001.csv", sepData, 3}, blob{"part_1_0001.csv", sepData, 3})
			if err := os.Remove(filepath.Join(dir, "part_1_0001.csv")); err != nil {
				t.Fatal(err)
			}
		}, []string{"r1/manifest.json", `lists blob "exports/x/20260901-20260930/r1/part_1_0001.csv"`, "not in the container"}},
		{"a blob is shorter than the manifest says", func(t *testing.T, root string) {
			dir := writeRun(t, root, "x", "20260901-20260930", "r1", time.Now(), "ActualCost", blob{"part_0_0001.csv", sepData, 3})
			writeFile(t, filepath.Join(dir, "part_0_0001.csv"), sepData[:len(sepData)-10])
		}, []string{"r1/manifest.json", "bytes but the manifest says"}},
		{"the manifest is not JSON", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "x", "20260901-20260930", "r1", "manifest.json"), []byte("{\n  \"runInfo\": {\n    \"runId\": \"r1\",,\n"))
		}, []string{"r1/manifest.json: line 3:", "not a valid export manifest"}},
		{"a field has the wrong type", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "x", "20260901-20260930", "r1", "manifest.json"), []byte("{\n  \"blobs\": [{\"blobName\": \"a.csv\", \"byteCount\": \"many\"}]\n}"))
		}, []string{"r1/manifest.json: line 2, column blobs.byteCount:", "want a int64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(t, root)
			_, err := azurebilling.NewSource(localfiles.Dir(root), "", azurebilling.Options{}).Scan(context.Background())
			if err == nil {
				t.Fatal("scan succeeded")
			}
			if billingCode(err) != "invalid" {
				t.Errorf("code %s, want invalid", billingCode(err))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestMonthsCombineDatasetsLikeMicrosoftsFOCUSConversion(t *testing.T) {
	root := t.TempDir()
	const header = "Date,CostInBillingCurrency,BillingCurrency,ChargeType,PricingModel,ReservationId\n"
	ri := "/providers/Microsoft.Capacity/reservationOrders/o/reservations/r"
	at := time.Date(2026, 9, 30, 6, 0, 0, 0, time.UTC)
	// September: actual and amortized cost details.
	writeRun(t, root, "actual", "20260901-20260930", "a1", at, "ActualCost", blob{"part_0_0001.csv", []byte(header +
		"2026-09-02,5,USD,Usage,OnDemand,\n2026-09-02,100,USD,Purchase,Reservation," + ri + "\n"), 2})
	writeRun(t, root, "amortized", "20260901-20260930", "m1", at, "AmortizedCost", blob{"part_0_0001.csv", []byte(header +
		"2026-09-02,5,USD,Usage,OnDemand,\n2026-09-02,3.3,USD,Usage,Reservation," + ri + "\n2026-09-02,1.7,USD,UnusedReservation,Reservation," + ri + "\n"), 3})
	// October: FocusCost next to actual cost details.
	writeRun(t, root, "actual", "20261001-20261031", "a2", at, "ActualCost", blob{"part_0_0001.csv", []byte(header + "2026-10-02,5,USD,Usage,OnDemand,\n"), 1})
	writeRun(t, root, "focus", "20261001-20261031", "f2", at, "FocusCost", blob{"part_0_0001.csv", []byte(
		"BilledCost,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,ChargePeriodEnd,ChargePeriodStart,EffectiveCost,ProviderName,ChargeCategory\n" +
			"5,USD,2026-11-01,2026-10-01,2026-10-03,2026-10-02,5,Microsoft,Usage\n"), 1})

	m, items := readAllParts(t, azurebilling.NewSource(localfiles.Dir(root), "", azurebilling.Options{}))
	if len(m.Parts) != 2 {
		t.Fatalf("%d parts, want 2", len(m.Parts))
	}
	var billed, effective billing.Sum
	for _, l := range items[sep()] {
		billed.Add(l.BilledCost)
		effective.Add(l.EffectiveCost)
	}
	if len(items[sep()]) != 4 || !billed.Decimal().Equal(decimal.NewFromInt(105)) || !effective.Decimal().Equal(decimal.NewFromInt(10)) {
		t.Errorf("September: %d items, billed %s, effective %s; want 4 (amortized + the purchase), 105 (the actual total), 10 (the amortized total)",
			len(items[sep()]), billed.Decimal(), effective.Decimal())
	}
	if len(items[oct()]) != 1 || len(m.Parts[1].Files) != 1 || !strings.Contains(m.Parts[1].Files[0].Name, "focus/") {
		t.Errorf("October: %d items from %v, want the FocusCost row only", len(items[oct()]), m.Parts[1].Files)
	}
}

func TestDetectRecognisesAzureExportsOnly(t *testing.T) {
	curHeader := "identity/LineItemId,bill/PayerAccountId,lineItem/UsageStartDate,lineItem/UnblendedCost,lineItem/CurrencyCode\n"
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		want  bool
	}{
		{"older layout (the sample)", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "container/exports/cost-export/20260901-20260930/costreport.csv"), firstRows(t, readBytes(t, sepFile), 2))
		}, true},
		{"partitioned runs with manifests", func(t *testing.T, root string) { partitioned(t, root) }, true},
		{"an AWS CUR with assembly folders", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "cur/daily/20260901-20261001/daily-Manifest.json"), []byte(`{"assemblyId":"7b34","reportKeys":["cur/daily/20260901-20261001/7b34/daily-00001.csv.gz"]}`))
			writeFile(t, filepath.Join(root, "cur/daily/20260901-20261001/7b34/daily-00001.csv.gz"), gzipped(t, []byte(curHeader+"a,1,2026-09-01T00:00:00Z,1,USD\n")))
		}, false},
		{"an AWS CUR overwriting its files in the range folder", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "cur/daily/20260901-20261001/daily-00001.csv.gz"), gzipped(t, []byte(curHeader+"a,1,2026-09-01T00:00:00Z,1,USD\n")))
		}, false},
		{"plain FOCUS files", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "focus.csv"), []byte("BilledCost,BillingCurrency\n1,USD\n"))
		}, false},
		{"nothing", func(*testing.T, string) {}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(t, root)
			got, err := azurebilling.Detect(context.Background(), localfiles.Dir(root), "")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Detect = %v, want %v", got, tc.want)
			}
		})
	}
}

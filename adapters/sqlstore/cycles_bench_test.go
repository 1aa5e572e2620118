package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/pricing"
)

// BenchmarkCloseMonth measures billing cycles on Postgres: a priced
// customer-month of BENCH_CYCLE_ROWS line items (default 1,000,000, shaped
// like BenchmarkScale's) is re-ingested while open, then closed, its closed
// bill read, and a restated version of it ingested (kept out of the closed
// bill and carried into the next month). Each prints its wall time.
//
//	BENCH_CYCLE_ROWS=1000000 go test -run '^$' -bench BenchmarkCloseMonth -benchtime 1x -timeout 1h ./adapters/sqlstore/
func BenchmarkCloseMonth(b *testing.B) {
	rows := envInt("BENCH_CYCLE_ROWS", 1_000_000)
	if _, ok := sqltest.PostgresURL(b); !ok {
		return
	}
	ctx := context.Background()
	sep := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < b.N; i++ {
		_, e, org := benchCustomer(b, i)
		dir := b.TempDir()
		a, other, path := filepath.Join(dir, "a.csv.gz"), filepath.Join(dir, "b.csv.gz"), filepath.Join(dir, "month.csv.gz")
		if err := generateScaleMonth("", a, rows, 0, sep); err != nil {
			b.Fatal(err)
		}
		if err := generateScaleMonth("", other, rows, 1, sep); err != nil {
			b.Fatal(err)
		}
		// put makes version v of the month the connector's source, as a
		// provider rewriting it in place would.
		put := func(from string, v int) {
			data, err := os.ReadFile(from)
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				b.Fatal(err)
			}
			at := time.Now().Add(time.Duration(v) * time.Minute)
			if err := os.Chtimes(path, at, at); err != nil {
				b.Fatal(err)
			}
		}
		put(a, 0)
		conn := e.localConnector(b, org, path)
		ingest := func() time.Duration {
			src, err := localfiles.New(path, "focus")
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			run, err := e.ingester.Ingest(ctx, billing.IngestRequest{OrgID: org.ID, ConnectorID: conn.ID, Source: src})
			if err != nil || run.Status != billing.RunSucceeded {
				b.Fatalf("ingest: %v %s", err, run.Status)
			}
			return time.Since(start)
		}
		timed := func(fn func() error) time.Duration {
			start := time.Now()
			if err := fn(); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
		ingest()
		pb, err := e.pricing.CreatePricebook(ctx, e.reseller, "Bench")
		if err != nil {
			b.Fatal(err)
		}
		if pb, err = e.pricing.PutRule(ctx, e.reseller, pb.ID, pricing.Rule{Scope: pricing.ScopeAll, Type: pricing.Markup, Percent: num("15")}); err != nil {
			b.Fatal(err)
		}
		if _, err := e.pricing.Assign(ctx, e.reseller, org.ID, pb.ID, sep); err != nil {
			b.Fatal(err)
		}
		put(other, 1)
		open := ingest()
		closing := timed(func() error { _, err := e.pricing.CloseMonth(ctx, e.reseller, org.ID, sep); return err })
		var closedBill pricing.Bill
		read := timed(func() error {
			var err error
			closedBill, _, err = e.pricing.Bill(ctx, e.reseller, org.ID, sep)
			return err
		})
		put(a, 2)
		restate := ingest()
		after, _, err := e.pricing.Bill(ctx, e.reseller, org.ID, sep)
		if err != nil || !after.Totals[0].Resale.Equal(closedBill.Totals[0].Resale) {
			b.Fatalf("closed bill changed: %v then %v (%v)", closedBill.Totals, after.Totals, err)
		}
		oct, _, err := e.pricing.Bill(ctx, e.reseller, org.ID, sep.AddDate(0, 1, 0))
		if err != nil || len(oct.Lines) != 1 || oct.Lines[0].Kind != pricing.LineKind(pricing.Restatement) {
			b.Fatalf("October: %+v (%v), want one restatement line", oct.Lines, err)
		}
		fmt.Printf("\nPostgres, one priced month of %d line items  %10s\n", rows, "wall (s)")
		for _, r := range []struct {
			name string
			took time.Duration
		}{
			{"re-ingest the month while open (priced)", open},
			{"close the month", closing},
			{"read the closed bill", read},
			{"ingest a restatement of the closed month", restate},
		} {
			fmt.Printf("%-48s %10.3f\n", r.name, r.took.Seconds())
		}
		fmt.Printf("restatement carried into October: %s %s\n", oct.Lines[0].Resale, oct.Lines[0].Currency)
		b.ReportMetric(closing.Seconds(), "close-s")
		b.ReportMetric(float64(rows)/restate.Seconds(), "restate-rows/s")
	}
}

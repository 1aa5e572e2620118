package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
)

// BenchmarkReprice measures keeping resale current on Postgres: one
// customer-month of BENCH_REPRICE_ROWS line items (default 1,000,000,
// shaped like BenchmarkScale's) is ingested, priced by assigning a
// pricebook (a markup for all, a discount for one service, a fixed unit
// price for one SKU), repriced after a rule change, and then the same month
// is re-ingested, priced as it is published. Each prints its wall time and
// rows/s.
//
//	BENCH_REPRICE_ROWS=1000000 go test -run '^$' -bench BenchmarkReprice -benchtime 1x -timeout 1h ./adapters/sqlstore/
func BenchmarkReprice(b *testing.B) {
	rows := envInt("BENCH_REPRICE_ROWS", 1_000_000)
	if _, ok := sqltest.PostgresURL(b); !ok {
		return
	}
	ctx := context.Background()
	sep := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < b.N; i++ {
		_, e, org := benchCustomer(b, i)
		gz := filepath.Join(b.TempDir(), "month.csv.gz")
		if err := generateScaleMonth("", gz, rows, 0, sep); err != nil {
			b.Fatal(err)
		}
		conn := e.localConnector(b, org, gz)
		ingest := func() time.Duration {
			src, err := localfiles.New(gz, "focus")
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
		first := ingest()
		pb, err := e.pricing.CreatePricebook(ctx, e.reseller, "Bench")
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range []pricing.Rule{
			{Scope: pricing.ScopeAll, Type: pricing.Markup, Percent: num("15")},
			{Scope: pricing.ScopeService, Value: "Service 03", Type: pricing.Discount, Percent: num("20")},
			{Scope: pricing.ScopeSKU, Value: "SKU0042", Type: pricing.FixedPrice, UnitPrice: num("0.0125"), PricingUnit: "Hours"},
		} {
			if pb, err = e.pricing.PutRule(ctx, e.reseller, pb.ID, r); err != nil {
				b.Fatal(err)
			}
		}
		assign := timed(func() error {
			_, err := e.pricing.Assign(ctx, e.reseller, org.ID, pb.ID, sep)
			return err
		})
		change := timed(func() error {
			r := pb.Rules[0]
			r.Percent = num("12.5")
			_, err := e.pricing.PutRule(ctx, e.reseller, pb.ID, r)
			return err
		})
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(gz, later, later); err != nil {
			b.Fatal(err)
		}
		again := ingest()
		fmt.Printf("\nPostgres, one month of %d line items  %10s %12s\n", rows, "wall (s)", "rows/s")
		for _, r := range []struct {
			name string
			took time.Duration
		}{
			{"ingest (unpriced customer)", first},
			{"reprice: pricebook assigned", assign},
			{"reprice: rule changed", change},
			{"re-ingest, priced on publish", again},
		} {
			fmt.Printf("%-40s %10.2f %12.0f\n", r.name, r.took.Seconds(), float64(rows)/r.took.Seconds())
		}
		b.ReportMetric(float64(rows)/change.Seconds(), "reprice-rows/s")
		b.ReportMetric(float64(rows)/again.Seconds(), "reingest-rows/s")
	}
}

// benchCustomer opens a fresh Postgres store with a reseller's pricing
// environment and the i-th customer of the benchmark.
func benchCustomer(b *testing.B, i int) (*sqlstore.Store, pricingEnv, tenancy.Organization) {
	b.Helper()
	s := sqltest.Postgres(b)
	e := newPricingEnv(b, s)
	org, err := e.tenancy.CreateOrganization(context.Background(), system, fmt.Sprintf("bench-%d", i), "", tenancy.Customer, "reseller")
	if err != nil {
		b.Fatal(err)
	}
	return s, e, org
}

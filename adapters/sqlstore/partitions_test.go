package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
)

// TestRunsRowsAreRemovedWhole follows one connector's line items through a
// restatement and a crash: the superseded version of a month and a dead
// run's rows disappear, on Postgres as whole tables.
func TestRunsRowsAreRemovedWhole(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		e := newEnv(s)
		org := e.org(t, "acme")
		postgres := s.Dialect() == sqlstore.Postgres
		tables := func() int {
			if !postgres {
				return -1
			}
			return len(sqlstore.LineItemTables(t, s))
		}
		oct := date("2026-10-01")
		src, ingest := e.twoMonths(t, org)
		ingest()
		if n := tables(); postgres && n != 2 {
			t.Errorf("%d line item tables after loading two months, want 2: %v", n, sqlstore.LineItemTables(t, s))
		}
		// Each table is analyzed once loaded, so that the planner knows
		// its size before autovacuum comes by.
		if postgres {
			for _, table := range sqlstore.LineItemTables(t, s) {
				var tuples float64
				if err := s.DB().QueryRowContext(ctx, "SELECT reltuples FROM pg_class WHERE relname = ?", table).Scan(&tuples); err != nil {
					t.Fatal(err)
				}
				if tuples != 3 {
					t.Errorf("the planner takes %s for %v rows, want its 3", table, tuples)
				}
			}
		}
		// October is restated: its old table goes, September's stays.
		src.versions[oct], src.amount[oct] = "b2", "5.00"
		ingest()
		if n := tables(); postgres && n != 2 {
			t.Errorf("%d line item tables after restating October, want 2: %v", n, sqlstore.LineItemTables(t, s))
		}
		if n := countRows(t, s, org.ID); n != 6 {
			t.Errorf("%d line items after the restatement, want 6", n)
		}

		// A run killed while loading: its rows are written and its process
		// stopped renewing it; a live run beside it must be left alone.
		start := time.Now().UTC()
		dead := billing.IngestionRun{ID: "dead-run", OrgID: org.ID, ConnectorID: "conn-1", Status: billing.RunRunning,
			StartedAt: start.Add(-10 * time.Minute)}
		live := billing.IngestionRun{ID: "live-run", OrgID: org.ID, ConnectorID: "conn-2", Status: billing.RunRunning,
			StartedAt: start.Add(-10 * time.Minute)}
		// The live run's process holds its lock.
		release, err := s.LockRun(ctx, live)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		for _, r := range []billing.IngestionRun{dead, live} {
			if err := s.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RenewRun(ctx, live, start); err != nil {
			t.Fatal(err)
		}
		batches := make(chan []billing.LineItem, 1)
		batches <- []billing.LineItem{{BillingPeriodStart: oct, BillingPeriodEnd: oct.AddDate(0, 1, 0), ChargePeriodStart: oct,
			ChargePeriodEnd: oct.AddDate(0, 0, 1), BillingCurrency: "USD", BilledCost: "7", EffectiveCost: "7", ProviderName: "AWS"}}
		close(batches)
		if err := s.WriteLineItems(ctx, dead, batches); err != nil {
			t.Fatal(err)
		}
		if n := tables(); postgres && n != 3 {
			t.Errorf("%d line item tables while a run loads, want 3", n)
		}
		res, err := s.Housekeep(ctx, start.Add(billing.RunLease/2))
		if err != nil {
			t.Fatal(err)
		}
		if res.StaleRunsFailed != 1 {
			t.Errorf("housekeeping failed %d runs, want the dead one", res.StaleRunsFailed)
		}
		runs, err := s.ListRuns(ctx, []string{org.ID}, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if want := map[string]billing.RunStatus{dead.ID: billing.RunFailed, live.ID: billing.RunRunning}[r.ID]; want != "" && r.Status != want {
				t.Errorf("run %s is %s after housekeeping, want %s", r.ID, r.Status, want)
			}
		}
		if n := countRows(t, s, org.ID); n != 6 {
			t.Errorf("%d line items after housekeeping, want the active 6", n)
		}
		if n := tables(); postgres && n != 2 {
			t.Errorf("%d line item tables after housekeeping, want 2: %v", n, sqlstore.LineItemTables(t, s))
		}
		got := e.byProvider(t, org.ID)["AWS USD"]
		if got.String() != "18.3" {
			t.Errorf("total %s after housekeeping, want 18.30", got)
		}
	})
}

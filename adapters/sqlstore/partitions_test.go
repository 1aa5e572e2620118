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
		sep, oct := date("2026-09-01"), date("2026-10-01")
		src := &monthsSource{versions: map[time.Time]string{sep: "a1", oct: "b1"}, amount: map[time.Time]string{sep: "1.10", oct: "2.20"}}
		ingest := func() billing.IngestionRun {
			run, err := e.ingester.Ingest(ctx, billing.IngestRequest{OrgID: org.ID, ConnectorID: "conn-1", Source: src})
			if err != nil {
				t.Fatal(err)
			}
			return run
		}
		ingest()
		if n := tables(); postgres && n != 2 {
			t.Errorf("%d line item tables after loading two months, want 2: %v", n, sqlstore.LineItemTables(t, s))
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

		// A run killed while loading: its rows are written, the process
		// is gone, and housekeeping later finds the run failed.
		dead := billing.IngestionRun{ID: "dead-run", OrgID: org.ID, ConnectorID: "conn-1", Status: billing.RunRunning,
			StartedAt: time.Now().UTC()}
		if err := s.CreateRun(ctx, dead); err != nil {
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
		dead.Status, dead.Error, dead.FinishedAt = billing.RunFailed, billing.InterruptedRunError, time.Now().UTC()
		if err := s.FinishRun(ctx, dead); err != nil {
			t.Fatal(err)
		}
		res, err := s.Housekeep(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.OrphanRowsDeleted != 1 {
			t.Errorf("housekeeping removed %d rows, want the dead run's 1", res.OrphanRowsDeleted)
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

package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// TestRunWithoutItsProcessLockIsReapedBeforeItsLease: a running run whose
// process lock is held stays running; once the lock is gone the next reap
// fails it and removes its rows, long before its lease runs out.
func TestRunWithoutItsProcessLockIsReapedBeforeItsLease(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		e := newEnv(s)
		org := e.org(t, "acme")
		now := time.Now().UTC()
		run := billing.IngestionRun{ID: "run-1", OrgID: org.ID, ConnectorID: "conn-1", Status: billing.RunRunning, StartedAt: now}
		release, err := s.LockRun(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		oct := date("2026-10-01")
		batches := make(chan []billing.LineItem, 1)
		batches <- []billing.LineItem{{BillingPeriodStart: oct, BillingPeriodEnd: oct.AddDate(0, 1, 0), ChargePeriodStart: oct,
			ChargePeriodEnd: oct.AddDate(0, 0, 1), BillingCurrency: "USD", BilledCost: "7", EffectiveCost: "7", ProviderName: "AWS"}}
		close(batches)
		if err := s.WriteLineItems(ctx, run, batches); err != nil {
			t.Fatal(err)
		}
		if n, err := s.ReapDeadRuns(ctx, now); err != nil || n != 0 {
			t.Fatalf("reaped %d runs (%v) while the lock is held, want 0", n, err)
		}
		// The process dies: what it held goes with it.
		release()
		if n, err := s.ReapDeadRuns(ctx, now); err != nil || n != 1 {
			t.Fatalf("reaped %d runs (%v) after the lock went, want 1", n, err)
		}
		runs, err := s.ListRuns(ctx, []string{org.ID}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 || runs[0].Status != billing.RunFailed || runs[0].Error != billing.InterruptedRunError {
			t.Errorf("runs after reaping: %+v, want run-1 failed as interrupted", runs)
		}
		if n := sqlstore.CountLineItems(t, s, org.ID); n != 0 {
			t.Errorf("%d line items left by the dead run, want 0", n)
		}
		if s.Dialect() == sqlstore.Postgres {
			if names := sqlstore.LineItemTables(t, s); len(names) > 1 {
				t.Errorf("line item tables left: %v, want only the month's", names)
			}
		}
	})
}

// TestSecondIngestionOfASourceIsRefusedNamingTheFirst: while one run holds
// a connector, a second is a conflict naming the first; another connector
// is free, and the connector is free again once the first finishes.
func TestSecondIngestionOfASourceIsRefusedNamingTheFirst(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		e := newEnv(s)
		org := e.org(t, "acme")
		first := billing.IngestionRun{ID: "first", OrgID: org.ID, ConnectorID: "conn-1", Status: billing.RunRunning, StartedAt: time.Now().UTC()}
		release, err := s.LockRun(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRun(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := first
		second.ID = "second"
		_, err = s.LockRun(ctx, second)
		if domain.ErrorCode(err) != domain.Conflict || !strings.Contains(err.Error(), "already running (run first)") {
			t.Fatalf("second LockRun: %v, want a conflict naming run first", err)
		}
		other := second
		other.ConnectorID = "conn-2"
		releaseOther, err := s.LockRun(ctx, other)
		if err != nil {
			t.Fatalf("another connector: %v", err)
		}
		releaseOther()
		first.Status, first.FinishedAt = billing.RunFailed, time.Now().UTC()
		if err := s.FinishRun(ctx, first); err != nil {
			t.Fatal(err)
		}
		release()
		releaseSecond, err := s.LockRun(ctx, second)
		if err != nil {
			t.Fatalf("after the first finished: %v", err)
		}
		releaseSecond()
	})
}

// TestSQLiteRunLockFilesGoWithTheirRuns: the per-run lock files beside an
// SQLite database do not pile up.
func TestSQLiteRunLockFilesGoWithTheirRuns(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "truecost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"a", "b", "c"} {
		release, err := s.LockRun(ctx, billing.IngestionRun{ID: id, OrgID: "org", ConnectorID: "conn"})
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	files, err := filepath.Glob(filepath.Join(dir, "truecost.db.locks", "run-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 {
		t.Errorf("run lock files after three runs: %v, want none", files)
	}
	// A process that died between finishing its run and removing its file
	// leaves the file; the next reap removes it.
	stale := filepath.Join(dir, "truecost.db.locks", "run-0123456789abcdef.lock")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReapDeadRuns(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale run lock file still there: %v", err)
	}
}

// TestCloseFailsTheRunsItsProcessStillLoads: a process that stops while an
// ingestion is loading leaves no run running and none of its rows.
func TestCloseFailsTheRunsItsProcessStillLoads(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			ctx := context.Background()
			dbURL := "sqlite://" + filepath.Join(t.TempDir(), "truecost.db")
			if db == "postgres" {
				u, ok := sqltest.PostgresURL(t)
				if !ok {
					return
				}
				dbURL = u
			}
			s, err := sqlstore.Open(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			org := newEnv(s).org(t, "acme")
			run := billing.IngestionRun{ID: "loading", OrgID: org.ID, ConnectorID: "conn-1", Status: billing.RunRunning, StartedAt: time.Now().UTC()}
			if _, err := s.LockRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			oct := date("2026-10-01")
			batches := make(chan []billing.LineItem, 1)
			batches <- []billing.LineItem{{BillingPeriodStart: oct, BillingPeriodEnd: oct.AddDate(0, 1, 0), ChargePeriodStart: oct,
				ChargePeriodEnd: oct.AddDate(0, 0, 1), BillingCurrency: "USD", BilledCost: "7", EffectiveCost: "7", ProviderName: "AWS"}}
			close(batches)
			if err := s.WriteLineItems(ctx, run, batches); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}

			s, err = sqlstore.Open(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			runs, err := s.ListRuns(ctx, []string{org.ID}, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 1 || runs[0].Status != billing.RunFailed || runs[0].Error != billing.InterruptedRunError {
				t.Errorf("runs after close: %+v, want the loading run failed as interrupted", runs)
			}
			if n := sqlstore.CountLineItems(t, s, org.ID); n != 0 {
				t.Errorf("%d line items of the abandoned run, want 0", n)
			}
			if db == "postgres" {
				if names := sqlstore.LineItemTables(t, s); len(names) > 1 {
					t.Errorf("line item tables left: %v", names)
				}
			}
		})
	}
}

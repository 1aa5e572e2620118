package jobs_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/jobs"
)

// TestReplicasOnOneDatabaseRunEachSlotOnce runs two schedulers, each with its
// own connection pool as two `truecost serve` processes would have, on one
// real database, with the store as both the slot locks and the housekeeper.
func TestReplicasOnOneDatabaseRunEachSlotOnce(t *testing.T) {
	t.Parallel()
	databases := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "truecost.db") }},
		{"postgres", func(t *testing.T) string {
			u, _ := sqltest.PostgresURL(t) // skips, or fails under CI=true, without a server
			return u
		}},
	}
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			url := db.url(t)
			const replicas, slots = 2, 4
			clock := clockwork.NewFakeClockAt(start)
			tally := newSlotTally()
			var housekeepers []*housekeeper
			for i := range replicas {
				store := openStore(t, url, i == 0)
				hk := &housekeeper{do: store.Housekeep}
				housekeepers = append(housekeepers, hk)
				startReplica(t, jobs.Deps{Housekeeper: hk, Locks: tally.wrap(store), Clock: clock, Logger: discard()},
					jobs.WithOwner(fmt.Sprintf("replica-%d", i)))
			}
			waitArmed(t, clock, replicas)

			finished := func() (n int) {
				for _, hk := range housekeepers {
					n += hk.finishedCount()
				}
				return n
			}
			first := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			for i := range slots {
				slot := first.Add(time.Duration(i) * time.Hour)
				fireSlot(t, clock, slot, replicas)
				eventually(t, fmt.Sprintf("both replicas claimed slot %s and one ran", slot), func() bool {
					attempts, _ := tally.counts(jobs.IngestionHousekeepingJob, slot)
					return attempts >= replicas && finished() >= i+1
				})
				settle()
				if _, wins := tally.counts(jobs.IngestionHousekeepingJob, slot); wins != 1 {
					t.Errorf("slot %s claimed by %d replicas, want 1", slot, wins)
				}
			}

			var runs []time.Time
			for _, hk := range housekeepers {
				calls, _, _ := hk.snapshot()
				runs = append(runs, calls...)
			}
			if len(runs) != slots {
				t.Fatalf("Housekeep ran %d times over %d slots, want once per slot: %v", len(runs), slots, runs)
			}
			seen := map[time.Time]bool{}
			for _, r := range runs {
				seen[r.Truncate(time.Hour)] = true
			}
			for i := range slots {
				if slot := first.Add(time.Duration(i) * time.Hour); !seen[slot] {
					t.Errorf("no run in slot %s; runs %v", slot, runs)
				}
			}
		})
	}
}

// openStore opens a store on url, as a separate process would; migrate
// prepares the schema first.
func openStore(t *testing.T, url string, migrate bool) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if migrate {
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	return s
}

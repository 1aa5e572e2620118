package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/jobs"
)

type countingSyncer struct {
	mu        sync.Mutex
	intervals []time.Duration
	// bySystem counts the calls made by the system principal.
	bySystem int
}

func (c *countingSyncer) SyncAll(_ context.Context, caller tenancy.Principal, interval time.Duration) (connectors.SyncReport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.intervals = append(c.intervals, interval)
	if caller.IsSystem() {
		c.bySystem++
	}
	return connectors.SyncReport{Synced: 1}, nil
}

func (c *countingSyncer) systemCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bySystem
}

func (c *countingSyncer) calls() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.intervals...)
}

type noHousekeeping struct{}

func (noHousekeeping) Housekeep(context.Context, time.Time) (billing.HousekeepResult, error) {
	return billing.HousekeepResult{}, nil
}

func TestConnectorSyncRunsEachSlotWithItsInterval(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 22, 10, 0, 30, 0, time.UTC))
	syncer := &countingSyncer{}
	s, err := jobs.New(jobs.Deps{Housekeeper: noHousekeeping{}, Connectors: syncer, SyncInterval: 30 * time.Minute, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Shutdown()
	for slot := 1; slot <= 2; slot++ {
		clock.BlockUntilContext(context.Background(), 2)
		clock.Advance(30 * time.Minute)
		deadline := time.Now().Add(5 * time.Second)
		for len(syncer.calls()) < slot && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // let gocron release the singleton
	}
	calls := syncer.calls()
	if len(calls) != 2 || calls[0] != 30*time.Minute {
		t.Errorf("sync calls %v, want two with the 30m interval", calls)
	}
	if n := syncer.systemCalls(); n != len(calls) {
		t.Errorf("%d of %d sync calls by the system principal, want all", n, len(calls))
	}
}

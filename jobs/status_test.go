package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/jobs"
)

// statusChecker is a jobs.StatusChecker recording the clock's time at each
// call.
type statusChecker struct {
	clock  clockwork.Clock
	report accounts.CheckReport
	err    error

	mu      sync.Mutex
	calls   []time.Time
	callers []tenancy.Principal
}

func (c *statusChecker) CheckAll(_ context.Context, caller tenancy.Principal) (accounts.CheckReport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, c.clock.Now())
	c.callers = append(c.callers, caller)
	return c.report, c.err
}

func (c *statusChecker) callerList() []tenancy.Principal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]tenancy.Principal(nil), c.callers...)
}

func (c *statusChecker) snapshot() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.calls...)
}

func TestBillingStatusLogsTheReport(t *testing.T) {
	t.Parallel()
	errOrg := errors.New("organization o-2: store down")
	tests := []struct {
		name    string
		err     error
		msg     string
		level   string
		wantErr bool
	}{
		{name: "clean pass", msg: "billing status check done", level: "INFO"},
		{name: "a failed organization is returned, the others still counted", err: errOrg,
			msg: "billing status check incomplete", level: "WARN", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(start)
			checker := &statusChecker{clock: clock, report: accounts.CheckReport{Organizations: 3, Accounts: 7, Changed: 2}, err: tt.err}
			var logs logBuffer
			err := jobs.BillingStatus(context.Background(), jobs.Deps{Status: checker, Clock: clock, Logger: logs.logger()})
			if (err != nil) != tt.wantErr || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Fatalf("BillingStatus() = %v, want error %v", err, tt.err)
			}
			if n := len(checker.snapshot()); n != 1 {
				t.Errorf("CheckAll called %d times, want 1", n)
			}
			if callers := checker.callerList(); len(callers) != 1 || !callers[0].IsSystem() {
				t.Errorf("CheckAll called by %v, want the system", callers)
			}
			recs := logs.records(t, tt.msg)
			if len(recs) != 1 {
				t.Fatalf("%q records %v, want 1", tt.msg, recs)
			}
			r := recs[0]
			if r["level"] != tt.level || r["organizations"] != float64(3) || r["accounts"] != float64(7) || r["changed"] != float64(2) {
				t.Errorf("record %v, want level %s with organizations 3, accounts 7, changed 2", r, tt.level)
			}
		})
	}
}

func TestBillingStatusRunsOncePerSlot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		interval time.Duration // Deps.StatusInterval
		slot     time.Duration // the interval in effect
	}{
		{name: "hourly by default", slot: time.Hour},
		{name: "every half hour", interval: 30 * time.Minute, slot: 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(start)
			locks := newMemLocks()
			checker := &statusChecker{clock: clock}
			var logs logBuffer
			startReplica(t, jobs.Deps{Housekeeper: &housekeeper{}, Locks: locks, Clock: clock, Logger: logs.logger(),
				Status: checker, StatusInterval: tt.interval})
			const timers = 2 // housekeeping and billing status
			waitArmed(t, clock, timers)

			const slots = 4
			first := start.Truncate(tt.slot).Add(tt.slot)
			for i := range slots {
				slot := first.Add(time.Duration(i) * tt.slot)
				fireSlot(t, clock, slot, timers)
				eventually(t, fmt.Sprintf("the %s check ran", slot.Format("15:04")), func() bool {
					return len(checker.snapshot()) >= i+1 && len(logs.records(t, "billing status check done")) >= i+1
				})
				settle()
				if n := locks.claims(jobs.BillingStatusJob, slot); n != 1 {
					t.Errorf("slot %s claimed %d times, want 1", slot, n)
				}
			}

			calls := checker.snapshot()
			if len(calls) != slots {
				t.Fatalf("CheckAll ran %d times over %d slots, want once per slot: %v", len(calls), slots, calls)
			}
			for i, got := range calls {
				if want := first.Add(time.Duration(i) * tt.slot); !got.Truncate(tt.slot).Equal(want) {
					t.Errorf("run %d at %s, want in slot %s", i, got, want)
				}
			}
			runs := 0
			for _, r := range logs.records(t, "job run") {
				if r["job"] == jobs.BillingStatusJob {
					runs++
					if r["outcome"] != "ok" {
						t.Errorf("run record %v, want outcome ok", r)
					}
				}
			}
			if runs != slots {
				t.Errorf("%d run records for %s, want %d", runs, jobs.BillingStatusJob, slots)
			}
		})
	}
}

func TestBillingStatusRunContextEndsWithinTheSlot(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	deadline := make(chan time.Time, 1)
	checker := checkFunc(func(ctx context.Context) (accounts.CheckReport, error) {
		d, _ := ctx.Deadline()
		deadline <- d
		return accounts.CheckReport{}, nil
	})
	startReplica(t, jobs.Deps{Housekeeper: &housekeeper{}, Clock: clock, Logger: discard(), Status: checker})
	waitArmed(t, clock, 2)
	fireSlot(t, clock, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), 2)

	select {
	case d := <-deadline:
		if d.IsZero() || time.Until(d) > time.Hour {
			t.Errorf("run context deadline %v, want one within the hourly interval", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("billing status job did not run")
	}
}

func TestBillingStatusIsNotScheduledWithoutAChecker(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	locks := newMemLocks()
	hk := &housekeeper{}
	startReplica(t, jobs.Deps{Housekeeper: hk, Locks: locks, Clock: clock, Logger: discard()})
	waitArmed(t, clock, 1)
	ten := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	fireSlot(t, clock, ten, 1)
	eventually(t, "housekeeping ran", func() bool { return hk.finishedCount() == 1 })
	settle()
	if n := locks.claims(jobs.BillingStatusJob, ten); n != 0 {
		t.Errorf("%s claimed its slot %d times without a StatusChecker, want 0", jobs.BillingStatusJob, n)
	}
}

// TestBillingStatusReplicasOnOneDatabaseRunEachSlotOnce runs two
// schedulers, each with its own connection pool, on one real database whose
// slot locks decide which replica checks.
func TestBillingStatusReplicasOnOneDatabaseRunEachSlotOnce(t *testing.T) {
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
			const replicas, slots, timers = 2, 3, 2 * 2
			clock := clockwork.NewFakeClockAt(start)
			tally := newSlotTally()
			var checkers []*statusChecker
			for i := range replicas {
				store := openStore(t, url, i == 0)
				checker := &statusChecker{clock: clock}
				checkers = append(checkers, checker)
				startReplica(t, jobs.Deps{Housekeeper: store, Locks: tally.wrap(store), Clock: clock, Logger: discard(), Status: checker},
					jobs.WithOwner(fmt.Sprintf("replica-%d", i)))
			}
			waitArmed(t, clock, timers)

			var runs []time.Time
			collect := func() []time.Time {
				runs = runs[:0]
				for _, c := range checkers {
					runs = append(runs, c.snapshot()...)
				}
				return runs
			}
			first := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			for i := range slots {
				slot := first.Add(time.Duration(i) * time.Hour)
				fireSlot(t, clock, slot, timers)
				eventually(t, fmt.Sprintf("both replicas claimed slot %s and one checked", slot), func() bool {
					attempts, _ := tally.counts(jobs.BillingStatusJob, slot)
					return attempts >= replicas && len(collect()) >= i+1
				})
				settle()
				if _, wins := tally.counts(jobs.BillingStatusJob, slot); wins != 1 {
					t.Errorf("slot %s claimed by %d replicas, want 1", slot, wins)
				}
			}

			collect()
			if len(runs) != slots {
				t.Fatalf("CheckAll ran %d times over %d slots, want once per slot: %v", len(runs), slots, runs)
			}
			seen := map[time.Time]bool{}
			for _, r := range runs {
				seen[r.Truncate(time.Hour)] = true
			}
			for i := range slots {
				if slot := first.Add(time.Duration(i) * time.Hour); !seen[slot] {
					t.Errorf("no check in slot %s; runs %v", slot, runs)
				}
			}
		})
	}
}

type checkFunc func(context.Context) (accounts.CheckReport, error)

func (f checkFunc) CheckAll(ctx context.Context, _ tenancy.Principal) (accounts.CheckReport, error) {
	return f(ctx)
}

func TestBillingStatusRunsOnceAtStartWhenAsked(t *testing.T) {
	t.Parallel()
	for _, atStart := range []bool{false, true} {
		t.Run(fmt.Sprintf("at start %v", atStart), func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(start)
			checker := &statusChecker{clock: clock}
			startReplica(t, jobs.Deps{Housekeeper: &housekeeper{}, Clock: clock, Status: checker, StatusAtStart: atStart,
				Logger: (&logBuffer{}).logger()})
			want := 0
			if atStart {
				want = 1
				eventually(t, "the start-up check ran", func() bool { return len(checker.snapshot()) == 1 })
			}
			settle()
			if got := checker.snapshot(); len(got) != want || (want == 1 && !got[0].Equal(start)) {
				t.Errorf("checks before the first slot at %v, want %d at %s", got, want, start)
			}
		})
	}
}

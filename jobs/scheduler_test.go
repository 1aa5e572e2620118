package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/jobs"
)

func TestReplicasRunEachSlotOnce(t *testing.T) {
	t.Parallel()
	for _, replicas := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d replicas", replicas), func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(start)
			locks := newMemLocks()
			hk := &housekeeper{}
			for i := range replicas {
				startReplica(t, jobs.Deps{Housekeeper: hk, Locks: locks, Clock: clock, Logger: discard()},
					jobs.WithOwner(fmt.Sprintf("replica-%d", i)))
			}
			waitArmed(t, clock, replicas)

			const slots = 5
			first := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			for i := range slots {
				slot := first.Add(time.Duration(i) * time.Hour)
				fireSlot(t, clock, slot, replicas)
				eventually(t, fmt.Sprintf("every replica claimed slot %s and one ran", slot), func() bool {
					return locks.claims(jobs.IngestionHousekeepingJob, slot) >= replicas && hk.finishedCount() >= i+1
				})
				settle()
			}

			calls, _, _ := hk.snapshot()
			if len(calls) != slots {
				t.Fatalf("Housekeep ran %d times over %d slots, want once per slot: %v", len(calls), slots, calls)
			}
			for i, got := range calls {
				if want := first.Add(time.Duration(i) * time.Hour); !got.Truncate(time.Hour).Equal(want) {
					t.Errorf("run %d: Housekeep(now = %s), want %s", i, got, want)
				}
			}
		})
	}
}

func TestSingletonSkipsSlotsWhileARunIsInProgress(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	release := make(chan struct{})
	var first atomic.Bool
	hk := &housekeeper{do: func(ctx context.Context, _ time.Time) (billing.HousekeepResult, error) {
		if first.CompareAndSwap(false, true) {
			<-release
		}
		return billing.HousekeepResult{}, nil
	}}
	startReplica(t, jobs.Deps{Housekeeper: hk, Locks: newMemLocks(), Clock: clock, Logger: discard()})
	waitArmed(t, clock, 1)

	ten := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	fireSlot(t, clock, ten, 1)
	eventually(t, "the 10:00 run started", func() bool { return hk.callCount() == 1 })
	// The 11:00 slot fires while the 10:00 run still works: it is skipped.
	fireSlot(t, clock, ten.Add(time.Hour), 1)
	if n := hk.callCount(); n != 1 {
		t.Fatalf("Housekeep called %d times while the first run was in progress, want 1", n)
	}

	close(release)
	eventually(t, "the 10:00 run finished", func() bool { return hk.finishedCount() == 1 })
	settle()
	fireSlot(t, clock, ten.Add(2*time.Hour), 1)
	eventually(t, "the 12:00 run finished", func() bool { return hk.finishedCount() == 2 })

	calls, _, maxRunning := hk.snapshot()
	if maxRunning != 1 {
		t.Errorf("%d runs at once, want 1", maxRunning)
	}
	if len(calls) != 2 || !calls[0].Truncate(time.Hour).Equal(ten) || !calls[1].Truncate(time.Hour).Equal(ten.Add(2*time.Hour)) {
		t.Errorf("runs at %v, want 10:00 and 12:00", calls)
	}
}

func TestShutdownCancelsAndWaitsForRunningJob(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	var finished atomic.Bool
	var runErr atomic.Value
	hk := &housekeeper{do: func(ctx context.Context, _ time.Time) (billing.HousekeepResult, error) {
		<-ctx.Done()
		time.Sleep(100 * time.Millisecond) // winding down takes a while
		finished.Store(true)
		runErr.Store(ctx.Err())
		return billing.HousekeepResult{}, ctx.Err()
	}}
	s, err := jobs.New(jobs.Deps{Housekeeper: hk, Clock: clock, Logger: discard()}, jobs.WithStopTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitArmed(t, clock, 1)
	fireSlot(t, clock, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), 1)
	eventually(t, "the run started", func() bool { return hk.callCount() == 1 })

	if err := s.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !finished.Load() {
		t.Fatal("Shutdown returned before the running job did")
	}
	if got := runErr.Load(); got != context.Canceled {
		t.Errorf("run context ended with %v, want context.Canceled", got)
	}
}

func TestShutdownGivesUpAfterStopTimeout(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	release := make(chan struct{})
	hk := &housekeeper{do: func(context.Context, time.Time) (billing.HousekeepResult, error) {
		<-release // ignores cancellation
		return billing.HousekeepResult{}, nil
	}}
	t.Cleanup(func() { close(release) })
	s, err := jobs.New(jobs.Deps{Housekeeper: hk, Clock: clock, Logger: discard()}, jobs.WithStopTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitArmed(t, clock, 1)
	fireSlot(t, clock, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), 1)
	eventually(t, "the run started", func() bool { return hk.callCount() == 1 })

	began := time.Now()
	if err := s.Shutdown(); err == nil {
		t.Fatal("Shutdown returned no error though a job outlived the stop timeout")
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Shutdown took %s with a 100ms stop timeout", took)
	}
}

func TestRunContextHasTimeout(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	deadline := make(chan time.Time, 1)
	hk := &housekeeper{do: func(ctx context.Context, _ time.Time) (billing.HousekeepResult, error) {
		d, _ := ctx.Deadline()
		deadline <- d
		return billing.HousekeepResult{}, nil
	}}
	startReplica(t, jobs.Deps{Housekeeper: hk, Clock: clock, Logger: discard()})
	waitArmed(t, clock, 1)
	fireSlot(t, clock, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), 1)

	select {
	case d := <-deadline:
		if d.IsZero() || time.Until(d) > time.Hour {
			t.Errorf("run context deadline %v, want one within the hourly interval", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("job did not run")
	}
}

func TestRunIsSkippedWhenSlotCannotBeClaimed(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	locks := newMemLocks()
	ten := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	locks.failSlot(jobs.IngestionHousekeepingJob, ten, errors.New("database unreachable"))
	hk := &housekeeper{}
	var logs logBuffer
	startReplica(t, jobs.Deps{Housekeeper: hk, Locks: locks, Clock: clock, Logger: logs.logger()})
	waitArmed(t, clock, 1)

	fireSlot(t, clock, ten, 1)
	eventually(t, "the 10:00 claim was tried", func() bool { return locks.claims(jobs.IngestionHousekeepingJob, ten) == 1 })
	settle()
	fireSlot(t, clock, ten.Add(time.Hour), 1)
	eventually(t, "the 11:00 run finished", func() bool { return hk.finishedCount() == 1 })

	calls, _, _ := hk.snapshot()
	if len(calls) != 1 || !calls[0].Truncate(time.Hour).Equal(ten.Add(time.Hour)) {
		t.Errorf("Housekeep ran at %v, want only at 11:00", calls)
	}
	recs := logs.records(t, "job run skipped: cannot claim slot")
	if len(recs) != 1 || recs[0]["job"] != jobs.IngestionHousekeepingJob || recs[0]["level"] != "ERROR" {
		t.Errorf("skip records %v, want one ERROR naming the job", recs)
	}
}

func TestEveryRunIsLogged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		do        func(context.Context, time.Time) (billing.HousekeepResult, error)
		level     string
		outcome   string
		wantError bool
	}{
		{
			name: "success",
			do: func(context.Context, time.Time) (billing.HousekeepResult, error) {
				return billing.HousekeepResult{}, nil
			},
			level:   "INFO",
			outcome: "ok",
		},
		{
			name: "failure",
			do: func(context.Context, time.Time) (billing.HousekeepResult, error) {
				return billing.HousekeepResult{}, errors.New("disk full")
			},
			level: "ERROR", outcome: "failed", wantError: true,
		},
		{
			name:  "panic",
			do:    func(context.Context, time.Time) (billing.HousekeepResult, error) { panic("boom") },
			level: "ERROR", outcome: "failed", wantError: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(start)
			hk := &housekeeper{do: tt.do}
			var logs logBuffer
			startReplica(t, jobs.Deps{Housekeeper: hk, Clock: clock, Logger: logs.logger()})
			waitArmed(t, clock, 1)
			fireSlot(t, clock, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), 1)

			var recs []map[string]any
			eventually(t, "the run was logged", func() bool {
				recs = logs.records(t, "job run")
				return len(recs) == 1
			})
			rec := recs[0]
			if rec["job"] != jobs.IngestionHousekeepingJob || rec["level"] != tt.level || rec["outcome"] != tt.outcome {
				t.Errorf("record %v, want job %q, level %s, outcome %s", rec, jobs.IngestionHousekeepingJob, tt.level, tt.outcome)
			}
			if rec["slot"] != "2026-11-22T10:00:00Z" {
				t.Errorf("slot = %v, want 2026-11-22T10:00:00Z", rec["slot"])
			}
			if _, ok := rec["duration"].(float64); !ok {
				t.Errorf("duration = %v, want a number", rec["duration"])
			}
			if _, ok := rec["error"]; ok != tt.wantError {
				t.Errorf("error attribute present = %t, want %t", ok, tt.wantError)
			}
		})
	}
}

func TestNewRequiresHousekeeper(t *testing.T) {
	t.Parallel()
	if _, err := jobs.New(jobs.Deps{}); err == nil {
		t.Fatal("jobs.New without a Housekeeper returned no error")
	}
}

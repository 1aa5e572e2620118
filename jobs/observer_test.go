package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/jobs"
)

// jobTally is a JobObserver that keeps what it is told.
type jobTally struct {
	mu   sync.Mutex
	runs []string // job/outcome
}

func (j *jobTally) JobRan(job, outcome string, _ time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.runs = append(j.runs, job+"/"+outcome)
}

func (j *jobTally) snapshot() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.runs...)
}

func TestEveryJobRunIsReportedWithItsOutcome(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	fail := false
	hk := &housekeeper{do: func(context.Context, time.Time) (billing.HousekeepResult, error) {
		if fail {
			return billing.HousekeepResult{}, errors.New("disk full")
		}
		fail = true
		return billing.HousekeepResult{}, nil
	}}
	tally := &jobTally{}
	startReplica(t, jobs.Deps{Housekeeper: hk, Clock: clock, Logger: discard(), Observer: tally})
	waitArmed(t, clock, 1)
	first := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := range 2 {
		fireSlot(t, clock, first.Add(time.Duration(i)*time.Hour), 1)
		eventually(t, "the run was reported", func() bool { return len(tally.snapshot()) == i+1 })
	}
	got := tally.snapshot()
	want := []string{jobs.IngestionHousekeepingJob + "/ok", jobs.IngestionHousekeepingJob + "/failed"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("reported %v, want %v", got, want)
	}
}

// TestShutdownLetsARunningJobFinishThenCancelsTheRest: a job that ends
// within the grace period ends well; one that does not is cancelled
// before the stop timeout, and Shutdown returns.
func TestShutdownLetsARunningJobFinishThenCancelsTheRest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		takes   time.Duration
		outcome string
	}{
		{"quick job", 300 * time.Millisecond, "ok"},
		{"stuck job", time.Hour, "canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(start)
			running := make(chan struct{})
			hk := &housekeeper{do: func(ctx context.Context, _ time.Time) (billing.HousekeepResult, error) {
				close(running)
				select {
				case <-time.After(tc.takes):
					return billing.HousekeepResult{}, nil
				case <-ctx.Done():
					return billing.HousekeepResult{}, ctx.Err()
				}
			}}
			tally := &jobTally{}
			s, err := jobs.New(jobs.Deps{Housekeeper: hk, Clock: clock, Logger: discard(), Observer: tally},
				jobs.WithStopTimeout(3*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			waitArmed(t, clock, 1)
			fireSlot(t, clock, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), 1)
			<-running
			began := time.Now()
			if err := s.Shutdown(); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if took := time.Since(began); took > 3*time.Second {
				t.Errorf("shutdown took %s, more than its timeout", took)
			}
			if got := tally.snapshot(); len(got) != 1 || got[0] != jobs.IngestionHousekeepingJob+"/"+tc.outcome {
				t.Errorf("runs %v, want one %s", got, tc.outcome)
			}
		})
	}
}

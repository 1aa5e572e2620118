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

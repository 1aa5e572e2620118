package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/jobs"
)

// queuedExports hands out a queue of due exports in the batches asked for.
type queuedExports struct {
	mu       sync.Mutex
	left     int
	calls    int
	bySystem bool
}

func (q *queuedExports) WriteQueued(_ context.Context, caller tenancy.Principal, limit int) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	q.bySystem = caller.IsSystem()
	n := min(limit, q.left)
	q.left -= n
	return n, nil
}

func (q *queuedExports) state() (left, calls int, bySystem bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.left, q.calls, q.bySystem
}

func TestExportJobDrainsTheQueueInBatches(t *testing.T) {
	q := &queuedExports{left: 45}
	if err := jobs.WriteExports(context.Background(), jobs.Deps{Exports: q}); err != nil {
		t.Fatal(err)
	}
	if left, calls, sys := q.state(); left != 0 || calls != 3 || !sys {
		t.Errorf("left %d after %d calls (system %v), want the queue drained in 3 batches by the system", left, calls, sys)
	}
}

func TestExportJobRunsEveryInterval(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 7, 10, 0, 30, 0, time.UTC))
	q := &queuedExports{left: 1}
	s, err := jobs.New(jobs.Deps{Housekeeper: noHousekeeping{}, Exports: q, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Shutdown()
	clock.BlockUntilContext(context.Background(), 2)
	clock.Advance(time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if left, _, _ := q.state(); left == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the export job did not run in its first slot")
}

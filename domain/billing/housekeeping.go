package billing

import (
	"context"
	"time"
)

// RunLease is how long a running run may go without its process renewing
// it before housekeeping decides the process died, marks the run failed
// and removes what it wrote. A live ingestion renews every RunLease/4.
// The lease is the fallback: a run whose process lock (see
// IngestStore.LockRun) is gone is failed at once.
const RunLease = time.Minute

// JobLockRetention is how long the job slot locks that keep replicas from
// running a job twice are kept before housekeeping prunes them.
const JobLockRetention = 7 * 24 * time.Hour

// InterruptedRunError is the error recorded on a run whose process
// housekeeping found gone.
const InterruptedRunError = "interrupted"

// HousekeepResult counts what one Housekeep pass cleaned up.
type HousekeepResult struct {
	StaleRunsFailed   int
	OrphanRowsDeleted int64
	LocksPruned       int64
}

// Housekeeper repairs what crashed or superseded ingestions leave behind.
// Every pass is safe to repeat and to run beside live ingestions.
type Housekeeper interface {
	// Housekeep, as of now:
	//   - marks runs still running whose process lock is gone, or that were
	//     not renewed for RunLease, as failed, with the error
	//     InterruptedRunError;
	//   - deletes the line items and rollups of runs that are neither the
	//     active version of their period nor running (the rows a crashed or
	//     superseded run left behind);
	//   - prunes job slot locks older than JobLockRetention.
	Housekeep(ctx context.Context, now time.Time) (HousekeepResult, error)
}

// keepAlive renews a running run every RunLease/4 until the returned stop
// is called, so that housekeeping can tell it from a run whose process
// died. A failed renewal is retried at the next tick.
func (g *Ingester) keepAlive(ctx context.Context, run IngestionRun) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(RunLease / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = g.store.RenewRun(ctx, run, g.now().UTC())
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

package billing

import (
	"context"
	"time"
)

// StaleRunAge is how long a run may stay running before housekeeping
// decides its process died and marks it failed.
const StaleRunAge = 6 * time.Hour

// JobLockRetention is how long the job slot locks that keep replicas from
// running a job twice are kept before housekeeping prunes them.
const JobLockRetention = 7 * 24 * time.Hour

// InterruptedRunError is the error recorded on a run that housekeeping found
// still running after StaleRunAge.
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
	//   - marks runs still running StaleRunAge after they started as failed,
	//     with the error InterruptedRunError;
	//   - deletes the line items and rollups of runs that are neither the
	//     active version of their period nor running (the rows a crashed or
	//     superseded run left behind);
	//   - prunes job slot locks older than JobLockRetention.
	Housekeep(ctx context.Context, now time.Time) (HousekeepResult, error)
}

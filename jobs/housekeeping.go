package jobs

import (
	"context"
	"fmt"
)

// IngestionHousekeeping runs one billing.Housekeeper pass as of the clock's
// now and logs what it cleaned up: runs left running by a dead process are
// failed, rows of superseded or failed runs deleted, old slot locks pruned.
func IngestionHousekeeping(ctx context.Context, deps Deps) error {
	res, err := deps.Housekeeper.Housekeep(ctx, deps.clock().Now().UTC())
	if err != nil {
		return fmt.Errorf("ingestion housekeeping: %w", err)
	}
	deps.logger().InfoContext(ctx, "ingestion housekeeping done",
		"stale_runs_failed", res.StaleRunsFailed,
		"orphan_rows_deleted", res.OrphanRowsDeleted,
		"locks_pruned", res.LocksPruned)
	return nil
}

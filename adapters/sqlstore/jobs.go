package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain/billing"
)

type jobLockRow struct {
	bun.BaseModel `bun:"table:job_locks"`
	JobName       string    `bun:"job_name,pk"`
	Slot          time.Time `bun:"slot,pk"`
	Owner         string    `bun:"owner"`
	LockedAt      time.Time `bun:"locked_at"`
}

var _ billing.Housekeeper = (*Store)(nil)

// TryLockSlot claims (job, slot) for owner. It returns true for the first
// caller only, on any number of replicas sharing the database.
func (s *Store) TryLockSlot(ctx context.Context, job string, slot time.Time, owner string) (bool, error) {
	row := jobLockRow{JobName: job, Slot: slot.UTC(), Owner: owner, LockedAt: time.Now().UTC()}
	res, err := s.db.NewInsert().Model(&row).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("lock job %s slot %s: %w", job, slot.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("lock job %s: %w", job, err)
	}
	return n == 1, nil
}

// Housekeep fails runs whose process stopped renewing them, removes line items
// and rollups no partition points at (superseded or failed runs), and
// forgets old job slots.
func (s *Store) Housekeep(ctx context.Context, now time.Time) (billing.HousekeepResult, error) {
	var res billing.HousekeepResult
	var err error
	if res.StaleRunsFailed, err = s.ReapDeadRuns(ctx, now); err != nil {
		return res, err
	}
	if s.dialect == Postgres {
		n, err := s.dropOrphanTables(ctx)
		res.OrphanRowsDeleted += n
		if err != nil {
			return res, err
		}
	}
	for _, table := range s.runTables() {
		r, err := s.db.NewDelete().TableExpr(table+" AS t").
			Where("NOT EXISTS (SELECT 1 FROM billing_partitions AS p WHERE p.org_id = t.org_id"+
				" AND p.connector_id = t.connector_id AND p.billing_period_start = t.billing_period_start AND p.run_id = t.run_id)").
			Where("NOT EXISTS (SELECT 1 FROM ingestion_runs AS ir WHERE ir.org_id = t.org_id AND ir.id = t.run_id AND ir.status = ?)",
				string(billing.RunRunning)).
			Exec(ctx)
		if err != nil {
			return res, fmt.Errorf("delete orphaned %s: %w", table, err)
		}
		n, _ := r.RowsAffected()
		res.OrphanRowsDeleted += n
	}

	// A run's tag keys go with its last partition.
	r, err := s.db.NewDelete().TableExpr("run_tag_keys AS k").
		Where("NOT EXISTS (SELECT 1 FROM billing_partitions AS p WHERE p.org_id = k.org_id AND p.run_id = k.run_id)").
		Where("NOT EXISTS (SELECT 1 FROM ingestion_runs AS ir WHERE ir.org_id = k.org_id AND ir.id = k.run_id AND ir.status = ?)",
			string(billing.RunRunning)).
		Exec(ctx)
	if err != nil {
		return res, fmt.Errorf("delete orphaned run tag keys: %w", err)
	}
	r, err = s.db.NewDelete().Model((*jobLockRow)(nil)).Where("slot < ?", now.Add(-billing.JobLockRetention).UTC()).Exec(ctx)
	if err != nil {
		return res, fmt.Errorf("prune job locks: %w", err)
	}
	res.LocksPruned, _ = r.RowsAffected()
	return res, nil
}

// ReapDeadRuns fails the runs whose process died and removes what they
// wrote, and removes the superseded versions a publishing process died
// before removing. A run is dead at once when nobody holds its process
// lock (see LockRun), or, as a fallback, when its process stopped renewing
// it (see billing.RunLease). It reads only running runs and the notes of
// superseded periods, so it is cheap enough to run before every command.
func (s *Store) ReapDeadRuns(ctx context.Context, now time.Time) (int, error) {
	if _, err := s.removeAllSuperseded(ctx); err != nil {
		return 0, err
	}
	// Before the running runs are read: a run's file is locked before its
	// row is created, so no file of a live run can look stale here.
	if err := s.removeStaleRunLockFiles(); err != nil {
		return 0, err
	}
	var running []runRow
	err := s.db.NewSelect().Model(&running).Column("org_id", "id", "started_at", "renewed_at").
		Where("status = ?", string(billing.RunRunning)).Scan(ctx)
	if err != nil {
		return 0, fmt.Errorf("find running runs: %w", err)
	}
	n := 0
	for _, r := range running {
		renewed := r.StartedAt
		if r.RenewedAt != nil {
			renewed = *r.RenewedAt
		}
		dead := renewed.Before(now.Add(-billing.RunLease))
		if !dead {
			if dead, err = s.lockFree(ctx, runLockName(r.OrgID, r.ID)); err != nil {
				return n, err
			}
		}
		if !dead {
			continue
		}
		ok, err := s.failRunning(ctx, r.OrgID, r.ID)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// failRunning marks a run failed as interrupted, if it is still running,
// and removes what it wrote. ok says whether it was still running.
func (s *Store) failRunning(ctx context.Context, orgID, runID string) (ok bool, err error) {
	res, err := s.db.NewUpdate().Model((*runRow)(nil)).
		Set("status = ?", string(billing.RunFailed)).
		Set("error = ?", billing.InterruptedRunError).
		Set("finished_at = ?", time.Now().UTC()).
		Where("org_id = ? AND id = ? AND status = ?", orgID, runID, string(billing.RunRunning)).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("fail dead run %s: %w", runID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if err := s.DiscardRun(ctx, billing.IngestionRun{OrgID: orgID, ID: runID}); err != nil {
		return true, fmt.Errorf("remove rows of dead run %s: %w", runID, err)
	}
	return true, nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

var _ billing.RollupReader = (*Store)(nil)

// activeRollups selects the rollups of the active run of each partition.
func (s *Store) activeRollups(orgIDs []string) *bun.SelectQuery {
	return s.db.NewSelect().TableExpr("cost_rollups AS r").
		Join("JOIN billing_partitions AS p ON p.org_id = r.org_id AND p.connector_id = r.connector_id"+
			" AND p.billing_period_start = r.billing_period_start AND p.run_id = r.run_id").
		Where("r.org_id IN (?)", bun.In(orgIDs))
}

// ScanRollups streams the active rollups matching scan to fn.
func (s *Store) ScanRollups(ctx context.Context, scan billing.RollupScan, fn func(billing.Rollup) error) error {
	if len(scan.OrgIDs) == 0 {
		return nil
	}
	q := s.activeRollups(scan.OrgIDs).ColumnExpr("r.*")
	if scan.DateBasis == billing.BillingPeriod {
		q = q.Where("r.billing_period_start >= ? AND r.billing_period_start < ?", scan.From.UTC(), scan.To.UTC())
	} else {
		q = q.Where("r.day >= ? AND r.day < ?", scan.From.UTC(), scan.To.UTC())
	}
	rows, err := q.Rows(ctx)
	if err != nil {
		return mapErr(err, "cost rollups")
	}
	defer rows.Close()
	for rows.Next() {
		var row rollupRow
		if err := s.db.ScanRow(ctx, rows, &row); err != nil {
			return mapErr(err, "cost rollup")
		}
		if err := fn(row.domain()); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "cost rollups")
}

// LatestCostDay returns the last charge day with active data.
func (s *Store) LatestCostDay(ctx context.Context, orgIDs []string) (time.Time, error) {
	if len(orgIDs) == 0 {
		return time.Time{}, domain.Errorf(domain.NotFound, "no cost data")
	}
	var row rollupRow
	err := s.activeRollups(orgIDs).ColumnExpr("r.day").OrderExpr("r.day DESC").Limit(1).Scan(ctx, &row.Day)
	if err == sql.ErrNoRows {
		return time.Time{}, domain.Errorf(domain.NotFound, "no cost data")
	}
	if err != nil {
		return time.Time{}, mapErr(err, "latest cost day")
	}
	return row.Day.UTC(), nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain/billing"
)

var _ billing.IngestStore = (*Store)(nil)

type runRow struct {
	bun.BaseModel `bun:"table:ingestion_runs"`
	OrgID         string     `bun:"org_id,pk"`
	ID            string     `bun:"id,pk"`
	ConnectorID   string     `bun:"connector_id"`
	Status        string     `bun:"status"`
	Format        string     `bun:"format"`
	SourceVersion string     `bun:"source_version"`
	Files         string     `bun:"files"`
	Rows          int64      `bun:"row_count"`
	Periods       string     `bun:"periods"`
	Retired       string     `bun:"retired_periods"`
	Totals        string     `bun:"totals"`
	Error         string     `bun:"error"`
	StartedAt     time.Time  `bun:"started_at"`
	FinishedAt    *time.Time `bun:"finished_at"`
	RenewedAt     *time.Time `bun:"renewed_at"`
}

type moneyJSON struct {
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency"`
}

func newRunRow(r billing.IngestionRun) runRow {
	files, _ := json.Marshal(nonNil(r.Files))
	periods := make([]string, len(r.Periods))
	for i, p := range r.Periods {
		periods[i] = p.UTC().Format(time.RFC3339)
	}
	ps, _ := json.Marshal(periods)
	retired := make([]string, len(r.Retired))
	for i, p := range r.Retired {
		retired[i] = p.UTC().Format(time.RFC3339)
	}
	rs, _ := json.Marshal(retired)
	totals := make([]moneyJSON, len(r.Totals))
	for i, m := range r.Totals {
		totals[i] = moneyJSON{Amount: m.Amount, Currency: m.Currency}
	}
	ts, _ := json.Marshal(totals)
	row := runRow{OrgID: r.OrgID, ID: r.ID, ConnectorID: r.ConnectorID, Status: string(r.Status), Format: r.Format,
		SourceVersion: r.SourceVersion, Files: string(files), Rows: r.Rows, Periods: string(ps), Retired: string(rs), Totals: string(ts),
		Error: r.Error, StartedAt: r.StartedAt}
	if !r.FinishedAt.IsZero() {
		f := r.FinishedAt
		row.FinishedAt = &f
	}
	return row
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (r runRow) domain() (billing.IngestionRun, error) {
	run := billing.IngestionRun{ID: r.ID, OrgID: r.OrgID, ConnectorID: r.ConnectorID, Status: billing.RunStatus(r.Status),
		Format: r.Format, SourceVersion: r.SourceVersion, Rows: r.Rows, Error: r.Error, StartedAt: r.StartedAt.UTC()}
	if r.FinishedAt != nil {
		run.FinishedAt = r.FinishedAt.UTC()
	}
	if err := json.Unmarshal([]byte(r.Files), &run.Files); err != nil {
		return run, fmt.Errorf("run %s files: %w", r.ID, err)
	}
	var err error
	if run.Periods, err = parsePeriods(r.ID, r.Periods); err != nil {
		return run, err
	}
	if r.Retired != "" {
		if run.Retired, err = parsePeriods(r.ID, r.Retired); err != nil {
			return run, err
		}
	}
	var totals []moneyJSON
	if err := json.Unmarshal([]byte(r.Totals), &totals); err != nil {
		return run, fmt.Errorf("run %s totals: %w", r.ID, err)
	}
	for _, m := range totals {
		run.Totals = append(run.Totals, billing.Money{Amount: m.Amount, Currency: m.Currency})
	}
	return run, nil
}

// parsePeriods reads a run's JSON list of period starts.
func parsePeriods(runID, text string) ([]time.Time, error) {
	var periods []string
	if err := json.Unmarshal([]byte(text), &periods); err != nil {
		return nil, fmt.Errorf("run %s periods: %w", runID, err)
	}
	var out []time.Time
	for _, p := range periods {
		t, err := time.Parse(time.RFC3339, p)
		if err != nil {
			return nil, fmt.Errorf("run %s period %q: %w", runID, p, err)
		}
		out = append(out, t.UTC())
	}
	return out, nil
}

// CreateRun stores a new run.
func (s *Store) CreateRun(ctx context.Context, run billing.IngestionRun) error {
	row := newRunRow(run)
	if run.Status == billing.RunRunning {
		row.RenewedAt = &row.StartedAt
	}
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	return mapErr(err, "ingestion run")
}

// FinishRun records a run's final state.
func (s *Store) FinishRun(ctx context.Context, run billing.IngestionRun) error {
	return updateRun(ctx, s.db, run)
}

// RenewRun records that a running run's process is alive.
func (s *Store) RenewRun(ctx context.Context, run billing.IngestionRun, at time.Time) error {
	_, err := s.db.NewUpdate().Model((*runRow)(nil)).Set("renewed_at = ?", at.UTC()).
		Where("org_id = ? AND id = ? AND status = ?", run.OrgID, run.ID, string(billing.RunRunning)).Exec(ctx)
	return mapErr(err, "ingestion run")
}

func updateRun(ctx context.Context, db bun.IDB, run billing.IngestionRun) error {
	row := newRunRow(run)
	_, err := db.NewUpdate().Model(&row).
		Column("status", "format", "source_version", "files", "row_count", "periods", "retired_periods", "totals", "error", "finished_at").
		WherePK().Exec(ctx)
	return mapErr(err, "ingestion run")
}

// LatestRun returns a connector's newest succeeded or unchanged run.
func (s *Store) LatestRun(ctx context.Context, orgID, connectorID string) (billing.IngestionRun, error) {
	var row runRow
	err := s.db.NewSelect().Model(&row).
		Where("org_id = ? AND connector_id = ? AND status IN (?)", orgID, connectorID,
			bun.In([]string{string(billing.RunSucceeded), string(billing.RunUnchanged)})).
		Order("started_at DESC", "id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return billing.IngestionRun{}, mapErr(err, "ingestion run")
	}
	return row.domain()
}

// ListRuns returns the newest runs of the organizations.
func (s *Store) ListRuns(ctx context.Context, orgIDs []string, limit int) ([]billing.IngestionRun, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var rows []runRow
	if err := s.db.NewSelect().Model(&rows).Where("org_id IN (?)", bun.In(orgIDs)).
		Order("started_at DESC", "id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, mapErr(err, "ingestion runs")
	}
	out := make([]billing.IngestionRun, 0, len(rows))
	for _, r := range rows {
		run, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, nil
}

type partitionRow struct {
	bun.BaseModel      `bun:"table:billing_partitions"`
	OrgID              string    `bun:"org_id,pk"`
	ConnectorID        string    `bun:"connector_id,pk"`
	BillingPeriodStart time.Time `bun:"billing_period_start,pk"`
	RunID              string    `bun:"run_id"`
	SourceVersion      string    `bun:"source_version"`
	UpdatedAt          time.Time `bun:"updated_at"`
}

// PartitionVersions returns the source version of each active partition of
// a connector.
func (s *Store) PartitionVersions(ctx context.Context, orgID, connectorID string) (map[time.Time]string, error) {
	var rows []partitionRow
	if err := s.db.NewSelect().Model(&rows).Where("org_id = ? AND connector_id = ?", orgID, connectorID).Scan(ctx); err != nil {
		return nil, mapErr(err, "partitions")
	}
	out := make(map[time.Time]string, len(rows))
	for _, r := range rows {
		out[r.BillingPeriodStart.UTC()] = r.SourceVersion
	}
	return out, nil
}

// PublishRun swaps a run in as the active version of its periods. In the
// same transaction it replaces the superseded versions' rollups with the
// run's, built from its rows: the rollup tables hold active data only, so
// reports read them without checking which run is active, and readers see
// the old rollups or the new ones, never both.
func (s *Store) PublishRun(ctx context.Context, run billing.IngestionRun, rollups *billing.Rollups) error {
	type superseded struct {
		runID  string
		period time.Time
	}
	var old []superseded
	var tables []lineItemTableRow
	// A priced customer's new months are priced as they are published.
	cust, err := s.Customer(ctx, run.OrgID)
	if err != nil {
		return err
	}
	closed, err := closedMonths(ctx, s.db, run.OrgID)
	if err != nil {
		return err
	}
	months := map[time.Time][]time.Time{}
	// A closed month's restatement is billed in the next open month: its
	// charges are written after the restated months'.
	var carriedTo []time.Time
	if cust.Priced() || len(closed) > 0 {
		for _, p := range run.Periods {
			m := billing.MonthStart(p)
			months[m] = append(months[m], p.UTC())
		}
		for m := range months {
			if closed[m] {
				carriedTo = append(carriedTo, firstOpenAfter(m, closed))
			}
		}
		for _, m := range append(sortedMonths(months), carriedTo...) {
			if err := s.ensureChargeTable(ctx, run.OrgID, m); err != nil {
				return err
			}
		}
	}
	if s.dialect == Postgres {
		var err error
		if tables, err = s.lineItemTables(ctx, s.db, run.OrgID, run.ID); err != nil {
			return err
		}
		for _, t := range tables {
			if err := s.ensureMonth(ctx, t.Month); err != nil {
				return err
			}
		}
	}
	// The rollups are bulk loaded on the transaction's own connection.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	defer conn.Close()
	err = conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// A month closing meanwhile waits for the publish, or the publish
		// for the close: its charges are then written as a closed month's.
		if err := s.lockCycles(ctx, tx, run.OrgID); err != nil {
			return err
		}
		if s.dialect == Postgres {
			if err := s.attachRun(ctx, tx, tables); err != nil {
				return err
			}
			// Building the rollups groups every row of the run: let the
			// database hash them in memory rather than sort on disk.
			if _, err := tx.ExecContext(ctx, "SET LOCAL work_mem = '"+rollupWorkMem+"'"); err != nil {
				return fmt.Errorf("set work_mem: %w", err)
			}
		}
		for _, p := range run.Periods {
			var prev partitionRow
			err := tx.NewSelect().Model(&prev).
				Where("org_id = ? AND connector_id = ? AND billing_period_start = ?", run.OrgID, run.ConnectorID, p.UTC()).
				Scan(ctx)
			if err == nil && prev.RunID != run.ID {
				old = append(old, superseded{prev.RunID, p})
			}
			row := partitionRow{OrgID: run.OrgID, ConnectorID: run.ConnectorID, BillingPeriodStart: p.UTC(), RunID: run.ID,
				SourceVersion: run.PeriodVersions[p], UpdatedAt: run.FinishedAt}
			if _, err := tx.NewInsert().Model(&row).
				On("CONFLICT (org_id, connector_id, billing_period_start) DO UPDATE").
				Set("run_id = EXCLUDED.run_id").Set("source_version = EXCLUDED.source_version").Set("updated_at = EXCLUDED.updated_at").
				Exec(ctx); err != nil {
				return fmt.Errorf("swap partition %s: %w", p.Format("2006-01"), err)
			}
		}
		// A whole source's periods it no longer holds leave in the same swap.
		for _, p := range run.Retired {
			var prev partitionRow
			err := tx.NewSelect().Model(&prev).
				Where("org_id = ? AND connector_id = ? AND billing_period_start = ?", run.OrgID, run.ConnectorID, p.UTC()).
				Scan(ctx)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("find retired partition %s: %w", p.Format("2006-01"), err)
			}
			if _, err := tx.NewDelete().Model(&prev).WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("retire partition %s: %w", p.Format("2006-01"), err)
			}
			old = append(old, superseded{prev.RunID, p})
		}
		for _, o := range old {
			// Recorded with the swap, so that a process killed before it
			// removes the old rows leaves a note for the next one.
			note := supersededRow{OrgID: run.OrgID, RunID: o.runID, BillingPeriodStart: o.period.UTC(), SupersededAt: run.FinishedAt.UTC()}
			if _, err := tx.NewInsert().Model(&note).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
				return fmt.Errorf("record superseded period: %w", err)
			}
			for _, table := range rollupTables {
				if _, err := tx.NewDelete().TableExpr(table).Where("org_id = ? AND run_id = ? AND billing_period_start = ?",
					run.OrgID, o.runID, o.period.UTC()).Exec(ctx); err != nil {
					return fmt.Errorf("delete superseded %s: %w", table, err)
				}
			}
		}
		for m, periods := range months {
			rules, err := rulesFor(ctx, tx, cust, m, nil)
			if err != nil {
				return err
			}
			if len(rules) > 0 {
				if _, err := s.priceRows(ctx, tx, run.OrgID, run.ID, periods, rules); err != nil {
					return err
				}
				// The ingester's rollups summed the rows unpriced: build
				// them from the priced rows instead.
				rollups = nil
			}
		}
		if err := s.buildRollups(ctx, tx, conn.Conn, run, rollups); err != nil {
			return fmt.Errorf("build rollups: %w", err)
		}
		written := map[time.Time]bool{}
		for _, m := range append(sortedMonths(months), carriedTo...) {
			if written[m] {
				continue
			}
			written[m] = true
			if err := s.writeCharges(ctx, tx, cust, m); err != nil {
				return err
			}
		}
		return updateRun(ctx, tx, run)
	})
	if err != nil {
		return err
	}
	// The old versions are unreachable now; removing them can happen outside
	// the swap. If this fails or the process dies, the next command or
	// housekeeping finishes it (see removeSuperseded).
	for _, o := range old {
		if err := s.removeSuperseded(ctx, supersededRow{OrgID: run.OrgID, RunID: o.runID, BillingPeriodStart: o.period}); err != nil {
			return err
		}
	}
	return nil
}

// supersededRow notes a period whose old version's rows are still to be
// removed.
type supersededRow struct {
	bun.BaseModel      `bun:"table:superseded_periods"`
	OrgID              string    `bun:"org_id,pk"`
	RunID              string    `bun:"run_id,pk"`
	BillingPeriodStart time.Time `bun:"billing_period_start,pk"`
	SupersededAt       time.Time `bun:"superseded_at"`
}

// removeSuperseded removes the rows of a superseded version of a period,
// then its note. Every step may be repeated, by any process.
func (s *Store) removeSuperseded(ctx context.Context, o supersededRow) error {
	period := o.BillingPeriodStart.UTC()
	if err := s.deleteRunRows(ctx, o.OrgID, o.RunID, &period); err != nil {
		return err
	}
	if s.dialect == Postgres {
		if err := s.releaseSuperseded(ctx, o.OrgID, o.RunID, period); err != nil {
			return err
		}
	}
	note := supersededRow{OrgID: o.OrgID, RunID: o.RunID, BillingPeriodStart: period}
	if _, err := s.db.NewDelete().Model(&note).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("forget superseded period: %w", err)
	}
	return nil
}

// removeAllSuperseded finishes the removals of superseded versions that
// their publishing process did not: the notes are few, usually none.
func (s *Store) removeAllSuperseded(ctx context.Context) (int, error) {
	var notes []supersededRow
	if err := s.db.NewSelect().Model(&notes).Scan(ctx); err != nil {
		return 0, fmt.Errorf("read superseded periods: %w", err)
	}
	for _, o := range notes {
		if err := s.removeSuperseded(ctx, o); err != nil {
			return 0, err
		}
	}
	return len(notes), nil
}

// rollupWorkMem is the memory Postgres may use per sort or hash while it
// builds a run's rollups.
const rollupWorkMem = "256MB"

// DiscardRun removes the rows a failed run wrote.
func (s *Store) DiscardRun(ctx context.Context, run billing.IngestionRun) error {
	if err := s.deleteRunRows(ctx, run.OrgID, run.ID, nil); err != nil {
		return err
	}
	if s.dialect != Postgres {
		return nil
	}
	tables, err := s.lineItemTables(ctx, s.db, run.OrgID, run.ID)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := s.dropRunTable(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// deleteRunRows deletes what a run wrote, or what it wrote of one period,
// from the tables that key rows by run (on Postgres, its line items are
// tables of their own, handled apart).
func (s *Store) deleteRunRows(ctx context.Context, orgID, runID string, period *time.Time) error {
	for _, table := range s.runTables() {
		q := s.db.NewDelete().TableExpr(table).Where("org_id = ? AND run_id = ?", orgID, runID)
		if period != nil {
			q = q.Where("billing_period_start = ?", period.UTC())
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("delete %s of run %s: %w", table, runID, err)
		}
	}
	if period == nil {
		if _, err := s.db.NewDelete().TableExpr("run_tag_keys").Where("org_id = ? AND run_id = ?", orgID, runID).Exec(ctx); err != nil {
			return fmt.Errorf("delete tag keys of run %s: %w", runID, err)
		}
	}
	return nil
}

// sortedMonths lists a run's months oldest first.
func sortedMonths(months map[time.Time][]time.Time) []time.Time {
	out := make([]time.Time, 0, len(months))
	for m := range months {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

package sqlstore

import (
	"bufio"
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// On Postgres, cost_line_items is partitioned by billing month and, within
// a month, by run (see migration 20261206000007): a run copies each month's
// rows into a table of its own, publishing attaches the tables, and a
// superseded or abandoned run's tables are dropped whole.

// monthTable is the partition of cost_line_items holding a billing month.
func monthTable(month time.Time) string { return "cost_line_items_" + month.UTC().Format("200601") }

// runTable is the table holding one run's rows of a billing month.
func runTable(month time.Time, runID string) string {
	h := md5.Sum([]byte(runID))
	return monthTable(month) + "_" + hex.EncodeToString(h[:])[:16]
}

// quote quotes a text literal for DDL, which takes no parameters.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func timeLiteral(t time.Time) string { return quote(t.UTC().Format(time.RFC3339)) }

// lineItemTableRow records a run's table of a month, attached or not.
type lineItemTableRow struct {
	bun.BaseModel `bun:"table:cost_line_item_tables,alias:lit"`
	OrgID         string    `bun:"org_id,pk"`
	RunID         string    `bun:"run_id,pk"`
	Month         time.Time `bun:"month,pk"`
	TableName     string    `bun:"table_name"`
}

// maxOpenCopies bounds the COPY streams one run keeps open at once (one a
// month it is writing); a file mixing more months reopens them as needed.
const maxOpenCopies = 4

// partitionWriter routes a run's line items to its month tables, each fed
// by its own COPY.
type partitionWriter struct {
	s      *Store
	run    *billing.IngestionRun
	copies map[time.Time]*tableCopy
	order  []time.Time // least recently opened first
	buf    []byte
	digits []byte
	extras extrasEncoder
}

// analyzeTarget is the statistics target of the ANALYZE that follows a
// run table's COPY: a sample of 3,000 rows, some 0.15 s for 300,000.
const analyzeTarget = "10"

// tableCopy is one COPY stream into a run's month table.
type tableCopy struct {
	w    *bufio.Writer
	pw   *io.PipeWriter
	done chan error
}

func (s *Store) copyLineItems(ctx context.Context, run billing.IngestionRun, batches <-chan []billing.LineItem) (err error) {
	w := &partitionWriter{s: s, run: &run, copies: map[time.Time]*tableCopy{}}
	defer func() {
		for len(w.order) > 0 {
			if cerr := w.finish(w.order[0], err); err == nil {
				err = cerr
			}
		}
	}()
	var lastMonth, lastStart time.Time
	var last *tableCopy
	for items := range batches {
		rows := lineItemRows{run: &run, items: items, extras: &w.extras}
		for i := range items {
			start := items[i].BillingPeriodStart
			if !start.Equal(lastStart) || last == nil {
				lastStart, lastMonth = start, billing.MonthStart(start)
				if last, err = w.open(ctx, lastMonth); err != nil {
					return err
				}
			}
			if w.buf, w.digits, err = rows.AppendCopyBinary(w.buf[:0], w.digits, i); err != nil {
				return domain.Errorf(domain.Invalid, "a line item of %s: %v", items[i].BillingPeriodStart.UTC().Format("2006-01"), err)
			}
			if _, err := last.w.Write(w.buf); err != nil {
				return w.finish(lastMonth, err)
			}
		}
	}
	return nil
}

// open returns the COPY into the run's table of month, creating the table
// the first time and closing the oldest stream when too many are open.
func (w *partitionWriter) open(ctx context.Context, month time.Time) (*tableCopy, error) {
	if c, ok := w.copies[month]; ok {
		return c, nil
	}
	if len(w.order) == maxOpenCopies {
		if err := w.finish(w.order[0], nil); err != nil {
			return nil, err
		}
	}
	table := runTable(month, w.run.ID)
	row := lineItemTableRow{OrgID: w.run.OrgID, RunID: w.run.ID, Month: month, TableName: table}
	if _, err := w.s.db.NewInsert().Model(&row).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return nil, fmt.Errorf("record line item table: %w", err)
	}
	// The checks are the partition's bounds, so attaching it later needs
	// no scan; the table has no index, as a run's rows are read whole.
	ddl := "CREATE TABLE IF NOT EXISTS " + table + " (LIKE cost_line_items INCLUDING DEFAULTS," +
		" CHECK (run_id = " + quote(w.run.ID) + ")," +
		" CHECK (billing_period_start >= " + timeLiteral(month) + " AND billing_period_start < " + timeLiteral(month.AddDate(0, 1, 0)) + "))"
	if _, err := w.s.db.ExecContext(ctx, ddl); err != nil {
		return nil, fmt.Errorf("create %s: %w", table, err)
	}
	conn, err := w.s.db.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("get connection: %w", err)
	}
	pr, pw := io.Pipe()
	c := &tableCopy{w: bufio.NewWriterSize(pw, 256<<10), pw: pw, done: make(chan error, 1)}
	_, _ = c.w.Write(copyBinaryHeader) // buffered: a failure shows at the next write
	go func() {
		defer conn.Close()
		c.done <- conn.Raw(func(driverConn any) error {
			pg := driverConn.(*stdlib.Conn).Conn().PgConn()
			_, err := pg.CopyFrom(ctx, pr, "COPY "+table+" ("+strings.Join(lineItemColumns, ", ")+") FROM STDIN (FORMAT binary)")
			pr.CloseWithError(io.ErrClosedPipe) // a writer still writing learns COPY stopped
			if err != nil {
				return fmt.Errorf("copy into %s: %w", table, err)
			}
			// A table never analyzed reads to the planner as a few pages:
			// reports that read it would get no parallel scan until
			// autovacuum came by. A small sample is enough to say its size.
			_, err = pg.Exec(ctx, "SET default_statistics_target = "+analyzeTarget+"; ANALYZE "+table+"; RESET default_statistics_target").ReadAll()
			if err != nil {
				return fmt.Errorf("analyze %s: %w", table, err)
			}
			return nil
		})
	}()
	w.copies[month] = c
	w.order = append(w.order, month)
	return c, nil
}

// finish ends the COPY of a month: it completes it when cause is nil and
// aborts it otherwise. It returns the COPY's own error in preference to
// cause, since a failed COPY is what makes writes to it fail.
func (w *partitionWriter) finish(month time.Time, cause error) error {
	c := w.copies[month]
	delete(w.copies, month)
	for i, m := range w.order {
		if m.Equal(month) {
			w.order = append(w.order[:i], w.order[i+1:]...)
			break
		}
	}
	if cause == nil {
		if _, cause = c.w.Write(copyBinaryTrailer); cause == nil {
			cause = c.w.Flush()
		}
	}
	if cause != nil {
		c.pw.CloseWithError(cause)
	} else {
		c.pw.Close()
	}
	if err := <-c.done; err != nil && !errors.Is(err, cause) {
		return err
	}
	return cause
}

// lineItemTables returns the line item tables a run wrote.
func (s *Store) lineItemTables(ctx context.Context, db bun.IDB, orgID, runID string) ([]lineItemTableRow, error) {
	var rows []lineItemTableRow
	err := db.NewSelect().Model(&rows).Where("org_id = ? AND run_id = ?", orgID, runID).Scan(ctx)
	return rows, mapErr(err, "line item tables")
}

// ensureMonth creates the partition of a billing month if it is missing.
// It looks first, since creating a partition locks cost_line_items; two
// processes may race to create it, and the loser finds it made.
func (s *Store) ensureMonth(ctx context.Context, month time.Time) error {
	table := monthTable(month)
	exists := func() (bool, error) {
		var ok bool
		err := s.db.QueryRowContext(ctx, "SELECT to_regclass(?) IS NOT NULL", table).Scan(&ok)
		return ok, err
	}
	if ok, err := exists(); err != nil || ok {
		return err
	}
	_, err := s.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+table+" PARTITION OF cost_line_items FOR VALUES FROM ("+
		timeLiteral(month)+") TO ("+timeLiteral(month.AddDate(0, 1, 0))+") PARTITION BY LIST (run_id)")
	if err != nil {
		if ok, _ := exists(); ok {
			return nil
		}
		return fmt.Errorf("create %s: %w", table, err)
	}
	return nil
}

// attachRun makes a run's month tables partitions of cost_line_items,
// inside the publishing transaction.
func (s *Store) attachRun(ctx context.Context, tx bun.Tx, tables []lineItemTableRow) error {
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "ALTER TABLE "+monthTable(t.Month)+" ATTACH PARTITION "+t.TableName+
			" FOR VALUES IN ("+quote(t.RunID)+")"); err != nil {
			return fmt.Errorf("attach %s: %w", t.TableName, err)
		}
	}
	return nil
}

// dropRunTable drops one of a run's month tables and forgets it. Dropping
// an attached partition locks its month briefly; when reports hold it
// longer than lockWait, the table is left for housekeeping.
func (s *Store) dropRunTable(ctx context.Context, t lineItemTableRow) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '"+lockWait+"'"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+t.TableName); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model(&t).WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("drop %s: %w", t.TableName, err)
	}
	return nil
}

const lockWait = "5s"

// releaseSuperseded removes what a publish superseded: the old run's table
// of the period's month when none of its periods there is active any
// more, else only the period's rows.
func (s *Store) releaseSuperseded(ctx context.Context, orgID, runID string, period time.Time) error {
	month := billing.MonthStart(period)
	tables, err := s.lineItemTables(ctx, s.db, orgID, runID)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if !t.Month.Equal(month) {
			continue
		}
		var active int
		err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM billing_partitions WHERE org_id = ? AND run_id = ?"+
			" AND billing_period_start >= ? AND billing_period_start < ?", orgID, runID, month, month.AddDate(0, 1, 0)).Scan(&active)
		if err != nil {
			return fmt.Errorf("active periods of run %s: %w", runID, err)
		}
		if active == 0 {
			return s.dropRunTable(ctx, t)
		}
		if _, err := s.db.ExecContext(ctx, "DELETE FROM "+t.TableName+" WHERE billing_period_start = ?", period.UTC()); err != nil {
			return fmt.Errorf("delete superseded rows of %s: %w", t.TableName, err)
		}
	}
	return nil
}

// dropOrphanTables drops the tables of runs that are neither running nor
// the active version of any period of their month.
func (s *Store) dropOrphanTables(ctx context.Context) (int64, error) {
	var orphans []lineItemTableRow
	err := s.db.NewSelect().Model(&orphans).
		Where("NOT EXISTS (SELECT 1 FROM billing_partitions AS p WHERE p.org_id = lit.org_id AND p.run_id = lit.run_id"+
			" AND p.billing_period_start >= lit.month AND p.billing_period_start < lit.month + interval '1 month')").
		Where("NOT EXISTS (SELECT 1 FROM ingestion_runs AS ir WHERE ir.org_id = lit.org_id AND ir.id = lit.run_id AND ir.status = ?)",
			string(billing.RunRunning)).
		Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("find orphaned line item tables: %w", err)
	}
	var rows int64
	for _, t := range orphans {
		var n int64
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.TableName).Scan(&n); err == nil {
			rows += n
		}
		if err := s.dropRunTable(ctx, t); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

package sqlstore

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/truecost/truecost/domain/billing"
)

// timeLayout is how times are written to SQLite, the same layout bun uses,
// so that equality and range comparisons on the text agree.
const timeLayout = "2006-01-02 15:04:05.999999-07:00"

// rowSet is a batch of rows a bulk load writes: as SQLite arguments, and
// on Postgres as binary COPY tuples (binaryRowSet).
type rowSet interface {
	Len() int
	// AppendArgs appends row i's values as SQLite arguments.
	AppendArgs(args []any, i int) []any
}

// binaryRowSet is a rowSet Postgres can load.
type binaryRowSet interface {
	rowSet
	// AppendCopyBinary appends row i as a binary COPY tuple.
	AppendCopyBinary(buf []byte, i int) ([]byte, error)
}

// bulkLoadInTx writes every rowSet next yields into table, inside the
// transaction open on conn: COPY on Postgres, prepared INSERTs on SQLite
// (see sqlite_insert.go).
func (s *Store) bulkLoadInTx(ctx context.Context, conn *sql.Conn, table string, cols []string, next func() (rowSet, bool)) error {
	omittable, err := s.omittable(ctx, table, cols)
	if err != nil {
		return err
	}
	return s.loadOn(ctx, conn, true, table, cols, omittable, next)
}

// omittable reports, on SQLite, which of cols a row may leave out when
// null (see nullDefaultColumns); Postgres's COPY sends every column.
func (s *Store) omittable(ctx context.Context, table string, cols []string) ([]bool, error) {
	if s.dialect != SQLite {
		return nil, nil
	}
	return s.nullDefaultColumns(ctx, table, cols)
}

// loadOn writes on conn; inTx says conn is in a transaction its caller
// ends, so SQLite's sets do not commit one by one.
func (s *Store) loadOn(ctx context.Context, conn *sql.Conn, inTx bool, table string, cols []string, omittable []bool, next func() (rowSet, bool)) error {
	if s.dialect == Postgres {
		return copyOn(ctx, conn, table, cols, next)
	}
	return insertOn(ctx, conn, inTx, table, cols, omittable, next)
}

func copyOn(ctx context.Context, conn *sql.Conn, table string, cols []string, next func() (rowSet, bool)) error {
	return conn.Raw(func(driverConn any) error {
		pg := driverConn.(*stdlib.Conn).Conn().PgConn()
		pr, pw := io.Pipe()
		encoded := make(chan error, 1)
		go func() {
			err := encodeCopy(pw, next)
			pw.CloseWithError(err)
			encoded <- err
		}()
		copySQL := "COPY " + table + " (" + strings.Join(cols, ", ") + ") FROM STDIN (FORMAT binary)"
		_, copyErr := pg.CopyFrom(ctx, pr, copySQL)
		pr.CloseWithError(io.ErrClosedPipe) // unblock the encoder if COPY stopped early
		encErr := <-encoded
		if copyErr != nil {
			return fmt.Errorf("copy into %s: %w", table, copyErr)
		}
		return encErr
	})
}

// encodeCopy writes the sets next yields as one binary COPY stream.
func encodeCopy(w io.Writer, next func() (rowSet, bool)) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	_, _ = bw.Write(copyBinaryHeader) // buffered: a failure shows at the next write
	var buf []byte
	var err error
	for {
		set, ok := next()
		if !ok {
			_, _ = bw.Write(copyBinaryTrailer)
			return bw.Flush()
		}
		bin, ok := set.(binaryRowSet)
		if !ok {
			return fmt.Errorf("rows of %T cannot be copied into Postgres", set)
		}
		for i := 0; i < bin.Len(); i++ {
			if buf, err = bin.AppendCopyBinary(buf[:0], i); err != nil {
				return err
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// lineItemColumns are the cost_line_items columns in load order.
var lineItemColumns = func() []string {
	cols := []string{"org_id", "connector_id", "run_id"}
	for _, f := range billing.Fields {
		cols = append(cols, f.Column)
	}
	return append(cols, "extras")
}()

type lineItemRows struct {
	run    *billing.IngestionRun
	items  []billing.LineItem
	times  *timeTexts     // SQLite's text of times, shared by a load's sets
	extras *extrasEncoder // shared by a load's sets
}

func (r lineItemRows) Len() int { return len(r.items) }

// SharedArgs counts the run's keys, which lead every row.
func (r lineItemRows) SharedArgs() int { return 3 }

func (r lineItemRows) AppendArgs(args []any, i int) []any {
	l := &r.items[i]
	args = append(args, r.run.OrgID, r.run.ConnectorID, r.run.ID)
	for _, f := range billing.Fields {
		switch {
		case f.Num != nil:
			args = append(args, nullString(string(*f.Num(l))))
		case f.Time != nil:
			args = append(args, r.times.text(*f.Time(l)))
		default:
			args = append(args, nullString(*f.Str(l)))
		}
	}
	return append(args, nullString(r.extras.extrasText(l)))
}

// timeTexts remembers the SQLite text of recent times: a load's rows share
// a few billing periods and, mostly, a month's hours.
type timeTexts [1024]struct {
	sec  int64
	nsec int
	text any // string
}

// text returns t as SQLite stores it, or nil for the zero time.
func (c *timeTexts) text(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	sec, nsec := t.Unix(), t.Nanosecond()
	e := &c[(uint64(sec)*0x9E3779B97F4A7C15)>>54]
	if e.text == nil || e.sec != sec || e.nsec != nsec {
		e.sec, e.nsec, e.text = sec, nsec, t.UTC().Format(timeLayout)
	}
	return e.text
}

// WriteLineItems loads a run's line items as they arrive, on a connection
// of its own: one COPY a month on Postgres (see copyLineItems), prepared
// INSERTs in one transaction per batch on SQLite (see sqlite_insert.go).
func (s *Store) WriteLineItems(ctx context.Context, run billing.IngestionRun, batches <-chan []billing.LineItem) error {
	if s.dialect == Postgres {
		return s.copyLineItems(ctx, run, batches)
	}
	times, extras := new(timeTexts), new(extrasEncoder)
	omittable, err := s.omittable(ctx, "cost_line_items", lineItemColumns)
	if err != nil {
		return err
	}
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	defer conn.Close()
	stop, err := s.checkpointAside(ctx, conn)
	if err != nil {
		return err
	}
	err = s.loadOn(ctx, conn, false, "cost_line_items", lineItemColumns, omittable, func() (rowSet, bool) {
		items, ok := <-batches
		return lineItemRows{run: &run, items: items, times: times, extras: extras}, ok
	})
	return errors.Join(err, stop())
}

// sqliteAutoCheckpoint is SQLite's default wal_autocheckpoint, in pages.
const sqliteAutoCheckpoint = 1000

// checkpointInterval is how often checkpointAside copies the WAL's new
// pages into the database.
const checkpointInterval = 200 * time.Millisecond

// checkpointAside moves the WAL checkpoints of a long load on conn off the
// load's connection: by default the commit that fills the WAL copies it
// into the database file, in the loading goroutine. Passive checkpoints on
// another connection do that meanwhile, on another core; a passive
// checkpoint waits for no one and leaves the writer be. stop restores the
// connection's automatic checkpoints.
func (s *Store) checkpointAside(ctx context.Context, conn *sql.Conn) (stop func() error, err error) {
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		return nil, fmt.Errorf("defer checkpoints: %w", err)
	}
	// Waiting for a connection stops with the load: a small pool may have
	// none to spare while the load holds one.
	waiting, done := context.WithCancel(ctx)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(checkpointInterval)
		defer t.Stop()
		for {
			select {
			case <-waiting.Done():
				return
			case <-t.C:
				c, err := s.db.DB.Conn(waiting)
				if err != nil {
					continue
				}
				// A failed checkpoint leaves the pages in the WAL for the
				// next one, or for the connection's automatic checkpoint.
				_, _ = c.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
				c.Close()
			}
		}
	}()
	return func() error {
		done()
		<-finished
		// The connection goes back to the pool with the default restored,
		// even when ctx is done.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", sqliteAutoCheckpoint)); err != nil {
			return fmt.Errorf("restore checkpoints: %w", err)
		}
		return nil
	}, nil
}

package sqlstore

import (
	"bufio"
	"context"
	"database/sql"
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

// rowSet is a batch of rows a bulk load writes, encodable both ways.
type rowSet interface {
	Len() int
	// AppendCopyText appends row i in Postgres's COPY text format, without
	// the line end.
	AppendCopyText(buf []byte, i int) []byte
	// AppendArgs appends row i's values as SQLite arguments.
	AppendArgs(args []any, i int) []any
}

// bulkLoad writes every rowSet next yields into table, on a connection of
// its own: one COPY on Postgres, prepared single-row INSERTs in one
// transaction per set on SQLite (see sqlite_insert.go).
func (s *Store) bulkLoad(ctx context.Context, table string, cols []string, next func() (rowSet, bool)) error {
	var omittable []bool
	if s.dialect == SQLite {
		// Read before taking the load's connection, which a pool of one
		// would otherwise be waiting for.
		var err error
		if omittable, err = s.nullDefaultColumns(ctx, table, cols); err != nil {
			return err
		}
	}
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	defer conn.Close()
	return s.loadOn(ctx, conn, false, table, cols, omittable, next)
}

// bulkLoadInTx writes like bulkLoad, inside the transaction open on conn.
func (s *Store) bulkLoadInTx(ctx context.Context, conn *sql.Conn, table string, cols []string, next func() (rowSet, bool)) error {
	var omittable []bool
	if s.dialect == SQLite {
		var err error
		if omittable, err = s.nullDefaultColumns(ctx, table, cols); err != nil {
			return err
		}
	}
	return s.loadOn(ctx, conn, true, table, cols, omittable, next)
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
	// Row sets that can write COPY's binary format use it.
	first, ok := next()
	_, binary := first.(binaryRowSet)
	pending := ok
	sets := func() (rowSet, bool) {
		if pending {
			pending = false
			return first, true
		}
		return next()
	}
	return conn.Raw(func(driverConn any) error {
		pg := driverConn.(*stdlib.Conn).Conn().PgConn()
		pr, pw := io.Pipe()
		encoded := make(chan error, 1)
		go func() {
			err := encodeCopy(pw, sets, binary)
			pw.CloseWithError(err)
			encoded <- err
		}()
		copySQL := "COPY " + table + " (" + strings.Join(cols, ", ") + ") FROM STDIN"
		if binary {
			copySQL += " (FORMAT binary)"
		}
		_, copyErr := pg.CopyFrom(ctx, pr, copySQL)
		pr.CloseWithError(io.ErrClosedPipe) // unblock the encoder if COPY stopped early
		encErr := <-encoded
		if copyErr != nil {
			return fmt.Errorf("copy into %s: %w", table, copyErr)
		}
		return encErr
	})
}

// binaryRowSet is a rowSet that can also write COPY's binary format.
type binaryRowSet interface {
	rowSet
	// AppendCopyBinary appends row i as a binary COPY tuple.
	AppendCopyBinary(buf []byte, i int) ([]byte, error)
}

func encodeCopy(w io.Writer, next func() (rowSet, bool), binary bool) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	if binary {
		_, _ = bw.Write(copyBinaryHeader) // buffered: a failure shows at the next write
	}
	var buf []byte
	var err error
	for {
		set, ok := next()
		if !ok {
			if binary {
				_, _ = bw.Write(copyBinaryTrailer)
			}
			return bw.Flush()
		}
		for i := 0; i < set.Len(); i++ {
			if binary {
				if buf, err = set.(binaryRowSet).AppendCopyBinary(buf[:0], i); err != nil {
					return err
				}
			} else {
				buf = append(set.AppendCopyText(buf[:0], i), '\n')
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
}

func appendCopyText(buf []byte, s string) []byte {
	if s == "" {
		return append(buf, `\N`...)
	}
	if !strings.ContainsAny(s, "\\\n\r\t") {
		return append(buf, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

// appendCopyNotNull appends s even when empty (NOT NULL text columns).
func appendCopyNotNull(buf []byte, s string) []byte {
	if s == "" {
		return buf
	}
	return appendCopyText(buf, s)
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

func (r lineItemRows) AppendCopyText(buf []byte, i int) []byte {
	l := &r.items[i]
	buf = appendCopyText(buf, r.run.OrgID)
	buf = append(buf, '\t')
	buf = appendCopyText(buf, r.run.ConnectorID)
	buf = append(buf, '\t')
	buf = appendCopyText(buf, r.run.ID)
	for _, f := range billing.Fields {
		buf = append(buf, '\t')
		switch {
		case f.Num != nil:
			buf = appendCopyText(buf, string(*f.Num(l)))
		case f.Time != nil:
			if t := f.Time(l); !t.IsZero() {
				buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
			} else {
				buf = append(buf, `\N`...)
			}
		default:
			buf = appendCopyText(buf, *f.Str(l))
		}
	}
	buf = append(buf, '\t')
	return appendCopyText(buf, string(r.extras.append(nil, l.Extras)))
}

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
	return append(args, nullString(string(r.extras.append(nil, l.Extras))))
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

// WriteLineItems loads a run's line items as they arrive.
func (s *Store) WriteLineItems(ctx context.Context, run billing.IngestionRun, batches <-chan []billing.LineItem) error {
	if s.dialect == Postgres {
		return s.copyLineItems(ctx, run, batches)
	}
	times, extras := new(timeTexts), new(extrasEncoder)
	return s.bulkLoad(ctx, "cost_line_items", lineItemColumns, func() (rowSet, bool) {
		items, ok := <-batches
		return lineItemRows{run: &run, items: items, times: times, extras: extras}, ok
	})
}

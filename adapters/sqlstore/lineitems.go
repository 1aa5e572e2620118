package sqlstore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain/billing"
)

// timeLayout is how times are written to SQLite, the same layout bun uses,
// so that equality and range comparisons on the text agree.
const timeLayout = "2006-01-02 15:04:05.999999-07:00"

// lineItemColumns are the cost_line_items columns in load order.
var lineItemColumns = func() []string {
	cols := []string{"org_id", "connector_id", "run_id"}
	for _, f := range billing.Fields {
		cols = append(cols, f.Column)
	}
	return append(cols, "extras")
}()

// WriteLineItems loads a run's line items: COPY on Postgres, batched
// multi-row INSERTs on SQLite.
func (s *Store) WriteLineItems(ctx context.Context, run billing.IngestionRun, batches <-chan []billing.LineItem) error {
	if s.dialect == Postgres {
		return s.copyLineItems(ctx, run, batches)
	}
	return s.insertLineItems(ctx, run, batches)
}

func (s *Store) copyLineItems(ctx context.Context, run billing.IngestionRun, batches <-chan []billing.LineItem) error {
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pg := driverConn.(*stdlib.Conn).Conn().PgConn()
		pr, pw := io.Pipe()
		encoded := make(chan error, 1)
		go func() {
			err := encodeCopyText(pw, run, batches)
			pw.CloseWithError(err)
			encoded <- err
		}()
		copySQL := "COPY cost_line_items (" + strings.Join(lineItemColumns, ", ") + ") FROM STDIN"
		_, copyErr := pg.CopyFrom(ctx, pr, copySQL)
		pr.CloseWithError(io.ErrClosedPipe) // unblock the encoder if COPY stopped early
		encErr := <-encoded
		if copyErr != nil {
			return fmt.Errorf("copy line items: %w", copyErr)
		}
		return encErr
	})
}

// encodeCopyText writes batches in Postgres's COPY text format.
func encodeCopyText(w io.Writer, run billing.IngestionRun, batches <-chan []billing.LineItem) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf []byte
	for batch := range batches {
		for i := range batch {
			l := &batch[i]
			buf = buf[:0]
			buf = appendCopyText(buf, run.OrgID)
			buf = append(buf, '\t')
			buf = appendCopyText(buf, run.ConnectorID)
			buf = append(buf, '\t')
			buf = appendCopyText(buf, run.ID)
			for _, f := range billing.Fields {
				buf = append(buf, '\t')
				buf = appendField(buf, l, f, appendCopyText, time.RFC3339Nano)
			}
			buf = append(buf, '\t')
			if len(l.Extras) == 0 {
				buf = append(buf, `\N`...)
			} else {
				extras, err := json.Marshal(l.Extras)
				if err != nil {
					return fmt.Errorf("encode extras: %w", err)
				}
				buf = appendCopyText(buf, string(extras))
			}
			buf = append(buf, '\n')
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// appendField appends one column's value; text values go through esc, and
// nulls are written as \N.
func appendField(buf []byte, l *billing.LineItem, f billing.Field, esc func([]byte, string) []byte, layout string) []byte {
	switch {
	case f.ReqDec != nil:
		return append(buf, f.ReqDec(l).String()...)
	case f.Dec != nil:
		d := f.Dec(l)
		if !d.Valid {
			return append(buf, `\N`...)
		}
		return append(buf, d.Decimal.String()...)
	case f.Time != nil:
		t := f.Time(l)
		if t.IsZero() {
			return append(buf, `\N`...)
		}
		return t.UTC().AppendFormat(buf, layout)
	default:
		v := *f.Str(l)
		if v == "" {
			return append(buf, `\N`...)
		}
		return esc(buf, v)
	}
}

func appendCopyText(buf []byte, s string) []byte {
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

// sqliteRowsPerInsert is small on purpose: the SQLite driver's bind cost
// grows faster than linearly with a statement's parameter count.
const sqliteRowsPerInsert = 4

func (s *Store) insertLineItems(ctx context.Context, run billing.IngestionRun, batches <-chan []billing.LineItem) error {
	ncol := len(lineItemColumns)
	full := insertSQL(sqliteRowsPerInsert, ncol)
	args := make([]any, 0, sqliteRowsPerInsert*ncol)
	for batch := range batches {
		// One transaction per batch keeps the write lock short; the rows stay
		// invisible until PublishRun points the partition at this run.
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			stmt, err := tx.PrepareContext(ctx, full)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for start := 0; start < len(batch); start += sqliteRowsPerInsert {
				end := min(start+sqliteRowsPerInsert, len(batch))
				args = args[:0]
				for i := start; i < end; i++ {
					args = appendSQLiteArgs(args, run, &batch[i])
				}
				if end-start == sqliteRowsPerInsert {
					_, err = stmt.ExecContext(ctx, args...)
				} else {
					_, err = tx.ExecContext(ctx, insertSQL(end-start, ncol), args...)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("insert line items: %w", err)
		}
	}
	return nil
}

func insertSQL(rows, ncol int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO cost_line_items (")
	b.WriteString(strings.Join(lineItemColumns, ", "))
	b.WriteString(") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", ncol), ",") + ")"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

func appendSQLiteArgs(args []any, run billing.IngestionRun, l *billing.LineItem) []any {
	args = append(args, run.OrgID, run.ConnectorID, run.ID)
	for _, f := range billing.Fields {
		switch {
		case f.ReqDec != nil:
			args = append(args, f.ReqDec(l).String())
		case f.Dec != nil:
			if d := f.Dec(l); d.Valid {
				args = append(args, d.Decimal.String())
			} else {
				args = append(args, nil)
			}
		case f.Time != nil:
			if t := f.Time(l); !t.IsZero() {
				args = append(args, t.UTC().Format(timeLayout))
			} else {
				args = append(args, nil)
			}
		default:
			if v := *f.Str(l); v != "" {
				args = append(args, v)
			} else {
				args = append(args, nil)
			}
		}
	}
	if len(l.Extras) == 0 {
		return append(args, nil)
	}
	extras, _ := json.Marshal(l.Extras) // a map of strings always encodes
	return append(args, string(extras))
}

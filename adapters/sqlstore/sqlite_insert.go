package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// sqliteRowsPerInsert is small on purpose: the SQLite driver's bind cost
// grows faster than linearly with a statement's parameter count.
const sqliteRowsPerInsert = 4

func (s *Store) insertIn(ctx context.Context, table string, cols []string, next func() (rowSet, bool)) error {
	full := insertSQL(table, cols, sqliteRowsPerInsert)
	var args []any
	for {
		set, ok := next()
		if !ok {
			return nil
		}
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			stmt, err := tx.PrepareContext(ctx, full)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for start := 0; start < set.Len(); start += sqliteRowsPerInsert {
				end := min(start+sqliteRowsPerInsert, set.Len())
				args = args[:0]
				for i := start; i < end; i++ {
					args = set.AppendArgs(args, i)
				}
				if end-start == sqliteRowsPerInsert {
					_, err = stmt.ExecContext(ctx, args...)
				} else {
					_, err = tx.ExecContext(ctx, insertSQL(table, cols, end-start), args...)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
}

func insertSQL(table string, cols []string, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

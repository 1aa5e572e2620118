package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
)

// SQLite has no COPY. A bulk load runs single-row INSERTs of prepared
// statements on the driver's connection, below database/sql:
//
//   - one row per statement: the driver's bind cost grows with the square
//     of a statement's parameter count, and a statement of one row needs
//     no statement journal;
//   - the columns a row leaves null (most of FOCUS's, in most exports) are
//     left out of its statement, so are neither bound nor copied; there is
//     one prepared statement per pattern of null columns, up to
//     sqliteMaxStatements of them;
//   - the values every row of a set shares (the run's keys) are SQL literals
//     of the statement, not bound per row;
//   - statements run without a cancellable context, which would cost the
//     driver a goroutine per statement: the load checks ctx between sets.
//
// Each set is one transaction, begun once the set is at hand, so that the
// load never holds the write lock while it waits for the next set — unless
// the load runs inside its caller's transaction.
const sqliteMaxStatements = 64

// sharedArgs is implemented by row sets whose rows all start with the same
// values.
type sharedArgs interface {
	// SharedArgs returns how many leading values every row has in common.
	SharedArgs() int
}

// sqliteDriverConn is what a load needs of the driver's connection.
type sqliteDriverConn interface {
	driver.ConnPrepareContext
	driver.ExecerContext
}

func insertOn(ctx context.Context, conn *sql.Conn, inTx bool, table string, cols []string, omittable []bool, next func() (rowSet, bool)) error {
	err := conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(sqliteDriverConn)
		if !ok {
			return fmt.Errorf("unexpected SQLite driver connection %T", driverConn)
		}
		l := &sqliteLoader{conn: c, table: table, cols: cols, omittable: omittable, outerTx: inTx,
			patterns: make(map[string]*pattern)}
		err := l.load(ctx, next)
		if cerr := l.close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

// nullDefaultColumns reports which of cols default to null, so that a row
// may leave them out instead of binding a null.
func (s *Store) nullDefaultColumns(ctx context.Context, table string, cols []string) ([]bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) WHERE dflt_value IS NULL", table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	nullDefault := make(map[string]bool)
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", table, err)
		}
		nullDefault[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	omittable := make([]bool, len(cols))
	for i, c := range cols {
		omittable[i] = nullDefault[c]
	}
	return omittable, nil
}

type sqliteLoader struct {
	conn      sqliteDriverConn
	table     string
	cols      []string
	omittable []bool

	shared   []any               // the literal leading values of the statements
	patterns map[string]*pattern // by the bitmap of the columns they set
	all      *pattern            // every column, once patterns is full

	inTx    bool // a transaction of the loader's own is open
	outerTx bool // the caller's transaction is open: the loader begins none
}

// pattern holds the statements of one pattern of set columns.
type pattern struct {
	mask []byte
	one  driver.StmtExecContext // one row
	many driver.StmtExecContext // sqliteRowsPerStatement rows, prepared once needed
}

// sqliteRowsPerStatement is how many rows of one pattern an INSERT
// writes at once. Rows of one statement share its cursors, so that SQLite
// appends each after the last without searching the table and its index
// from their roots again, and the statement's start and end are paid
// once. The driver binds a statement's values in time growing with the
// square of their count, which bounds the rows per statement.
const sqliteRowsPerStatement = 4

func (l *sqliteLoader) load(ctx context.Context, next func() (rowSet, bool)) error {
	// The statements run without ctx's cancellation; see above.
	run := context.WithoutCancel(ctx)
	var (
		vals    []driver.NamedValue // the values of the pending rows
		mask    []byte
		pending int      // rows of pat not written yet
		pat     *pattern // the pattern of the pending rows
	)
	// flush writes the pending rows: all at once when there are enough,
	// else one by one.
	flush := func() error {
		if pending == 0 {
			return nil
		}
		defer func() { pending, vals = 0, vals[:0] }()
		if pending == sqliteRowsPerStatement {
			if pat.many == nil {
				stmt, err := l.prepare(run, pat.mask, sqliteRowsPerStatement)
				if err != nil {
					return err
				}
				pat.many = stmt
			}
			_, err := pat.many.ExecContext(run, vals)
			return err
		}
		n := len(vals) / pending
		for r := 0; r < pending; r++ {
			row := vals[r*n : (r+1)*n]
			for j := range row {
				row[j].Ordinal = j + 1
			}
			if _, err := pat.one.ExecContext(run, row); err != nil {
				return err
			}
		}
		return nil
	}
	sets, stop := readSets(next)
	defer stop()
	for {
		set, ok := <-sets
		// A cancelled load says so, even when its input ended meanwhile.
		if err := ctx.Err(); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := l.share(set.args[:set.nShared]); err != nil {
			return err
		}
		if !l.outerTx {
			if _, err := l.conn.ExecContext(run, "BEGIN IMMEDIATE", nil); err != nil {
				return err
			}
			l.inTx = true
		}
		for i := 0; i < len(set.args); i += set.width {
			args := set.args[i : i+set.width]
			mask = mask[:0]
			for range (len(args) + 7) / 8 {
				mask = append(mask, 0)
			}
			for j := set.nShared; j < len(args); j++ {
				if args[j] != nil || !l.omittable[j] {
					mask[j/8] |= 1 << (j % 8)
				}
			}
			p, ok := l.patterns[string(mask)]
			if !ok {
				var err error
				if p, err = l.pattern(run, mask, set.nShared); err != nil {
					return l.abort(err)
				}
			}
			if p != pat {
				if err := flush(); err != nil {
					return l.abort(err)
				}
				pat = p
			}
			for j := set.nShared; j < len(args); j++ {
				if p.mask[j/8]&(1<<(j%8)) != 0 {
					vals = append(vals, driver.NamedValue{Ordinal: len(vals) + 1, Value: args[j]})
				}
			}
			if pending++; pending == sqliteRowsPerStatement {
				if err := flush(); err != nil {
					return l.abort(err)
				}
			}
		}
		if err := flush(); err != nil {
			return l.abort(err)
		}
		set.release()
		if l.inTx {
			l.inTx = false
			if _, err := l.conn.ExecContext(run, "COMMIT", nil); err != nil {
				l.inTx = true
				return l.abort(err)
			}
		}
	}
}

// argSet is a set's rows as SQLite arguments, row after row.
type argSet struct {
	args    []any
	width   int // values a row
	nShared int // leading values every row shares
	free    chan<- []any
}

// release hands the set's buffer back for another set.
func (s argSet) release() {
	clear(s.args)
	select {
	case s.free <- s.args[:0]:
	default:
	}
}

// readSets turns the sets next yields into arguments on a goroutine of
// its own, so that a load's Go side runs beside SQLite's. stop ends the
// goroutine, which may first wait for next's set at hand.
func readSets(next func() (rowSet, bool)) (sets <-chan argSet, stop func()) {
	out, done, finished := make(chan argSet), make(chan struct{}), make(chan struct{})
	free := make(chan []any, 2)
	go func() {
		defer close(finished)
		defer close(out)
		for {
			set, ok := next()
			if !ok {
				return
			}
			if set.Len() == 0 {
				continue
			}
			var buf []any
			select {
			case buf = <-free:
			default:
			}
			a := argSet{free: free}
			if sa, ok := set.(sharedArgs); ok {
				a.nShared = sa.SharedArgs()
			}
			for i := 0; i < set.Len(); i++ {
				buf = set.AppendArgs(buf, i)
			}
			a.args, a.width = buf, len(buf)/set.Len()
			select {
			case out <- a:
			case <-done:
				return
			}
		}
	}()
	return out, func() {
		close(done)
		<-finished
	}
}

// share makes vals the literal leading values of the statements,
// dropping those prepared for others.
func (l *sqliteLoader) share(vals []any) error {
	if len(vals) == len(l.shared) {
		same := true
		for i := range vals {
			same = same && vals[i] == l.shared[i]
		}
		if same {
			return nil
		}
	}
	for _, v := range vals {
		if s, ok := v.(string); !ok || strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("shared value %v is not text", v)
		}
	}
	if err := l.closeStatements(); err != nil {
		return err
	}
	l.shared = append(l.shared[:0], vals...)
	return nil
}

// pattern returns the pattern setting the columns of mask, with its
// statement of one row prepared, or the one setting every column when
// there are too many patterns already.
func (l *sqliteLoader) pattern(ctx context.Context, mask []byte, nShared int) (*pattern, error) {
	if len(l.patterns) >= sqliteMaxStatements {
		if l.all == nil {
			all := make([]byte, len(mask))
			for j := nShared; j < len(l.cols); j++ {
				all[j/8] |= 1 << (j % 8)
			}
			stmt, err := l.prepare(ctx, all, 1)
			if err != nil {
				return nil, err
			}
			l.all = &pattern{mask: all, one: stmt}
		}
		return l.all, nil
	}
	p := &pattern{mask: append([]byte(nil), mask...)}
	stmt, err := l.prepare(ctx, p.mask, 1)
	if err != nil {
		return nil, err
	}
	p.one = stmt
	l.patterns[string(p.mask)] = p
	return p, nil
}

// prepare prepares the INSERT of rows rows setting the columns of mask
// besides the shared ones.
func (l *sqliteLoader) prepare(ctx context.Context, mask []byte, rows int) (driver.StmtExecContext, error) {
	var names, values []string
	for j, col := range l.cols {
		switch {
		case j < len(l.shared):
			names = append(names, col)
			values = append(values, "'"+strings.ReplaceAll(l.shared[j].(string), "'", "''")+"'")
		case mask[j/8]&(1<<(j%8)) != 0:
			names = append(names, col)
			values = append(values, "?")
		}
	}
	row := "(" + strings.Join(values, ", ") + ")"
	tuples := make([]string, rows)
	for i := range tuples {
		tuples[i] = row
	}
	query := "INSERT OR FAIL INTO " + l.table + " (" + strings.Join(names, ", ") + ") VALUES " + strings.Join(tuples, ", ")
	prepared, err := l.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	stmt, ok := prepared.(driver.StmtExecContext)
	if !ok {
		prepared.Close()
		return nil, fmt.Errorf("unexpected SQLite statement %T", prepared)
	}
	return stmt, nil
}

// abort rolls back the open transaction. When that fails the connection's
// state is unknown, so database/sql is told to discard it.
func (l *sqliteLoader) abort(err error) error {
	if !l.inTx {
		return err
	}
	l.inTx = false
	if _, rerr := l.conn.ExecContext(context.Background(), "ROLLBACK", nil); rerr != nil {
		return errors.Join(err, fmt.Errorf("roll back: %w", rerr), driver.ErrBadConn)
	}
	return err
}

func (l *sqliteLoader) closeStatements() error {
	var errs []error
	closePattern := func(p *pattern) {
		for _, stmt := range []driver.StmtExecContext{p.one, p.many} {
			if stmt != nil {
				errs = append(errs, stmt.(driver.Stmt).Close())
			}
		}
	}
	for key, p := range l.patterns {
		closePattern(p)
		delete(l.patterns, key)
	}
	if l.all != nil {
		closePattern(l.all)
		l.all = nil
	}
	return errors.Join(errs...)
}

func (l *sqliteLoader) close() error { return l.closeStatements() }

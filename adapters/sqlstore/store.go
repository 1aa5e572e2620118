// Package sqlstore is Truecost's storage adapter: bun repositories over
// Postgres or SQLite (the embedded default) implementing the domain's store
// ports, with bulk loads (COPY on Postgres) for line items, the atomic swap
// of billing partitions, and the job slot locks.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/migrations"
)

// Dialect names the database behind a Store.
type Dialect string

// Supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store implements the domain's storage ports on one database.
type Store struct {
	db      *bun.DB
	dialect Dialect
	path    string          // SQLite: the database file
	pgcfg   *pgx.ConnConfig // Postgres: for the connections holding locks
	runs    *runLocks       // the runs this process is loading
}

// Option adjusts how Open sets up the store.
type Option func(*options)

type options struct {
	maxConns int
}

// WithMaxConns bounds the open connections of the store's pool; callers
// beyond it wait for one. The defaults are 16 on Postgres and 8 on SQLite.
// Locks held for ingestions and migrations use connections of their own.
func WithMaxConns(n int) Option {
	return func(o *options) { o.maxConns = n }
}

// connMaxIdleTime is how long an idle connection stays in the pool: the
// pool keeps what a burst opened for a while, then shrinks.
const connMaxIdleTime = 5 * time.Minute

// setPool applies the pool limits to db.
func setPool(db *sql.DB, maxConns int) {
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(connMaxIdleTime)
}

// Open connects to databaseURL: "postgres://…" (or "postgresql://…"), or
// "sqlite://PATH" where PATH is a file path taken verbatim, relative or
// absolute. The SQLite file's folder is created when missing, and a new
// file gets sqlitePageSize pages.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	maxConns := func(def int) int {
		if o.maxConns > 0 {
			return o.maxConns
		}
		return def
	}
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		cfg, err := pgconnConfig(databaseURL)
		if err != nil {
			return nil, err
		}
		sqldb := stdlib.OpenDB(*cfg)
		setPool(sqldb, maxConns(16))
		s := &Store{db: bun.NewDB(sqldb, pgdialect.New()), dialect: Postgres, pgcfg: cfg, runs: newRunLocks()}
		if err := s.db.PingContext(ctx); err != nil {
			s.db.Close()
			return nil, domain.WrapError(domain.Unavailable, err, "cannot reach Postgres at %s", redact(databaseURL))
		}
		return s, nil
	case strings.HasPrefix(databaseURL, "sqlite://"):
		path := strings.TrimPrefix(databaseURL, "sqlite://")
		if path == "" {
			return nil, domain.Errorf(domain.Invalid, "sqlite:// needs a file path, e.g. sqlite://var/truecost.db")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		if err := restrictSQLiteFiles(path); err != nil {
			return nil, err
		}
		if err := registerDecsum(); err != nil {
			return nil, fmt.Errorf("register decsum: %w", err)
		}
		if err := createSQLite(ctx, path); err != nil {
			return nil, domain.WrapError(domain.Unavailable, err, "cannot create SQLite database %s", path)
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		sqldb, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %q: %w", path, err)
		}
		setPool(sqldb, maxConns(8))
		s := &Store{db: bun.NewDB(sqldb, sqlitedialect.New()), dialect: SQLite, path: path, runs: newRunLocks()}
		if err := s.db.PingContext(ctx); err != nil {
			s.db.Close()
			return nil, domain.WrapError(domain.Unavailable, err, "cannot open SQLite database %s", path)
		}
		return s, nil
	}
	return nil, domain.Errorf(domain.Invalid, "database URL must start with postgres:// or sqlite:// (got %q)", redact(databaseURL))
}

// restrictSQLiteFiles creates the database file readable by its owner only,
// or takes the group and others' rights away from an existing one and its
// -wal and -shm files: it holds password hashes and sealed credentials.
// SQLite gives the -wal and -shm files it creates the database file's mode.
func restrictSQLiteFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return domain.WrapError(domain.Unavailable, err, "cannot open SQLite database %s", path)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(name, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restrict %s to its owner: %w", name, err)
		}
	}
	return nil
}

// sqlitePageSize is the page size of new SQLite databases. Twice SQLite's
// default halves the pages a bulk load writes, each of which costs system
// calls twice (into the WAL, then at the checkpoint), and the B-tree splits.
// Larger pages measured no faster: the pure-Go SQLite maps and unmaps
// memory for each split of them. A database keeps the page size it was
// created with.
const sqlitePageSize = 8192

// createSQLite sets the page size and WAL mode of a database file that
// does not exist yet or is empty: both must come before its first write.
func createSQLite(ctx context.Context, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", sqlitePageSize)); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "PRAGMA journal_mode = WAL")
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return domain.WrapError(domain.Unavailable, err, "the database does not answer")
	}
	return nil
}

// Dialect returns the database kind behind the store.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close fails the ingestions this process is still running (see
// LockRun), removing what they wrote, and closes the database connections.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), abandonTimeout)
	defer cancel()
	_, err := s.abandonRuns(ctx)
	return errors.Join(err, s.db.Close())
}

// abandonTimeout bounds how long Close spends failing unfinished runs.
const abandonTimeout = 30 * time.Second

// DB returns the database handle, for benchmarks and tools that compare
// Truecost's queries with hand-written SQL on the same data.
func (s *Store) DB() *bun.DB { return s.db }

// WithQueryHook returns a Store on the same connections that also runs h
// around every statement it sends (bun's query hooks), so that tests can
// count or inspect the SQL a request issues. s is unchanged; close s, not
// the returned Store. Bulk loads (WriteLineItems, the rollups PublishRun writes: COPY on
// Postgres, the driver's statements on SQLite) bypass hooks.
func (s *Store) WithQueryHook(h bun.QueryHook) *Store {
	c := *s
	c.db = s.db.WithQueryHook(h)
	return &c
}

// Migrate applies every pending migration and returns how many it applied.
// Processes migrating the same database at once take turns: each waits for
// a process lock (see LockRun), so replicas may start together.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := migrations.For(string(s.dialect))
	if err != nil {
		return 0, err
	}
	lock, err := s.waitLock(ctx, migrationsLockName)
	if err != nil {
		return 0, fmt.Errorf("lock migrations: %w", err)
	}
	defer lock.release()
	// The lock above replaces bun's lock table, whose row a killed process
	// would leave behind and whose insert fails rather than waits.
	m := migrate.NewMigrator(s.db, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return 0, fmt.Errorf("init migrations: %w", err)
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return len(group.Migrations), nil
}

// PendingMigrations returns how many migrations the database lacks.
func (s *Store) PendingMigrations(ctx context.Context) (int, error) {
	ms, err := migrations.For(string(s.dialect))
	if err != nil {
		return 0, err
	}
	m := migrate.NewMigrator(s.db, ms)
	all, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return 0, fmt.Errorf("read applied migrations: %w", err)
	}
	return len(all.Unapplied()), nil
}

func pgconnConfig(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "bad Postgres URL %s", redact(url))
	}
	// A report groups up to some hundred thousand rollup rows: Postgres's
	// default of 4 MB per sort or hash spills them to disk. A work_mem the
	// URL sets (…?work_mem=64MB) wins.
	if _, ok := cfg.RuntimeParams["work_mem"]; !ok {
		cfg.RuntimeParams["work_mem"] = reportWorkMem
	}
	return cfg, nil
}

// reportWorkMem is the memory each sort or hash of a query may take.
const reportWorkMem = "32MB"

// redact hides a password in a database URL.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 {
		return url
	}
	userinfo := url[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return url[:scheme+3] + userinfo[:i] + ":***" + url[at:]
	}
	return url
}

// mapErr turns driver errors into domain errors: no rows → NotFound,
// unique violations → Conflict.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Errorf(domain.NotFound, "%s not found", what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return domain.WrapError(domain.Conflict, err, "%s already exists", what)
	}
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return domain.WrapError(domain.Conflict, err, "%s already exists", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

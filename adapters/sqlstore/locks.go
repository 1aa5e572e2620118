package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Process locks tie a database state to a live process: they are released
// when the process calls release or when it dies, whatever kills it. On
// Postgres they are session-level advisory locks on a connection of their
// own (outside the pool, so pool limits never starve them); the server
// drops them with the session. On SQLite they are flock(2) locks on files
// in a folder beside the database file (PATH.locks); the kernel drops them
// with the process.

// lockNamespace keeps Truecost's advisory lock keys apart from other users
// of the same database.
const lockNamespace = "truecost:"

// advisoryKey maps a lock name to a Postgres advisory lock key.
func advisoryKey(name string) int64 {
	h := sha256.Sum256([]byte(lockNamespace + name))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// lockFileName maps a lock name to a file name in the lock folder: its
// kind, then a digest of the rest.
func lockFileName(name string) string {
	kind, _, _ := strings.Cut(name, ":")
	h := sha256.Sum256([]byte(lockNamespace + name))
	return kind + "-" + hex.EncodeToString(h[:16]) + ".lock"
}

func sourceLockName(orgID, connectorID string) string { return "source:" + orgID + "/" + connectorID }
func runLockName(orgID, runID string) string          { return "run:" + orgID + "/" + runID }

// runLockFiles is the pattern of the per-run lock files.
const runLockFiles = "run-*.lock"

const migrationsLockName = "migrations:"

// lockDir is the folder of an SQLite database's lock files.
func (s *Store) lockDir() string { return s.path + ".locks" }

// held is a set of process locks taken together and released together.
type held struct {
	conn  *pgx.Conn  // Postgres: the session holding the advisory locks
	files []*os.File // SQLite: the locked files, closed to unlock
	// remove are lock files deleted on release, while still locked, so
	// that nobody else can hold them: per-run files, never reused.
	remove []string
}

func (h *held) release() {
	for _, name := range h.remove {
		_ = os.Remove(name)
	}
	for _, f := range h.files {
		_ = f.Close()
	}
	if h.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), lockCloseTimeout)
		defer cancel()
		// Unlocking first makes the locks free when release returns; the
		// server would drop them with the session too, but a moment later.
		_, _ = h.conn.Exec(ctx, "SELECT pg_advisory_unlock_all()")
		_ = h.conn.Close(ctx)
	}
}

// lockConn opens a connection of its own for a session's locks.
func (s *Store) lockConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pgcfg.Copy())
	if err != nil {
		return nil, domain.WrapError(domain.Unavailable, err, "cannot reach Postgres for a lock")
	}
	return conn, nil
}

// tryLock takes the named locks, in order, without waiting. ok is false,
// with nothing held, when another process holds any of them.
func (s *Store) tryLock(ctx context.Context, names ...string) (h *held, ok bool, err error) {
	h = &held{}
	if s.dialect == Postgres {
		if h.conn, err = s.lockConn(ctx); err != nil {
			return nil, false, err
		}
		for _, name := range names {
			var got bool
			if err := h.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", advisoryKey(name)).Scan(&got); err != nil {
				h.release()
				return nil, false, fmt.Errorf("take lock %s: %w", name, err)
			}
			if !got {
				h.release()
				return nil, false, nil
			}
		}
		return h, true, nil
	}
	for _, name := range names {
		f, got, err := flockFile(filepath.Join(s.lockDir(), lockFileName(name)), false)
		if err != nil {
			h.release()
			return nil, false, err
		}
		if !got {
			h.release()
			return nil, false, nil
		}
		h.files = append(h.files, f)
	}
	return h, true, nil
}

// waitLock takes the named lock, waiting for it as long as ctx allows.
func (s *Store) waitLock(ctx context.Context, name string) (*held, error) {
	h := &held{}
	if s.dialect == Postgres {
		var err error
		if h.conn, err = s.lockConn(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.addLock(ctx, h, name); err != nil {
		h.release()
		return nil, err
	}
	return h, nil
}

// addLock takes one more lock into h, waiting for it. On SQLite the wait
// cannot be cancelled; it is meant for locks others only hold briefly.
func (s *Store) addLock(ctx context.Context, h *held, name string) error {
	if s.dialect == Postgres {
		if _, err := h.conn.Exec(ctx, "SELECT pg_advisory_lock($1)", advisoryKey(name)); err != nil {
			return fmt.Errorf("wait for lock %s: %w", name, err)
		}
		return nil
	}
	f, _, err := flockFile(filepath.Join(s.lockDir(), lockFileName(name)), true)
	if err != nil {
		return err
	}
	h.files = append(h.files, f)
	return nil
}

// lockFree reports whether nobody holds the named lock, taking and
// dropping it at once.
func (s *Store) lockFree(ctx context.Context, name string) (bool, error) {
	if s.dialect == Postgres {
		// A transaction-level lock goes back with the transaction, never
		// left on a pooled connection.
		var free bool
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return tx.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock(?)", advisoryKey(name)).Scan(&free)
		})
		if err != nil {
			return false, fmt.Errorf("test lock %s: %w", name, err)
		}
		return free, nil
	}
	if !flockWorks {
		return false, nil
	}
	path := filepath.Join(s.lockDir(), lockFileName(name))
	f, free, err := flockFile(path, false)
	if err != nil {
		return false, err
	}
	if free {
		// The run's file outlived its process; nobody will lock it again.
		_ = os.Remove(path)
		_ = f.Close()
	}
	return free, nil
}

// removeStaleRunLockFiles removes the SQLite lock files of runs whose
// process died after finishing its run but before removing the file.
func (s *Store) removeStaleRunLockFiles() error {
	if s.dialect != SQLite || !flockWorks {
		return nil
	}
	names, err := filepath.Glob(filepath.Join(s.lockDir(), runLockFiles))
	if err != nil {
		return fmt.Errorf("list run lock files: %w", err)
	}
	for _, name := range names {
		f, free, err := flockFile(name, false)
		if err != nil {
			return err
		}
		if free {
			_ = os.Remove(name)
			_ = f.Close()
		}
	}
	return nil
}

// lockCloseTimeout bounds how long releasing a Postgres session's locks
// may take; past it the server drops them when it sees the socket close.
const lockCloseTimeout = 5 * time.Second

// runLocks records the runs this process holds, so that Close can abandon
// the ones still running cleanly.
type runLocks struct {
	mu   sync.Mutex
	runs map[string]runLock // by run ID
}

func newRunLocks() *runLocks { return &runLocks{runs: map[string]runLock{}} }

type runLock struct {
	run  billing.IngestionRun
	held *held
}

// LockRun claims the run's connector for it and marks the run alive for
// as long as this process holds the lock (see billing.IngestStore). A
// connector another process (or this one) is loading gives a
// domain.Conflict error naming that run.
func (s *Store) LockRun(ctx context.Context, run billing.IngestionRun) (release func(), err error) {
	h, ok, err := s.tryLock(ctx, sourceLockName(run.OrgID, run.ConnectorID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.alreadyRunning(ctx, run)
	}
	// Nobody holds a new run's lock but, for a moment, a process checking
	// whether it is stale: wait for that.
	if err := s.addLock(ctx, h, runLockName(run.OrgID, run.ID)); err != nil {
		h.release()
		return nil, err
	}
	if s.dialect == SQLite {
		h.remove = []string{filepath.Join(s.lockDir(), lockFileName(runLockName(run.OrgID, run.ID)))}
	}
	s.runs.mu.Lock()
	s.runs.runs[run.ID] = runLock{run: run, held: h}
	s.runs.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.runs.mu.Lock()
			delete(s.runs.runs, run.ID)
			s.runs.mu.Unlock()
			h.release()
		})
	}, nil
}

// alreadyRunning is the error for an ingestion of a connector another run
// is loading.
func (s *Store) alreadyRunning(ctx context.Context, run billing.IngestionRun) error {
	var other runRow
	err := s.db.NewSelect().Model(&other).Column("id").
		Where("org_id = ? AND connector_id = ? AND status = ?", run.OrgID, run.ConnectorID, string(billing.RunRunning)).
		Order("started_at DESC").Limit(1).Scan(ctx)
	switch {
	case err == nil:
		return domain.Errorf(domain.Conflict, "an ingestion of this source is already running (run %s)", other.ID)
	case errors.Is(err, sql.ErrNoRows):
		// The holder is still reading the source's listing.
		return domain.Errorf(domain.Conflict, "an ingestion of this source is already running")
	default:
		return mapErr(err, "ingestion run")
	}
}

// abandonRuns fails the runs this process still holds and removes what
// they wrote, then releases their locks: what Close does for ingestions
// that did not finish in time.
func (s *Store) abandonRuns(ctx context.Context) (int, error) {
	s.runs.mu.Lock()
	held := make([]runLock, 0, len(s.runs.runs))
	for _, r := range s.runs.runs {
		held = append(held, r)
	}
	s.runs.runs = map[string]runLock{}
	s.runs.mu.Unlock()
	var errs []error
	n := 0
	for _, r := range held {
		ok, err := s.failRunning(ctx, r.run.OrgID, r.run.ID)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			n++
		}
		r.held.release()
	}
	return n, errors.Join(errs...)
}

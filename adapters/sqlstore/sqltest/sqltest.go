// Package sqltest gives tests real, migrated stores: a fresh SQLite file, and
// a fresh Postgres database when TRUECOST_TEST_POSTGRES_URL names a server.
// With CI=true a missing or unreachable Postgres fails the test instead of
// skipping it.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/truecost/truecost/adapters/sqlstore"
)

// PostgresEnv names the variable holding the test server's URL.
const PostgresEnv = "TRUECOST_TEST_POSTGRES_URL"

// SQLite returns a migrated store on a new SQLite file in a temp folder.
func SQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	return open(t, "sqlite://"+filepath.Join(t.TempDir(), "truecost.db"))
}

// Postgres returns a migrated store on a new database, dropped when the test
// ends. It skips the test when no server is configured, unless CI=true.
func Postgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	u, ok := PostgresURL(t)
	if !ok {
		return nil
	}
	return open(t, u)
}

// PostgresURL creates a fresh database and returns its URL; ok is false when
// the test was skipped for want of a server.
func PostgresURL(t testing.TB) (string, bool) {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run the Postgres suite", PostgresEnv)
		}
		t.Skipf("Postgres suite skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)", PostgresEnv)
		return "", false
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", PostgresEnv, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("Postgres at %s is unreachable: %v", PostgresEnv, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "truecost_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	pu.Path = "/" + name
	return pu.String(), true
}

// Each runs fn as a subtest on SQLite and on Postgres.
func Each(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			var s *sqlstore.Store
			if d == "sqlite" {
				s = SQLite(t)
			} else {
				s = Postgres(t)
			}
			fn(t, s)
		})
	}
}

func open(t testing.TB, databaseURL string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, databaseURL)
	if err != nil {
		t.Fatalf("open %s: %v", strings.SplitN(databaseURL, "@", 2)[0], err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

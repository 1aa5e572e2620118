package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
)

func TestSQLiteFilesAreReadableByTheOwnerOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "var", "truecost.db")
	// An existing database made by an older version keeps its data and
	// loses its group and others' rights.
	older := filepath.Join(dir, "older.db")
	if err := os.WriteFile(older, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, older} {
		s, err := sqlstore.Open(ctx, "sqlite://"+p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{p, p + "-wal", p + "-shm"} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s has mode %o, want 600", filepath.Base(name), mode)
			}
		}
	}
}

func TestPostgresSessionsGroupReportsInMemoryUnlessTheURLSaysOtherwise(t *testing.T) {
	u, ok := sqltest.PostgresURL(t)
	if !ok {
		return
	}
	ctx := context.Background()
	for url, want := range map[string]string{u: "32MB", u + "&work_mem=8MB": "8MB"} {
		s, err := sqlstore.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = s.DB().QueryRowContext(ctx, "SHOW work_mem").Scan(&got)
		s.Close()
		if err != nil || got != want {
			t.Errorf("work_mem = %q (%v), want %q", got, err, want)
		}
	}
}

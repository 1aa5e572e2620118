package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/truecost/truecost/adapters/sqlstore"
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

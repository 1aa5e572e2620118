package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

func TestNewSQLiteDatabasesGetTheirPageSizeAndKeepIt(t *testing.T) {
	ctx := context.Background()
	pragma := func(s *Store, name string) string {
		t.Helper()
		var v string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	fresh := openSQLite(t)
	if got := pragma(fresh, "page_size"); got != "8192" {
		t.Errorf("new database: page size %s, want 8192", got)
	}
	if got := pragma(fresh, "journal_mode"); got != "wal" {
		t.Errorf("new database: journal mode %s, want wal", got)
	}

	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec("PRAGMA page_size = 4096; CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := pragma(s, "page_size"); got != "4096" {
		t.Errorf("existing database: page size %s, want 4096 kept", got)
	}
	if got := pragma(s, "journal_mode"); got != "wal" {
		t.Errorf("existing database: journal mode %s, want wal", got)
	}
}

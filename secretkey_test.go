package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSQLiteSecretKeyFollowsTheDatabaseNotTheWorkingDirectory(t *testing.T) {
	t.Setenv("TRUECOST_SECRET_KEY", "")
	dbPath := filepath.Join(t.TempDir(), "data", "truecost.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()

	t.Chdir(t.TempDir())
	first, err := loadSealer(ctx, "sqlite", dbPath, false, log)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := first.Seal([]byte("role-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("var/secret.key"); err == nil {
		t.Error("a key was written under the working directory")
	}
	if fi, err := os.Stat(dbPath + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key beside the database: %v %v", fi, err)
	}

	t.Chdir(t.TempDir()) // started from elsewhere
	second, err := loadSealer(ctx, "sqlite", dbPath, true, log)
	if err != nil {
		t.Fatal(err)
	}
	got, err := second.Open(sealed)
	if err != nil || string(got) != "role-secret" {
		t.Fatalf("open from another directory: %q %v", got, err)
	}
}

func TestLegacySecretKeyIsMovedBesideItsDatabaseOnce(t *testing.T) {
	t.Setenv("TRUECOST_SECRET_KEY", "")
	dir := t.TempDir()
	const dbURL = "sqlite://var/truecost.db"
	if out, code := cmd(t, dir, dbURL, "", "orgs", "create", "acme"); code != 0 {
		t.Fatalf("orgs create: %d %s", code, out)
	}
	// The database was used by a version that kept its key in ./var/secret.key.
	legacy := []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)) + "\n")
	keyPath := filepath.Join(dir, "var", "truecost.db.key")
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "var", "secret.key"), legacy, 0o600); err != nil {
		t.Fatal(err)
	}

	out, code := cmd(t, dir, dbURL, "", "orgs", "create", "globex")
	if code != 0 {
		t.Fatalf("orgs create: %d %s", code, out)
	}
	if !strings.Contains(out, "moved the secret key beside the database") {
		t.Errorf("no log line for the move:\n%s", out)
	}
	if got, err := os.ReadFile(keyPath); err != nil || !bytes.Equal(got, legacy) {
		t.Errorf("key beside the database = %q, %v; want the legacy key", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "var", "secret.key")); !os.IsNotExist(err) {
		t.Errorf("legacy key still there: %v", err)
	}

	out, code = cmd(t, dir, dbURL, "", "orgs", "create", "initech")
	if code != 0 || strings.Contains(out, "moved the secret key") {
		t.Errorf("second start: %d %s", code, out)
	}
}

func TestNewSQLiteDatabaseDoesNotTakeAnotherDatabasesLegacyKey(t *testing.T) {
	t.Setenv("TRUECOST_SECRET_KEY", "")
	dir := t.TempDir()
	legacyPath := filepath.Join(dir, "var", "secret.key")
	if err := os.MkdirAll(filepath.Dir(legacyPath), 0o750); err != nil {
		t.Fatal(err)
	}
	legacy := []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)) + "\n")
	if err := os.WriteFile(legacyPath, legacy, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := cmd(t, dir, "sqlite://other.db", "", "orgs", "create", "acme")
	if code != 0 || strings.Contains(out, "moved the secret key") {
		t.Fatalf("orgs create: %d %s", code, out)
	}
	if got, err := os.ReadFile(legacyPath); err != nil || !bytes.Equal(got, legacy) {
		t.Errorf("legacy key = %q, %v; want it left for its database", got, err)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const focusHeader = "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ProviderName\n"

func TestIngestOfAHeaderOnlyFileNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "header-only.csv")
	if err := os.WriteFile(path, []byte(focusHeader), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := cmd(t, dir, "sqlite://var/truecost.db", "", "orgs", "create", "acme"); code != 0 {
		t.Fatal(out)
	}
	out, code := cmd(t, dir, "sqlite://var/truecost.db", "", "ingest", "--org", "acme", "--source", path)
	if code != 2 || !strings.Contains(out, path+" holds no line items") {
		t.Errorf("exit %d, output:\n%s\nwant it to name %s", code, out, path)
	}
}

func TestIngestOfAnEmptyFolderNamesTheFolder(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, code := cmd(t, dir, "sqlite://var/truecost.db", "", "orgs", "create", "acme"); code != 0 {
		t.Fatal(out)
	}
	for _, format := range []string{"auto", "focus", "aws-cur", "azure", "gcp", "oci"} {
		out, code := cmd(t, dir, "sqlite://var/truecost.db", "", "ingest", "--org", "acme", "--source", empty, "--format", format)
		if code != 2 || !strings.Contains(out, empty+" holds no") {
			t.Errorf("--format %s: exit %d, output:\n%s\nwant it to name %s", format, code, out, empty)
		}
	}
}

func TestIngestSkipsAFIFOInTheSourceFolder(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "exports")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	row := "2024-09-01T00:00:00Z,2024-10-01T00:00:00Z,2024-09-10T00:00:00Z,2024-09-11T00:00:00Z,USD,1.25,1.25,AWS\n"
	if err := os.WriteFile(filepath.Join(src, "a.csv"), []byte(focusHeader+row), 0o644); err != nil {
		t.Fatal(err)
	}
	// Nothing ever writes to it: opening it for reading would block.
	if err := syscall.Mkfifo(filepath.Join(src, "b.csv"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := cmd(t, dir, "sqlite://var/truecost.db", "", "orgs", "create", "acme"); code != 0 {
		t.Fatal(out)
	}
	type result struct {
		out  string
		code int
	}
	done := make(chan result, 1)
	go func() {
		out, code := cmd(t, dir, "sqlite://var/truecost.db", "", "ingest", "--org", "acme", "--source", src)
		done <- result{out, code}
	}()
	select {
	case r := <-done:
		if r.code != 0 || !strings.Contains(r.out, "ingested 1 rows from 1 file(s)") {
			t.Errorf("exit %d, output:\n%s", r.code, r.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ingest blocked on the FIFO")
	}

	// Named as the source itself, a FIFO is refused rather than opened.
	out, code := cmd(t, dir, "sqlite://var/truecost.db", "", "ingest", "--org", "acme", "--source", filepath.Join(src, "b.csv"))
	if code != 2 || !strings.Contains(out, "not a regular file") {
		t.Errorf("FIFO as source: exit %d, output:\n%s", code, out)
	}
}

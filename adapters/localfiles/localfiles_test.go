package localfiles_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

const csvText = "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ProviderName\n" +
	"2024-09-01T00:00:00Z,2024-10-01T00:00:00Z,2024-09-10T12:00:00Z,2024-09-10T13:00:00Z,USD,1.25,1.25,AWS\n"

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, path string) (billing.Part, []billing.LineItem, error) {
	t.Helper()
	src, err := localfiles.New(path, "auto")
	if err != nil {
		return billing.Part{}, nil, err
	}
	manifest, err := src.Scan(context.Background())
	if err != nil {
		return billing.Part{}, nil, err
	}
	if len(manifest.Parts) != 1 || !manifest.Parts[0].Period.IsZero() {
		t.Fatalf("parts %+v, want one part of unknown period", manifest.Parts)
	}
	m := manifest.Parts[0]
	var items []billing.LineItem
	var progressed int64
	err = src.Read(context.Background(), m, func(l *billing.LineItem) error {
		items = append(items, *l)
		return nil
	}, func(n int64) { progressed = n })
	if err == nil && progressed == 0 {
		t.Error("progress was never reported")
	}
	return m, items, err
}

func TestFolderReadsPlainAndGzippedCSVInPathOrder(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b", "part-2.csv.gz"), gz(t, csvText))
	write(t, filepath.Join(dir, "a", "part-1.csv"), []byte(csvText))
	write(t, filepath.Join(dir, "README.txt"), []byte("not billing data"))
	m, items, err := readAll(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 || !strings.HasSuffix(m.Files[0].Name, "part-1.csv") || !strings.HasSuffix(m.Files[1].Name, "part-2.csv.gz") {
		t.Errorf("files %+v, want part-1.csv then part-2.csv.gz", m.Files)
	}
	if len(items) != 2 || items[1].BilledCost != items[0].BilledCost {
		t.Errorf("items %d, want 2 equal rows", len(items))
	}
}

func TestVersionChangesWhenAFileChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "export.csv")
	write(t, path, []byte(csvText))
	first, _, err := readAll(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := readAll(t, dir)
	if again.Version != first.Version {
		t.Error("version changed although nothing did")
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(path, future, future)
	touched, _, _ := readAll(t, dir)
	if touched.Version == first.Version {
		t.Error("version unchanged after the file was rewritten")
	}
}

func TestBrokenGzipFailsNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	full := gz(t, csvText+strings.Repeat(csvText[strings.Index(csvText, "\n")+1:], 2000))
	write(t, filepath.Join(dir, "cut.csv.gz"), full[:len(full)/2])
	_, _, err := readAll(t, dir)
	if err == nil || domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), "cut.csv.gz") {
		t.Errorf("got %v, want an invalid error naming cut.csv.gz", err)
	}

	write(t, filepath.Join(dir, "cut.csv.gz"), []byte("plain text, not gzip"))
	_, _, err = readAll(t, dir)
	if err == nil || !strings.Contains(err.Error(), "cut.csv.gz: line 1: named .gz but not gzip-compressed") {
		t.Errorf("got %v, want the .gz mismatch", err)
	}
}

func TestNativeFormatsAreRefusedClearly(t *testing.T) {
	if _, err := localfiles.New(t.TempDir(), "aws-cur"); domain.ErrorCode(err) != domain.Invalid {
		t.Errorf("got %v, want invalid", err)
	}
	if _, err := localfiles.New(filepath.Join(t.TempDir(), "missing"), "focus"); domain.ErrorCode(err) != domain.Invalid {
		t.Errorf("missing path: got %v, want invalid", err)
	}
}

func TestWriteDemoIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	folders, err := localfiles.WriteDemo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(folders) != 2 || len(folders["acme"]) != 3 || len(folders["globex"]) != 3 {
		t.Fatalf("folders %v", folders)
	}
	focus := folders["acme"][2]
	if filepath.Base(focus) != "focus" {
		t.Fatalf("acme folders %v", folders["acme"])
	}
	m1, _, err := readAll(t, focus)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := localfiles.WriteDemo(dir); err != nil {
		t.Fatal(err)
	}
	m2, items, err := readAll(t, focus)
	if err != nil {
		t.Fatal(err)
	}
	if m1.Version != m2.Version || len(items) != 1000 {
		t.Errorf("second write changed the version (%v) or rows %d != 1000", m1.Version != m2.Version, len(items))
	}
}

func TestDirListsKeysUnderAPrefix(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "cur", "2026", "a.csv.gz"), []byte("a"))
	write(t, filepath.Join(dir, "cur", "b.json"), []byte("bb"))
	write(t, filepath.Join(dir, "other", "c.csv"), []byte("c"))
	write(t, filepath.Join(dir, ".hidden", "d.csv"), []byte("d"))
	objs, err := localfiles.Dir(dir).List(context.Background(), "cur/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Key != "cur/2026/a.csv.gz" || objs[1].Key != "cur/b.json" || objs[1].Size != 2 {
		t.Errorf("objects %+v", objs)
	}
	if _, err := localfiles.Dir(dir).Open(context.Background(), "../etc/passwd"); domain.ErrorCode(err) != domain.Invalid {
		t.Errorf("escaping key: %v", err)
	}
}

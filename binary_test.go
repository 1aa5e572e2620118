package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
)

// binDir holds the truecost binary the tests build once and run as child
// processes, so that they can kill it as an operator would.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "truecost-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "truecost")
	// Without -race: the children should run at production speed.
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// binary returns the path of the truecost binary built from this tree.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// eachDB runs fn on SQLite and on Postgres, each with a new database, and
// the folder the commands run in.
func eachDB(t *testing.T, fn func(t *testing.T, dir, dbURL string)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dir := t.TempDir()
			dbURL := "sqlite://" + filepath.Join(dir, "var", "truecost.db")
			if db == "postgres" {
				u, ok := sqltest.PostgresURL(t)
				if !ok {
					return
				}
				dbURL = u
			}
			fn(t, dir, dbURL)
		})
	}
}

// child is a truecost command prepared to run in dir against dbURL.
func child(t *testing.T, dir, dbURL string, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(binary(t), args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "TRUECOST_DATABASE_URL="+dbURL)
	return c
}

// runChild runs a truecost command to its end and returns its output and
// exit code.
func runChild(t *testing.T, dir, dbURL string, args ...string) (string, int) {
	t.Helper()
	out, err := child(t, dir, dbURL, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return string(out), 0
}

// mustRun runs a truecost command and fails the test unless it succeeds.
func mustRun(t *testing.T, dir, dbURL string, args ...string) string {
	t.Helper()
	out, code := runChild(t, dir, dbURL, args...)
	if code != 0 {
		t.Fatalf("truecost %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// writeExport writes a FOCUS CSV of rows line items over two billing
// months, its amounts varied by version, and returns its BilledCost total.
func writeExport(t *testing.T, path string, rows, version int) decimal.Decimal {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i, fld := range billing.Fields {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(fld.Name)
	}
	w.WriteString("\n")
	var cents int64
	for i := range rows {
		month := 9 + i%2
		day := 1 + (i/2)%28
		cost := int64(i%997 + version*1000 + 1)
		cents += cost
		for j, fld := range billing.Fields {
			if j > 0 {
				w.WriteByte(',')
			}
			switch fld.Kind {
			case billing.KindTime:
				switch fld.Name {
				case "BillingPeriodStart":
					fmt.Fprintf(w, "2024-%02d-01T00:00:00Z", month)
				case "BillingPeriodEnd":
					fmt.Fprintf(w, "2024-%02d-01T00:00:00Z", month+1)
				default:
					fmt.Fprintf(w, "2024-%02d-%02dT%02d:00:00Z", month, day, i%24)
				}
			case billing.KindDecimal:
				fmt.Fprintf(w, "%d.%02d", cost/100, cost%100)
			case billing.KindJSON:
				if fld.Name == "Tags" {
					fmt.Fprintf(w, `"{""team"": ""t%d""}"`, i%5)
				}
			default:
				switch fld.Name {
				case "BillingCurrency":
					w.WriteString("USD")
				case "ProviderName":
					w.WriteString("AWS")
				case "ServiceName":
					fmt.Fprintf(w, "Service %d", i%7)
				case "ResourceId":
					fmt.Fprintf(w, "i-%08x", i)
				default:
					w.WriteString("x")
				}
			}
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// Each version must look new to the source's version check.
	mtime := time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(version) * time.Minute)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return decimal.New(cents, -2)
}

// startChild starts c with its output going to the returned buffer, to be
// read once c has ended.
func startChild(t *testing.T, c *exec.Cmd) *bytes.Buffer {
	t.Helper()
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return &out
}

package awsbilling_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// The independent totals of the sample CUR files (testdata/README.md).
var (
	septemberTotal = decimal.RequireFromString("188.10055566946308119266")
	octoberTotal   = decimal.RequireFromString("18.78315657438083171284")
	sampleTotal    = decimal.RequireFromString("206.88371224384391290550")
)

const (
	septemberDir = "cur-prefix/cur-daily/20260901-20261001"
	octoberDir   = "cur-prefix/cur-daily/20261001-20261101"
	septemberCSV = septemberDir + "/7b349f95-bd1e-46ed-a116-229417e08def/September-2026-cur-daily.csv.gz"
	octoberCSV   = octoberDir + "/57dd8ed7-d7e8-4130-9839-561004170c21/October-2026-cur-daily.csv.gz"
)

// system is the caller the tests act as: it may act on every organization.
var system = tenancy.SystemPrincipal("test")

// env is a real store with an organization and a connector to load into.
type env struct {
	store     *sqlstore.Store
	ingester  *billing.Ingester
	reporter  *billing.Reporter
	org       tenancy.Organization
	connector connectors.Connector
}

func newEnv(t *testing.T, s *sqlstore.Store, location string) env {
	t.Helper()
	ctx := context.Background()
	rights := tenancy.NewRights(s)
	org, err := tenancy.NewService(s, rights).CreateOrganization(ctx, system, "acme", "", tenancy.Customer, "")
	if err != nil {
		t.Fatal(err)
	}
	c := connectors.Connector{ID: tenancy.NewID(), OrgID: org.ID, Provider: connectors.Local, Name: filepath.Base(location),
		Location: location, Format: "aws-cur", Enabled: true, Status: connectors.StatusNew, CreatedAt: time.Now().UTC()}
	if err := s.CreateConnector(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	return env{store: s, ingester: billing.NewIngester(s, tenancy.NewID), reporter: billing.NewReporter(s, s, rights), org: org, connector: c}
}

func (e env) ingest(t *testing.T, src billing.Source) (billing.IngestionRun, error) {
	t.Helper()
	return e.ingester.Ingest(context.Background(), billing.IngestRequest{OrgID: e.org.ID, ConnectorID: e.connector.ID, Source: src})
}

func (e env) mustIngest(t *testing.T, src billing.Source, want billing.RunStatus) billing.IngestionRun {
	t.Helper()
	run, err := e.ingest(t, src)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if run.Status != want {
		t.Fatalf("run status %s, want %s", run.Status, want)
	}
	return run
}

// report sums a metric grouped by one dimension, keyed "value currency".
func (e env) report(t *testing.T, metric billing.Metric, dim billing.Dimension) map[string]decimal.Decimal {
	t.Helper()
	rep, err := e.reporter.Report(context.Background(), system, billing.CostQuery{
		OrgID: e.org.ID, From: date("2024-01-01"), To: date("2027-01-01"),
		DateBasis: billing.BillingPeriod, Metric: metric, GroupBy: []billing.Dimension{dim},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]decimal.Decimal{}
	for _, g := range rep.Groups {
		v := "<null>"
		if g.Keys[0].Value != nil {
			v = *g.Keys[0].Value
		}
		out[v+" "+g.Currency] = g.Total
	}
	return out
}

func assertTotals(t *testing.T, got, want map[string]decimal.Decimal) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d groups %v, want %d %v", len(got), got, len(want), want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !g.Equal(w) {
			t.Errorf("%s: got %s, want %s", k, g, w)
		}
	}
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// copyTree copies testdata/bucket into a new folder the test may change.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir("testdata/bucket", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("testdata/bucket", path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dst, rel), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// readCSV reads a (gzipped) CSV file's rows, header first.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(b)
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// sumColumn adds a column of rows exactly, independently of the decoder.
func sumColumn(t *testing.T, rows [][]string, column string) decimal.Decimal {
	t.Helper()
	idx := -1
	for i, h := range rows[0] {
		if h == column {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("no column %s", column)
	}
	sum := decimal.Zero
	for _, r := range rows[1:] {
		sum = sum.Add(decimal.RequireFromString(r[idx]))
	}
	return sum
}

// gzipCSV writes rows as gzipped CSV with CRLF line ends, as AWS does.
func gzipCSV(t *testing.T, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	w := csv.NewWriter(gz)
	w.UseCRLF = true
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	if _, err := gz.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

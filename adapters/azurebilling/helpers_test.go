package azurebilling_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

const (
	exportDir = "testdata/native/container/exports/cost-export"
	sepFile   = exportDir + "/20260901-20260930/costreport_e98fd015-fb20-48ae-9e3c-544231a17605.csv"
	octFile   = exportDir + "/20261001-20261031/costreport_0ca8b4aa-d4d6-4c9f-9dc3-530368effe52.csv"
)

// The totals the shared test-data README computed independently.
var (
	sepTotal = decimal.RequireFromString("448.5840614396671043380")
	octTotal = decimal.RequireFromString("44.7257572124331030589")
	allTotal = decimal.RequireFromString("493.3098186521002073969")
)

func sep() time.Time { return time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC) }
func oct() time.Time { return time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC) }

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// records parses CSV text, independently of the package.
func records(t *testing.T, data []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// sumColumn adds one column of CSV text exactly.
func sumColumn(t *testing.T, data []byte, column string) decimal.Decimal {
	t.Helper()
	rows := records(t, data)
	at := -1
	for i, h := range rows[0] {
		if h == column {
			at = i
		}
	}
	if at < 0 {
		t.Fatalf("no column %s", column)
	}
	var sum decimal.Decimal
	for _, r := range rows[1:] {
		sum = sum.Add(decimal.RequireFromString(r[at]))
	}
	return sum
}

// firstRows keeps the header and the first n rows of CSV text.
func firstRows(t *testing.T, data []byte, n int) []byte {
	t.Helper()
	rows := records(t, data)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows[:n+1]); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeAll decodes one file and copies out its line items.
func decodeAll(t *testing.T, name string, data []byte, opts azurebilling.DecodeOptions) ([]billing.LineItem, error) {
	t.Helper()
	var out []billing.LineItem
	err := azurebilling.Decode(context.Background(), name, bytes.NewReader(data), opts, func(l *billing.LineItem) error {
		out = append(out, *l)
		return nil
	})
	return out, err
}

func sumBilled(items []billing.LineItem) decimal.Decimal {
	var s billing.Sum
	for _, l := range items {
		s.Add(l.BilledCost)
	}
	return s.Decimal()
}

// blob is one file of an export run, by its path in the run folder.
type blob struct {
	name string
	data []byte
	rows int
}

// writeRun writes a partitioned export run the way Cost Management does:
// the run's blobs under <root>/<export>/<range>/<runID>/, then its
// manifest.json. It returns the run folder.
func writeRun(t *testing.T, root, export, dateRange, runID string, submitted time.Time, dataset string, blobs ...blob) string {
	t.Helper()
	dir := filepath.Join(root, export, dateRange, runID)
	type manifestBlob struct {
		BlobName     string `json:"blobName"`
		ByteCount    int    `json:"byteCount"`
		DataRowCount int    `json:"dataRowCount"`
	}
	var mb []manifestBlob
	var bytesTotal, rowsTotal int
	for _, b := range blobs {
		writeFile(t, filepath.Join(dir, b.name), b.data)
		// Blob names are relative to the container.
		mb = append(mb, manifestBlob{BlobName: strings.Join([]string{"exports", export, dateRange, runID, b.name}, "/"), ByteCount: len(b.data), DataRowCount: b.rows})
		bytesTotal += len(b.data)
		rowsTotal += b.rows
	}
	start := dateRange[:4] + "-" + dateRange[4:6] + "-" + dateRange[6:8] + "T00:00:00"
	end := dateRange[9:13] + "-" + dateRange[13:15] + "-" + dateRange[15:17] + "T00:00:00"
	m := map[string]any{
		"manifestVersion": "2024-04-01",
		"byteCount":       bytesTotal,
		"blobCount":       len(mb),
		"dataRowCount":    rowsTotal,
		"exportConfig": map[string]any{
			"exportName": export, "resourceId": "/subscriptions/6e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b/providers/Microsoft.CostManagement/exports/" + export,
			"dataVersion": "2021-10-01", "apiVersion": "2023-07-01-preview", "type": dataset, "timeFrame": "MonthToDate", "granularity": "Daily",
		},
		"deliveryConfig": map[string]any{"partitionData": true, "dataOverwriteBehavior": "CreateNewReport", "fileFormat": "Csv",
			"containerUri": "/subscriptions/6e1a/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct", "rootFolderPath": "exports"},
		"runInfo": map[string]any{"executionType": "Scheduled", "submittedTime": submitted.Format("2006-01-02T15:04:05.0000000Z"),
			"runId": runID, "startDate": start, "endDate": end},
		"blobs": mb,
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "manifest.json"), js)
	return dir
}

// readAllParts scans a source and reads every part, returning the items
// per period.
func readAllParts(t *testing.T, src billing.Source) (billing.Manifest, map[time.Time][]billing.LineItem) {
	t.Helper()
	ctx := context.Background()
	m, err := src.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[time.Time][]billing.LineItem)
	for _, p := range m.Parts {
		err := src.Read(ctx, p, func(l *billing.LineItem) error {
			out[l.BillingPeriodStart] = append(out[l.BillingPeriodStart], *l)
			return nil
		}, func(int64) {})
		if err != nil {
			t.Fatalf("read %s: %v", p.Period.Format("2006-01"), err)
		}
	}
	return m, out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func billingCode(err error) string { return string(domain.ErrorCode(err)) }

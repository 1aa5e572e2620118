package gcpbilling_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

func TestScanFindsOnePartPerInvoiceMonth(t *testing.T) {
	m, err := gcpbilling.NewSource(localfiles.Dir(sampleDir), "").Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != gcpbilling.FormatJSONL || len(m.Parts) != 2 {
		t.Fatalf("format %q with %d parts, want gcp with 2", m.Format, len(m.Parts))
	}
	want := []struct {
		period time.Time
		has    string
	}{
		{september, "max_export_time=2026-10-01T05:56:08Z;rows=5712;"},
		{october, "max_export_time=2026-10-04T04:51:56Z;rows=624;"},
	}
	for i, w := range want {
		p := m.Parts[i]
		if !p.Period.Equal(w.period) || !strings.Contains(p.Version, w.has) {
			t.Errorf("part %d: period %s version %q, want %s with %q", i, p.Period, p.Version, w.period, w.has)
		}
		if len(p.Files) != 1 || p.Files[0].Name != sampleFile || p.Files[0].Size == 0 {
			t.Errorf("part %d files %+v, want the sample file", i, p.Files)
		}
	}
}

func TestSampleReconcilesPerInvoiceMonth(t *testing.T) {
	t.Parallel()
	lines := sampleLines(t)
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		org, conn := e.connector(t, "gcp-sample", "/extracts/gcp")
		run, err := e.ingest(t, org, conn, gcpbilling.NewSource(localfiles.Dir(sampleDir), ""))
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != billing.RunSucceeded || run.Format != gcpbilling.FormatJSONL || len(run.Periods) != 2 {
			t.Fatalf("run %s format %q periods %v, want succeeded gcp with 2 periods", run.Status, run.Format, run.Periods)
		}
		if want := int64(sampleRows + 3168); run.Rows != want {
			t.Errorf("%d line items, want %d (one per row and one per credit)", run.Rows, want)
		}
		if len(run.Totals) != 1 || !run.Totals[0].Amount.Equal(dec(readmeTotal)) {
			t.Errorf("run totals %v, want USD %s", run.Totals, readmeTotal)
		}
		assertTotals(t, e.byPeriod(t, org), readmeByPeriod())
		// EffectiveCost nets the same way (no commitment credits here).
		assertTotals(t, e.report(t, org, billing.EffectiveCost, billing.DimBillingPeriod), readmeByPeriod())

		costs, credits := sums(t, lines)
		var cost, credit decimal.Decimal
		for m := range costs {
			cost, credit = cost.Add(costs[m]), credit.Add(credits[m])
		}
		assertTotals(t, e.report(t, org, billing.BilledCost, billing.DimChargeCategory),
			map[string]decimal.Decimal{"Usage USD": cost, "Credit USD": credit})
		assertTotals(t, e.report(t, org, billing.BilledCost, billing.DimProvider),
			map[string]decimal.Decimal{"Google Cloud USD": dec(readmeTotal)})
	})
}

func TestUnchangedExtractsAreANoOpAndLateRowsReloadOnlyTheirMonth(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		ctx := context.Background()
		dir, lines := writeSmall(t)
		org, conn := e.connector(t, "gcp-late", dir)
		src := gcpbilling.NewSource(localfiles.Dir(dir), "")
		if run, err := e.ingest(t, org, conn, src); err != nil || len(run.Periods) != 2 {
			t.Fatalf("first sync: %v periods, %v; want both invoice months", run.Periods, err)
		}
		if run, err := e.ingest(t, org, conn, src); err != nil || run.Status != billing.RunUnchanged || run.Rows != 0 {
			t.Errorf("re-sync of unchanged extracts: %s with %d rows, %v; want unchanged", run.Status, run.Rows, err)
		}
		assertTotals(t, e.byPeriod(t, org), netByPeriod(t, lines))
		before, err := s.PartitionVersions(ctx, org, conn)
		if err != nil {
			t.Fatal(err)
		}

		// Google exports a September row after October's rows, in a new file.
		writeFile(t, filepath.Join(dir, "202610_late.jsonl"), lateRow+"\n")
		run, err := e.ingest(t, org, conn, src)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != billing.RunSucceeded || len(run.Periods) != 1 || !run.Periods[0].Equal(september) {
			t.Fatalf("run %s periods %v, want succeeded for 2026-09 only", run.Status, run.Periods)
		}
		if want := septemberItems(t, lines) + 2; run.Rows != want {
			t.Errorf("reloaded %d line items, want September's %d plus the late row and its credit", run.Rows, want-2)
		}
		if len(run.Files) != 2 {
			t.Errorf("read files %v, want the sample and the late file", run.Files)
		}
		after, err := s.PartitionVersions(ctx, org, conn)
		if err != nil {
			t.Fatal(err)
		}
		if after[october] != before[october] || after[september] == before[september] {
			t.Errorf("versions went from %v to %v: want September replaced and October untouched", before, after)
		}
		assertTotals(t, e.byPeriod(t, org), netByPeriod(t, append(lines, lateRow)))

		again, err := e.ingest(t, org, conn, src)
		if err != nil || again.Status != billing.RunUnchanged {
			t.Errorf("re-sync after the late rows: %s, %v; want unchanged", again.Status, err)
		}
	})
}

func TestBadExtractFailsTheRunAndKeepsTheLoadedMonth(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		dir, lines := writeSmall(t)
		org, conn := e.connector(t, "gcp-bad", dir)
		src := gcpbilling.NewSource(localfiles.Dir(dir), "")
		if _, err := e.ingest(t, org, conn, src); err != nil {
			t.Fatal(err)
		}
		bad := strings.Replace(lateRow, `"cost": 1.25`, `"cost": "1.2.5"`, 1)
		writeFile(t, filepath.Join(dir, "late.jsonl"), lateRow+"\n"+bad+"\n")
		run, err := e.ingest(t, org, conn, src)
		if err == nil || run.Status != billing.RunFailed {
			t.Fatalf("run %s, %v; want failed", run.Status, err)
		}
		if want := "late.jsonl: line 2, column cost:"; domain.ErrorCode(err) != domain.Invalid || !strings.Contains(run.Error, want) {
			t.Errorf("error %q (%v), want it to contain %q", run.Error, err, want)
		}
		assertTotals(t, e.byPeriod(t, org), netByPeriod(t, lines))
	})
}

func TestScanRejectsRowsItCannotPlace(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"bad JSON line", lateRow + "\n{\"invoice\": \n", "rows.jsonl: line 2, column 11: malformed JSON"},
		{"missing invoice", lateRow + "\n" + strings.Replace(lateRow, `"invoice": {"month": "202609"}, `, "", 1) + "\n", "rows.jsonl: line 2, column invoice.month: missing"},
		{"bad export time", strings.Replace(lateRow, `"2026-10-06T10:00:00"`, `"soon"`, 1), "rows.jsonl: line 1, column export_time:"},
		{"not gzip", "", "rows.jsonl.gz: line 1: named .gz but not gzip-compressed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name := "rows.jsonl"
			if tt.content == "" {
				name, tt.content = "rows.jsonl.gz", lateRow
			}
			writeFile(t, filepath.Join(dir, name), tt.content)
			_, err := gcpbilling.NewSource(localfiles.Dir(dir), "").Scan(context.Background())
			if err == nil || domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an invalid-input error containing %q", err, tt.want)
			}
		})
	}
}

func TestDetectRecognisesBillingExportExtracts(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"sample extract (gzip)", nil, true},
		{"plain extract in a subfolder", map[string]string{"export/part-0001.jsonl": lateRow + "\n"}, true},
		{"FOCUS CSV", map[string]string{"focus.csv": "BilledCost,BillingCurrency\n1,USD\n"}, false},
		{"other JSON lines", map[string]string{"events.jsonl": `{"event": "login"}` + "\n"}, false},
		{"pretty-printed manifest", map[string]string{"Manifest.json": "{\n  \"reportKeys\": []\n}\n"}, false},
		{"empty folder", map[string]string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := sampleDir
			if tt.files != nil {
				dir = t.TempDir()
				for name, content := range tt.files {
					path := filepath.Join(dir, filepath.FromSlash(name))
					if err := mkdirFor(path); err != nil {
						t.Fatal(err)
					}
					writeFile(t, path, content)
				}
			}
			got, err := gcpbilling.Detect(context.Background(), localfiles.Dir(dir), "")
			if err != nil || got != tt.want {
				t.Errorf("Detect = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// septemberItems counts the line items of invoice month 202609 in lines:
// one per row and one per credit.
func septemberItems(t *testing.T, lines []string) int64 {
	t.Helper()
	var n int64
	for _, l := range lines {
		if row := parseRow(t, l); row.Invoice.Month == "202609" {
			n += 1 + int64(len(row.Credits))
		}
	}
	return n
}

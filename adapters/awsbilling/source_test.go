package awsbilling_test

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

func TestIngestOfSampleCURReproducesIndependentTotalsAndResyncIsNoop(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s, "testdata/bucket")
		src := awsbilling.NewSource(localfiles.Dir("testdata/bucket"), "", awsbilling.KindAuto)
		run := e.mustIngest(t, src, billing.RunSucceeded)
		if again := e.mustIngest(t, src, billing.RunUnchanged); again.SourceVersion != run.SourceVersion {
			t.Errorf("source version changed from %s to %s without a change", run.SourceVersion, again.SourceVersion)
		}
		if run.Rows != 4320+432 || run.Format != awsbilling.FormatCUR {
			t.Errorf("run read %d rows as %s, want 4752 as %s", run.Rows, run.Format, awsbilling.FormatCUR)
		}
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimProvider), map[string]decimal.Decimal{"AWS USD": sampleTotal})
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimBillingPeriod), map[string]decimal.Decimal{
			"2026-09 USD": septemberTotal, "2026-10 USD": octoberTotal,
		})
		assertTotals(t, e.report(t, billing.EffectiveCost, billing.DimProvider), map[string]decimal.Decimal{
			"AWS USD": effectiveFromFile(t, "testdata/bucket/"+septemberCSV).Add(effectiveFromFile(t, "testdata/bucket/"+octoberCSV)),
		})
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimChargeCategory), map[string]decimal.Decimal{"Usage USD": sampleTotal})
	})
}

// effectiveFromFile computes the amortised cost straight from a CUR file:
// savings-plan covered usage at its effective cost, the rest unblended.
func effectiveFromFile(t *testing.T, path string) decimal.Decimal {
	t.Helper()
	rows := readCSV(t, path)
	idx := map[string]int{}
	for i, h := range rows[0] {
		idx[h] = i
	}
	sum := decimal.Zero
	for _, r := range rows[1:] {
		v := r[idx["lineItem/UnblendedCost"]]
		if sp := r[idx["savingsPlan/SavingsPlanEffectiveCost"]]; r[idx["lineItem/LineItemType"]] == "SavingsPlanCoveredUsage" && sp != "" && sp != "None" {
			v = sp
		}
		sum = sum.Add(decimal.RequireFromString(v))
	}
	return sum
}

func TestScanTakesEachPeriodFromItsNewestManifestWhereverTheBucketIsRooted(t *testing.T) {
	tests := []struct {
		name   string
		root   string
		prefix string
	}{
		{"bucket root", "testdata/bucket", ""},
		{"report prefix", "testdata/bucket", "cur-prefix/cur-daily/"},
		{"copy rooted at the prefix", "testdata/bucket/cur-prefix", ""},
		{"folder holding the bucket", "testdata", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := awsbilling.NewSource(localfiles.Dir(tt.root), tt.prefix, awsbilling.KindCUR).Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Parts {
				if len(p.Files) != 1 || !strings.HasSuffix(p.Files[0].Name, "-cur-daily.csv.gz") {
					t.Errorf("part %s has files %v, want the one report key", p.Period.Format("2006-01"), p.Files)
				}
				if _, err := os.Stat(filepath.Join(tt.root, p.Files[0].Name)); err != nil {
					t.Errorf("part file %s is not in the bucket: %v", p.Files[0].Name, err)
				}
				if !strings.HasPrefix(p.Version, "cur:") || !strings.Contains(p.Version, assemblyOf(p.Files[0].Name)) {
					t.Errorf("part version %q does not carry the assembly of %s", p.Version, p.Files[0].Name)
				}
			}
			last := m.Parts[len(m.Parts)-1]
			if !last.Period.Equal(date("2026-10-01")) {
				t.Errorf("last period %s, want 2026-10-01", last.Period)
			}
		})
	}
}

func assemblyOf(key string) string {
	parts := strings.Split(key, "/")
	return parts[len(parts)-2]
}

// restate writes a new assembly of a period (its folder and file name as
// in dir and file) holding rows, and points the period's top-level
// manifest at it, leaving the old assembly in place.
func restate(t *testing.T, root, dir, file, assembly string, rows [][]string) {
	t.Helper()
	key := dir + "/" + assembly + "/" + path.Base(file)
	if err := writeFile(filepath.Join(root, key), gzipCSV(t, rows)); err != nil {
		t.Fatal(err)
	}
	manifestPath := filepath.Join(root, dir, "cur-daily-Manifest.json")
	var m map[string]any
	b, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["assemblyId"] = assembly
	m["reportKeys"] = []string{key}
	b, _ = json.Marshal(m)
	if err := writeFile(manifestPath, b); err != nil {
		t.Fatal(err)
	}
}

// smallTree copies the sample bucket with September cut to its first 300
// rows (under an assembly of its own), to keep store tests quick.
func smallTree(t *testing.T) (root string, september decimal.Decimal) {
	t.Helper()
	root = copyTree(t)
	rows := readCSV(t, filepath.Join(root, septemberCSV))[:301]
	restate(t, root, septemberDir, septemberCSV, "a0a0a0a0-0000-4000-8000-000000000300", rows)
	return root, sumColumn(t, rows, "lineItem/UnblendedCost")
}

func TestRestatedMonthUnderNewAssemblyReplacesOnlyThatMonth(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		root, september := smallTree(t)
		e := newEnv(t, s, root)
		src := awsbilling.NewSource(localfiles.Dir(root), "cur-prefix", awsbilling.KindAuto)
		e.mustIngest(t, src, billing.RunSucceeded)
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimBillingPeriod), map[string]decimal.Decimal{
			"2026-09 USD": september, "2026-10 USD": octoberTotal,
		})

		// AWS restates September: fewer rows, one cost corrected, under a
		// new assembly; the old assembly folders stay in the bucket.
		rows := readCSV(t, filepath.Join(root, septemberCSV))[:201]
		costCol := 0
		for i, h := range rows[0] {
			if h == "lineItem/UnblendedCost" {
				costCol = i
			}
		}
		rows[1][costCol] = "-12.5"
		restate(t, root, septemberDir, septemberCSV, "0d3c5f7e-0000-4000-8000-000000000001", rows)
		restated := sumColumn(t, rows, "lineItem/UnblendedCost")

		run := e.mustIngest(t, src, billing.RunSucceeded)
		if len(run.Periods) != 1 || !run.Periods[0].Equal(date("2026-09-01")) || run.Rows != 200 {
			t.Errorf("restatement run replaced %v with %d rows, want only 2026-09 with 200", run.Periods, run.Rows)
		}
		if len(run.Files) != 1 || !strings.Contains(run.Files[0], "0d3c5f7e") {
			t.Errorf("restatement run read %v, want only the new assembly's file", run.Files)
		}
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimBillingPeriod), map[string]decimal.Decimal{
			"2026-09 USD": restated, "2026-10 USD": octoberTotal,
		})

		again := e.mustIngest(t, src, billing.RunUnchanged)
		if again.Rows != 0 || len(again.Files) != 0 {
			t.Errorf("unchanged re-sync read %d rows from %v, want nothing", again.Rows, again.Files)
		}
	})
}

func TestFailedIngestOfBadRowCommitsNothing(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		root := copyTree(t)
		if err := os.RemoveAll(filepath.Join(root, septemberDir)); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, s, root)
		src := awsbilling.NewSource(localfiles.Dir(root), "", awsbilling.KindAuto)
		e.mustIngest(t, src, billing.RunSucceeded)

		rows := readCSV(t, filepath.Join(root, octoberCSV))
		rows[400][26] = "12,5" // lineItem/UnblendedCost
		restate(t, root, octoberDir, octoberCSV, "0d3c5f7e-0000-4000-8000-000000000002", rows)
		run, err := e.ingest(t, src)
		if err == nil || domain.ErrorCode(err) != domain.Invalid || run.Status != billing.RunFailed {
			t.Fatalf("got run %s, error %v; want a failed run with an invalid-input error", run.Status, err)
		}
		for _, want := range []string{"October-2026-cur-daily.csv.gz", "line 401", "lineItem/UnblendedCost"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimBillingPeriod), map[string]decimal.Decimal{"2026-10 USD": octoberTotal})
	})
}

func TestScanRefusesAmbiguousOrBrokenLayouts(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		want  []string
	}{
		{"no export", func(t *testing.T, root string) {
			os.RemoveAll(filepath.Join(root, "cur-prefix"))
			writeFile(filepath.Join(root, "other/readme.txt"), []byte("x"))
		}, []string{"no AWS billing export"}},
		{"two reports", func(t *testing.T, root string) {
			b, _ := os.ReadFile(filepath.Join(root, octoberDir, "cur-daily-Manifest.json"))
			writeFile(filepath.Join(root, "cur-prefix/cur-hourly/20261001-20261101/cur-hourly-Manifest.json"), b)
		}, []string{"several CUR reports", "cur-daily", "cur-hourly"}},
		{"manifest names a missing file", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, octoberCSV))
		}, []string{octoberDir + "/cur-daily-Manifest.json", "does not hold"}},
		{"manifest is not JSON", func(t *testing.T, root string) {
			writeFile(filepath.Join(root, octoberDir, "cur-daily-Manifest.json"), []byte("{\n  \"assemblyId\": \"x\",\n  oops\n}"))
		}, []string{"cur-daily-Manifest.json: line 3", "not a valid manifest"}},
		{"manifest of another period", func(t *testing.T, root string) {
			b, _ := os.ReadFile(filepath.Join(root, septemberDir, "cur-daily-Manifest.json"))
			writeFile(filepath.Join(root, octoberDir, "cur-daily-Manifest.json"), b)
		}, []string{"billingPeriod.start", "does not match the period folder 20261001-20261101"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyTree(t)
			tt.setup(t, root)
			_, err := awsbilling.NewSource(localfiles.Dir(root), "", awsbilling.KindAuto).Scan(context.Background())
			if err == nil || domain.ErrorCode(err) != domain.Invalid {
				t.Fatalf("got %v, want an invalid-input error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDetectRecognisesAWSLayouts(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  bool
	}{
		{"legacy CUR", []string{"p/r/20260901-20261001/r-Manifest.json"}, true},
		{"legacy CUR at the root", []string{"r/20260901-20261001/r-Manifest.json"}, true},
		{"Data Exports", []string{"p/e/metadata/BILLING_PERIOD=2026-09/e-Manifest.json"}, true},
		{"Data Exports, create-new delivery", []string{"e/metadata/BILLING_PERIOD=2026-09/20260902T101500Z-abc/e-Manifest.json"}, true},
		{"assembly manifest only", []string{"p/r/20260901-20261001/7b34/r-Manifest.json"}, false},
		{"FOCUS CSV files", []string{"focus/focus_sample.csv"}, false},
		{"Azure export", []string{"exports/cost-export/20260901-20260930/costreport_1.csv"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tt.files {
				if err := writeFile(filepath.Join(root, f), []byte("{}")); err != nil {
					t.Fatal(err)
				}
			}
			got, err := awsbilling.Detect(context.Background(), localfiles.Dir(root), "")
			if err != nil || got != tt.want {
				t.Errorf("Detect = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestReadReportsProgressThroughTheCompressedBytes(t *testing.T) {
	src := awsbilling.NewSource(localfiles.Dir("testdata/bucket"), "", awsbilling.KindAuto)
	m, err := src.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := m.Parts[0]
	var last int64
	var rows int
	err = src.Read(context.Background(), p, func(*billing.LineItem) error { rows++; return nil }, func(n int64) { last = n })
	if err != nil {
		t.Fatal(err)
	}
	if rows != 4320 || last != p.Files[0].Size {
		t.Errorf("read %d rows, progress ended at %d; want 4320 rows and %d bytes", rows, last, p.Files[0].Size)
	}
}

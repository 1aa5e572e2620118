package ocibilling_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
)

func periods(ps []time.Time) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Format("2006-01")
	}
	return out
}

func TestSampleReconcilesPerMonthWithIndependentTotals(t *testing.T) {
	t.Parallel()
	// The test's own sum of the files agrees with the README's totals.
	independent := sumByMonth(t, sampleSep, sampleOct)
	assertTotals(t, independent, map[string]decimal.Decimal{"2026-09 USD": wantSep, "2026-10 USD": wantOct})

	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		run, err := e.ingest(t, ocibilling.New(localfiles.Dir("testdata"), "", ocibilling.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != billing.RunSucceeded || run.Rows != 2880+288 || run.Format != "oci" {
			t.Errorf("run %s, %d rows, format %q; want succeeded, 3168 rows, oci", run.Status, run.Rows, run.Format)
		}
		if got := periods(run.Periods); !reflect.DeepEqual(got, []string{"2026-09", "2026-10"}) {
			t.Errorf("periods %v", got)
		}
		if len(run.Totals) != 1 || !run.Totals[0].Amount.Equal(wantTotal) {
			t.Errorf("run totals %v, want %s USD", run.Totals, wantTotal)
		}
		assertTotals(t, e.totals(t, billing.DimBillingPeriod), independent)
		assertTotals(t, e.totals(t, billing.DimProvider), map[string]decimal.Decimal{"Oracle USD": wantTotal})
		// 720 September and all 288 October rows are corrections.
		assertTotals(t, e.totals(t, billing.DimChargeClass), map[string]decimal.Decimal{
			"Correction USD": decimal.RequireFromString("265.47048"),
			"<none> USD":     decimal.RequireFromString("99.71280"),
		})

		// Re-reading the unchanged bucket is a no-op.
		again, err := e.ingest(t, ocibilling.New(localfiles.Dir("testdata"), "", ocibilling.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		if again.Status != billing.RunUnchanged || again.SourceVersion != run.SourceVersion || again.Rows != 0 {
			t.Errorf("second run %s (%d rows), version %s; want unchanged at %s", again.Status, again.Rows, again.SourceVersion, run.SourceVersion)
		}
		assertTotals(t, e.totals(t, billing.DimProvider), map[string]decimal.Decimal{"Oracle USD": wantTotal})
	})
}

// newDailyReport is two October rows OCI adds in a later report file.
func newDailyReport(t *testing.T) []byte {
	rs := records(t, read(t, sampleOct))
	idx := map[string]int{}
	for i, h := range rs[0] {
		idx[h] = i
	}
	out := [][]string{rs[0]}
	for i, c := range []string{"1.5", "0.25"} {
		r := append([]string(nil), rs[1+i]...)
		r[idx["lineItem/intervalUsageStart"]] = "2026-10-04T0" + string(rune('0'+i)) + ":00Z"
		r[idx["lineItem/intervalUsageEnd"]] = "2026-10-04T0" + string(rune('1'+i)) + ":00Z"
		r[idx["cost/myCost"]] = c
		out = append(out, r)
	}
	return writeCSV(t, out)
}

func TestNewDailyFileReloadsOnlyItsMonth(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		dir := t.TempDir()
		put(t, dir, "report_cost-1950_2026-09.csv", smallReport(t, nil), time.Time{})
		put(t, dir, "report_cost-7576_2026-10.csv", read(t, sampleOct), time.Time{})
		src := ocibilling.New(localfiles.Dir(dir), "", ocibilling.Options{})
		first, err := e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}

		put(t, dir, "report_cost-8000_2026-10.csv", newDailyReport(t), time.Time{})
		run, err := e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}
		if got := periods(run.Periods); run.Status != billing.RunSucceeded || !reflect.DeepEqual(got, []string{"2026-10"}) || run.Rows != 290 {
			t.Errorf("run %s replaced %v with %d rows; want October alone, 290 rows", run.Status, got, run.Rows)
		}
		if len(run.Files) != 2 {
			t.Errorf("read %v, want October's two files only", run.Files)
		}
		sep, oct := month("2026-09"), month("2026-10")
		if run.PeriodVersions[oct] == first.PeriodVersions[oct] {
			t.Error("October's version did not change")
		}
		if _, ok := run.PeriodVersions[sep]; ok {
			t.Error("September was replaced though none of its files changed")
		}
		want := sumByMonth(t, filepath.Join(dir, "report_cost-1950_2026-09.csv"), sampleOct)
		want["2026-10 USD"] = want["2026-10 USD"].Add(decimal.RequireFromString("1.75"))
		assertTotals(t, e.totals(t, billing.DimBillingPeriod), want)

		again, err := e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}
		if again.Status != billing.RunUnchanged {
			t.Errorf("third run %s, want unchanged", again.Status)
		}
	})
}

func TestGzippedAndPlainReportsDatedByModificationTime(t *testing.T) {
	t.Parallel()
	// Real cost reports are named 0001000000xxxxxx.csv.gz and dated only by
	// when OCI wrote them. The October file, written on October 3rd, may
	// still hold September rows, so it belongs to both months' parts.
	dir := t.TempDir()
	put(t, dir, "reports/cost-csv/0001000000000001.csv.gz", gz(t, read(t, sampleSep)), time.Date(2026, 9, 30, 18, 5, 0, 0, time.UTC))
	put(t, dir, "reports/cost-csv/0001000000000002.csv", read(t, sampleOct), time.Date(2026, 10, 3, 6, 5, 0, 0, time.UTC))
	put(t, dir, "reports/usage-csv/0001000000000001.csv.gz", gz(t, read(t, usageOct)), time.Date(2026, 10, 3, 6, 5, 0, 0, time.UTC))
	src := ocibilling.New(localfiles.Dir(dir), "reports/", ocibilling.Options{})

	m, err := src.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range m.Parts {
		got = append(got, p.Period.Format("2006-01"))
		for _, f := range p.Files {
			got = append(got, "  "+f.Name)
		}
	}
	want := []string{
		"2026-09", "  reports/cost-csv/0001000000000001.csv.gz", "  reports/cost-csv/0001000000000002.csv",
		"2026-10", "  reports/cost-csv/0001000000000002.csv",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parts\n%v\nwant\n%v", got, want)
	}

	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		var progressed int64
		run, err := e.ingester.Ingest(context.Background(), billing.IngestRequest{OrgID: e.orgID, ConnectorID: e.connID, Source: src,
			Progress: func(done, total int64) { progressed = done }})
		if err != nil {
			t.Fatal(err)
		}
		if run.Rows != 3168 || progressed == 0 {
			t.Errorf("%d rows, progress %d; want 3168 rows and progress reported", run.Rows, progressed)
		}
		assertTotals(t, e.totals(t, billing.DimBillingPeriod), map[string]decimal.Decimal{"2026-09 USD": wantSep, "2026-10 USD": wantOct})
	})
}

func TestFOCUSReportsWithLateRows(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		dir := t.TempDir()
		put(t, dir, "FOCUS Reports/2026/09/15/0001.csv.gz", focusReport(t,
			focusRow{start: "2026-09-15T01:00Z", cost: "1.10"},
			focusRow{start: "2026-09-15T02:00Z", cost: "2.20", backRef: "V2.refA"}), time.Time{})
		// Written on October 2nd: one late hour of September, one of October.
		put(t, dir, "FOCUS Reports/2026/10/02/0001.csv.gz", focusReport(t,
			focusRow{start: "2026-09-30T23:00Z", cost: "0.30"},
			focusRow{start: "2026-10-01T00:00Z", cost: "4.00"}), time.Time{})
		// The same usage as proprietary reports: not read when FOCUS reports exist.
		put(t, dir, "reports/cost-csv/0001000000000001.csv", read(t, sampleSep), time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC))
		src := ocibilling.New(localfiles.Dir(dir), "", ocibilling.Options{})

		first, err := e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}
		if got := periods(first.Periods); !reflect.DeepEqual(got, []string{"2026-09", "2026-10"}) || first.Rows != 4 {
			t.Errorf("first run replaced %v with %d rows, want September and October, 4 rows", got, first.Rows)
		}
		assertTotals(t, e.totals(t, billing.DimBillingPeriod), map[string]decimal.Decimal{
			"2026-09 USD": decimal.RequireFromString("3.60"), "2026-10 USD": decimal.RequireFromString("4.00")})
		assertTotals(t, e.totals(t, billing.DimChargeClass), map[string]decimal.Decimal{
			"Correction USD": decimal.RequireFromString("2.20"), "<none> USD": decimal.RequireFromString("5.40")})

		// A file of mid-October touches October only.
		put(t, dir, "FOCUS Reports/2026/10/20/0001.csv.gz", focusReport(t, focusRow{start: "2026-10-20T05:00Z", cost: "0.50"}), time.Time{})
		run, err := e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}
		if got := periods(run.Periods); !reflect.DeepEqual(got, []string{"2026-10"}) {
			t.Errorf("mid-month file replaced %v, want October only", got)
		}

		// A file of October 3rd may hold September too: both are re-read.
		put(t, dir, "FOCUS Reports/2026/10/03/0001.csv.gz", focusReport(t,
			focusRow{start: "2026-09-30T22:00Z", cost: "0.05"},
			focusRow{start: "2026-10-03T00:00Z", cost: "0.07"}), time.Time{})
		run, err = e.ingest(t, src)
		if err != nil {
			t.Fatal(err)
		}
		if got := periods(run.Periods); !reflect.DeepEqual(got, []string{"2026-09", "2026-10"}) {
			t.Errorf("early-month file replaced %v, want September and October", got)
		}
		assertTotals(t, e.totals(t, billing.DimBillingPeriod), map[string]decimal.Decimal{
			"2026-09 USD": decimal.RequireFromString("3.65"), "2026-10 USD": decimal.RequireFromString("4.57")})
	})
}

func TestScanLeavesMonthsBeyondRetentionAlone(t *testing.T) {
	// OCI keeps reports a year: the oldest month in the bucket is partial.
	dir := t.TempDir()
	for _, d := range []string{"2025/10/20", "2025/11/01", "2026/06/10", "2026/10/02"} {
		put(t, dir, "FOCUS Reports/"+d+"/0001.csv.gz", focusReport(t, focusRow{start: d[:4] + "-" + d[5:7] + "-" + d[8:] + "T00:00Z", cost: "1"}), time.Time{})
	}
	for _, c := range []struct {
		opts ocibilling.Options
		want []string
	}{
		{ocibilling.Options{}, []string{"2025-11", "2026-06", "2026-09", "2026-10"}},
		{ocibilling.Options{Months: -1}, []string{"2025-10", "2025-11", "2026-06", "2026-09", "2026-10"}},
		{ocibilling.Options{Months: 2, LateDays: -1}, []string{"2026-10"}},
	} {
		m, err := ocibilling.New(localfiles.Dir(dir), "", c.opts).Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range m.Parts {
			got = append(got, p.Period.Format("2006-01"))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: months %v, want %v", c.opts, got, c.want)
		}
	}
}

func TestDetectRecognisesOCILayouts(t *testing.T) {
	focusDir := t.TempDir()
	put(t, focusDir, "FOCUS Reports/2026/09/15/0001.csv.gz", focusReport(t, focusRow{start: "2026-09-15T01:00Z", cost: "1"}), time.Time{})
	awsDir := t.TempDir()
	put(t, awsDir, "cur/cur-daily/20260901-20261001/cur-daily-Manifest.json", []byte("{}"), time.Time{})
	put(t, awsDir, "cur/cur-daily/20260901-20261001/abc/September-2026-cur-daily.csv.gz", gz(t, []byte("identity/LineItemId\n1\n")), time.Time{})
	fakeDir := t.TempDir()
	put(t, fakeDir, "reports/cost-csv/0001.csv", []byte("a,b\n1,2\n"), time.Time{})
	usageDir := t.TempDir()
	put(t, usageDir, "report_usage-5959_2026-10.csv", read(t, usageOct), time.Time{})
	for _, c := range []struct {
		name   string
		bucket billing.Bucket
		want   bool
	}{
		{"proprietary sample", localfiles.Dir("testdata"), true},
		{"FOCUS reports", localfiles.Dir(focusDir), true},
		{"AWS CUR", localfiles.Dir(awsDir), false},
		{"cost-csv folder without a cost report header", localfiles.Dir(fakeDir), false},
		{"usage reports only", localfiles.Dir(usageDir), false},
		{"empty", localfiles.Dir(t.TempDir()), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ocibilling.Detect(context.Background(), c.bucket, "")
			if err != nil || got != c.want {
				t.Errorf("Detect = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

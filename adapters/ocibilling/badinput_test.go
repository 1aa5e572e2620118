package ocibilling_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// smallReport is the September sample's header and first two rows, changed
// by edit (rows[0] is the header, so rows[i] is on line i+1).
func smallReport(t *testing.T, edit func(rows [][]string, col func(string) int)) []byte {
	t.Helper()
	all := records(t, read(t, sampleSep))
	rows := [][]string{all[0], append([]string(nil), all[1]...), append([]string(nil), all[2]...)}
	col := func(name string) int {
		for i, h := range rows[0] {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	if edit != nil {
		edit(rows, col)
	}
	return writeCSV(t, rows)
}

// readAll scans a source and reads every part, as an ingestion would.
func readAll(src billing.Source) error {
	ctx := context.Background()
	m, err := src.Scan(ctx)
	if err != nil {
		return err
	}
	for _, p := range m.Parts {
		if err := src.Read(ctx, p, func(*billing.LineItem) error { return nil }, nil); err != nil {
			return err
		}
	}
	return nil
}

func TestBadInputNamesFileLineAndColumn(t *testing.T) {
	const name = "report_cost-1_2026-09.csv"
	set := func(line int, column, value string) func([][]string, func(string) int) {
		return func(rows [][]string, col func(string) int) { rows[line-1][col(column)] = value }
	}
	for _, c := range []struct {
		name string
		key  string
		data func(t *testing.T) []byte
		want []string
	}{
		{"required column missing", name, func(t *testing.T) []byte {
			return smallReport(t, func(rows [][]string, col func(string) int) {
				i := col("cost/myCost")
				for r := range rows {
					rows[r] = append(rows[r][:i:i], rows[r][i+1:]...)
				}
			})
		}, []string{name + ": line 1:", "not an OCI cost report: missing column(s) cost/myCost"}},
		{"cost not a number", name, func(t *testing.T) []byte { return smallReport(t, set(3, "cost/myCost", "0.05USD")) },
			[]string{name + ": line 3, column cost/myCost:", `"0.05USD" is not a number`}},
		{"cost empty", name, func(t *testing.T) []byte { return smallReport(t, set(2, "cost/myCost", "")) },
			[]string{name + ": line 2, column cost/myCost:", "must not be empty"}},
		{"quantity not a number", name, func(t *testing.T) []byte { return smallReport(t, set(2, "usage/billedQuantity", "two")) },
			[]string{name + ": line 2, column usage/billedQuantity:", "not a number"}},
		{"interval start not a date", name, func(t *testing.T) []byte {
			return smallReport(t, set(2, "lineItem/intervalUsageStart", "2026-13-01T00:00Z"))
		}, []string{name + ": line 2, column lineItem/intervalUsageStart:", "is not a date-time"}},
		{"correction flag not a boolean", name, func(t *testing.T) []byte { return smallReport(t, set(3, "lineItem/isCorrection", "maybe")) },
			[]string{name + ": line 3, column lineItem/isCorrection:", `"maybe" is not true or false`}},
		{"currency empty", name, func(t *testing.T) []byte { return smallReport(t, set(2, "cost/currencyCode", "")) },
			[]string{name + ": line 2, column cost/currencyCode:", "must not be empty"}},
		{"row of another month than the file name says", name, func(t *testing.T) []byte {
			return smallReport(t, set(3, "lineItem/intervalUsageStart", "2026-10-05T00:00Z"))
		}, []string{name + ": line 3, column lineItem/intervalUsageStart:", "billing month 2026-10", "dated 2026-09 by its name"}},
		{"wrong number of fields", name, func(t *testing.T) []byte {
			lines := strings.Split(string(smallReport(t, nil)), "\n")
			lines[1] += ",extra"
			return []byte(strings.Join(lines, "\n"))
		}, []string{name + ": line 2:", "wrong number of fields"}},
		{"unterminated quote", name, func(t *testing.T) []byte {
			text := string(smallReport(t, nil))
			return []byte(text + `V2.x,"ocid1.tenancy` + "\n")
		}, []string{name + ": line 4, column", "malformed CSV"}},
		{"empty file", name, func(t *testing.T) []byte { return nil }, []string{name + ": line 1:", "empty file"}},
		{"truncated gzip", "reports/cost-csv/0001000000000001.csv.gz", func(t *testing.T) []byte {
			full := gz(t, read(t, sampleSep))
			return full[:len(full)/2]
		}, []string{"reports/cost-csv/0001000000000001.csv.gz: line ", "cannot read the file"}},
		{"not gzip though named .gz", "reports/cost-csv/0001000000000001.csv.gz", func(t *testing.T) []byte { return smallReport(t, nil) },
			[]string{"reports/cost-csv/0001000000000001.csv.gz: line 1:", "named .gz but not gzip-compressed"}},
		{"FOCUS report lacking BilledCost", "FOCUS Reports/2026/09/15/0001.csv", func(t *testing.T) []byte {
			return []byte("BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,EffectiveCost,Provider\n")
		}, []string{"FOCUS Reports/2026/09/15/0001.csv: line 1:", "missing column(s) BilledCost"}},
		{"FOCUS row later than the late-data window", "FOCUS Reports/2026/10/12/0001.csv.gz", func(t *testing.T) []byte {
			return focusReport(t, focusRow{start: "2026-10-12T00:00Z", cost: "1"}, focusRow{start: "2026-09-29T00:00Z", cost: "1"})
		}, []string{"FOCUS Reports/2026/10/12/0001.csv.gz: line 3, column BillingPeriodStart:", "billing month 2026-09", "dated 2026-10-12 by its folder"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			put(t, dir, c.key, c.data(t), time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC))
			err := readAll(ocibilling.New(localfiles.Dir(dir), "", ocibilling.Options{}))
			if err == nil {
				t.Fatal("no error")
			}
			if domain.ErrorCode(err) != domain.Invalid {
				t.Errorf("code %s, want invalid: %v", domain.ErrorCode(err), err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestBadFileFailsRunAndKeepsLoadedMonths(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		dir := t.TempDir()
		put(t, dir, "report_cost-1950_2026-09.csv", smallReport(t, nil), time.Time{})
		put(t, dir, "report_cost-7576_2026-10.csv", read(t, sampleOct), time.Time{})
		src := ocibilling.New(localfiles.Dir(dir), "", ocibilling.Options{})
		if _, err := e.ingest(t, src); err != nil {
			t.Fatal(err)
		}
		// A new October file whose second row is broken: the first row must
		// not be committed either.
		put(t, dir, "report_cost-8000_2026-10.csv", smallReport(t, func(rows [][]string, col func(string) int) {
			rows[1][col("lineItem/intervalUsageStart")] = "2026-10-04T00:00Z"
			rows[1][col("lineItem/intervalUsageEnd")] = "2026-10-04T01:00Z"
			rows[2][col("lineItem/intervalUsageStart")] = "2026-10-04T01:00Z"
			rows[2][col("cost/myCost")] = "n/a"
		}), time.Time{})
		run, err := e.ingest(t, src)
		if err == nil || run.Status != billing.RunFailed {
			t.Fatalf("run %s, error %v; want a failed run", run.Status, err)
		}
		if !strings.Contains(run.Error, "report_cost-8000_2026-10.csv: line 3, column cost/myCost") {
			t.Errorf("run error %q does not locate the bad cell", run.Error)
		}
		assertTotals(t, e.totals(t, billing.DimBillingPeriod), sumByMonth(t, filepath.Join(dir, "report_cost-1950_2026-09.csv"), sampleOct))
	})
}

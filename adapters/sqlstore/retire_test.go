package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
)

const retireHeader = "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ProviderName\n"

func focusRows(periodStart, periodEnd, cost string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		day := periodStart[:8] + []string{"10", "11", "12"}[i%3]
		b.WriteString(periodStart + "T00:00:00Z," + periodEnd + "T00:00:00Z," + day + "T00:00:00Z," + day + "T01:00:00Z,USD," + cost + "," + cost + ",AWS\n")
	}
	return b.String()
}

func rewrite(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(path, future, future)
}

func TestReingestedFOCUSFileRetiresPeriodsItNoLongerHolds(t *testing.T) {
	for _, tc := range []struct{ name, augStart, augEnd string }{
		{"calendar months", "2024-08-01", "2024-09-01"},
		{"mid-month billing period", "2024-08-15", "2024-09-15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
				e := newEnv(s)
				org := e.org(t, "acme")
				path := filepath.Join(t.TempDir(), "focus.csv")
				sepStart, sepEnd := "2024-09-15", "2024-10-15"
				if tc.augStart == "2024-08-01" {
					sepStart, sepEnd = "2024-09-01", "2024-10-01"
				}
				rewrite(t, path, retireHeader+focusRows(tc.augStart, tc.augEnd, "1000.10", 3)+focusRows(sepStart, sepEnd, "20.01", 3))
				if run, err := e.ingest(t, org, path); err != nil || len(run.Periods) != 2 {
					t.Fatalf("first ingest: %v %v", run.Periods, err)
				}

				// The file is re-exported holding September only, restated.
				rewrite(t, path, retireHeader+focusRows(sepStart, sepEnd, "30.03", 3))
				run, err := e.ingest(t, org, path)
				if err != nil {
					t.Fatal(err)
				}
				aug := date(tc.augStart)
				if len(run.Retired) != 1 || !run.Retired[0].Equal(aug) {
					t.Errorf("run retired %v, want [%s]", run.Retired, tc.augStart)
				}
				if !strings.Contains(run.Summary(time.Second), "retired 1 period(s) the source no longer holds [2024-08]") {
					t.Errorf("summary %q does not say what was retired", run.Summary(time.Second))
				}
				if got, want := e.byProvider(t, org.ID)["AWS USD"], decimal.RequireFromString("90.09"); !got.Equal(want) {
					t.Errorf("total %s, want only the new September's %s", got, want)
				}
				if n := countRows(t, s, org.ID); n != 3 {
					t.Errorf("%d line items stored, want the new September's 3", n)
				}
				versions, err := s.PartitionVersions(context.Background(), org.ID, run.ConnectorID)
				if err != nil || len(versions) != 1 {
					t.Errorf("active partitions %v (%v), want September only", versions, err)
				}
				if s.Dialect() == sqlstore.Postgres {
					if tables := sqlstore.LineItemTables(t, s); len(tables) != 1 {
						t.Errorf("line item tables %v, want the new run's only", tables)
					}
				}
				runs, err := s.ListRuns(context.Background(), []string{org.ID}, 10)
				if err != nil || len(runs) != 2 || len(runs[0].Retired) != 1 || !runs[0].Retired[0].Equal(aug) {
					t.Errorf("stored runs %+v (%v), want the newest recording August retired", runs, err)
				}
			})
		})
	}
}

// partialExport is a provider export whose newest delivery may hold only
// some months: each listed month is one part.
type partialExport struct{ months []time.Time }

func (p *partialExport) Scan(context.Context) (billing.Manifest, error) {
	var parts []billing.Part
	for _, m := range p.months {
		parts = append(parts, billing.Part{Period: m, Version: "v-" + m.Format("2006-01"), Files: []billing.SourceFile{{Name: m.Format("2006-01") + ".csv", Size: 1}}})
	}
	return billing.Manifest{Format: "test", Parts: parts}, nil
}

func (p *partialExport) Read(_ context.Context, part billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	l := billing.LineItem{BillingPeriodStart: part.Period, BillingPeriodEnd: part.Period.AddDate(0, 1, 0),
		ChargePeriodStart: part.Period, ChargePeriodEnd: part.Period.AddDate(0, 0, 1),
		BillingCurrency: "USD", BilledCost: "1.50", EffectiveCost: "1.50", ProviderName: "AWS"}
	progress(1)
	return fn(&l)
}

func TestProviderExportKeepsPeriodsItNoLongerDelivers(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		org := e.org(t, "acme")
		src := &partialExport{months: []time.Time{date("2026-09-01"), date("2026-10-01")}}
		ingest := func() billing.IngestionRun {
			t.Helper()
			run, err := e.ingester.Ingest(context.Background(), billing.IngestRequest{OrgID: org.ID, ConnectorID: "conn-1", Source: src})
			if err != nil {
				t.Fatal(err)
			}
			return run
		}
		ingest()
		src.months = []time.Time{date("2026-11-01")} // the newest delivery only
		if run := ingest(); len(run.Retired) != 0 {
			t.Errorf("retired %v, want nothing", run.Retired)
		}
		if got, want := e.byProvider(t, org.ID)["AWS USD"], decimal.RequireFromString("4.50"); !got.Equal(want) {
			t.Errorf("total %s, want all three months' %s", got, want)
		}
	})
}

package sqlstore_test

import (
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
)

// monthTotals is costs for September 2024 by provider, in metric m.
func (e pricingEnv) monthTotals(t *testing.T, orgID string, m billing.Metric) map[string]decimal.Decimal {
	t.Helper()
	rep, err := e.reporter.Report(context.Background(), system, billing.CostQuery{OrgID: orgID, From: date("2024-09-01"),
		To: date("2024-10-01"), DateBasis: billing.BillingPeriod, Metric: m, GroupBy: []billing.Dimension{billing.DimProvider}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]decimal.Decimal{}
	for _, g := range rep.Groups {
		v := ""
		if g.Keys[0].Value != nil {
			v = *g.Keys[0].Value
		}
		out[v] = out[v].Add(g.Total)
	}
	return out
}

func TestExportLineItemsStreamTheActiveMonthOfOneOrganization(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newPricingEnv(t, s)
		ctx := context.Background()
		path := filepath.Join("testdata", "focus-1.2-sample.csv")
		acme, beta := e.customer(t, "acme"), e.customer(t, "beta")
		for _, org := range []string{acme.Slug, beta.Slug} {
			o := acme
			if org == beta.Slug {
				o = beta
			}
			// Ingested twice: the second run is unchanged, so one active
			// version per period.
			for range 2 {
				if _, err := e.ingest(t, o, path); err != nil {
					t.Fatal(err)
				}
			}
		}
		e.price(t, acme.ID)
		cost := e.monthTotals(t, acme.ID, billing.BilledCost)
		resale := e.monthTotals(t, acme.ID, billing.ResaleCost)
		if len(cost) == 0 {
			t.Fatal("no costs in the sample month")
		}
		for provider := range cost {
			sc := exports.Scope{OrgID: acme.ID, Month: date("2024-09-01"), ProviderNames: []string{provider}}
			gotCost, gotResale := decimal.Zero, decimal.Zero
			rows := 0
			err := s.ExportLineItems(ctx, sc, func(it *exports.Item) error {
				rows++
				gotCost = gotCost.Add(it.BilledCost.Decimal())
				gotResale = gotResale.Add(it.Resale().Decimal())
				if it.Provider() != provider {
					t.Fatalf("row of provider %q in the export of %q", it.Provider(), provider)
				}
				if it.ChargePeriodStart.IsZero() || it.BillingCurrency == "" {
					t.Fatalf("row not read whole: %+v", it.LineItem)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !gotCost.Equal(cost[provider]) || !gotResale.Equal(resale[provider]) {
				t.Errorf("%s: export sums cost %s resale %s, costs says %s and %s", provider, gotCost, gotResale, cost[provider], resale[provider])
			}
			if rows == 0 {
				t.Errorf("%s: no rows", provider)
			}
			// Names match whatever their case.
			upper := 0
			err = s.ExportLineItems(ctx, exports.Scope{OrgID: acme.ID, Month: sc.Month, ProviderNames: []string{strings.ToUpper(provider)}},
				func(*exports.Item) error { upper++; return nil })
			if err != nil || upper != rows {
				t.Errorf("%s upper-cased: %d rows (%v), want %d", provider, upper, err, rows)
			}
			srcs, err := s.ExportSources(ctx, sc)
			if err != nil {
				t.Fatal(err)
			}
			formats := map[string]bool{}
			for _, v := range srcs {
				formats[v.Format] = true
			}
			if !formats["focus"] && provider != "Reseller" {
				t.Errorf("%s: sources %+v, want the focus run", provider, srcs)
			}
		}
		all := make([]string, 0, len(cost))
		for p := range cost {
			all = append(all, p)
		}
		cols, err := s.ExportColumns(ctx, exports.Scope{OrgID: acme.ID, Month: date("2024-09-01"), ProviderNames: all})
		if err != nil {
			t.Fatal(err)
		}
		if len(cols.TagKeys) == 0 {
			t.Errorf("columns %+v: want the sample's tag keys", cols)
		}
		// The database's keys are exactly those of the rows.
		extras, tags := map[string]bool{}, map[string]bool{}
		err = s.ExportLineItems(ctx, exports.Scope{OrgID: acme.ID, Month: date("2024-09-01"), ProviderNames: all}, func(it *exports.Item) error {
			for k := range it.Extras {
				extras[k] = true
			}
			var m map[string]any
			if it.Tags != "" {
				if err := json.Unmarshal([]byte(it.Tags), &m); err != nil {
					return err
				}
			}
			for k := range m {
				tags[k] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cols.Extras, slices.Sorted(maps.Keys(extras))) || !slices.Equal(cols.TagKeys, slices.Sorted(maps.Keys(tags))) {
			t.Errorf("columns %+v, the rows have extras %v and tags %v", cols, slices.Sorted(maps.Keys(extras)), slices.Sorted(maps.Keys(tags)))
		}
		months, err := s.ExportMonths(ctx, acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(months, func(m time.Time) bool { return m.Equal(date("2024-09-01")) }) {
			t.Errorf("months %v: want 2024-09", months)
		}
		// Another organization's month holds nothing of acme's.
		n := 0
		if err := s.ExportLineItems(ctx, exports.Scope{OrgID: "nobody", Month: date("2024-09-01"), ProviderNames: all},
			func(*exports.Item) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("unknown organization: %d rows, err %v", n, err)
		}
	})
}

func TestExportConfigsAndRunQueue(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newPricingEnv(t, s)
		ctx := context.Background()
		acme := e.customer(t, "acme")
		now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
		c := exports.Config{ID: "c1", OrgID: acme.ID, Enabled: true, Providers: []connectors.Provider{connectors.AWS, connectors.GCP},
			Basis: exports.AtResale, Format: exports.Native, Destination: exports.Destination{Kind: exports.GCS, Bucket: "b", Prefix: "p/q"},
			VerifiedAt: now, CreatedAt: now, UpdatedAt: now}
		if err := s.SaveConfig(ctx, c, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		c.Enabled = false
		if err := s.SaveConfig(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		got, key, err := s.ExportConfig(ctx, acme.ID, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if string(key) != "sealed" || !got.HasKey || got.Enabled || !slices.Equal(got.Providers, c.Providers) ||
			got.Destination != c.Destination || !got.VerifiedAt.Equal(now) {
			t.Errorf("got %+v key %q", got, key)
		}
		if _, _, err := s.ExportConfig(ctx, e.reseller.Org.ID, "c1"); err == nil {
			t.Error("another organization read the configuration")
		}
		r := exports.Run{ID: "r1", OrgID: acme.ID, ConfigID: "c1", CustomerID: acme.ID, Provider: connectors.AWS,
			Month: date("2024-09-01"), Reason: "ingest", Status: exports.RunQueued, NextAttemptAt: now, Basis: exports.AtResale, QueuedAt: now}
		for i, want := range []bool{true, false} {
			r.ID = []string{"r1", "r2"}[i]
			added, err := s.QueueExport(ctx, r)
			if err != nil || added != want {
				t.Fatalf("queue #%d: added %v err %v, want %v", i+1, added, err, want)
			}
		}
		if runs, err := s.ClaimExports(ctx, now.Add(-time.Second), 10); err != nil || len(runs) != 0 {
			t.Fatalf("claimed %v (err %v) before it was due", runs, err)
		}
		runs, err := s.ClaimExports(ctx, now, 10)
		if err != nil || len(runs) != 1 || runs[0].Status != exports.RunRunning {
			t.Fatalf("claim: %+v, %v", runs, err)
		}
		if again, _ := s.ClaimExports(ctx, now, 10); len(again) != 0 {
			t.Fatalf("claimed twice: %+v", again)
		}
		run := runs[0]
		run.Status, run.Rows, run.Files = exports.RunSucceeded, 3, []exports.File{{Key: "k", Rows: 3, SHA256: "ab"}}
		run.Totals = []billing.Money{{Amount: decimal.RequireFromString("1.000000001"), Currency: "USD"}}
		run.FinishedAt = now
		if err := s.SaveExportRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		list, err := s.ExportRuns(ctx, []string{acme.ID}, 10)
		if err != nil || len(list) != 1 || list[0].Rows != 3 || list[0].Totals[0].Amount.String() != "1.000000001" ||
			list[0].Files[0].Key != "k" {
			t.Fatalf("runs: %+v, %v", list, err)
		}
		if list, _ := s.ExportRuns(ctx, []string{e.reseller.Org.ID}, 10); len(list) != 0 {
			t.Errorf("the reseller's own runs list acme's: %+v", list)
		}
		if err := s.DeleteExportConfig(ctx, acme.ID, "c1"); err != nil {
			t.Fatal(err)
		}
	})
}

package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
)

// reportRow is one generated line item, kept to compute the expected
// answers the slow, obvious way.
type reportRow struct {
	day                                time.Time
	provider, service, region, account string
	sku                                string
	currency                           string
	billed, list                       string // list "" is null
	tags                               map[string]any
}

func (r reportRow) value(d billing.Dimension, orgID string) string {
	switch d {
	case billing.DimProvider:
		return r.provider
	case billing.DimCloud:
		switch r.provider {
		case "AWS":
			return "AWS"
		case "Google", "Google Cloud":
			return "GCP"
		case "Microsoft":
			return "AZURE"
		}
		return "OTHER"
	case billing.DimServiceName:
		return r.service
	case billing.DimRegion:
		return r.region
	case billing.DimBillingAccount:
		return r.account
	case billing.DimBillingPeriod:
		return r.day.Format("2006-01")
	case billing.DimCurrency:
		return r.currency
	case billing.DimOrganization:
		return orgID
	case billing.DimSKU:
		return r.sku
	}
	panic("dimension " + string(d))
}

func (r reportRow) tag(key string) string {
	v, ok := r.tags[key]
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// reportRows are 1,500 line items over September and October 2026: four
// spellings of three clouds, a tag with few values that some rows lack, a
// numeric tag (which databases render each their own way, so it has no tag
// rollups), and a session tag unique per row (past the tag rollup limit).
func reportRows() []reportRow {
	providers := []string{"AWS", "Google", "Google Cloud", "Microsoft"}
	services := []string{"Compute", "Storage", "Database", "Network"}
	regions := []string{"us-east-1", "eu-west-1", ""}
	teams := []string{"red", "blue", "green"}
	var rows []reportRow
	for i := range 1500 {
		r := reportRow{
			day:      time.Date(2026, 9, 1+i%61, 0, 0, 0, 0, time.UTC),
			provider: providers[i%len(providers)],
			service:  services[(i/3)%len(services)],
			region:   regions[i%len(regions)],
			account:  fmt.Sprintf("acct-%d", i%5),
			sku:      fmt.Sprintf("SKU%02d", i%13),
			currency: "USD",
			billed:   fmt.Sprintf("%d.%03d", i%17-3, (i*37)%1000),
			tags:     map[string]any{"session": fmt.Sprintf("s-%05d", i)},
		}
		if i%11 == 0 {
			r.currency = "EUR"
		}
		if i%4 != 0 {
			r.list = fmt.Sprintf("%d.5", i%9)
		}
		if i%7 != 0 {
			r.tags["team"] = teams[i%len(teams)]
		}
		if i%5 == 0 {
			r.tags["cost_center"] = 40 + i%3
		}
		rows = append(rows, r)
	}
	return rows
}

func writeReportRows(t *testing.T, path string, rows []reportRow) {
	t.Helper()
	var b strings.Builder
	b.WriteString("BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ListCost," +
		"ProviderName,ServiceName,RegionId,BillingAccountId,SkuId,Tags\n")
	for _, r := range rows {
		start := billing.MonthStart(r.day)
		tags, _ := json.Marshal(r.tags)
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,\"%s\"\n", start.Format(time.RFC3339), start.AddDate(0, 1, 0).Format(time.RFC3339),
			r.day.Format(time.RFC3339), r.day.AddDate(0, 0, 1).Format(time.RFC3339), r.currency, r.billed, r.billed, r.list,
			r.provider, r.service, r.region, r.account, r.sku, strings.ReplaceAll(string(tags), `"`, `""`))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// expect computes a report from the rows the obvious way: a map of group
// key to total and points.
func expect(rows []reportRow, orgID string, q billing.CostQuery) map[string]string {
	out := map[string]decimal.Decimal{}
	for _, r := range rows {
		at := r.day
		if q.DateBasis == billing.BillingPeriod {
			at = billing.MonthStart(r.day)
		}
		if at.Before(q.From) || !at.Before(q.To) {
			continue
		}
		keep := true
		for d, vals := range q.Filter.Values {
			keep = keep && contains(vals, r.value(d, orgID))
		}
		for _, f := range q.Filter.Tags {
			keep = keep && contains(f.Values, r.tag(f.Key))
		}
		if !keep {
			continue
		}
		amount := r.billed
		if q.Metric == billing.ListCost {
			amount = r.list
		}
		if amount == "" {
			amount = "0"
		}
		var key []string
		for _, d := range q.GroupBy {
			key = append(key, r.value(d, orgID))
		}
		for _, k := range q.TagKeys {
			key = append(key, r.tag(k))
		}
		key = append(key, r.currency)
		switch q.Granularity {
		case billing.Daily:
			key = append(key, r.day.Format(time.DateOnly))
		case billing.Monthly:
			key = append(key, billing.MonthStart(r.day).Format(time.DateOnly))
		}
		k := strings.Join(key, "|")
		out[k] = out[k].Add(decimal.RequireFromString(amount))
	}
	text := make(map[string]string, len(out))
	for k, v := range out {
		text[k] = v.String()
	}
	return text
}

func contains(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

// flatten turns a report into the same map as expect, checking on the way
// that each group's total is the sum of its points.
func flatten(t *testing.T, rep billing.CostReport, q billing.CostQuery) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, g := range rep.Groups {
		var key []string
		for _, k := range g.Keys {
			v := ""
			if k.Value != nil {
				v = *k.Value
			}
			key = append(key, v)
		}
		key = append(key, g.Currency)
		if q.Granularity == billing.Total {
			k := strings.Join(key, "|")
			if _, dup := out[k]; dup {
				t.Errorf("group %s appears twice", k)
			}
			out[k] = g.Total.String()
			continue
		}
		var sum decimal.Decimal
		for _, p := range g.Points {
			k := strings.Join(append(append([]string{}, key...), p.Date.Format(time.DateOnly)), "|")
			out[k] = p.Amount.String()
			sum = sum.Add(p.Amount)
		}
		if !sum.Equal(g.Total) {
			t.Errorf("group %v: total %s, points sum to %s", key, g.Total, sum)
		}
	}
	return out
}

// tables records which cost tables the statements of a report read.
type tables struct {
	mu   sync.Mutex
	read map[string]bool
}

func (h *tables) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range []string{"cost_dim_rollups", "cost_service_rollups", "cost_month_rollups", "cost_tag_rollups", "cost_line_items"} {
		if strings.Contains(e.Query, "FROM "+t) {
			h.read[t] = true
		}
	}
	return ctx
}

func (h *tables) AfterQuery(context.Context, *bun.QueryEvent) {}

func (h *tables) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.read = map[string]bool{}
}

func (h *tables) names() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for t := range h.read {
		out = append(out, t)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestReportsGroupInTheDatabaseExactly runs each report shape against the
// store — from the dimension rollup, the tag rollups or the line items, as
// the shape needs — and checks it against the same sums made row by row.
func TestReportsGroupInTheDatabaseExactly(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		hook := &tables{read: map[string]bool{}}
		hooked := s.WithQueryHook(hook)
		e := newEnv(hooked)
		org, other := e.org(t, "acme"), e.org(t, "globex")
		rows := reportRows()
		path := filepath.Join(t.TempDir(), "acme.csv")
		writeReportRows(t, path, rows)
		if _, err := e.ingest(t, org, path); err != nil {
			t.Fatal(err)
		}
		otherPath := filepath.Join(t.TempDir(), "globex.csv")
		writeReportRows(t, otherPath, rows[:100])
		if _, err := e.ingest(t, other, otherPath); err != nil {
			t.Fatal(err)
		}

		sep, nov := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		svc, dims, tags, items := "cost_service_rollups", "cost_dim_rollups", "cost_service_rollups cost_tag_rollups", "cost_line_items cost_service_rollups"
		months := "cost_month_rollups"
		cases := []struct {
			name  string
			q     billing.CostQuery
			reads string
		}{
			{"by provider daily", billing.CostQuery{GroupBy: []billing.Dimension{billing.DimProvider}, Granularity: billing.Daily}, svc},
			{"by cloud monthly", billing.CostQuery{GroupBy: []billing.Dimension{billing.DimCloud}, Granularity: billing.Monthly}, months},
			{"by cloud monthly from mid-month reads days", billing.CostQuery{From: sep.AddDate(0, 0, 14), GroupBy: []billing.Dimension{billing.DimCloud},
				Granularity: billing.Monthly}, svc},
			{"a total to mid-month reads days", billing.CostQuery{To: nov.AddDate(0, 0, -9), GroupBy: []billing.Dimension{billing.DimServiceName}}, svc},
			{"by billing period from mid-month", billing.CostQuery{From: sep.AddDate(0, 0, 3), GroupBy: []billing.Dimension{billing.DimBillingPeriod},
				DateBasis: billing.BillingPeriod, Granularity: billing.Monthly}, months},
			{"by region and account, list cost", billing.CostQuery{GroupBy: []billing.Dimension{billing.DimRegion, billing.DimBillingAccount},
				Metric: billing.ListCost}, dims},
			{"by billing period on its basis", billing.CostQuery{GroupBy: []billing.Dimension{billing.DimBillingPeriod},
				DateBasis: billing.BillingPeriod, Granularity: billing.Monthly}, months},
			{"filtered to GCP and a service", billing.CostQuery{GroupBy: []billing.Dimension{billing.DimProvider},
				Filter: billing.CostFilter{Values: map[billing.Dimension][]string{billing.DimCloud: {"GCP"}, billing.DimServiceName: {"Compute"}}}}, months},
			{"an empty region is no region", billing.CostQuery{Filter: billing.CostFilter{Values: map[billing.Dimension][]string{billing.DimRegion: {""}}}}, dims},
			{"by organization", billing.CostQuery{GroupBy: []billing.Dimension{billing.DimOrganization}}, months},
			{"team daily", billing.CostQuery{TagKeys: []string{"team"}, Granularity: billing.Daily}, tags},
			{"team by service, list cost", billing.CostQuery{TagKeys: []string{"team"}, GroupBy: []billing.Dimension{billing.DimServiceName},
				Metric: billing.ListCost}, tags},
			{"team filtered to red and none", billing.CostQuery{TagKeys: []string{"team"},
				Filter: billing.CostFilter{Tags: []billing.TagFilter{{Key: "team", Values: []string{"red", ""}}}}}, tags},
			{"filtered to team blue by cloud", billing.CostQuery{GroupBy: []billing.Dimension{billing.DimCloud},
				Filter: billing.CostFilter{Tags: []billing.TagFilter{{Key: "team", Values: []string{"blue"}}}}}, tags},
			{"a numeric tag reads the line items", billing.CostQuery{TagKeys: []string{"cost_center"}, Granularity: billing.Monthly}, items},
			{"team with a region reads the line items", billing.CostQuery{TagKeys: []string{"team"}, GroupBy: []billing.Dimension{billing.DimRegion}}, items},
			{"two tags read the line items", billing.CostQuery{TagKeys: []string{"team", "cost_center"}}, items},
			{"a session per row reads the line items", billing.CostQuery{TagKeys: []string{"session"},
				Filter: billing.CostFilter{Values: map[billing.Dimension][]string{billing.DimServiceName: {"Storage"}}}}, items},
			{"a tag nobody has", billing.CostQuery{TagKeys: []string{"nope"}}, tags},
			{"a SKU drill-down reads the line items", billing.CostQuery{GroupBy: []billing.Dimension{billing.DimSKU},
				Filter: billing.CostFilter{Values: map[billing.Dimension][]string{billing.DimCloud: {"AWS"}}}, Granularity: billing.Daily}, items},
			{"team filtered to one SKU reads the line items", billing.CostQuery{TagKeys: []string{"team"},
				Filter: billing.CostFilter{Values: map[billing.Dimension][]string{billing.DimSKU: {"SKU03"}}}}, items},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				q := c.q
				q.OrgID = org.ID
				if q.From.IsZero() {
					q.From = sep
				}
				if q.To.IsZero() {
					q.To = nov
				}
				hook.reset()
				rep, err := e.reporter.Report(ctx, system, q)
				if err != nil {
					t.Fatal(err)
				}
				if got := hook.names(); got != c.reads {
					t.Errorf("read %q, want %q", got, c.reads)
				}
				q.Metric, q.DateBasis, q.Granularity = orDefault(q.Metric, billing.BilledCost), orDefault(q.DateBasis, billing.ChargePeriod),
					orDefault(q.Granularity, billing.Total)
				got, want := flatten(t, rep, q), expect(rows, org.ID, q)
				if len(got) != len(want) {
					t.Errorf("%d groups, want %d", len(got), len(want))
				}
				for k, w := range want {
					if g, ok := got[k]; !ok || !decimal.RequireFromString(g).Equal(decimal.RequireFromString(w)) {
						t.Errorf("%s: got %q, want %s", k, g, w)
					}
				}
				for k := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("unexpected group %s", k)
					}
				}
			})
		}
	})
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// TestReportsAreCachedUntilAPeriodIsSwapped asks the same report twice, then
// loads a restated month and asks again: the second answer comes from the
// cache, the third sees the new data.
func TestReportsAreCachedUntilAPeriodIsSwapped(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		hook := &tables{read: map[string]bool{}}
		e := newEnv(s.WithQueryHook(hook))
		org := e.org(t, "acme")
		rows := reportRows()[:300]
		path := filepath.Join(t.TempDir(), "acme.csv")
		writeReportRows(t, path, rows)
		if _, err := e.ingest(t, org, path); err != nil {
			t.Fatal(err)
		}
		q := billing.CostQuery{OrgID: org.ID, From: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
			GroupBy: []billing.Dimension{billing.DimServiceName}}
		first, err := e.reporter.Report(ctx, system, q)
		if err != nil {
			t.Fatal(err)
		}
		hook.reset()
		second, err := e.reporter.Report(ctx, system, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := hook.names(); got != "" {
			t.Errorf("the repeated report read %q; want it from the cache", got)
		}
		if first.Totals[0].Amount.String() != second.Totals[0].Amount.String() {
			t.Errorf("cached total %s, first %s", second.Totals[0].Amount, first.Totals[0].Amount)
		}

		// The provider restates the months with one more line item.
		extra := rows[0]
		extra.billed = "1000.5"
		writeReportRows(t, path, append(rows, extra))
		future := time.Now().Add(time.Minute)
		_ = os.Chtimes(path, future, future)
		if _, err := e.ingest(t, org, path); err != nil {
			t.Fatal(err)
		}
		third, err := e.reporter.Report(ctx, system, q)
		if err != nil {
			t.Fatal(err)
		}
		want := first.Totals[0].Amount.Add(decimal.RequireFromString("1000.5"))
		if !third.Totals[0].Amount.Equal(want) {
			t.Errorf("after the restatement the total is %s, want %s", third.Totals[0].Amount, want)
		}
	})
}

// TestReportsKeepTheLargestGroups asks for the top groups of shapes read
// from each source and checks them against the whole report: the same
// first groups, the same totals, and the rest in Others.
func TestReportsKeepTheLargestGroups(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		e := newEnv(s)
		org := e.org(t, "acme")
		path := filepath.Join(t.TempDir(), "acme.csv")
		writeReportRows(t, path, reportRows())
		if _, err := e.ingest(t, org, path); err != nil {
			t.Fatal(err)
		}
		sep, nov := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for name, q := range map[string]billing.CostQuery{
			"services":      {GroupBy: []billing.Dimension{billing.DimServiceName}},
			"teams":         {TagKeys: []string{"team"}},
			"sessions":      {TagKeys: []string{"session"}},
			"SKUs by day":   {GroupBy: []billing.Dimension{billing.DimSKU}, Granularity: billing.Daily},
			"SKUs for blue": {GroupBy: []billing.Dimension{billing.DimSKU}, Filter: billing.CostFilter{Tags: []billing.TagFilter{{Key: "team", Values: []string{"blue"}}}}},
		} {
			t.Run(name, func(t *testing.T) {
				q.OrgID, q.From, q.To = org.ID, sep, nov
				whole, err := e.reporter.Report(ctx, system, q)
				if err != nil {
					t.Fatal(err)
				}
				q.Limit = 3
				top, err := e.reporter.Report(ctx, system, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(whole.Groups) <= 3 {
					t.Fatalf("only %d groups: the shape does not test a limit", len(whole.Groups))
				}
				if len(top.Groups) != 3 {
					t.Fatalf("%d groups, want 3", len(top.Groups))
				}
				keys := func(g billing.CostGroup) string {
					var out []string
					for _, k := range g.Keys {
						out = append(out, fmt.Sprintf("%s=%v", k.Dimension, deref(k.Value)))
					}
					return g.Currency + " " + strings.Join(out, ",")
				}
				others := map[string]decimal.Decimal{}
				for _, m := range whole.Totals {
					others[m.Currency] = m.Amount
				}
				for i, g := range top.Groups {
					w := whole.Groups[i]
					if !g.Total.Equal(w.Total) || keys(g) != keys(w) || len(g.Points) != len(w.Points) {
						t.Errorf("group %d: %s %s, want %s %s", i, keys(g), g.Total, keys(w), w.Total)
					}
					others[g.Currency] = others[g.Currency].Sub(g.Total)
				}
				if fmt.Sprint(top.Totals) != fmt.Sprint(whole.Totals) {
					t.Errorf("totals %v, want %v", top.Totals, whole.Totals)
				}
				if len(top.Others) != len(others) {
					t.Errorf("others %v, want %v", top.Others, others)
				}
				for _, m := range top.Others {
					if !m.Amount.Equal(others[m.Currency]) {
						t.Errorf("others in %s: %s, want %s", m.Currency, m.Amount, others[m.Currency])
					}
				}
			})
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

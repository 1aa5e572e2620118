package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

// itemsSource serves line items from memory, as one part whose billing
// periods are found in the data.
type itemsSource []billing.LineItem

func (s itemsSource) Scan(context.Context) (billing.Manifest, error) {
	return billing.Manifest{Format: "test", Parts: []billing.Part{{Version: "v1", Files: []billing.SourceFile{{Name: "items.csv", Size: 1}}}}}, nil
}

func (s itemsSource) Read(_ context.Context, _ billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	for i := range s {
		l := s[i]
		if err := fn(&l); err != nil {
			return err
		}
	}
	progress(1)
	return nil
}

// sqlRollups is a store whose runs publish without the ingester's
// rollups, so that it builds them from the line items, as it does for a
// run past the ingester's bounds.
type sqlRollups struct{ *sqlstore.Store }

func (s sqlRollups) PublishRun(ctx context.Context, run billing.IngestionRun, _ *billing.Rollups) error {
	return s.Store.PublishRun(ctx, run, nil)
}

// handedRollups is a store noting whether the ingester handed it rollups.
type handedRollups struct {
	*sqlstore.Store
	handed *bool
}

func (s handedRollups) PublishRun(ctx context.Context, run billing.IngestionRun, r *billing.Rollups) error {
	*s.handed = r != nil
	return s.Store.PublishRun(ctx, run, r)
}

// stagedItems are line items with what rollups must get right: three
// billing periods, charges either side of midnight, four spellings of
// clouds and a provider named only by ServiceProviderName, null list and
// contracted costs, amounts in scientific notation and past int64, text
// with tabs, new lines and accents, and tags with null and empty values, a
// numeric tag, keys SQLite's JSON paths cannot name, and a session unique
// per row.
func stagedItems(n int) []billing.LineItem {
	rng := rand.New(rand.NewPCG(8, 13))
	periods := []time.Time{date("2026-08-01"), date("2026-09-01"), date("2026-10-01")}
	amounts := []string{"0", "1.25", "-3.5", "12.3456789", "1.7e-05", "2E+3", "12345678901234567890.5", "0.0000000001", "99999999999999999"}
	items := make([]billing.LineItem, n)
	for i := range items {
		p := periods[rng.IntN(len(periods))]
		charge := p.Add(time.Duration(rng.IntN(2*24)) * time.Hour)
		switch i % 17 {
		case 0:
			charge = p.AddDate(0, 0, 1).Add(-time.Microsecond) // 23:59:59.999999
		case 1:
			charge = p.AddDate(0, 0, 1)
		}
		// A service has its region and accounts, so that rollup rows
		// sum several line items.
		svc := rng.IntN(5)
		l := billing.LineItem{BillingPeriodStart: p, BillingPeriodEnd: p.AddDate(0, 1, 0), ChargePeriodStart: charge, ChargePeriodEnd: charge.Add(time.Hour),
			BillingCurrency: []string{"USD", "EUR"}[rng.IntN(2)],
			BilledCost:      billing.Number(amounts[rng.IntN(len(amounts))]), EffectiveCost: billing.Number(amounts[rng.IntN(len(amounts))]),
			ProviderName:    []string{"AWS", "Google", "Google Cloud", "Microsoft", ""}[rng.IntN(5)],
			ServiceName:     []string{"Compute", "Storage", "Réseau\tnet", "Line\nbreak", ""}[svc],
			ServiceCategory: []string{"Compute", ""}[svc%2], RegionID: []string{"us-east-1", "eu-west-1", ""}[svc%3],
			BillingAccountID: fmt.Sprint("acct-", svc%3), SubAccountID: fmt.Sprint("sub-", svc%2),
			ChargeCategory: []string{"Usage", "Tax"}[rng.IntN(2)], ResourceID: fmt.Sprint("res-", i)}
		if i%50 == 0 {
			l.ChargeClass = "Correction"
		}
		l.RegionName = strings.ToUpper(l.RegionID)
		l.BillingAccountName, l.SubAccountName = "Account "+l.BillingAccountID, "Sub "+l.SubAccountID
		if l.ProviderName == "" {
			l.ServiceProviderName = "Oracle"
		}
		if rng.IntN(3) > 0 {
			l.ListCost = billing.Number(amounts[rng.IntN(len(amounts))])
		}
		if rng.IntN(3) > 0 {
			l.ContractedCost = billing.Number(amounts[rng.IntN(len(amounts))])
		}
		team := []string{"red", "blue", "", "zoë"}[i%4]
		switch i % 6 {
		case 0: // no tags
		case 1:
			l.Tags = fmt.Sprintf(`{ "team" : %q, "env": null, "k\"q": "v\nw", "k.dot": "x" }`, team)
		case 2:
			l.Tags = fmt.Sprintf(`{"team":%q,"cost_center":%d,"session":"s-%d"}`, team, 40+i%3, i)
		default:
			l.Tags = fmt.Sprintf(`{"team":%q,"env":%q,"cost_center":"%d","session":"s-%d"}`, team, []string{"prod", "dev"}[i%2], 40+i%3, i)
		}
		items[i] = l
	}
	return items
}

// TestStagedRollupsMatchTheDatabasesRollups ingests the same line items
// twice: once with rollups built while reading, once through a store left
// to build them from the line items. Every row of every rollup table must
// agree.
func TestStagedRollupsMatchTheDatabasesRollups(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		e := newEnv(s)
		const rows = 6000
		items := stagedItems(rows)
		staged, built := e.org(t, "staged"), e.org(t, "built")
		var handed bool
		run, err := billing.NewIngester(handedRollups{s, &handed}, tenancy.NewID).
			Ingest(ctx, billing.IngestRequest{OrgID: staged.ID, ConnectorID: "conn-1", Source: itemsSource(items)})
		if err != nil {
			t.Fatal(err)
		}
		if !handed || run.Rows != rows {
			t.Fatalf("run of %d rows published with the ingester's rollups: %v; want %d rows and true", run.Rows, handed, rows)
		}
		rolled := map[string]bool{}
		for _, k := range run.TagKeys {
			rolled[k.Key] = k.RolledUp
		}
		want := map[string]bool{"team": true, "env": true, `k"q`: true, "k.dot": true, "cost_center": false, "session": false}
		for k, w := range want {
			if rolled[k] != w {
				t.Errorf("%s rolled up = %v, want %v", k, rolled[k], w)
			}
		}
		if _, err := billing.NewIngester(sqlRollups{s}, func() string { return "sql-run" }).
			Ingest(ctx, billing.IngestRequest{OrgID: built.ID, ConnectorID: "conn-1", Source: itemsSource(items)}); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"cost_dim_rollups", "cost_service_rollups", "cost_month_rollups", "cost_tag_rollups"} {
			got, want := rollupRows(t, s, table, staged.ID), rollupRows(t, s, table, built.ID)
			if len(want) == 0 {
				t.Fatalf("%s: no rows built", table)
			}
			if len(got) != len(want) {
				t.Errorf("%s: %d rows staged, %d built", table, len(got), len(want))
			}
			for k, w := range want {
				if g, ok := got[k]; !ok {
					t.Errorf("%s: row %s missing", table, k)
				} else if g != w {
					t.Errorf("%s: row %s: sums %s, want %s", table, k, g, w)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: row %s not built by the database", table, k)
				}
			}
		}
	})
}

// rollupSums are the columns rollupRows compares as decimals.
var rollupSums = map[string]bool{"billed_cost": true, "effective_cost": true, "list_cost": true, "contracted_cost": true, "resale_cost": true}

// rollupRows reads an organization's rows of a rollup table, by their
// dimensions as text (without the run's keys), each with its sums.
func rollupRows(t *testing.T, s *sqlstore.Store, table, orgID string) map[string]string {
	t.Helper()
	rs, err := s.DB().QueryContext(context.Background(), "SELECT * FROM "+table+" WHERE org_id = ?", orgID)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var key, sums []string
		for i, c := range cols {
			v := vals[i]
			switch x := v.(type) {
			case []byte:
				v = string(x)
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			}
			switch {
			case c == "org_id" || c == "connector_id" || c == "run_id":
			case rollupSums[c]:
				d, err := decimal.NewFromString(fmt.Sprint(v))
				if err != nil {
					t.Fatalf("%s.%s: %v", table, c, err)
				}
				sums = append(sums, c+"="+d.String())
			default:
				key = append(key, fmt.Sprintf("%s=%q", c, fmt.Sprint(v)))
			}
		}
		k := strings.Join(key, " ")
		if _, dup := out[k]; dup {
			t.Fatalf("%s: row %s twice", table, k)
		}
		sort.Strings(sums)
		out[k] = strings.Join(sums, " ")
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBrokenTagsFromASourceFailTheRunAndLeaveNothing: readers check tags
// where they can name file and line; a source that does not is still
// stopped when its tags are read, and what the run wrote goes.
func TestBrokenTagsFromASourceFailTheRunAndLeaveNothing(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		e := newEnv(s)
		org := e.org(t, "acme")
		items := stagedItems(5000)
		items[4321].Tags = `{"team": "red"`
		run, err := e.ingester.Ingest(ctx, billing.IngestRequest{OrgID: org.ID, ConnectorID: "conn-1", Source: itemsSource(items)})
		if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), "Tags are not a JSON object") {
			t.Fatalf("error %v (code %s), want invalid tags", err, domain.ErrorCode(err))
		}
		if run.Status != billing.RunFailed {
			t.Errorf("run %s, want failed", run.Status)
		}
		if n := sqlstore.CountLineItems(t, s, org.ID); n != 0 {
			t.Errorf("%d line items left", n)
		}
		if s.Dialect() == sqlstore.Postgres {
			if tables := sqlstore.LineItemTables(t, s); len(tables) != 0 {
				t.Errorf("line item tables %v left", tables)
			}
		}
	})
}

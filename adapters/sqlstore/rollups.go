package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// runTables hold rows keyed by (org, connector, billing period, run): what
// a run wrote, removed whole when the run is superseded or abandoned.
var runTables = []string{"cost_line_items", "cost_dim_rollups", "cost_service_rollups", "cost_month_rollups", "cost_tag_rollups"}

// runTables are the tables whose rows this store deletes by run: on
// Postgres, line items are partitions dropped whole instead.
func (s *Store) runTables() []string {
	if s.dialect == Postgres {
		return runTables[1:]
	}
	return runTables
}

// rollupTables hold the rollups of active runs only.
var rollupTables = []string{"cost_dim_rollups", "cost_service_rollups", "cost_month_rollups", "cost_tag_rollups"}

// dayExpr is the UTC charge day of a line item, stored as the rollups
// store days.
func (s *Store) dayExpr(col string) string {
	if s.dialect == Postgres {
		return "(" + col + " AT TIME ZONE 'UTC')::date"
	}
	return "substr(" + col + ", 1, 10) || ' 00:00:00+00:00'"
}

// monthOfDay is the first day of a rollup day's month, stored as days are.
func (s *Store) monthOfDay(col string) string {
	if s.dialect == Postgres {
		return "date_trunc('month', " + col + "::timestamp)::date"
	}
	return "substr(" + col + ", 1, 7) || '-01 00:00:00+00:00'"
}

// providerOf is a line item's provider: ProviderName, or FOCUS 1.3's
// ServiceProviderName when that is all it has.
func providerOf(alias string) string {
	return "COALESCE(NULLIF(" + alias + ".provider_name, ''), " + alias + ".service_provider_name, '')"
}

var providerExpr = providerOf("li")

// cloudExpr normalises a provider name to the CLOUD dimension, as
// billing.CloudOf does.
func cloudExpr(provider string) string {
	byCloud := map[string][]string{}
	for name, cloud := range billing.CloudNames {
		byCloud[cloud] = append(byCloud[cloud], "'"+strings.ReplaceAll(name, "'", "''")+"'")
	}
	clouds := make([]string, 0, len(byCloud))
	for c := range byCloud {
		clouds = append(clouds, c)
	}
	sort.Strings(clouds)
	expr := "CASE"
	for _, c := range clouds {
		names := byCloud[c]
		sort.Strings(names)
		expr += " WHEN lower(" + provider + ") IN (" + strings.Join(names, ", ") + ") THEN '" + c + "'"
	}
	return expr + " ELSE '" + billing.CloudOther + "' END"
}

// sum is the exact sum of a decimal column: NUMERIC SUM on Postgres,
// decsum over SQLite's decimal text.
func (s *Store) sum(expr string) string {
	if s.dialect == Postgres {
		return "SUM(" + expr + ")"
	}
	return "decsum(" + expr + ")"
}

// costSums are the five metric sums every rollup row carries.
func (s *Store) costSums() string {
	return s.sum("li.billed_cost") + ", " + s.sum("li.effective_cost") + ", " +
		s.sum("COALESCE(li.list_cost, 0)") + ", " + s.sum("COALESCE(li.contracted_cost, 0)") + ", " +
		s.sum("COALESCE(li.resale_cost, li.billed_cost)") + ", COUNT(*)"
}

// buildRollups writes the rollups the ingester built for a run (built, not
// nil) or, for a run past the ingester's bounds, groups its line items into
// its dimension rollup and, for the tag keys with few values, its tag
// rollups; then derives the service rollup and records the run's tag keys.
// db is the publishing transaction, open on conn.
func (s *Store) buildRollups(ctx context.Context, db bun.IDB, conn *sql.Conn, run billing.IngestionRun, built *billing.Rollups) error {
	if len(run.Periods) == 0 {
		return nil
	}
	periods := make([]time.Time, len(run.Periods))
	for i, p := range run.Periods {
		periods[i] = p.UTC()
	}
	day := s.dayExpr("li.charge_period_start")
	dim := `INSERT INTO cost_dim_rollups (org_id, connector_id, run_id, billing_period_start, day, cloud, provider_name,
    service_name, service_category, region_id, region_name, billing_account_id, billing_account_name,
    sub_account_id, sub_account_name, charge_category, charge_class, currency,
    billed_cost, effective_cost, list_cost, contracted_cost, resale_cost, row_count)
SELECT li.org_id, li.connector_id, li.run_id, li.billing_period_start, ` + day + `, ` + cloudExpr(providerExpr) + `,
    ` + providerExpr + `, COALESCE(li.service_name, ''), COALESCE(li.service_category, ''),
    COALESCE(li.region_id, ''), COALESCE(li.region_name, ''), COALESCE(li.billing_account_id, ''),
    COALESCE(li.billing_account_name, ''), COALESCE(li.sub_account_id, ''), COALESCE(li.sub_account_name, ''),
    COALESCE(li.charge_category, ''), COALESCE(li.charge_class, ''), li.billing_currency, ` + s.costSums() + `
FROM cost_line_items AS li
WHERE li.org_id = ? AND li.run_id = ? AND li.billing_period_start IN (?)
GROUP BY li.org_id, li.connector_id, li.run_id, li.billing_period_start, ` + day + `, ` + providerExpr + `,
    li.service_name, li.service_category, li.region_id, li.region_name, li.billing_account_id,
    li.billing_account_name, li.sub_account_id, li.sub_account_name, li.charge_category, li.charge_class,
    li.billing_currency`
	if built != nil {
		if err := s.writeRollups(ctx, conn, run, built); err != nil {
			return err
		}
	} else if err := s.insertSelect(ctx, db, "cost_dim_rollups", dim, run.OrgID, run.ID, bun.In(periods)); err != nil {
		return fmt.Errorf("dimension rollup: %w", err)
	}
	// The service rollup is a rollup of the dimension rollup: cheap, and
	// what most reports read.
	sum := func(col string) string { return s.sum("li." + col) }
	svc := `INSERT INTO cost_service_rollups (org_id, connector_id, run_id, billing_period_start, day, cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency,
    billed_cost, effective_cost, list_cost, contracted_cost, resale_cost, row_count)
SELECT li.org_id, li.connector_id, li.run_id, li.billing_period_start, li.day, li.cloud, li.provider_name,
    li.service_name, li.service_category, li.charge_category, li.charge_class, li.currency,
    ` + sum("billed_cost") + `, ` + sum("effective_cost") + `, ` + sum("list_cost") + `, ` + sum("contracted_cost") + `,
    ` + sum("resale_cost") + `, SUM(li.row_count)
FROM cost_dim_rollups AS li
WHERE li.org_id = ? AND li.run_id = ? AND li.billing_period_start IN (?)
GROUP BY li.org_id, li.connector_id, li.run_id, li.billing_period_start, li.day, li.cloud, li.provider_name,
    li.service_name, li.service_category, li.charge_category, li.charge_class, li.currency`
	// SQLite derives them from the built dimension rollup in Go, which
	// spares grouping it again in the database; the sums are the same
	// exact decimals.
	derived := built != nil && s.dialect == SQLite
	if derived {
		if err := s.writeServiceRollups(ctx, conn, run, built); err != nil {
			return fmt.Errorf("service rollups: %w", err)
		}
	} else if _, err := db.NewRaw(svc, run.OrgID, run.ID, bun.In(periods)).Exec(ctx); err != nil {
		return fmt.Errorf("service rollup: %w", err)
	}
	month := s.monthOfDay("li.day")
	monthly := `INSERT INTO cost_month_rollups (org_id, connector_id, run_id, billing_period_start, day, cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency,
    billed_cost, effective_cost, list_cost, contracted_cost, resale_cost, row_count)
SELECT li.org_id, li.connector_id, li.run_id, li.billing_period_start, ` + month + `, li.cloud, li.provider_name,
    li.service_name, li.service_category, li.charge_category, li.charge_class, li.currency,
    ` + sum("billed_cost") + `, ` + sum("effective_cost") + `, ` + sum("list_cost") + `, ` + sum("contracted_cost") + `,
    ` + sum("resale_cost") + `, SUM(li.row_count)
FROM cost_service_rollups AS li
WHERE li.org_id = ? AND li.run_id = ? AND li.billing_period_start IN (?)
GROUP BY li.org_id, li.connector_id, li.run_id, li.billing_period_start, ` + month + `, li.cloud, li.provider_name,
    li.service_name, li.service_category, li.charge_category, li.charge_class, li.currency`
	if !derived { // else written with the service rollup above
		if _, err := db.NewRaw(monthly, run.OrgID, run.ID, bun.In(periods)).Exec(ctx); err != nil {
			return fmt.Errorf("month rollup: %w", err)
		}
	}

	var rolled []string
	if len(run.TagKeys) > 0 {
		rows := make([]runTagKeyRow, len(run.TagKeys))
		for i, k := range run.TagKeys {
			rows[i] = runTagKeyRow{OrgID: run.OrgID, RunID: run.ID, TagKey: k.Key, ValueCount: k.Combos, RolledUp: k.RolledUp}
			if k.RolledUp {
				rolled = append(rolled, k.Key)
			}
		}
		if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return fmt.Errorf("record tag keys: %w", err)
		}
	}
	if len(rolled) == 0 || built != nil {
		return nil
	}
	if s.dialect == SQLite && !allPlain(rolled) {
		return s.tagRollupsByWalking(ctx, db, run, periods, rolled)
	}
	// One pass over the line items groups them by every rolled-up key at
	// once; each key's rollup is then a small GROUP BY of that.
	var vals, unions []string
	var args []any
	for _, k := range rolled {
		if s.dialect == Postgres {
			vals = append(vals, "li.tags ->> ?")
			args = append(args, k)
		} else {
			vals = append(vals, sqliteTagValue("li.tags", k, &args))
		}
	}
	groups := make([]string, 0, 8+len(rolled))
	for i := 1; i <= 8+len(rolled); i++ {
		groups = append(groups, fmt.Sprint(i))
	}
	base := `WITH base AS (
    SELECT li.org_id, li.connector_id, li.run_id, li.billing_period_start, ` + day + ` AS day, ` + providerExpr + ` AS provider_name,
        COALESCE(li.service_name, '') AS service_name, li.billing_currency AS currency`
	for i, v := range vals {
		base += fmt.Sprintf(", %s AS t%d", v, i)
	}
	base += `, ` + s.sum("li.billed_cost") + ` AS billed, ` + s.sum("li.effective_cost") + ` AS effective, ` +
		s.sum("COALESCE(li.list_cost, 0)") + ` AS list, ` + s.sum("COALESCE(li.contracted_cost, 0)") + ` AS contracted, ` +
		s.sum("COALESCE(li.resale_cost, li.billed_cost)") + ` AS resale, COUNT(*) AS row_count
    FROM cost_line_items AS li
    WHERE li.org_id = ? AND li.run_id = ? AND li.billing_period_start IN (?) AND li.tags IS NOT NULL
    GROUP BY ` + strings.Join(groups, ", ") + `
)`
	args = append(args, run.OrgID, run.ID, bun.In(periods))
	sums := s.sum("billed") + ", " + s.sum("effective") + ", " + s.sum("list") + ", " + s.sum("contracted") + ", " +
		s.sum("resale") + ", SUM(row_count)"
	for i, k := range rolled {
		t := fmt.Sprintf("t%d", i)
		unions = append(unions, `SELECT org_id, connector_id, run_id, billing_period_start, day, ?, `+t+`, `+cloudExpr("provider_name")+`,
    provider_name, service_name, currency, `+sums+`
FROM base WHERE `+t+` IS NOT NULL
GROUP BY org_id, connector_id, run_id, billing_period_start, day, `+t+`, provider_name, service_name, currency`)
		args = append(args, k)
	}
	tag := base + `
INSERT INTO cost_tag_rollups (org_id, connector_id, run_id, billing_period_start, day, tag_key, tag_value,
    cloud, provider_name, service_name, currency,
    billed_cost, effective_cost, list_cost, contracted_cost, resale_cost, row_count)
` + strings.Join(unions, "\nUNION ALL\n")
	if _, err := db.NewRaw(tag, args...).Exec(ctx); err != nil {
		return fmt.Errorf("tag rollups: %w", err)
	}
	return nil
}

// allPlain reports whether SQLite's JSON paths can name every key as it is.
func allPlain(keys []string) bool {
	for _, k := range keys {
		if !plainKey.MatchString(k) {
			return false
		}
	}
	return true
}

// tagRollupsByWalking builds SQLite tag rollups for keys a JSON path
// cannot name (quotes, dots), by walking each tag object.
func (s *Store) tagRollupsByWalking(ctx context.Context, db bun.IDB, run billing.IngestionRun, periods []time.Time, rolled []string) error {
	day := s.dayExpr("li.charge_period_start")
	tag := `INSERT INTO cost_tag_rollups (org_id, connector_id, run_id, billing_period_start, day, tag_key, tag_value,
    cloud, provider_name, service_name, currency,
    billed_cost, effective_cost, list_cost, contracted_cost, resale_cost, row_count)
SELECT li.org_id, li.connector_id, li.run_id, li.billing_period_start, ` + day + `, li.tag_key, li.tag_value,
    ` + cloudExpr(providerExpr) + `, ` + providerExpr + `, COALESCE(li.service_name, ''), li.billing_currency, ` + s.costSums() + `
FROM (
    SELECT li.org_id, li.connector_id, li.run_id, li.billing_period_start, li.charge_period_start, li.provider_name,
        li.service_provider_name, li.service_name, li.billing_currency, li.billed_cost, li.effective_cost, li.list_cost,
        li.contracted_cost, li.resale_cost, k.key AS tag_key, tagtext(k.type, k.value) AS tag_value
    FROM cost_line_items AS li, json_each(li.tags) AS k
    WHERE li.org_id = ? AND li.run_id = ? AND li.billing_period_start IN (?) AND li.tags IS NOT NULL AND k.key IN (?)
) AS li
WHERE li.tag_value IS NOT NULL
GROUP BY li.org_id, li.connector_id, li.run_id, li.billing_period_start, ` + day + `, li.tag_key, li.tag_value,
    ` + providerExpr + `, li.service_name, li.billing_currency`
	if _, err := db.NewRaw(tag, run.OrgID, run.ID, bun.In(periods), bun.In(rolled)).Exec(ctx); err != nil {
		return fmt.Errorf("tag rollups: %w", err)
	}
	return nil
}

// insertSelect runs an INSERT … SELECT. Postgres does not run the SELECT
// of an INSERT in parallel, but does for CREATE TABLE AS: there the grouping
// goes through a temporary table, so that both cores work on it.
func (s *Store) insertSelect(ctx context.Context, db bun.IDB, table, query string, args ...any) error {
	if s.dialect != Postgres {
		_, err := db.NewRaw(query, args...).Exec(ctx)
		return err
	}
	at := strings.Index(query, "SELECT ")
	cols := strings.TrimSpace(query[len("INSERT INTO "+table):at])
	tmp := table + "_build"
	build := "CREATE TEMPORARY TABLE " + tmp + " ON COMMIT DROP AS SELECT * FROM (" + query[at:] + ") AS q " + cols
	if _, err := db.NewRaw(build, args...).Exec(ctx); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" "+cols+" SELECT * FROM "+tmp); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, "DROP TABLE "+tmp)
	return err
}

type runTagKeyRow struct {
	bun.BaseModel `bun:"table:run_tag_keys"`
	OrgID         string `bun:"org_id,pk"`
	RunID         string `bun:"run_id,pk"`
	TagKey        string `bun:"tag_key,pk"`
	ValueCount    int    `bun:"value_count"`
	RolledUp      bool   `bun:"rolled_up"`
}

// activeJoin keeps the line items of the active run of each partition
// (the rollup tables hold nothing else).
const activeJoin = "JOIN billing_partitions AS p ON p.org_id = r.org_id AND p.connector_id = r.connector_id" +
	" AND p.billing_period_start = r.billing_period_start AND p.run_id = r.run_id"

// LatestCostDay returns the last charge day with active data.
func (s *Store) LatestCostDay(ctx context.Context, orgIDs []string) (time.Time, error) {
	if len(orgIDs) == 0 {
		return time.Time{}, domain.Errorf(domain.NotFound, "no cost data")
	}
	var day any
	err := s.db.QueryRowContext(ctx, "SELECT r.day FROM cost_service_rollups AS r"+
		" WHERE r.org_id IN (?) ORDER BY r.day DESC LIMIT 1", bun.In(orgIDs)).Scan(&day)
	if err == sql.ErrNoRows {
		return time.Time{}, domain.Errorf(domain.NotFound, "no cost data")
	}
	if err != nil {
		return time.Time{}, mapErr(err, "latest cost day")
	}
	return parseDay(day)
}

// parseDay reads a day column: a time from Postgres, text from SQLite.
func parseDay(v any) (time.Time, error) {
	switch d := v.(type) {
	case time.Time:
		d = d.UTC()
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), nil
	case string:
		return parseDayText(d)
	case []byte:
		return parseDayText(string(d))
	}
	return time.Time{}, fmt.Errorf("unexpected day %T", v)
}

func parseDayText(s string) (time.Time, error) {
	if len(s) < 10 {
		return time.Time{}, fmt.Errorf("unexpected day %q", s)
	}
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s)[:10])
	if err != nil {
		return time.Time{}, fmt.Errorf("unexpected day %q: %w", s, err)
	}
	return t, nil
}

// DataVersion changes whenever a period of the organizations is swapped:
// every publish writes its partitions' run and time. (Whatever else comes
// to change active data, such as repricing, must touch the partitions too.)
func (s *Store) DataVersion(ctx context.Context, orgIDs []string) (string, error) {
	if len(orgIDs) == 0 {
		return "", nil
	}
	var n int64
	var newestRun, newestAt any
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(run_id), MAX(updated_at) FROM billing_partitions WHERE org_id IN (?)",
		bun.In(orgIDs)).Scan(&n, &newestRun, &newestAt)
	if err != nil {
		return "", mapErr(err, "data version")
	}
	return fmt.Sprintf("%d|%v|%v", n, newestRun, newestAt), nil
}

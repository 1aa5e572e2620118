package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain/billing"
)

var _ billing.CostAggregator = (*Store)(nil)

// A cost report is one GROUP BY over whichever table answers it:
//
//   - the service rollup, for a query without tags that groups and filters
//     only by what it keeps (day, billing period, cloud, provider, service
//     and category, charge category and class, currency, organization);
//     its sums by charge month, when the query asks for no days and its
//     range is whole months;
//   - the dimension rollup, for every other query without tags;
//   - the tag rollups of one key, for a query that groups or filters by
//     that single key and otherwise only by dimensions the tag rollups
//     keep (provider, cloud, service, currency, billing period,
//     organization), when every active run in scope rolled that key up;
//     costs without the key are the dimension rollup minus the tag
//     rollups (through the service rollup), so the answer stays exact;
//   - the line items of the active runs, for everything else (several tag
//     keys, a tag with a region or account, keys with too many values).
//
// Only the grouped rows come back.

// source is a table reports read and how its columns are written.
type source struct {
	from     string // table with alias r
	lineItem bool
	tagged   bool // tag rollups: r.tag_key, r.tag_value
	// active are the (run, billing period) pairs whose line items a query
	// reads: the active versions with costs in its range.
	active [][2]any
}

var (
	dimSource = source{from: "cost_dim_rollups AS r"}
	svcSource = source{from: "cost_service_rollups AS r"}
	// monthSource is the service rollup by charge month (its day is the
	// month's first).
	monthSource = source{from: "cost_month_rollups AS r"}
	tagSource   = source{from: "cost_tag_rollups AS r", tagged: true}
	itemSource  = source{from: "cost_line_items AS r", lineItem: true}
)

// itemDimensions are kept by the line items alone.
var itemDimensions = map[billing.Dimension]bool{billing.DimSKU: true, billing.DimResource: true}

// serviceDimensions are what the service rollup keeps.
var serviceDimensions = map[billing.Dimension]bool{
	billing.DimProvider: true, billing.DimCloud: true, billing.DimServiceName: true, billing.DimServiceCategory: true,
	billing.DimChargeCategory: true, billing.DimChargeClass: true, billing.DimCurrency: true,
	billing.DimBillingPeriod: true, billing.DimOrganization: true,
}

// tagDimensions are what the tag rollups keep besides the tag.
var tagDimensions = map[billing.Dimension]bool{
	billing.DimProvider: true, billing.DimCloud: true, billing.DimServiceName: true, billing.DimCurrency: true,
	billing.DimBillingPeriod: true, billing.DimOrganization: true,
}

// text is a nullable text column of the line items, ” when absent, as
// the rollups store it.
func (src source) text(col string) string {
	if src.lineItem {
		return "COALESCE(r." + col + ", '')"
	}
	return "r." + col
}

// dimension returns the SQL of a dimension's value and, for labelled
// ones, of its label (an aggregate).
func (s *Store) dimension(src source, d billing.Dimension) (value, label string) {
	switch d {
	case billing.DimProvider:
		if src.lineItem {
			return providerOf("r"), ""
		}
		return "r.provider_name", ""
	case billing.DimCloud:
		if src.lineItem {
			return cloudExpr(providerOf("r")), ""
		}
		return "r.cloud", ""
	case billing.DimServiceName:
		return src.text("service_name"), ""
	case billing.DimServiceCategory:
		return src.text("service_category"), ""
	case billing.DimRegion:
		id, name := src.text("region_id"), src.text("region_name")
		return "CASE WHEN " + id + " = '' THEN " + name + " ELSE " + id + " END", "MAX(" + name + ")"
	case billing.DimBillingAccount:
		return src.text("billing_account_id"), "MAX(" + src.text("billing_account_name") + ")"
	case billing.DimSubAccount:
		return src.text("sub_account_id"), "MAX(" + src.text("sub_account_name") + ")"
	case billing.DimChargeCategory:
		return src.text("charge_category"), ""
	case billing.DimChargeClass:
		return src.text("charge_class"), ""
	case billing.DimBillingPeriod:
		if s.dialect == Postgres {
			return "to_char(r.billing_period_start AT TIME ZONE 'UTC', 'YYYY-MM')", ""
		}
		return "substr(r.billing_period_start, 1, 7)", ""
	case billing.DimCurrency:
		if src.lineItem {
			return "r.billing_currency", ""
		}
		return "r.currency", ""
	case billing.DimOrganization:
		return "r.org_id", ""
	case billing.DimSKU:
		return src.text("sku_id"), ""
	case billing.DimResource:
		return src.text("resource_id"), "MAX(" + src.text("resource_name") + ")"
	}
	return "", ""
}

// metric is the SQL of the summed amount: a cost column, or for MARGIN
// resale less billed cost, subtracted exactly (SQLite's "-" would make a
// float of decimal text).
func (s *Store) metric(src source, m billing.Metric) string {
	if m != billing.Margin {
		return src.column(m)
	}
	resale, billed := src.column(billing.ResaleCost), src.column(billing.BilledCost)
	if s.dialect == Postgres {
		return "(" + resale + " - " + billed + ")"
	}
	return "decsub(" + resale + ", " + billed + ")"
}

// column is the SQL of a cost column.
func (src source) column(m billing.Metric) string {
	if !src.lineItem {
		switch m {
		case billing.EffectiveCost:
			return "r.effective_cost"
		case billing.ListCost:
			return "r.list_cost"
		case billing.ContractedCost:
			return "r.contracted_cost"
		case billing.ResaleCost:
			return "r.resale_cost"
		}
		return "r.billed_cost"
	}
	switch m {
	case billing.EffectiveCost:
		return "r.effective_cost"
	case billing.ListCost:
		return "COALESCE(r.list_cost, 0)"
	case billing.ContractedCost:
		return "COALESCE(r.contracted_cost, 0)"
	case billing.ResaleCost:
		return "COALESCE(r.resale_cost, r.billed_cost)"
	}
	return "r.billed_cost"
}

// day is the SQL of the charge day.
func (s *Store) day(src source) string {
	if src.lineItem {
		return s.dayExpr("r.charge_period_start")
	}
	return "r.day"
}

// pointDate is the SQL of a row's point date, or "" for totals.
func (s *Store) pointDate(src source, a billing.CostAggregate) string {
	switch {
	case a.Granularity == billing.Daily:
		return s.day(src)
	case a.Granularity != billing.Monthly:
		return ""
	case a.DateBasis == billing.BillingPeriod:
		return "r.billing_period_start"
	case s.dialect == Postgres && src.lineItem:
		return "date_trunc('month', r.charge_period_start AT TIME ZONE 'UTC')::date"
	case s.dialect == Postgres:
		return "date_trunc('month', r.day::timestamp)::date"
	case src.lineItem:
		return "substr(r.charge_period_start, 1, 7) || '-01 00:00:00+00:00'"
	default:
		return "substr(r.day, 1, 7) || '-01 00:00:00+00:00'"
	}
}

// tagValue is the SQL of a tag's value in the line items (” when absent).
func (s *Store) tagValue(key string, args *[]any) string {
	if s.dialect == Postgres {
		*args = append(*args, key)
		return "COALESCE(r.tags ->> ?, '')"
	}
	if plainKey.MatchString(key) {
		return "COALESCE(" + sqliteTagValue("r.tags", key, args) + ", '')"
	}
	// Walking the object copes with any key, quotes and dots included.
	*args = append(*args, key)
	return "COALESCE((SELECT tagtext(j.type, j.value) FROM json_each(r.tags) AS j WHERE j.key = ?), '')"
}

// plainKey is a tag key SQLite's JSON paths can name as it is.
var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// sqliteTagValue is the SQL reading a plain tag key from a SQLite tag
// column, as text the way reports show tags, binding its path into args.
func sqliteTagValue(col, key string, args *[]any) string {
	// Mostly a string: read it without calling back into Go, which tagtext
	// costs per row; only a real number needs its rendering.
	path := "$." + key
	*args = append(*args, path, path, path, path, path)
	v := "json_extract(" + col + ", ?)"
	return "CASE json_type(" + col + ", ?) WHEN 'text' THEN " + v + " WHEN 'integer' THEN CAST(" + v + " AS TEXT)" +
		" WHEN 'real' THEN tagtext('real', " + v + ") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE " + v + " END"
}

// where is the shared WHERE of a source: the organizations, the date
// range, and the dimension filters.
func (s *Store) where(src source, a billing.CostAggregate, args *[]any) string {
	var b strings.Builder
	b.WriteString("r.org_id IN (?)")
	*args = append(*args, bun.In(a.OrgIDs))
	if src.lineItem {
		// Rollups hold active runs only; line items also hold the rows of
		// runs superseded and not yet removed. Naming the runs and periods
		// lets Postgres read only their partitions; SQLite seeks each pair
		// in its run index, where a row-value IN would probe a temporary
		// table for every row.
		if s.dialect == Postgres {
			runs, periods, pairs := make([]any, 0, len(src.active)), make([]any, 0, len(src.active)), make([]string, len(src.active))
			for i, p := range src.active {
				runs, periods, pairs[i] = append(runs, p[0]), append(periods, p[1]), "(?, CAST(? AS TIMESTAMPTZ))"
			}
			b.WriteString(" AND r.run_id IN (?) AND r.billing_period_start IN (?)" +
				" AND (r.run_id, r.billing_period_start) IN (VALUES " + strings.Join(pairs, ", ") + ")")
			*args = append(*args, bun.In(runs), bun.In(periods))
		} else {
			pairs := make([]string, len(src.active))
			for i := range src.active {
				pairs[i] = "(r.run_id = ? AND r.billing_period_start = ?)"
			}
			b.WriteString(" AND (" + strings.Join(pairs, " OR ") + ")")
		}
		for _, p := range src.active {
			*args = append(*args, p[0], p[1])
		}
	}
	switch {
	case a.DateBasis == billing.BillingPeriod:
		b.WriteString(" AND r.billing_period_start >= ? AND r.billing_period_start < ?")
	case src.lineItem:
		b.WriteString(" AND r.charge_period_start >= ? AND r.charge_period_start < ?")
	default:
		b.WriteString(" AND r.day >= ? AND r.day < ?")
	}
	*args = append(*args, a.From.UTC(), a.To.UTC())
	for _, d := range billing.Dimensions {
		vals, ok := a.Filter.Values[d]
		if !ok {
			continue
		}
		value, _ := s.dimension(src, d)
		if len(vals) == 0 {
			b.WriteString(" AND FALSE")
			continue
		}
		b.WriteString(" AND " + value + " IN (?)")
		*args = append(*args, bun.In(vals))
	}
	return b.String()
}

// AggregateCosts runs one report's GROUP BY and hands each grouped row to
// fn.
func (s *Store) AggregateCosts(ctx context.Context, a billing.CostAggregate, fn func(billing.CostRow) error) error {
	if len(a.OrgIDs) == 0 {
		return nil
	}
	query, args, err := s.costQuery(ctx, a)
	if err != nil || query == "" {
		return err
	}
	if a.Limit > 0 && a.Granularity == billing.Total {
		amount := "lim.amount"
		if s.dialect == SQLite {
			amount = "CAST(lim.amount AS REAL)" // ranks only; the amounts stay exact text
		}
		query = "SELECT * FROM (" + query + ") AS lim ORDER BY lim.currency, " + amount + " DESC LIMIT ?"
		args = append(args, a.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return mapErr(err, "cost report")
	}
	defer rows.Close()
	nv, nl := len(a.GroupBy)+len(a.TagKeys), len(a.GroupBy)
	values := make([]sql.NullString, nv)
	labels := make([]sql.NullString, nl)
	var currency, amount string
	var date any
	dest := make([]any, 0, nv+nl+3)
	for i := range values {
		dest = append(dest, &values[i])
	}
	for i := range labels {
		dest = append(dest, &labels[i])
	}
	dest = append(dest, &currency, &amount)
	if a.Granularity != billing.Total {
		dest = append(dest, &date)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return mapErr(err, "cost report row")
		}
		r := billing.CostRow{Values: make([]*string, nv), Labels: make([]string, nl), Currency: currency}
		for i, v := range values {
			if v.Valid && v.String != "" {
				val := v.String
				r.Values[i] = &val
			}
		}
		for i, l := range labels {
			r.Labels[i] = l.String
		}
		if r.Amount, err = decimal.NewFromString(amount); err != nil {
			return fmt.Errorf("cost report amount %q: %w", amount, err)
		}
		if a.Granularity != billing.Total {
			if r.Date, err = parseDay(date); err != nil {
				return fmt.Errorf("cost report date: %w", err)
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "cost report")
}

// costQuery chooses the source and writes the report's SQL. Its columns are
// the group values, the labels, the currency, the amount and, unless the
// report is a total, the point date.
func (s *Store) costQuery(ctx context.Context, a billing.CostAggregate) (string, []any, error) {
	key, single := singleTagKey(a)
	switch {
	case needsItems(a):
	case len(a.TagKeys) == 0 && len(a.Filter.Tags) == 0 && within(a, serviceDimensions) && wholeMonths(a):
		return s.plainQuery(monthSource, a)
	case len(a.TagKeys) == 0 && len(a.Filter.Tags) == 0 && within(a, serviceDimensions):
		return s.plainQuery(svcSource, a)
	case len(a.TagKeys) == 0 && len(a.Filter.Tags) == 0:
		return s.plainQuery(dimSource, a)
	case single && within(a, tagDimensions):
		rolled, err := s.rolledUp(ctx, a.OrgIDs, key)
		if err != nil {
			return "", nil, err
		}
		if rolled {
			q, args := s.tagQuery(a, key)
			return q, args, nil
		}
	}
	return s.itemQuery(ctx, a)
}

// wholeMonths reports whether the month rollup answers a query's dates: no
// days asked for, and a range of whole charge months or of billing periods
// (which the month rollup keeps).
func wholeMonths(a billing.CostAggregate) bool {
	if a.Granularity == billing.Daily {
		return false
	}
	if a.DateBasis == billing.BillingPeriod {
		return true
	}
	monthStart := func(t time.Time) bool {
		t = t.UTC()
		return t.Day() == 1 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
	}
	return monthStart(a.From) && monthStart(a.To)
}

// itemQuery reads the line items of the active versions with costs in the
// query's range, found in the service rollup; it returns no query when
// there are none.
func (s *Store) itemQuery(ctx context.Context, a billing.CostAggregate) (string, []any, error) {
	var args []any
	scope := a
	scope.Filter = billing.CostFilter{}
	q := "SELECT DISTINCT r.run_id, r.billing_period_start FROM cost_service_rollups AS r WHERE " + s.where(svcSource, scope, &args)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return "", nil, mapErr(err, "active line items")
	}
	defer rows.Close()
	src := itemSource
	for rows.Next() {
		var run, period any
		if err := rows.Scan(&run, &period); err != nil {
			return "", nil, mapErr(err, "active line items")
		}
		src.active = append(src.active, [2]any{run, period})
	}
	if err := rows.Err(); err != nil {
		return "", nil, mapErr(err, "active line items")
	}
	if len(src.active) == 0 {
		return "", nil, nil
	}
	return s.plainQuery(src, a)
}

// singleTagKey returns the one tag key a query groups or filters by.
func singleTagKey(a billing.CostAggregate) (string, bool) {
	keys := map[string]bool{}
	for _, k := range a.TagKeys {
		keys[k] = true
	}
	for _, f := range a.Filter.Tags {
		keys[f.Key] = true
	}
	if len(keys) != 1 || len(a.TagKeys) > 1 {
		return "", false
	}
	for k := range keys {
		return k, true
	}
	return "", false
}

// dimensionsOf lists the dimensions a query groups or filters by.
func dimensionsOf(a billing.CostAggregate) []billing.Dimension {
	ds := append([]billing.Dimension(nil), a.GroupBy...)
	for d := range a.Filter.Values {
		ds = append(ds, d)
	}
	return ds
}

// needsItems reports whether a query uses a dimension only the line items
// keep.
func needsItems(a billing.CostAggregate) bool {
	for _, d := range dimensionsOf(a) {
		if itemDimensions[d] {
			return true
		}
	}
	return false
}

// within reports whether a query groups and filters only by dims.
func within(a billing.CostAggregate, dims map[billing.Dimension]bool) bool {
	for _, d := range dimensionsOf(a) {
		if !dims[d] {
			return false
		}
	}
	return true
}

// rolledUp reports whether every active run of the organizations has tag
// rollups for key (or never saw it).
func (s *Store) rolledUp(ctx context.Context, orgIDs []string, key string) (bool, error) {
	n, err := s.db.NewSelect().TableExpr("billing_partitions AS p").
		Join("JOIN run_tag_keys AS k ON k.org_id = p.org_id AND k.run_id = p.run_id").
		Where("p.org_id IN (?)", bun.In(orgIDs)).
		Where("k.tag_key IN (?, '*')", key).
		Where("NOT k.rolled_up").
		Limit(1).Count(ctx)
	if err != nil {
		return false, mapErr(err, "tag rollup keys")
	}
	return n == 0, nil
}

// plainQuery groups one source directly: the dimension rollup, or the
// line items with tags read from their JSON.
func (s *Store) plainQuery(src source, a billing.CostAggregate) (string, []any, error) {
	var args []any
	var sel, group []string
	for _, d := range a.GroupBy {
		v, _ := s.dimension(src, d)
		sel = append(sel, v)
		group = append(group, v)
	}
	for _, k := range a.TagKeys {
		sel = append(sel, s.tagValue(k, &args))
	}
	for _, d := range a.GroupBy {
		if _, l := s.dimension(src, d); l != "" {
			sel = append(sel, l)
		} else {
			sel = append(sel, "''")
		}
	}
	cur, _ := s.dimension(src, billing.DimCurrency)
	sel = append(sel, cur+" AS currency", s.sum(s.metric(src, a.Metric))+" AS amount")
	group = append(group, cur)
	if date := s.pointDate(src, a); date != "" {
		sel = append(sel, date)
		group = append(group, date)
	}
	for i := range a.TagKeys {
		// The tag expressions are grouped by position so their arguments
		// are not bound twice.
		group = append(group, fmt.Sprint(len(a.GroupBy)+i+1))
	}
	where := s.where(src, a, &args)
	for _, f := range a.Filter.Tags {
		where += " AND " + s.tagValue(f.Key, &args) + " IN (?)"
		args = append(args, bun.In(emptyAsNone(f.Values)))
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + src.from + " WHERE " + where +
		" GROUP BY " + strings.Join(group, ", ")
	return q, args, nil
}

// emptyAsNone keeps a filter's values; an empty value matches costs
// without the tag, which read as ”.
func emptyAsNone(vals []string) []string {
	if len(vals) == 0 {
		return []string{"\x00no value can match"}
	}
	return vals
}

// tagQuery answers a single-key query from the tag rollups, adding the
// costs without the key as the dimension rollup minus the tag rollups.
func (s *Store) tagQuery(a billing.CostAggregate, key string) (string, []any) {
	var args []any
	part := func(src source, tagged bool, negate bool) string {
		var cols []string
		for i, d := range a.GroupBy {
			v, _ := s.dimension(src, d)
			cols = append(cols, v+" AS d"+fmt.Sprint(i))
		}
		switch {
		case tagged && !negate:
			cols = append(cols, "r.tag_value AS v")
		default:
			cols = append(cols, "NULL AS v")
		}
		cur, _ := s.dimension(src, billing.DimCurrency)
		cols = append(cols, cur+" AS cur")
		if date := s.pointDate(src, a); date != "" {
			cols = append(cols, date+" AS dt")
		}
		amount, rows := s.metric(src, a.Metric), "r.row_count"
		if negate {
			amount, rows = s.negate(amount), "-r.row_count"
		}
		cols = append(cols, amount+" AS a", rows+" AS n")
		where := s.where(src, a, &args)
		if tagged {
			where += " AND r.tag_key = ?"
			args = append(args, key)
		}
		return "SELECT " + strings.Join(cols, ", ") + " FROM " + src.from + " WHERE " + where
	}
	union := part(tagSource, true, false) + " UNION ALL " + part(svcSource, false, false) +
		" UNION ALL " + part(tagSource, true, true)

	var sel, group []string
	for i := range a.GroupBy {
		sel = append(sel, "x.d"+fmt.Sprint(i))
		group = append(group, "x.d"+fmt.Sprint(i))
	}
	if len(a.TagKeys) == 1 {
		sel = append(sel, "x.v")
		group = append(group, "x.v")
	}
	for range a.GroupBy {
		sel = append(sel, "''")
	}
	sel = append(sel, "x.cur AS currency", s.sum("x.a")+" AS amount")
	group = append(group, "x.cur")
	if a.Granularity != billing.Total {
		sel = append(sel, "x.dt")
		group = append(group, "x.dt")
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM (" + union + ") AS x"
	if len(a.Filter.Tags) > 0 {
		var conds []string
		for _, f := range a.Filter.Tags {
			var c []string
			var named []string
			for _, v := range f.Values {
				if v == "" {
					c = append(c, "x.v IS NULL OR x.v = ''")
				} else {
					named = append(named, v)
				}
			}
			if len(named) > 0 {
				c = append(c, "x.v IN (?)")
				args = append(args, bun.In(named))
			}
			if len(c) == 0 {
				c = append(c, "FALSE")
			}
			conds = append(conds, "("+strings.Join(c, " OR ")+")")
		}
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " GROUP BY " + strings.Join(group, ", ") + " HAVING SUM(x.n) <> 0"
	return q, args
}

// negate is the SQL of a decimal's negation.
func (s *Store) negate(expr string) string {
	if s.dialect == Postgres {
		return "-(" + expr + ")"
	}
	return "CASE WHEN substr(" + expr + ", 1, 1) = '-' THEN substr(" + expr + ", 2) ELSE '-' || " + expr + " END"
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/exports"
)

// The line items an export reads are those of the active runs of one
// organization whose billing period starts in the month, from the
// providers named, pricing's charges included (their BilledCost is 0 and
// their resale the charge).

// exportWhere is the join and filter of an export's line items; its
// arguments are exportArgs'.
const exportWhere = " FROM cost_line_items AS li JOIN billing_partitions AS p ON p.org_id = li.org_id" +
	" AND p.connector_id = li.connector_id AND p.billing_period_start = li.billing_period_start AND p.run_id = li.run_id" +
	" WHERE li.org_id = ? AND p.billing_period_start >= ? AND p.billing_period_start < ?" +
	" AND COALESCE(li.provider_name, li.service_provider_name, '') IN (?)"

func (s *Store) exportArgs(sc exports.Scope) []any {
	m := billing.MonthStart(sc.Month)
	names := sc.ProviderNames
	if len(names) == 0 {
		names = []string{""}
	}
	return []any{sc.OrgID, s.timeArg(m), s.timeArg(m.AddDate(0, 1, 0)), bun.In(names)}
}

// ExportSources lists the active ingestion runs the scope's rows come
// from, with the format each read; pricing's charges have format
// "pricing".
func (s *Store) ExportSources(ctx context.Context, sc exports.Scope) ([]exports.SourceVersion, error) {
	q := "SELECT DISTINCT li.connector_id, li.run_id, COALESCE(r.format, ''), COALESCE(r.source_version, '')" + exportWhere
	q = strings.Replace(q, " WHERE ", " LEFT JOIN ingestion_runs AS r ON r.org_id = li.org_id AND r.id = li.run_id WHERE ", 1)
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY 1, 2", s.exportArgs(sc)...)
	if err != nil {
		return nil, mapErr(err, "export sources")
	}
	defer rows.Close()
	var out []exports.SourceVersion
	for rows.Next() {
		var v exports.SourceVersion
		if err := rows.Scan(&v.ConnectorID, &v.RunID, &v.Format, &v.Version); err != nil {
			return nil, mapErr(err, "export sources")
		}
		if v.ConnectorID == PricingConnector {
			v.Format, v.Version = "pricing", "pricing"
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err(), "export sources")
}

// ExportColumns lists the extras keys and tag keys of the scope's rows,
// found by the database.
func (s *Store) ExportColumns(ctx context.Context, sc exports.Scope) (exports.Columns, error) {
	var cols exports.Columns
	for _, c := range []struct {
		col string
		dst *[]string
	}{{"extras", &cols.Extras}, {"tags", &cols.TagKeys}} {
		var q string
		if s.dialect == Postgres {
			q = "SELECT DISTINCT k FROM (SELECT jsonb_object_keys(li." + c.col + ") AS k" + exportWhere +
				" AND li." + c.col + " IS NOT NULL) AS keys"
		} else {
			q = "SELECT DISTINCT j.key" + strings.Replace(exportWhere, " WHERE ", ", json_each(li."+c.col+") AS j WHERE ", 1) +
				" AND li." + c.col + " IS NOT NULL AND li." + c.col + " <> ''"
		}
		rows, err := s.db.QueryContext(ctx, q, s.exportArgs(sc)...)
		if err != nil {
			return cols, mapErr(err, "export columns")
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return cols, mapErr(err, "export columns")
			}
			*c.dst = append(*c.dst, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return cols, mapErr(err, "export columns")
		}
		slices.Sort(*c.dst)
	}
	return cols, nil
}

// ExportLineItems streams the scope's rows to fn, one at a time: the
// driver reads them from the database as fn consumes them, so memory does
// not grow with the month.
func (s *Store) ExportLineItems(ctx context.Context, sc exports.Scope, fn func(*exports.Item) error) error {
	var b strings.Builder
	b.WriteString("SELECT ")
	for _, f := range billing.Fields {
		b.WriteString("li." + f.Column + ", ")
	}
	b.WriteString("li.extras, li.resale_cost, COALESCE(r.format, '')")
	q := b.String() + strings.Replace(exportWhere, " WHERE ",
		" LEFT JOIN ingestion_runs AS r ON r.org_id = li.org_id AND r.id = li.run_id WHERE ", 1)
	rows, err := s.db.QueryContext(ctx, q, s.exportArgs(sc)...)
	if err != nil {
		return mapErr(err, "export line items")
	}
	defer rows.Close()
	n := len(billing.Fields)
	vals := make([]any, n+3)
	texts := make([]sql.NullString, n+2)
	times := make([]any, n)
	var format string
	for i, f := range billing.Fields {
		if f.Kind == billing.KindTime {
			vals[i] = &times[i]
		} else {
			vals[i] = &texts[i]
		}
	}
	vals[n], vals[n+1], vals[n+2] = &texts[n], &texts[n+1], &format
	var it exports.Item
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return mapErr(err, "export line items")
		}
		it = exports.Item{}
		for i, f := range billing.Fields {
			switch f.Kind {
			case billing.KindTime:
				t, err := scannedTime(times[i])
				if err != nil {
					return fmt.Errorf("export line items: %s: %w", f.Column, err)
				}
				*f.Time(&it.LineItem) = t
			case billing.KindDecimal:
				*f.Num(&it.LineItem) = billing.Number(texts[i].String)
			default:
				*f.Str(&it.LineItem) = texts[i].String
			}
		}
		if e := texts[n].String; e != "" && e != "{}" {
			if err := json.Unmarshal([]byte(e), &it.Extras); err != nil {
				return fmt.Errorf("export line items: extras: %w", err)
			}
		}
		it.ResaleCost = billing.Number(texts[n+1].String)
		it.RunFormat = format
		if err := fn(&it); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "export line items")
}

// scannedTime reads a timestamp as Postgres (time.Time) or SQLite (text)
// returns it.
func scannedTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		return parseStoredTime(t)
	case []byte:
		return parseStoredTime(string(t))
	}
	return time.Time{}, fmt.Errorf("unexpected timestamp %T", v)
}

func parseStoredTime(s string) (time.Time, error) {
	for _, layout := range []string{timeLayout, time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable timestamp %q", s)
}

// ExportMonths lists the billing months of an organization's active data.
func (s *Store) ExportMonths(ctx context.Context, orgID string) ([]time.Time, error) {
	var starts []string
	q := "SELECT DISTINCT substr(billing_period_start, 1, 7) || '-01' FROM billing_partitions WHERE org_id = ?"
	if s.dialect == Postgres {
		q = "SELECT DISTINCT to_char(date_trunc('month', billing_period_start AT TIME ZONE 'UTC'), 'YYYY-MM-DD') FROM billing_partitions WHERE org_id = ?"
	}
	rows, err := s.db.QueryContext(ctx, q, orgID)
	if err != nil {
		return nil, mapErr(err, "export months")
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, mapErr(err, "export months")
		}
		starts = append(starts, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, "export months")
	}
	var out []time.Time
	for _, v := range starts {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return nil, fmt.Errorf("export months: %w", err)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out, nil
}

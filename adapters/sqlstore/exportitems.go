package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/truecost/truecost/adapters/csvfile"
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
	" AND lower(COALESCE(li.provider_name, li.service_provider_name, '')) IN (?)"

func (s *Store) exportArgs(sc exports.Scope) []any {
	m := billing.MonthStart(sc.Month)
	names := lowerNames(sc.ProviderNames)
	return []any{sc.OrgID, s.timeArg(m), s.timeArg(m.AddDate(0, 1, 0)), bun.In(names)}
}

// ExportSources lists the active ingestion runs the scope's rows come
// from, with the format each read; pricing's charges have format
// "pricing". It reads the month's partitions, asking the line items only
// whether a run holds a row of the providers (the first one found
// answers).
func (s *Store) ExportSources(ctx context.Context, sc exports.Scope) ([]exports.SourceVersion, error) {
	m := billing.MonthStart(sc.Month)
	names := lowerNames(sc.ProviderNames)
	q := "SELECT p.connector_id, p.run_id, COALESCE(r.format, ''), COALESCE(r.source_version, '')" +
		" FROM billing_partitions AS p LEFT JOIN ingestion_runs AS r ON r.org_id = p.org_id AND r.id = p.run_id" +
		" WHERE p.org_id = ? AND p.billing_period_start >= ? AND p.billing_period_start < ?" +
		" AND EXISTS (SELECT 1 FROM cost_line_items AS li WHERE li.org_id = p.org_id AND li.run_id = p.run_id" +
		" AND li.billing_period_start = p.billing_period_start" +
		" AND lower(COALESCE(li.provider_name, li.service_provider_name, '')) IN (?))" +
		" ORDER BY 1, 2"
	rows, err := s.db.QueryContext(ctx, q, sc.OrgID, s.timeArg(m), s.timeArg(m.AddDate(0, 1, 0)), bun.In(names))
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
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out, mapErr(rows.Err(), "export sources")
}

// ExportColumns lists the extras keys and tag keys of the scope's rows,
// found by the database. On Postgres the keys of a sample of rows are
// taken first; then one scan finds the keys the other rows have besides
// those (jsonb minus the known keys), which costs a fraction of listing
// every row's keys, and is as exact.
func (s *Store) ExportColumns(ctx context.Context, sc exports.Scope) (exports.Columns, error) {
	var cols exports.Columns
	collect := func(q string, args ...any) error {
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return mapErr(err, "export columns")
		}
		defer rows.Close()
		for rows.Next() {
			var kind, k string
			if err := rows.Scan(&kind, &k); err != nil {
				return mapErr(err, "export columns")
			}
			if kind == "e" {
				cols.Extras = append(cols.Extras, k)
			} else {
				cols.TagKeys = append(cols.TagKeys, k)
			}
		}
		return mapErr(rows.Err(), "export columns")
	}
	if s.dialect == Postgres {
		sample := "SELECT DISTINCT x.kind, x.k FROM (SELECT li.extras, li.tags" + exportWhere + " LIMIT " +
			strconv.Itoa(exportKeySample) + ") AS s, LATERAL (SELECT 'e' AS kind, jsonb_object_keys(s.extras) AS k" +
			" UNION ALL SELECT 't', jsonb_object_keys(s.tags)) AS x"
		if err := collect(sample, s.exportArgs(sc)...); err != nil {
			return cols, err
		}
		rest := "SELECT DISTINCT x.kind, x.k" + strings.Replace(exportWhere, " WHERE ",
			", LATERAL (SELECT 'e' AS kind, jsonb_object_keys(li.extras - ?::text[]) AS k UNION ALL"+
				" SELECT 't', jsonb_object_keys(li.tags - ?::text[])) AS x WHERE ", 1)
		args := append([]any{pgdialect.Array(nonNil(cols.Extras)), pgdialect.Array(nonNil(cols.TagKeys))}, s.exportArgs(sc)...)
		if err := collect(rest, args...); err != nil {
			return cols, err
		}
	} else {
		for _, c := range []struct{ kind, col string }{{"e", "extras"}, {"t", "tags"}} {
			q := "SELECT DISTINCT '" + c.kind + "', j.key" +
				strings.Replace(exportWhere, " WHERE ", ", json_each(li."+c.col+") AS j WHERE ", 1) +
				" AND li." + c.col + " IS NOT NULL AND li." + c.col + " <> ''"
			if err := collect(q, s.exportArgs(sc)...); err != nil {
				return cols, err
			}
		}
	}
	slices.Sort(cols.Extras)
	cols.Extras = slices.Compact(cols.Extras)
	slices.Sort(cols.TagKeys)
	cols.TagKeys = slices.Compact(cols.TagKeys)
	return cols, nil
}

// exportKeySample is how many rows' keys are listed before the scan for
// the others'.
const exportKeySample = 2000

// exportBatch is how many decoded rows pass at once from the reading
// goroutine to the caller; exportBatches how many batches may wait.
const exportBatch, exportBatches = 256, 4

// ExportLineItems streams the scope's rows to fn, one at a time: a
// goroutine reads and decodes them from the database while fn consumes
// the ones before (at most exportBatch × exportBatches rows wait), so
// memory does not grow with the month.
func (s *Store) ExportLineItems(ctx context.Context, sc exports.Scope, fn func(*exports.Item) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []exports.Item, exportBatches)
	errc := make(chan error, 1)
	go func() {
		defer close(batches)
		errc <- s.readExportItems(ctx, sc, func(batch []exports.Item) bool {
			select {
			case batches <- batch:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	for batch := range batches {
		for i := range batch {
			if err := fn(&batch[i]); err != nil {
				cancel()
				for range batches {
				}
				<-errc
				return err
			}
		}
	}
	return <-errc
}

// readExportItems reads and decodes the scope's rows, handing them on in
// batches until send refuses one.
func (s *Store) readExportItems(ctx context.Context, sc exports.Scope, send func([]exports.Item) bool) error {
	if s.dialect == Postgres {
		return s.copyExportItems(ctx, sc, send)
	}
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
	batch := make([]exports.Item, 0, exportBatch)
	lastExtras := 0
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return mapErr(err, "export line items")
		}
		batch = append(batch, exports.Item{})
		it := &batch[len(batch)-1]
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
			it.Extras = make(map[string]string, lastExtras)
			if err := decodeExtras(e, it.Extras); err != nil {
				return fmt.Errorf("export line items: extras: %w", err)
			}
			lastExtras = len(it.Extras)
		}
		it.ResaleCost = billing.Number(texts[n+1].String)
		it.RunFormat = format
		if len(batch) == exportBatch {
			if !send(batch) {
				return ctx.Err()
			}
			batch = make([]exports.Item, 0, exportBatch)
		}
	}
	if err := rows.Err(); err != nil {
		return mapErr(err, "export line items")
	}
	if len(batch) > 0 && !send(batch) {
		return ctx.Err()
	}
	return nil
}

// decodeExtras reads a stored extras object — string values only, as the
// store writes them; Postgres's jsonb text puts a space after each colon
// and comma — into m, without reflection but for strings with escapes.
// Anything else (other value types) goes through encoding/json.
func decodeExtras(s string, m map[string]string) error {
	i := 0
	ws := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		j, escaped := i+1, false
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				escaped = true
				j++
			}
			j++
		}
		if j >= len(s) {
			return "", false
		}
		tok := s[i : j+1]
		i = j + 1
		if !escaped {
			return tok[1 : len(tok)-1], true
		}
		// Only a string with escapes (a JSON value kept as text) pays
		// for encoding/json.
		var v string
		if json.Unmarshal([]byte(tok), &v) != nil {
			return "", false
		}
		return v, true
	}
	slow := func() error {
		clear(m)
		var any map[string]any
		if err := json.Unmarshal([]byte(s), &any); err != nil {
			return err
		}
		for k, v := range any {
			switch x := v.(type) {
			case string:
				m[k] = x
			case nil:
			default:
				b, _ := json.Marshal(x)
				m[k] = string(b)
			}
		}
		return nil
	}
	ws()
	if i >= len(s) || s[i] != '{' {
		return slow()
	}
	i++
	ws()
	if i < len(s) && s[i] == '}' {
		return nil
	}
	for {
		ws()
		k, ok := str()
		if !ok {
			return slow()
		}
		ws()
		if i >= len(s) || s[i] != ':' {
			return slow()
		}
		i++
		ws()
		v, ok := str()
		if !ok {
			return slow()
		}
		m[k] = v
		ws()
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		if i < len(s) && s[i] == '}' {
			i++
			ws()
			if i != len(s) {
				return slow()
			}
			return nil
		}
		return slow()
	}
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

// copyExportItems reads the scope's rows on Postgres with COPY … TO
// STDOUT as CSV — several times faster than row-by-row results — parsing
// them as they stream. COPY takes no parameters, so the scope's values
// are written as quoted literals. Timestamps are formatted in UTC by the
// query; NULL and the empty string both read as "" (absent).
func (s *Store) copyExportItems(ctx context.Context, sc exports.Scope, send func([]exports.Item) bool) error {
	lit := func(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
	m := billing.MonthStart(sc.Month)
	var names []string
	for _, n := range lowerNames(sc.ProviderNames) {
		names = append(names, lit(n))
	}
	var b strings.Builder
	b.WriteString("COPY (SELECT ")
	for _, f := range billing.Fields {
		if f.Kind == billing.KindTime {
			b.WriteString("to_char(li." + f.Column + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), `)
		} else {
			b.WriteString("li." + f.Column + ", ")
		}
	}
	b.WriteString("li.extras, li.resale_cost, COALESCE(r.format, '')" +
		" FROM cost_line_items AS li JOIN billing_partitions AS p ON p.org_id = li.org_id" +
		" AND p.connector_id = li.connector_id AND p.billing_period_start = li.billing_period_start AND p.run_id = li.run_id" +
		" LEFT JOIN ingestion_runs AS r ON r.org_id = li.org_id AND r.id = li.run_id" +
		" WHERE li.org_id = " + lit(sc.OrgID) +
		" AND p.billing_period_start >= " + lit(m.Format(time.RFC3339)) + "::timestamptz" +
		" AND p.billing_period_start < " + lit(m.AddDate(0, 1, 0).Format(time.RFC3339)) + "::timestamptz" +
		" AND lower(COALESCE(li.provider_name, li.service_provider_name, '')) IN (" + strings.Join(names, ", ") + ")" +
		") TO STDOUT WITH (FORMAT csv, HEADER true)")
	q := b.String()
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return mapErr(err, "export line items")
	}
	defer conn.Close()
	pr, pw := io.Pipe()
	copied := make(chan error, 1)
	go func() {
		copied <- conn.Raw(func(driverConn any) error {
			_, err := driverConn.(*stdlib.Conn).Conn().PgConn().CopyTo(ctx, pw, q)
			pw.CloseWithError(err)
			return err
		})
	}()
	err = s.parseExportCSV(ctx, pr, send)
	pr.CloseWithError(errStopReading)
	cerr := <-copied
	if cerr != nil && !errors.Is(cerr, errStopReading) {
		// The reader saw the copy's failure as its input's: say it is the
		// database's.
		return mapErr(cerr, "export line items")
	}
	return err
}

var errStopReading = errors.New("export reading stopped")

// parseExportCSV decodes COPY's CSV rows into batches.
func (s *Store) parseExportCSV(ctx context.Context, r io.Reader, send func([]exports.Item) bool) error {
	// The header row gives the reader the field count it checks each
	// record against.
	rd, err := csvfile.Open("export line items", r, "a header row")
	if err != nil {
		return fmt.Errorf("export line items: %w", err)
	}
	n := len(billing.Fields)
	if len(rd.Header()) != n+3 {
		return fmt.Errorf("export line items: %d columns, want %d", len(rd.Header()), n+3)
	}
	type cached struct {
		text string
		t    time.Time
	}
	last := make([]cached, n)
	batch := make([]exports.Item, 0, exportBatch)
	lastExtras := 0
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("export line items: %w", err)
		}
		batch = append(batch, exports.Item{})
		it := &batch[len(batch)-1]
		for i, f := range billing.Fields {
			v := rec[i]
			switch f.Kind {
			case billing.KindTime:
				if v != last[i].text {
					t, err := time.Parse(time.RFC3339Nano, v)
					if err != nil {
						return fmt.Errorf("export line items: %s: %w", f.Column, err)
					}
					last[i] = cached{text: v, t: t.UTC()}
				}
				*f.Time(&it.LineItem) = last[i].t
			case billing.KindDecimal:
				*f.Num(&it.LineItem) = billing.Number(v)
			default:
				*f.Str(&it.LineItem) = v
			}
		}
		if e := rec[n]; e != "" && e != "{}" {
			it.Extras = make(map[string]string, lastExtras)
			if err := decodeExtras(e, it.Extras); err != nil {
				return fmt.Errorf("export line items: extras: %w", err)
			}
			lastExtras = len(it.Extras)
		}
		it.ResaleCost = billing.Number(rec[n+1])
		it.RunFormat = rec[n+2]
		if len(batch) == exportBatch {
			if !send(batch) {
				return ctx.Err()
			}
			batch = make([]exports.Item, 0, exportBatch)
		}
	}
	if len(batch) > 0 && !send(batch) {
		return ctx.Err()
	}
	return nil
}

// lowerNames lower-cases an export's provider names, which the queries
// compare with the lower-cased provider of each row; no names match only
// rows without a provider.
func lowerNames(names []string) []string {
	if len(names) == 0 {
		return []string{""}
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

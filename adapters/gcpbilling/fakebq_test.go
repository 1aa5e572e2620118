package gcpbilling_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truecost/truecost/domain/billing"
)

// fakeBigQuery is an httptest server speaking the BigQuery v2 REST shapes
// the Go client uses: tables.list and tables.get, jobs.query (POST
// /projects/{p}/queries) and jobs.getQueryResults (GET
// /projects/{p}/queries/{job}) with page tokens. It holds one export table's
// rows (served under every listed table name) and answers the two queries
// the source sends — the invoice-month scan and the one-month read —
// computing their results from the rows. It checks the parts of the SQL
// the semantics depend on and models CAST(x AS STRING) by reporting the
// column as STRING with the row's decimal text; without the cast a FLOAT
// column is reported as FLOAT, as BigQuery does.
type fakeBigQuery struct {
	t        *testing.T
	srv      *httptest.Server
	project  string
	dataset  string
	tables   []string
	schema   []fakeField
	pageSize int

	mu          sync.Mutex
	rows        []map[string]any
	jobs        map[string][]any // result rows by job ID
	jobSchemas  map[string][]fakeField
	queries     []fakeQuery
	pageFetches int
	authHeaders []string
	ignoreCasts bool
}

type fakeField struct {
	Name   string      `json:"name"`
	Type   string      `json:"type"`
	Mode   string      `json:"mode,omitempty"`
	Fields []fakeField `json:"fields,omitempty"`
}

type fakeQuery struct {
	SQL    string
	Params map[string]string
}

func rec(name string, mode string, fields ...fakeField) fakeField {
	return fakeField{Name: name, Type: "RECORD", Mode: mode, Fields: fields}
}
func col(name, typ string) fakeField { return fakeField{Name: name, Type: typ, Mode: "NULLABLE"} }

// detailedSchema is the detailed export's schema (the columns the sample
// has; decimals are FLOAT as in the real table).
var detailedSchema = []fakeField{
	col("billing_account_id", "STRING"),
	rec("service", "NULLABLE", col("id", "STRING"), col("description", "STRING")),
	rec("sku", "NULLABLE", col("id", "STRING"), col("description", "STRING")),
	col("usage_start_time", "TIMESTAMP"),
	col("usage_end_time", "TIMESTAMP"),
	rec("project", "NULLABLE", col("id", "STRING"), col("number", "STRING"), col("name", "STRING"),
		rec("labels", "REPEATED", col("key", "STRING"), col("value", "STRING")), col("ancestry_numbers", "STRING")),
	rec("labels", "REPEATED", col("key", "STRING"), col("value", "STRING")),
	rec("system_labels", "REPEATED", col("key", "STRING"), col("value", "STRING")),
	rec("location", "NULLABLE", col("location", "STRING"), col("country", "STRING"), col("region", "STRING"), col("zone", "STRING")),
	rec("resource", "NULLABLE", col("name", "STRING"), col("global_name", "STRING")),
	col("export_time", "TIMESTAMP"),
	col("cost", "FLOAT"),
	col("currency", "STRING"),
	col("currency_conversion_rate", "FLOAT"),
	rec("usage", "NULLABLE", col("amount", "FLOAT"), col("unit", "STRING"), col("amount_in_pricing_units", "FLOAT"), col("pricing_unit", "STRING")),
	rec("credits", "REPEATED", col("name", "STRING"), col("amount", "FLOAT"), col("full_name", "STRING"), col("id", "STRING"), col("type", "STRING")),
	rec("invoice", "NULLABLE", col("month", "STRING")),
	col("cost_type", "STRING"),
}

func newFakeBigQuery(t *testing.T, lines []string, tables ...string) *fakeBigQuery {
	t.Helper()
	f := &fakeBigQuery{t: t, project: "billing-proj", dataset: "billing_export", tables: tables, schema: detailedSchema,
		pageSize: 2500, jobs: map[string][]any{}, jobSchemas: map[string][]fakeField{}}
	for _, l := range lines {
		f.add(l)
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// add appends one export row given as a JSON line.
func (f *fakeBigQuery) add(line string) {
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var row map[string]any
	if err := d.Decode(&row); err != nil {
		f.t.Fatalf("fake row: %v", err)
	}
	f.mu.Lock()
	f.rows = append(f.rows, row)
	f.mu.Unlock()
}

func (f *fakeBigQuery) recorded() []fakeQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeQuery(nil), f.queries...)
}

func (f *fakeBigQuery) fail(w http.ResponseWriter, code int, status, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status,
		"errors": []any{map[string]any{"message": msg, "reason": strings.ToLower(status)}}}})
}

func (f *fakeBigQuery) reply(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func (f *fakeBigQuery) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/bigquery/v2")
	if path == "/token" {
		f.reply(w, map[string]any{"access_token": "fake-token", "token_type": "Bearer", "expires_in": 3600})
		return
	}
	f.mu.Lock()
	f.authHeaders = append(f.authHeaders, r.Header.Get("Authorization"))
	f.mu.Unlock()
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 || parts[0] != "projects" || parts[1] != f.project {
		f.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: %s", path)
		return
	}
	switch {
	case r.Method == http.MethodGet && len(parts) >= 4 && parts[2] == "datasets":
		if parts[3] != f.dataset {
			f.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: Dataset %s:%s", f.project, parts[3])
			return
		}
		if len(parts) == 5 {
			f.listTables(w)
			return
		}
		if len(parts) == 6 && f.hasTable(parts[5]) {
			f.reply(w, map[string]any{"kind": "bigquery#table", "type": "TABLE",
				"tableReference": map[string]any{"projectId": f.project, "datasetId": f.dataset, "tableId": parts[5]},
				"schema":         map[string]any{"fields": f.schema}})
			return
		}
		f.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: Table %s", path)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "queries":
		f.query(w, r)
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "queries":
		f.mu.Lock()
		f.pageFetches++
		f.mu.Unlock()
		f.page(w, parts[3], r.URL.Query().Get("pageToken"))
	default:
		f.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: %s %s", r.Method, path)
	}
}

func (f *fakeBigQuery) hasTable(id string) bool {
	for _, t := range f.tables {
		if t == id {
			return true
		}
	}
	return false
}

func (f *fakeBigQuery) listTables(w http.ResponseWriter) {
	var list []any
	for _, t := range f.tables {
		list = append(list, map[string]any{"kind": "bigquery#table", "type": "TABLE", "id": f.project + ":" + f.dataset + "." + t,
			"tableReference": map[string]any{"projectId": f.project, "datasetId": f.dataset, "tableId": t}})
	}
	f.reply(w, map[string]any{"kind": "bigquery#tableList", "tables": list, "totalItems": len(list)})
}

var tableRE = regexp.MustCompile("`([a-z0-9.:-]+)\\.([A-Za-z0-9_]+)\\.([A-Za-z0-9_]+)`")

func (f *fakeBigQuery) query(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query           string `json:"query"`
		UseLegacySQL    *bool  `json:"useLegacySql"`
		QueryParameters []struct {
			Name           string `json:"name"`
			ParameterType  struct{ Type string }
			ParameterValue struct{ Value string }
		} `json:"queryParameters"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.fail(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad request: %v", err)
		return
	}
	q := fakeQuery{SQL: req.Query, Params: map[string]string{}}
	for _, p := range req.QueryParameters {
		q.Params[p.Name+":"+p.ParameterType.Type] = p.ParameterValue.Value
	}
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if req.UseLegacySQL == nil || *req.UseLegacySQL {
		f.fail(w, http.StatusBadRequest, "INVALID_ARGUMENT", "legacy SQL is not expected")
		return
	}
	for _, m := range tableRE.FindAllStringSubmatch(req.Query, -1) {
		if m[1] != f.project || m[2] != f.dataset || !f.hasTable(m[3]) {
			f.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: Table %s:%s.%s", m[1], m[2], m[3])
			return
		}
	}
	var schema []fakeField
	var rows []any
	var err error
	switch {
	case strings.Contains(req.Query, "GROUP BY invoice_month"):
		schema, rows, err = f.scan(q)
	case strings.Contains(req.Query, "WHERE invoice.month = @month"):
		schema, rows, err = f.read(q)
	default:
		err = fmt.Errorf("unexpected query: %s", req.Query)
	}
	if err != nil {
		f.fail(w, http.StatusBadRequest, "INVALID_ARGUMENT", "%v", err)
		return
	}
	f.mu.Lock()
	job := fmt.Sprintf("job_%d", len(f.queries))
	f.jobs[job], f.jobSchemas[job] = rows, schema
	f.mu.Unlock()
	f.page(w, job, "")
}

// page answers with one page of a job's rows, from the offset in token.
func (f *fakeBigQuery) page(w http.ResponseWriter, job, token string) {
	f.mu.Lock()
	rows, ok := f.jobs[job]
	schema := f.jobSchemas[job]
	f.mu.Unlock()
	if !ok {
		f.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: Job %s", job)
		return
	}
	start, _ := strconv.Atoi(token)
	end := min(start+f.pageSize, len(rows))
	body := map[string]any{"kind": "bigquery#queryResponse", "jobComplete": true,
		"jobReference": map[string]any{"projectId": f.project, "jobId": job, "location": "US"},
		"schema":       map[string]any{"fields": schema}, "rows": rows[start:end], "totalRows": strconv.Itoa(len(rows))}
	if end < len(rows) {
		body["pageToken"] = strconv.Itoa(end)
	}
	f.reply(w, body)
}

// scan answers the invoice-month scan: newest export_time and row count
// per month, limited (with @since) to months exported since then plus the
// newest month.
func (f *fakeBigQuery) scan(q fakeQuery) ([]fakeField, []any, error) {
	for _, want := range []string{"invoice.month AS invoice_month", "MAX(export_time) AS max_export_time", "COUNT(*) AS row_count"} {
		if !strings.Contains(q.SQL, want) {
			return nil, nil, fmt.Errorf("scan query lacks %q", want)
		}
	}
	var since time.Time
	windowed := strings.Contains(q.SQL, "export_time >= @since")
	if windowed {
		v, ok := q.Params["since:TIMESTAMP"]
		if !ok {
			return nil, nil, fmt.Errorf("query parameter since (TIMESTAMP) missing")
		}
		var err error
		if since, err = time.Parse("2006-01-02 15:04:05.999999-07:00", v); err != nil {
			return nil, nil, fmt.Errorf("since: %v", err)
		}
	}
	type stat struct {
		max    time.Time
		n      int
		recent bool
	}
	stats := map[string]*stat{}
	f.mu.Lock()
	for _, row := range f.rows {
		m := row["invoice"].(map[string]any)["month"].(string)
		exp := fakeTime(row["export_time"])
		s := stats[m]
		if s == nil {
			s = &stat{}
			stats[m] = s
		}
		s.n++
		if exp.After(s.max) {
			s.max = exp
		}
		if !exp.Before(since) {
			s.recent = true
		}
	}
	f.mu.Unlock()
	months := make([]string, 0, len(stats))
	for m := range stats {
		months = append(months, m)
	}
	sort.Strings(months)
	var rows []any
	for i, m := range months {
		s := stats[m]
		if windowed && !s.recent && i != len(months)-1 {
			continue
		}
		rows = append(rows, map[string]any{"f": []any{
			map[string]any{"v": m},
			map[string]any{"v": strconv.FormatInt(s.max.UnixMicro(), 10)},
			map[string]any{"v": strconv.Itoa(s.n)},
		}})
	}
	schema := []fakeField{col("invoice_month", "STRING"), col("max_export_time", "TIMESTAMP"), col("row_count", "INTEGER")}
	return schema, rows, nil
}

// read answers the one-month read.
func (f *fakeBigQuery) read(q fakeQuery) ([]fakeField, []any, error) {
	month, ok := q.Params["month:STRING"]
	if !ok {
		return nil, nil, fmt.Errorf("query parameter month (STRING) missing")
	}
	for _, c := range f.schema {
		if !strings.Contains(q.SQL, " AS "+c.Name) {
			return nil, nil, fmt.Errorf("column %s is not selected", c.Name)
		}
	}
	schema := f.resultSchema(q.SQL, f.schema, "", false)
	var rows []any
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, row := range f.rows {
		if row["invoice"].(map[string]any)["month"] != month {
			continue
		}
		var cells []any
		for _, c := range f.schema {
			cells = append(cells, map[string]any{"v": fakeCell(row[c.Name], c)})
		}
		rows = append(rows, map[string]any{"f": cells})
	}
	return schema, rows, nil
}

// resultSchema is the schema of the read's result: decimal leaves the SQL
// casts to STRING are STRING.
func (f *fakeBigQuery) resultSchema(sql string, fields []fakeField, prefix string, inArray bool) []fakeField {
	out := make([]fakeField, len(fields))
	for i, c := range fields {
		out[i] = c
		path := prefix + c.Name
		switch {
		case c.Type == "RECORD":
			out[i].Fields = f.resultSchema(sql, c.Fields, path+".", inArray || c.Mode == "REPEATED")
		case c.Type == "FLOAT" || c.Type == "NUMERIC" || c.Type == "BIGNUMERIC":
			cast := strings.Contains(sql, "CAST("+path+" AS STRING)")
			if inArray {
				top, leaf, _ := strings.Cut(path, ".")
				cast = strings.Contains(sql, "FROM UNNEST("+top+")") &&
					regexp.MustCompile(`CAST\(elem\d+\.`+regexp.QuoteMeta(leaf)+` AS STRING\)`).MatchString(sql)
			}
			if cast && !f.ignoreCasts {
				out[i].Type = "STRING"
			}
		}
	}
	return out
}

// fakeCell encodes a JSON value as a REST cell value: RECORD as {"f": […]},
// REPEATED as [{"v": …}], TIMESTAMP as microseconds, scalars as strings.
func fakeCell(v any, c fakeField) any {
	if v == nil {
		return nil
	}
	if c.Mode == "REPEATED" {
		elem := c
		elem.Mode = "NULLABLE"
		arr, _ := v.([]any)
		out := []any{}
		for _, e := range arr {
			out = append(out, map[string]any{"v": fakeCell(e, elem)})
		}
		return out
	}
	switch c.Type {
	case "RECORD":
		m, _ := v.(map[string]any)
		var cells []any
		for _, sub := range c.Fields {
			cells = append(cells, map[string]any{"v": fakeCell(m[sub.Name], sub)})
		}
		return map[string]any{"f": cells}
	case "TIMESTAMP":
		return strconv.FormatInt(fakeTime(v).UnixMicro(), 10)
	}
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func fakeTime(v any) time.Time {
	s, _ := v.(string)
	t, err := billing.ParseTime(s)
	if err != nil {
		panic(fmt.Sprintf("fake BigQuery: bad timestamp %q", s))
	}
	return t
}

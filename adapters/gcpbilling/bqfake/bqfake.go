// Package bqfake is a BigQuery REST server for tests: an httptest server
// holding one Cloud Billing export table and answering the requests
// gcpbilling's BigQuerySource sends. Tests of any package may use it.
package bqfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
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

	"github.com/truecost/truecost/adapters/focusfile"
)

// The project and dataset the server holds.
const (
	Project = "billing-proj"
	Dataset = "billing_export"
)

// DefaultPageSize is how many result rows one response carries.
const DefaultPageSize = 2500

// TokenPath is where the server hands out OAuth access tokens, so a
// service-account key whose token_uri is URL+TokenPath authenticates
// against it. Every token is "fake-token".
const TokenPath = "/token"

// Server speaks the BigQuery v2 REST shapes the Go client uses:
// tables.list and tables.get, jobs.query (POST /projects/{p}/queries) and
// jobs.getQueryResults (GET /projects/{p}/queries/{job}) with page tokens.
// It holds one export table's rows (served under every table name given to
// New) and answers the two queries the source sends, the invoice-month scan
// and the one-month read, computing their results from the rows. It checks
// the parts of the SQL the semantics depend on and models CAST(x AS STRING)
// by reporting the column as STRING with the row's decimal text; without the
// cast a FLOAT column is reported as FLOAT, as BigQuery does.
type Server struct {
	// URL is the server's base URL, the client's endpoint.
	URL string

	t      testing.TB
	tables []string
	schema []Field

	mu          sync.Mutex
	pageSize    int
	ignoreCasts bool
	rows        []map[string]any
	jobs        map[string][]any // result rows by job ID
	jobSchemas  map[string][]Field
	queries     []Query
	pageFetches int
	authHeaders []string
}

// Field is a column of a table or query result schema.
type Field struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Mode   string  `json:"mode,omitempty"`
	Fields []Field `json:"fields,omitempty"`
}

// Query is one jobs.query request as received: its SQL and its parameters
// keyed "name:TYPE".
type Query struct {
	SQL    string
	Params map[string]string
}

func rec(name string, mode string, fields ...Field) Field {
	return Field{Name: name, Type: "RECORD", Mode: mode, Fields: fields}
}
func col(name, typ string) Field { return Field{Name: name, Type: typ, Mode: "NULLABLE"} }

// DetailedSchema is the detailed export's schema (the columns the sample
// export has; decimals are FLOAT as in the real table).
var DetailedSchema = []Field{
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

// New starts a server holding the export rows given as JSON lines (the
// layout of the export's newline-delimited JSON extract) under each of
// tables in dataset Dataset of project Project. It is closed when the test
// ends.
func New(t testing.TB, lines []string, tables ...string) *Server {
	t.Helper()
	s := &Server{t: t, tables: tables, schema: DetailedSchema, pageSize: DefaultPageSize,
		jobs: map[string][]any{}, jobSchemas: map[string][]Field{}}
	for _, l := range lines {
		s.Add(l)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Add appends one export row given as a JSON line.
func (s *Server) Add(line string) {
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var row map[string]any
	if err := d.Decode(&row); err != nil {
		s.t.Fatalf("bqfake: bad row: %v", err)
	}
	s.mu.Lock()
	s.rows = append(s.rows, row)
	s.mu.Unlock()
}

// SetPageSize sets how many result rows one response carries.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// IgnoreCasts makes the server report decimal columns as FLOAT even when
// the SQL casts them to STRING, as if the casts were lost.
func (s *Server) IgnoreCasts(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreCasts = ignore
}

// Queries returns the jobs.query requests received so far.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// PageFetches counts the jobs.getQueryResults requests received so far.
func (s *Server) PageFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pageFetches
}

// AuthHeaders returns the Authorization header of every API request (token
// requests aside) received so far.
func (s *Server) AuthHeaders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authHeaders...)
}

// ServiceAccountKey returns a new service-account key file (JSON) for
// project Project whose token endpoint is this server, so a client built
// with it and the server as its endpoint authorises each request with the
// token "fake-token".
func (s *Server) ServiceAccountKey(t testing.TB) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": Project, "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "truecost@" + Project + ".iam.gserviceaccount.com", "client_id": "1", "token_uri": s.URL + TokenPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *Server) fail(w http.ResponseWriter, code int, status, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status,
		"errors": []any{map[string]any{"message": msg, "reason": strings.ToLower(status)}}}})
}

func (s *Server) reply(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// ServeHTTP answers one REST request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/bigquery/v2")
	if path == TokenPath {
		s.reply(w, map[string]any{"access_token": "fake-token", "token_type": "Bearer", "expires_in": 3600})
		return
	}
	s.mu.Lock()
	s.authHeaders = append(s.authHeaders, r.Header.Get("Authorization"))
	s.mu.Unlock()
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 || parts[0] != "projects" || parts[1] != Project {
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: %s", path)
		return
	}
	switch {
	case r.Method == http.MethodGet && len(parts) >= 4 && parts[2] == "datasets":
		if parts[3] != Dataset {
			s.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: Dataset %s:%s", Project, parts[3])
			return
		}
		if len(parts) == 5 {
			s.listTables(w)
			return
		}
		if len(parts) == 6 && s.hasTable(parts[5]) {
			s.reply(w, map[string]any{"kind": "bigquery#table", "type": "TABLE",
				"tableReference": map[string]any{"projectId": Project, "datasetId": Dataset, "tableId": parts[5]},
				"schema":         map[string]any{"fields": s.schema}})
			return
		}
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: Table %s", path)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "queries":
		s.query(w, r)
	case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "queries":
		s.mu.Lock()
		s.pageFetches++
		s.mu.Unlock()
		s.page(w, parts[3], r.URL.Query().Get("pageToken"))
	default:
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: %s %s", r.Method, path)
	}
}

func (s *Server) hasTable(id string) bool {
	for _, t := range s.tables {
		if t == id {
			return true
		}
	}
	return false
}

func (s *Server) listTables(w http.ResponseWriter) {
	var list []any
	for _, t := range s.tables {
		list = append(list, map[string]any{"kind": "bigquery#table", "type": "TABLE", "id": Project + ":" + Dataset + "." + t,
			"tableReference": map[string]any{"projectId": Project, "datasetId": Dataset, "tableId": t}})
	}
	s.reply(w, map[string]any{"kind": "bigquery#tableList", "tables": list, "totalItems": len(list)})
}

var tableRE = regexp.MustCompile("`([a-z0-9.:-]+)\\.([A-Za-z0-9_]+)\\.([A-Za-z0-9_]+)`")

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
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
		s.fail(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad request: %v", err)
		return
	}
	q := Query{SQL: req.Query, Params: map[string]string{}}
	for _, p := range req.QueryParameters {
		q.Params[p.Name+":"+p.ParameterType.Type] = p.ParameterValue.Value
	}
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	if req.UseLegacySQL == nil || *req.UseLegacySQL {
		s.fail(w, http.StatusBadRequest, "INVALID_ARGUMENT", "legacy SQL is not expected")
		return
	}
	for _, m := range tableRE.FindAllStringSubmatch(req.Query, -1) {
		if m[1] != Project || m[2] != Dataset || !s.hasTable(m[3]) {
			s.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: Table %s:%s.%s", m[1], m[2], m[3])
			return
		}
	}
	var schema []Field
	var rows []any
	var err error
	switch {
	case strings.Contains(req.Query, "GROUP BY invoice_month"):
		schema, rows, err = s.scan(q)
	case strings.Contains(req.Query, "WHERE invoice.month = @month"):
		schema, rows, err = s.read(q)
	default:
		err = fmt.Errorf("unexpected query: %s", req.Query)
	}
	if err != nil {
		s.fail(w, http.StatusBadRequest, "INVALID_ARGUMENT", "%v", err)
		return
	}
	s.mu.Lock()
	job := fmt.Sprintf("job_%d", len(s.queries))
	s.jobs[job], s.jobSchemas[job] = rows, schema
	s.mu.Unlock()
	s.page(w, job, "")
}

// page answers with one page of a job's rows, from the offset in token.
func (s *Server) page(w http.ResponseWriter, job, token string) {
	s.mu.Lock()
	rows, ok := s.jobs[job]
	schema := s.jobSchemas[job]
	size := s.pageSize
	s.mu.Unlock()
	if !ok {
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "Not found: Job %s", job)
		return
	}
	start, _ := strconv.Atoi(token)
	end := min(start+size, len(rows))
	body := map[string]any{"kind": "bigquery#queryResponse", "jobComplete": true,
		"jobReference": map[string]any{"projectId": Project, "jobId": job, "location": "US"},
		"schema":       map[string]any{"fields": schema}, "rows": rows[start:end], "totalRows": strconv.Itoa(len(rows))}
	if end < len(rows) {
		body["pageToken"] = strconv.Itoa(end)
	}
	s.reply(w, body)
}

// scan answers the invoice-month scan: newest export_time and row count
// per month, limited (with @since) to months exported since then plus the
// newest month.
func (s *Server) scan(q Query) ([]Field, []any, error) {
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
	s.mu.Lock()
	for _, row := range s.rows {
		m := row["invoice"].(map[string]any)["month"].(string)
		exp, err := rowTime(row["export_time"])
		if err != nil {
			s.mu.Unlock()
			return nil, nil, err
		}
		st := stats[m]
		if st == nil {
			st = &stat{}
			stats[m] = st
		}
		st.n++
		if exp.After(st.max) {
			st.max = exp
		}
		if !exp.Before(since) {
			st.recent = true
		}
	}
	s.mu.Unlock()
	months := make([]string, 0, len(stats))
	for m := range stats {
		months = append(months, m)
	}
	sort.Strings(months)
	var rows []any
	for i, m := range months {
		st := stats[m]
		if windowed && !st.recent && i != len(months)-1 {
			continue
		}
		rows = append(rows, map[string]any{"f": []any{
			map[string]any{"v": m},
			map[string]any{"v": strconv.FormatInt(st.max.UnixMicro(), 10)},
			map[string]any{"v": strconv.Itoa(st.n)},
		}})
	}
	schema := []Field{col("invoice_month", "STRING"), col("max_export_time", "TIMESTAMP"), col("row_count", "INTEGER")}
	return schema, rows, nil
}

// read answers the one-month read.
func (s *Server) read(q Query) ([]Field, []any, error) {
	month, ok := q.Params["month:STRING"]
	if !ok {
		return nil, nil, fmt.Errorf("query parameter month (STRING) missing")
	}
	for _, c := range s.schema {
		if !strings.Contains(q.SQL, " AS "+c.Name) {
			return nil, nil, fmt.Errorf("column %s is not selected", c.Name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	schema := s.resultSchema(q.SQL, s.schema, "", false)
	var rows []any
	for _, row := range s.rows {
		if row["invoice"].(map[string]any)["month"] != month {
			continue
		}
		var cells []any
		for _, c := range s.schema {
			v, err := cell(row[c.Name], c)
			if err != nil {
				return nil, nil, err
			}
			cells = append(cells, map[string]any{"v": v})
		}
		rows = append(rows, map[string]any{"f": cells})
	}
	return schema, rows, nil
}

// resultSchema is the schema of the read's result: decimal leaves the SQL
// casts to STRING are STRING. s.mu is held.
func (s *Server) resultSchema(sql string, fields []Field, prefix string, inArray bool) []Field {
	out := make([]Field, len(fields))
	for i, c := range fields {
		out[i] = c
		path := prefix + c.Name
		switch {
		case c.Type == "RECORD":
			out[i].Fields = s.resultSchema(sql, c.Fields, path+".", inArray || c.Mode == "REPEATED")
		case c.Type == "FLOAT" || c.Type == "NUMERIC" || c.Type == "BIGNUMERIC":
			cast := strings.Contains(sql, "CAST("+path+" AS STRING)")
			if inArray {
				top, leaf, _ := strings.Cut(path, ".")
				cast = strings.Contains(sql, "FROM UNNEST("+top+")") &&
					regexp.MustCompile(`CAST\(elem\d+\.`+regexp.QuoteMeta(leaf)+` AS STRING\)`).MatchString(sql)
			}
			if cast && !s.ignoreCasts {
				out[i].Type = "STRING"
			}
		}
	}
	return out
}

// cell encodes a JSON value as a REST cell value: RECORD as {"f": […]},
// REPEATED as [{"v": …}], TIMESTAMP as microseconds, scalars as strings.
func cell(v any, c Field) (any, error) {
	if v == nil {
		return nil, nil
	}
	if c.Mode == "REPEATED" {
		elem := c
		elem.Mode = "NULLABLE"
		arr, _ := v.([]any)
		out := []any{}
		for _, e := range arr {
			ev, err := cell(e, elem)
			if err != nil {
				return nil, err
			}
			out = append(out, map[string]any{"v": ev})
		}
		return out, nil
	}
	switch c.Type {
	case "RECORD":
		m, _ := v.(map[string]any)
		var cells []any
		for _, sub := range c.Fields {
			sv, err := cell(m[sub.Name], sub)
			if err != nil {
				return nil, err
			}
			cells = append(cells, map[string]any{"v": sv})
		}
		return map[string]any{"f": cells}, nil
	case "TIMESTAMP":
		t, err := rowTime(v)
		if err != nil {
			return nil, err
		}
		return strconv.FormatInt(t.UnixMicro(), 10), nil
	}
	switch x := v.(type) {
	case json.Number:
		return x.String(), nil
	case string:
		return x, nil
	}
	return fmt.Sprint(v), nil
}

func rowTime(v any) (time.Time, error) {
	s, _ := v.(string)
	t, err := focusfile.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bqfake: bad timestamp %q in a row", s)
	}
	return t, nil
}

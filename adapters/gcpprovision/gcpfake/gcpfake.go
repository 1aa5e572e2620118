// Package gcpfake is a Google Cloud control plane for tests: one httptest
// server speaking the BigQuery v2 REST dataset methods and the Service
// Usage v1 API, with an OAuth token endpoint. It keeps datasets and service
// states in memory, records every API request and can fail a chosen
// operation once. Tests of any package may use it.
package gcpfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TokenPath is where the server hands out OAuth access tokens; a key from
// ServiceAccountKey exchanges its signed assertion there for the token
// "fake-token".
const TokenPath = "/token"

// Operations that FailOnce can fail.
const (
	ServicesGet     = "services.get"
	ServicesEnable  = "services.enable"
	ServicesDisable = "services.disable"
	OperationsGet   = "operations.get"
	DatasetsInsert  = "datasets.insert"
	DatasetsGet     = "datasets.get"
	DatasetsDelete  = "datasets.delete"
)

// Call is one API request as received. Query leaves out the client's
// alt and prettyPrint parameters; Body is the JSON body re-encoded with
// sorted keys ("" when there was none).
type Call struct {
	Method string
	Path   string
	Query  string
	Body   string
}

// String is "METHOD PATH[?QUERY][ BODY]", handy to compare in tests.
func (c Call) String() string {
	s := c.Method + " " + c.Path
	if c.Query != "" {
		s += "?" + c.Query
	}
	if c.Body != "" {
		s += " " + c.Body
	}
	return s
}

// Dataset is a BigQuery dataset the server holds.
type Dataset struct {
	Project  string
	ID       string
	Location string
	Labels   map[string]string
	Tables   []string
}

// failure is an error answer: HTTP code, status name, reason, message.
type failure struct {
	code                    int
	status, reason, message string
}

type operation struct {
	name     string
	method   string // services.enable or services.disable
	service  string // projects/P/services/S
	polls    int    // operations.get answers left before done
	err      *opError
	done     bool
	response map[string]any
}

type opError struct {
	code    int
	message string
}

// Fake is the server. Its methods are safe for concurrent use.
type Fake struct {
	// URL is the base URL, the endpoint of both APIs.
	URL string

	mu       sync.Mutex
	calls    []Call
	auth     []string
	services map[string]string // projects/P/services/S → ENABLED or DISABLED
	datasets map[string]*Dataset
	ops      map[string]*operation
	nextOp   int
	polls    int
	fail     map[string]failure
	opFail   map[string]opError
}

// New starts a server that is closed when the test ends. Every project
// exists; every service starts DISABLED; there are no datasets.
func New(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{services: map[string]string{}, datasets: map[string]*Dataset{}, ops: map[string]*operation{},
		fail: map[string]failure{}, opFail: map[string]opError{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// ServiceAccountKey returns a new service-account key file (JSON) for
// project whose token endpoint is this server, so a client using it
// authorises every request with "Bearer fake-token".
func (f *Fake) ServiceAccountKey(t testing.TB, project string) string {
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
		"type": "service_account", "project_id": project, "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "truecost@" + project + ".iam.gserviceaccount.com", "client_id": "1", "token_uri": f.URL + TokenPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Calls returns the API requests received so far (token requests aside).
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// ClearCalls forgets the requests received so far.
func (f *Fake) ClearCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls, f.auth = nil, nil
}

// AuthHeaders returns the Authorization header of every API request
// received so far.
func (f *Fake) AuthHeaders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

// EnableService marks a service ENABLED in a project, as if someone had
// enabled it before.
func (f *Fake) EnableService(project, service string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services[serviceName(project, service)] = "ENABLED"
}

// ServiceState is a service's state in a project: ENABLED or DISABLED.
func (f *Fake) ServiceState(project, service string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state(serviceName(project, service))
}

// AddDataset stores a dataset, as if it existed before.
func (f *Fake) AddDataset(d Dataset) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d.Labels = copyLabels(d.Labels)
	d.Tables = append([]string(nil), d.Tables...)
	f.datasets[d.Project+"/"+d.ID] = &d
}

// AddTable adds a table to a dataset, as the billing export does.
func (f *Fake) AddTable(project, dataset, table string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.datasets[project+"/"+dataset]; d != nil {
		d.Tables = append(d.Tables, table)
	}
}

// Dataset returns a copy of a stored dataset.
func (f *Fake) Dataset(project, id string) (Dataset, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.datasets[project+"/"+id]
	if d == nil {
		return Dataset{}, false
	}
	c := *d
	c.Labels = copyLabels(d.Labels)
	c.Tables = append([]string(nil), d.Tables...)
	return c, true
}

// FailOnce makes the next request of operation op (ServicesGet,
// DatasetsInsert, …) answer with an error of the given HTTP status, status
// name (such as PERMISSION_DENIED) and message, and change nothing.
func (f *Fake) FailOnce(op string, status int, statusName, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reason := map[int]string{400: "invalid", 403: "accessDenied", 404: "notFound", 409: "duplicate"}[status]
	if reason == "" {
		reason = "backendError"
	}
	f.fail[op] = failure{status, statusName, reason, message}
}

// FailOperationOnce makes the next long-running operation of method
// (ServicesEnable or ServicesDisable) end with an error: a google.rpc.Code
// and a message.
func (f *Fake) FailOperationOnce(method string, code int, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opFail[method] = opError{code: code, message: message}
}

// SetOperationPolls sets how many operations.get requests a new
// long-running operation answers "not done" to before it is done; 0 (the
// default) makes operations done at once.
func (f *Fake) SetOperationPolls(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls = n
}

func serviceName(project, service string) string {
	return "projects/" + project + "/services/" + service
}

func copyLabels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// state is a service's state; f.mu is held.
func (f *Fake) state(name string) string {
	if s := f.services[name]; s != "" {
		return s
	}
	return "DISABLED"
}

// ServeHTTP answers one request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == TokenPath {
		reply(w, http.StatusOK, map[string]any{"access_token": "fake-token", "token_type": "Bearer", "expires_in": 3600})
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		fail(w, failure{http.StatusBadRequest, "INVALID_ARGUMENT", "invalid", err.Error()})
		return
	}
	call := Call{Method: r.Method, Path: r.URL.Path, Query: cleanQuery(r.URL.Query()), Body: canonical(raw)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.auth = append(f.auth, r.Header.Get("Authorization"))

	path := strings.TrimPrefix(r.URL.Path, "/bigquery/v2")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case parts[0] == "v1":
		f.serviceUsage(w, r.Method, parts[1:], r.URL.Path)
	case parts[0] == "projects" && len(parts) >= 3 && parts[2] == "datasets":
		f.bigQuery(w, r, parts[1], parts[3:], raw)
	default:
		fail(w, failure{http.StatusNotFound, "NOT_FOUND", "notFound", "Not found: " + r.Method + " " + r.URL.Path})
	}
}

// failed answers with the injected failure of op, if any; f.mu is held.
func (f *Fake) failed(w http.ResponseWriter, op string) bool {
	e, ok := f.fail[op]
	if !ok {
		return false
	}
	delete(f.fail, op)
	fail(w, e)
	return true
}

// serviceUsage answers /v1/projects/P/services/S[:enable|:disable] and
// /v1/operations/ID.
func (f *Fake) serviceUsage(w http.ResponseWriter, method string, parts []string, path string) {
	notFound := func() {
		fail(w, failure{http.StatusNotFound, "NOT_FOUND", "notFound", "Method not found: " + method + " " + path})
	}
	switch {
	case method == http.MethodGet && len(parts) == 2 && parts[0] == "operations":
		if f.failed(w, OperationsGet) {
			return
		}
		op := f.ops["operations/"+parts[1]]
		if op == nil {
			fail(w, failure{http.StatusNotFound, "NOT_FOUND", "notFound", "Operation operations/" + parts[1] + " not found."})
			return
		}
		if !op.done {
			if op.polls > 0 {
				op.polls--
			}
			if op.polls == 0 {
				f.finish(op)
			}
		}
		reply(w, http.StatusOK, op.body())
	case len(parts) == 4 && parts[0] == "projects" && parts[2] == "services":
		svc, verb, _ := strings.Cut(parts[3], ":")
		name := serviceName(parts[1], svc)
		switch {
		case method == http.MethodGet && verb == "":
			if f.failed(w, ServicesGet) {
				return
			}
			reply(w, http.StatusOK, map[string]any{"name": name, "parent": "projects/" + parts[1], "state": f.state(name),
				"config": map[string]any{"name": svc, "title": svc}})
		case method == http.MethodPost && (verb == "enable" || verb == "disable"):
			if f.failed(w, "services."+verb) {
				return
			}
			f.nextOp++
			op := &operation{name: fmt.Sprintf("operations/acf.p2-%d", f.nextOp), method: "services." + verb, service: name, polls: f.polls}
			if e, ok := f.opFail[op.method]; ok {
				delete(f.opFail, op.method)
				op.err = &e
			}
			f.ops[op.name] = op
			if op.polls == 0 {
				f.finish(op)
			}
			reply(w, http.StatusOK, op.body())
		default:
			notFound()
		}
	default:
		notFound()
	}
}

// finish completes an operation; f.mu is held.
func (f *Fake) finish(op *operation) {
	op.done = true
	if op.err != nil {
		return
	}
	state := "ENABLED"
	typ := "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse"
	if op.method == ServicesDisable {
		state = "DISABLED"
		typ = "type.googleapis.com/google.api.serviceusage.v1.DisableServiceResponse"
	}
	f.services[op.service] = state
	project, svc, _ := strings.Cut(strings.TrimPrefix(op.service, "projects/"), "/services/")
	op.response = map[string]any{"@type": typ,
		"service": map[string]any{"name": op.service, "parent": "projects/" + project, "state": state, "config": map[string]any{"name": svc}}}
}

func (op *operation) body() map[string]any {
	b := map[string]any{"name": op.name}
	if !op.done {
		b["metadata"] = map[string]any{"@type": "type.googleapis.com/google.api.serviceusage.v1.OperationMetadata"}
		return b
	}
	b["done"] = true
	if op.err != nil {
		b["error"] = map[string]any{"code": op.err.code, "message": op.err.message}
	} else {
		b["response"] = op.response
	}
	return b
}

// bigQuery answers the dataset methods: POST /projects/P/datasets and
// GET or DELETE /projects/P/datasets/D.
func (f *Fake) bigQuery(w http.ResponseWriter, r *http.Request, project string, rest []string, raw []byte) {
	switch {
	case r.Method == http.MethodPost && len(rest) == 0:
		if f.failed(w, DatasetsInsert) {
			return
		}
		var in struct {
			DatasetReference struct {
				ProjectID string `json:"projectId"`
				DatasetID string `json:"datasetId"`
			} `json:"datasetReference"`
			Location string            `json:"location"`
			Labels   map[string]string `json:"labels"`
		}
		if err := json.Unmarshal(raw, &in); err != nil || in.DatasetReference.DatasetID == "" {
			fail(w, failure{http.StatusBadRequest, "INVALID_ARGUMENT", "invalid", "Invalid dataset: a datasetReference.datasetId is required"})
			return
		}
		id := in.DatasetReference.DatasetID
		if f.datasets[project+"/"+id] != nil {
			fail(w, failure{http.StatusConflict, "ALREADY_EXISTS", "duplicate", "Already Exists: Dataset " + project + ":" + id})
			return
		}
		if in.Location == "" {
			in.Location = "US"
		}
		d := &Dataset{Project: project, ID: id, Location: in.Location, Labels: in.Labels}
		f.datasets[project+"/"+id] = d
		reply(w, http.StatusOK, datasetBody(d))
	case (r.Method == http.MethodGet || r.Method == http.MethodDelete) && len(rest) == 1:
		op := DatasetsGet
		if r.Method == http.MethodDelete {
			op = DatasetsDelete
		}
		if f.failed(w, op) {
			return
		}
		key := project + "/" + rest[0]
		d := f.datasets[key]
		if d == nil {
			fail(w, failure{http.StatusNotFound, "NOT_FOUND", "notFound", "Not found: Dataset " + project + ":" + rest[0]})
			return
		}
		if r.Method == http.MethodGet {
			reply(w, http.StatusOK, datasetBody(d))
			return
		}
		if len(d.Tables) > 0 && r.URL.Query().Get("deleteContents") != "true" {
			fail(w, failure{http.StatusBadRequest, "FAILED_PRECONDITION", "resourceInUse",
				"Dataset " + project + ":" + rest[0] + " is still in use"})
			return
		}
		delete(f.datasets, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(w, failure{http.StatusNotFound, "NOT_FOUND", "notFound", "Not found: " + r.Method + " " + r.URL.Path})
	}
}

func datasetBody(d *Dataset) map[string]any {
	b := map[string]any{"kind": "bigquery#dataset", "id": d.Project + ":" + d.ID, "etag": strconv.Itoa(len(d.Tables)) + "-" + d.ID,
		"datasetReference": map[string]any{"projectId": d.Project, "datasetId": d.ID}, "location": d.Location,
		"creationTime": "1790000000000", "lastModifiedTime": "1790000000000"}
	if len(d.Labels) > 0 {
		b["labels"] = d.Labels
	}
	return b
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// fail answers in Google's JSON error shape, which both APIs use.
func fail(w http.ResponseWriter, e failure) {
	reply(w, e.code, map[string]any{"error": map[string]any{"code": e.code, "message": e.message, "status": e.status,
		"errors": []any{map[string]any{"message": e.message, "domain": "global", "reason": e.reason}}}})
}

// cleanQuery encodes the query, sorted by key, without the parameters
// every client call adds.
func cleanQuery(q url.Values) string {
	q.Del("alt")
	q.Del("prettyPrint")
	return q.Encode()
}

// canonical re-encodes a JSON body with sorted keys; other bodies are kept
// as they are.
func canonical(raw []byte) string {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return string(raw)
	}
	return string(b)
}

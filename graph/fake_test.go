package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph"
)

// Fakes behind graph.Deps and a small GraphQL client over HTTP, shared by
// the tests of this package: the handler tests drive the API over fakes,
// the store tests over a real database.

var (
	fakeOrg  = tenancy.Organization{ID: "org-1", Slug: "acme", Name: "Acme", Kind: tenancy.Customer}
	fakeUser = tenancy.User{ID: "user-1", OrgID: "org-1", Email: "ana@acme.test", Role: tenancy.Admin}
)

const (
	fakeToken   = "tc_good"
	fakeCookie  = "cookie-value"
	fakeCSRF    = "csrf-value"
	expiredSess = "expired-cookie"
)

type fakeTenancy struct{}

var (
	_ graph.Tenancy  = fakeTenancy{}
	_ graph.Reporter = (*fakeReporter)(nil)
)

func (fakeTenancy) TokenPrincipal(_ context.Context, token, _ string) (tenancy.Principal, error) {
	if token == "tc_db_down" {
		return tenancy.Principal{}, errors.New("dial tcp 10.0.0.5:5432: connection refused")
	}
	if token != fakeToken {
		return tenancy.Principal{}, domain.Errorf(domain.Unauthorized, "invalid or revoked API token")
	}
	return tenancy.Principal{User: fakeUser, Org: fakeOrg}, nil
}

func (fakeTenancy) SessionPrincipal(_ context.Context, token string) (tenancy.Session, tenancy.Principal, error) {
	if token != fakeCookie {
		return tenancy.Session{}, tenancy.Principal{}, domain.Errorf(domain.Unauthorized, "session expired; sign in again")
	}
	return tenancy.Session{CSRF: fakeCSRF}, tenancy.Principal{User: fakeUser, Org: fakeOrg}, nil
}

func (fakeTenancy) VisibleOrganizations(_ context.Context, p tenancy.Principal) ([]tenancy.Organization, error) {
	return []tenancy.Organization{p.Org}, nil
}

// fakeRights decides what the fake callers may read with the real rule:
// fakeOrg is a customer, so it reads its own organization only, and Rights
// never asks the store about resellers.
var fakeRights = tenancy.NewRights(fakeOrgs{})

// fakeOrgs is the organization store behind fakeRights; a customer's reach
// needs none of it.
type fakeOrgs struct{ tenancy.Store }

func (fakeOrgs) CustomersOf(context.Context, string) ([]tenancy.Organization, error) { return nil, nil }

// fakeReporter records the caller and query it is asked, refuses an
// organization the caller may not read (as billing.Reporter does, through
// the same Rights), and answers with report, err, or a panic. Runs is the
// real billing.Reporter over runs, so its limit and rights checks are the
// real ones.
type fakeReporter struct {
	runs *fakeRuns
	real *billing.Reporter

	mu        sync.Mutex
	gotCaller tenancy.Principal
	got       billing.CostQuery
	report    billing.CostReport
	err       error
	panic     bool
}

func newFakeReporter() *fakeReporter {
	runs := &fakeRuns{}
	return &fakeReporter{runs: runs, real: billing.NewReporter(nil, runs, fakeRights)}
}

func (f *fakeReporter) Report(ctx context.Context, p tenancy.Principal, q billing.CostQuery) (billing.CostReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panic {
		panic("boom")
	}
	f.gotCaller, f.got = p, q
	if _, err := fakeRights.Read(ctx, p, q.OrgID); err != nil {
		return billing.CostReport{}, err
	}
	return f.report, f.err
}

func (f *fakeReporter) Runs(ctx context.Context, p tenancy.Principal, orgID string, limit int) ([]billing.IngestionRun, error) {
	return f.real.Runs(ctx, p, orgID, limit)
}

// fakeRuns lists runs for the real Reporter and records what it was asked.
type fakeRuns struct {
	mu        sync.Mutex
	runs      []billing.IngestionRun
	gotOrgIDs []string
	gotLimit  int
}

func (f *fakeRuns) ListRuns(_ context.Context, orgIDs []string, limit int) ([]billing.IngestionRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gotOrgIDs, f.gotLimit = orgIDs, limit
	return f.runs, nil
}

// connectorCall is one call the fake connector service received.
type connectorCall struct {
	method string
	caller tenancy.Principal
	orgID  string
	id     string
}

// fakeConnectors records each call with its caller and organization and
// answers with connector (list holds it once).
type fakeConnectors struct {
	mu        sync.Mutex
	calls     []connectorCall
	connector connectors.Connector
}

var _ graph.Connectors = (*fakeConnectors)(nil)

func (f *fakeConnectors) record(method string, p tenancy.Principal, orgID, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, connectorCall{method: method, caller: p, orgID: orgID, id: id})
}

func (f *fakeConnectors) List(_ context.Context, p tenancy.Principal, orgID string) ([]connectors.Connector, error) {
	f.record("List", p, orgID, "")
	return []connectors.Connector{f.connector}, nil
}

func (f *fakeConnectors) Get(_ context.Context, p tenancy.Principal, orgID, id string) (connectors.Connector, error) {
	f.record("Get", p, orgID, id)
	return f.connector, nil
}

func (f *fakeConnectors) Create(_ context.Context, p tenancy.Principal, orgID string, _ connectors.Input) (connectors.Connector, error) {
	f.record("Create", p, orgID, "")
	return f.connector, nil
}

func (f *fakeConnectors) Update(_ context.Context, p tenancy.Principal, orgID, id string, _ connectors.Input) (connectors.Connector, error) {
	f.record("Update", p, orgID, id)
	return f.connector, nil
}

func (f *fakeConnectors) Delete(_ context.Context, p tenancy.Principal, orgID, id string) error {
	f.record("Delete", p, orgID, id)
	return nil
}

func (f *fakeConnectors) Test(_ context.Context, p tenancy.Principal, orgID, id string) (connectors.TestResult, error) {
	f.record("Test", p, orgID, id)
	return connectors.TestResult{Format: "focus"}, nil
}

func (f *fakeConnectors) Sync(_ context.Context, p tenancy.Principal, orgID, id string, _ func(done, total int64)) (billing.IngestionRun, error) {
	f.record("Sync", p, orgID, id)
	return billing.IngestionRun{ID: "run-1", OrgID: f.connector.OrgID, ConnectorID: id, Status: billing.RunSucceeded}, nil
}

// takeCalls returns and forgets the calls received so far.
func (f *fakeConnectors) takeCalls() []connectorCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls := f.calls
	f.calls = nil
	return calls
}

// fakeAPI is the API over fakes. It has no cloud account service, and a
// connector service only when built by newFakeAPIWithConnectors.
type fakeAPI struct {
	reporter   *fakeReporter
	runs       *fakeRuns
	connectors *fakeConnectors
	server     *httptest.Server
}

func newFakeAPI(t testing.TB) *fakeAPI {
	t.Helper()
	return startFakeAPI(t, nil)
}

// newFakeAPIWithConnectors is newFakeAPI with a fake connector service.
func newFakeAPIWithConnectors(t *testing.T) *fakeAPI {
	t.Helper()
	return startFakeAPI(t, &fakeConnectors{connector: connectors.Connector{
		ID: "c-1", OrgID: fakeOrg.ID, Provider: connectors.Local, Name: "sample", Status: connectors.StatusNew}})
}

func startFakeAPI(t testing.TB, conns *fakeConnectors) *fakeAPI {
	t.Helper()
	api := &fakeAPI{reporter: newFakeReporter(), connectors: conns}
	api.runs = api.reporter.runs
	deps := graph.Deps{
		Tenancy:  fakeTenancy{},
		Reporter: api.reporter,
		Logger:   discardLogger(),
	}
	if conns != nil {
		deps.Connectors = conns
	}
	api.server = httptest.NewServer(graph.NewHandler(deps))
	t.Cleanup(api.server.Close)
	return api
}

// gqlResponse is a GraphQL response as a client reads it.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (r gqlResponse) codes() []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

// post sends one operation and decodes the answer; auth sets credentials.
func post(t *testing.T, url, query string, vars map[string]any, auth func(*http.Request)) (int, gqlResponse, string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != nil {
		auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, raw)
	}
	return resp.StatusCode, out, string(raw)
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// costs runs costsQuery for September 2024 plus extra query fields.
func (w *world) costs(t *testing.T, token string, extra map[string]any) (costReport, gqlResponse, string) {
	t.Helper()
	q := map[string]any{"from": "2024-09-01", "to": "2024-10-01"}
	for k, v := range extra {
		q[k] = v
	}
	status, resp, raw := post(t, w.url, costsQuery, map[string]any{"q": q}, bearer(token))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, raw)
	}
	var rep costReport
	if len(resp.Errors) == 0 {
		if err := json.Unmarshal(resp.Data, &rep); err != nil {
			t.Fatalf("decode %s: %v", resp.Data, err)
		}
	}
	return rep, resp, raw
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

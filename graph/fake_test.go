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

func (fakeTenancy) TokenPrincipal(_ context.Context, token string) (tenancy.Principal, error) {
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

func (fakeTenancy) Scope(_ context.Context, p tenancy.Principal, orgID string) ([]string, error) {
	if orgID != "" && orgID != p.Org.ID {
		return nil, domain.Errorf(domain.NotFound, "organization %q not found", orgID)
	}
	return []string{p.Org.ID}, nil
}

// fakeReporter records the query it is asked and answers with report, err,
// or a panic.
type fakeReporter struct {
	got    billing.CostQuery
	report billing.CostReport
	err    error
	panic  bool
}

func (f *fakeReporter) Report(_ context.Context, q billing.CostQuery) (billing.CostReport, error) {
	if f.panic {
		panic("boom")
	}
	f.got = q
	return f.report, f.err
}

type fakeRuns struct {
	runs     []billing.IngestionRun
	gotLimit int
}

func (f *fakeRuns) ListRuns(_ context.Context, _ []string, limit int) ([]billing.IngestionRun, error) {
	f.gotLimit = limit
	return f.runs, nil
}

type fakeConnectors struct{ list []connectors.Connector }

func (f fakeConnectors) List(context.Context, []string) ([]connectors.Connector, error) {
	return f.list, nil
}

type fakeAPI struct {
	reporter *fakeReporter
	runs     *fakeRuns
	server   *httptest.Server
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	api := &fakeAPI{reporter: &fakeReporter{}, runs: &fakeRuns{}}
	h := graph.NewHandler(graph.Deps{
		Tenancy:    fakeTenancy{},
		Reporter:   api.reporter,
		Runs:       api.runs,
		Connectors: fakeConnectors{},
		Logger:     discardLogger(),
	})
	api.server = httptest.NewServer(h)
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

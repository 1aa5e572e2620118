package views_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/static"
	"github.com/truecost/truecost/views"
)

const testPassword = "correct horse battery"

// system is the caller that sets fixtures up: only the system creates
// organizations.
var system = tenancy.SystemPrincipal("test")

var (
	september = time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	august    = time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)
	// testNow is in a month without data, so the dashboard opens on the
	// latest month that has some.
	testNow = time.Date(2024, 10, 15, 9, 0, 0, 0, time.UTC)
)

// fixture is a console over a real SQLite store: reseller Acme with
// customers Globex and Initech, and the unrelated direct customer Umbrella.
// Their costs are ingested from FOCUS files; the ingestion runs the runs page
// lists are canned (memRuns), so that tests can name them.
type fixture struct {
	t    *testing.T
	srv  *httptest.Server
	orgs map[string]tenancy.Organization // by slug
	// costs are the line items ingested, one per row of the files, so that
	// tests can sum them independently of the store.
	costs []fixtureCost
}

// fixtureCost is one ingested line item: a day's billed cost of one service.
// Its effective cost is 0.9 and its list cost 1.2 times the billed cost.
type fixtureCost struct {
	org                         string // slug
	day                         time.Time
	provider, service, currency string
	billed                      decimal.Decimal
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	store := sqltest.SQLite(t)
	rights := tenancy.NewRights(store)
	svc := tenancy.NewService(store, rights)
	f := &fixture{t: t, orgs: make(map[string]tenancy.Organization)}
	for _, o := range []struct {
		slug, name string
		kind       tenancy.OrgKind
		reseller   string
	}{
		{"acme", "Acme Cloud Partners", tenancy.Reseller, ""},
		{"globex", "Globex", tenancy.Customer, "acme"},
		{"initech", "Initech", tenancy.Customer, "acme"},
		{"umbrella", "Umbrella Corp", tenancy.Customer, ""},
	} {
		org, err := svc.CreateOrganization(ctx, system, o.slug, o.name, o.kind, o.reseller)
		if err != nil {
			t.Fatalf("create organization %s: %v", o.slug, err)
		}
		f.orgs[o.slug] = org
	}
	for _, u := range []struct{ email, org string }{
		{"admin@acme.test", "acme"},
		{"ops@globex.test", "globex"},
		{"it@umbrella.test", "umbrella"},
	} {
		if _, err := svc.CreateUser(ctx, system, u.email, u.org, tenancy.Member, testPassword); err != nil {
			t.Fatalf("create user %s: %v", u.email, err)
		}
	}

	add := func(org string, day time.Time, provider, service, currency, billed string) {
		f.costs = append(f.costs, fixtureCost{org: org, day: day, provider: provider, service: service,
			currency: currency, billed: decimal.RequireFromString(billed)})
	}
	for d := 0; d < 30; d++ {
		add("globex", september.AddDate(0, 0, d), "AWS", "Amazon Elastic Compute Cloud", "USD", "100.10")
		if d < 15 {
			add("globex", september.AddDate(0, 0, d), "Microsoft", "Virtual Machines", "USD", "50.05")
		}
	}
	add("globex", september.AddDate(0, 0, 9), "AWS", "Credits", "USD", "-20.00")
	for i := 1; i <= 12; i++ {
		add("globex", september.AddDate(0, 0, 1), "Google", fmt.Sprintf("Service %02d", i), "USD", fmt.Sprintf("%d.25", i))
	}
	add("globex", august.AddDate(0, 0, 14), "AWS", "Amazon Elastic Compute Cloud", "USD", "1.00")
	for d := 0; d < 5; d++ {
		add("initech", september.AddDate(0, 0, d), "Google", "Compute Engine", "EUR", "10.50")
	}
	add("umbrella", september, "Oracle", "OCI Compute", "USD", "999.99")
	f.ingestCosts(store)

	runs := &memRuns{runs: []billing.IngestionRun{
		{
			ID: "run-globex", OrgID: f.orgs["globex"].ID, ConnectorID: "0192f0aa-connector-globex", Status: billing.RunSucceeded,
			Format: "focus", Rows: 1234, Periods: []time.Time{september},
			Totals:    []billing.Money{{Amount: decimal.RequireFromString("3754.50"), Currency: "USD"}},
			StartedAt: testNow.Add(-2 * time.Hour), FinishedAt: testNow.Add(-2*time.Hour + 1500*time.Millisecond),
		},
		{
			ID: "run-initech", OrgID: f.orgs["initech"].ID, ConnectorID: "0192f0aa-connector-initech", Status: billing.RunFailed,
			Format: "focus", Error: `focus_sample.csv: line 12, column BilledCost: "abc" is not a decimal number`,
			StartedAt: testNow.Add(-time.Hour), FinishedAt: testNow.Add(-time.Hour + 200*time.Millisecond),
		},
		{
			ID: "run-umbrella", OrgID: f.orgs["umbrella"].ID, ConnectorID: "0192f0aa-connector-umbrella", Status: billing.RunSucceeded,
			Format: "focus", Rows: 1, StartedAt: testNow.Add(-3 * time.Hour), FinishedAt: testNow.Add(-3 * time.Hour),
		},
	}}

	mux := http.NewServeMux()
	mux.Handle(static.Prefix, static.Handler())
	mux.Handle("/", views.NewHandler(views.Deps{
		Tenancy:  svc,
		Reporter: billing.NewReporter(store, runs, rights),
		Now:      func() time.Time { return testNow },
	}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// focusColumns are the columns of the fixture's FOCUS files.
var focusColumns = []string{"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
	"BillingCurrency", "BilledCost", "EffectiveCost", "ListCost", "ProviderName", "ServiceName", "ChargeCategory"}

// ingestCosts writes each organization's costs to a FOCUS file and ingests
// it through a local connector, as `truecost ingest` would.
func (f *fixture) ingestCosts(store *sqlstore.Store) {
	f.t.Helper()
	ctx := context.Background()
	ingester := billing.NewIngester(store, tenancy.NewID)
	dir := f.t.TempDir()
	var slugs []string
	files := map[string][][]string{}
	for _, c := range f.costs {
		if files[c.org] == nil {
			slugs = append(slugs, c.org)
		}
		files[c.org] = append(files[c.org], []string{
			stamp(billing.MonthStart(c.day)), stamp(billing.MonthStart(c.day).AddDate(0, 1, 0)),
			stamp(c.day), stamp(c.day.AddDate(0, 0, 1)),
			c.currency, c.billed.String(),
			c.billed.Mul(decimal.RequireFromString("0.9")).String(),
			c.billed.Mul(decimal.RequireFromString("1.2")).String(),
			c.provider, c.service, "Usage",
		})
	}
	for _, slug := range slugs {
		org := f.orgs[slug]
		path := filepath.Join(dir, slug+"_focus.csv")
		writeCSV(f.t, path, append([][]string{focusColumns}, files[slug]...))
		conn := connectors.Connector{ID: tenancy.NewID(), OrgID: org.ID, Provider: connectors.Local, Name: filepath.Base(path),
			Location: path, Format: "focus", Enabled: true, Status: connectors.StatusNew, CreatedAt: time.Now().UTC()}
		if err := store.CreateConnector(ctx, conn, nil); err != nil {
			f.t.Fatalf("create connector for %s: %v", slug, err)
		}
		src, err := localfiles.New(path, "focus")
		if err != nil {
			f.t.Fatal(err)
		}
		run, err := ingester.Ingest(ctx, billing.IngestRequest{OrgID: org.ID, ConnectorID: conn.ID, Source: src})
		if err != nil {
			f.t.Fatalf("ingest %s's costs: %v", slug, err)
		}
		if run.Status != billing.RunSucceeded || run.Rows != int64(len(files[slug])) {
			f.t.Fatalf("ingest %s's costs: run %s with %d rows, want succeeded with %d", slug, run.Status, run.Rows, len(files[slug]))
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func writeCSV(t *testing.T, path string, records [][]string) {
	t.Helper()
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(file)
	if err := w.WriteAll(records); err != nil {
		file.Close()
		t.Fatalf("write %s: %v", path, err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
}

// total sums the fixture's billed cost of some organizations in a month.
func (f *fixture) total(month time.Time, currency string, slugs ...string) string {
	sum := decimal.Zero
	for _, c := range f.costs {
		for _, s := range slugs {
			if c.org == s && c.currency == currency && billing.MonthStart(c.day).Equal(month) {
				sum = sum.Add(c.billed)
			}
		}
	}
	return sum.String()
}

// client returns an HTTP client with its own cookies that does not follow
// redirects, so tests see them.
func (f *fixture) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// signIn logs email in through the login form and returns the client and
// the session's CSRF token.
func (f *fixture) signIn(email string) (*http.Client, string) {
	f.t.Helper()
	c := f.client()
	token := f.loginFormToken(c)
	resp := f.postForm(c, "/login", url.Values{"email": {email}, "password": {testPassword}, "csrf_token": {token}}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		f.t.Fatalf("sign in %s: got %d to %q, want 303 to /", email, resp.StatusCode, resp.Header.Get("Location"))
	}
	doc := f.getDoc(c, "/", nil, http.StatusOK)
	csrf, _ := doc.Find(`form[action="/logout"] input[name="csrf_token"]`).Attr("value")
	if csrf == "" {
		f.t.Fatal("signed-in page has no CSRF token in its sign-out form")
	}
	return c, csrf
}

func (f *fixture) loginFormToken(c *http.Client) string {
	f.t.Helper()
	doc := f.getDoc(c, "/login", nil, http.StatusOK)
	token, _ := doc.Find(`[data-testid=login-form] input[name=csrf_token]`).Attr("value")
	if token == "" {
		f.t.Fatal("login form has no CSRF token")
	}
	return token
}

func (f *fixture) get(c *http.Client, path string, header http.Header) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func (f *fixture) postForm(c *http.Client, path string, form url.Values, header http.Header) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	return f.followJob(c, resp, header)
}

// followJob waits for the background job an answer shows (Test
// connection, Sync now, Provision billing, Check now): it polls the job's
// URL as the page does, with the same headers, until the answer no longer
// holds the job, and returns that answer in place of the first.
func (f *fixture) followJob(c *http.Client, resp *http.Response, header http.Header) *http.Response {
	f.t.Helper()
	if resp.StatusCode != http.StatusOK {
		return resp
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		f.t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for bytes.Contains(body, []byte(`data-testid="job"`)) {
		doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
		if err != nil {
			f.t.Fatal(err)
		}
		poll := doc.Find(testID("job")).AttrOr("hx-get", "")
		if poll == "" || time.Now().After(deadline) {
			f.t.Fatalf("job not followed (poll %q): %s", poll, body)
		}
		// The page polls every second; a little faster keeps tests quick
		// without starving the job of the machine.
		time.Sleep(200 * time.Millisecond)
		next := f.get(c, poll, header)
		body, err = io.ReadAll(next.Body)
		next.Body.Close()
		if err != nil {
			f.t.Fatal(err)
		}
		if next.StatusCode != http.StatusOK {
			f.t.Fatalf("poll %s: status %d: %s", poll, next.StatusCode, body)
		}
		resp = next
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

// getDoc fetches path, checks the status and parses the HTML.
func (f *fixture) getDoc(c *http.Client, path string, header http.Header, wantStatus int) *goquery.Document {
	f.t.Helper()
	resp := f.get(c, path, header)
	defer resp.Body.Close()
	if resp.StatusCode != wantStatus {
		f.t.Fatalf("GET %s: status %d, want %d", path, resp.StatusCode, wantStatus)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		f.t.Fatalf("parse %s: %v", path, err)
	}
	return doc
}

func testID(id string) string { return `[data-testid="` + id + `"]` }

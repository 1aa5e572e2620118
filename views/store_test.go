package views_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/static"
	"github.com/truecost/truecost/views"
)

// sampleTotal is the BilledCost total of testdata/focus_sample.csv, computed
// from the file independently (see testdata/README.md).
const sampleTotal = "409294.570856199999819"

// storeConsole is the console over a real SQLite store: reseller Northwind
// with its customer Contoso, which holds the FOCUS sample, and the unrelated
// direct customer Fabrikam, which holds the sample's first 40 rows.
type storeConsole struct {
	srv                         *httptest.Server
	reseller, customer, foreign tenancy.Organization
	// pricing prices Contoso for the reseller.
	pricing *pricing.Service
}

func newStoreConsole(t *testing.T) *storeConsole {
	t.Helper()
	ctx := context.Background()
	store := sqltest.SQLite(t)
	rights := tenancy.NewRights(store)
	tenants := tenancy.NewService(store, rights)
	conns := connectors.NewService(connectors.Deps{
		Store: store, Rights: rights, Sources: localSources{},
		Ingester: billing.NewIngester(store, tenancy.NewID), NewID: tenancy.NewID,
	})

	org := func(slug, name string, kind tenancy.OrgKind, reseller string) tenancy.Organization {
		t.Helper()
		o, err := tenants.CreateOrganization(ctx, system, slug, name, kind, reseller)
		if err != nil {
			t.Fatalf("create organization %s: %v", slug, err)
		}
		return o
	}
	user := func(email, orgSlug string) {
		t.Helper()
		if _, err := tenants.CreateUser(ctx, system, email, orgSlug, tenancy.Admin, testPassword); err != nil {
			t.Fatalf("create user %s: %v", email, err)
		}
	}
	ingest := func(o tenancy.Organization, path string) (billing.IngestionRun, error) {
		t.Helper()
		return conns.IngestLocal(ctx, system, o.ID, path, "focus", nil)
	}

	sc := &storeConsole{
		reseller: org("northwind", "Northwind Traders", tenancy.Reseller, ""),
	}
	sc.customer = org("contoso", "Contoso Ltd", tenancy.Customer, "northwind")
	sc.foreign = org("fabrikam", "Fabrikam Inc", tenancy.Customer, "")
	user("admin@northwind.test", "northwind")
	user("finance@fabrikam.test", "fabrikam")
	user("finance@contoso.test", "contoso")

	if run, err := ingest(sc.customer, filepath.Join("testdata", "focus_sample.csv")); err != nil {
		t.Fatalf("ingest the FOCUS sample: %v", err)
	} else if run.Status != billing.RunSucceeded {
		t.Fatalf("ingest the FOCUS sample: run %s", run.Status)
	}
	dir := t.TempDir()
	if _, err := ingest(sc.foreign, headOfSample(t, dir, 40)); err != nil {
		t.Fatalf("ingest the sample's head: %v", err)
	}
	// A broken file gives Contoso a failed run to show.
	broken := filepath.Join(dir, "broken", "focus_broken.csv")
	if err := os.MkdirAll(filepath.Dir(broken), 0o755); err != nil {
		t.Fatal(err)
	}
	header := strings.SplitN(readFile(t, filepath.Join("testdata", "focus_sample.csv")), "\n", 2)[0]
	row := strings.Replace(strings.SplitN(readFile(t, filepath.Join("testdata", "focus_sample.csv")), "\n", 3)[1], "468.17049576", "12.5.1", 1)
	if err := os.WriteFile(broken, []byte(header+"\n"+row+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(sc.customer, broken); err == nil {
		t.Fatal("ingesting a broken file succeeded")
	}

	sc.pricing = pricing.NewService(store, store, tenancy.NewID)
	mux := http.NewServeMux()
	mux.Handle(static.Prefix, static.Handler())
	mux.Handle("/", views.NewHandler(views.Deps{
		Tenancy:    tenants,
		Reporter:   billing.NewReporter(store, store, rights),
		Connectors: conns,
		Pricing:    sc.pricing,
		Members:    tenants,
		Now:        func() time.Time { return testNow },
	}))
	sc.srv = httptest.NewServer(mux)
	t.Cleanup(sc.srv.Close)
	return sc
}

// localSources opens local connectors' files, the only kind the store
// console ingests.
type localSources struct{}

func (localSources) Source(_ context.Context, c connectors.Connector, _ connectors.Secret) (billing.Source, error) {
	src, err := localfiles.New(c.Location, c.Format)
	if err != nil {
		return nil, err
	}
	return src, nil
}

// headOfSample writes the sample's header and first n rows to a file in dir.
func headOfSample(t *testing.T, dir string, n int) string {
	t.Helper()
	in, err := os.Open(filepath.Join("testdata", "focus_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	path := filepath.Join(dir, "head", "focus_head.csv")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for i := 0; i <= n && sc.Scan(); i++ {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fixture returns a fixture-like helper over the store console's server, so
// the HTTP helpers can be shared.
func (sc *storeConsole) client(t *testing.T) *fixture {
	return &fixture{t: t, srv: sc.srv}
}

func TestConsoleOnSQLiteShowsIngestedTotalsPerTenant(t *testing.T) {
	t.Parallel()
	sc := newStoreConsole(t)
	f := sc.client(t)

	// The reseller sees its customer's costs, exactly as in the file.
	c, _ := f.signIn("admin@northwind.test")
	doc := f.getDoc(c, "/", nil, http.StatusOK)
	if got, _ := doc.Find(testID("total-USD")).Attr("data-amount"); got != sampleTotal {
		t.Errorf("reseller total %q, want %q", got, sampleTotal)
	}
	if got := doc.Find(testID("report-title")).Text(); got != "September 2024" {
		t.Errorf("default period %q, want the latest month with data, September 2024", got)
	}
	wantProviders := map[string]string{
		"AWS":       "93672.998281940000073",
		"Microsoft": "111643.501602049999716",
		"Google":    "93468.59701118999982",
		"Oracle":    "110509.47396102000021",
	}
	doc.Find(testID("provider-table") + " tbody tr").Each(func(_ int, s *goquery.Selection) {
		name := s.AttrOr("data-name", "")
		if got := s.Find("td.num").AttrOr("data-amount", ""); got != wantProviders[name] {
			t.Errorf("provider %s = %q, want %q", name, got, wantProviders[name])
		}
		delete(wantProviders, name)
	})
	if len(wantProviders) > 0 {
		t.Errorf("providers missing from the table: %v", wantProviders)
	}

	// Fabrikam sees only its own rows, and nothing of Contoso.
	c2, _ := f.signIn("finance@fabrikam.test")
	doc = f.getDoc(c2, "/", nil, http.StatusOK)
	if got, _ := doc.Find(testID("total-USD")).Attr("data-amount"); got == "" || got == sampleTotal {
		t.Errorf("Fabrikam total %q, want only its own 40 rows", got)
	}
	for _, path := range []string{"/?org=" + sc.customer.ID, "/?org=" + sc.reseller.ID, "/runs?org=" + sc.customer.ID} {
		resp := f.get(c2, path, nil)
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, sampleTotal) {
			t.Errorf("Fabrikam GET %s: status %d, want 404 and none of Contoso's data", path, resp.StatusCode)
		}
	}
	runs := f.getDoc(c2, "/runs", nil, http.StatusOK)
	if n := runs.Find(testID("run-row")).Length(); n != 1 {
		t.Errorf("Fabrikam sees %d runs, want its own 1", n)
	}

	// The reseller's runs list both of Contoso's runs, the failed one with
	// its error.
	runs = f.getDoc(c, "/runs", nil, http.StatusOK)
	if n := runs.Find(testID("run-row")).Length(); n != 2 {
		t.Errorf("reseller sees %d runs, want 2", n)
	}
	if runs.Find(testID("run-error")).Length() != 1 {
		t.Error("the failed run shows no error")
	}
}

func TestConsoleOnSQLiteRefusesPostWithoutCSRFToken(t *testing.T) {
	t.Parallel()
	sc := newStoreConsole(t)
	f := sc.client(t)
	c, csrf := f.signIn("admin@northwind.test")
	resp := f.postForm(c, "/logout", nil, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /logout without token: status %d, want 403", resp.StatusCode)
	}
	f.getDoc(c, "/", nil, http.StatusOK)
	resp = f.postForm(c, "/logout", map[string][]string{tenancy.CSRFFormField: {csrf}}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /logout with token: status %d, want 303", resp.StatusCode)
	}
}

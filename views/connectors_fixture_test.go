package views_test

import (
	"context"
	"crypto/rand"
	"github.com/truecost/truecost/domain/background"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/static"
	"github.com/truecost/truecost/views"
)

// testAWSPrincipal is the principal the console's trust policies name.
const testAWSPrincipal = "arn:aws:iam::111122223333:root"

// fakeSources is a connectors.SourceFactory that records the credentials
// each connector was opened with and reads the FOCUS sample, or fails as
// told.
type fakeSources struct {
	mu      sync.Mutex
	secrets map[string]connectors.Secret
	fail    error
}

func (f *fakeSources) Source(_ context.Context, c connectors.Connector, sec connectors.Secret) (billing.Source, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.secrets == nil {
		f.secrets = make(map[string]connectors.Secret)
	}
	f.secrets[c.ID] = sec
	if f.fail != nil {
		return nil, f.fail
	}
	return localfiles.New(filepath.Join("testdata", "focus_sample.csv"), "focus")
}

func (f *fakeSources) failWith(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakeSources) secret(id string) connectors.Secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secrets[id]
}

// tenantWorld is a real SQLite store with the real tenancy and connector
// rules: reseller Northwind (an admin and a member) with its customer
// Contoso, and the unrelated Fabrikam (an admin).
type tenantWorld struct {
	store                       *sqlstore.Store
	rights                      *tenancy.Rights
	tenants                     *tenancy.Service
	sealer                      connectors.Sealer
	conns                       *connectors.Service
	sources                     *fakeSources
	reseller, customer, foreign tenancy.Organization
	resellerAdmin               tenancy.Principal
	foreignAdmin                tenancy.Principal
}

func newTenantWorld(t *testing.T) *tenantWorld {
	t.Helper()
	ctx := context.Background()
	store := sqltest.SQLite(t)
	rights := tenancy.NewRights(store)
	tenants := tenancy.NewService(store, rights)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := connectors.NewAESSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	w := &tenantWorld{store: store, rights: rights, tenants: tenants, sealer: sealer, sources: &fakeSources{}}
	w.conns = connectors.NewService(connectors.Deps{
		Store: store, Rights: rights, Sealer: sealer, Sources: w.sources,
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
	user := func(email, orgSlug string, role tenancy.Role) tenancy.Principal {
		t.Helper()
		u, err := tenants.CreateUser(ctx, system, email, orgSlug, role, testPassword)
		if err != nil {
			t.Fatalf("create user %s: %v", email, err)
		}
		o, err := store.OrganizationByID(ctx, u.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		return tenancy.Principal{User: u, Org: o}
	}
	w.reseller = org("northwind", "Northwind Traders", tenancy.Reseller, "")
	w.customer = org("contoso", "Contoso Ltd", tenancy.Customer, "northwind")
	w.foreign = org("fabrikam", "Fabrikam Inc", tenancy.Customer, "")
	w.resellerAdmin = user("admin@northwind.test", "northwind", tenancy.Admin)
	user("viewer@northwind.test", "northwind", tenancy.Member)
	w.foreignAdmin = user("admin@fabrikam.test", "fabrikam", tenancy.Admin)
	return w
}

// serve runs the console over the world until the test ends; deps adds
// to the world's sign-in, reports, runs and connectors.
func (w *tenantWorld) serve(t *testing.T, deps views.Deps) *fixture {
	t.Helper()
	deps.Tenancy = w.tenants
	deps.Reporter = billing.NewReporter(w.store, w.store, w.rights)
	deps.Connectors = w.conns
	bg := background.Deps{Store: w.store, Runner: goRunner{}, Rights: w.rights, Connectors: w.conns, NewID: tenancy.NewID}
	if deps.Accounts != nil {
		bg.Accounts = deps.Accounts
	}
	deps.Background = background.NewService(bg)
	deps.AWSPrincipal = testAWSPrincipal
	mux := http.NewServeMux()
	mux.Handle(static.Prefix, static.Handler())
	mux.Handle("/", views.NewHandler(deps))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv}
}

// connectorConsole is the console over a tenantWorld.
type connectorConsole struct {
	*fixture
	*tenantWorld
}

func newConnectorConsole(t *testing.T) *connectorConsole {
	t.Helper()
	w := newTenantWorld(t)
	return &connectorConsole{fixture: w.serve(t, views.Deps{}), tenantWorld: w}
}

// add creates a connector directly through the domain.
func (cc *connectorConsole) add(p tenancy.Principal, orgID string, in connectors.Input) connectors.Connector {
	cc.t.Helper()
	c, err := cc.conns.Create(context.Background(), p, orgID, in)
	if err != nil {
		cc.t.Fatalf("create connector %s: %v", in.Name, err)
	}
	return c
}

// awsInput and azureInput are enabled connectors, as the console's form
// adds them by default: Create honours Input.Enabled.
func awsInput(name string) connectors.Input {
	return connectors.Input{
		Provider: connectors.AWS, Name: name, Enabled: true,
		Config: connectors.Config{AWSAccountID: "123456789012", Bucket: "contoso-billing", Path: "cur2/contoso", FileType: "cur2"},
		Secret: connectors.Secret{"role_arn": "arn:aws:iam::123456789012:role/TruecostRead"},
	}
}

func azureInput(name string) connectors.Input {
	return connectors.Input{
		Provider: connectors.Azure, Name: name, Enabled: true,
		Config: connectors.Config{StorageAccount: "northwindcosts", Container: "exports"},
		Secret: connectors.Secret{"sas_url": "https://northwindcosts.blob.core.windows.net/exports?sig=SAS-SIGNATURE-SECRET"},
	}
}

// post sends a form with the session's CSRF token.
func (cc *connectorConsole) post(c *http.Client, csrf, path string, form url.Values, header http.Header) *http.Response {
	cc.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(tenancy.CSRFFormField, csrf)
	return cc.postForm(c, path, form, header)
}

func parse(t *testing.T, resp *http.Response) (*goquery.Document, string) {
	t.Helper()
	body := readAll(t, resp)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc, body
}

// parseRow parses a fragment holding a table's row group, in the table
// context htmx swaps it into (an HTML parser drops table tags elsewhere).
func parseRow(t *testing.T, resp *http.Response) *goquery.Document {
	t.Helper()
	body := readAll(t, resp)
	if !strings.HasPrefix(strings.TrimSpace(body), "<tbody") {
		t.Fatalf("status %d, want a <tbody> fragment, got %.300s", resp.StatusCode, body)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader("<table>" + body + "</table>"))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

var htmx = http.Header{"Hx-Request": {"true"}}

// goRunner runs each background job on its own goroutine.
type goRunner struct{}

func (goRunner) Go(fn func(context.Context)) error {
	go fn(context.Background())
	return nil
}

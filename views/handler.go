package views

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/background"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/accountspage"
	"github.com/truecost/truecost/views/connectorspage"
	"github.com/truecost/truecost/views/customerspage"
	"github.com/truecost/truecost/views/dashboardpage"
	"github.com/truecost/truecost/views/exportspage"
	"github.com/truecost/truecost/views/invitepage"
	"github.com/truecost/truecost/views/loginpage"
	"github.com/truecost/truecost/views/pricingpage"
	"github.com/truecost/truecost/views/runspage"
)

// Tenancy signs users in and out and lists the organizations they may
// read. *tenancy.Service implements it.
type Tenancy interface {
	Login(ctx context.Context, email, password, client string) (string, tenancy.Session, tenancy.Principal, error)
	Logout(ctx context.Context, token string) error
	SessionPrincipal(ctx context.Context, token string) (tenancy.Session, tenancy.Principal, error)
	VisibleOrganizations(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error)
}

// Reporter reads cost reports and ingestion runs for a caller, within the
// organizations it may read. *billing.Reporter implements it.
type Reporter interface {
	Report(ctx context.Context, p tenancy.Principal, q billing.CostQuery) (billing.CostReport, error)
	DefaultPeriod(ctx context.Context, p tenancy.Principal, orgID string, now time.Time) (from, to time.Time, err error)
	Runs(ctx context.Context, p tenancy.Principal, orgID string, limit int) ([]billing.IngestionRun, error)
}

// Connectors lists, reads, adds, changes, deletes, tests and syncs billing
// connectors on behalf of a caller, checking its rights.
// *connectors.Service implements it.
type Connectors interface {
	List(ctx context.Context, p tenancy.Principal, orgID string) ([]connectors.Connector, error)
	Get(ctx context.Context, p tenancy.Principal, orgID, id string) (connectors.Connector, error)
	Create(ctx context.Context, p tenancy.Principal, orgID string, in connectors.Input) (connectors.Connector, error)
	Update(ctx context.Context, p tenancy.Principal, orgID, id string, in connectors.Input) (connectors.Connector, error)
	Delete(ctx context.Context, p tenancy.Principal, orgID, id string) error
	Test(ctx context.Context, p tenancy.Principal, orgID, id string) (connectors.TestResult, error)
	Sync(ctx context.Context, p tenancy.Principal, orgID, id string, progress func(done, total int64)) (billing.IngestionRun, error)
}

// Members is what the customers pages and the invitation links need of
// tenancy. *tenancy.Service implements it.
type Members interface {
	customerspage.Members
	invitepage.Invites
}

var (
	_ Members    = (*tenancy.Service)(nil)
	_ Tenancy    = (*tenancy.Service)(nil)
	_ Reporter   = (*billing.Reporter)(nil)
	_ Connectors = (*connectors.Service)(nil)
)

// Deps is what the console needs from the rest of Truecost.
type Deps struct {
	Tenancy  Tenancy
	Reporter Reporter
	// Connectors serves the billing connectors pages and names connectors
	// on the runs page; without it the pages answer that connectors are
	// not configured.
	Connectors Connectors
	// Accounts serves the cloud accounts pages; without it they answer
	// that cloud accounts are not configured.
	Accounts *accounts.Service
	// Pricing serves the pricebooks, customers' pricing and the bills;
	// without it those pages answer that pricing is not configured.
	Pricing *pricing.Service
	// Members adds customers, manages users and accepts invitations;
	// without it the customers pages and invitation links answer that
	// they are not configured.
	Members Members
	// Exports serves the Detailed Billing Exports pages; without it they
	// answer that exports are not configured.
	Exports *exports.Service
	// Background runs Test connection, Sync now, Provision billing and
	// Check now as jobs the pages poll; without it those actions answer
	// that background jobs are not configured.
	Background *background.Service
	// AWSPrincipal is the AWS principal (account root or role ARN) that
	// assumes customers' IAM roles, shown in the trust policy they install.
	AWSPrincipal string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives internal errors; slog.Default() when nil.
	Logger *slog.Logger
}

// NewHandler returns the console's routes: /login, /logout, the dashboard at
// /, the billing connectors under /connectors, the cloud accounts under
// /accounts, the ingestion runs at /runs, and pricing under /pricebooks,
// /customers/{org}/pricing and /bills. Static assets are served
// separately (package static, under /static/). Every POST must carry the
// session's CSRF token, and cross-origin state-changing requests are refused.
func NewHandler(deps Deps) http.Handler {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	s := &server{deps: deps}

	login := &loginpage.Handler{Auth: deps.Tenancy}
	dashboard := &dashboardpage.Handler{Tenancy: deps.Tenancy, Reporter: deps.Reporter, Now: deps.Now}
	runs := &runspage.Handler{Tenancy: deps.Tenancy, Runs: deps.Reporter}
	if deps.Connectors != nil {
		runs.Connectors = deps.Connectors
	}

	mux := http.NewServeMux()
	mux.Handle("GET /login", s.public(login.Show))
	mux.Handle("POST /login", s.public(login.Submit))
	mux.Handle("POST /logout", s.signedIn(login.Logout))
	mux.Handle("GET /{$}", s.signedIn(dashboard.Show))
	mux.Handle("GET /runs", s.signedIn(runs.Show))
	s.connectorRoutes(mux)
	s.accountRoutes(mux)
	s.pricingRoutes(mux)
	s.customerRoutes(mux)
	s.exportRoutes(mux)
	mux.Handle("/", s.signedIn(func(http.ResponseWriter, *http.Request) error {
		return errPageNotFound
	}))

	return secureHeaders(http.NewCrossOriginProtection().Handler(s.recoverPanics(mux)))
}

// server holds the dependencies shared by the middleware.
type server struct {
	deps Deps
}

// handlerFunc is a page handler: it writes a response or returns an error
// that serveError turns into one.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// secureHeaders sets the headers every console response carries. The
// Content-Security-Policy allows scripts and styles only from this origin;
// the pages use no inline script or style.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.deps.Logger.ErrorContext(r.Context(), "console panic", "path", r.URL.Path, "panic", v)
				s.serveError(w, r, errInternalPanic)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

var errNoConnectors = domain.Errorf(domain.Unavailable, "billing connectors are not configured on this server")

// connectorRoutes serves the billing connectors pages, or an explanation
// when the console has no connector manager.
func (s *server) connectorRoutes(mux *http.ServeMux) {
	page := &connectorspage.Handler{
		Tenancy: s.deps.Tenancy, Connectors: s.deps.Connectors,
		AWSPrincipal: s.deps.AWSPrincipal, Now: s.deps.Now,
	}
	if s.deps.Background != nil {
		page.Jobs = s.deps.Background
	}
	routes := []route{
		{"GET /connectors", page.List},
		{"GET /connectors/new", page.New},
		{"GET /connectors/fields", page.Fields},
		{"POST /connectors", page.Create},
		{"GET /connectors/{id}", page.Show},
		{"GET /connectors/{id}/edit", page.Edit},
		{"POST /connectors/{id}/edit", page.Update},
		{"POST /connectors/{id}/delete", page.Delete},
		{"POST /connectors/{id}/test", page.Test},
		{"POST /connectors/{id}/sync", page.Sync},
		{"GET /connectors/{id}/jobs/{job}", page.JobStatus},
	}
	s.handleSignedIn(mux, routes, s.deps.Connectors == nil, errNoConnectors)
}

var errNoPricing = domain.Errorf(domain.Unavailable, "pricing is not configured on this server")

// pricingRoutes serves the pricebooks, the customers' pricing and the
// bills, or an explanation when the console has no pricing service.
func (s *server) pricingRoutes(mux *http.ServeMux) {
	page := &pricingpage.Handler{Tenancy: s.deps.Tenancy, Now: s.deps.Now}
	if s.deps.Pricing != nil {
		page.Pricing = s.deps.Pricing
	}
	routes := []route{
		{"GET /pricebooks", page.Pricebooks},
		{"POST /pricebooks", page.CreatePricebook},
		{"GET /pricebooks/{id}", page.Editor},
		{"POST /pricebooks/{id}/rules", page.PutRule},
		{"POST /pricebooks/{id}/rules/{rule}/delete", page.RemoveRule},
		{"POST /pricebooks/{id}/preview", page.Preview},
		{"GET /customers/{org}/pricing", page.Customer},
		{"POST /customers/{org}/pricing/{what}", page.ChangeCustomer},
		{"GET /bills", page.Bill},
		{"GET /bills.csv", page.BillCSV},
	}
	s.handleSignedIn(mux, routes, s.deps.Pricing == nil, errNoPricing)
}

var errNoExports = domain.Errorf(domain.Unavailable, "billing exports are not configured on this server")

// exportRoutes serves the Detailed Billing Exports pages, the reseller's
// own (/exports) and each customer's, or an explanation when the console
// has no export service.
func (s *server) exportRoutes(mux *http.ServeMux) {
	page := &exportspage.Handler{Tenancy: s.deps.Tenancy}
	if s.deps.Exports != nil {
		page.Exports = s.deps.Exports
	}
	if s.deps.Accounts != nil {
		page.Accounts = s.deps.Accounts
	}
	var routes []route
	for _, base := range []string{"/exports", "/customers/{org}/exports"} {
		routes = append(routes,
			route{"GET " + base, page.Show},
			route{"POST " + base, page.Save},
			route{"POST " + base + "/verify", page.Verify},
			route{"POST " + base + "/{id}/delete", page.Delete},
			route{"POST " + base + "/runs/{id}/retry", page.Retry})
	}
	s.handleSignedIn(mux, routes, s.deps.Exports == nil, errNoExports)
}

var errNoAccounts = domain.Errorf(domain.Unavailable, "cloud accounts are not configured on this server")

// accountRoutes serves the cloud accounts pages, or an explanation when
// the console has no accounts service.
func (s *server) accountRoutes(mux *http.ServeMux) {
	page := &accountspage.Handler{Tenancy: s.deps.Tenancy, AWSPrincipal: s.deps.AWSPrincipal, Now: s.deps.Now}
	if s.deps.Accounts != nil {
		page.Accounts = s.deps.Accounts
	}
	if s.deps.Background != nil {
		page.Jobs = s.deps.Background
	}
	routes := []route{
		{"GET /accounts", page.List},
		{"GET /accounts/new", page.New},
		{"GET /accounts/fields", page.Fields},
		{"POST /accounts", page.Create},
		{"POST /accounts/check", page.CheckNow},
		{"GET /accounts/jobs", page.ListJobStatus},
		{"GET /accounts/{id}", page.Show},
		{"GET /accounts/{id}/edit", page.Edit},
		{"POST /accounts/{id}/edit", page.Update},
		{"POST /accounts/{id}/delete", page.Delete},
		{"POST /accounts/{id}/check", page.CheckNow},
		{"POST /accounts/{id}/provision", page.Provision},
		{"GET /accounts/{id}/jobs/{job}", page.JobStatus},
		{"GET /accounts/{id}/deprovision", page.ConfirmDeprovision},
		{"POST /accounts/{id}/deprovision", page.Deprovision},
	}
	s.handleSignedIn(mux, routes, s.deps.Accounts == nil, errNoAccounts)
}

var errNoCustomers = domain.Errorf(domain.Unavailable, "customer management is not configured on this server")

// customerRoutes serves the reseller's customers, their users and billing
// cycles, a customer's own billing cycles, and the invitation links.
func (s *server) customerRoutes(mux *http.ServeMux) {
	page := &customerspage.Handler{Now: s.deps.Now}
	invite := &invitepage.Handler{}
	if s.deps.Pricing != nil {
		page.Pricing = s.deps.Pricing
	}
	if s.deps.Members != nil {
		page.Members, invite.Invites = s.deps.Members, s.deps.Members
	}
	if s.deps.Accounts != nil {
		page.Accounts = s.deps.Accounts
	}
	if s.deps.Connectors != nil {
		page.Connectors = s.deps.Connectors
	}
	unavailable := s.deps.Pricing == nil || s.deps.Members == nil
	routes := []route{
		{"GET /customers", page.List},
		{"POST /customers", page.Create},
		{"GET /customers/{org}", page.Show},
		{"POST /customers/{org}/cycles/{month}/{action}", page.Cycle},
		{"GET /customers/{org}/users", page.Users},
		{"POST /customers/{org}/users", page.AddUser},
		{"POST /customers/{org}/users/{user}/{action}", page.ChangeUser},
		{"GET /cycles", page.OwnCycles},
	}
	s.handleSignedIn(mux, routes, unavailable, errNoCustomers)
	show, submit := handlerFunc(invite.Show), handlerFunc(invite.Submit)
	if s.deps.Members == nil {
		show = func(http.ResponseWriter, *http.Request) error { return errNoCustomers }
		submit = show
	}
	mux.Handle("GET /invite/{token}", s.public(show))
	mux.Handle("POST /invite/{token}", s.public(submit))
}

// route is a console page's pattern and its handler.
type route struct {
	pattern string
	handle  handlerFunc
}

// handleSignedIn serves routes to signed-in users; when off (the feature
// is not configured on this server), every one of them answers with err.
func (s *server) handleSignedIn(mux *http.ServeMux, routes []route, off bool, err error) {
	for _, r := range routes {
		h := r.handle
		if off {
			h = func(http.ResponseWriter, *http.Request) error { return err }
		}
		mux.Handle(r.pattern, s.signedIn(h))
	}
}

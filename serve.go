package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph"
	"github.com/truecost/truecost/jobs"
	"github.com/truecost/truecost/static"
	"github.com/truecost/truecost/views"
)

type serveCmd struct {
	Addr    string `env:"TRUECOST_ADDR" default:"127.0.0.1:8080" help:"Address to listen on."`
	Demo    bool   `help:"Load the bundled demo organizations and sample exports before serving."`
	DemoDir string `name:"demo-dir" default:"var/demo" help:"Where --demo writes the sample exports it ingests."`
	// SyncInterval is how often the scheduler syncs each billing connector.
	SyncInterval time.Duration `name:"sync-interval" env:"TRUECOST_SYNC_INTERVAL" default:"1h" help:"How often billing connectors are synced."`
}

func (c serveCmd) Run(ctx context.Context, e *env, g *Globals) error {
	a, err := openApp(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	var login *demoLogin
	if c.Demo {
		if login, err = loadDemo(ctx, a, e, c.DemoDir); err != nil {
			return fmt.Errorf("load demo: %w", err)
		}
	}

	if c.SyncInterval < time.Minute {
		return domain.Errorf(domain.Invalid, "--sync-interval must be at least 1m")
	}
	sched, err := a.scheduler(e.log, c.SyncInterval, nil)
	if err != nil {
		return err
	}
	sched.Start()
	defer func() {
		if err := sched.Shutdown(); err != nil {
			e.log.Error("scheduler shutdown", "err", err)
		}
	}()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return domain.WrapError(domain.Unavailable, err, "cannot listen on %s", c.Addr)
	}
	srv := &http.Server{
		Handler:           a.handler(e),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(e.stdout, "Truecost is serving the console at %s/ and GraphQL at %s/graphql\n", url, url)
	if login != nil {
		fmt.Fprintf(e.stdout, "Demo login: %s / %s (reseller %s with customers %s)\n",
			login.email, login.password, login.reseller, login.customers)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down HTTP server: %w", err)
	}
	return nil
}

// scheduler builds the background jobs: housekeeping, connector sync every
// interval and the hourly billing-status check, coordinated through the
// store's slot locks. clock is nil outside tests.
func (a *app) scheduler(log *slog.Logger, interval time.Duration, clock clockwork.Clock) (*jobs.Scheduler, error) {
	return jobs.New(jobs.Deps{Housekeeper: a.store, Locks: a.store, Logger: log,
		Connectors: a.connectors, SyncInterval: interval, Status: a.accounts, Clock: clock})
}

// handler routes the console, the GraphQL API and the static assets.
func (a *app) handler(e *env) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/graphql", graph.NewHandler(graph.Deps{
		Tenancy: a.tenancy, Reporter: a.reporter, Runs: a.store, Connectors: a.connectors,
		ConnectorAdmin: a.manager, Accounts: a.accounts, AWSPrincipal: a.awsPrincipal, Logger: e.log,
	}))
	mux.Handle("/static/", static.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("/", views.NewHandler(views.Deps{
		Auth: a.tenancy, Reporter: a.reporter, Runs: a.store, Connectors: a.connectors,
		ConnectorManager: a.manager, Accounts: a.accounts, AWSPrincipal: a.awsPrincipal, Logger: e.log,
	}))
	return mux
}

type demoLogin struct {
	email, password, reseller, customers string
}

// The demo: a reseller with two customers, each with a month of FOCUS data.
const (
	demoReseller = "northwind"
	demoEmail    = "admin@northwind.example"
	demoPassword = "truecost-demo"
)

var demoCustomers = []struct{ slug, name string }{
	{"acme", "Acme Corp"},
	{"globex", "Globex Industries"},
}

// loadDemo creates the demo tenants if missing and ingests the bundled
// sample exports through the ordinary ingestion path (a no-op when they were
// already loaded).
func loadDemo(ctx context.Context, a *app, e *env, dir string) (*demoLogin, error) {
	if err := ensureOrg(ctx, a, demoReseller, "Northwind Cloud", tenancy.Reseller, ""); err != nil {
		return nil, err
	}
	for _, c := range demoCustomers {
		if err := ensureOrg(ctx, a, c.slug, c.name, tenancy.Customer, demoReseller); err != nil {
			return nil, err
		}
	}
	if _, err := a.tenancy.CreateUser(ctx, demoEmail, demoReseller, tenancy.Admin, demoPassword); err != nil && domain.ErrorCode(err) != domain.Conflict {
		return nil, err
	}
	folders, err := localfiles.WriteDemo(dir)
	if err != nil {
		return nil, err
	}
	for _, c := range demoCustomers {
		org, err := a.store.OrganizationBySlug(ctx, c.slug)
		if err != nil {
			return nil, err
		}
		for _, folder := range folders[c.slug] {
			abs, _ := filepath.Abs(folder)
			run, err := a.ingestLocal(ctx, org.ID, abs, "auto", nil)
			if err != nil {
				return nil, fmt.Errorf("ingest demo data %s for %s: %w", filepath.Base(folder), c.slug, err)
			}
			fmt.Fprintf(e.stdout, "demo %s/%s: %s\n", c.slug, filepath.Base(folder), summary(run, run.Duration()))
		}
	}
	if err := loadDemoAccounts(ctx, a); err != nil {
		return nil, fmt.Errorf("demo cloud accounts: %w", err)
	}
	return &demoLogin{email: demoEmail, password: demoPassword, reseller: demoReseller, customers: "acme, globex"}, nil
}

// demoAccounts are the demo customers' cloud accounts: all but one appear
// in the bundled exports, so the status check finds their data.
var demoAccounts = []struct {
	org, name, id, billingID string
	provider                 accounts.Provider
}{
	{"acme", "Acme payer", "123456789012", "", connectors.AWS},
	{"acme", "Acme analytics", "210987654321", "", connectors.AWS},
	{"acme", "Acme sandbox", "999900001111", "", connectors.AWS},
	{"acme", "Acme production subscription", "6e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b", "", connectors.Azure},
	{"globex", "Globex web", "billing-test-web-123456", "01A2B3-C4D5E6-F7A8B9", connectors.GCP},
	{"globex", "Globex tenancy", "ocid1.tenancy.oc1..aaaabillingtesttenancy01", "", connectors.OCI},
}

// loadDemoAccounts adds the demo accounts that are missing and checks the
// billing status of all of them.
func loadDemoAccounts(ctx context.Context, a *app) error {
	for _, d := range demoAccounts {
		org, err := a.store.OrganizationBySlug(ctx, d.org)
		if err != nil {
			return err
		}
		acct := accounts.Account{ID: tenancy.NewID(), OrgID: org.ID, Provider: d.provider, Name: d.name,
			ProviderAccountID: d.id, BillingAccountID: d.billingID, Status: accounts.Unprovisioned,
			StatusDetail: "not checked yet", StatusSince: time.Now().UTC(), CreatedAt: time.Now().UTC()}
		if d.provider == connectors.AWS {
			acct.ExternalID = connectors.NewExternalID()
		}
		if err := a.store.CreateAccount(ctx, acct, nil); err != nil && domain.ErrorCode(err) != domain.Conflict {
			return err
		}
	}
	_, err := a.accounts.CheckAll(ctx)
	return err
}

func ensureOrg(ctx context.Context, a *app, slug, name string, kind tenancy.OrgKind, reseller string) error {
	if _, err := a.store.OrganizationBySlug(ctx, slug); err == nil {
		return nil
	} else if !domain.IsNotFound(err) {
		return err
	}
	_, err := a.tenancy.CreateOrganization(ctx, slug, name, kind, reseller)
	return err
}

package jobs

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// Demo is what SeedDemo needs: the services it calls, exactly as a user's
// requests would, and the sample exports to ingest.
type Demo struct {
	Tenancy    *tenancy.Service
	Connectors *connectors.Service
	Accounts   *accounts.Service
	// Folders holds, per demo customer slug, the folders of sample exports
	// to ingest (written by the local files adapter).
	Folders map[string][]string
	// Out receives one line per ingested folder; nil discards them.
	Out io.Writer
}

// DemoLogin is the console login SeedDemo prepared.
type DemoLogin struct {
	Email, Password, Reseller, Customers string
}

// The demo: a reseller with two customers, each with sample exports.
const (
	demoReseller = "northwind"
	demoEmail    = "admin@northwind.example"
	demoPassword = "truecost-demo"
)

var demoCustomers = []struct{ slug, name string }{
	{"acme", "Acme Corp"},
	{"globex", "Globex Industries"},
}

// demoAccounts are the demo customers' cloud accounts: all but one appear
// in the bundled exports, so the status check finds their data.
var demoAccounts = []struct {
	org string
	in  accounts.Input
}{
	{"acme", accounts.Input{Provider: connectors.AWS, Name: "Acme payer", ProviderAccountID: "123456789012"}},
	{"acme", accounts.Input{Provider: connectors.AWS, Name: "Acme analytics", ProviderAccountID: "210987654321"}},
	{"acme", accounts.Input{Provider: connectors.AWS, Name: "Acme sandbox", ProviderAccountID: "999900001111"}},
	{"acme", accounts.Input{Provider: connectors.Azure, Name: "Acme production subscription", ProviderAccountID: "6e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"}},
	{"globex", accounts.Input{Provider: connectors.GCP, Name: "Globex web", ProviderAccountID: "billing-test-web-123456", BillingAccountID: "01A2B3-C4D5E6-F7A8B9"}},
	{"globex", accounts.Input{Provider: connectors.OCI, Name: "Globex tenancy", ProviderAccountID: "ocid1.tenancy.oc1..aaaabillingtesttenancy01"}},
}

// SeedDemo creates the demo tenants, ingests the sample exports through
// the ordinary ingestion path, adds the demo cloud accounts and checks
// their billing status. Every step is a no-op when already done, so it
// runs on every start of a demo server.
func SeedDemo(ctx context.Context, d Demo) (DemoLogin, error) {
	out := d.Out
	if out == nil {
		out = io.Discard
	}
	if err := ensureOrg(ctx, d.Tenancy, demoReseller, "Northwind Cloud", tenancy.Reseller, ""); err != nil {
		return DemoLogin{}, err
	}
	orgs := map[string]string{}
	for _, c := range demoCustomers {
		if err := ensureOrg(ctx, d.Tenancy, c.slug, c.name, tenancy.Customer, demoReseller); err != nil {
			return DemoLogin{}, err
		}
		org, err := d.Tenancy.OrganizationBySlug(ctx, system, c.slug)
		if err != nil {
			return DemoLogin{}, err
		}
		orgs[c.slug] = org.ID
	}
	if _, err := d.Tenancy.CreateUser(ctx, system, demoEmail, demoReseller, tenancy.Admin, demoPassword); err != nil && domain.ErrorCode(err) != domain.Conflict {
		return DemoLogin{}, err
	}
	for _, c := range demoCustomers {
		for _, folder := range d.Folders[c.slug] {
			abs, err := filepath.Abs(folder)
			if err != nil {
				return DemoLogin{}, err
			}
			run, err := d.Connectors.IngestLocal(ctx, system, orgs[c.slug], abs, "auto", nil)
			if err != nil {
				return DemoLogin{}, fmt.Errorf("ingest demo data %s for %s: %w", filepath.Base(folder), c.slug, err)
			}
			fmt.Fprintf(out, "demo %s/%s: %s\n", c.slug, filepath.Base(folder), run.Summary(run.Duration()))
		}
	}
	for _, a := range demoAccounts {
		if _, err := d.Accounts.Create(ctx, system, orgs[a.org], a.in); err != nil && domain.ErrorCode(err) != domain.Conflict {
			return DemoLogin{}, fmt.Errorf("demo cloud account %s: %w", a.in.Name, err)
		}
	}
	if _, err := d.Accounts.CheckAll(ctx, system); err != nil {
		return DemoLogin{}, fmt.Errorf("demo billing status: %w", err)
	}
	return DemoLogin{Email: demoEmail, Password: demoPassword, Reseller: demoReseller, Customers: "acme, globex"}, nil
}

func ensureOrg(ctx context.Context, t *tenancy.Service, slug, name string, kind tenancy.OrgKind, reseller string) error {
	if _, err := t.OrganizationBySlug(ctx, system, slug); err == nil {
		return nil
	} else if !domain.IsNotFound(err) {
		return err
	}
	_, err := t.CreateOrganization(ctx, system, slug, name, kind, reseller)
	return err
}

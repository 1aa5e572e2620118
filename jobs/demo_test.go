package jobs_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/billingsource"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/jobs"
)

// TestSeedDemoLoadsTheDemoThroughTheServices runs the demo seeding twice
// over a real store: the tenants, the login, the ingested exports of all
// four clouds and the cloud accounts with their statuses are there, and the
// second run changes nothing.
func TestSeedDemoLoadsTheDemoThroughTheServices(t *testing.T) {
	ctx := context.Background()
	store := sqltest.SQLite(t)
	rights := tenancy.NewRights(store)
	ten := tenancy.NewService(store, rights)
	conns := connectors.NewService(connectors.Deps{Store: store, Rights: rights, Sources: billingsource.Factory{},
		Ingester: billing.NewIngester(store, tenancy.NewID), NewID: tenancy.NewID})
	accts := accounts.NewService(accounts.Deps{Store: store, Rights: rights, Connectors: conns, NewID: tenancy.NewID})
	folders, err := localfiles.WriteDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	demo := jobs.Demo{Tenancy: ten, Connectors: conns, Accounts: accts, Folders: folders}

	var out bytes.Buffer
	demo.Out = &out
	login, err := jobs.SeedDemo(ctx, demo)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "demo acme/") || !strings.Contains(out.String(), "ingested") {
		t.Errorf("progress lines:\n%s", out.String())
	}
	_, _, p, err := ten.Login(ctx, login.Email, login.Password, "")
	if err != nil {
		t.Fatalf("demo login %s: %v", login.Email, err)
	}
	if p.Org.Kind != tenancy.Reseller || login.Customers != "acme, globex" {
		t.Errorf("signed in to %+v; customers %q", p.Org, login.Customers)
	}

	orgs, err := ten.VisibleOrganizations(ctx, p)
	if err != nil || len(orgs) != 3 {
		t.Fatalf("the reseller sees %d organizations (%v), want itself and two customers", len(orgs), err)
	}
	list, err := conns.List(ctx, p, "")
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]bool{}
	for _, c := range list {
		if c.Status != connectors.StatusOK {
			t.Errorf("connector %s: status %s (%s)", c.Name, c.Status, c.LastError)
		}
		formats[c.Format] = true
	}
	if len(list) == 0 {
		t.Fatal("no connectors after the demo")
	}
	all, err := accts.List(ctx, p, "")
	if err != nil {
		t.Fatal(err)
	}
	provisioned := 0
	for _, a := range all {
		if a.Status == accounts.Provisioned {
			provisioned++
		}
	}
	if len(all) != 6 || provisioned != 5 {
		t.Errorf("%d cloud accounts, %d with billing data; want 6 and 5", len(all), provisioned)
	}
	reporter := billing.NewReporter(store, store, rights)
	rep, err := reporter.Report(ctx, p, billing.CostQuery{From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), GroupBy: []billing.Dimension{billing.DimCloud}})
	if err != nil {
		t.Fatal(err)
	}
	clouds := map[string]bool{}
	for _, g := range rep.Groups {
		if g.Keys[0].Value != nil {
			clouds[*g.Keys[0].Value] = true
		}
	}
	for _, c := range []string{"AWS", "AZURE", "GCP", "OCI"} {
		if !clouds[c] {
			t.Errorf("no %s costs after the demo (clouds %v)", c, clouds)
		}
	}

	// Again: everything is there already.
	out.Reset()
	if _, err := jobs.SeedDemo(ctx, demo); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "unchanged") {
		t.Errorf("second seeding:\n%s", out.String())
	}
	again, err := accts.List(ctx, p, "")
	if err != nil || len(again) != len(all) {
		t.Errorf("second seeding left %d accounts (%v), want %d", len(again), err, len(all))
	}
	runs, err := reporter.Runs(ctx, p, "", billing.MaxRunLimit)
	if err != nil {
		t.Fatal(err)
	}
	unchanged := 0
	for _, r := range runs {
		if r.Status == billing.RunUnchanged {
			unchanged++
		}
	}
	if unchanged == 0 || unchanged*2 != len(runs) {
		t.Errorf("%d runs, %d unchanged; want the second seeding's runs all unchanged", len(runs), unchanged)
	}
}

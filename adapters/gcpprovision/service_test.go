package gcpprovision_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/gcpprovision"
	"github.com/truecost/truecost/adapters/gcpprovision/gcpfake"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// TestProvisioningThroughTheAccountsService drives the provisioner with the
// real accounts service on each SQL store: a failed step is retried, the
// billing connector is created from Connector, and deprovisioning removes
// what was created and disables the connector.
func TestProvisioningThroughTheAccountsService(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		ctx := context.Background()
		f := gcpfake.New(t)
		system := tenancy.SystemPrincipal("test")
		rights := tenancy.NewRights(store)
		orgs := tenancy.NewService(store, rights)
		org, err := orgs.CreateOrganization(ctx, system, "globex", "Globex", tenancy.Customer, "")
		if err != nil {
			t.Fatal(err)
		}
		adminUser, err := orgs.CreateUser(ctx, system, "admin@globex.example", org.Slug, tenancy.Admin, "")
		if err != nil {
			t.Fatal(err)
		}
		admin := tenancy.Principal{User: adminUser, Org: org}
		sealer, err := connectors.NewAESSealer(make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		conns := connectors.NewService(connectors.Deps{Store: store, Rights: rights, Sealer: sealer,
			Ingester: billing.NewIngester(store, tenancy.NewID), NewID: tenancy.NewID})
		prov := gcpprovision.New(gcpprovision.Config{BigQueryEndpoint: f.URL, ServiceUsageEndpoint: f.URL, PollInterval: time.Microsecond})
		svc := accounts.NewService(accounts.Deps{Store: store, Sealer: sealer, Connectors: conns, Rights: rights,
			Provisioners: map[connectors.Provider]accounts.Provisioner{connectors.GCP: prov}, NewID: tenancy.NewID})

		acct, err := svc.Create(ctx, admin, org.ID, accounts.Input{Provider: connectors.GCP, Name: "Globex billing",
			ProviderAccountID: project, BillingAccountID: billingAccount,
			Credentials: connectors.Secret{"service_account_json": f.ServiceAccountKey(t, project)}})
		if err != nil {
			t.Fatal(err)
		}

		f.FailOnce(gcpfake.DatasetsInsert, http.StatusForbidden, "PERMISSION_DENIED", "Access Denied: Project billing-proj")
		inf, err := svc.Provision(ctx, admin, org.ID, acct.ID, accounts.Settings{Region: "EU"})
		if domain.ErrorCode(err) != domain.Forbidden || inf.State != accounts.StateFailed || len(inf.Ledger) != 1 {
			t.Fatalf("first attempt: %v, state %s, ledger %+v; want forbidden, failed, one entry", err, inf.State, inf.Ledger)
		}
		f.ClearCalls()
		inf, err = svc.Provision(ctx, admin, org.ID, acct.ID, accounts.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		assertCalls(t, f, "POST "+datasetsURL+" "+datasetBodyFor(t, inf.ID, "EU"))
		if inf.State != accounts.StateProvisioned || len(inf.Ledger) != 2 || inf.ConnectorID == "" {
			t.Fatalf("retry: state %s, ledger %+v, connector %q", inf.State, inf.Ledger, inf.ConnectorID)
		}
		if len(svc.Manual(inf)) == 0 {
			t.Error("no manual steps for the export")
		}
		list, err := conns.List(ctx, admin, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != inf.ConnectorID || !list[0].Enabled || list[0].Config.Dataset != "billing_export" ||
			list[0].Config.BillingAccountID != billingAccount || list[0].Config.Region != "EU" {
			t.Fatalf("connectors = %+v, want the enabled export connector", list)
		}

		f.ClearCalls()
		inf, err = svc.Deprovision(ctx, admin, org.ID, connectors.GCP, true)
		if err != nil {
			t.Fatal(err)
		}
		assertCalls(t, f,
			"GET "+datasetsURL+"/billing_export",
			"DELETE "+datasetsURL+"/billing_export?deleteContents=true",
			"POST "+servicePath+":disable {}",
		)
		if inf.State != accounts.StateDeprovisioned {
			t.Errorf("state %s, want deprovisioned", inf.State)
		}
		list, err = conns.List(ctx, admin, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Enabled {
			t.Errorf("connectors = %+v, want the export connector disabled", list)
		}
	})
}

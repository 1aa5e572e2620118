package awsprovision_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/awsprovision"
	"github.com/truecost/truecost/adapters/awsprovision/awsfake"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// awsSources opens AWS connectors with the billing reader.
type awsSources struct{}

func (awsSources) Source(ctx context.Context, c connectors.Connector, secret connectors.Secret) (billing.Source, error) {
	return awsbilling.NewConnectorSource(ctx, c, secret, nil)
}

// TestProvisioningThroughTheAccountsService drives the provisioner from
// the accounts service on each SQL store: a failed attempt resumes at the
// failed step, the connector it creates ingests the delivered export and
// the account becomes Provisioned, and deprovisioning removes everything.
func TestProvisioningThroughTheAccountsService(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		system := tenancy.SystemPrincipal("test")
		rights := tenancy.NewRights(s)
		ten := tenancy.NewService(s, rights)
		org, err := ten.CreateOrganization(ctx, system, "shop", "Shop", tenancy.Customer, "")
		must(err)
		adminUser, err := ten.CreateUser(ctx, system, "admin@shop.example", org.Slug, tenancy.Admin, "")
		must(err)
		memberUser, err := ten.CreateUser(ctx, system, "member@shop.example", org.Slug, tenancy.Member, "")
		must(err)
		admin, member := tenancy.Principal{User: adminUser, Org: org}, tenancy.Principal{User: memberUser, Org: org}
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		sealer, err := connectors.NewAESSealer(key)
		must(err)
		conns := connectors.NewService(connectors.Deps{Store: s, Rights: rights, Sealer: sealer, Sources: awsSources{},
			Ingester: billing.NewIngester(s, tenancy.NewID), NewID: tenancy.NewID})
		fake := awsfake.New(t)
		svc := accounts.NewService(accounts.Deps{Store: s, Sealer: sealer, Connectors: conns, Rights: rights, NewID: tenancy.NewID,
			Provisioners: map[connectors.Provider]accounts.Provisioner{connectors.AWS: awsprovision.New(awsprovision.Config{Endpoint: fake.URL()})}})

		a, err := svc.Create(ctx, admin, org.ID, accounts.Input{Provider: connectors.AWS, Name: "Payer",
			ProviderAccountID: awsfake.AccountID, Credentials: staticKeys})
		must(err)

		if _, err := svc.Provision(ctx, member, org.ID, a.ID, accounts.Settings{Region: "eu-west-1"}); domain.ErrorCode(err) != domain.Forbidden {
			t.Fatalf("member provisioning: %v, want forbidden", err)
		}
		if n := len(fake.Requests()); n != 0 {
			t.Fatalf("a refused provisioning sent %d requests", n)
		}

		fake.FailOnce(awsfake.CreateExport, http.StatusBadRequest, "ValidationException", "S3 bucket policy does not allow delivery")
		inf, err := svc.Provision(ctx, admin, org.ID, a.ID, accounts.Settings{Region: "eu-west-1"})
		if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), "S3 bucket policy does not allow delivery") {
			t.Fatalf("first attempt: %v", err)
		}
		if inf.State != accounts.StateFailed || len(inf.Ledger) != 2 {
			t.Fatalf("after the failure: %s with %d ledger entries", inf.State, len(inf.Ledger))
		}
		before := len(fake.Requests())
		inf, err = svc.Provision(ctx, admin, org.ID, a.ID, accounts.Settings{})
		must(err)
		if ops := opsOf(fake.Requests()[before:]); ops != "ListExports CreateExport ListCostAllocationTags UpdateCostAllocationTagsStatus" {
			t.Errorf("retry ran %s", ops)
		}
		if inf.State != accounts.StateProvisioned || len(inf.Ledger) != 4 || inf.ConnectorID == "" {
			t.Fatalf("after the retry: %s, %d ledger entries, connector %q", inf.State, len(inf.Ledger), inf.ConnectorID)
		}
		got, err := svc.Get(ctx, member, org.ID, a.ID)
		must(err)
		if got.Status != accounts.Checking {
			t.Errorf("before the first delivery the account is %s (%s), want checking", got.Status, got.StatusDetail)
		}

		names := awsprovision.NamesFor(inf, awsfake.AccountID)
		must(fake.DeliverCUR2(names.Bucket, awsprovision.Prefix, names.Export, "2026-10", cur2Delivery()))
		all, err := svc.CheckNow(ctx, admin, org.ID)
		must(err)
		if len(all) != 1 || all[0].Status != accounts.Provisioned {
			t.Fatalf("after the delivery: %+v, want the account provisioned", all)
		}

		if _, err := svc.Deprovision(ctx, admin, org.ID, connectors.AWS, false); domain.ErrorCode(err) != domain.Conflict {
			t.Fatalf("deprovision without confirmation: %v, want the warning as a conflict", err)
		}
		inf, err = svc.Deprovision(ctx, admin, org.ID, connectors.AWS, true)
		must(err)
		if inf.State != accounts.StateDeprovisioned {
			t.Errorf("state %s after deprovisioning", inf.State)
		}
		for _, r := range inf.Ledger {
			if r.State != accounts.Deleted {
				t.Errorf("%s %s is %s after deprovisioning", r.Step, r.ID, r.State)
			}
		}
		if b, e := fake.Buckets(), fake.Exports(); len(b) != 0 || len(e) != 0 {
			t.Errorf("left in AWS: buckets %v, exports %v", b, e)
		}
		c, err := conns.Get(ctx, admin, org.ID, inf.ConnectorID)
		must(err)
		if c.Enabled {
			t.Error("the export's connector is still enabled")
		}
	})
}

package jobs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/jobs"
)

// statusFOCUS is a small FOCUS 1.2 export: the AWS payer 999999999999 billed
// for its member 123456789012 on two days of October 2026.
const statusFOCUS = `BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ProviderName,PublisherName,InvoiceIssuerName,BillingAccountId,BillingAccountName,BillingAccountType,SubAccountId,SubAccountName,ChargeCategory,ServiceName,ServiceCategory,RegionId
2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-20T00:00:00Z,2026-10-21T00:00:00Z,USD,12.50,12.50,AWS,AWS,AWS,999999999999,Payer,BillingAccount,123456789012,Shop,Usage,Amazon Elastic Compute Cloud,Compute,eu-west-1
2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-21T00:00:00Z,2026-10-22T00:00:00Z,USD,3.25,3.25,AWS,AWS,AWS,999999999999,Payer,BillingAccount,123456789012,Shop,Usage,Amazon Simple Storage Service,Storage,eu-west-1
`

// TestBillingStatusJobProvisionsAccountWithBillingData runs the job with the
// real accounts service on each SQL store: an AWS account without billing
// data is Unprovisioned; once an export naming it is ingested, the job's
// next slot marks it Provisioned and records the change at that time.
func TestBillingStatusJobProvisionsAccountWithBillingData(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) { provisionedByTheJob(t, s) })
}

func provisionedByTheJob(t *testing.T, store accountStore) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(start)

	system := tenancy.SystemPrincipal("test")
	rights := tenancy.NewRights(store)
	orgs := tenancy.NewService(store, rights)
	org, err := orgs.CreateOrganization(ctx, system, "shop", "Shop", tenancy.Customer, "")
	if err != nil {
		t.Fatal(err)
	}
	adminUser, err := orgs.CreateUser(ctx, system, "admin@shop.example", org.Slug, tenancy.Admin, "")
	if err != nil {
		t.Fatal(err)
	}
	admin := tenancy.Principal{User: adminUser, Org: org}
	ingester := billing.NewIngester(store, tenancy.NewID)
	conns := connectors.NewService(connectors.Deps{Store: store, Rights: rights, Ingester: ingester, NewID: tenancy.NewID})
	svc := accounts.NewService(accounts.Deps{Store: store, Connectors: conns, Rights: rights,
		NewID: tenancy.NewID, Now: clock.Now})

	acct, err := svc.Create(ctx, admin, org.ID, accounts.Input{Provider: connectors.AWS, Name: "Shop production",
		ProviderAccountID: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Status != accounts.Unprovisioned {
		t.Fatalf("new account without billing data is %s (%s), want %s", acct.Status, acct.StatusDetail, accounts.Unprovisioned)
	}

	// The export arrives between two checks.
	dir := t.TempDir()
	file := filepath.Join(dir, "focus.csv")
	if err := os.WriteFile(file, []byte(statusFOCUS), 0o644); err != nil {
		t.Fatal(err)
	}
	loc, err := connectors.CanonicalLocation(file)
	if err != nil {
		t.Fatal(err)
	}
	local := connectors.Connector{ID: tenancy.NewID(), OrgID: org.ID, Provider: connectors.Local, Name: "focus.csv",
		Location: loc, Format: "focus", Enabled: true, Status: connectors.StatusNew, CreatedAt: clock.Now().UTC()}
	if err := store.CreateConnector(ctx, local, nil); err != nil {
		t.Fatal(err)
	}
	src, err := localfiles.New(loc, "focus")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingester.Ingest(ctx, billing.IngestRequest{OrgID: org.ID, ConnectorID: local.ID, Source: src}); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if got, err := svc.Get(ctx, admin, org.ID, acct.ID); err != nil || got.Status != accounts.Unprovisioned {
		t.Fatalf("before the job's slot: %s, %v; want still %s", got.Status, err, accounts.Unprovisioned)
	}

	var logs logBuffer
	startReplica(t, jobs.Deps{Housekeeper: store, Locks: store, Clock: clock, Logger: logs.logger(), Status: svc})
	waitArmed(t, clock, 2)
	ten := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	fireSlot(t, clock, ten, 2)
	var recs []map[string]any
	eventually(t, "the status check ran", func() bool {
		recs = logs.records(t, "billing status check done")
		return len(recs) == 1
	})
	if r := recs[0]; r["organizations"] != float64(1) || r["accounts"] != float64(1) || r["changed"] != float64(1) {
		t.Errorf("report %v, want 1 organization, 1 account, 1 changed", r)
	}

	checkedAt := ten.Add(time.Second) // fireSlot's clock reading
	got, err := svc.Get(ctx, admin, org.ID, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != accounts.Provisioned || !strings.Contains(got.StatusDetail, "2026-10-21") {
		t.Errorf("after the slot: %s (%s), want %s with the latest charge day 2026-10-21", got.Status, got.StatusDetail, accounts.Provisioned)
	}
	if !got.StatusSince.Equal(checkedAt) || !got.LastCheckedAt.Equal(checkedAt) {
		t.Errorf("status since %s, last checked %s; want both %s", got.StatusSince, got.LastCheckedAt, checkedAt)
	}
	history, err := svc.History(ctx, admin, org.ID, acct.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) == 0 {
		t.Fatal("status history is empty, want the change to provisioned")
	}
	if h := history[0]; h.From != accounts.Unprovisioned || h.To != accounts.Provisioned || !h.At.Equal(checkedAt) || h.AccountID != acct.ID {
		t.Errorf("latest change %+v, want %s → %s at %s", h, accounts.Unprovisioned, accounts.Provisioned, checkedAt)
	}
}

// accountStore is what the test needs of the SQL store.
type accountStore interface {
	accounts.Store
	billing.IngestStore
	billing.Housekeeper
	jobs.SlotLocks
	tenancy.Store
	connectors.Store
}

var _ accountStore = (*sqlstore.Store)(nil)

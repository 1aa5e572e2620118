package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
)

var t0 = time.Date(2026, 11, 22, 9, 30, 15, 123456000, time.UTC)

func newAccount(org, id string, p connectors.Provider, providerID, name string) accounts.Account {
	return accounts.Account{ID: id, OrgID: org, Provider: p, Name: name, ProviderAccountID: providerID,
		Status: accounts.Unprovisioned, StatusDetail: "not checked yet", StatusSince: t0, CreatedAt: t0}
}

func TestCloudAccountStoreContract(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		e := newEnv(s)
		a, b := e.org(t, "org-a"), e.org(t, "org-b")

		payer := newAccount(a.ID, "acc-1", connectors.AWS, "123456789012", "Payer")
		payer.ExternalID = "truecost-ext"
		sealed := []byte{0x01, 0x00, 0xfe, 0x42, 0x10}
		if err := s.CreateAccount(ctx, payer, sealed); err != nil {
			t.Fatal(err)
		}
		project := newAccount(a.ID, "acc-2", connectors.GCP, "acme-prod-1", "Analytics")
		project.BillingAccountID = "012345-6789AB-CDEF01"
		if err := s.CreateAccount(ctx, project, nil); err != nil {
			t.Fatal(err)
		}

		got, gotSealed, err := s.Account(ctx, a.ID, payer.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := payer
		want.HasCredentials = true
		if !reflect.DeepEqual(got, want) {
			t.Errorf("account:\n got %+v\nwant %+v", got, want)
		}
		if !bytes.Equal(gotSealed, sealed) {
			t.Errorf("sealed credentials %x, want %x", gotSealed, sealed)
		}
		if _, none, err := s.Account(ctx, a.ID, project.ID); err != nil || none != nil {
			t.Errorf("account without credentials: sealed %x, err %v", none, err)
		}

		// The same provider account twice in one organization is a
		// conflict; in another organization it is fine.
		dup := newAccount(a.ID, "acc-3", connectors.AWS, "123456789012", "Again")
		err = s.CreateAccount(ctx, dup, nil)
		if domain.ErrorCode(err) != domain.Conflict || !strings.Contains(err.Error(), "an AWS account 123456789012 already exists") {
			t.Errorf("duplicate account: %v, want conflict naming the AWS account", err)
		}
		other := newAccount(b.ID, "acc-1", connectors.AWS, "123456789012", "B's payer")
		if err := s.CreateAccount(ctx, other, nil); err != nil {
			t.Errorf("same AWS account in another organization: %v", err)
		}

		list, err := s.ListAccounts(ctx, []string{a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "Analytics" || list[1].Name != "Payer" {
			t.Fatalf("list of org A %+v, want Analytics and Payer by name", list)
		}
		if list[0].HasCredentials || !list[1].HasCredentials {
			t.Errorf("HasCredentials in list: %v %v, want false true", list[0].HasCredentials, list[1].HasCredentials)
		}
		if !reflect.DeepEqual(list[1], want) {
			t.Errorf("listed:\n got %+v\nwant %+v", list[1], want)
		}
		if both, _ := s.ListAccounts(ctx, []string{a.ID, b.ID}); len(both) != 3 {
			t.Errorf("list of both organizations: %d accounts, want 3", len(both))
		}
		if none, err := s.ListAccounts(ctx, nil); err != nil || len(none) != 0 {
			t.Errorf("list of no organization: %v %v", none, err)
		}
		orgs, err := s.AccountOrgs(ctx)
		if err != nil || len(orgs) != 2 {
			t.Errorf("account organizations %v %v, want both", orgs, err)
		}

		// Update without credentials keeps them; with credentials replaces.
		payer.Name, payer.Status = "Payer (renamed)", accounts.Provisioned
		if err := updateAccount(ctx, s, payer, nil); err != nil {
			t.Fatal(err)
		}
		got, gotSealed, _ = s.Account(ctx, a.ID, payer.ID)
		if got.Name != "Payer (renamed)" || !bytes.Equal(gotSealed, sealed) {
			t.Errorf("after rename: %q, sealed %x", got.Name, gotSealed)
		}
		if got.Status != accounts.Unprovisioned {
			t.Errorf("update changed the status to %s", got.Status)
		}
		if err := updateAccount(ctx, s, payer, []byte("new")); err != nil {
			t.Fatal(err)
		}
		if _, gotSealed, _ = s.Account(ctx, a.ID, payer.ID); string(gotSealed) != "new" {
			t.Errorf("credentials after replacing: %q", gotSealed)
		}
		project.ProviderAccountID, project.BillingAccountID = "acme-prod-2", "0A0A0A-6789AB-CDEF01"
		if err := updateAccount(ctx, s, project, nil); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Account(ctx, a.ID, project.ID); got.ProviderAccountID != "acme-prod-2" || got.BillingAccountID != "0A0A0A-6789AB-CDEF01" {
			t.Errorf("after changing IDs: %+v", got)
		}

		// Organization B sees none of A's accounts under its own ID.
		if _, _, err := s.Account(ctx, b.ID, project.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("org B reads A's account: %v", err)
		}
		stolen := project
		stolen.OrgID, stolen.Name = b.ID, "stolen"
		if err := updateAccount(ctx, s, stolen, []byte("x")); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("org B updates A's account: %v", err)
		}
		if err := s.DeleteAccount(ctx, b.ID, project.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("org B deletes A's account: %v", err)
		}
		if err := s.RecordStatus(ctx, b.ID, project.ID, accounts.StatusUpdate{Status: accounts.Checking, At: t0}); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("org B records A's status: %v", err)
		}
		if got, _, _ := s.Account(ctx, a.ID, project.ID); got.Name != "Analytics" || got.Status != accounts.Unprovisioned {
			t.Errorf("A's account changed by B: %+v", got)
		}

		if err := s.DeleteAccount(ctx, a.ID, project.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Account(ctx, a.ID, project.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("after delete: %v", err)
		}
		if err := s.DeleteAccount(ctx, a.ID, project.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("second delete: %v", err)
		}
		if err := updateAccount(ctx, s, project, nil); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("update of a deleted account: %v", err)
		}
	})
}

func TestCloudAccountUpdateConflict(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org := newEnv(s).org(t, "acme")
		first := newAccount(org.ID, "a1", connectors.Azure, "8a93b2c1-1234-4abc-9def-0123456789ab", "Prod")
		second := newAccount(org.ID, "a2", connectors.Azure, "00000000-0000-0000-0000-000000000001", "Dev")
		for _, a := range []accounts.Account{first, second} {
			if err := s.CreateAccount(ctx, a, nil); err != nil {
				t.Fatal(err)
			}
		}
		second.ProviderAccountID = first.ProviderAccountID
		err := updateAccount(ctx, s, second, nil)
		if domain.ErrorCode(err) != domain.Conflict || !strings.Contains(err.Error(), "an Azure subscription "+first.ProviderAccountID) {
			t.Errorf("update onto another account's subscription: %v, want conflict", err)
		}
	})
}

func TestStatusHistoryOnlyOnChange(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org := newEnv(s).org(t, "acme")
		a := newAccount(org.ID, "acc", connectors.AWS, "123456789012", "Payer")
		if err := s.CreateAccount(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		checks := []accounts.StatusUpdate{
			{Status: accounts.Unprovisioned, Detail: "no infrastructure", At: t0.Add(time.Hour)},
			{Status: accounts.Checking, Detail: "export created 1 min ago", At: t0.Add(2 * time.Hour)},
			{Status: accounts.Checking, Detail: "export created 1 h ago", At: t0.Add(3 * time.Hour)},
			{Status: accounts.Provisioned, Detail: "billing data found", At: t0.Add(4 * time.Hour)},
			{Status: accounts.Provisioned, Detail: "billing data found, later", At: t0.Add(5 * time.Hour)},
		}
		for _, u := range checks {
			if err := s.RecordStatus(ctx, org.ID, a.ID, u); err != nil {
				t.Fatal(err)
			}
		}
		got, _, err := s.Account(ctx, org.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != accounts.Provisioned || got.StatusDetail != "billing data found, later" ||
			!got.StatusSince.Equal(t0.Add(4*time.Hour)) || !got.LastCheckedAt.Equal(t0.Add(5*time.Hour)) {
			t.Errorf("after checks: status %s %q since %s, checked %s", got.Status, got.StatusDetail, got.StatusSince, got.LastCheckedAt)
		}
		hist, err := history(ctx, s, org.ID, a.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []accounts.StatusChange{
			{AccountID: a.ID, From: accounts.Checking, To: accounts.Provisioned, Detail: "billing data found", At: t0.Add(4 * time.Hour)},
			{AccountID: a.ID, From: accounts.Unprovisioned, To: accounts.Checking, Detail: "export created 1 min ago", At: t0.Add(2 * time.Hour)},
		}
		if !reflect.DeepEqual(hist, want) {
			t.Errorf("history:\n got %+v\nwant %+v", hist, want)
		}
		if one, _ := history(ctx, s, org.ID, a.ID, 1); len(one) != 1 || one[0].To != accounts.Provisioned {
			t.Errorf("history limited to 1: %+v", one)
		}
		// The batch read limits each account on its own.
		b := newAccount(org.ID, "acc-b", connectors.AWS, "210987654321", "Analytics")
		if err := s.CreateAccount(ctx, b, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordStatus(ctx, org.ID, b.ID, checks[3]); err != nil {
			t.Fatal(err)
		}
		both, err := s.StatusHistory(ctx, []string{org.ID}, []string{a.ID, b.ID}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(both) != 2 || len(both[a.ID]) != 1 || both[a.ID][0].To != accounts.Provisioned ||
			len(both[b.ID]) != 1 || both[b.ID][0].From != accounts.Unprovisioned {
			t.Errorf("batch history limited to 1 per account: %+v", both)
		}
		other := newEnv(s).org(t, "globex")
		if h, err := history(ctx, s, other.ID, a.ID, 10); err != nil || len(h) != 0 {
			t.Errorf("another organization reads the history: %+v %v", h, err)
		}
		if err := s.RecordStatus(ctx, org.ID, "missing", checks[0]); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("status of a missing account: %v", err)
		}
		if err := s.DeleteAccount(ctx, org.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if h, err := history(ctx, s, org.ID, a.ID, 10); err != nil || len(h) != 0 {
			t.Errorf("history outlived its account: %+v %v", h, err)
		}
	})
}

func TestBillingInfrastructureStoreContract(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		e := newEnv(s)
		a, b := e.org(t, "org-a"), e.org(t, "org-b")
		if _, err := s.Infrastructure(ctx, a.ID, connectors.AWS); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("before any: %v, want not found", err)
		}
		inf := accounts.Infrastructure{ID: "inf-1", OrgID: a.ID, Provider: connectors.AWS, AccountID: "acc-1",
			Settings: accounts.Settings{Region: "eu-west-1", ExportType: "cur2"}, State: accounts.StateProvisioning,
			CreatedAt: t0, UpdatedAt: t0}
		if err := s.SaveInfrastructure(ctx, inf); err != nil {
			t.Fatal(err)
		}
		got, err := s.Infrastructure(ctx, a.ID, connectors.AWS)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, inf) {
			t.Errorf("saved:\n got %+v\nwant %+v", got, inf)
		}

		// Saving again replaces the record, ledger included.
		inf.Ledger = []accounts.Resource{
			{Step: "bucket", Kind: "S3 bucket", ID: "truecost-billing-inf-1", Region: "eu-west-1", State: accounts.Deleted,
				Note: "created", At: t0.Add(time.Second), DeletedAt: t0.Add(time.Hour)},
			{Step: "tags", Kind: "cost allocation tags", ID: "tags", State: accounts.Kept, At: t0.Add(2 * time.Second),
				Items: []accounts.Item{{Name: "Project", State: "active"}, {Name: "User", State: "manual", Note: "activate in the console"}}},
		}
		inf.State, inf.Error, inf.ConnectorID = accounts.StateProvisioned, "", "conn-1"
		inf.UpdatedAt, inf.ProvisionedAt = t0.Add(time.Minute), t0.Add(time.Minute)
		if err := s.SaveInfrastructure(ctx, inf); err != nil {
			t.Fatal(err)
		}
		got, err = s.Infrastructure(ctx, a.ID, connectors.AWS)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, inf) {
			t.Errorf("replaced:\n got %+v\nwant %+v", got, inf)
		}

		// A new provisioning after deprovisioning replaces the whole row.
		again := accounts.Infrastructure{ID: "inf-2", OrgID: a.ID, Provider: connectors.AWS, AccountID: "acc-2",
			Settings: accounts.Settings{Region: "us-east-1"}, State: accounts.StateFailed, Error: "S3 bucket: access denied",
			ConnectorID: "conn-1", CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)}
		if err := s.SaveInfrastructure(ctx, again); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Infrastructure(ctx, a.ID, connectors.AWS); !reflect.DeepEqual(got, again) {
			t.Errorf("after a new provisioning:\n got %+v\nwant %+v", got, again)
		}

		gcp := accounts.Infrastructure{ID: "inf-3", OrgID: a.ID, Provider: connectors.GCP, AccountID: "acc-3",
			State: accounts.StateProvisioned, CreatedAt: t0, UpdatedAt: t0, ProvisionedAt: t0,
			Settings: accounts.Settings{Region: "EU", ProjectID: "acme-billing", Dataset: "billing_export"}}
		if err := s.SaveInfrastructure(ctx, gcp); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListInfrastructure(ctx, []string{a.ID})
		if err != nil || len(list) != 2 || list[0].Provider != connectors.AWS || list[1].Provider != connectors.GCP {
			t.Errorf("list %+v %v, want aws and gcp", list, err)
		}
		if len(list) == 2 && list[1].Settings != gcp.Settings {
			t.Errorf("gcp settings %+v", list[1].Settings)
		}

		// Organization B neither reads nor overwrites A's records.
		if _, err := s.Infrastructure(ctx, b.ID, connectors.AWS); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("org B reads A's infrastructure: %v", err)
		}
		if l, _ := s.ListInfrastructure(ctx, []string{b.ID}); len(l) != 0 {
			t.Errorf("org B lists A's infrastructure: %+v", l)
		}
		mine := again
		mine.OrgID, mine.ID = b.ID, "inf-b"
		if err := s.SaveInfrastructure(ctx, mine); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Infrastructure(ctx, a.ID, connectors.AWS); got.ID != "inf-2" {
			t.Errorf("org B's save replaced A's record: %+v", got)
		}
	})
}

// focusRow is one line of a small FOCUS file.
type focusRow struct {
	billingAccount, subAccount, chargeDay, cost string
}

func writeFOCUS(t *testing.T, path string, rows ...focusRow) {
	t.Helper()
	var b strings.Builder
	b.WriteString("BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ProviderName,BillingAccountId,SubAccountId\n")
	for _, r := range rows {
		day := date(r.chargeDay)
		start := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
		fmt.Fprintf(&b, "%s,%s,%s,%s,USD,%s,%s,AWS,%s,%s\n", start.Format(time.RFC3339), start.AddDate(0, 1, 0).Format(time.RFC3339),
			day.Format(time.RFC3339), day.Add(time.Hour).Format(time.RFC3339), r.cost, r.cost, r.billingAccount, r.subAccount)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSeenAccountsReadsOnlyVisibleRollups(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		e := newEnv(s)
		org, other := e.org(t, "acme"), e.org(t, "globex")
		path := filepath.Join(t.TempDir(), "export.csv")
		writeFOCUS(t, path,
			focusRow{"111111111111", "111111111111", "2026-10-03", "1.50"},
			focusRow{"111111111111", "222222222222", "2026-10-04", "2.25"},
			focusRow{"111111111111", "222222222222", "2026-10-09", "0.75"},
			focusRow{"", "", "2026-10-09", "0.10"},
		)
		first, err := e.ingest(t, org, path)
		if err != nil {
			t.Fatal(err)
		}
		seen, err := s.SeenAccounts(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []accounts.SeenAccount{
			{BillingAccountID: "111111111111", SubAccountID: "111111111111", ConnectorID: first.ConnectorID, LastDay: date("2026-10-03")},
			{BillingAccountID: "111111111111", SubAccountID: "222222222222", ConnectorID: first.ConnectorID, LastDay: date("2026-10-09")},
		}
		if !reflect.DeepEqual(seen, want) {
			t.Errorf("seen:\n got %+v\nwant %+v", seen, want)
		}
		if s, err := s.SeenAccounts(ctx, other.ID); err != nil || len(s) != 0 {
			t.Errorf("another organization sees %+v (%v)", s, err)
		}

		// The provider restates October without account 222…: the superseded
		// run's rows no longer count.
		writeFOCUS(t, path, focusRow{"111111111111", "333333333333", "2026-10-05", "4.00"})
		future := time.Now().Add(time.Minute)
		_ = os.Chtimes(path, future, future)
		if run, err := e.ingest(t, org, path); err != nil || run.Status != billing.RunSucceeded {
			t.Fatalf("restated run %+v: %v", run, err)
		}
		// Rows of a run that was loaded but never published (its partition
		// swap did not happen) are invisible too.
		pending := billing.IngestionRun{ID: "pending-run", OrgID: org.ID, ConnectorID: "other-connector",
			Status: billing.RunRunning, StartedAt: time.Now().UTC()}
		if err := s.CreateRun(ctx, pending); err != nil {
			t.Fatal(err)
		}
		hidden := make(chan []billing.LineItem, 1)
		hidden <- []billing.LineItem{{BillingPeriodStart: date("2026-10-01"), BillingPeriodEnd: date("2026-11-01"),
			ChargePeriodStart: date("2026-10-20"), ChargePeriodEnd: date("2026-10-21"), ProviderName: "AWS",
			BillingAccountID: "444444444444", SubAccountID: "444444444444", BillingCurrency: "USD",
			BilledCost: "9", EffectiveCost: "9"}}
		close(hidden)
		if err := s.WriteLineItems(ctx, pending, hidden); err != nil {
			t.Fatal(err)
		}
		seen, err = s.SeenAccounts(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		want = []accounts.SeenAccount{{BillingAccountID: "111111111111", SubAccountID: "333333333333", ConnectorID: first.ConnectorID, LastDay: date("2026-10-05")}}
		if !reflect.DeepEqual(seen, want) {
			t.Errorf("seen after restatement:\n got %+v\nwant %+v", seen, want)
		}
	})
}

// Accounts need a real organization: the foreign key refuses others.
func TestCloudAccountNeedsOrganization(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		err := s.CreateAccount(context.Background(), newAccount("no-such-org", "acc", connectors.AWS, "123456789012", "Payer"), nil)
		if err == nil {
			t.Error("account stored for a missing organization")
		}
	})
}

// updateAccount stores a's name and IDs through the update closure, and
// sealed when it is not nil.
func updateAccount(ctx context.Context, s *sqlstore.Store, a accounts.Account, sealed []byte) error {
	_, err := s.UpdateAccount(ctx, a.OrgID, a.ID, func(stored *accounts.Account, old []byte) ([]byte, error) {
		stored.Name, stored.ProviderAccountID, stored.BillingAccountID = a.Name, a.ProviderAccountID, a.BillingAccountID
		if sealed == nil {
			return old, nil
		}
		return sealed, nil
	})
	return err
}

// history reads one account's status changes through the batch read.
func history(ctx context.Context, s *sqlstore.Store, orgID, id string, limit int) ([]accounts.StatusChange, error) {
	h, err := s.StatusHistory(ctx, []string{orgID}, []string{id}, limit)
	return h[id], err
}

package connectors_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/truecost/truecost/adapters/billingsource"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

var system = tenancy.SystemPrincipal("test")

// focusCSV is a two-row FOCUS export of one AWS account.
const focusCSV = `BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ProviderName,BillingAccountId,SubAccountId
2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-20T00:00:00Z,2026-10-21T00:00:00Z,USD,12.50,12.50,AWS,999999999999,123456789012
2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-21T00:00:00Z,2026-10-22T00:00:00Z,USD,3.25,3.25,AWS,999999999999,123456789012
`

type fixture struct {
	ctx           context.Context
	store         *sqlstore.Store
	svc           *connectors.Service
	org           tenancy.Organization
	admin, member tenancy.Principal
}

func newFixture(t *testing.T, s *sqlstore.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	rights := tenancy.NewRights(s)
	ten := tenancy.NewService(s, rights)
	org, err := ten.CreateOrganization(ctx, system, "acme", "", tenancy.Customer, "")
	if err != nil {
		t.Fatal(err)
	}
	principal := func(email string, role tenancy.Role) tenancy.Principal {
		t.Helper()
		u, err := ten.CreateUser(ctx, system, email, org.Slug, role, "")
		if err != nil {
			t.Fatal(err)
		}
		return tenancy.Principal{User: u, Org: org}
	}
	svc := connectors.NewService(connectors.Deps{Store: s, Rights: rights, Sources: billingsource.Factory{},
		Ingester: billing.NewIngester(s, tenancy.NewID), NewID: tenancy.NewID})
	return &fixture{ctx: ctx, store: s, svc: svc, org: org,
		admin: principal("admin@acme.example", tenancy.Admin), member: principal("member@acme.example", tenancy.Member)}
}

func (f *fixture) connectors(t *testing.T) []connectors.Connector {
	t.Helper()
	cs, err := f.svc.List(f.ctx, system, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestIngestLocalRefusesABadSourceWithoutCreatingAConnector(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		dir := t.TempDir()
		file := filepath.Join(dir, "focus.csv")
		if err := os.WriteFile(file, []byte(focusCSV), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, source, format string
			caller               tenancy.Principal
			code                 domain.Code
		}{
			{"missing file", filepath.Join(dir, "missing.csv"), "focus", f.admin, domain.Invalid},
			{"missing folder", filepath.Join(dir, "missing"), "auto", f.admin, domain.Invalid},
			{"export format on a file", file, "aws-cur", f.admin, domain.Invalid},
			{"unknown format", file, "parquet", f.admin, domain.Invalid},
			{"no source", "  ", "focus", f.admin, domain.Invalid},
			{"member", file, "focus", f.member, domain.Forbidden},
			{"system without an organization", file, "focus", system, domain.Invalid},
		} {
			orgID := f.org.ID
			if tc.caller.IsSystem() {
				orgID = ""
			}
			run, err := f.svc.IngestLocal(f.ctx, tc.caller, orgID, tc.source, tc.format, nil)
			if domain.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v (code %s), want %s", tc.name, err, domain.ErrorCode(err), tc.code)
			}
			if run.ID != "" {
				t.Errorf("%s: a run %+v was recorded", tc.name, run)
			}
			if cs := f.connectors(t); len(cs) != 0 {
				t.Fatalf("%s created connectors %+v", tc.name, cs)
			}
		}
		runs, err := f.store.ListRuns(f.ctx, []string{f.org.ID}, 10)
		if err != nil || len(runs) != 0 {
			t.Errorf("runs after refused sources: %+v %v", runs, err)
		}

		// A good source creates the organization's local connector once.
		run, err := f.svc.IngestLocal(f.ctx, f.admin, "", file, "focus", nil)
		if err != nil || run.Status != billing.RunSucceeded || run.Rows != 2 {
			t.Fatalf("ingest: %+v %v", run, err)
		}
		cs := f.connectors(t)
		if len(cs) != 1 || cs[0].Provider != connectors.Local || cs[0].Location != file || cs[0].Format != "focus" ||
			cs[0].ID != run.ConnectorID || cs[0].Status != connectors.StatusOK || cs[0].LastRows != 2 {
			t.Fatalf("connectors after ingesting %+v, want one local connector for %s", cs, file)
		}
		again, err := f.svc.IngestLocal(f.ctx, system, f.org.ID, file, "focus", nil)
		if err != nil || again.Status != billing.RunUnchanged || again.ConnectorID != cs[0].ID {
			t.Errorf("ingest again: %+v %v, want unchanged through the same connector", again, err)
		}
		if cs := f.connectors(t); len(cs) != 1 {
			t.Errorf("connectors after ingesting twice %+v", cs)
		}
	})
}

package tenancy_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
)

var system = tenancy.SystemPrincipal("test")

// countingStore counts the reseller lookups Rights makes.
type countingStore struct {
	tenancy.Store
	mu          sync.Mutex
	customersOf int
}

func (s *countingStore) CustomersOf(ctx context.Context, resellerID string) ([]tenancy.Organization, error) {
	s.mu.Lock()
	s.customersOf++
	s.mu.Unlock()
	return s.Store.CustomersOf(ctx, resellerID)
}

func (s *countingStore) lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.customersOf
}

// world is a reseller (northwind) with two customers (acme, initech), a
// direct customer (globex), and callers resolved from API tokens the way
// the drivers resolve them.
type world struct {
	ctx    context.Context
	store  *countingStore
	rights *tenancy.Rights
	svc    *tenancy.Service

	northwind, acme, initech, globex tenancy.Organization

	resellerAdmin, resellerMember, acmeAdmin, acmeMember, globexAdmin tenancy.Principal
}

func newWorld(t *testing.T, s *sqlstore.Store) *world {
	t.Helper()
	w := &world{ctx: context.Background(), store: &countingStore{Store: s}}
	w.rights = tenancy.NewRights(w.store)
	w.svc = tenancy.NewService(w.store, w.rights)
	org := func(slug string, kind tenancy.OrgKind, reseller string) tenancy.Organization {
		t.Helper()
		o, err := w.svc.CreateOrganization(w.ctx, system, slug, "", kind, reseller)
		if err != nil {
			t.Fatalf("create %s: %v", slug, err)
		}
		return o
	}
	w.northwind = org("northwind", tenancy.Reseller, "")
	w.acme = org("acme", tenancy.Customer, "northwind")
	w.initech = org("initech", tenancy.Customer, "northwind")
	w.globex = org("globex", tenancy.Customer, "")
	w.resellerAdmin = w.caller(t, "admin@northwind.example", w.northwind, tenancy.Admin)
	w.resellerMember = w.caller(t, "member@northwind.example", w.northwind, tenancy.Member)
	w.acmeAdmin = w.caller(t, "admin@acme.example", w.acme, tenancy.Admin)
	w.acmeMember = w.caller(t, "member@acme.example", w.acme, tenancy.Member)
	w.globexAdmin = w.caller(t, "admin@globex.example", w.globex, tenancy.Admin)
	return w
}

// caller creates a user and returns the principal its API token resolves to.
func (w *world) caller(t *testing.T, email string, org tenancy.Organization, role tenancy.Role) tenancy.Principal {
	t.Helper()
	u, err := w.svc.CreateUser(w.ctx, system, email, org.Slug, role, "")
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	token, err := w.svc.IssueToken(w.ctx, system, u, "test")
	if err != nil {
		t.Fatalf("token for %s: %v", email, err)
	}
	p, err := w.svc.TokenPrincipal(w.ctx, token, "")
	if err != nil {
		t.Fatalf("principal of %s: %v", email, err)
	}
	if p.User.ID != u.ID || p.Org.ID != org.ID || p.IsSystem() {
		t.Fatalf("principal of %s: %+v", email, p)
	}
	return p
}

func wantCode(t *testing.T, what string, err error, code domain.Code) {
	t.Helper()
	if got := domain.ErrorCode(err); err == nil || got != code {
		t.Errorf("%s: %v (code %s), want %s", what, err, got, code)
	}
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func orgIDs(orgs []tenancy.Organization) []string {
	ids := make([]string, 0, len(orgs))
	for _, o := range orgs {
		ids = append(ids, o.ID)
	}
	return ids
}

func TestResellerReadsItselfAndItsCustomers(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		want := sorted([]string{w.northwind.ID, w.acme.ID, w.initech.ID})
		for _, p := range []tenancy.Principal{w.resellerAdmin, w.resellerMember} {
			orgs, err := w.rights.Organizations(w.ctx, p)
			if err != nil || orgs[0].ID != w.northwind.ID || !slices.Equal(sorted(orgIDs(orgs)), want) {
				t.Errorf("%s organizations %v (%v), want itself first, then acme and initech", p, orgIDs(orgs), err)
			}
			all, err := w.rights.Read(w.ctx, p, "")
			if err != nil || !slices.Equal(sorted(all), want) {
				t.Errorf("%s reads %v (%v), want northwind, acme and initech, not globex", p, all, err)
			}
			for _, org := range []tenancy.Organization{w.northwind, w.acme, w.initech} {
				if one, err := w.rights.Read(w.ctx, p, org.ID); err != nil || !slices.Equal(one, []string{org.ID}) {
					t.Errorf("%s reads %s: %v %v, want it alone", p, org.Slug, one, err)
				}
			}
			_, err = w.rights.Read(w.ctx, p, w.globex.ID)
			wantCode(t, p.String()+" reads a direct customer", err, domain.NotFound)
		}
		if got, err := w.svc.OrganizationBySlug(w.ctx, w.resellerMember, "acme"); err != nil || got.ID != w.acme.ID {
			t.Errorf("reseller looks up its customer by slug: %+v %v", got, err)
		}
		visible, err := w.svc.VisibleOrganizations(w.ctx, w.resellerMember)
		if err != nil || !slices.Equal(sorted(orgIDs(visible)), want) {
			t.Errorf("visible organizations %v (%v)", orgIDs(visible), err)
		}
	})
}

func TestCustomerCannotReadItsResellerOrASibling(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		for _, p := range []tenancy.Principal{w.acmeAdmin, w.acmeMember} {
			if all, err := w.rights.Read(w.ctx, p, ""); err != nil || !slices.Equal(all, []string{w.acme.ID}) {
				t.Errorf("%s reads %v (%v), want acme alone", p, all, err)
			}
			if orgs, err := w.rights.Organizations(w.ctx, p); err != nil || !slices.Equal(orgIDs(orgs), []string{w.acme.ID}) {
				t.Errorf("%s organizations %v (%v), want acme alone", p, orgIDs(orgs), err)
			}
			for _, tc := range []struct{ name, orgID string }{
				{"its reseller", w.northwind.ID},
				{"a sibling customer", w.initech.ID},
				{"a stranger", w.globex.ID},
				// The same answer as for an organization that does not exist.
				{"no organization", "no-such-org"},
			} {
				_, err := w.rights.Read(w.ctx, p, tc.orgID)
				wantCode(t, p.String()+" reads "+tc.name, err, domain.NotFound)
			}
			for _, slug := range []string{"northwind", "initech"} {
				_, err := w.svc.OrganizationBySlug(w.ctx, p, slug)
				wantCode(t, p.String()+" looks up "+slug, err, domain.NotFound)
			}
		}
	})
}

func TestOnlyAdminsWrite(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		for _, tc := range []struct {
			name   string
			caller tenancy.Principal
			orgID  string
			want   domain.Code // "" for allowed
		}{
			{"customer admin in its organization", w.acmeAdmin, w.acme.ID, ""},
			{"reseller admin in its organization", w.resellerAdmin, w.northwind.ID, ""},
			{"reseller admin in its customer", w.resellerAdmin, w.acme.ID, ""},
			{"customer member in its organization", w.acmeMember, w.acme.ID, domain.Forbidden},
			{"reseller member in its organization", w.resellerMember, w.northwind.ID, domain.Forbidden},
			{"reseller member in its customer", w.resellerMember, w.acme.ID, domain.Forbidden},
			{"customer admin in its reseller", w.acmeAdmin, w.northwind.ID, domain.NotFound},
			{"customer admin in a sibling", w.acmeAdmin, w.initech.ID, domain.NotFound},
			{"reseller admin in a direct customer", w.resellerAdmin, w.globex.ID, domain.NotFound},
			{"admin of another organization", w.globexAdmin, w.acme.ID, domain.NotFound},
		} {
			err := w.rights.Write(w.ctx, tc.caller, tc.orgID, "billing connectors")
			if tc.want == "" {
				if err != nil {
					t.Errorf("%s: %v, want allowed", tc.name, err)
				}
				continue
			}
			wantCode(t, tc.name, err, tc.want)
		}
		err := w.rights.Write(w.ctx, w.acmeMember, w.acme.ID, "billing connectors")
		if want := "only organization admins may change billing connectors"; err == nil || err.Error() != want {
			t.Errorf("member's error %q, want %q", err, want)
		}

		// Users follow the same rule through the service.
		_, err = w.svc.CreateUser(w.ctx, w.acmeMember, "new@acme.example", "acme", tenancy.Member, "")
		wantCode(t, "member adds a user", err, domain.Forbidden)
		_, err = w.svc.CreateUser(w.ctx, w.acmeAdmin, "new@initech.example", "initech", tenancy.Member, "")
		wantCode(t, "customer admin adds a user to a sibling", err, domain.NotFound)
		if u, err := w.svc.CreateUser(w.ctx, w.acmeAdmin, "new@acme.example", "acme", tenancy.Member, ""); err != nil || u.OrgID != w.acme.ID {
			t.Errorf("admin adds a user: %+v %v", u, err)
		}
		if u, err := w.svc.CreateUser(w.ctx, w.resellerAdmin, "new@initech.example", "initech", tenancy.Admin, ""); err != nil || u.OrgID != w.initech.ID {
			t.Errorf("reseller admin adds a user to its customer: %+v %v", u, err)
		}
		_, err = w.svc.IssueToken(w.ctx, w.acmeAdmin, w.acmeMember.User, "theirs")
		wantCode(t, "admin issues another user's token", err, domain.Forbidden)
		if _, err := w.svc.IssueToken(w.ctx, w.acmeMember, w.acmeMember.User, "mine"); err != nil {
			t.Errorf("member issues its own token: %v", err)
		}
	})
}

func TestSystemActsOnANamedOrganization(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		if !system.IsSystem() || !system.IsAdmin() || system.String() != "system:test" {
			t.Errorf("system principal: system %v, admin %v, %q", system.IsSystem(), system.IsAdmin(), system)
		}
		if p := tenancy.SystemPrincipal(""); !p.IsSystem() || p.String() != "system:system" {
			t.Errorf("unnamed system principal %q", p)
		}
		for _, org := range []tenancy.Organization{w.northwind, w.acme, w.globex} {
			if one, err := w.rights.Read(w.ctx, system, org.ID); err != nil || !slices.Equal(one, []string{org.ID}) {
				t.Errorf("system reads %s: %v %v", org.Slug, one, err)
			}
			if err := w.rights.Write(w.ctx, system, org.ID, "billing connectors"); err != nil {
				t.Errorf("system writes %s: %v", org.Slug, err)
			}
		}

		// Everything at once is no organization: the system must say which.
		_, err := w.rights.Read(w.ctx, system, "")
		wantCode(t, "system reads without an organization", err, domain.Invalid)
		err = w.rights.Write(w.ctx, system, "", "billing connectors")
		wantCode(t, "system writes without an organization", err, domain.Invalid)
		_, err = w.rights.Organizations(w.ctx, system)
		wantCode(t, "system lists its organizations", err, domain.Invalid)

		if err := w.rights.System(system, "sync every organization's connectors"); err != nil {
			t.Errorf("system check for the system: %v", err)
		}
		for _, p := range []tenancy.Principal{w.resellerAdmin, w.acmeAdmin, w.acmeMember} {
			err := w.rights.System(p, "sync every organization's connectors")
			wantCode(t, p.String()+" acts as the system", err, domain.Forbidden)
		}
		_, err = w.svc.CreateOrganization(w.ctx, w.resellerAdmin, "hooli", "", tenancy.Customer, "northwind")
		wantCode(t, "reseller admin creates an organization", err, domain.Forbidden)
		if _, err := w.svc.OrganizationBySlug(w.ctx, system, "hooli"); !domain.IsNotFound(err) {
			t.Errorf("a refused organization exists: %v", err)
		}
		if org, err := w.svc.OrganizationBySlug(w.ctx, system, "initech"); err != nil || org.ID != w.initech.ID {
			t.Errorf("system looks up initech: %+v %v", org, err)
		}
	})
}

func TestReadAllChecksEveryOrganizationWithOneLookup(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		for _, tc := range []struct {
			name    string
			caller  tenancy.Principal
			orgIDs  []string
			want    domain.Code // "" for allowed
			lookups int
		}{
			{"reseller, itself and its customers", w.resellerMember, []string{w.acme.ID, w.northwind.ID, w.initech.ID, w.acme.ID}, "", 1},
			{"reseller, a direct customer among its own", w.resellerMember, []string{w.acme.ID, w.globex.ID}, domain.NotFound, 1},
			{"reseller, its own organization only", w.resellerAdmin, []string{w.northwind.ID, w.northwind.ID}, "", 0},
			{"nothing to check", w.acmeMember, nil, "", 0},
			{"customer, itself", w.acmeMember, []string{w.acme.ID}, "", 0},
			{"customer, its reseller", w.acmeMember, []string{w.acme.ID, w.northwind.ID}, domain.NotFound, 0},
			{"customer, a sibling", w.acmeAdmin, []string{w.initech.ID}, domain.NotFound, 0},
			{"system, anything", system, []string{w.acme.ID, w.globex.ID, w.northwind.ID}, "", 0},
		} {
			before := w.store.lookups()
			err := w.rights.ReadAll(w.ctx, tc.caller, tc.orgIDs)
			if tc.want == "" && err != nil {
				t.Errorf("%s: %v, want allowed", tc.name, err)
			} else if tc.want != "" {
				wantCode(t, tc.name, err, tc.want)
			}
			if n := w.store.lookups() - before; n != tc.lookups {
				t.Errorf("%s: %d customer lookups, want %d", tc.name, n, tc.lookups)
			}
		}
	})
}

func TestRightsCacheLooksUpCustomersOncePerRequest(t *testing.T) {
	w := newWorld(t, sqltest.SQLite(t))
	reads := func(ctx context.Context) {
		t.Helper()
		for _, id := range []string{"", w.acme.ID, w.initech.ID} {
			if _, err := w.rights.Read(ctx, w.resellerMember, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := w.store.lookups()
	reads(w.ctx)
	if n := w.store.lookups() - before; n != 3 {
		t.Errorf("without a cache: %d lookups, want one per read (3)", n)
	}

	req := tenancy.WithRightsCache(w.ctx)
	before = w.store.lookups()
	reads(req)
	reads(req)
	if n := w.store.lookups() - before; n != 1 {
		t.Errorf("within one request: %d lookups, want 1", n)
	}

	// A customer added later is seen by the next request, not this one.
	hooli, err := w.svc.CreateOrganization(w.ctx, system, "hooli", "", tenancy.Customer, "northwind")
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.rights.Read(req, w.resellerMember, hooli.ID)
	wantCode(t, "new customer within the old request", err, domain.NotFound)
	if _, err := w.rights.Read(tenancy.WithRightsCache(w.ctx), w.resellerMember, hooli.ID); err != nil {
		t.Errorf("new customer in the next request: %v", err)
	}
}

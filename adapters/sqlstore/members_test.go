package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
)

func TestResellerAddsCustomerWhoseAdminSignsInThroughTheInvitationOnce(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		svc := tenancy.NewService(s, tenancy.NewRights(s), tenancy.WithClock(func() time.Time { return now }))
		res, err := svc.CreateOrganization(ctx, system, "reseller", "Reseller", tenancy.Reseller, "")
		if err != nil {
			t.Fatal(err)
		}
		admin := tenancy.Principal{Org: res, User: tenancy.User{ID: "ra", OrgID: res.ID, Role: tenancy.Admin}}
		member := tenancy.Principal{Org: res, User: tenancy.User{ID: "rm", OrgID: res.ID, Role: tenancy.Member}}
		if _, _, err := svc.CreateCustomer(ctx, member, "acme", "Acme", "ann@acme.example"); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("a reseller member adding a customer: got %v, want forbidden", err)
		}
		acme, inv, err := svc.CreateCustomer(ctx, admin, "acme", "Acme Corp", " Ann@Acme.example ")
		if err != nil {
			t.Fatal(err)
		}
		if acme.ResellerID != res.ID || acme.Kind != tenancy.Customer || inv.User.Role != tenancy.Admin || inv.User.Email != "ann@acme.example" {
			t.Errorf("customer %+v with admin %+v", acme, inv.User)
		}
		if _, _, err := svc.CreateCustomer(ctx, admin, "acme", "Again", "bob@acme.example"); domain.ErrorCode(err) != domain.Conflict {
			t.Errorf("a taken slug: got %v, want conflict", err)
		}
		stored, err := s.InviteByHash(ctx, tenancy.HashToken(inv.Token))
		if err != nil || stored.Hash == inv.Token {
			t.Fatalf("the invitation is kept by its hash only: %+v, %v", stored, err)
		}
		if _, _, _, err := svc.Login(ctx, "ann@acme.example", "whatever-password", ""); err == nil {
			t.Error("the invited admin signed in before setting a password")
		}
		u, err := svc.Invitation(ctx, inv.Token)
		if err != nil || u.Email != "ann@acme.example" {
			t.Fatalf("invitation: got %+v, %v", u, err)
		}
		if _, _, _, err := svc.AcceptInvite(ctx, inv.Token, "short", ""); domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("a short password: got %v, want invalid", err)
		}
		cookie, _, p, err := svc.AcceptInvite(ctx, inv.Token, "a long enough password", "")
		if err != nil {
			t.Fatal(err)
		}
		if cookie == "" || p.Org.ID != acme.ID || p.User.Email != "ann@acme.example" {
			t.Errorf("signed in as %+v", p)
		}
		if _, _, _, err := svc.AcceptInvite(ctx, inv.Token, "another long password", ""); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("a used invitation: got %v, want not found", err)
		}
		if _, _, _, err := svc.Login(ctx, "ann@acme.example", "a long enough password", ""); err != nil {
			t.Errorf("signing in with the password set: %v", err)
		}

		// An invitation expires.
		late, err := svc.AddUser(ctx, admin, acme.ID, "carl@acme.example", tenancy.Member)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(tenancy.InviteLifetime + time.Minute)
		if _, _, _, err := svc.AcceptInvite(ctx, late.Token, "a long enough password", ""); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("an expired invitation: got %v, want not found", err)
		}
	})
}

func TestUsersAreManagedByTheirAdminsAndTheirResellerKeepingOneAdmin(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := tenancy.NewService(s, tenancy.NewRights(s))
		res, _ := svc.CreateOrganization(ctx, system, "reseller", "Reseller", tenancy.Reseller, "")
		other, _ := svc.CreateOrganization(ctx, system, "other", "Other", tenancy.Reseller, "")
		admin := tenancy.Principal{Org: res, User: tenancy.User{ID: "ra", OrgID: res.ID, Role: tenancy.Admin}}
		stranger := tenancy.Principal{Org: other, User: tenancy.User{ID: "oa", OrgID: other.ID, Role: tenancy.Admin}}
		acme, first, err := svc.CreateCustomer(ctx, admin, "acme", "Acme", "ann@acme.example")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := svc.AddUser(ctx, admin, acme.ID, "bob@acme.example", tenancy.Member)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddUser(ctx, admin, acme.ID, "bob@acme.example", tenancy.Member); domain.ErrorCode(err) != domain.Conflict {
			t.Errorf("a taken email: got %v, want conflict", err)
		}
		if _, err := svc.AddUser(ctx, stranger, acme.ID, "eve@x.example", tenancy.Admin); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("another reseller adding a user: got %v, want not found", err)
		}
		if err := svc.RemoveUser(ctx, stranger, acme.ID, bob.User.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("another reseller removing a user: got %v, want not found", err)
		}
		err = svc.ChangeRole(ctx, admin, acme.ID, first.User.ID, tenancy.Member)
		wantConflict(t, "demoting the last admin", err, "at least one admin")
		err = svc.RemoveUser(ctx, admin, acme.ID, first.User.ID)
		wantConflict(t, "removing the last admin", err, "at least one admin")
		if err := svc.ChangeRole(ctx, admin, acme.ID, bob.User.ID, tenancy.Admin); err != nil {
			t.Fatal(err)
		}
		// The customer's own admin manages its users too; a member does not.
		annP := tenancy.Principal{Org: acme, User: tenancy.User{ID: first.User.ID, OrgID: acme.ID, Role: tenancy.Admin}}
		if err := svc.RemoveUser(ctx, annP, acme.ID, bob.User.ID); err != nil {
			t.Fatal(err)
		}
		memberP := tenancy.Principal{Org: acme, User: tenancy.User{ID: "m", OrgID: acme.ID, Role: tenancy.Member}}
		if _, err := svc.AddUser(ctx, memberP, acme.ID, "x@acme.example", tenancy.Member); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("a member adding a user: got %v, want forbidden", err)
		}
		users, err := svc.Users(ctx, admin, acme.ID)
		if err != nil || len(users) != 1 || users[0].Email != "ann@acme.example" || users[0].PasswordHash != "" {
			t.Errorf("users: got %+v, %v", users, err)
		}
		if _, err := svc.Users(ctx, stranger, acme.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("another reseller listing users: got %v, want not found", err)
		}
	})
}

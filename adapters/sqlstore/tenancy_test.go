package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
)

func TestTenancyRules(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		system := tenancy.SystemPrincipal("test")
		rights := tenancy.NewRights(s)
		svc := tenancy.NewService(s, rights)
		reseller, err := svc.CreateOrganization(ctx, system, "northwind", "Northwind", tenancy.Reseller, "")
		if err != nil {
			t.Fatal(err)
		}
		acme, err := svc.CreateOrganization(ctx, system, "acme", "", tenancy.Customer, "northwind")
		if err != nil || acme.ResellerID != reseller.ID || acme.Name != "acme" {
			t.Fatalf("customer: %+v %v", acme, err)
		}
		direct, _ := svc.CreateOrganization(ctx, system, "globex", "Globex", tenancy.Customer, "")

		if _, err := svc.CreateOrganization(ctx, system, "acme", "", tenancy.Customer, ""); domain.ErrorCode(err) != domain.Conflict {
			t.Errorf("duplicate slug: %v, want conflict", err)
		}
		if _, err := svc.CreateOrganization(ctx, system, "initech", "", tenancy.Customer, "globex"); domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("customer of a customer: %v, want invalid", err)
		}

		admin, err := svc.CreateUser(ctx, system, " Admin@Northwind.Example ", "northwind", tenancy.Admin, "correct horse")
		if err != nil || admin.Email != "admin@northwind.example" {
			t.Fatalf("user: %+v %v", admin, err)
		}
		if _, err := svc.CreateUser(ctx, system, "admin@northwind.example", "acme", tenancy.Member, ""); domain.ErrorCode(err) != domain.Conflict {
			t.Errorf("duplicate email: %v, want conflict", err)
		}
		if _, err := svc.CreateUser(ctx, system, "x@acme.example", "acme", tenancy.Member, "short"); domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("short password: %v, want invalid", err)
		}

		if _, _, _, err := svc.Login(ctx, "admin@northwind.example", "wrong password", "192.0.2.1:5000"); domain.ErrorCode(err) != domain.Unauthorized {
			t.Errorf("wrong password: %v", err)
		}
		if _, _, _, err := svc.Login(ctx, "nobody@northwind.example", "correct horse", "192.0.2.1:5000"); domain.ErrorCode(err) != domain.Unauthorized {
			t.Errorf("unknown email: %v", err)
		}
		cookie, sess, p, err := svc.Login(ctx, "ADMIN@northwind.example", "correct horse", "192.0.2.1:5000")
		if err != nil || p.Org.ID != reseller.ID || sess.CSRF == "" {
			t.Fatalf("login: %+v %v", p, err)
		}
		if got, gp, err := svc.SessionPrincipal(ctx, cookie); err != nil || got.CSRF != sess.CSRF || gp.User.ID != admin.ID {
			t.Errorf("session lookup: %v", err)
		}
		if err := svc.Logout(ctx, cookie); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.SessionPrincipal(ctx, cookie); domain.ErrorCode(err) != domain.Unauthorized {
			t.Errorf("after logout: %v, want unauthorized", err)
		}

		token, err := svc.IssueToken(ctx, p, admin, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if tp, err := svc.TokenPrincipal(ctx, token, "192.0.2.1:5000"); err != nil || tp.User.ID != admin.ID {
			t.Errorf("token: %+v %v", tp, err)
		}
		if _, err := svc.TokenPrincipal(ctx, token+"x", "192.0.2.1:5000"); domain.ErrorCode(err) != domain.Unauthorized {
			t.Errorf("bad token: %v", err)
		}

		all, err := rights.Read(ctx, p, "")
		if err != nil || len(all) != 2 || !slices.Contains(all, acme.ID) || slices.Contains(all, direct.ID) {
			t.Errorf("reseller scope %v (%v), want itself and acme only", all, err)
		}
		if one, err := rights.Read(ctx, p, acme.ID); err != nil || len(one) != 1 || one[0] != acme.ID {
			t.Errorf("scope to a customer: %v %v", one, err)
		}
		if _, err := rights.Read(ctx, p, direct.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("scope to a stranger: %v, want not found", err)
		}
		member, _ := svc.CreateUser(ctx, system, "m@acme.example", "acme", tenancy.Member, "")
		mp := tenancy.Principal{User: member, Org: acme}
		if _, err := rights.Read(ctx, mp, reseller.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("customer reading its reseller: %v, want not found", err)
		}
	})
}

package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// fakeSources hands every connector the same months source and remembers
// the secret it was given.
type fakeSources struct {
	src     billing.Source
	secrets []connectors.Secret
}

func (f *fakeSources) Source(_ context.Context, _ connectors.Connector, s connectors.Secret) (billing.Source, error) {
	f.secrets = append(f.secrets, s)
	return f.src, nil
}

func awsInput() connectors.Input {
	return connectors.Input{Provider: connectors.AWS, Name: "Payer CUR", Enabled: true,
		Config: connectors.Config{AWSAccountID: "123456789012", Bucket: "acme-billing", Path: "/cur/", FileType: "cur2"},
		Secret: connectors.Secret{"role_arn": "arn:aws:iam::123456789012:role/TruecostBilling"}}
}

func TestConnectorManagement(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		system := tenancy.SystemPrincipal("test")
		rights := tenancy.NewRights(s)
		ten := tenancy.NewService(s, rights)
		reseller, _ := ten.CreateOrganization(ctx, system, "northwind", "", tenancy.Reseller, "")
		acme, _ := ten.CreateOrganization(ctx, system, "acme", "", tenancy.Customer, "northwind")
		globex, _ := ten.CreateOrganization(ctx, system, "globex", "", tenancy.Customer, "")
		admin, _ := ten.CreateUser(ctx, system, "admin@northwind.example", "northwind", tenancy.Admin, "")
		member, _ := ten.CreateUser(ctx, system, "member@northwind.example", "northwind", tenancy.Member, "")
		asAdmin := tenancy.Principal{User: admin, Org: reseller}
		asMember := tenancy.Principal{User: member, Org: reseller}

		key := make([]byte, 32)
		rand.Read(key)
		sealer, _ := connectors.NewAESSealer(key)
		sep, oct := date("2026-09-01"), date("2026-10-01")
		months := &monthsSource{versions: map[time.Time]string{sep: "a", oct: "b"}, amount: map[time.Time]string{sep: "1", oct: "2"}}
		sources := &fakeSources{src: months}
		m := connectors.NewService(connectors.Deps{Store: s, Rights: rights, Sealer: sealer, Sources: sources,
			Ingester: billing.NewIngester(s, tenancy.NewID), NewID: tenancy.NewID})

		if _, err := m.Create(ctx, asMember, acme.ID, awsInput()); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("member create: %v, want forbidden", err)
		}
		if _, err := m.Create(ctx, asAdmin, globex.ID, awsInput()); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("create for a stranger: %v, want not found", err)
		}
		bad := awsInput()
		bad.Config.AWSAccountID = "12345"
		if _, err := m.Create(ctx, asAdmin, acme.ID, bad); domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), "12 digits") {
			t.Errorf("bad account id: %v", err)
		}
		bad = awsInput()
		bad.Secret = connectors.Secret{"role_arn": "not-an-arn"}
		if _, err := m.Create(ctx, asAdmin, acme.ID, bad); domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("bad role ARN: %v", err)
		}

		c, err := m.Create(ctx, asAdmin, acme.ID, awsInput())
		if err != nil {
			t.Fatal(err)
		}
		if c.Location != "s3://acme-billing/cur" || c.Format != "aws-cur2" || !strings.HasPrefix(c.ExternalID, "truecost-") || !c.HasSecret {
			t.Errorf("created %+v", c)
		}
		if _, err := m.Create(ctx, asAdmin, acme.ID, awsInput()); domain.ErrorCode(err) != domain.Conflict {
			t.Errorf("duplicate location: %v, want conflict", err)
		}
		_, sealed, err := s.Connector(ctx, acme.ID, c.ID)
		if err != nil || len(sealed) == 0 || bytes.Contains(sealed, []byte("TruecostBilling")) {
			t.Errorf("stored secret is not sealed: %q (%v)", sealed, err)
		}
		if !strings.Contains(connectors.AWSTrustPolicy(c.ExternalID, ""), c.ExternalID) {
			t.Error("trust policy lacks the external ID")
		}

		// Renaming without credentials keeps the stored secret.
		in := awsInput()
		in.Name, in.Secret = "Renamed", nil
		if _, err := m.Update(ctx, asAdmin, acme.ID, c.ID, in); err != nil {
			t.Fatal(err)
		}
		res, err := m.Test(ctx, asAdmin, acme.ID, c.ID)
		if err != nil || len(res.Parts) != 2 {
			t.Fatalf("test connection: %+v %v", res, err)
		}
		if got := sources.secrets[len(sources.secrets)-1]["role_arn"]; got != "arn:aws:iam::123456789012:role/TruecostBilling" {
			t.Errorf("source got role %q after rename", got)
		}
		if _, err := m.Sync(ctx, asMember, acme.ID, c.ID, nil); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("member sync: %v, want forbidden", err)
		}
		run, err := m.Sync(ctx, asAdmin, acme.ID, c.ID, nil)
		if err != nil || run.Rows != 6 {
			t.Fatalf("sync: %+v %v", run, err)
		}
		got, err := m.Get(ctx, asMember, acme.ID, c.ID)
		if err != nil || got.Status != connectors.StatusOK || got.LastRows != 6 || !got.LastPeriod.Equal(oct) || got.Name != "Renamed" {
			t.Errorf("after sync: %+v %v", got, err)
		}

		// The scheduled pass skips what synced recently and syncs the rest;
		// it covers every organization, so only the system runs it.
		if _, err := m.SyncAll(ctx, asAdmin, 0); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("admin SyncAll: %v, want forbidden", err)
		}
		rep, err := m.SyncAll(ctx, system, time.Hour)
		if err != nil || rep != (connectors.SyncReport{}) {
			t.Errorf("SyncAll right after a sync: %+v %v", rep, err)
		}
		rep, err = m.SyncAll(ctx, system, 0)
		if err != nil || rep.Unchanged != 1 {
			t.Errorf("SyncAll: %+v %v", rep, err)
		}

		if err := m.Delete(ctx, asMember, acme.ID, c.ID); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("member delete: %v", err)
		}
		if err := m.Delete(ctx, asAdmin, acme.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Get(ctx, asAdmin, acme.ID, c.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("after delete: %v", err)
		}
	})
}

func TestSealerRejectsAnotherKey(t *testing.T) {
	k1, k2 := make([]byte, 32), make([]byte, 32)
	rand.Read(k1)
	rand.Read(k2)
	a, _ := connectors.NewAESSealer(k1)
	b, _ := connectors.NewAESSealer(k2)
	sealed, err := a.Seal([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := a.Open(sealed); err != nil || string(out) != "secret" {
		t.Errorf("round trip: %q %v", out, err)
	}
	if _, err := b.Open(sealed); err == nil {
		t.Error("another key opened the secret")
	}
	if _, err := connectors.NewAESSealer(k1[:16]); domain.ErrorCode(err) != domain.Invalid {
		t.Errorf("short key: %v", err)
	}
}

package awsprovision_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/awsprovision"
	"github.com/truecost/truecost/adapters/awsprovision/awsfake"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

// TestMain keeps the SDK away from the machine's own AWS configuration.
func TestMain(m *testing.M) {
	for k, v := range map[string]string{"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": ""} {
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

// env is one organization's AWS provisioning against a fake control plane.
type env struct {
	t     *testing.T
	ctx   context.Context
	fake  *awsfake.Fake
	prov  *awsprovision.Provisioner
	req   accounts.Request
	names awsprovision.Names
}

func newEnv(t *testing.T, settings accounts.Settings, creds connectors.Secret) *env {
	t.Helper()
	f := awsfake.New(t)
	p := awsprovision.New(awsprovision.Config{Endpoint: f.URL()})
	a := accounts.Account{ID: "acct-1", OrgID: "org-1", Provider: connectors.AWS, Name: "Payer",
		ProviderAccountID: awsfake.AccountID, ExternalID: "tc-external-0001", HasCredentials: true}
	if err := p.Validate(&settings, a); err != nil {
		t.Fatal(err)
	}
	inf := accounts.Infrastructure{ID: "0193f5a2-7c1e-7000-8000-000000000001", OrgID: "org-1", Provider: connectors.AWS,
		AccountID: a.ID, Settings: settings, State: accounts.StateProvisioning}
	return &env{t: t, ctx: context.Background(), fake: f, prov: p,
		req:   accounts.Request{Infra: inf, Account: a, Credentials: creds},
		names: awsprovision.NamesFor(inf, a.ProviderAccountID)}
}

var staticKeys = connectors.Secret{"access_key_id": "AKIAPROVISIONING", "secret_access_key": "provisioning-secret"}

// provision runs the steps not yet in the ledger, as accounts.Service does,
// and stops at the first failure.
func (e *env) provision() error {
	e.t.Helper()
	for _, st := range e.prov.Steps(e.req) {
		if _, done := e.req.Infra.Resource(st.Name); done {
			continue
		}
		r, err := st.Run(e.ctx)
		if err != nil {
			return err
		}
		r.Step, r.At = st.Name, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
		if r.Kind == "" {
			r.Kind = st.Kind
		}
		e.req.Infra.Ledger = append(e.req.Infra.Ledger, r)
	}
	return nil
}

// deprovision removes the Created resources in reverse order, as
// accounts.Service does.
func (e *env) deprovision() error {
	e.t.Helper()
	for i := len(e.req.Infra.Ledger) - 1; i >= 0; i-- {
		r := e.req.Infra.Ledger[i]
		if r.State != accounts.Created {
			continue
		}
		if err := e.prov.Remove(e.ctx, e.req, r); err != nil {
			return err
		}
		e.req.Infra.Ledger[i].State = accounts.Deleted
	}
	return nil
}

func (e *env) resource(step string) accounts.Resource {
	e.t.Helper()
	r, ok := e.req.Infra.Resource(step)
	if !ok {
		e.t.Fatalf("no %s in the ledger", step)
	}
	return r
}

// mark returns how many requests the fake has seen, to read the ones after.
func (e *env) mark() int { return len(e.fake.Requests()) }

func (e *env) since(n int) []awsfake.Call { return e.fake.Requests()[n:] }

// jsonBody encodes v as the fake records bodies: sorted keys.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(back)
	return string(b)
}

// want is one expected request: its operation, what String shows, and
// where it was signed for.
type want struct {
	op, call, region string
}

func assertCalls(t *testing.T, got []awsfake.Call, wants []want) {
	t.Helper()
	for i := 0; i < max(len(got), len(wants)); i++ {
		switch {
		case i >= len(got):
			t.Errorf("request %d: missing, want %s %s", i+1, wants[i].op, wants[i].call)
		case i >= len(wants):
			t.Errorf("request %d: unexpected %s %s", i+1, got[i].Op, got[i])
		default:
			g, w := got[i], wants[i]
			if g.Op != w.op || g.String() != w.call {
				t.Errorf("request %d:\n got %s %s\nwant %s %s", i+1, g.Op, g, w.op, w.call)
			}
			if w.region != "" && g.Region != w.region {
				t.Errorf("request %d (%s) signed for %s, want %s", i+1, g.Op, g.Region, w.region)
			}
		}
	}
}

func opsOf(calls []awsfake.Call) string {
	var ops []string
	for _, c := range calls {
		ops = append(ops, c.Op)
	}
	return strings.Join(ops, " ")
}

// tagEntries is the UpdateCostAllocationTagsStatus body for keys.
func tagEntries(t *testing.T, status string, keys ...string) string {
	var entries []map[string]string
	for _, k := range keys {
		entries = append(entries, map[string]string{"TagKey": k, "Status": status})
	}
	return jsonBody(t, map[string]any{"CostAllocationTagsStatus": entries})
}

package accounts_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// scripted is a Provisioner whose steps succeed unless told to fail once,
// recording what it ran and removed.
type scripted struct {
	mu         sync.Mutex
	steps      []stepSpec
	keep       map[string]bool  // steps that find their resource already there
	failStep   map[string]error // steps that fail on their next run
	failRemove map[string]error // removals that fail on their next call
	ran        []string
	removed    []string
	creds      []connectors.Secret
}

type stepSpec struct{ name, kind string }

func newScripted() *scripted {
	return &scripted{
		steps: []stepSpec{{"bucket", "S3 bucket"}, {"policy", "bucket policy"}, {"export", "cost export"},
			{"tags", "cost allocation tags"}},
		keep:       map[string]bool{"tags": true},
		failStep:   map[string]error{},
		failRemove: map[string]error{},
	}
}

func resourceID(step, infraID string) string { return step + "-" + infraID }

func (p *scripted) Validate(s *accounts.Settings, _ accounts.Account) error {
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	if s.Region == "mars-1" {
		return domain.Errorf(domain.Invalid, "region: mars-1 is not an AWS region")
	}
	if s.ExportType == "" {
		s.ExportType = "cur2"
	}
	return nil
}

func (p *scripted) Steps(req accounts.Request) []accounts.Step {
	out := make([]accounts.Step, 0, len(p.steps))
	for _, st := range p.steps {
		out = append(out, accounts.Step{Name: st.name, Kind: st.kind, Run: func(context.Context) (accounts.Resource, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.ran = append(p.ran, st.name)
			p.creds = append(p.creds, req.Credentials)
			if err := p.failStep[st.name]; err != nil {
				delete(p.failStep, st.name)
				return accounts.Resource{}, err
			}
			r := accounts.Resource{ID: resourceID(st.name, req.Infra.ID), Region: req.Infra.Settings.Region, State: accounts.Created}
			if p.keep[st.name] {
				r.State = accounts.Kept
				r.Items = []accounts.Item{{Name: "Project", State: "active"}, {Name: "User", State: "manual", Note: "activate it in the Billing console"}}
			}
			return r, nil
		}})
	}
	return out
}

func (p *scripted) Remove(_ context.Context, _ accounts.Request, r accounts.Resource) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removed = append(p.removed, r.Step)
	if err := p.failRemove[r.Step]; err != nil {
		delete(p.failRemove, r.Step)
		return err
	}
	return nil
}

func (p *scripted) Connector(req accounts.Request) connectors.Input {
	return connectors.Input{Provider: connectors.AWS, Name: "AWS billing export",
		Config: connectors.Config{AWSAccountID: req.Account.ProviderAccountID, Bucket: "truecost-billing-" + req.Infra.ID,
			Path: "exports", FileType: "focus", Region: req.Infra.Settings.Region},
		Secret: req.Credentials}
}

func (p *scripted) Manual(inf accounts.Infrastructure) []string {
	return []string{"wait for the first export in " + inf.Settings.Region}
}

func (p *scripted) ranSteps() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.ran...)
}

func (p *scripted) removedSteps() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.removed...)
}

// folderSources reads every cloud connector's export from one local
// folder, which exists once the test delivers a file; local connectors read
// their own location.
type folderSources struct {
	mu      sync.Mutex
	root    string
	secrets []connectors.Secret
}

func (f *folderSources) Source(_ context.Context, c connectors.Connector, s connectors.Secret) (billing.Source, error) {
	if c.Provider == connectors.Local {
		return localfiles.New(c.Location, "focus")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets = append(f.secrets, s)
	return localfiles.New(f.root, "focus")
}

// logBuffer collects what the services log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t       *testing.T
	ctx     context.Context
	store   *sqlstore.Store
	svc     *accounts.Service
	conns   *connectors.Service
	aws     *scripted
	sources *folderSources
	clock   *clock
	logs    *logBuffer
	acme    tenancy.Organization
	globex  tenancy.Organization
	// admin and member belong to acme, stranger to globex, reseller to
	// acme's reseller.
	admin, member, stranger, strangerMember, reseller tenancy.Principal
}

// system is the caller the command line and the scheduled jobs act as;
// the tests set up and inspect through it.
var system = tenancy.SystemPrincipal("test")

func newFixture(t *testing.T, s *sqlstore.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	rights := tenancy.NewRights(s)
	ten := tenancy.NewService(s, rights)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	northwind, err := ten.CreateOrganization(ctx, system, "northwind", "", tenancy.Reseller, "")
	must(err)
	acme, err := ten.CreateOrganization(ctx, system, "acme", "", tenancy.Customer, "northwind")
	must(err)
	globex, err := ten.CreateOrganization(ctx, system, "globex", "", tenancy.Customer, "")
	must(err)
	principal := func(email string, org tenancy.Organization, role tenancy.Role) tenancy.Principal {
		u, err := ten.CreateUser(ctx, system, email, org.Slug, role, "")
		must(err)
		return tenancy.Principal{User: u, Org: org}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := connectors.NewAESSealer(key)
	must(err)
	sources := &folderSources{root: filepath.Join(t.TempDir(), "export")}
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	conns := connectors.NewService(connectors.Deps{Store: s, Rights: rights, Sealer: sealer, Sources: sources,
		Ingester: billing.NewIngester(s, tenancy.NewID), NewID: tenancy.NewID, Logger: logger})
	aws := newScripted()
	clk := &clock{t: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	svc := accounts.NewService(accounts.Deps{Store: s, Sealer: sealer, Connectors: conns, Rights: rights,
		Provisioners: map[connectors.Provider]accounts.Provisioner{connectors.AWS: aws}, NewID: tenancy.NewID, Now: clk.Now, Logger: logger})
	return &fixture{t: t, ctx: ctx, store: s, svc: svc, conns: conns, aws: aws, sources: sources, clock: clk, logs: logs,
		acme: acme, globex: globex,
		admin:          principal("admin@acme.example", acme, tenancy.Admin),
		member:         principal("member@acme.example", acme, tenancy.Member),
		stranger:       principal("admin@globex.example", globex, tenancy.Admin),
		strangerMember: principal("member@globex.example", globex, tenancy.Member),
		reseller:       principal("admin@northwind.example", northwind, tenancy.Admin),
	}
}

const payerRole = "arn:aws:iam::111111111111:role/TruecostProvisioning"

func awsInput(name, id string, creds connectors.Secret) accounts.Input {
	return accounts.Input{Provider: connectors.AWS, Name: name, ProviderAccountID: id, Credentials: creds}
}

func (f *fixture) create(in accounts.Input) accounts.Account {
	f.t.Helper()
	a, err := f.svc.Create(f.ctx, f.admin, f.acme.ID, in)
	if err != nil {
		f.t.Fatalf("create %s: %v", in.Name, err)
	}
	return a
}

func (f *fixture) payer() accounts.Account {
	f.t.Helper()
	return f.create(awsInput("Payer", "111111111111", connectors.Secret{"role_arn": payerRole}))
}

func (f *fixture) get(id string) accounts.Account {
	f.t.Helper()
	a, err := f.svc.Get(f.ctx, f.member, f.acme.ID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) provision(a accounts.Account) accounts.Infrastructure {
	f.t.Helper()
	inf, err := f.svc.Provision(f.ctx, f.admin, f.acme.ID, a.ID, accounts.Settings{})
	if err != nil {
		f.t.Fatalf("provision: %v", err)
	}
	return inf
}

func (f *fixture) connectors() []connectors.Connector {
	f.t.Helper()
	cs, err := f.conns.List(f.ctx, system, f.acme.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return cs
}

func (f *fixture) storedInfra() accounts.Infrastructure {
	f.t.Helper()
	inf, err := f.store.Infrastructure(f.ctx, f.acme.ID, connectors.AWS)
	if err != nil {
		f.t.Fatal(err)
	}
	return inf
}

// deliver writes the export the connector reads: one FOCUS file of AWS
// charges, one row per (billing account, sub-account, charge day).
func (f *fixture) deliver(rows ...[3]string) {
	f.t.Helper()
	f.writeFOCUS(filepath.Join(f.sources.root, "cur.csv"), rows...)
}

// writeFOCUS writes a FOCUS file of AWS charges at path, one row per
// (billing account, sub-account, charge day).
func (f *fixture) writeFOCUS(path string, rows ...[3]string) {
	f.t.Helper()
	var b strings.Builder
	b.WriteString("BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ProviderName,BillingAccountId,SubAccountId\n")
	for _, r := range rows {
		day, err := time.Parse(time.DateOnly, r[2])
		if err != nil {
			f.t.Fatal(err)
		}
		month := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
		fmt.Fprintf(&b, "%s,%s,%s,%s,USD,1.25,1.25,AWS,%s,%s\n", month.Format(time.RFC3339), month.AddDate(0, 1, 0).Format(time.RFC3339),
			day.Format(time.RFC3339), day.Add(time.Hour).Format(time.RFC3339), r[0], r[1])
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// ingestLocal loads rows through a local connector of their own, as
// `truecost ingest` does: a connector provisioning did not create.
func (f *fixture) ingestLocal(rows ...[3]string) {
	f.t.Helper()
	path := filepath.Join(f.t.TempDir(), "focus.csv")
	f.writeFOCUS(path, rows...)
	if _, err := f.conns.IngestLocal(f.ctx, f.admin, f.acme.ID, path, "focus", nil); err != nil {
		f.t.Fatalf("ingest %s: %v", path, err)
	}
}

// wantStatus checks the stored status of each account.
func (f *fixture) wantStatus(when string, want accounts.Status, detail string, ids ...string) {
	f.t.Helper()
	for _, id := range ids {
		if got := f.get(id); got.Status != want || !strings.Contains(got.StatusDetail, detail) {
			f.t.Errorf("%s: %s is %s (%q), want %s (%q)", when, got.Name, got.Status, got.StatusDetail, want, detail)
		}
	}
}

func steps(ledger []accounts.Resource) []string {
	var out []string
	for _, r := range ledger {
		out = append(out, r.Step+":"+string(r.State))
	}
	return out
}

func wantCode(t *testing.T, what string, err error, code domain.Code, contains ...string) {
	t.Helper()
	if domain.ErrorCode(err) != code {
		t.Errorf("%s: %v (code %s), want %s", what, err, domain.ErrorCode(err), code)
		return
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("%s: %q does not say %q", what, err, c)
		}
	}
}

func TestProvisionCreatesConnectorAndAccountsFollowTheData(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		payer := f.payer()
		if payer.Status != accounts.Unprovisioned || payer.StatusDetail != "no AWS billing infrastructure or data: provision billing from one AWS account" {
			t.Errorf("new account: %s %q", payer.Status, payer.StatusDetail)
		}
		if !payer.HasCredentials || !strings.HasPrefix(payer.ExternalID, "truecost-") {
			t.Errorf("new account: credentials %v, external ID %q", payer.HasCredentials, payer.ExternalID)
		}

		inf := f.provision(payer)
		if got := f.aws.ranSteps(); !reflect.DeepEqual(got, []string{"bucket", "policy", "export", "tags"}) {
			t.Errorf("steps ran %v, want bucket, policy, export, tags in order", got)
		}
		if got := steps(inf.Ledger); !reflect.DeepEqual(got, []string{"bucket:created", "policy:created", "export:created", "tags:kept"}) {
			t.Errorf("ledger %v", got)
		}
		if inf.State != accounts.StateProvisioned || inf.AccountID != payer.ID || inf.Settings.Region != "us-east-1" ||
			inf.Settings.ExportType != "cur2" || !inf.ProvisionedAt.Equal(f.clock.Now()) {
			t.Errorf("infrastructure %+v", inf)
		}
		if c := f.aws.creds[0]; c["role_arn"] != payerRole {
			t.Errorf("steps got credentials %v, want the payer's role", c)
		}
		if stored := f.storedInfra(); !reflect.DeepEqual(steps(stored.Ledger), steps(inf.Ledger)) || stored.ConnectorID != inf.ConnectorID ||
			stored.Ledger[3].Items[1].Note != "activate it in the Billing console" {
			t.Errorf("stored infrastructure %+v", stored)
		}
		cs := f.connectors()
		if len(cs) != 1 || cs[0].ID != inf.ConnectorID || !cs[0].Enabled || cs[0].Provider != connectors.AWS ||
			cs[0].Location != "s3://truecost-billing-"+inf.ID+"/exports" || !cs[0].HasSecret {
			t.Fatalf("connectors %+v, want the export's connector", cs)
		}
		if m := f.svc.Manual(inf); len(m) != 1 {
			t.Errorf("manual steps %v", m)
		}
		payer = f.get(payer.ID)
		if payer.Status != accounts.Checking || payer.StatusDetail != "export created less than a minute ago, first delivery pending" {
			t.Errorf("after provisioning: %s %q", payer.Status, payer.StatusDetail)
		}

		_, err := f.svc.Provision(f.ctx, f.admin, f.acme.ID, payer.ID, accounts.Settings{})
		wantCode(t, "provision twice", err, domain.Conflict, "already provisioned")

		// A second AWS account is covered by the same export without being
		// provisioned itself.
		workloads := f.create(awsInput("Workloads", "222222222222", connectors.Secret{"role_arn": "arn:aws:iam::222222222222:role/Truecost"}))
		if workloads.Status != accounts.Checking {
			t.Errorf("second account: %s %q, want checking", workloads.Status, workloads.StatusDetail)
		}
		_, err = f.svc.Provision(f.ctx, f.admin, f.acme.ID, workloads.ID, accounts.Settings{})
		wantCode(t, "provision from the second account", err, domain.Conflict, "already provisioned")

		f.clock.Advance(3 * time.Hour)
		rep, err := f.svc.CheckAll(f.ctx, system)
		if err != nil || rep != (accounts.CheckReport{Organizations: 1, Accounts: 2}) {
			t.Errorf("check with no data: %+v %v", rep, err)
		}
		if got := f.get(workloads.ID); got.StatusDetail != "export created 3 h ago, first delivery pending" || !got.LastCheckedAt.Equal(f.clock.Now()) {
			t.Errorf("checking detail %q checked at %s", got.StatusDetail, got.LastCheckedAt)
		}
		f.clock.Advance(50 * time.Hour)
		if _, err := f.svc.CheckAll(f.ctx, system); err != nil {
			t.Fatal(err)
		}
		if got := f.get(workloads.ID); got.StatusDetail != "export created 2 days ago, first delivery pending" {
			t.Errorf("checking detail after 53 h: %q", got.StatusDetail)
		}

		// The export delivers charges of the second account; the hourly sync
		// loads them and the hourly check finds them.
		f.deliver([3]string{"111111111111", "222222222222", "2026-11-20"}, [3]string{"111111111111", "222222222222", "2026-11-21"})
		if rep, err := f.conns.SyncAll(f.ctx, system, 0); err != nil || rep.Synced != 1 {
			t.Fatalf("connector sync: %+v %v", rep, err)
		}
		rep, err = f.svc.CheckAll(f.ctx, system)
		if err != nil || rep != (accounts.CheckReport{Organizations: 1, Accounts: 2, Changed: 2}) {
			t.Errorf("check with data: %+v %v", rep, err)
		}
		for _, id := range []string{payer.ID, workloads.ID} {
			got := f.get(id)
			if got.Status != accounts.Provisioned || got.StatusDetail != "billing data found, latest charge day 2026-11-21" ||
				!got.StatusSince.Equal(f.clock.Now()) {
				t.Errorf("%s after data: %s %q since %s", got.Name, got.Status, got.StatusDetail, got.StatusSince)
			}
		}
		if got := f.aws.ranSteps(); len(got) != 4 {
			t.Errorf("the check provisioned again: %v", got)
		}
		if secrets := f.sources.secrets; len(secrets) == 0 || secrets[0]["role_arn"] != payerRole {
			t.Errorf("the connector read with %v, want the payer's role", secrets)
		}

		// Checking again changes nothing and records no history.
		f.clock.Advance(time.Hour)
		if rep, err := f.svc.CheckAll(f.ctx, system); err != nil || rep.Changed != 0 {
			t.Errorf("repeated check: %+v %v", rep, err)
		}
		hist, err := f.svc.History(f.ctx, f.member, f.acme.ID, workloads.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var changes []string
		for _, h := range hist {
			changes = append(changes, string(h.From)+"->"+string(h.To))
		}
		if !reflect.DeepEqual(changes, []string{"checking->provisioned", "unprovisioned->checking"}) {
			t.Errorf("history newest first %v", changes)
		}
		if hist[0].Detail != "billing data found, latest charge day 2026-11-21" {
			t.Errorf("history detail %q", hist[0].Detail)
		}

		// The account that provisioned billing stays while it is active.
		wantCode(t, "delete the provisioning account", f.svc.Delete(f.ctx, f.admin, f.acme.ID, payer.ID), domain.Conflict, "deprovision billing before removing it")
		if err := f.svc.Delete(f.ctx, f.admin, f.acme.ID, workloads.ID); err != nil {
			t.Errorf("delete another account: %v", err)
		}
	})
}

func TestProvisionResumesAtTheFailedStep(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t))
	payer := f.payer()
	_, err := f.svc.Provision(f.ctx, f.admin, f.acme.ID, payer.ID, accounts.Settings{Region: "mars-1"})
	wantCode(t, "bad region", err, domain.Invalid, "mars-1")
	if _, err := f.store.Infrastructure(f.ctx, f.acme.ID, connectors.AWS); !domain.IsNotFound(err) {
		t.Errorf("invalid settings left infrastructure behind: %v", err)
	}

	f.aws.failStep["export"] = domain.Errorf(domain.Forbidden, "access denied to bucket truecost-billing")
	inf, err := f.svc.Provision(f.ctx, f.admin, f.acme.ID, payer.ID, accounts.Settings{Region: "eu-west-1"})
	wantCode(t, "failed provisioning", err, domain.Forbidden,
		"provisioning AWS billing stopped at cost export: access denied to bucket truecost-billing; try again")
	if inf.State != accounts.StateFailed || !reflect.DeepEqual(steps(inf.Ledger), []string{"bucket:created", "policy:created"}) {
		t.Errorf("after failure: %s %v", inf.State, steps(inf.Ledger))
	}
	stored := f.storedInfra()
	if stored.State != accounts.StateFailed || stored.Error != "cost export: access denied to bucket truecost-billing" || len(stored.Ledger) != 2 {
		t.Errorf("stored after failure: %+v", stored)
	}
	if cs := f.connectors(); len(cs) != 0 {
		t.Errorf("a failed provisioning created connectors %+v", cs)
	}
	if _, err := f.svc.CheckAll(f.ctx, system); err != nil {
		t.Fatal(err)
	}
	if got := f.get(payer.ID); got.Status != accounts.Unprovisioned ||
		got.StatusDetail != "provisioning stopped at cost export: access denied to bucket truecost-billing; provision again to continue" {
		t.Errorf("status after failure: %s %q", got.Status, got.StatusDetail)
	}

	// Another account cannot take over a half-done provisioning.
	other := f.create(awsInput("Other payer", "333333333333", connectors.Secret{"access_key_id": "AKIAEXAMPLE", "secret_access_key": "s3cr3t"}))
	_, err = f.svc.Provision(f.ctx, f.admin, f.acme.ID, other.ID, accounts.Settings{})
	wantCode(t, "provision from another account", err, domain.Conflict, "started from another account")

	before := len(f.aws.ranSteps())
	f.clock.Advance(time.Minute)
	inf, err = f.svc.Provision(f.ctx, f.admin, f.acme.ID, payer.ID, accounts.Settings{Region: "ignored-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.aws.ranSteps()[before:]; !reflect.DeepEqual(got, []string{"export", "tags"}) {
		t.Errorf("retry ran %v, want export and tags only", got)
	}
	if inf.ID != stored.ID || inf.State != accounts.StateProvisioned || inf.Error != "" || inf.Settings.Region != "eu-west-1" {
		t.Errorf("after retry: %+v", inf)
	}
	if got := steps(inf.Ledger); !reflect.DeepEqual(got, []string{"bucket:created", "policy:created", "export:created", "tags:kept"}) {
		t.Errorf("ledger after retry %v", got)
	}
	if inf.Ledger[0].ID != resourceID("bucket", inf.ID) || !inf.Ledger[2].At.After(inf.Ledger[1].At) {
		t.Errorf("ledger entries %+v", inf.Ledger)
	}
	if cs := f.connectors(); len(cs) != 1 || cs[0].ID != inf.ConnectorID {
		t.Errorf("connectors after retry %+v", cs)
	}
}

func TestDeprovisionRemovesWhatWasCreatedInReverse(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		payer := f.payer()
		first := f.provision(payer)
		workloads := f.create(awsInput("Workloads", "222222222222", nil))

		_, err := f.svc.Deprovision(f.ctx, f.admin, f.acme.ID, connectors.AWS, false)
		wantCode(t, "deprovision without confirming", err, domain.Conflict,
			"Every AWS account of this organization (2: Payer, Workloads) will stop receiving billing data", "Confirm")
		if removed := f.aws.removedSteps(); len(removed) != 0 || f.storedInfra().State != accounts.StateProvisioned {
			t.Errorf("unconfirmed deprovision removed %v", removed)
		}
		warning, err := f.svc.DeprovisionWarning(f.ctx, f.member, f.acme.ID, connectors.AWS)
		if err != nil || !strings.Contains(warning, "disables its connector") {
			t.Errorf("warning for a member: %q %v", warning, err)
		}

		// An error without a code becomes Unavailable (trying again may
		// work); users see the safe message, the log the whole chain.
		f.aws.failRemove["policy"] = errors.New("throttled")
		inf, err := f.svc.Deprovision(f.ctx, f.admin, f.acme.ID, connectors.AWS, true)
		wantCode(t, "failed deprovisioning", err, domain.Unavailable,
			"deprovisioning AWS billing stopped at bucket policy "+resourceID("policy", first.ID)+": internal error; try again")
		if strings.Contains(err.Error(), "throttled") || strings.Contains(f.storedInfra().Error, "throttled") {
			t.Errorf("the raw cause reached users: %q, stored %q", err, f.storedInfra().Error)
		}
		if logged := f.logs.String(); !strings.Contains(logged, "throttled") || !strings.Contains(logged, "policy-"+first.ID) {
			t.Errorf("the log lacks the cause and the step: %s", logged)
		}
		if inf.State != accounts.StateDeprovisionFailed || !reflect.DeepEqual(steps(inf.Ledger),
			[]string{"bucket:created", "policy:created", "export:deleted", "tags:kept"}) {
			t.Errorf("after failed deprovisioning: %s %v", inf.State, steps(inf.Ledger))
		}
		if cs := f.connectors(); len(cs) != 1 || cs[0].Enabled {
			t.Errorf("connector after deprovisioning started: %+v", cs)
		}
		_, err = f.svc.Provision(f.ctx, f.admin, f.acme.ID, payer.ID, accounts.Settings{})
		wantCode(t, "provision during deprovisioning", err, domain.Conflict, "deprovision again first")
		if _, err := f.svc.CheckAll(f.ctx, system); err != nil {
			t.Fatal(err)
		}
		if got := f.get(workloads.ID); got.Status != accounts.Unprovisioned || got.StatusDetail != "AWS billing is being deprovisioned" {
			t.Errorf("status while deprovisioning: %s %q", got.Status, got.StatusDetail)
		}

		f.clock.Advance(time.Minute)
		inf, err = f.svc.Deprovision(f.ctx, f.admin, f.acme.ID, connectors.AWS, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.aws.removedSteps(); !reflect.DeepEqual(got, []string{"export", "policy", "policy", "bucket"}) {
			t.Errorf("removed %v, want export, policy (failed), policy, bucket; never the kept tags", got)
		}
		if inf.State != accounts.StateDeprovisioned || !reflect.DeepEqual(steps(inf.Ledger),
			[]string{"bucket:deleted", "policy:deleted", "export:deleted", "tags:kept"}) {
			t.Errorf("after deprovisioning: %s %v", inf.State, steps(inf.Ledger))
		}
		for _, r := range f.storedInfra().Ledger {
			if (r.State == accounts.Deleted) == r.DeletedAt.IsZero() {
				t.Errorf("ledger entry %s %s deleted at %s", r.Step, r.State, r.DeletedAt)
			}
		}
		for _, id := range []string{payer.ID, workloads.ID} {
			got := f.get(id)
			if got.Status != accounts.Unprovisioned || got.StatusDetail != "AWS billing was deprovisioned; provision billing to collect data again" {
				t.Errorf("%s after deprovisioning: %s %q", got.Name, got.Status, got.StatusDetail)
			}
		}
		_, err = f.svc.Deprovision(f.ctx, f.admin, f.acme.ID, connectors.AWS, true)
		wantCode(t, "deprovision twice", err, domain.NotFound, "not provisioned")

		// Provisioning again starts a new ledger and re-enables the same
		// connector.
		_, err = f.svc.Provision(f.ctx, f.admin, f.acme.ID, workloads.ID, accounts.Settings{})
		wantCode(t, "provision from an account without credentials", err, domain.Invalid, "no credentials")
		again := f.provision(payer)
		if again.ID == first.ID || again.ConnectorID != first.ConnectorID || len(again.Ledger) != 4 || again.Ledger[0].State != accounts.Created {
			t.Errorf("provisioned again: %+v (first %s, connector %s)", again, first.ID, first.ConnectorID)
		}
		if cs := f.connectors(); len(cs) != 1 || !cs[0].Enabled || cs[0].Location != "s3://truecost-billing-"+again.ID+"/exports" {
			t.Errorf("connector after provisioning again: %+v", cs)
		}
		if got := f.get(payer.ID); got.Status != accounts.Checking {
			t.Errorf("status after provisioning again: %s", got.Status)
		}

		if _, err := f.svc.Deprovision(f.ctx, f.admin, f.acme.ID, connectors.AWS, true); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Delete(f.ctx, f.admin, f.acme.ID, payer.ID); err != nil {
			t.Errorf("delete the provisioning account after deprovisioning: %v", err)
		}
	})
}

func TestOnlyAdminsOfTheOrganizationChangeAnything(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t))
	payer := f.payer()
	in := awsInput("Another", "444444444444", nil)

	for _, p := range []struct {
		name string
		who  tenancy.Principal
		org  string
		code domain.Code
	}{
		{"member", f.member, f.acme.ID, domain.Forbidden},
		{"member of another organization", f.strangerMember, f.acme.ID, domain.Forbidden},
		{"admin of another organization", f.stranger, f.acme.ID, domain.NotFound},
		// Acting in its own organization on another's account ID.
		{"admin of another organization in its own", f.stranger, f.globex.ID, domain.NotFound},
	} {
		check := func(op string, err error) {
			t.Helper()
			if domain.ErrorCode(err) != p.code {
				t.Errorf("%s %s: %v, want %s", p.name, op, err, p.code)
			}
		}
		if p.org != f.globex.ID { // creating in its own organization is allowed
			_, err := f.svc.Create(f.ctx, p.who, p.org, in)
			check("create", err)
			_, err = f.svc.CheckNow(f.ctx, p.who, p.org)
			check("check now", err)
			_, err = f.svc.Deprovision(f.ctx, p.who, p.org, connectors.AWS, true)
			check("deprovision", err)
		}
		_, err := f.svc.Update(f.ctx, p.who, p.org, payer.ID, awsInput("Renamed", "111111111111", nil))
		check("update", err)
		check("delete", f.svc.Delete(f.ctx, p.who, p.org, payer.ID))
		_, err = f.svc.Provision(f.ctx, p.who, p.org, payer.ID, accounts.Settings{})
		check("provision", err)
		if p.code == domain.NotFound {
			_, err = f.svc.Get(f.ctx, p.who, p.org, payer.ID)
			check("get", err)
			_, err = f.svc.History(f.ctx, p.who, p.org, payer.ID, 10)
			check("history", err)
		}
	}
	if _, err := f.svc.List(f.ctx, f.stranger, f.acme.ID); domain.ErrorCode(err) != domain.NotFound {
		t.Errorf("stranger lists acme's accounts: %v", err)
	}
	if list, err := f.svc.List(f.ctx, f.stranger, f.globex.ID); err != nil || len(list) != 0 {
		t.Errorf("stranger's own list: %+v %v", list, err)
	}

	// Members read.
	if list, err := f.svc.List(f.ctx, f.member, f.acme.ID); err != nil || len(list) != 1 {
		t.Errorf("member list: %+v %v", list, err)
	}
	if _, err := f.svc.Infrastructure(f.ctx, f.member, f.acme.ID); err != nil {
		t.Errorf("member infrastructure: %v", err)
	}
	if _, err := f.svc.History(f.ctx, f.member, f.acme.ID, payer.ID, 10); err != nil {
		t.Errorf("member history: %v", err)
	}
	// The hourly check covers every organization: the system's alone.
	for _, p := range []tenancy.Principal{f.admin, f.reseller} {
		if _, err := f.svc.CheckAll(f.ctx, p); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("%s checks every organization: %v, want forbidden", p, err)
		}
	}
	// Nothing changed.
	if got := f.get(payer.ID); got.Name != "Payer" {
		t.Errorf("payer renamed to %q", got.Name)
	}
	if len(f.aws.ranSteps()) != 0 {
		t.Errorf("someone provisioned: %v", f.aws.ranSteps())
	}

	// The reseller's admins manage their customers' accounts.
	if _, err := f.svc.Update(f.ctx, f.reseller, f.acme.ID, payer.ID, awsInput("Payer (managed)", "111111111111", nil)); err != nil {
		t.Errorf("reseller admin update: %v", err)
	}
}

func TestCredentialsAreSealedAndNeverReturned(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t))
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	a := f.create(awsInput("Keys", "555555555555", connectors.Secret{"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": secret}))
	for _, got := range []accounts.Account{a, f.get(a.ID)} {
		if s := fmt.Sprintf("%#v", got); strings.Contains(s, secret) || strings.Contains(s, "AKIAIOSFODNN7EXAMPLE") || !got.HasCredentials {
			t.Errorf("account shows its credentials or lacks the flag: %s", s)
		}
	}
	_, sealed, err := f.store.Account(f.ctx, f.acme.ID, a.ID)
	if err != nil || len(sealed) == 0 || bytes.Contains(sealed, []byte(secret)) || bytes.Contains(sealed, []byte("AKIA")) {
		t.Errorf("stored credentials are not sealed: %q %v", sealed, err)
	}

	// Updating without credentials keeps them; given ones merge in.
	if _, err := f.svc.Update(f.ctx, f.admin, f.acme.ID, a.ID, awsInput("Keys renamed", "555555555555", nil)); err != nil {
		t.Fatal(err)
	}
	_, after, _ := f.store.Account(f.ctx, f.acme.ID, a.ID)
	if !bytes.Equal(after, sealed) {
		t.Error("a rename resealed the credentials")
	}
	if _, err := f.svc.Update(f.ctx, f.admin, f.acme.ID, a.ID,
		awsInput("Keys renamed", "555555555555", connectors.Secret{"role_arn": "arn:aws:iam::555555555555:role/Truecost"})); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Provision(f.ctx, f.admin, f.acme.ID, a.ID, accounts.Settings{}); err != nil {
		t.Fatal(err)
	}
	if c := f.aws.creds[0]; c["secret_access_key"] != secret || c["role_arn"] != "arn:aws:iam::555555555555:role/Truecost" {
		t.Errorf("provisioning got credentials %v, want the merged ones", c)
	}

	_, err = f.svc.Update(f.ctx, f.admin, f.acme.ID, a.ID, accounts.Input{Provider: connectors.GCP, Name: "x", ProviderAccountID: "acme-prod-1"})
	wantCode(t, "change of provider", err, domain.Invalid, "provider cannot change")
	_, err = f.svc.Create(f.ctx, f.admin, f.acme.ID, awsInput("Short", "12345", nil))
	wantCode(t, "bad AWS account ID", err, domain.Invalid, "12 digits")
	_, err = f.svc.Create(f.ctx, f.admin, f.acme.ID, awsInput("Twice", "555555555555", nil))
	wantCode(t, "duplicate account", err, domain.Conflict, "an AWS account 555555555555 already exists")
}

func TestProvidersWithoutProvisioning(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t))
	oci := f.create(accounts.Input{Provider: connectors.OCI, Name: "Tenancy", ProviderAccountID: "ocid1.tenancy.oc1..aaaaaaaaexample",
		Credentials: connectors.Secret{"user_ocid": "ocid1.user.oc1..aaaaaaaauser", "private_key": "-----BEGIN PRIVATE KEY-----"}})
	if oci.Status != accounts.Unprovisioned || !strings.Contains(oci.StatusDetail, "add the policy statements and an OCI billing connector") {
		t.Errorf("OCI account: %s %q", oci.Status, oci.StatusDetail)
	}
	_, err := f.svc.Provision(f.ctx, f.admin, f.acme.ID, oci.ID, accounts.Settings{})
	wantCode(t, "provision OCI", err, domain.Invalid, "nothing to provision")
	_, err = f.svc.Deprovision(f.ctx, f.admin, f.acme.ID, connectors.OCI, true)
	wantCode(t, "deprovision OCI", err, domain.Invalid, "nothing to provision")

	azure := f.create(accounts.Input{Provider: connectors.Azure, Name: "Subscription", ProviderAccountID: "8A93B2C1-1234-4ABC-9DEF-0123456789AB",
		Credentials: connectors.Secret{"tenant_id": "t", "client_id": "c", "client_secret": "s"}})
	if azure.ProviderAccountID != "8a93b2c1-1234-4abc-9def-0123456789ab" {
		t.Errorf("subscription ID stored as %q", azure.ProviderAccountID)
	}
	_, err = f.svc.Provision(f.ctx, f.admin, f.acme.ID, azure.ID, accounts.Settings{})
	wantCode(t, "provision Azure without its provisioner", err, domain.Unavailable, "Azure provisioning is not configured")
}

func TestCheckNowSyncsConnectorsAndShowsTheirFailure(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t))
	payer := f.payer()
	f.provision(payer)

	// Nothing delivered yet: the connector's sync fails and says why.
	list, err := f.svc.CheckNow(f.ctx, f.admin, f.acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != accounts.Checking || !strings.HasPrefix(list[0].StatusDetail, "connector AWS billing export: cannot read source") {
		t.Errorf("check before delivery: %+v", list)
	}

	f.deliver([3]string{"999999999999", "111111111111", "2026-11-19"})
	list, err = f.svc.CheckNow(f.ctx, f.admin, f.acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != accounts.Provisioned || list[0].StatusDetail != "billing data found, latest charge day 2026-11-19" {
		t.Errorf("check after delivery: %+v", list)
	}
	if got := f.get(payer.ID); got.Status != accounts.Provisioned || !got.LastCheckedAt.Equal(f.clock.Now()) {
		t.Errorf("stored after check: %s checked %s", got.Status, got.LastCheckedAt)
	}
}

func TestDeprovisionAfterAFailedFirstStepKeepsAccountsWhoseDataArrives(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		payer := f.payer()
		workloads := f.create(awsInput("Workloads", "222222222222", nil))
		f.ingestLocal([3]string{"999999999999", "111111111111", "2026-11-18"}, [3]string{"999999999999", "222222222222", "2026-11-19"})
		if _, err := f.svc.CheckNow(f.ctx, f.admin, f.acme.ID); err != nil {
			t.Fatal(err)
		}
		f.wantStatus("data through a local connector", accounts.Provisioned, "billing data found", payer.ID, workloads.ID)

		f.aws.failStep["bucket"] = domain.Errorf(domain.Forbidden, "access denied to s3:CreateBucket")
		_, err := f.svc.Provision(f.ctx, f.admin, f.acme.ID, payer.ID, accounts.Settings{})
		wantCode(t, "provisioning failing at its first step", err, domain.Forbidden, "access denied")
		if inf := f.storedInfra(); inf.State != accounts.StateFailed || len(inf.Ledger) != 0 || inf.ConnectorID != "" {
			t.Fatalf("after the failed first step: %s, ledger %v, connector %q", inf.State, steps(inf.Ledger), inf.ConnectorID)
		}
		f.wantStatus("after the failed provisioning", accounts.Provisioned, "latest charge day", payer.ID, workloads.ID)

		inf, err := f.svc.Deprovision(f.ctx, f.admin, f.acme.ID, connectors.AWS, true)
		if err != nil || inf.State != accounts.StateDeprovisioned {
			t.Fatalf("deprovision: %s %v", inf.State, err)
		}
		f.wantStatus("after deprovisioning", accounts.Provisioned, "2026-11-1", payer.ID, workloads.ID)

		// A state recorded wrong by an earlier version is corrected by Check
		// now and by the pass every start and every hour runs.
		wrong := func() {
			for _, id := range []string{payer.ID, workloads.ID} {
				if err := s.RecordStatus(f.ctx, f.acme.ID, id, accounts.StatusUpdate{Status: accounts.Unprovisioned,
					Detail: "AWS billing was deprovisioned; data through 2026-11-19 is kept", At: f.clock.Now()}); err != nil {
					t.Fatal(err)
				}
			}
		}
		wrong()
		if _, err := f.svc.CheckNow(f.ctx, f.admin, f.acme.ID); err != nil {
			t.Fatal(err)
		}
		f.wantStatus("after Check now", accounts.Provisioned, "billing data found", payer.ID, workloads.ID)
		wrong()
		if _, err := f.svc.CheckAll(f.ctx, system); err != nil {
			t.Fatal(err)
		}
		f.wantStatus("after the status pass", accounts.Provisioned, "billing data found", payer.ID, workloads.ID)
	})
}

func TestDeprovisionStopsOnlyTheAccountsItsConnectorDelivered(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		payer := f.payer()
		workloads := f.create(awsInput("Workloads", "222222222222", nil))
		f.provision(payer)
		f.deliver([3]string{"999999999999", "111111111111", "2026-11-19"})
		f.ingestLocal([3]string{"888888888888", "222222222222", "2026-11-20"})
		if _, err := f.svc.CheckNow(f.ctx, f.admin, f.acme.ID); err != nil {
			t.Fatal(err)
		}
		f.wantStatus("both delivering", accounts.Provisioned, "billing data found", payer.ID, workloads.ID)

		if _, err := f.svc.Deprovision(f.ctx, f.admin, f.acme.ID, connectors.AWS, true); err != nil {
			t.Fatal(err)
		}
		f.wantStatus("data only through the removed export", accounts.Unprovisioned,
			"AWS billing was deprovisioned; data through 2026-11-19 is kept", payer.ID)
		f.wantStatus("data through its own connector", accounts.Provisioned, "latest charge day 2026-11-20", workloads.ID)
	})
}

package exports_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/tenancy"
)

var system = tenancy.SystemPrincipal("test")

// memSink is a bucket in memory; fail, when set, is the error of every
// write.
type memSink struct {
	mu      sync.Mutex
	objects map[string][]byte
	fail    error
	problem exports.Problem
}

func (m *memSink) Open(context.Context, exports.Destination, exports.Access) (exports.Sink, error) {
	return m, nil
}

func (m *memSink) Verify(ctx context.Context, key string) exports.Verification {
	if m.problem != "" {
		return exports.Verification{Problem: m.problem, Message: "refused: " + string(m.problem)}
	}
	return exports.Verification{OK: true}
}

func (m *memSink) Put(_ context.Context, key, _ string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.objects[key] = append([]byte(nil), body...)
	return nil
}

func (m *memSink) Create(ctx context.Context, key, ct string) (exports.Object, error) {
	return &memObject{sink: m, key: key}, nil
}

type memObject struct {
	bytes.Buffer
	sink *memSink
	key  string
}

func (o *memObject) Close() error { return o.sink.Put(context.Background(), o.key, "", o.Bytes()) }
func (o *memObject) Abort()       {}

type world struct {
	store                *sqlstore.Store
	svc                  *exports.Service
	sink                 *memSink
	reseller, acme, beta tenancy.Organization
	resAdmin, acmeAdmin  tenancy.Principal
	acmeMember           tenancy.Principal
	acct                 string
	now                  time.Time
	closed               map[string]bool
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	s := sqltest.SQLite(t)
	rights := tenancy.NewRights(s)
	ten := tenancy.NewService(s, rights)
	w := &world{store: s, sink: &memSink{objects: map[string][]byte{}}, now: time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC),
		closed: map[string]bool{}}
	var err error
	must := func(o tenancy.Organization, err error) tenancy.Organization {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	w.reseller = must(ten.CreateOrganization(ctx, system, "resco", "", tenancy.Reseller, ""))
	w.acme = must(ten.CreateOrganization(ctx, system, "acme", "", tenancy.Customer, "resco"))
	w.beta = must(ten.CreateOrganization(ctx, system, "beta", "", tenancy.Customer, ""))
	w.resAdmin = tenancy.Principal{Org: w.reseller, User: tenancy.User{ID: "r", OrgID: w.reseller.ID, Role: tenancy.Admin}}
	w.acmeAdmin = tenancy.Principal{Org: w.acme, User: tenancy.User{ID: "a", OrgID: w.acme.ID, Role: tenancy.Admin}}
	w.acmeMember = tenancy.Principal{Org: w.acme, User: tenancy.User{ID: "m", OrgID: w.acme.ID, Role: tenancy.Member}}
	sealer, err := connectors.NewAESSealer(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := connectors.SealSecret(sealer, connectors.Secret{"role_arn": "arn:aws:iam::123456789012:role/x"})
	w.acct = tenancy.NewID()
	for _, org := range []string{w.reseller.ID, w.acme.ID} {
		if err := s.CreateAccount(ctx, accounts.Account{ID: w.acct, OrgID: org, Provider: connectors.AWS, Name: "payer",
			ProviderAccountID: "123456789012", Status: accounts.Unprovisioned, CreatedAt: w.now}, sealed); err != nil {
			t.Fatal(err)
		}
	}
	w.svc = exports.NewService(exports.Deps{Store: s, Orgs: s, Rights: rights, Accounts: s, Connectors: s, Sealer: sealer,
		Sinks: w.sink, Formats: exports.Layouts{focusfile.Layout{}, awsbilling.CURLayout{}}, NewID: tenancy.NewID,
		Now: func() time.Time { return w.now },
		Closed: func(_ context.Context, org string, m time.Time) (bool, error) {
			return w.closed[org+m.Format("2006-01")], nil
		}})
	return w
}

// ingest loads the FOCUS sample (four providers, September 2024) into acme
// and tells the service, as the ingester's observer does.
func (w *world) ingest(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	path, _ := filepath.Abs(filepath.Join("..", "..", "adapters", "sqlstore", "testdata", "focus-1.2-sample.csv"))
	c := connectors.Connector{ID: tenancy.NewID(), OrgID: w.acme.ID, Provider: connectors.Local, Name: "sample", Location: path,
		Format: "focus", Enabled: true, Status: connectors.StatusNew, CreatedAt: w.now}
	if err := w.store.CreateConnector(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	src, err := localfiles.New(path, "focus")
	if err != nil {
		t.Fatal(err)
	}
	run, err := billing.NewIngester(w.store, tenancy.NewID).Observe(w.svc).Ingest(ctx, billing.IngestRequest{OrgID: w.acme.ID, ConnectorID: c.ID, Source: src})
	if err != nil || run.Status != billing.RunSucceeded {
		t.Fatalf("ingest: %v %s", err, run.Status)
	}
}

func s3In(bucket string) exports.Input {
	return exports.Input{Enabled: true, Providers: []connectors.Provider{connectors.AWS, connectors.Azure},
		Destination: exports.Destination{Kind: exports.S3, Bucket: bucket}}
}

func TestConfigurationRights(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in := s3In("acme-exports")
	in.Destination.AccountID = w.acct
	cases := []struct {
		name string
		p    tenancy.Principal
		org  string
		in   exports.Input
		want domain.Code
	}{
		{"a member changes nothing", w.acmeMember, w.acme.ID, in, domain.Forbidden},
		{"another organization is not found", w.acmeAdmin, w.beta.ID, in, domain.NotFound},
		{"a reseller does not reach a direct customer", w.resAdmin, w.beta.ID, in, domain.NotFound},
		{"a resold customer exports at resale only", w.acmeAdmin, w.acme.ID, func() exports.Input { i := in; i.Basis = exports.AtCost; return i }(), domain.Invalid},
		{"a bucket name is checked", w.acmeAdmin, w.acme.ID, func() exports.Input { i := in; i.Destination.Bucket = "Bad_Bucket"; return i }(), domain.Invalid},
		{"a prefix may not climb", w.acmeAdmin, w.acme.ID, func() exports.Input { i := in; i.Destination.Prefix = "a/../b"; return i }(), domain.Invalid},
		{"S3 needs an account", w.acmeAdmin, w.acme.ID, func() exports.Input { i := in; i.Destination.AccountID = ""; return i }(), domain.Invalid},
		{"no provider", w.acmeAdmin, w.acme.ID, func() exports.Input { i := in; i.Providers = nil; return i }(), domain.Invalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := w.svc.Save(ctx, c.p, c.org, c.in); domain.ErrorCode(err) != c.want {
				t.Errorf("got %v, want %s", err, c.want)
			}
		})
	}
	// The customer's admin and its reseller's both may; the basis is resale.
	for _, p := range []tenancy.Principal{w.acmeAdmin, w.resAdmin} {
		c, v, err := w.svc.Save(ctx, p, w.acme.ID, in)
		if err != nil || !v.OK || c.Basis != exports.AtResale || c.VerifiedAt.IsZero() {
			t.Errorf("%s saves acme's export: %+v %+v %v", p.Org.Slug, c, v, err)
		}
	}
	// A destination that does not verify cannot be turned on, but can be kept off.
	w.sink.problem = exports.AccessDenied
	if _, v, err := w.svc.Save(ctx, w.acmeAdmin, w.acme.ID, in); domain.ErrorCode(err) != domain.Invalid || v.Problem != exports.AccessDenied {
		t.Errorf("unverified save: %v %+v", err, v)
	}
	off := in
	off.Enabled = false
	if _, _, err := w.svc.Save(ctx, w.acmeAdmin, w.acme.ID, off); err != nil {
		t.Errorf("saving a disabled export: %v", err)
	}
	if cs, err := w.svc.Configs(ctx, w.acmeMember, ""); err != nil || len(cs) != 3 {
		t.Errorf("member lists %d configurations (%v), want 3", len(cs), err)
	}
	if _, err := w.svc.WriteQueued(ctx, w.resAdmin, 1); domain.ErrorCode(err) != domain.Forbidden {
		t.Errorf("a user writing the queue: %v, want forbidden", err)
	}
}

func TestIngestionQueuesEachProviderAndMonthOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in := s3In("reseller-exports")
	in.Destination.AccountID, in.Basis, in.Format = w.acct, exports.AtCost, exports.FOCUS
	if _, _, err := w.svc.Save(ctx, w.resAdmin, w.reseller.ID, in); err != nil {
		t.Fatal(err)
	}
	w.ingest(t)
	// A FOCUS source may hold any provider: each configured one is queued.
	n, err := w.svc.WriteQueued(ctx, system, 100)
	if err != nil || n != 2 {
		t.Fatalf("wrote %d (%v), want AWS and Azure for September", n, err)
	}
	runs, _ := w.svc.Runs(ctx, w.resAdmin, "", 10)
	for _, r := range runs {
		if r.Status != exports.RunSucceeded || r.Layout != exports.LayoutFOCUS || r.Rows == 0 || len(r.Files) != 1 ||
			!strings.HasPrefix(r.Files[0].Key, "acme/focus/"+string(r.Provider)+"/20240901-20241001/") {
			t.Errorf("run %+v", r)
		}
	}
	// The files hold the provider's rows only, their totals in the manifest.
	for _, r := range runs {
		rows := readGzipCSV(t, w.sink.objects[r.Files[0].Key])
		col := indexOf(rows[0], "BilledCost")
		sum := decimal.Zero
		for _, row := range rows[1:] {
			sum = sum.Add(decimal.RequireFromString(row[col]))
		}
		if int64(len(rows)-1) != r.Rows || !sum.Equal(r.Totals[0].Amount) || indexOf(rows[0], "x_ResaleCost") < 0 {
			t.Errorf("%s: %d rows summing %s; run says %d and %s", r.Provider, len(rows)-1, sum, r.Rows, r.Totals[0].Amount)
		}
	}
}

func TestFailedWritesRetryWithBackoffAndNeedAnAdminWhenRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in := s3In("reseller-exports")
	in.Destination.AccountID, in.Basis = w.acct, exports.AtCost
	in.Providers = []connectors.Provider{connectors.AWS}
	if _, _, err := w.svc.Save(ctx, w.resAdmin, w.reseller.ID, in); err != nil {
		t.Fatal(err)
	}
	w.ingest(t)
	w.sink.fail = domain.Errorf(domain.Unavailable, "S3 is unreachable")
	for attempt := 1; attempt < exports.MaxAttempts; attempt++ {
		if n, err := w.svc.WriteQueued(ctx, system, 10); err != nil || n != 1 {
			t.Fatalf("attempt %d: %d %v", attempt, n, err)
		}
		runs, _ := w.svc.Runs(ctx, w.resAdmin, "", 10)
		r := runs[0]
		if r.Status != exports.RunQueued || r.Attempts != attempt || !r.NextAttemptAt.Equal(w.now.Add(time.Minute<<(attempt-1))) ||
			r.Error != "S3 is unreachable" {
			t.Fatalf("after attempt %d: %+v", attempt, r)
		}
		if n, _ := w.svc.WriteQueued(ctx, system, 10); n != 0 {
			t.Fatal("a run was retried before its backoff ended")
		}
		w.now = r.NextAttemptAt
	}
	if _, err := w.svc.WriteQueued(ctx, system, 10); err != nil {
		t.Fatal(err)
	}
	runs, _ := w.svc.Runs(ctx, w.resAdmin, "", 10)
	if runs[0].Status != exports.RunFailed {
		t.Fatalf("after %d attempts: %+v", exports.MaxAttempts, runs[0])
	}
	// Access denied is for an admin to fix: failed at once, then retried by hand.
	w.sink.fail = domain.Errorf(domain.Forbidden, "access denied")
	if _, err := w.svc.Retry(ctx, w.acmeAdmin, w.reseller.ID, runs[0].ID); domain.ErrorCode(err) != domain.NotFound {
		t.Errorf("the customer retried the reseller's run: %v", err)
	}
	if _, err := w.svc.Retry(ctx, w.resAdmin, w.reseller.ID, runs[0].ID); err != nil {
		t.Fatal(err)
	}
	_, _ = w.svc.WriteQueued(ctx, system, 10)
	runs, _ = w.svc.Runs(ctx, w.resAdmin, "", 10)
	if runs[0].Status != exports.RunFailed || runs[0].Attempts != 1 || runs[0].Error != "access denied" {
		t.Errorf("refused write: %+v", runs[0])
	}
	if _, err := w.svc.Retry(ctx, w.resAdmin, w.reseller.ID, runs[0].ID); err != nil {
		t.Fatal(err)
	}
	w.sink.fail = nil
	_, _ = w.svc.WriteQueued(ctx, system, 10)
	runs, _ = w.svc.Runs(ctx, w.resAdmin, "", 10)
	if runs[0].Status != exports.RunSucceeded || runs[0].Reason != "retry" {
		t.Errorf("retried run: %+v", runs[0])
	}
}

func TestResaleExportsOfAClosedMonthWaitForClose(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in := s3In("acme-exports")
	in.Destination.AccountID = w.acct
	in.Providers = []connectors.Provider{connectors.AWS}
	if _, _, err := w.svc.Save(ctx, w.acmeAdmin, w.acme.ID, in); err != nil {
		t.Fatal(err)
	}
	w.closed[w.acme.ID+"2024-09"] = true
	w.ingest(t)
	_, _ = w.svc.WriteQueued(ctx, system, 10)
	if len(w.sink.objects) != 0 {
		t.Errorf("a closed month's resale export was rewritten: %v", keys(w.sink.objects))
	}
	if _, err := w.svc.Queue(ctx, w.acmeAdmin, w.acme.ID, connectors.AWS, time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC), "close"); domain.ErrorCode(err) != domain.Forbidden {
		t.Errorf("a user queued a close: %v", err)
	}
	// Closing the month (pricing's close observer) queues it once more.
	w.svc.MonthClosed(ctx, w.acme.ID, time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC))
	_, _ = w.svc.WriteQueued(ctx, system, 10)
	if len(w.sink.objects) == 0 {
		t.Error("the export queued at close was not written")
	}
	runs, err := w.svc.Runs(ctx, w.acmeAdmin, w.acme.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	closes := 0
	for _, r := range runs {
		if r.Reason == "close" {
			closes++
			if (r.Provider != connectors.AWS && r.Provider != exports.Charges) || r.Status != exports.RunSucceeded {
				t.Errorf("run queued at close: %+v", r)
			}
		}
	}
	if closes != 2 {
		t.Errorf("%d runs queued at close, want 2 (the configuration exports AWS, and the bill's own charges)", closes)
	}
}

func TestCarriesAmount(t *testing.T) {
	for name, want := range map[string]bool{
		"x_LineItemNetUnblendedCost": true, "x_PricingPublicOnDemandRate": true, "x_ReservationUnusedRecurringFee": true,
		"x_SavingsPlanTotalCommitmentToDate": true, "x_LineItemBlendedCost": true, "x_DiscountTotalDiscount": true,
		"x_LineItemLineItemType": false, "x_ProductInstanceType": false, "x_BillBillingEntity": false, "x_LineItemUsageType": false,
	} {
		if got := exports.CarriesAmount(name); got != want {
			t.Errorf("CarriesAmount(%s) = %v, want %v", name, got, want)
		}
	}
}

func readGzipCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Every provider name reports group under a cloud selects that cloud's
// rows for export, whatever its case, and no name selects two clouds.
func TestProviderNamesCoverEveryCloudName(t *testing.T) {
	owner := map[string]connectors.Provider{}
	for _, p := range append(slices.Clone(connectors.CloudProviders), exports.Charges) {
		for _, n := range exports.ProviderNames(p) {
			if prev, ok := owner[n]; ok {
				t.Errorf("%q is a name of both %s and %s", n, prev, p)
			}
			owner[n] = p
		}
	}
	for name, cloud := range billing.CloudNames {
		p, ok := owner[strings.ToLower(name)]
		if !ok {
			t.Errorf("%q (%s) is not exported with any provider", name, cloud)
			continue
		}
		if got := billing.CloudOf(exports.ProviderNames(p)[0]); got != cloud {
			t.Errorf("%q is exported with %s, whose rows report as %s, not %s", name, p, got, cloud)
		}
	}
	if got := exports.ProviderNames(exports.Charges); !slices.Equal(got, []string{"reseller"}) {
		t.Errorf("charges are exported as %v", got)
	}
}

package views_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"github.com/truecost/truecost/domain/background"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/static"
	"github.com/truecost/truecost/views"
)

// curBucket is the legacy Cost and Usage Report sample of the AWS adapter:
// September 2026 (4,320 rows) and October 1–3 2026 (432 rows) of report
// cur-daily under the prefix cur-prefix, 206.88371224384391290550 USD in
// all (see its README).
const curBucket = "../adapters/awsbilling/testdata/bucket"

// fakeSTS answers AssumeRole like AWS STS, but only once the role's trust
// policy is "installed": when it requires the external ID the connector
// presents.
type fakeSTS struct {
	mu         sync.Mutex
	externalID string // the trust policy's; empty until installed
	assumed    []string
}

func (f *fakeSTS) install(externalID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.externalID = externalID
}

func (f *fakeSTS) roles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.assumed...)
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "AssumeRole" {
		http.Error(w, "unexpected STS request", http.StatusBadRequest)
		return
	}
	role, ext := r.PostForm.Get("RoleArn"), r.PostForm.Get("ExternalId")
	f.mu.Lock()
	allowed := f.externalID != "" && ext == f.externalID
	f.assumed = append(f.assumed, role)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if !allowed {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>`+
			`<Message>User: arn:aws:iam::111122223333:user/truecost is not authorized to perform: sts:AssumeRole on resource: %s</Message></Error>`+
			`<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>`, role)
		return
	}
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
		`<Credentials><AccessKeyId>ASIATESTASSUMED</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey>`+
		`<SessionToken>assumed-session-token</SessionToken><Expiration>%s</Expiration></Credentials>`+
		`<AssumedRoleUser><Arn>%s/truecost</Arn><AssumedRoleId>AROATEST:truecost</AssumedRoleId></AssumedRoleUser>`+
		`</AssumeRoleResult><ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339), role)
}

// s3Sources opens AWS connectors with the real AWS adapter, against the S3
// emulator and the fake STS: Truecost's own keys assume the connector's
// role with its external ID, as in production.
type s3Sources struct {
	s3URL, stsURL string
}

func (f s3Sources) Source(ctx context.Context, c connectors.Connector, sec connectors.Secret) (billing.Source, error) {
	if c.Provider != connectors.AWS {
		return nil, domain.Errorf(domain.Unavailable, "%s connectors are not available in this test", c.Provider)
	}
	kind, err := awsbilling.ParseKind(c.Config.FileType)
	if err != nil {
		return nil, err
	}
	bucket, err := awsbilling.OpenS3Bucket(ctx, awsbilling.Config{
		Region: c.Config.Region, Endpoint: f.s3URL, STSEndpoint: f.stsURL,
		AccessKeyID: "AKIATRUECOSTTEST", SecretAccessKey: "truecost-test-secret",
		RoleARN: sec["role_arn"], ExternalID: c.ExternalID,
	}, c.Config.Bucket)
	if err != nil {
		return nil, err
	}
	return awsbilling.NewSource(bucket, c.Config.Path, kind), nil
}

// newS3Emulator serves an in-memory S3 holding the CUR sample in bucket.
func newS3Emulator(t *testing.T, bucket string) string {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	client, err := awsbilling.NewS3Client(ctx, awsbilling.Config{Endpoint: srv.URL, AccessKeyID: "seed", SecretAccessKey: "seed"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	err = filepath.WalkDir(curBucket, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		key, _ := filepath.Rel(curBucket, path)
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(filepath.ToSlash(key)), Body: bytes.NewReader(body)})
		return err
	})
	if err != nil {
		t.Fatalf("upload the CUR sample: %v", err)
	}
	return srv.URL
}

func TestBrowserAddsAWSConnectorTestsAndSyncsIt(t *testing.T) {
	ctx := context.Background()
	store := sqltest.SQLite(t)
	rights := tenancy.NewRights(store)
	tenants := tenancy.NewService(store, rights)
	sts := &fakeSTS{}
	stsSrv := httptest.NewServer(sts)
	t.Cleanup(stsSrv.Close)
	sources := s3Sources{s3URL: newS3Emulator(t, "contoso-billing"), stsURL: stsSrv.URL}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := connectors.NewAESSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	conns := connectors.NewService(connectors.Deps{
		Store: store, Rights: rights, Sealer: sealer, Sources: sources,
		Ingester: billing.NewIngester(store, tenancy.NewID), NewID: tenancy.NewID,
	})

	reseller, err := tenants.CreateOrganization(ctx, system, "northwind", "Northwind Traders", tenancy.Reseller, "")
	if err != nil {
		t.Fatal(err)
	}
	customer, err := tenants.CreateOrganization(ctx, system, "contoso", "Contoso Ltd", tenancy.Customer, "northwind")
	if err != nil {
		t.Fatal(err)
	}
	u, err := tenants.CreateUser(ctx, system, "admin@northwind.test", "northwind", tenancy.Admin, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	// Two other connectors, so the list shows each status.
	admin := tenancy.Principal{User: u, Org: reseller}
	azure, err := conns.Create(ctx, admin, reseller.ID, azureInput("Northwind EA"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RecordSync(ctx, reseller.ID, azure.ID, connectors.SyncResult{Status: connectors.StatusFailed, At: time.Now().Add(-26 * time.Hour),
		Error: `list azure://northwindcosts/exports/: 403 AuthorizationPermissionMismatch: This request is not authorized to perform this operation using this permission.`}); err != nil {
		t.Fatal(err)
	}
	if _, err := conns.Create(ctx, admin, customer.ID, connectors.Input{Provider: connectors.GCP, Name: "Contoso analytics", Enabled: true,
		Config: connectors.Config{BillingAccountID: "012345-6789AB-CDEF01", ProjectID: "contoso-billing", Dataset: "billing_export"},
		Secret: connectors.Secret{"service_account_json": `{"type":"service_account"}`}}); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle(static.Prefix, static.Handler())
	mux.Handle("/", views.NewHandler(views.Deps{
		Tenancy: tenants, Reporter: billing.NewReporter(store, store, rights),
		Connectors: conns, AWSPrincipal: testAWSPrincipal,
		Background: background.NewService(background.Deps{Store: store, Runner: goRunner{}, Rights: rights,
			Connectors: conns, NewID: tenancy.NewID}),
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	bctx, consoleErrors := newBrowser(t)
	out := artifactsDir(t)
	bs := browserSteps{t: t, ctx: bctx, out: out}
	run, screenshot := bs.run, bs.screenshot
	waitText := func(sel, want string) chromedp.Action {
		return chromedp.Poll(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent?.includes(%q)`, sel, want), nil,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	}
	// Clicks and waits go through the page's DOM: a click at coordinates
	// may land on the sticky top bar, and node queries can miss content
	// htmx swapped in.
	click := func(sel string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).click()`, sel), nil)
	}
	waitFor := func(sel string) chromedp.Action {
		return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.offsetParent !== null })()`, sel), nil,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	}
	waitGone := func(sel string) chromedp.Action {
		return chromedp.Poll(fmt.Sprintf(`document.querySelector(%q) === null`, sel), nil, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
		return strings.TrimSpace(s)
	}

	run("sign in",
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "admin@northwind.test", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, testPassword, chromedp.ByQuery),
		chromedp.Click(`[data-testid="login-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("report"), chromedp.ByQuery),
	)

	// The list, then the add form through its button.
	run("open connectors",
		chromedp.Click(`a.nav-link[href="/connectors"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("connectors-table"), chromedp.ByQuery),
		chromedp.Click(testID("add-connector"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("fields-aws"), chromedp.ByQuery),
	)

	// The provider picker swaps the fields in place.
	run("pick Azure",
		chromedp.Evaluate(`window.__sameDocument = true`, nil),
		click(testID("provider-azure")),
		waitFor(testID("fields-azure")),
	)
	var sameDocument bool
	var location string
	run("check swap", chromedp.Evaluate(`window.__sameDocument === true`, &sameDocument), chromedp.Location(&location))
	if !sameDocument || !strings.HasSuffix(location, "/connectors/new?provider=azure") {
		t.Errorf("picking Azure: same document %v, URL %q; want the fields swapped in and the URL pushed", sameDocument, location)
	}
	var panels []string
	run("switch Azure access",
		click(testID("access-service_principal")),
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="azure-access"] .choice-panel')].filter(p => p.offsetParent !== null).map(p => p.dataset.choice)`, &panels),
	)
	if strings.Join(panels, ",") != "service_principal" {
		t.Errorf("visible Azure access panels %v, want only the service principal's", panels)
	}
	run("pick AWS again",
		click(testID("provider-aws")),
		waitFor(testID("fields-aws")),
		waitGone(testID("fields-azure")),
	)

	// Fill in the AWS connector for the customer.
	setValue := func(name, value string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.querySelector('[name=%q]'); e.value = %q; e.dispatchEvent(new Event('change', {bubbles: true})); return e.value })()`, name, value), nil)
	}
	run("fill AWS form",
		setValue("org", customer.ID),
		chromedp.SendKeys(`input[name=name]`, "Contoso payer account", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=aws_account_id]`, "123456789012", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=bucket]`, "contoso-billing", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=path]`, "cur-prefix", chromedp.ByQuery),
		setValue("file_type", "cur"),
		chromedp.SendKeys(`input[name=role_arn]`, "arn:aws:iam::123456789012:role/TruecostBillingRead", chromedp.ByQuery),
	)
	var keysVisible bool
	run("check key fields hidden", chromedp.Evaluate(`document.querySelector('[name=secret_access_key]').offsetParent !== null`, &keysVisible))
	if keysVisible {
		t.Error("access key fields are shown while IAM role is chosen")
	}
	screenshot("connectors-new-aws.png")
	run("save",
		chromedp.Click(testID("save-connector"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("trust-policy"), chromedp.ByQuery),
	)

	// The connector's page: the trust policy with its external ID.
	externalID := text(testID("external-id"))
	policy := text(testID("trust-policy-json"))
	if !strings.HasPrefix(externalID, "truecost-") || !strings.Contains(policy, externalID) || !strings.Contains(policy, testAWSPrincipal) {
		t.Fatalf("external ID %q and policy %q: want the policy to require the ID and trust %s", externalID, policy, testAWSPrincipal)
	}

	// Before the policy is installed, AWS refuses the role.
	run("test before installing", click(`#connector-live `+testID("test-connector")))
	bs.wait("test before installing", waitText(testID("outcome-test"), "Connection failed"))
	if got := text(testID("outcome-error")); !strings.Contains(got, "AccessDenied") {
		t.Errorf("refused test shows %q, want AWS's AccessDenied", got)
	}
	if got := sts.roles(); len(got) == 0 || got[0] != "arn:aws:iam::123456789012:role/TruecostBillingRead" {
		t.Errorf("roles asked of STS %v, want the connector's", got)
	}

	sts.install(externalID)
	run("test after installing", click(`#connector-live `+testID("test-connector")))
	bs.wait("test after installing", waitText(testID("outcome-test"), "Connection works"))
	if got := text(testID("outcome-summary")); !strings.Contains(got, "aws-cur") || !strings.Contains(got, "2 billing periods") {
		t.Errorf("test summary %q, want the CUR's 2 periods", got)
	}
	var parts []string
	run("read parts", chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="test-part"] td:first-child')].map(e => e.textContent)`, &parts))
	if strings.Join(parts, ",") != "September 2026,October 2026" {
		t.Errorf("test lists periods %v", parts)
	}
	if got := text(testID("connector-status")); got != "New" {
		t.Errorf("status after testing %q, want still New", got)
	}

	run("sync",
		click(`#connector-live `+testID("sync-connector")),
		waitText(testID("outcome-sync"), "Sync succeeded"),
	)
	if got := text(testID("connector-status")); got != "OK" {
		t.Errorf("status after syncing %q, want OK", got)
	}
	if got := text(testID("run-rows")); got != "4,752" {
		t.Errorf("rows loaded %q, want the sample's 4,752", got)
	}
	var total string
	run("read total", chromedp.AttributeValue(testID("run-totals")+" [data-exact]", "data-exact", &total, nil, chromedp.ByQuery))
	if total != "206.8837122438439129055 USD" && total != "206.88371224384391290550 USD" {
		t.Errorf("billed total %q, want the sample's 206.88371224384391290550 USD", total)
	}
	screenshot("connectors-detail.png")

	// The list shows the new status and rows; Sync now there updates the row in place.
	run("back to list",
		chromedp.Click(`a.nav-link[href="/connectors"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("connectors-table"), chromedp.ByQuery),
	)
	row := `tbody[data-provider="aws"] `
	if got := text(row + testID("connector-status")); got != "OK" {
		t.Errorf("list status %q, want OK", got)
	}
	if got := text(row + testID("connector-rows")); got != "4,752" {
		t.Errorf("list rows %q, want 4,752", got)
	}
	if got := text(row + testID("connector-period")); got != "Oct 2026" {
		t.Errorf("list last period %q, want Oct 2026", got)
	}
	run("sync from list",
		chromedp.Evaluate(`window.__sameDocument = true`, nil),
		click(row+testID("sync-connector")),
		waitText(row+testID("outcome-sync"), "Already up to date"),
		chromedp.Evaluate(`window.__sameDocument === true`, &sameDocument),
	)
	if !sameDocument {
		t.Error("Sync now in the list reloaded the page")
	}
	screenshot("connectors-list.png")

	// Delete asks first; accepting removes the row in place.
	chromedp.ListenTarget(bctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go func() { _ = chromedp.Run(bctx, page.HandleJavaScriptDialog(true)) }()
		}
	})
	run("delete the failed connector",
		click(`tbody[data-provider="azure"] `+testID("delete-connector")),
		waitGone(`tbody[data-provider="azure"]`),
		waitText(testID("notice"), "Northwind EA"),
	)
	if list, _ := store.ListConnectors(ctx, []string{reseller.ID, customer.ID}); len(list) != 2 {
		t.Errorf("%d connectors left after deleting one of 3", len(list))
	}

	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the browser logged errors: %q", errs)
	}
}

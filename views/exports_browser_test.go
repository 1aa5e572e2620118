package views_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/chromedp"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/background"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/static"
	"github.com/truecost/truecost/views"
)

func TestBrowserResellerConfiguresACustomersS3ExportAndSeesItWritten(t *testing.T) {
	ctx := context.Background()
	store := sqltest.SQLite(t)
	rights := tenancy.NewRights(store)
	tenants := tenancy.NewService(store, rights)
	s3URL := newS3Emulator(t, "contoso-billing")
	client, err := awsbilling.NewS3Client(ctx, awsbilling.Config{Endpoint: s3URL, AccessKeyID: "seed", SecretAccessKey: "seed"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("contoso-exports")}); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := connectors.NewAESSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := exports.NewService(exports.Deps{Store: store, Orgs: store, Rights: rights, Accounts: store, Connectors: store,
		Sealer: sealer, Sinks: exports.SinksByKind{exports.S3: awsbilling.NewSinks(awsbilling.SinkConfig{Endpoint: s3URL})},
		Formats: exports.Layouts{focusfile.Layout{}, awsbilling.CURLayout{}}, NewID: tenancy.NewID})
	conns := connectors.NewService(connectors.Deps{
		Store: store, Rights: rights, Sealer: sealer, Sources: s3Sources{s3URL: s3URL},
		Ingester: billing.NewIngester(store, tenancy.NewID).Observe(svc), NewID: tenancy.NewID,
	})
	accts := accounts.NewService(accounts.Deps{Store: store, Rights: rights, Sealer: sealer, Connectors: conns, NewID: tenancy.NewID})

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
	admin := tenancy.Principal{User: u, Org: reseller}
	if _, err := accts.Create(ctx, admin, customer.ID, accounts.Input{Provider: connectors.AWS, Name: "Contoso payer",
		ProviderAccountID: "123456789012", Credentials: connectors.Secret{"access_key_id": "AKIAEXPORT", "secret_access_key": "s"}}); err != nil {
		t.Fatal(err)
	}
	conn, err := conns.Create(ctx, admin, customer.ID, connectors.Input{Provider: connectors.AWS, Name: "Contoso CUR", Enabled: true,
		Config: connectors.Config{AWSAccountID: "123456789012", Bucket: "contoso-billing", Path: "cur-prefix", FileType: "cur"},
		Secret: connectors.Secret{"access_key_id": "AKIAEXPORT", "secret_access_key": "s"}})
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle(static.Prefix, static.Handler())
	mux.Handle("/", views.NewHandler(views.Deps{
		Tenancy: tenants, Reporter: billing.NewReporter(store, store, rights), Connectors: conns, Accounts: accts, Exports: svc,
		Background: background.NewService(background.Deps{Store: store, Runner: goRunner{}, Rights: rights, Connectors: conns, NewID: tenancy.NewID}),
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// The export job, as the scheduler runs it.
	jobCtx, stopJob := context.WithCancel(ctx)
	t.Cleanup(stopJob)
	go func() {
		for jobCtx.Err() == nil {
			_, _ = svc.WriteQueued(jobCtx, system, 10)
			time.Sleep(100 * time.Millisecond)
		}
	}()

	bctx, consoleErrors := newBrowser(t)
	b := browserSteps{t: t, ctx: bctx, out: artifactsDir(t)}
	click := func(sel string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).click()`, sel), nil)
	}
	// navClick clicks what navigates away, after the evaluation returns.
	navClick := func(sel string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`setTimeout(() => document.querySelector(%q).click(), 0)`, sel), nil)
	}
	waitFor := func(sel string) chromedp.Action {
		return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.offsetParent !== null })()`, sel), nil,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	}
	set := func(id, v string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`document.querySelector('[data-testid=%q]').value = %q`, id, v), nil)
	}
	setBucket := func(v string) chromedp.Action { return set("export-bucket", v) }

	b.run("sign in as the reseller",
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "admin@northwind.test", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, testPassword, chromedp.ByQuery),
		chromedp.Click(`[data-testid="login-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("report"), chromedp.ByQuery),
	)
	var link string
	b.run("open the exports page",
		chromedp.Click(`a.nav-link[href="/exports"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("customer-export-links"), chromedp.ByQuery),
		chromedp.AttributeValue(`[data-testid="customer-export-links"] a`, "href", &link, nil, chromedp.ByQuery),
	)
	if link != "/customers/"+customer.ID+"/exports" {
		t.Fatalf("customer link %q", link)
	}
	b.run("open the customer's exports", chromedp.Navigate(srv.URL+link), waitFor(testID("export-form")))
	var saveDisabled bool
	var problem, policy string
	b.run("verify a bucket that does not exist",
		setBucket("contoso-missing"),
		set("export-prefix", "billing"),
		click(testID("export-verify")),
		waitFor(testID("verify-problem")),
		chromedp.AttributeValue(testID("verify-problem"), "data-problem", &problem, nil, chromedp.ByQuery),
		chromedp.Text(testID("verify-policy"), &policy, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('[data-testid="export-save"]').disabled`, &saveDisabled),
	)
	if problem != "bucket_missing" || !strings.Contains(policy, "arn:aws:s3:::contoso-missing/billing/*") || !saveDisabled {
		t.Errorf("missing bucket: problem %q, policy %q, save disabled %v", problem, policy, saveDisabled)
	}
	var overlap string
	b.run("verify the customer's own CUR bucket",
		setBucket("contoso-billing"),
		set("export-prefix", ""),
		click(testID("export-verify")),
		waitFor(testID("overlap-warning")),
		chromedp.Text(testID("overlap-warning"), &overlap, chromedp.ByQuery),
	)
	if !strings.Contains(overlap, "Contoso CUR") {
		t.Errorf("overwrite guard says %q, want the connector named", overlap)
	}
	b.screenshot("export-overlap.png")
	b.run("verify the export bucket",
		setBucket("contoso-exports"),
		set("export-prefix", "billing"),
		click(testID("export-verify")),
		waitFor(testID("verify-ok")),
		chromedp.Evaluate(`document.querySelector('[data-testid="export-save"]').disabled`, &saveDisabled),
	)
	if saveDisabled {
		t.Fatal("Save stayed disabled after a successful Verify")
	}
	b.screenshot("export-verified.png")
	b.run("save", navClick(testID("export-save")), chromedp.Sleep(300*time.Millisecond),
		chromedp.WaitVisible(testID("export-notice"), chromedp.ByQuery), chromedp.WaitVisible(testID("export-row"), chromedp.ByQuery))

	b.run("sync the customer's connector",
		chromedp.Navigate(srv.URL+"/connectors/"+conn.ID+"?org="+customer.ID),
		waitFor(`#connector-live `+testID("sync-connector")),
		click(`#connector-live `+testID("sync-connector")),
		chromedp.Poll(`(document.querySelector('[data-testid="outcome-sync"]') || {}).textContent?.includes("Sync succeeded")`, nil,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)),
	)
	var statuses string
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.run("read the export runs",
			chromedp.Navigate(srv.URL+"/customers/"+customer.ID+"/exports"),
			waitFor(testID("export-form")),
			chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="export-run"]')].map(e => e.dataset.status).join(',')`, &statuses),
		)
		if statuses == "succeeded,succeeded,succeeded,succeeded" || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if statuses != "succeeded,succeeded,succeeded,succeeded" {
		t.Fatalf("export runs %q, want September and October succeeded, AWS and the bill's charges", statuses)
	}
	b.screenshot("export-runs.png")
	var files string
	b.run("read the runs' files", chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="export-run-files"]')].map(e => e.textContent).join(' ')`, &files))
	if !strings.Contains(files, "billing/truecost/") || !strings.Contains(files, ".csv.gz") {
		t.Errorf("run files %q, want the written CUR file", files)
	}
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("contoso-exports"), Prefix: aws.String("billing/truecost/")})
	if err != nil {
		t.Fatal(err)
	}
	manifests := 0
	for _, o := range out.Contents {
		if strings.HasSuffix(aws.ToString(o.Key), "-Manifest.json") {
			manifests++
		}
	}
	if manifests != 4 {
		t.Errorf("%d manifests in the export bucket, want 2 months × (assembly + top level)", manifests)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the browser logged errors: %q", errs)
	}
}

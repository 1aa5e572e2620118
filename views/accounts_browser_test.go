package views_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/truecost/truecost/adapters/awsprovision"
	"github.com/truecost/truecost/adapters/awsprovision/awsfake"
	"github.com/truecost/truecost/domain/connectors"
)

// gatedTransport holds every request until its gate is closed, so a test
// can look at the page while provisioning waits on AWS.
type gatedTransport struct {
	gate chan struct{}
}

func (g gatedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-g.gate:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestBrowserAddsAWSAccountProvisionsAndDeprovisionsBilling(t *testing.T) {
	// Truecost's own AWS identity assumes the account's role; keep the SDK
	// away from the machine's AWS configuration.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIATRUECOSTTEST", "AWS_SECRET_ACCESS_KEY": "truecost-test-secret",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CA_BUNDLE": ""} {
		t.Setenv(k, v)
	}
	// The real AWS provisioner against the fake control plane; the account
	// may not activate cost allocation tags, as an organization member.
	aws := awsfake.New(t)
	aws.DenyTags(true)
	gate := make(chan struct{})
	ac := newAccountConsole(t, awsprovision.New(awsprovision.Config{Endpoint: aws.URL(), HTTPClient: &http.Client{Transport: gatedTransport{gate}}}))
	bctx, consoleErrors := newBrowser(t)
	out := artifactsDir(t)
	base := ac.srv.URL

	bs := browserSteps{t: t, ctx: bctx, out: out}
	run, screenshot := bs.run, bs.screenshot
	poll := func(js string) chromedp.Action {
		return chromedp.Poll(js, nil, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	}
	// Clicks and waits go through the page's DOM: a click at coordinates
	// may land on the sticky top bar, and node queries can miss content
	// htmx swapped in.
	click := func(sel string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).click()`, sel), nil)
	}
	waitFor := func(sel string) chromedp.Action {
		return poll(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.offsetParent !== null })()`, sel))
	}
	setValue := func(name, value string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.querySelector('[name=%q]'); e.value = %q; e.dispatchEvent(new Event('change', {bubbles: true})); return e.value })()`, name, value), nil)
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		run("read "+sel, chromedp.Evaluate(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel), &s))
		return strings.Join(strings.Fields(s), " ")
	}

	run("sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "admin@northwind.test", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, testPassword, chromedp.ByQuery),
		chromedp.Click(`[data-testid="login-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`a.nav-link[href="/accounts"]`, chromedp.ByQuery),
	)
	// Links and submits that load a new page go through real clicks and
	// waits for the new page's nodes.
	run("open cloud accounts",
		chromedp.Click(`a.nav-link[href="/accounts"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("accounts-empty"), chromedp.ByQuery),
		chromedp.Click(testID("add-account"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("fields-aws"), chromedp.ByQuery),
	)

	// The provider picker swaps the fields in place.
	var sameDocument bool
	run("pick Google Cloud and back",
		chromedp.Evaluate(`window.__sameDocument = true`, nil),
		click(testID("provider-gcp")),
		waitFor(testID("fields-gcp")),
		click(testID("provider-aws")),
		waitFor(testID("fields-aws")),
		chromedp.Evaluate(`window.__sameDocument === true`, &sameDocument),
	)
	if !sameDocument {
		t.Error("picking a provider reloaded the page")
	}
	run("fill the AWS account",
		chromedp.SendKeys(`input[name=name]`, "Northwind payer", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=provider_account_id]`, "663626350770", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=role_arn]`, testRoleARN, chromedp.ByQuery),
	)
	var keysVisible bool
	run("check key fields hidden", chromedp.Evaluate(`document.querySelector('[name=secret_access_key]').offsetParent !== null`, &keysVisible))
	if keysVisible {
		t.Error("access key fields are shown while IAM role is chosen")
	}
	screenshot("accounts-new-aws.png")
	run("save",
		chromedp.Click(testID("save-account"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("trust-policy"), chromedp.ByQuery),
	)

	externalID := text(testID("external-id"))
	if policy := text(testID("trust-policy-json")); !strings.HasPrefix(externalID, "truecost-") || !strings.Contains(policy, externalID) {
		t.Errorf("external ID %q and trust policy %q", externalID, policy)
	}

	// Provision billing: region and CUR 2.0. It runs as a background job:
	// the page shows the job, polls it every second while the steps run
	// (held here by the gate), and shows the outcome once it is done.
	run("provision",
		waitFor(testID("provision-form")),
		setValue("region", "eu-west-1"),
		click(testID("export-cur2")),
		click(testID("provision-billing")),
		waitFor(testID("job")),
		poll(`document.querySelector('[data-testid="job"]')?.dataset.jobState === "running"`),
	)
	if got := text(testID("job")); !strings.Contains(got, "Provision billing") || !strings.Contains(got, "Running") {
		t.Fatalf("job shows %q; page: %s", got, text(testID("account-live")))
	}
	var pollAttrs []string
	run("read the job's poll", chromedp.Evaluate(`(() => { const j = document.querySelector('[data-testid="job"]');
		return [j.getAttribute("hx-get"), j.getAttribute("hx-trigger")] })()`, &pollAttrs))
	if len(pollAttrs) != 2 || !strings.HasPrefix(pollAttrs[0], "/accounts/") || pollAttrs[1] != "every 1s" {
		t.Errorf("job polls %v, want its account's job every 1s", pollAttrs)
	}
	screenshot("account-provisioning")
	var buttons int
	run("no second press", chromedp.Evaluate(`document.querySelectorAll('[data-testid="provision-billing"]').length`, &buttons))
	if buttons != 0 {
		t.Error("the Provision Billing button can be pressed again while provisioning runs")
	}
	close(gate)
	run("wait for provisioning", waitFor(`#billing [data-testid="infra-state"]`),
		poll(`document.querySelector('[data-testid="job"]') === null`))
	if got := text(`#billing ` + testID("infra-state")); got != "Provisioned" {
		t.Fatalf("state after provisioning %q: %s", got, text(testID("billing")))
	}

	var steps, states []string
	run("read ledger",
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="ledger-step"]')].map(e => e.textContent)`, &steps),
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="ledger-state"]')].map(e => e.textContent)`, &states),
	)
	wantSteps := []string{awsprovision.StepBucket, awsprovision.StepPolicy, awsprovision.StepExport, awsprovision.StepTags}
	if strings.Join(steps, ",") != strings.Join(wantSteps, ",") || strings.Join(states, ",") != "Created,Created,Created,Kept" {
		t.Errorf("ledger steps %v states %v", steps, states)
	}
	if got := text(`[data-name="SessionID"]`); !strings.Contains(got, awsprovision.TagNotPermitted) {
		t.Errorf("SessionID tag %q, want NotPermitted", got)
	}
	if got := text(testID("manual-steps")); !strings.Contains(got, "Cost allocation tags") || !strings.Contains(got, "SessionID") {
		t.Errorf("manual steps %q, want the console steps activating the tags", got)
	}
	if got := text(`[data-testid="account-status-card"] ` + testID("account-status")); got != "Checking" {
		t.Errorf("status %q, want Checking", got)
	}
	if got := text(`[data-testid="account-status-card"] ` + testID("account-status-detail")); !strings.Contains(got, "export created") {
		t.Errorf("status detail %q", got)
	}
	inf := ac.infra(ac.reseller.ID, connectors.AWS)
	if inf.Settings.Region != "eu-west-1" || inf.Settings.ExportType != "cur2" {
		t.Errorf("provisioned with %+v, want eu-west-1 and CUR 2.0", inf.Settings)
	}
	names := awsprovision.NamesFor(inf, "663626350770")
	if got := aws.Buckets(); len(got) != 1 || got[0] != names.Bucket {
		t.Errorf("buckets %v, want %s", got, names.Bucket)
	}
	if _, ok := aws.Exports()[names.Export]; !ok {
		t.Errorf("exports %v, want %s", aws.Exports(), names.Export)
	}
	var assumed bool
	for _, c := range aws.Requests() {
		if c.Op == awsfake.AssumeRole {
			form, _ := url.ParseQuery(c.Body)
			assumed = form.Get("RoleArn") == testRoleARN && form.Get("ExternalId") == externalID
			if !assumed {
				t.Errorf("AssumeRole with %v, want the account's role and external ID", form)
			}
		}
	}
	if !assumed {
		t.Error("provisioning did not assume the account's role")
	}
	screenshot("account-provisioned.png")

	run("list",
		chromedp.Click(`a.nav-link[href="/accounts"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("accounts-table"), chromedp.ByQuery),
	)
	if got := text(`[data-testid="infra-card"][data-provider="aws"] ` + testID("infra-state")); got != "Provisioned" {
		t.Errorf("list card state %q", got)
	}
	if got := text(testID("account-row") + " " + testID("account-status")); got != "Checking" {
		t.Errorf("list status %q", got)
	}
	screenshot("accounts-list.png")

	// Deprovision through the warning.
	run("open the warning",
		chromedp.Click(testID("deprovision-billing-link"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("deprovision-warning"), chromedp.ByQuery),
	)
	if got := text(testID("deprovision-warning")); !strings.Contains(got, "Northwind payer is the only provisioned AWS account") {
		t.Errorf("warning %q", got)
	}
	screenshot("deprovision-confirm.png")
	// Confirm posts through htmx, which then sends the browser to the
	// account's page.
	run("confirm",
		chromedp.Click(testID("confirm-deprovision"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("provision-form"), chromedp.ByQuery),
	)
	if got := text(`#billing ` + testID("infra-state")); got != "Deprovisioned" {
		t.Errorf("state after deprovisioning %q", got)
	}
	if got := text(testID("notice")); !strings.Contains(got, "AWS billing deprovisioned") {
		t.Errorf("notice %q", got)
	}
	if len(aws.Buckets()) != 0 || len(aws.Exports()) != 0 {
		t.Errorf("after deprovisioning: buckets %v, exports %v; want none", aws.Buckets(), aws.Exports())
	}
	screenshot("account-deprovisioned.png")

	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the browser logged errors: %q", errs)
	}
}

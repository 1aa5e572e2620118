package views_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"
)

func TestBrowserResellerAddsACustomerAndClosesAMonth(t *testing.T) {
	sc := newStoreConsole(t)
	ctx, consoleErrors := newBrowser(t)
	b := browserSteps{t: t, ctx: ctx, out: artifactsDir(t)}
	base := sc.srv.URL
	signIn := func(email, password, wait string) {
		b.run("sign in as "+email,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery),
			chromedp.SendKeys(`input[name=email]`, email, chromedp.ByQuery),
			chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
			chromedp.Click(`[data-testid="login-form"] button[type=submit]`, chromedp.ByQuery),
			chromedp.WaitVisible(wait, chromedp.ByQuery),
		)
	}
	signOut := func() {
		b.run("sign out", chromedp.Click(testID("sign-out"), chromedp.ByQuery), chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery))
	}

	signIn("admin@northwind.test", testPassword, testID("user-email"))
	var rows int
	var link string
	b.run("add a customer",
		chromedp.Click(`a.nav-link[href="/customers"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("customers-table"), chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="customer-row"]').length`, &rows),
		chromedp.SendKeys(testID("customer-name"), "Acme Corp", chromedp.ByQuery),
		chromedp.SendKeys(testID("customer-slug"), "acme", chromedp.ByQuery),
		chromedp.SendKeys(testID("customer-email"), "ann@acme.test", chromedp.ByQuery),
		chromedp.Click(testID("customer-submit"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("invite-link"), chromedp.ByQuery),
		chromedp.Value(testID("invite-link"), &link, chromedp.ByQuery),
	)
	if rows != 1 {
		t.Errorf("%d customers listed before adding, want Contoso alone", rows)
	}
	if !strings.HasPrefix(link, base+"/invite/inv_") {
		t.Fatalf("invitation link %q", link)
	}
	b.screenshot("customer-invited.png")
	signOut()

	var who, org string
	b.run("the invited admin sets a password through the link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(testID("invite-form"), chromedp.ByQuery),
		chromedp.SendKeys(testID("invite-password"), "a long new password", chromedp.ByQuery),
		chromedp.SendKeys(testID("invite-confirm"), "a long new password", chromedp.ByQuery),
		chromedp.Click(testID("invite-submit"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("user-email"), chromedp.ByQuery),
		chromedp.Text(testID("user-email"), &who, chromedp.ByQuery),
		chromedp.Text(testID("user-org"), &org, chromedp.ByQuery),
	)
	if who != "ann@acme.test" || !strings.Contains(org, "Acme Corp") {
		t.Errorf("signed in through the link as %q of %q", who, org)
	}
	signOut()
	var used string
	b.run("the link works once",
		chromedp.Navigate(link),
		chromedp.WaitVisible(testID("error-message"), chromedp.ByQuery),
		chromedp.Text(testID("error-message"), &used, chromedp.ByQuery),
	)
	if !strings.Contains(used, "not valid") {
		t.Errorf("a used link says %q", used)
	}

	signIn("admin@northwind.test", testPassword, testID("user-email"))
	var state, notice string
	b.run("close Contoso's September",
		chromedp.Navigate(base+"/customers/"+sc.customer.ID),
		chromedp.WaitVisible(testID("cycles-table"), chromedp.ByQuery),
		chromedp.Click(`[data-month="2024-09"] [data-testid="cycle-close"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("notice"), chromedp.ByQuery),
		chromedp.Text(testID("notice"), &notice, chromedp.ByQuery),
		chromedp.Text(`[data-month="2024-09"] [data-testid="cycle-state"]`, &state, chromedp.ByQuery),
	)
	if state != "Closed" || !strings.Contains(notice, "September 2024 is closed") {
		t.Errorf("after closing: state %q, notice %q", state, notice)
	}
	b.screenshot("customer-cycles.png")
	var refused string
	b.run("a credit for the closed month is refused",
		chromedp.Click(testID("customer-pricing"), chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="credit-form"]`, chromedp.ByQuery),
		chromedp.SetValue(`[data-testid="credit-form"] input[name=month]`, "2024-09", chromedp.ByQuery),
		chromedp.SendKeys(testID("credit-amount"), "50", chromedp.ByQuery),
		chromedp.SendKeys(testID("credit-reason"), "Late goodwill", chromedp.ByQuery),
		chromedp.Click(`[data-testid="credit-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("error-message"), chromedp.ByQuery),
		chromedp.Text(testID("error-message"), &refused, chromedp.ByQuery),
	)
	if refused != "September 2024 is closed for Contoso Ltd" {
		t.Errorf("refusal says %q", refused)
	}
	b.screenshot("closed-month-refused.png")
	var reason string
	b.run("reopen with a reason",
		chromedp.Navigate(base+"/customers/"+sc.customer.ID),
		chromedp.WaitVisible(testID("cycle-reason"), chromedp.ByQuery),
		chromedp.SendKeys(testID("cycle-reason"), "credit agreed late", chromedp.ByQuery),
		chromedp.Click(testID("cycle-reopen"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("notice"), chromedp.ByQuery),
		chromedp.Text(testID("cycle-events"), &reason, chromedp.ByQuery),
	)
	if !strings.Contains(reason, "credit agreed late") || !strings.Contains(reason, "Reopened") {
		t.Errorf("audit trail %q", reason)
	}
	// The used link (404) and the refusal (409) are the answers expected;
	// anything else the browser logs is not.
	for _, e := range consoleErrors() {
		if !strings.Contains(e, "status of 404") && !strings.Contains(e, "status of 409") {
			t.Errorf("the browser logged %q", e)
		}
	}
}

func TestCustomerPagesRefuseOtherResellersCustomersAndPostsWithoutCSRF(t *testing.T) {
	t.Parallel()
	sc := newStoreConsole(t)
	f := sc.client(t)
	c, _ := f.signIn("admin@northwind.test")
	resp := f.postForm(c, "/customers", url.Values{"slug": {"no-token"}, "email": {"x@y.test"}}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /customers without CSRF token: %d, want 403", resp.StatusCode)
	}
	for _, path := range []string{"/customers/" + sc.foreign.ID, "/customers/" + sc.foreign.ID + "/users"} {
		resp := f.get(c, path, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("reseller GET %s of a direct customer: %d, want 404", path, resp.StatusCode)
		}
	}
	cc, _ := f.signIn("finance@contoso.test")
	resp = f.get(cc, "/customers", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("customer GET /customers: %d, want 404", resp.StatusCode)
	}
	resp = f.get(cc, "/cycles", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("customer GET /cycles: %d, want 200", resp.StatusCode)
	}
}

func TestCustomersSortAndTheirUsersAreManagedKeepingAnAdmin(t *testing.T) {
	t.Parallel()
	sc := newStoreConsole(t)
	f := sc.client(t)
	c, csrf := f.signIn("admin@northwind.test")
	resp := f.postForm(c, "/customers", url.Values{"slug": {"acme"}, "name": {"Acme"}, "email": {"ann@acme.test"}, "csrf_token": {csrf}}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add customer: %d, want 201", resp.StatusCode)
	}
	names := func(query string) []string {
		var out []string
		f.getDoc(c, "/customers?"+query, nil, http.StatusOK).Find(`[data-testid="customer-link"]`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, s.Text())
		})
		return out
	}
	if got := strings.Join(names("sort=name&order=asc"), ", "); got != "Acme, Contoso Ltd" {
		t.Errorf("by name: %s", got)
	}
	if got := strings.Join(names("sort=name&order=desc"), ", "); got != "Contoso Ltd, Acme" {
		t.Errorf("by name, descending: %s", got)
	}
	var acmeID string
	f.getDoc(c, "/customers", nil, http.StatusOK).Find(`[data-testid="customer-link"]`).Each(func(_ int, s *goquery.Selection) {
		if s.Text() == "Acme" {
			href, _ := s.Attr("href")
			acmeID = strings.TrimPrefix(href, "/customers/")
		}
	})
	users := "/customers/" + acmeID + "/users"
	resp = f.postForm(c, users, url.Values{"email": {"bob@acme.test"}, "role": {"member"}, "csrf_token": {csrf}}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add user: %d, want 201", resp.StatusCode)
	}
	ids := map[string]string{}
	doc := f.getDoc(c, users, nil, http.StatusOK)
	doc.Find(`[data-testid="user-row"]`).Each(func(_ int, s *goquery.Selection) {
		action, _ := s.Find(`form`).First().Attr("action")
		ids[s.Find(`[data-testid="user-email-cell"]`).Text()] = strings.Split(strings.TrimPrefix(action, users+"/"), "/")[0]
	})
	if len(ids) != 2 {
		t.Fatalf("users listed: %v", ids)
	}
	resp = f.postForm(c, users+"/"+ids["ann@acme.test"]+"/role", url.Values{"role": {"member"}, "csrf_token": {csrf}}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("demote the last admin: %d, want 409", resp.StatusCode)
	}
	resp = f.postForm(c, users+"/"+ids["bob@acme.test"]+"/remove", url.Values{"csrf_token": {csrf}}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("remove a member: %d, want 303", resp.StatusCode)
	}
	if n := f.getDoc(c, users, nil, http.StatusOK).Find(`[data-testid="user-row"]`).Length(); n != 1 {
		t.Errorf("%d users after removing one, want 1", n)
	}
}

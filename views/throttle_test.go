package views_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"github.com/truecost/truecost/domain/tenancy"
)

// failLogins posts n wrong passwords for email through the sign-in form.
func (f *fixture) failLogins(email string, n int) {
	f.t.Helper()
	c := f.client()
	token := f.loginFormToken(c)
	for range n {
		resp := f.postForm(c, "/login", url.Values{"email": {email}, "password": {"not the password"}, "csrf_token": {token}}, nil)
		resp.Body.Close()
	}
}

func TestLoginIsRefusedAfterTooManyWrongPasswords(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.failLogins("admin@acme.test", tenancy.AccountBackoff.Free+1)

	c := f.client()
	token := f.loginFormToken(c)
	resp := f.postForm(c, "/login", url.Values{"email": {"admin@acme.test"}, "password": {testPassword}, "csrf_token": {token}}, nil)
	defer resp.Body.Close()
	if retry, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || retry < 1 {
		t.Fatalf("right password after %d wrong ones: status %d, Retry-After %q; want 429 with a Retry-After",
			tenancy.AccountBackoff.Free+1, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == tenancy.SessionCookie {
			t.Error("a session cookie was set")
		}
	}
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	if got := doc.Find(testID("login-error")).Text(); !strings.HasPrefix(got, "too many failed sign-ins; try again in ") {
		t.Errorf("error %q, want it to say to try again later", got)
	}
	// Other accounts are not affected.
	f.signIn("ops@globex.test")
}

func TestBrowserShowsTheWaitAfterTooManyWrongPasswords(t *testing.T) {
	f := newFixture(t)
	ctx, consoleErrors := newBrowser(t)
	b := browserSteps{t: t, ctx: ctx, out: artifactsDir(t)}
	signIn := func(password string) chromedp.Action {
		return chromedp.Tasks{
			chromedp.Navigate(f.srv.URL + "/login"),
			chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery),
			chromedp.SendKeys(`input[name=email]`, "admin@acme.test", chromedp.ByQuery),
			chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
			chromedp.Click(`[data-testid="login-form"] button[type=submit]`, chromedp.ByQuery),
			chromedp.WaitVisible(testID("login-error"), chromedp.ByQuery),
		}
	}
	for i := range tenancy.AccountBackoff.Free + 1 {
		b.run("wrong password "+strconv.Itoa(i+1), signIn("not the password"))
	}
	var message string
	b.run("right password", signIn(testPassword), chromedp.Text(testID("login-error"), &message, chromedp.ByQuery))
	if !strings.HasPrefix(message, "too many failed sign-ins; try again in ") {
		t.Errorf("the page says %q, want how long to wait", message)
	}
	b.screenshot("login-throttled.png")
	// The refusals themselves (401, 429) are logged by the browser as
	// failed loads; anything else is a problem.
	for _, e := range consoleErrors() {
		if !strings.Contains(e, "status of 401") && !strings.Contains(e, "status of 429") {
			t.Errorf("the browser logged: %q", e)
		}
	}
}

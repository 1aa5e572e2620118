package views_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/loginpage"
)

func TestPagesRedirectToLoginWithoutSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, path := range []string{"/", "/runs", "/?period=2024-09", "/no-such-page"} {
		resp := f.get(f.client(), path, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s: got %d to %q, want 303 to /login", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestHTMXRequestWithoutSessionIsToldToRedirect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp := f.get(f.client(), "/?metric=LIST_COST", http.Header{"Hx-Request": {"true"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("HX-Redirect") != "/login" {
		t.Errorf("got %d with HX-Redirect %q, want 401 with /login", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}
}

func TestLoginSetsSessionCookieAndOpensDashboard(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client()
	token := f.loginFormToken(c)
	resp := f.postForm(c, "/login", url.Values{"email": {"Admin@Acme.test"}, "password": {testPassword}, "csrf_token": {token}}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("got %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == tenancy.SessionCookie {
			session = ck
		}
	}
	if session == nil || session.Value == "" {
		t.Fatal("no session cookie set")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure {
		t.Errorf("session cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v, want true Lax / false (plain HTTP)",
			session.HttpOnly, session.SameSite, session.Path, session.Secure)
	}

	doc := f.getDoc(c, "/", nil, http.StatusOK)
	if got := doc.Find(testID("user-email")).Text(); got != "admin@acme.test" {
		t.Errorf("header shows user %q, want admin@acme.test", got)
	}
	if got := doc.Find(testID("user-org")).Text(); !strings.Contains(got, "Acme Cloud Partners") {
		t.Errorf("header shows organization %q, want Acme Cloud Partners", got)
	}
	hx, _ := doc.Find("body").Attr("hx-headers")
	csrf, _ := doc.Find(`form[action="/logout"] input[name="csrf_token"]`).Attr("value")
	if !strings.Contains(hx, `"X-CSRF-Token":"`+csrf+`"`) {
		t.Errorf("body hx-headers = %q, want it to carry the CSRF token %q", hx, csrf)
	}

	// A signed-in visit to the login page goes to the dashboard.
	resp = f.get(c, "/login", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("GET /login signed in: got %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLoginCookieIsSecureOverTLS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	token := f.loginFormToken(f.client())
	// The handler under the fixture's server, reached as if over TLS.
	form := url.Values{"email": {"admin@acme.test"}, "password": {testPassword}, "csrf_token": {token}}
	req := httptest.NewRequest(http.MethodPost, "https://console.example/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: loginpage.CSRFCookie, Value: token})
	rec := httptest.NewRecorder()
	f.srv.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("got %d, want 303", rec.Code)
	}
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == tenancy.SessionCookie && !ck.Secure {
			t.Error("session cookie set over TLS is not Secure")
		}
	}
}

func TestLoginRejectsWrongCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, email, password string
	}{
		{"wrong password", "admin@acme.test", "not the password"},
		{"unknown email", "nobody@acme.test", testPassword},
		{"not an email", "admin", testPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.client()
			token := f.loginFormToken(c)
			resp := f.postForm(c, "/login", url.Values{"email": {tt.email}, "password": {tt.password}, "csrf_token": {token}}, nil)
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
			for _, ck := range resp.Cookies() {
				if ck.Name == tenancy.SessionCookie {
					t.Error("a session cookie was set")
				}
			}
			doc, _ := goquery.NewDocumentFromReader(resp.Body)
			if got := doc.Find(testID("login-error")).Text(); got != "wrong email or password" {
				t.Errorf("error %q, want %q", got, "wrong email or password")
			}
			if got, _ := doc.Find(`input[name=email]`).Attr("value"); got != tt.email {
				t.Errorf("email field %q, want the typed %q kept", got, tt.email)
			}
		})
	}
}

func TestLoginFormRequiresItsCSRFToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name      string
		getForm   bool // fetch the form first, which sets the CSRF cookie
		formToken func(cookieToken string) string
	}{
		{"no cookie and no field", false, func(string) string { return "" }},
		{"field without cookie", false, func(string) string { return "forged-token-forged-token-forged-token" }},
		{"cookie without field", true, func(string) string { return "" }},
		{"field not matching cookie", true, func(string) string { return "forged-token-forged-token-forged-token" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.client()
			var cookieToken string
			if tt.getForm {
				cookieToken = f.loginFormToken(c)
			}
			form := url.Values{"email": {"admin@acme.test"}, "password": {testPassword}}
			if tok := tt.formToken(cookieToken); tok != "" {
				form.Set("csrf_token", tok)
			}
			resp := f.postForm(c, "/login", form, nil)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
			for _, ck := range resp.Cookies() {
				if ck.Name == tenancy.SessionCookie {
					t.Error("a session was opened without a valid CSRF token")
				}
			}
		})
	}
}

func TestPostWithoutSessionCSRFTokenIsForbidden(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, csrf := f.signIn("admin@acme.test")
	tests := []struct {
		name   string
		form   url.Values
		header http.Header
		want   int
	}{
		{"no token", url.Values{}, nil, http.StatusForbidden},
		{"wrong form token", url.Values{tenancy.CSRFFormField: {"x" + csrf}}, nil, http.StatusForbidden},
		{"wrong header token", url.Values{}, http.Header{tenancy.CSRFHeader: {csrf[1:]}}, http.StatusForbidden},
		{"cross-site origin", url.Values{tenancy.CSRFFormField: {csrf}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"foreign origin", url.Values{tenancy.CSRFFormField: {csrf}}, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.postForm(c, "/logout", tt.form, tt.header)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	// The session survived every rejected attempt.
	f.getDoc(c, "/", nil, http.StatusOK)
}

func TestLogoutEndsSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		post func(c *http.Client, csrf string) *http.Response
	}{
		{"form field", func(c *http.Client, csrf string) *http.Response {
			return f.postForm(c, "/logout", url.Values{tenancy.CSRFFormField: {csrf}}, nil)
		}},
		{"header", func(c *http.Client, csrf string) *http.Response {
			return f.postForm(c, "/logout", url.Values{}, http.Header{tenancy.CSRFHeader: {csrf}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, csrf := f.signIn("ops@globex.test")
			resp := tt.post(c, csrf)
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
				t.Fatalf("got %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
			}
			resp = f.get(c, "/", nil)
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("dashboard after sign-out: status %d, want 303 to /login", resp.StatusCode)
			}
		})
	}
}

func TestUnknownPageIsFriendly404(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("ops@globex.test")
	doc := f.getDoc(c, "/no-such-page", nil, http.StatusNotFound)
	if doc.Find(testID("error-page")).Length() != 1 {
		t.Error("no error page rendered")
	}
	if doc.Find(testID("user-email")).Text() != "ops@globex.test" {
		t.Error("error page lacks the signed-in header")
	}
}

func TestResponsesCarrySecurityHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp := f.get(f.client(), "/login", nil)
	resp.Body.Close()
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
}

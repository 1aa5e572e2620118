package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/loginpage"
)

// TestSessionCookieIsSecureBehindTrustedTLSProxy signs in through a proxy
// that terminated TLS: the session cookie is Secure and the answer carries
// HSTS only when the proxy is trusted.
func TestSessionCookieIsSecureBehindTrustedTLSProxy(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite://var/truecost.db"
	if out, code := cmd(t, dir, dbURL, "", "orgs", "create", "acme"); code != 0 {
		t.Fatalf("orgs create: %d %s", code, out)
	}
	if out, code := cmd(t, dir, dbURL, "secret-password\n", "users", "create", "ana@acme.example", "--org", "acme", "--role", "member", "--password-stdin"); code != 0 {
		t.Fatalf("users create: %d %s", code, out)
	}
	trusted := serve(t, dir, dbURL, "--trusted-proxies", "10.0.0.0/8, 127.0.0.1")
	untrusted := serve(t, dir, dbURL, "--trusted-proxies", "10.0.0.0/8")
	tests := []struct {
		name       string
		base       string
		wantSecure bool
	}{
		{"trusted proxy", trusted, true},
		{"untrusted peer", untrusted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := signIn(t, tt.base, "ana@acme.example", "secret-password", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
			var session *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == tenancy.SessionCookie {
					session = c
				}
			}
			if resp.StatusCode != http.StatusSeeOther || session == nil {
				t.Fatalf("status %d, cookies %v; want 303 with a session", resp.StatusCode, resp.Cookies())
			}
			if session.Secure != tt.wantSecure {
				t.Errorf("session cookie Secure = %v, want %v", session.Secure, tt.wantSecure)
			}
			if hsts := resp.Header.Get("Strict-Transport-Security"); (hsts != "") != tt.wantSecure {
				t.Errorf("Strict-Transport-Security = %q, want it set %v", hsts, tt.wantSecure)
			}
		})
	}
}

// signIn fetches the sign-in form, then posts it with headers and returns
// the answer without following its redirect.
func signIn(t *testing.T, base, email, password string, headers map[string]string) *http.Response {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	form.Body.Close()
	var token string
	for _, c := range form.Cookies() {
		if c.Name == loginpage.CSRFCookie {
			token = c.Value
		}
	}
	body := url.Values{"email": {email}, "password": {password}, tenancy.CSRFFormField: {token}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestProxiesFindTheClientAddress(t *testing.T) {
	ps, err := parseProxies("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer, forwardedFor string
		want                     string
	}{
		{"direct client", "198.51.100.7:5000", "", "198.51.100.7:5000"},
		{"untrusted peer's header is ignored", "198.51.100.7:5000", "203.0.113.9", "198.51.100.7:5000"},
		{"trusted proxy", "10.1.2.3:443", "203.0.113.9", "203.0.113.9:0"},
		{"spoofed entry left of the client", "10.1.2.3:443", "1.1.1.1, 203.0.113.9, 192.0.2.1", "203.0.113.9:0"},
		{"garbage stops the walk", "10.1.2.3:443", "203.0.113.9, nonsense", "10.1.2.3:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := ps.handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.peer
			if tt.forwardedFor != "" {
				req.Header.Set("X-Forwarded-For", tt.forwardedFor)
			}
			h.ServeHTTP(nopWriter{}, req)
			if got != tt.want {
				t.Errorf("RemoteAddr = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := parseProxies("10.0.0.0/33"); err == nil {
		t.Error("a bad CIDR range was accepted")
	}
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

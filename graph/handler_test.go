package graph_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/truecost/truecost/domain/tenancy"
)

func TestHandlerRefusesRequestsWithoutValidCredentials(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	cookie := func(value, csrf string) func(*http.Request) {
		return func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: tenancy.SessionCookie, Value: value})
			if csrf != "" {
				r.Header.Set(tenancy.CSRFHeader, csrf)
			}
		}
	}
	tests := []struct {
		name string
		auth func(*http.Request)
	}{
		{"no credentials", nil},
		{"unknown bearer token", bearer("tc_wrong")},
		{"empty bearer token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }},
		{"basic scheme", func(r *http.Request) { r.Header.Set("Authorization", "Basic "+fakeToken) }},
		{"session cookie without CSRF header", cookie(fakeCookie, "")},
		{"session cookie with wrong CSRF header", cookie(fakeCookie, "csrf-valuf")},
		{"expired session with CSRF header", cookie(expiredSess, fakeCSRF)},
		{"bad bearer token beside a good session", func(r *http.Request) {
			cookie(fakeCookie, fakeCSRF)(r)
			bearer("tc_wrong")(r)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, resp, raw := post(t, api.server.URL, `{ viewer { user { id } } }`, nil, tt.auth)
			if status != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401; body %s", status, raw)
			}
			if got := resp.codes(); !reflect.DeepEqual(got, []string{"unauthorized"}) {
				t.Errorf("error codes = %v, want [unauthorized]; body %s", got, raw)
			}
			var top map[string]any
			_ = json.Unmarshal([]byte(raw), &top)
			if _, ok := top["errors"]; !ok || len(top) != 1 {
				t.Errorf("body = %s, want only errors", raw)
			}
		})
	}
}

func TestHandlerAcceptsTokenOrSessionWithCSRFHeader(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	tests := []struct {
		name string
		auth func(*http.Request)
	}{
		{"bearer token", bearer(fakeToken)},
		{"lower-case scheme", func(r *http.Request) { r.Header.Set("Authorization", "bearer "+fakeToken) }},
		{"session cookie with CSRF header", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: tenancy.SessionCookie, Value: fakeCookie})
			r.Header.Set(tenancy.CSRFHeader, fakeCSRF)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, resp, raw := post(t, api.server.URL, `{ viewer { user { id email role } organization { id slug name kind resellerId } } }`, nil, tt.auth)
			if status != http.StatusOK || len(resp.Errors) > 0 {
				t.Fatalf("status = %d, body %s", status, raw)
			}
			want := `{"viewer":{"user":{"id":"user-1","email":"ana@acme.test","role":"ADMIN"},"organization":{"id":"org-1","slug":"acme","name":"Acme","kind":"CUSTOMER","resellerId":null}}}`
			if string(resp.Data) != want {
				t.Errorf("data = %s\nwant   %s", resp.Data, want)
			}
		})
	}
}

func TestHandlerServesGraphiQLToBrowsers(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	req, _ := http.NewRequest(http.MethodGet, api.server.URL+"/graphql", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), "graphiql") {
		t.Errorf("status %d, body does not load GraphiQL:\n%.300s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), "/graphql") {
		t.Errorf("GraphiQL page does not point at /graphql")
	}
	// The page may not be framed, and runs only the scripts it names.
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("CSP %q, X-Frame-Options %q; want framing refused", csp, resp.Header.Get("X-Frame-Options"))
	}
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllSubmatch(body, -1)
	if len(scripts) == 0 {
		t.Fatal("the GraphiQL page has no inline script")
	}
	if regexp.MustCompile(`script-src[^;]*'unsafe-inline'`).MatchString(csp) {
		t.Errorf("CSP %q allows any inline script", csp)
	}
	for _, m := range scripts {
		sum := sha256.Sum256(m[1])
		if hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, hash) {
			t.Errorf("CSP %q does not allow the inline script %s", csp, hash)
		}
	}
}

func TestHandlerAnswersGETOperations(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	req, _ := http.NewRequest(http.MethodGet, api.server.URL+"?query="+strings.ReplaceAll("{ viewer { user { id } } }", " ", "%20"), nil)
	bearer(fakeToken)(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"user-1"`) {
		t.Errorf("status %d, body %s", resp.StatusCode, body)
	}
}

func TestHandlerRefusesOverlyComplexOperations(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	var b strings.Builder
	b.WriteString("{")
	for i := range 200 {
		fmt.Fprintf(&b, " v%d: viewer { user { id email role } }", i)
	}
	b.WriteString(" }")
	status, resp, raw := post(t, api.server.URL, b.String(), nil, bearer(fakeToken))
	if len(resp.Errors) != 1 || string(resp.Data) != "null" {
		t.Fatalf("status %d, body %.300s", status, raw)
	}
	if got := resp.codes()[0]; got != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Errorf("code = %q, want COMPLEXITY_LIMIT_EXCEEDED", got)
	}
}

func TestHandlerHidesFailuresToCheckCredentials(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	status, resp, raw := post(t, api.server.URL, `{ viewer { user { id } } }`, nil, bearer("tc_db_down"))
	if status != http.StatusInternalServerError || !reflect.DeepEqual(resp.codes(), []string{"internal"}) {
		t.Errorf("status %d, body %s; want 500 with code internal", status, raw)
	}
	if strings.Contains(raw, "10.0.0.5") {
		t.Errorf("body leaks the cause: %s", raw)
	}
}

// Package layout holds what every console page shares: the page shell with
// its header and navigation, the error page, and the formatting of amounts,
// counts and dates for display.
package layout

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/truecost/truecost/domain/tenancy"
)

// Chrome is the view model of the page shell around a signed-in page: who is
// signed in, the CSRF token the page's forms and htmx requests echo, and the
// current path for the navigation.
type Chrome struct {
	UserEmail string
	OrgName   string
	Reseller  bool
	CSRFToken string
	Path      string
}

// InSection reports whether the current page is href or, for a section
// other than the dashboard at "/", one of its sub-pages.
func (c Chrome) InSection(href string) bool {
	return c.Path == href || href != "/" && strings.HasPrefix(c.Path, href+"/")
}

// SignedIn reports whether the chrome belongs to a session.
func (c Chrome) SignedIn() bool { return c.CSRFToken != "" }

type chromeKey struct{}

// WithChrome returns ctx carrying the page chrome of the request.
func WithChrome(ctx context.Context, c Chrome) context.Context {
	return context.WithValue(ctx, chromeKey{}, c)
}

// ChromeFrom returns the chrome carried by ctx; the zero Chrome (no session)
// when there is none.
func ChromeFrom(ctx context.Context) Chrome {
	c, _ := ctx.Value(chromeKey{}).(Chrome)
	return c
}

// IsFragmentRequest reports whether htmx sent the request and expects only a
// fragment of the page. A history restore asks for the whole page.
func IsFragmentRequest(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// htmxConfig configures htmx: error responses are swapped in too (they
// carry a friendly message), history restores fetch whole pages, and nothing
// needs eval or injected styles, which the Content-Security-Policy forbids.
const htmxConfig = `{"historyRestoreAsHxRequest":false,"allowEval":false,"allowScriptTags":false,"includeIndicatorStyles":false,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"[45]..","swap":true,"error":true}]}`

// csrfHeaders is the hx-headers value making every htmx request carry the
// session's CSRF token.
func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{tenancy.CSRFHeader: token})
	return string(b)
}

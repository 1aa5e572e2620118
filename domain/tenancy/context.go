package tenancy

import "context"

// SessionCookie is the name of the console's session cookie, and CSRFHeader
// the header carrying a session's CSRF token on script requests (htmx and
// GraphQL). Both drivers, console and GraphQL, read them.
const (
	SessionCookie = "truecost_session"
	CSRFHeader    = "X-CSRF-Token"
	CSRFFormField = "csrf_token"
)

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated caller.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller carried by ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

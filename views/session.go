package views

import (
	"crypto/subtle"
	"net/http"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
)

// maxFormBytes bounds the body of console forms.
const maxFormBytes = 1 << 20

var (
	errPageNotFound  = domain.Errorf(domain.NotFound, "page not found")
	errBadCSRF       = domain.Errorf(domain.Forbidden, "this request did not carry a valid CSRF token; reload the page and try again")
	errInternalPanic = domain.Errorf(domain.Internal, "internal error")
)

// public serves pages that need no session (the login form).
func (s *server) public(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := h(w, r); err != nil {
			s.serveError(w, r, err)
		}
	})
}

// signedIn serves pages that need a session: it resolves the session cookie
// to the caller, refuses state-changing requests without the session's CSRF
// token, and puts the caller and the page chrome in the request context.
func (s *server) signedIn(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		var token string
		if c, err := r.Cookie(tenancy.SessionCookie); err == nil {
			token = c.Value
		}
		sess, p, err := s.deps.Tenancy.SessionPrincipal(r.Context(), token)
		if err != nil {
			s.serveError(w, r, err)
			return
		}
		if !safeMethod(r.Method) && !validCSRF(r, sess.CSRF) {
			s.serveError(w, r, errBadCSRF)
			return
		}
		ctx := tenancy.WithPrincipal(r.Context(), p)
		ctx = layout.WithChrome(ctx, layout.Chrome{
			UserEmail: p.User.Email,
			OrgName:   p.Org.Name,
			Reseller:  p.Org.Kind == tenancy.Reseller,
			CSRFToken: sess.CSRF,
			Path:      r.URL.Path,
		})
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Add("Vary", "HX-Request")
		if err := h(w, r.WithContext(ctx)); err != nil {
			s.serveError(w, r.WithContext(ctx), err)
		}
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// validCSRF reports whether the request echoes want in the CSRF header or
// form field.
func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get(tenancy.CSRFHeader)
	if got == "" {
		got = r.PostFormValue(tenancy.CSRFFormField)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

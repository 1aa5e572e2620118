// Package loginpage is the console's sign-in page and sign-out action. It
// owns the session cookie, and protects the sign-in form itself against CSRF
// with a double-submit token: a cookie set with the form and a hidden field
// that must match it.
package loginpage

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
	"github.com/truecost/truecost/views/viewkit"
)

// CSRFCookie holds the double-submit token of the sign-in form.
const CSRFCookie = "truecost_login_csrf"

// form is the CSRF token of the page's form.
var form = viewkit.PreSessionForm{Cookie: CSRFCookie, Path: "/login"}

// Auth opens, checks and ends console sessions.
type Auth interface {
	Login(ctx context.Context, email, password, client string) (string, tenancy.Session, tenancy.Principal, error)
	Logout(ctx context.Context, token string) error
	SessionPrincipal(ctx context.Context, token string) (tenancy.Session, tenancy.Principal, error)
}

// Handler serves GET and POST /login and POST /logout.
type Handler struct {
	Auth Auth
}

// View is the view model of the sign-in form.
type View struct {
	Email     string
	Error     string
	CSRFToken string
}

// Show renders the sign-in form, or sends a signed-in caller to the
// dashboard.
func (h *Handler) Show(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(tenancy.SessionCookie); err == nil {
		if _, _, err := h.Auth.SessionPrincipal(r.Context(), c.Value); err == nil {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return nil
		}
	}
	token, err := form.Token(w, r)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, View{CSRFToken: token})
}

// Submit checks the form's CSRF token and the credentials, then sets the
// session cookie and redirects to the dashboard. Wrong credentials show the
// form again with "wrong email or password"; too many failures show it with
// HTTP 429, a Retry-After and how long to wait.
func (h *Handler) Submit(w http.ResponseWriter, r *http.Request) error {
	email := r.PostFormValue("email")
	password := r.PostFormValue("password")
	cookie, err := r.Cookie(CSRFCookie)
	if err != nil || !sameToken(cookie.Value, r.PostFormValue(tenancy.CSRFFormField)) {
		token, err := form.New(w, r)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusForbidden, View{
			Email:     email,
			Error:     "This sign-in form has expired. Please sign in again.",
			CSRFToken: token,
		})
	}

	sessionToken, sess, _, err := h.Auth.Login(r.Context(), email, password, r.RemoteAddr)
	switch domain.ErrorCode(err) {
	case domain.Unauthorized:
		return render(w, r, http.StatusUnauthorized, View{Email: email, Error: domain.ErrorMessage(err), CSRFToken: cookie.Value})
	case domain.RateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(domain.RetryAfterSeconds(err)))
		return render(w, r, http.StatusTooManyRequests, View{Email: email, Error: domain.ErrorMessage(err), CSRFToken: cookie.Value})
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     tenancy.SessionCookie,
		Value:    sessionToken,
		Path:     "/",
		Expires:  sess.ExpiresAt,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	form.Forget(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// Logout ends the caller's session and clears its cookie. The caller's CSRF
// token has been checked before it runs.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(tenancy.SessionCookie); err == nil {
		if err := h.Auth.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name:     tenancy.SessionCookie,
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	if layout.IsFragmentRequest(r) {
		w.Header().Set("HX-Redirect", "/login")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func render(w http.ResponseWriter, r *http.Request, status int, v View) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return Page(v).Render(r.Context(), w)
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

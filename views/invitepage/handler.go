// Package invitepage is where an invited user sets a password: the
// one-time link a reseller (or an organization's admin) hands over opens
// it. It is public, so the form protects itself against CSRF with a
// double-submit token as the sign-in form does; setting the password uses
// the invitation up and signs the user in.
package invitepage

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
)

// CSRFCookie holds the double-submit token of the form.
const CSRFCookie = "truecost_invite_csrf"

// Invites reads invitations and accepts them; *tenancy.Service implements
// it.
type Invites interface {
	Invitation(ctx context.Context, token string) (tenancy.User, error)
	AcceptInvite(ctx context.Context, token, password, client string) (string, tenancy.Session, tenancy.Principal, error)
}

var _ Invites = (*tenancy.Service)(nil)

// Handler serves GET and POST /invite/{token}.
type Handler struct {
	Invites Invites
}

// View is the set-password form.
type View struct {
	Action    string
	Email     string
	Error     string
	CSRFToken string
}

// Show renders the form of a usable invitation; any other token is a
// not-found error page.
func (h *Handler) Show(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	u, err := h.Invites.Invitation(r.Context(), token)
	if err != nil {
		return err
	}
	csrf, err := formToken(w, r)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, View{Action: "/invite/" + url.PathEscape(token), Email: u.Email, CSRFToken: csrf})
}

// Submit sets the password, signs the user in and sends them to the
// dashboard.
func (h *Handler) Submit(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	v := View{Action: "/invite/" + url.PathEscape(token)}
	cookie, err := r.Cookie(CSRFCookie)
	if err != nil || !sameToken(cookie.Value, r.PostFormValue(tenancy.CSRFFormField)) {
		if v.CSRFToken, err = newFormToken(w, r); err != nil {
			return err
		}
		v.Error = "This form has expired. Please try again."
		return render(w, r, http.StatusForbidden, v)
	}
	v.CSRFToken = cookie.Value
	password := r.PostFormValue("password")
	if password != r.PostFormValue("confirm") {
		v.Error = "The two passwords differ."
		return render(w, r, http.StatusUnprocessableEntity, v)
	}
	session, sess, _, err := h.Invites.AcceptInvite(r.Context(), token, password, r.RemoteAddr)
	switch domain.ErrorCode(err) {
	case domain.Invalid:
		v.Error = domain.ErrorMessage(err)
		return render(w, r, http.StatusUnprocessableEntity, v)
	case domain.RateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(domain.RetryAfterSeconds(err)))
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: tenancy.SessionCookie, Value: session, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Path: "/invite", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func render(w http.ResponseWriter, r *http.Request, status int, v View) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return Page(v).Render(r.Context(), w)
}

func formToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value, nil
	}
	return newFormToken(w, r)
}

func newFormToken(w http.ResponseWriter, r *http.Request) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: token, Path: "/invite", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode})
	return token, nil
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

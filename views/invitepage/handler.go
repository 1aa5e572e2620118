// Package invitepage is where an invited user sets a password: the
// one-time link a reseller (or an organization's admin) hands over opens
// it. It is public, so the form protects itself against CSRF with a
// double-submit token as the sign-in form does; setting the password uses
// the invitation up and signs the user in.
package invitepage

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/viewkit"
)

// CSRFCookie holds the double-submit token of the form.
const CSRFCookie = "truecost_invite_csrf"

// form is the CSRF token of the page's form.
var form = viewkit.PreSessionForm{Cookie: CSRFCookie, Path: "/invite"}

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
	csrf, err := form.Token(w, r)
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
		if v.CSRFToken, err = form.New(w, r); err != nil {
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
	form.Forget(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
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

package viewkit

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
)

// AnswerSave answers the post of an add or edit form once the domain has
// saved what the user entered, with err as the outcome. Saved, the browser
// goes on to next (303 See Other). Refused (see FormError), the form is
// shown again with status 422: refill builds it with what the user entered
// and the refusal. Any other error, or refill's, is returned for the error
// page.
func AnswerSave(w http.ResponseWriter, r *http.Request, err error, next string, refill func(refused error) (templ.Component, error)) error {
	if err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	if !FormError(err) {
		return err
	}
	form, err := refill(err)
	if err != nil {
		return err
	}
	return Render(w, r, http.StatusUnprocessableEntity, form)
}

// PostedOrg is the organization an add form posted in its org field (a
// reseller's choice), the caller's own when the field is empty.
func PostedOrg(r *http.Request, p tenancy.Principal) string {
	if org := strings.TrimSpace(r.PostFormValue("org")); org != "" {
		return org
	}
	return p.Org.ID
}

// PlaceRefusal returns how a form shows the refused save err: its message,
// above the form, and its detail by the form field it is about (see
// PlaceField).
func PlaceRefusal(err error, field func(subject string) string) (message string, byField map[string]string) {
	message, byField = domain.ErrorMessage(err), map[string]string{}
	PlaceField(byField, message, field)
	return message, byField
}

// In describes one input of a form.
type In struct {
	Name        string
	Label       string
	Value       string
	Hint        string
	Placeholder string
	Type        string // "text" when empty
	List        string // the id of a datalist of suggestions
	Pattern     string
	InputMode   string
	Required    bool
	Optional    bool // marked "optional" next to the label
	Mono        bool
	Wide        bool // spans the form grid's two columns
}

// InputType is the input's type attribute.
func (in In) InputType() string {
	if in.Type == "" {
		return "text"
	}
	return in.Type
}

// FormError reports whether a failed save is shown in the form rather than
// as an error page.
func FormError(err error) bool {
	switch domain.ErrorCode(err) {
	case domain.Invalid, domain.Conflict, domain.Unavailable:
		return true
	}
	return false
}

// PlaceField records the detail of msg ("subject: detail") under the form
// field that field names for its subject; nothing when it names none.
func PlaceField(errs map[string]string, msg string, field func(subject string) string) {
	subject, detail, ok := strings.Cut(msg, ": ")
	if !ok {
		return
	}
	if name := field(subject); name != "" {
		errs[name] = upperFirst(detail)
	}
}

// Labels is a field lookup for PlaceField from a map of subjects to field
// names.
func Labels(m map[string]string) func(string) string {
	return func(subject string) string { return m[subject] }
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Kept returns the identifiers among the credentials entered in a form
// that failed to save, trimmed, so the form shows them again; secrets are
// never sent back.
func Kept[M ~map[string]string](entered M, identifiers map[string]bool) map[string]string {
	kept := map[string]string{}
	for k, v := range entered {
		if identifiers[k] {
			kept[k] = strings.TrimSpace(v)
		}
	}
	return kept
}

// PostedSecrets copies the non-blank values posted for names into into.
func PostedSecrets[M ~map[string]string](r *http.Request, names []string, into M) {
	for _, name := range names {
		if s := r.PostFormValue(name); strings.TrimSpace(s) != "" {
			into[name] = s
		}
	}
}

// PreSessionForm is the double-submit CSRF token of a form shown before
// anyone is signed in (sign-in, an invitation): a random value in a cookie
// scoped to the form's path, echoed by the form in a hidden field.
type PreSessionForm struct {
	Cookie string // the cookie's name
	Path   string // the form's path, the only one the cookie is sent to
}

// Token returns the token of the request's cookie, so that several open
// tabs keep working, or sets a new one.
func (f PreSessionForm) Token(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(f.Cookie); err == nil && len(c.Value) >= 32 {
		return c.Value, nil
	}
	return f.New(w, r)
}

// New sets a new token and returns it.
func (f PreSessionForm) New(w http.ResponseWriter, r *http.Request) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: f.Cookie, Value: token, Path: f.Path, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode})
	return token, nil
}

// Forget deletes the token once the form has done its work.
func (f PreSessionForm) Forget(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: f.Cookie, Path: f.Path, MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode})
}

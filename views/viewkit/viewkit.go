// Package viewkit holds what the console's management pages (cloud
// accounts, billing connectors) share: who the caller is, answering a
// request with a fragment, a page or a redirect, the organization picker
// and select options, and placing a failed save's message next to the
// form field it is about.
package viewkit

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
)

// ErrNotSignedIn is the error of a request without a session.
var ErrNotSignedIn = domain.Errorf(domain.Unauthorized, "not signed in")

// Now reads clock, or time.Now when clock is nil.
func Now(clock func() time.Time) time.Time {
	if clock == nil {
		return time.Now()
	}
	return clock()
}

// Principal returns the signed-in caller of ctx, or ErrNotSignedIn.
func Principal(ctx context.Context) (tenancy.Principal, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return tenancy.Principal{}, ErrNotSignedIn
	}
	return p, nil
}

// Admin returns the signed-in caller of ctx when it is an organization
// admin, and notAdmin otherwise.
func Admin(ctx context.Context, notAdmin error) (tenancy.Principal, error) {
	p, err := Principal(ctx)
	if err != nil {
		return p, err
	}
	if !p.IsAdmin() {
		return p, notAdmin
	}
	return p, nil
}

// Render writes c as HTML with status (200 when 0).
func Render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status != 0 {
		w.WriteHeader(status)
	}
	return c.Render(r.Context(), w)
}

// Redirect sends the browser to to after a post: through HX-Redirect for
// htmx, a 303 otherwise.
func Redirect(w http.ResponseWriter, r *http.Request, to string) {
	if layout.IsFragmentRequest(r) {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
}

// OptionLabel is the label of value among opts; value itself when none
// has it.
func OptionLabel(opts []Option, value string) string {
	for _, o := range opts {
		if o.Value == value {
			return o.Label
		}
	}
	return value
}

// RegionOptions lists regions as select options, keeping a current value
// that is not in the list.
func RegionOptions(regions []string, current string) []Option {
	opts := make([]Option, 0, len(regions)+1)
	found := current == ""
	for _, r := range regions {
		opts = append(opts, Option{Value: r, Label: r})
		found = found || r == current
	}
	if !found {
		opts = append([]Option{{Value: current, Label: current}}, opts...)
	}
	return opts
}

// Picker is an organization select; Show is false for callers that see
// only their own organization.
type Picker struct {
	Show     bool
	Options  []Option
	Selected string
}

// OrgPicker lists a reseller's own organization and its customers by
// name, after an "all" choice when allLabel is set.
func OrgPicker(p tenancy.Principal, orgs []tenancy.Organization, selected, allLabel string) Picker {
	v := Picker{Show: p.Org.Kind == tenancy.Reseller, Selected: selected}
	if !v.Show {
		return v
	}
	if allLabel != "" {
		v.Options = append(v.Options, Option{Value: "", Label: allLabel})
	}
	v.Options = append(v.Options, Option{Value: p.Org.ID, Label: p.Org.Name + " (own account)"})
	customers := make([]tenancy.Organization, 0, len(orgs))
	for _, o := range orgs {
		if o.ID != p.Org.ID {
			customers = append(customers, o)
		}
	}
	sort.Slice(customers, func(i, j int) bool { return customers[i].Name < customers[j].Name })
	for _, o := range customers {
		v.Options = append(v.Options, Option{Value: o.ID, Label: o.Name})
	}
	return v
}

// OrgNames maps organization IDs to their names.
func OrgNames(orgs []tenancy.Organization) map[string]string {
	m := make(map[string]string, len(orgs))
	for _, o := range orgs {
		m[o.ID] = o.Name
	}
	return m
}

// Setting is one line of a settings list.
type Setting struct {
	Label, Value string
	Mono         bool
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

// PrincipalLabel describes the AWS principal a trust policy names.
func PrincipalLabel(principal string) string {
	if principal == "" {
		return ""
	}
	if strings.HasSuffix(principal, ":root") {
		if parts := strings.Split(principal, ":"); len(parts) >= 5 {
			return "AWS account " + parts[4]
		}
	}
	return principal
}

// Answer renders fragment for an htmx request and page otherwise, as HTML
// with status (200 when 0).
func Answer(w http.ResponseWriter, r *http.Request, status int, fragment, page templ.Component) error {
	if layout.IsFragmentRequest(r) {
		return Render(w, r, status, fragment)
	}
	return Render(w, r, status, page)
}

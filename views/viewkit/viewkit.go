// Package viewkit holds what the console's management pages (cloud
// accounts, billing connectors) share: who the caller is, answering a
// request with a fragment, a page or a redirect, the organization picker
// and select options, and (form.go) the save of an add or edit form: going
// on once saved, or showing the form again with what the user entered and
// the domain's message next to the field it is about.
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

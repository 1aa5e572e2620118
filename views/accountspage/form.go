package accountspage

import (
	"context"
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
	"github.com/truecost/truecost/views/viewkit"
)

// Form is the view model of the add and edit forms.
type Form struct {
	New    bool
	Action string
	Cancel string
	ID     string
	CSRF   string
	Title  string // the account's saved name, when editing

	Provider  connectors.Provider
	Providers []ProviderChoice
	Picker    viewkit.Picker // the owning organization, for resellers adding one
	OrgName   string         // the owning organization, when editing

	Name              string
	ProviderAccountID string
	BillingAccountID  string
	// Access is the chosen AWS credential: "role" or "keys".
	Access string
	// Kept holds the identifiers among the credentials (role ARN, tenant
	// and client IDs, user OCID…) entered before a failed save; secrets
	// themselves are never sent back.
	Kept           map[string]string
	HasCredentials bool

	// Errors maps a field name to what is wrong with it; Error is the
	// message above the form.
	Errors map[string]string
	Error  string

	// For AWS: the trust policy the role needs (with the external ID once
	// the account exists) and the principal it trusts.
	ExternalID  string
	TrustPolicy string
	Principal   string
}

// ProviderChoice is one cloud in the provider picker.
type ProviderChoice struct {
	Info    ProviderInfo
	Checked bool
}

// Field names of the form. Credentials use their Credentials keys.
const (
	fName, fOrg, fProvider, fAccess = "name", "org", "provider", "access"
	fAccountID, fBillingAccountID   = "provider_account_id", "billing_account_id"
)

// credentialFields are the credentials each provider's form may carry, by
// AWS access method ("" for providers without a choice).
var credentialFields = map[connectors.Provider]map[string][]string{
	connectors.AWS: {
		"role": {"role_arn"},
		"keys": {"access_key_id", "secret_access_key"},
	},
	connectors.Azure: {"": {"tenant_id", "client_id", "client_secret"}},
	connectors.GCP:   {"": {"service_account_json"}},
	connectors.OCI:   {"": {"user_ocid", "fingerprint", "private_key", "region"}},
}

// identifiers are the credentials that name something rather than prove
// anything; a form that failed to save keeps them.
var identifiers = map[string]bool{"role_arn": true, "tenant_id": true, "client_id": true, "user_ocid": true, "fingerprint": true, "region": true}

// fieldLabels maps the subject a domain validation message starts with to
// the form field it is about.
var fieldLabels = map[string]string{
	"name":                fName,
	"provider":            fProvider,
	"AWS account ID":      fAccountID,
	"subscription ID":     fAccountID,
	"project ID":          fAccountID,
	"tenancy OCID":        fAccountID,
	"billing account ID":  fBillingAccountID,
	"role ARN":            "role_arn",
	"access keys":         "access_key_id",
	"service principal":   "tenant_id",
	"service account key": "service_account_json",
	"user OCID":           "user_ocid",
}

// New renders the add form for ?provider= (AWS when absent), in ?org= for
// a reseller.
func (h *Handler) New(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f, err := h.newForm(ctx, p, providerOr(q.Get(fProvider)), q.Get(fOrg))
	if err != nil {
		return err
	}
	return viewkit.Render(w, r, 0, FormPage(layout.ChromeFrom(ctx), f))
}

// Fields renders the add form's provider-specific fields for ?provider=;
// the provider picker swaps them in with htmx.
func (h *Handler) Fields(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	provider := connectors.Provider(r.URL.Query().Get(fProvider))
	if !known(provider) {
		return domain.Errorf(domain.Invalid, "unknown cloud provider %q", provider)
	}
	f, err := h.newForm(ctx, p, provider, "")
	if err != nil {
		return err
	}
	return viewkit.Render(w, r, 0, ProviderFields(f))
}

func (h *Handler) newForm(ctx context.Context, p tenancy.Principal, provider connectors.Provider, org string) (Form, error) {
	if org == "" {
		org = p.Org.ID
	}
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return Form{}, err
	}
	f := Form{
		New:      true,
		Action:   "/accounts",
		Cancel:   listURL(org, p),
		CSRF:     layout.ChromeFrom(ctx).CSRFToken,
		Provider: provider,
		Picker:   viewkit.OrgPicker(p, orgs, org, ""),
		Access:   "role",
		Errors:   map[string]string{},
	}
	for _, c := range accounts.Providers {
		f.Providers = append(f.Providers, ProviderChoice{Info: providerInfo(c), Checked: c == provider})
	}
	if provider == connectors.AWS {
		f.TrustPolicy = awsTrustPolicy("EXTERNAL_ID_SHOWN_AFTER_SAVING", h.AWSPrincipal)
		f.Principal = viewkit.PrincipalLabel(h.AWSPrincipal)
	}
	return f, nil
}

// Create adds an account. An AWS account lands on its page, which shows
// the trust policy with its new external ID; the others on the list. A
// rejected form is shown again with the message next to the field.
func (h *Handler) Create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	provider, org := providerOr(r.PostFormValue(fProvider)), viewkit.PostedOrg(r, p)
	in, access := readInput(r, provider)
	a, err := h.Accounts.Create(ctx, p, org, in)
	next := listURL(org, p)
	next += sep(next) + "created=" + a.ID
	if a.Provider == connectors.AWS {
		next = "/accounts/" + a.ID + "?created=1"
	}
	return viewkit.AnswerSave(w, r, err, next, func(refused error) (templ.Component, error) {
		f, err := h.newForm(ctx, p, provider, org)
		if err != nil {
			return nil, err
		}
		f.refill(in, access, refused)
		return FormPage(layout.ChromeFrom(ctx), f), nil
	})
}

// Edit renders the form changing an account. Credentials are not shown:
// left empty, the stored ones are kept.
func (h *Handler) Edit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	a, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	f, err := h.editForm(ctx, p, a)
	if err != nil {
		return err
	}
	return viewkit.Render(w, r, 0, FormPage(layout.ChromeFrom(ctx), f))
}

func (h *Handler) editForm(ctx context.Context, p tenancy.Principal, a accounts.Account) (Form, error) {
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return Form{}, err
	}
	f := Form{
		Action:            "/accounts/" + a.ID + "/edit",
		Cancel:            "/accounts/" + a.ID,
		ID:                a.ID,
		CSRF:              layout.ChromeFrom(ctx).CSRFToken,
		Title:             a.Name,
		Provider:          a.Provider,
		Name:              a.Name,
		ProviderAccountID: a.ProviderAccountID,
		BillingAccountID:  a.BillingAccountID,
		Access:            "role",
		HasCredentials:    a.HasCredentials,
		Errors:            map[string]string{},
	}
	if len(orgs) > 1 {
		f.OrgName = viewkit.OrgNames(orgs)[a.OrgID]
	}
	if a.Provider == connectors.AWS {
		f.ExternalID = a.ExternalID
		f.TrustPolicy = awsTrustPolicy(a.ExternalID, h.AWSPrincipal)
		f.Principal = viewkit.PrincipalLabel(h.AWSPrincipal)
	}
	return f, nil
}

// Update saves the edit form and returns to the account's page.
func (h *Handler) Update(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	a, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	f, err := h.editForm(ctx, p, a)
	if err != nil {
		return err
	}
	in, access := readInput(r, a.Provider)
	_, err = h.Accounts.Update(ctx, p, a.OrgID, a.ID, in)
	return viewkit.AnswerSave(w, r, err, "/accounts/"+a.ID+"?saved=1", func(refused error) (templ.Component, error) {
		f.refill(in, access, refused)
		return FormPage(layout.ChromeFrom(ctx), f), nil
	})
}

// readInput reads the form posted for provider. Only the chosen AWS access
// method's credentials are read.
func readInput(r *http.Request, provider connectors.Provider) (accounts.Input, string) {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	in := accounts.Input{Provider: provider, Name: v(fName), ProviderAccountID: v(fAccountID), Credentials: connectors.Secret{}}
	switch provider {
	case connectors.AWS:
		in.ProviderAccountID = strings.NewReplacer("-", "", " ", "").Replace(in.ProviderAccountID)
	case connectors.GCP:
		in.BillingAccountID = v(fBillingAccountID)
	}
	access := ""
	if provider == connectors.AWS {
		access = v(fAccess)
		if access != "keys" {
			access = "role"
		}
	}
	viewkit.PostedSecrets(r, credentialFields[provider][access], in.Credentials)
	return in, access
}

// refill puts what the user entered back in the form, except secrets,
// with the message of the save the domain refused: above the form, and
// next to the field it names.
func (f *Form) refill(in accounts.Input, access string, refused error) {
	f.Name, f.ProviderAccountID, f.BillingAccountID = in.Name, in.ProviderAccountID, in.BillingAccountID
	if access != "" {
		f.Access = access
	}
	f.Kept = viewkit.Kept(in.Credentials, identifiers)
	f.Error, f.Errors = viewkit.PlaceRefusal(refused, viewkit.Labels(fieldLabels))
}

func providerOr(s string) connectors.Provider {
	if p := connectors.Provider(s); known(p) {
		return p
	}
	return connectors.AWS
}

func known(p connectors.Provider) bool {
	for _, c := range accounts.Providers {
		if c == p {
			return true
		}
	}
	return false
}

// storedNote is what an empty credential field says when editing an
// account that has stored credentials.
const storedNote = "Stored — leave empty to keep"

// credentialPlaceholder is a credential field's placeholder: the stored
// note when editing an account with credentials, fallback otherwise.
func (f Form) credentialPlaceholder(fallback string) string {
	if !f.New && f.HasCredentials {
		return storedNote
	}
	return fallback
}

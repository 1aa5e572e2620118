package connectorspage

import (
	"context"
	"net/http"

	"github.com/a-h/templ"

	"github.com/truecost/truecost/domain"
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
	Title  string // the connector's saved name, when editing

	Provider  connectors.Provider
	Providers []ProviderChoice
	Picker    viewkit.Picker // the owning organization, for resellers adding one
	OrgName   string         // the owning organization, when editing

	Name    string
	Config  connectors.Config
	Enabled bool
	// Access is the chosen way to authenticate: AWS role or keys; Azure
	// connection_string, sas_url or service_principal.
	Access string
	// Kept holds the identifiers among the credentials (role ARN, tenant
	// and client IDs) entered before a failed save; credentials themselves
	// are never sent back.
	Kept      map[string]string
	HasSecret bool

	// Errors maps a field name to what is wrong with it; Error is the
	// message above the form.
	Errors map[string]string
	Error  string

	// For AWS: the trust policy the role needs (with the external ID once
	// the connector exists) and the principal it trusts.
	ExternalID  string
	TrustPolicy string
	Principal   string
}

// ProviderChoice is one cloud in the provider picker.
type ProviderChoice struct {
	Info    ProviderInfo
	Checked bool
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
	org := q.Get("org")
	if org == "" {
		org = p.Org.ID
	}
	f, err := h.newForm(ctx, p, providerOr(q.Get("provider")), org)
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
	if !cloud(provider) {
		return domain.Errorf(domain.Invalid, "unknown cloud provider %q", provider)
	}
	f, err := h.newForm(ctx, p, provider, p.Org.ID)
	if err != nil {
		return err
	}
	return viewkit.Render(w, r, 0, ProviderFields(f))
}

func (h *Handler) newForm(ctx context.Context, p tenancy.Principal, provider connectors.Provider, org string) (Form, error) {
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return Form{}, err
	}
	f := Form{
		New:      true,
		Action:   "/connectors",
		Cancel:   "/connectors",
		CSRF:     layout.ChromeFrom(ctx).CSRFToken,
		Provider: provider,
		Picker:   viewkit.OrgPicker(p, orgs, org, ""),
		Access:   defaultAccess[provider],
		Enabled:  true,
		Errors:   map[string]string{},
	}
	for _, c := range connectors.CloudProviders {
		f.Providers = append(f.Providers, ProviderChoice{Info: providerInfo(c), Checked: c == provider})
	}
	if provider == connectors.AWS {
		f.TrustPolicy = connectors.AWSTrustPolicy("EXTERNAL_ID_SHOWN_AFTER_SAVING", h.AWSPrincipal)
		f.Principal = viewkit.PrincipalLabel(h.AWSPrincipal)
	}
	return f, nil
}

// Create adds a connector. An AWS connector lands on its page, which shows
// the trust policy with its new external ID; the others on the list. A
// rejected form is shown again with the message next to the field.
func (h *Handler) Create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	provider, org := providerOr(r.PostFormValue(fProvider)), viewkit.PostedOrg(r, p)
	in, access := readInput(r, provider, connectors.Config{})
	c, err := h.Connectors.Create(ctx, p, org, in)
	next := "/connectors?created=" + c.ID
	if c.Provider == connectors.AWS {
		next = "/connectors/" + c.ID + "?created=1"
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

// Edit renders the form changing a connector. Credentials are not shown:
// left empty, the stored ones are kept.
func (h *Handler) Edit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	c, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	f, err := h.editForm(ctx, p, c)
	if err != nil {
		return err
	}
	return viewkit.Render(w, r, 0, FormPage(layout.ChromeFrom(ctx), f))
}

func (h *Handler) editForm(ctx context.Context, p tenancy.Principal, c connectors.Connector) (Form, error) {
	if !cloud(c.Provider) {
		return Form{}, domain.Errorf(domain.Invalid, "local connectors are set up from the command line (truecost ingest); they cannot be edited here")
	}
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return Form{}, err
	}
	f := Form{
		Action:    "/connectors/" + c.ID + "/edit",
		Cancel:    "/connectors/" + c.ID,
		ID:        c.ID,
		CSRF:      layout.ChromeFrom(ctx).CSRFToken,
		Provider:  c.Provider,
		OrgName:   viewkit.OrgNames(orgs)[c.OrgID],
		Name:      c.Name,
		Title:     c.Name,
		Config:    c.Config,
		Enabled:   c.Enabled,
		Access:    defaultAccess[c.Provider],
		HasSecret: c.HasSecret,
		Errors:    map[string]string{},
	}
	if len(orgs) < 2 {
		f.OrgName = ""
	}
	if c.Provider == connectors.AWS {
		f.ExternalID = c.ExternalID
		f.TrustPolicy = connectors.AWSTrustPolicy(c.ExternalID, h.AWSPrincipal)
		f.Principal = viewkit.PrincipalLabel(h.AWSPrincipal)
	}
	return f, nil
}

// Update saves the edit form and returns to the connector's page.
func (h *Handler) Update(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	c, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	f, err := h.editForm(ctx, p, c)
	if err != nil {
		return err
	}
	in, access := readInput(r, c.Provider, c.Config)
	_, err = h.Connectors.Update(ctx, p, c.OrgID, c.ID, in)
	return viewkit.AnswerSave(w, r, err, "/connectors/"+c.ID+"?saved=1", func(refused error) (templ.Component, error) {
		f.refill(in, access, refused)
		return FormPage(layout.ChromeFrom(ctx), f), nil
	})
}

// refill puts what the user entered back in the form, except credentials,
// with the message of the save the domain refused: above the form, and
// next to the field it names.
func (f *Form) refill(in connectors.Input, access string, refused error) {
	f.Name, f.Config, f.Enabled, f.Access = in.Name, in.Config, in.Enabled, access
	f.Kept = viewkit.Kept(in.Secret, identifiers)
	f.Error, f.Errors = viewkit.PlaceRefusal(refused, f.fieldFor)
}

func providerOr(s string) connectors.Provider {
	if p := connectors.Provider(s); cloud(p) {
		return p
	}
	return connectors.AWS
}

func cloud(p connectors.Provider) bool {
	for _, c := range connectors.CloudProviders {
		if c == p {
			return true
		}
	}
	return false
}

// Package exportspage is the console's Detailed Billing Exports page: an
// organization's export configurations (a reseller's own, across all its
// customers, at /exports; a customer's, at /customers/{org}/exports) with
// the form to Verify and Save one, and the list of export runs with Retry.
package exportspage

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
)

// Exports runs the export use cases for a caller, checking its rights.
// *exports.Service implements it.
type Exports interface {
	Configs(ctx context.Context, p tenancy.Principal, orgID string) ([]exports.Config, error)
	Verify(ctx context.Context, p tenancy.Principal, orgID string, in exports.Input) (exports.Verification, error)
	Save(ctx context.Context, p tenancy.Principal, orgID string, in exports.Input) (exports.Config, exports.Verification, error)
	Delete(ctx context.Context, p tenancy.Principal, orgID, id string) error
	Runs(ctx context.Context, p tenancy.Principal, orgID string, limit int) ([]exports.Run, error)
	Retry(ctx context.Context, p tenancy.Principal, orgID, id string) (exports.Run, error)
}

var _ Exports = (*exports.Service)(nil)

// Accounts lists an organization's cloud accounts (the AWS accounts an S3
// export may use). *accounts.Service implements it.
type Accounts interface {
	List(ctx context.Context, p tenancy.Principal, orgID string) ([]accounts.Account, error)
}

// Tenancy lists the organizations the caller may read.
type Tenancy interface {
	VisibleOrganizations(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error)
}

// Handler serves the export pages.
type Handler struct {
	Tenancy  Tenancy
	Exports  Exports
	Accounts Accounts
}

func caller(r *http.Request) (tenancy.Principal, error) {
	p, ok := tenancy.PrincipalFrom(r.Context())
	if !ok {
		return tenancy.Principal{}, domain.Errorf(domain.Unauthorized, "not signed in")
	}
	return p, nil
}

// request returns who asks, the organization whose exports they work on,
// and the page's path.
func (h *Handler) request(r *http.Request) (tenancy.Principal, tenancy.Organization, string, error) {
	p, err := caller(r)
	if err != nil {
		return tenancy.Principal{}, tenancy.Organization{}, "", err
	}
	org, base, _, err := h.target(r, p)
	return p, org, base, err
}

// target is the organization a request is about: the path's {org}, or
// the caller's own; and the page's base path.
func (h *Handler) target(r *http.Request, p tenancy.Principal) (tenancy.Organization, string, []tenancy.Organization, error) {
	orgs, err := h.Tenancy.VisibleOrganizations(r.Context(), p)
	if err != nil {
		return tenancy.Organization{}, "", nil, err
	}
	id := r.PathValue("org")
	if id == "" {
		return p.Org, "/exports", orgs, nil
	}
	for _, o := range orgs {
		if o.ID == id {
			return o, "/customers/" + url.PathEscape(o.ID) + "/exports", orgs, nil
		}
	}
	return tenancy.Organization{}, "", nil, domain.Errorf(domain.NotFound, "organization %q not found", id)
}

// Show renders the page; ?edit=ID fills the form with a configuration.
func (h *Handler) Show(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, nil, nil)
}

// render draws the page with the form from in (nil: empty or ?edit) and
// an error to show above it.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, in *formInput, formErr error) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	org, base, orgs, err := h.target(r, p)
	if err != nil {
		return err
	}
	cfgs, err := h.Exports.Configs(r.Context(), p, org.ID)
	if err != nil {
		return err
	}
	runs, err := h.Exports.Runs(r.Context(), p, org.ID, 50)
	if err != nil {
		return err
	}
	var accts []accounts.Account
	if h.Accounts != nil {
		if accts, err = h.Accounts.List(r.Context(), p, org.ID); err != nil {
			return err
		}
	}
	v := pageView(p, org, base, orgs, cfgs, runs, accts)
	switch {
	case in != nil:
		v.Form = *in
	case r.URL.Query().Get("edit") != "":
		for _, c := range cfgs {
			if c.ID == r.URL.Query().Get("edit") {
				v.Form = formFromConfig(c)
			}
		}
	}
	if formErr != nil {
		v.Error = domain.ErrorMessage(formErr)
	}
	if r.URL.Query().Get("saved") != "" {
		v.Notice = "Saved. Exports are written after each import of new data."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	return Page(layout.ChromeFrom(r.Context()), v).Render(r.Context(), w)
}

// formInput is the form as submitted, to show it again.
type formInput struct {
	ID, Basis, Format, Kind, AccountID, Bucket, Prefix, Region string
	Enabled, Confirm                                           bool
	Providers                                                  map[string]bool
}

func readForm(r *http.Request) (formInput, exports.Input, error) {
	if err := r.ParseForm(); err != nil {
		return formInput{}, exports.Input{}, domain.Errorf(domain.Invalid, "unreadable form")
	}
	f := r.PostForm
	fi := formInput{ID: f.Get("id"), Basis: f.Get("basis"), Format: f.Get("format"), Kind: f.Get("kind"),
		AccountID: f.Get("account_id"), Bucket: strings.TrimSpace(f.Get("bucket")), Prefix: f.Get("prefix"),
		Region: f.Get("region"), Enabled: f.Get("enabled") != "", Confirm: f.Get("confirm_overwrite") != "",
		Providers: map[string]bool{}}
	in := exports.Input{ID: fi.ID, Enabled: fi.Enabled, Basis: exports.Basis(fi.Basis), Format: exports.Format(fi.Format),
		Destination: exports.Destination{Kind: exports.DestinationKind(fi.Kind), Bucket: fi.Bucket, Prefix: fi.Prefix,
			Region: fi.Region, AccountID: fi.AccountID},
		ServiceAccountKey: f.Get("service_account_key"), ConfirmOverwrite: fi.Confirm}
	for _, pr := range f["providers"] {
		fi.Providers[pr] = true
		in.Providers = append(in.Providers, connectors.Provider(pr))
	}
	if in.Destination.Kind == exports.GCS {
		in.Destination.AccountID, in.Destination.Region = "", ""
	}
	return fi, in, nil
}

// Verify writes the test object and answers the verification fragment,
// which also enables Save when it succeeded.
func (h *Handler) Verify(w http.ResponseWriter, r *http.Request) error {
	p, org, _, err := h.request(r)
	if err != nil {
		return err
	}
	_, in, err := readForm(r)
	if err != nil {
		return err
	}
	v, err := h.Exports.Verify(r.Context(), p, org.ID, in)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return VerifyFragment(verifyView(v)).Render(r.Context(), w)
}

// Save stores the form; a refusal shows the form again with the reason.
func (h *Handler) Save(w http.ResponseWriter, r *http.Request) error {
	p, org, base, err := h.request(r)
	if err != nil {
		return err
	}
	fi, in, err := readForm(r)
	if err != nil {
		return err
	}
	if _, _, err := h.Exports.Save(r.Context(), p, org.ID, in); err != nil {
		switch domain.ErrorCode(err) {
		case domain.Invalid, domain.Conflict:
			status := http.StatusBadRequest
			if domain.ErrorCode(err) == domain.Conflict {
				status = http.StatusConflict
			}
			return h.render(w, r, status, &fi, err)
		}
		return err
	}
	http.Redirect(w, r, base+"?saved=1", http.StatusSeeOther)
	return nil
}

// Delete removes a configuration.
func (h *Handler) Delete(w http.ResponseWriter, r *http.Request) error {
	p, org, base, err := h.request(r)
	if err != nil {
		return err
	}
	if err := h.Exports.Delete(r.Context(), p, org.ID, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, base, http.StatusSeeOther)
	return nil
}

// Retry queues a failed run again.
func (h *Handler) Retry(w http.ResponseWriter, r *http.Request) error {
	p, org, base, err := h.request(r)
	if err != nil {
		return err
	}
	if _, err := h.Exports.Retry(r.Context(), p, org.ID, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, base, http.StatusSeeOther)
	return nil
}

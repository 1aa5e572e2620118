// Package accountspage is the console's cloud accounts pages: the list of an
// organization's cloud accounts with their billing status and a summary of
// the billing infrastructure of each provider, the form adding or changing
// an account (its fields follow the chosen provider through htmx), and an
// account's page with its status history, the Provision Billing form or the
// ledger of what provisioning created, and Deprovision Billing behind a
// confirmation page. Admins change things; members only read. Credentials
// are written, never shown.
package accountspage

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/background"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/jobview"
	"github.com/truecost/truecost/views/layout"
	"github.com/truecost/truecost/views/viewkit"
)

// Tenancy lists the organizations the caller may read.
type Tenancy interface {
	VisibleOrganizations(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error)
}

// Service manages cloud accounts and billing provisioning on behalf of a
// caller; *accounts.Service implements it. Each method taking a principal
// checks the caller may act on the organization; Get with an empty orgID
// looks in every organization the caller may read.
type Service interface {
	List(ctx context.Context, p tenancy.Principal, orgID string) ([]accounts.Account, error)
	Get(ctx context.Context, p tenancy.Principal, orgID, id string) (accounts.Account, error)
	Infrastructure(ctx context.Context, p tenancy.Principal, orgID string) ([]accounts.Infrastructure, error)
	History(ctx context.Context, p tenancy.Principal, orgID, id string, limit int) ([]accounts.StatusChange, error)
	Create(ctx context.Context, p tenancy.Principal, orgID string, in accounts.Input) (accounts.Account, error)
	Update(ctx context.Context, p tenancy.Principal, orgID, id string, in accounts.Input) (accounts.Account, error)
	Delete(ctx context.Context, p tenancy.Principal, orgID, id string) error
	DeprovisionWarning(ctx context.Context, p tenancy.Principal, orgID string, provider connectors.Provider) (string, error)
	Deprovision(ctx context.Context, p tenancy.Principal, orgID string, provider connectors.Provider, confirm bool) (accounts.Infrastructure, error)
	Manual(inf accounts.Infrastructure) []string
}

// Jobs starts Provision billing and Check now as background jobs and
// reports on them; *background.Service implements it.
type Jobs interface {
	ProvisionBilling(ctx context.Context, p tenancy.Principal, orgID, accountID string, set accounts.Settings) (background.Job, error)
	CheckBillingStatus(ctx context.Context, p tenancy.Principal, orgID string) (background.Job, error)
	Get(ctx context.Context, p tenancy.Principal, orgID, id string) (background.Job, error)
}

// Handler serves the /accounts pages.
type Handler struct {
	Tenancy  Tenancy
	Accounts Service
	// Jobs runs Provision billing and Check now; without it they answer
	// that background jobs are not configured.
	Jobs Jobs
	// AWSPrincipal is the AWS principal (an account root or role ARN) that
	// assumes customers' roles; it goes in the trust policy shown to them.
	AWSPrincipal string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

var (
	errNotAdmin  = domain.Errorf(domain.Forbidden, "only organization admins may change cloud accounts or billing provisioning")
	errNoAccount = domain.Errorf(domain.NotFound, "cloud account not found")
)

// From values tell an action which page it was sent from, and so which
// fragment to answer an htmx request with.
const (
	fromList   = "list"
	fromDetail = "detail"
)

// historyShown is how many status changes an account's page lists.
const historyShown = 20

// admin returns the caller when it is an organization admin.
func admin(ctx context.Context) (tenancy.Principal, error) {
	return viewkit.Admin(ctx, errNotAdmin)
}

// List renders the accounts of one organization (the caller's own, or for
// a reseller the one ?org= picks) with the billing infrastructure of each
// provider, or only the list region when htmx asks.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := viewkit.Principal(ctx)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v, err := h.listView(ctx, p, q.Get("org"))
	if err != nil {
		return err
	}
	if id := q.Get("created"); id != "" {
		for _, row := range v.Rows {
			if row.ID == id {
				v.Highlight = id
				v.Notice = "Added the account “" + row.Name + "”."
			}
		}
	}
	if q.Get("deleted") != "" {
		v.Notice = "Account deleted."
	}
	return viewkit.Answer(w, r, 0, ListRegion(v), ListPage(layout.ChromeFrom(ctx), v))
}

func (h *Handler) listView(ctx context.Context, p tenancy.Principal, orgID string) (ListView, error) {
	if orgID == "" {
		orgID = p.Org.ID
	}
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return ListView{}, err
	}
	list, err := h.Accounts.List(ctx, p, orgID)
	if err != nil {
		return ListView{}, err
	}
	infras, err := h.Accounts.Infrastructure(ctx, p, orgID)
	if err != nil {
		return ListView{}, err
	}
	v := ListView{
		OrgID:     orgID,
		OrgName:   viewkit.OrgNames(orgs)[orgID],
		Picker:    viewkit.OrgPicker(p, orgs, orgID, ""),
		CanManage: p.IsAdmin(),
		CSRF:      layout.ChromeFrom(ctx).CSRFToken,
	}
	now := viewkit.Now(h.Now)
	for _, a := range list {
		v.Rows = append(v.Rows, newRow(a, now))
	}
	v.Cards = infraCards(list, infras, now)
	return v, nil
}

var errNoJobs = domain.Errorf(domain.Unavailable, "background jobs are not configured on this server")

// CheckNow starts syncing the organization's connectors and checking its
// accounts' billing status as a background job, and shows it in the list
// region or the account's live region it was asked from; the region polls
// the job and shows the refreshed statuses once it is done.
func (h *Handler) CheckNow(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	if h.Jobs == nil {
		return errNoJobs
	}
	var a accounts.Account
	orgID := r.PostFormValue("org")
	if id := r.PathValue("id"); id != "" {
		if a, err = h.find(ctx, p, id); err != nil {
			return err
		}
		orgID = a.OrgID
	} else if orgID == "" {
		orgID = p.Org.ID
	}
	j, err := h.Jobs.CheckBillingStatus(ctx, p, orgID)
	if err != nil {
		return err
	}
	return h.answerCheck(w, r, p, a.ID, j)
}

// ListJobStatus answers the poll of a Check now started from the list
// (/accounts/jobs?job=ID).
func (h *Handler) ListJobStatus(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := viewkit.Principal(ctx)
	if err != nil {
		return err
	}
	if h.Jobs == nil {
		return errNoJobs
	}
	j, err := h.Jobs.Get(ctx, p, "", r.URL.Query().Get("job"))
	if err != nil {
		return err
	}
	if j.Kind != background.CheckBillingStatus {
		return errNoJob
	}
	return h.answerCheck(w, r, p, "", j)
}

// JobStatus answers the poll of a Check now or Provision billing started
// from an account's page.
func (h *Handler) JobStatus(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := viewkit.Principal(ctx)
	if err != nil {
		return err
	}
	if h.Jobs == nil {
		return errNoJobs
	}
	a, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	j, err := h.Jobs.Get(ctx, p, a.OrgID, r.PathValue("job"))
	if err != nil {
		return err
	}
	switch {
	case j.Kind == background.CheckBillingStatus:
		return h.answerCheck(w, r, p, a.ID, j)
	case j.Kind == background.ProvisionBilling && j.SubjectID == a.ID:
		return h.answerProvision(w, r, p, a, j, accounts.Settings{})
	}
	return errNoJob
}

var errNoJob = domain.Errorf(domain.NotFound, "job not found")

// answerCheck shows a Check now job in the region it was started from:
// the account's live region when accountID is set, else the list of the
// job's organization.
func (h *Handler) answerCheck(w http.ResponseWriter, r *http.Request, p tenancy.Principal, accountID string, j background.Job) error {
	ctx := r.Context()
	notice, failure := "", ""
	if j.State == background.Succeeded {
		notice = "Checked " + count(j.Result.Accounts, "account", "accounts") + "."
	} else if j.State == background.Failed {
		failure = j.Error
	}
	if accountID != "" {
		d, err := h.detailView(ctx, p, accountID)
		if err != nil {
			return err
		}
		d.Notice, d.Error = notice, failure
		if !j.Done() {
			v := jobview.New(j, "/accounts/"+accountID+"/jobs/"+j.ID, "#account-live", "outerHTML")
			d.Job = &v
		}
		return h.renderDetail(w, r, d)
	}
	v, err := h.listView(ctx, p, j.OrgID)
	if err != nil {
		return err
	}
	v.Notice, v.Error = notice, failure
	if !j.Done() {
		jv := jobview.New(j, "/accounts/jobs?job="+url.QueryEscape(j.ID), "#account-list", "innerHTML")
		v.Job = &jv
	}
	return viewkit.Answer(w, r, 0, ListRegion(v), ListPage(layout.ChromeFrom(ctx), v))
}

// find returns the account id among those of the organizations the caller
// may read, or NotFound: another organization's account does not exist for
// the caller.
func (h *Handler) find(ctx context.Context, p tenancy.Principal, id string) (accounts.Account, error) {
	a, err := h.Accounts.Get(ctx, p, "", id)
	if domain.IsNotFound(err) {
		return accounts.Account{}, errNoAccount
	}
	return a, err
}

// Show renders one account: its billing status and history, its
// provider's billing infrastructure or the form provisioning it, and for
// AWS the trust policy of the role Truecost assumes.
func (h *Handler) Show(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := viewkit.Principal(ctx)
	if err != nil {
		return err
	}
	a, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := h.detailView(ctx, p, a.ID, withOCIGroup(r.URL.Query().Get("group")))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	switch {
	case q.Get("created") != "":
		d.Notice = "Account added."
		if a.Provider == connectors.AWS {
			d.Notice += " Attach the trust policy below to the account's IAM role, then provision billing."
		}
	case q.Get("saved") != "":
		d.Notice = "Changes saved."
	case q.Get("deprovisioned") != "":
		d.Notice = accounts.ProviderLabel(a.Provider) + " billing deprovisioned: what provisioning created was removed and its connector disabled."
	}
	return viewkit.Render(w, r, 0, DetailPage(layout.ChromeFrom(ctx), d))
}

// detailOption adjusts an account's page to its request.
type detailOption func(*Detail)

// withOCIGroup names the IAM group in an OCI account's policy statements.
func withOCIGroup(group string) detailOption {
	return func(d *Detail) {
		if d.Row.Provider.ID == connectors.OCI {
			d.Billing.OCIGroup = group
			d.Billing.OCIStatements = accounts.OCIPolicyStatements(group)
		}
	}
}

func (h *Handler) detailView(ctx context.Context, p tenancy.Principal, id string, opts ...detailOption) (Detail, error) {
	a, err := h.find(ctx, p, id)
	if err != nil {
		return Detail{}, err
	}
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return Detail{}, err
	}
	history, err := h.Accounts.History(ctx, p, a.OrgID, a.ID, historyShown)
	if err != nil {
		return Detail{}, err
	}
	infras, err := h.Accounts.Infrastructure(ctx, p, a.OrgID)
	if err != nil {
		return Detail{}, err
	}
	siblings, err := h.Accounts.List(ctx, p, a.OrgID)
	if err != nil {
		return Detail{}, err
	}
	now := viewkit.Now(h.Now)
	csrf := layout.ChromeFrom(ctx).CSRFToken
	d := Detail{
		Row:       newRow(a, now),
		OrgID:     a.OrgID,
		OrgName:   viewkit.OrgNames(orgs)[a.OrgID],
		ShowOrg:   len(orgs) > 1,
		CanManage: p.IsAdmin(),
		CSRF:      csrf,
		Settings:  accountSettings(a),
	}
	if !a.StatusSince.IsZero() {
		d.StatusSince = layout.FormatAgo(a.StatusSince, now)
		d.StatusSinceExact = layout.FormatTime(a.StatusSince)
	}
	for _, c := range history {
		d.History = append(d.History, historyRow(c, now))
	}
	if a.Provider == connectors.AWS {
		d.ExternalID = a.ExternalID
		d.TrustPolicy = awsTrustPolicy(a.ExternalID, h.AWSPrincipal)
		d.Principal = viewkit.PrincipalLabel(h.AWSPrincipal)
	}
	d.Billing = h.billingView(a, infras, siblings, p.IsAdmin(), csrf, now)
	for _, o := range opts {
		o(&d)
	}
	return d, nil
}

// renderDetail answers an action on an account's page: its live region for
// htmx, the whole page otherwise.
func (h *Handler) renderDetail(w http.ResponseWriter, r *http.Request, d Detail) error {
	ctx := r.Context()
	return viewkit.Answer(w, r, 0, Live(d), DetailPage(layout.ChromeFrom(ctx), d))
}

// Delete removes an account. htmx gets the refreshed list region (or, from
// the account's page, a redirect to the list); a plain form post is
// redirected to the list.
func (h *Handler) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	a, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	delErr := h.Accounts.Delete(ctx, p, a.OrgID, a.ID)
	if delErr != nil && domain.ErrorCode(delErr) != domain.Conflict {
		return delErr
	}
	fragment := layout.IsFragmentRequest(r)
	if delErr == nil && (!fragment || r.PostFormValue("from") != fromList) {
		to := listURL(a.OrgID, p) + sep(listURL(a.OrgID, p)) + "deleted=1"
		viewkit.Redirect(w, r, to)
		return nil
	}
	if delErr != nil && r.PostFormValue("from") != fromList {
		// The account provisioned billing: say so on its page.
		d, err := h.detailView(ctx, p, a.ID)
		if err != nil {
			return err
		}
		d.Error = domain.ErrorMessage(delErr)
		return viewkit.Answer(w, r, http.StatusConflict, Live(d), DetailPage(layout.ChromeFrom(ctx), d))
	}
	v, err := h.listView(ctx, p, a.OrgID)
	if err != nil {
		return err
	}
	status := 0
	if delErr != nil {
		v.Error = domain.ErrorMessage(delErr)
		status = http.StatusConflict
	} else {
		v.Notice = "Deleted the account “" + a.Name + "”."
	}
	return viewkit.Answer(w, r, status, ListRegion(v), ListPage(layout.ChromeFrom(ctx), v))
}

// outcomeError reports whether an action's error is shown as its outcome
// on the page rather than as an error page: the request was fine, what it
// asked of the cloud or of the rules was not.
func outcomeError(err error) bool {
	switch domain.ErrorCode(err) {
	case domain.Invalid, domain.Conflict, domain.Unavailable, domain.Forbidden, domain.NotFound:
		return true
	}
	return false
}

// listURL is the list of orgID's accounts: the caller's own without a
// query.
func listURL(orgID string, p tenancy.Principal) string {
	if orgID == "" || orgID == p.Org.ID {
		return "/accounts"
	}
	return "/accounts?org=" + url.QueryEscape(orgID)
}

func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

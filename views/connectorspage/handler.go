// Package connectorspage is the console's billing connectors pages: the list
// of the caller's connectors with their last sync, the form adding or
// changing a cloud connector (its fields follow the chosen provider through
// htmx), a connector's page with the AWS role trust policy to install, and
// the Test connection, Sync now and Delete actions. Admins manage
// connectors; members only read the list. Credentials are written, never
// shown.
package connectorspage

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/background"
	"github.com/truecost/truecost/domain/billing"
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

// Connectors lists and manages connectors on behalf of a caller, checking
// it may act on the organization. *connectors.Service implements it; an
// empty orgID means every organization the caller may read.
type Connectors interface {
	List(ctx context.Context, p tenancy.Principal, orgID string) ([]connectors.Connector, error)
	Get(ctx context.Context, p tenancy.Principal, orgID, id string) (connectors.Connector, error)
	Create(ctx context.Context, p tenancy.Principal, orgID string, in connectors.Input) (connectors.Connector, error)
	Update(ctx context.Context, p tenancy.Principal, orgID, id string, in connectors.Input) (connectors.Connector, error)
	Delete(ctx context.Context, p tenancy.Principal, orgID, id string) error
}

// Jobs starts Test connection and Sync now as background jobs and reports
// on them; *background.Service implements it.
type Jobs interface {
	TestConnector(ctx context.Context, p tenancy.Principal, orgID, connectorID string) (background.Job, error)
	SyncConnector(ctx context.Context, p tenancy.Principal, orgID, connectorID string) (background.Job, error)
	Get(ctx context.Context, p tenancy.Principal, orgID, id string) (background.Job, error)
}

// Handler serves the /connectors pages.
type Handler struct {
	Tenancy    Tenancy
	Connectors Connectors
	// Jobs runs Test connection and Sync now; without it they answer that
	// background jobs are not configured.
	Jobs Jobs
	// AWSPrincipal is the AWS principal (an account root or role ARN) that
	// assumes customers' roles; it goes in the trust policy shown to them.
	AWSPrincipal string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

var (
	errNotAdmin    = domain.Errorf(domain.Forbidden, "only organization admins may change billing connectors")
	errNoConnector = domain.Errorf(domain.NotFound, "billing connector not found")
)

// From values tell an action which page it was sent from, and so which
// fragment to answer an htmx request with.
const (
	fromList   = "list"
	fromDetail = "detail"
)

// admin returns the caller when it is an organization admin.
func admin(ctx context.Context) (tenancy.Principal, error) {
	return viewkit.Admin(ctx, errNotAdmin)
}

// List renders the connectors of the caller's organizations (for a
// reseller, of its customers too; ?org= narrows to one), or only the list
// region when htmx asks.
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
				v.Notice = "Added the connector “" + row.Name + "”. Test the connection, then sync it to load its costs."
			}
		}
	}
	if q.Get("deleted") != "" {
		v.Notice = "Connector deleted."
	}
	return viewkit.Answer(w, r, 0, ListRegion(v), ListPage(layout.ChromeFrom(ctx), v))
}

func (h *Handler) listView(ctx context.Context, p tenancy.Principal, orgID string) (ListView, error) {
	list, err := h.Connectors.List(ctx, p, orgID)
	if err != nil {
		return ListView{}, err
	}
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return ListView{}, err
	}
	v := ListView{
		Scope:     orgID,
		Picker:    viewkit.OrgPicker(p, orgs, orgID, "All customers"),
		ShowOrg:   orgID == "" && len(orgs) > 1,
		CanManage: p.IsAdmin(),
		CSRF:      layout.ChromeFrom(ctx).CSRFToken,
	}
	names := viewkit.OrgNames(orgs)
	now := viewkit.Now(h.Now)
	for _, c := range list {
		v.Rows = append(v.Rows, newRow(c, names[c.OrgID], now))
	}
	return v, nil
}

// find returns the connector id among those the caller may read, or a
// NotFound error: another organization's connector does not exist for the
// caller.
func (h *Handler) find(ctx context.Context, p tenancy.Principal, id string) (connectors.Connector, error) {
	c, err := h.Connectors.Get(ctx, p, "", id)
	if domain.IsNotFound(err) {
		return connectors.Connector{}, errNoConnector
	}
	return c, err
}

// Show renders one connector: its settings, its last sync and, for AWS, the
// trust policy its IAM role needs.
func (h *Handler) Show(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := viewkit.Principal(ctx)
	if err != nil {
		return err
	}
	c, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := h.detailView(ctx, p, c)
	if err != nil {
		return err
	}
	switch {
	case r.URL.Query().Get("created") != "":
		d.Notice = "Connector created."
		if c.Provider == connectors.AWS {
			d.Notice += " Attach the trust policy below to its IAM role, then test the connection."
		}
	case r.URL.Query().Get("saved") != "":
		d.Notice = "Changes saved."
	}
	return viewkit.Render(w, r, 0, DetailPage(layout.ChromeFrom(ctx), d))
}

func (h *Handler) detailView(ctx context.Context, p tenancy.Principal, c connectors.Connector) (Detail, error) {
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{
		Row:       newRow(c, viewkit.OrgNames(orgs)[c.OrgID], viewkit.Now(h.Now)),
		ShowOrg:   len(orgs) > 1,
		CanManage: p.IsAdmin(),
		CSRF:      layout.ChromeFrom(ctx).CSRFToken,
		Settings:  settings(c),
	}
	if c.Provider == connectors.AWS {
		d.ExternalID = c.ExternalID
		d.TrustPolicy = connectors.AWSTrustPolicy(c.ExternalID, h.AWSPrincipal)
		d.ReadPolicy = s3ReadPolicy(c.Config.Bucket, c.Config.Path)
		d.Principal = viewkit.PrincipalLabel(h.AWSPrincipal)
	}
	return d, nil
}

// Delete removes a connector. htmx gets the refreshed list region (or, from
// the connector's page, a redirect to the list); a plain form post is
// redirected to the list.
func (h *Handler) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	c, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := h.Connectors.Delete(ctx, p, c.OrgID, c.ID); err != nil {
		return err
	}
	if !layout.IsFragmentRequest(r) || r.PostFormValue("from") != fromList {
		to := "/connectors?deleted=1"
		viewkit.Redirect(w, r, to)
		return nil
	}
	v, err := h.listView(ctx, p, r.PostFormValue("scope"))
	if err != nil {
		return err
	}
	v.Notice = "Deleted the connector “" + c.Name + "”."
	return viewkit.Render(w, r, 0, ListRegion(v))
}

var errNoJobs = domain.Errorf(domain.Unavailable, "background jobs are not configured on this server")

// Test starts listing what the connector's source holds now, without
// loading it, as a background job; the answer shows the job, which the
// page polls until its outcome replaces it. A failing source is an
// outcome, not an error of the request.
func (h *Handler) Test(w http.ResponseWriter, r *http.Request) error {
	return h.start(w, r, func(ctx context.Context, p tenancy.Principal, c connectors.Connector) (background.Job, error) {
		return h.Jobs.TestConnector(ctx, p, c.OrgID, c.ID)
	})
}

// Sync starts loading what changed in the connector's source now as a
// background job, shown like Test's; its outcome shows the run and the
// connector's new status.
func (h *Handler) Sync(w http.ResponseWriter, r *http.Request) error {
	return h.start(w, r, func(ctx context.Context, p tenancy.Principal, c connectors.Connector) (background.Job, error) {
		return h.Jobs.SyncConnector(ctx, p, c.OrgID, c.ID)
	})
}

func (h *Handler) start(w http.ResponseWriter, r *http.Request, run func(context.Context, tenancy.Principal, connectors.Connector) (background.Job, error)) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	if h.Jobs == nil {
		return errNoJobs
	}
	c, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	j, err := run(ctx, p, c)
	if err != nil {
		return err
	}
	return h.answer(w, r, p, c, h.jobState(j, c, r.PostFormValue("from"), r.PostFormValue("scope")))
}

// JobStatus answers the poll of a Test connection or Sync now job with
// the region it was started from: still the job while it runs, then its
// outcome (and, after a sync, the connector's new status).
func (h *Handler) JobStatus(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := viewkit.Principal(ctx)
	if err != nil {
		return err
	}
	if h.Jobs == nil {
		return errNoJobs
	}
	c, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	j, err := h.Jobs.Get(ctx, p, c.OrgID, r.PathValue("job"))
	if err != nil {
		return err
	}
	if j.SubjectID != c.ID {
		return domain.Errorf(domain.NotFound, "job not found")
	}
	q := r.URL.Query()
	return h.answer(w, r, p, c, h.jobState(j, c, q.Get("from"), q.Get("scope")))
}

// actionState is what the region of an action shows: the job while it
// runs, or its outcome.
type actionState struct {
	from, scope string
	job         *jobview.View
	outcome     *Outcome
}

func (h *Handler) jobState(j background.Job, c connectors.Connector, from, scope string) actionState {
	st := actionState{from: from, scope: scope}
	if !j.Done() {
		q := url.Values{"from": {from}}
		if scope != "" {
			q.Set("scope", scope)
		}
		poll := "/connectors/" + c.ID + "/jobs/" + j.ID + "?" + q.Encode()
		target := "#connector-live"
		if from == fromList {
			target = "#connector-" + c.ID
		}
		v := jobview.New(j, poll, target, "outerHTML")
		st.job = &v
		return st
	}
	var err error
	if j.State == background.Failed {
		err = domain.Errorf(j.ErrorCode, "%s", j.Error)
	}
	switch j.Kind {
	case background.TestConnector:
		var res connectors.TestResult
		if j.Result.Test != nil {
			res = *j.Result.Test
		}
		st.outcome = testOutcome(res, err)
	default:
		var run billing.IngestionRun
		if j.Result.Run != nil {
			run = *j.Result.Run
		}
		st.outcome = syncOutcome(run, err)
	}
	return st
}

// answer renders an action's state where it was asked for: the
// connector's row of the list, the live region of its page, or (without
// htmx) its whole page. The connector is read again, so a finished sync
// shows its new status.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, p tenancy.Principal, c connectors.Connector, st actionState) error {
	ctx := r.Context()
	if fresh, err := h.Connectors.Get(ctx, p, c.OrgID, c.ID); err == nil {
		c = fresh
	} else {
		return err
	}
	if layout.IsFragmentRequest(r) && st.from == fromList {
		v, err := h.listView(ctx, p, st.scope)
		if err != nil {
			return err
		}
		for _, row := range v.Rows {
			if row.ID == c.ID {
				row.Outcome, row.Job = st.outcome, st.job
				return viewkit.Render(w, r, 0, RowBody(v, row))
			}
		}
		return errNoConnector
	}
	d, err := h.detailView(ctx, p, c)
	if err != nil {
		return err
	}
	d.Outcome, d.Job = st.outcome, st.job
	return viewkit.Answer(w, r, 0, Live(d), DetailPage(layout.ChromeFrom(ctx), d))
}

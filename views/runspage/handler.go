// Package runspage is the console's list of ingestion runs: when each load
// of a connector's source ran, how it ended, what it read and, when it
// failed, the full error.
package runspage

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
)

// Limit is how many of the newest runs the page lists.
const Limit = 200

// Tenancy lists the organizations the caller may read.
type Tenancy interface {
	VisibleOrganizations(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error)
}

// Runs lists the ingestion runs of the organizations the caller may read
// (an empty orgID: all of them).
type Runs interface {
	Runs(ctx context.Context, p tenancy.Principal, orgID string, limit int) ([]billing.IngestionRun, error)
}

// Connectors lists connectors, to name them.
type Connectors interface {
	List(ctx context.Context, p tenancy.Principal, orgID string) ([]connectors.Connector, error)
}

// Handler serves GET /runs.
type Handler struct {
	Tenancy Tenancy
	Runs    Runs
	// Connectors is optional; without it the page shows connector IDs.
	Connectors Connectors
}

// View is the view model of the runs page.
type View struct {
	ShowOrg bool
	// ShowTotals is false for a resold customer: a run's totals are cost.
	ShowTotals bool
	Rows       []Row
	Counts     []Count
}

// Count is how many listed runs ended in a status.
type Count struct {
	Label string
	Class string
	N     string
}

// Row is one run.
type Row struct {
	ID            string
	Started       string
	StartedISO    string
	Org           string
	Connector     string
	ConnectorHint string
	Format        string
	Status        string
	StatusClass   string
	Rows          string
	Periods       []string
	Totals        []Money
	Duration      string
	Error         string
}

// Money is an amount shown rounded, with its exact value beside it.
type Money struct {
	Display, Exact string
}

// Show renders the runs of the caller's organizations (for a reseller, of
// its customers too; ?org= narrows to one).
func (h *Handler) Show(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return domain.Errorf(domain.Unauthorized, "not signed in")
	}
	orgID := r.URL.Query().Get("org")
	runs, err := h.Runs.Runs(ctx, p, orgID, Limit)
	if err != nil {
		return err
	}
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return err
	}
	names := make(map[string]connectors.Connector)
	if h.Connectors != nil {
		list, err := h.Connectors.List(ctx, p, orgID)
		if err != nil {
			return err
		}
		for _, c := range list {
			names[c.ID] = c
		}
	}
	v := buildView(runs, orgs, names)
	v.ShowOrg = len(orgs) > 1
	v.ShowTotals = billing.SeesCost(p)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return Page(layout.ChromeFrom(ctx), v).Render(ctx, w)
}

func buildView(runs []billing.IngestionRun, orgs []tenancy.Organization, conns map[string]connectors.Connector) View {
	orgNames := make(map[string]string, len(orgs))
	for _, o := range orgs {
		orgNames[o.ID] = o.Name
	}
	var v View
	counts := make(map[billing.RunStatus]int)
	for _, run := range runs {
		counts[run.Status]++
		row := Row{
			ID:          run.ID,
			Started:     layout.FormatTime(run.StartedAt),
			StartedISO:  run.StartedAt.UTC().Format(time.RFC3339),
			Org:         orgNames[run.OrgID],
			Format:      run.Format,
			Status:      statusLabel(run.Status),
			StatusClass: "badge-" + string(run.Status),
			Rows:        layout.FormatCount(run.Rows),
			Duration:    layout.FormatDuration(run.Duration()),
			Error:       run.Error,
		}
		if c, ok := conns[run.ConnectorID]; ok {
			row.Connector, row.ConnectorHint = c.Name, c.Location
		} else {
			row.Connector, row.ConnectorHint = shortID(run.ConnectorID), run.ConnectorID
		}
		if row.Format == "" {
			row.Format = "—"
		}
		for _, p := range run.Periods {
			row.Periods = append(row.Periods, p.UTC().Format("Jan 2006"))
		}
		for _, m := range run.Totals {
			row.Totals = append(row.Totals, Money{Display: layout.FormatMoney(m.Amount, m.Currency), Exact: m.Amount.String() + " " + m.Currency})
		}
		v.Rows = append(v.Rows, row)
	}
	statuses := make([]billing.RunStatus, 0, len(counts))
	for s := range counts {
		statuses = append(statuses, s)
	}
	sort.Slice(statuses, func(i, j int) bool { return statusOrder(statuses[i]) < statusOrder(statuses[j]) })
	for _, s := range statuses {
		v.Counts = append(v.Counts, Count{Label: statusLabel(s), Class: "badge-" + string(s), N: layout.FormatCount(int64(counts[s]))})
	}
	return v
}

func statusLabel(s billing.RunStatus) string {
	switch s {
	case billing.RunSucceeded:
		return "Succeeded"
	case billing.RunUnchanged:
		return "Unchanged"
	case billing.RunFailed:
		return "Failed"
	case billing.RunRunning:
		return "Running"
	}
	if s == "" {
		return "Unknown"
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

func statusOrder(s billing.RunStatus) int {
	switch s {
	case billing.RunSucceeded:
		return 0
	case billing.RunUnchanged:
		return 1
	case billing.RunRunning:
		return 2
	case billing.RunFailed:
		return 3
	}
	return 4
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8] + "…"
	}
	return id
}

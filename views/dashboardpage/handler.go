// Package dashboardpage is the console's cost overview: totals per currency,
// a daily stacked bar chart by provider, and the costs by provider, service
// category and service, for one month of the caller's organizations. Its
// filter form updates the report region in place with htmx.
package dashboardpage

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
)

// Tenancy lists the organizations the caller may read.
type Tenancy interface {
	VisibleOrganizations(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error)
}

// Reporter builds cost reports of the organizations the caller may read
// (an empty orgID: all of them).
type Reporter interface {
	Report(ctx context.Context, p tenancy.Principal, q billing.CostQuery) (billing.CostReport, error)
	DefaultPeriod(ctx context.Context, p tenancy.Principal, orgID string, now time.Time) (from, to time.Time, err error)
}

// Handler serves GET /.
type Handler struct {
	Tenancy  Tenancy
	Reporter Reporter
	Now      func() time.Time
}

// topServices is how many services the service table lists per currency.
const topServices = 10

// filters is the parsed query string of the dashboard.
type filters struct {
	orgID  string
	period time.Time // zero: the default period
	metric billing.Metric
}

func parseFilters(q url.Values) (filters, error) {
	f := filters{orgID: q.Get("org")}
	if m := q.Get("metric"); m != "" {
		f.metric = billing.Metric(m)
		if metricLabel(f.metric) == "" {
			return filters{}, domain.Errorf(domain.Invalid, "unknown metric %q", m)
		}
	}
	if p := q.Get("period"); p != "" {
		t, err := time.Parse("2006-01", p)
		if err != nil || t.Year() < 2000 || t.Year() > 2200 {
			return filters{}, domain.Errorf(domain.Invalid, "period %q must be a month written YYYY-MM", p)
		}
		f.period = t
	}
	return f, nil
}

// Show renders the dashboard, or only its report region when htmx asks.
func (h *Handler) Show(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return domain.Errorf(domain.Unauthorized, "not signed in")
	}
	f, err := parseFilters(r.URL.Query())
	if err != nil {
		return err
	}
	// What the caller may see decides the default: resale for a resold
	// customer, billed cost for everyone else.
	if f.metric, err = billing.MetricFor(p, f.metric); err != nil {
		return err
	}
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return err
	}
	from := f.period
	if from.IsZero() {
		if from, _, err = h.Reporter.DefaultPeriod(ctx, p, f.orgID, h.Now()); err != nil {
			return err
		}
	}
	from = billing.MonthStart(from)
	to := from.AddDate(0, 1, 0)

	daily, err := h.Reporter.Report(ctx, p, billing.CostQuery{
		OrgID: f.orgID, From: from, To: to, Metric: f.metric,
		GroupBy: []billing.Dimension{billing.DimProvider}, Granularity: billing.Daily,
	})
	if err != nil {
		return err
	}
	services, err := h.Reporter.Report(ctx, p, billing.CostQuery{
		OrgID: f.orgID, From: from, To: to, Metric: f.metric,
		GroupBy: []billing.Dimension{billing.DimServiceName, billing.DimProvider}, Granularity: billing.Total,
	})
	if err != nil {
		return err
	}

	categories, err := h.Reporter.Report(ctx, p, billing.CostQuery{
		OrgID: f.orgID, From: from, To: to, Metric: f.metric,
		GroupBy: []billing.Dimension{billing.DimServiceCategory}, Granularity: billing.Total,
	})
	if err != nil {
		return err
	}

	m := Model{
		Filters: filterView(p, orgs, f, from),
		Report:  buildReport(from, to, scopeLabel(p, orgs, f.orgID), f.metric, daily, services, categories),
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if layout.IsFragmentRequest(r) {
		return Report(m.Report).Render(ctx, w)
	}
	return Page(layout.ChromeFrom(ctx), m).Render(ctx, w)
}

package graph

import (
	"strings"
	"time"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph/model"
)

// This file maps between the API's models and the domain's types. Enum
// values that the domain may grow are passed through by name so that an
// unknown one shows up instead of silently turning into another.

func costQueryFromModel(in model.CostQuery) billing.CostQuery {
	q := billing.CostQuery{
		OrgID:   deref(in.OrganizationID),
		From:    in.From,
		To:      in.To,
		TagKeys: in.TagKeys,
	}
	if in.Limit != nil {
		q.Limit = *in.Limit
	}
	if in.DateBasis != nil {
		q.DateBasis = billing.DateBasis(*in.DateBasis)
	}
	if in.Metric != nil {
		q.Metric = billing.Metric(*in.Metric)
	}
	if in.Granularity != nil {
		q.Granularity = billing.Granularity(*in.Granularity)
	}
	for _, d := range in.GroupBy {
		q.GroupBy = append(q.GroupBy, billing.Dimension(d))
	}
	if f := in.Filter; f != nil {
		lists := []struct {
			dim    billing.Dimension
			values []string
		}{
			{billing.DimProvider, f.Providers},
			{billing.DimServiceName, f.ServiceNames},
			{billing.DimServiceCategory, f.ServiceCategories},
			{billing.DimRegion, f.Regions},
			{billing.DimBillingAccount, f.BillingAccounts},
			{billing.DimSubAccount, f.SubAccounts},
			{billing.DimChargeCategory, f.ChargeCategories},
			{billing.DimChargeClass, f.ChargeClasses},
			{billing.DimBillingPeriod, f.BillingPeriods},
			{billing.DimCurrency, f.Currencies},
			{billing.DimCloud, f.Clouds},
			{billing.DimOrganization, f.Organizations},
			{billing.DimSKU, f.SkuIds},
			{billing.DimResource, f.ResourceIds},
		}
		for _, l := range lists {
			// An empty list is an empty selection in a front end: no filter.
			if len(l.values) == 0 {
				continue
			}
			if q.Filter.Values == nil {
				q.Filter.Values = make(map[billing.Dimension][]string)
			}
			q.Filter.Values[l.dim] = l.values
		}
		for _, t := range f.Tags {
			if len(t.Values) == 0 {
				continue
			}
			q.Filter.Tags = append(q.Filter.Tags, billing.TagFilter{Key: t.Key, Values: t.Values})
		}
	}
	return q
}

func costReportToModel(r billing.CostReport) *model.CostReport {
	out := &model.CostReport{
		Totals: moneyToModel(r.Totals),
		Groups: make([]model.CostGroup, len(r.Groups)),
		Others: moneyToModel(r.Others),
	}
	for i, g := range r.Groups {
		mg := model.CostGroup{
			Keys:   make([]model.DimensionValue, len(g.Keys)),
			Total:  &model.Money{Amount: g.Total, Currency: g.Currency},
			Points: make([]model.CostPoint, len(g.Points)),
		}
		for j, k := range g.Keys {
			mg.Keys[j] = model.DimensionValue{Dimension: string(k.Dimension), Value: k.Value, Label: optional(k.Label)}
		}
		for j, p := range g.Points {
			mg.Points[j] = model.CostPoint{Date: p.Date, Amount: p.Amount}
		}
		out.Groups[i] = mg
	}
	return out
}

func moneyToModel(ms []billing.Money) []model.Money {
	out := make([]model.Money, len(ms))
	for i, m := range ms {
		out[i] = model.Money{Amount: m.Amount, Currency: m.Currency}
	}
	return out
}

func organizationToModel(o tenancy.Organization) *model.Organization {
	return &model.Organization{
		ID:         o.ID,
		Slug:       o.Slug,
		Name:       o.Name,
		Kind:       model.OrganizationKind(strings.ToUpper(string(o.Kind))),
		ResellerID: optional(o.ResellerID),
	}
}

func userToModel(u tenancy.User) *model.User {
	return &model.User{ID: u.ID, Email: u.Email, Role: model.Role(strings.ToUpper(string(u.Role)))}
}

func runToModel(r billing.IngestionRun) model.IngestionRun {
	files := r.Files
	if files == nil {
		files = []string{}
	}
	periods := r.Periods
	if periods == nil {
		periods = []time.Time{}
	}
	retired := r.Retired
	if retired == nil {
		retired = []time.Time{}
	}
	out := model.IngestionRun{
		ID:             r.ID,
		OrganizationID: r.OrgID,
		ConnectorID:    r.ConnectorID,
		Status:         model.IngestionStatus(strings.ToUpper(string(r.Status))),
		Format:         r.Format,
		SourceVersion:  r.SourceVersion,
		Files:          files,
		Rows:           int(r.Rows),
		Periods:        periods,
		RetiredPeriods: retired,
		Totals:         moneyToModel(r.Totals),
		Error:          optional(r.Error),
		StartedAt:      r.StartedAt,
		FinishedAt:     optionalTime(r.FinishedAt),
	}
	if !r.FinishedAt.IsZero() {
		s := r.Duration().Seconds()
		out.DurationSeconds = &s
	}
	return out
}

// optional returns nil for an empty string, so the API answers null.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

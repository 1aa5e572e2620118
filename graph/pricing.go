package graph

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph/model"
)

// pricingFor returns the pricing service and the caller.
func (r *Resolver) pricingFor(ctx context.Context) (*pricing.Service, tenancy.Principal, error) {
	if r.deps.Pricing == nil {
		return nil, tenancy.Principal{}, domain.Errorf(domain.Unavailable, "pricing is not configured")
	}
	p, err := principal(ctx)
	return r.deps.Pricing, p, err
}

// parseMonth reads a month written YYYY-MM.
func parseMonth(s string) (time.Time, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil || t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, domain.Errorf(domain.Invalid, "month %q must be written YYYY-MM", s)
	}
	return t, nil
}

// optionalMonth reads an optional month written YYYY-MM: zero when absent.
func optionalMonth(s *string) (time.Time, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return time.Time{}, nil
	}
	return parseMonth(*s)
}

func decOrZero(d *decimal.Decimal) decimal.Decimal {
	if d == nil {
		return decimal.Zero
	}
	return *d
}

func ruleFromModel(in model.PricingRuleInput) pricing.Rule {
	r := pricing.Rule{Scope: pricing.ScopeKind(in.Scope), Value: deref(in.Value), Type: pricing.RuleType(in.Type),
		Percent: decOrZero(in.Percent), UnitPrice: decOrZero(in.UnitPrice), PricingUnit: deref(in.PricingUnit)}
	if in.Priority != nil {
		r.Priority = *in.Priority
	}
	return r
}

func pricebookToModel(pb pricing.Pricebook) *model.Pricebook {
	out := &model.Pricebook{ID: pb.ID, Name: pb.Name, Version: pb.Version, UpdatedAt: pb.UpdatedAt, Rules: []model.PricingRule{}}
	for _, r := range pb.Rules {
		m := model.PricingRule{ID: r.ID, Scope: model.PricingScope(r.Scope), Value: optional(r.Value),
			Type: model.PricingRuleType(r.Type), Priority: r.Priority}
		if r.Type == pricing.FixedPrice {
			price := r.UnitPrice
			m.UnitPrice, m.PricingUnit = &price, optional(r.PricingUnit)
		} else {
			pct := r.Percent
			m.Percent = &pct
		}
		out.Rules = append(out.Rules, m)
	}
	return out
}

// customerPricingToModel converts c; pricebooks resolves the assignments'
// pricebooks by ID.
func customerPricingToModel(org tenancy.Organization, c pricing.Customer, books map[string]pricing.Pricebook) *model.CustomerPricing {
	out := &model.CustomerPricing{Organization: organizationToModel(org), AdjustmentPercent: c.Adjustment,
		Assignments: []model.PricebookAssignment{}, SupportPlans: []model.SupportPlan{}, Credits: []model.Credit{}}
	for _, a := range c.Assignments {
		m := model.PricebookAssignment{EffectiveMonth: a.EffectiveMonth.Format("2006-01"), PricebookName: optional(a.PricebookName)}
		if pb, ok := books[a.PricebookID]; ok {
			m.Pricebook = pricebookToModel(pb)
		}
		out.Assignments = append(out.Assignments, m)
	}
	for _, p := range c.SupportPlans {
		m := model.SupportPlan{Cloud: optional(p.Cloud), Percent: p.Percent, Minimum: p.Minimum, Currency: optional(p.Currency),
			Tiers: []model.SupportTier{}}
		for _, t := range p.Tiers {
			m.Tiers = append(m.Tiers, model.SupportTier{UpTo: t.UpTo, Percent: t.Percent})
		}
		out.SupportPlans = append(out.SupportPlans, m)
	}
	for _, cr := range c.Credits {
		out.Credits = append(out.Credits, model.Credit{ID: cr.ID, Month: cr.Month.Format("2006-01"),
			Amount: &model.Money{Amount: cr.Amount, Currency: cr.Currency}, Cloud: optional(cr.Cloud), Reason: cr.Reason,
			AllowNegative: cr.AllowNegative})
	}
	return out
}

// customerPricing reads a customer's pricing for the caller, with its
// organization and the pricebooks its assignments name.
func (r *Resolver) customerPricing(ctx context.Context, orgID string) (*model.CustomerPricing, error) {
	svc, p, err := r.pricingFor(ctx)
	if err != nil {
		return nil, err
	}
	c, err := svc.Customer(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	orgs, err := r.deps.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return nil, err
	}
	var org tenancy.Organization
	for _, o := range orgs {
		if o.ID == orgID {
			org = o
		}
	}
	books := map[string]pricing.Pricebook{}
	if len(c.Assignments) > 0 {
		list, err := svc.Pricebooks(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, pb := range list {
			books[pb.ID] = pb
		}
	}
	return customerPricingToModel(org, c, books), nil
}

// changed runs a change to a customer's pricing and answers its pricing.
func (r *Resolver) changed(ctx context.Context, orgID string, fn func(*pricing.Service, tenancy.Principal) error) (*model.CustomerPricing, error) {
	svc, p, err := r.pricingFor(ctx)
	if err != nil {
		return nil, err
	}
	if err := fn(svc, p); err != nil {
		return nil, err
	}
	return r.customerPricing(ctx, orgID)
}

func billToModel(b pricing.Bill, withCost bool) (*model.Bill, error) {
	out := &model.Bill{OrganizationID: b.OrgID, Month: b.Month.Format("2006-01"), Lines: []model.BillLine{}, Totals: []model.BillTotal{},
		Closed: b.Closed}
	if b.Closed {
		at := b.ClosedAt
		out.ClosedAt = &at
	}
	for _, l := range b.Lines {
		m := model.BillLine{Kind: model.BillLineKind(l.Kind), Provider: optional(l.Provider), Service: optional(l.Service),
			Description: optional(l.Description), Currency: l.Currency, Amount: l.Resale}
		if !l.RestatedMonth.IsZero() {
			m.RestatedMonth = optional(l.RestatedMonth.Format("2006-01"))
		}
		if withCost {
			cost, margin := l.Cost, l.Margin
			m.Cost, m.Margin = &cost, &margin
		}
		out.Lines = append(out.Lines, m)
	}
	for _, t := range b.Totals {
		m := model.BillTotal{Currency: t.Currency, Amount: t.Resale}
		if withCost {
			cost, margin := t.Cost, t.Margin
			m.Cost, m.Margin = &cost, &margin
		}
		out.Totals = append(out.Totals, m)
	}
	var buf bytes.Buffer
	if err := csv.NewWriter(&buf).WriteAll(b.Rows(withCost)); err != nil {
		return nil, err
	}
	out.CSV = buf.String()
	return out, nil
}

package sqlstore

import (
	"time"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/pricing"
)

// A closed month keeps its bill lines and the pricing that made them as
// JSON in billing_cycles.snapshot.

// snapshotJSON is a closed month as kept: its bill lines and the pricing
// that made its charges, so that a restatement is priced as the month was.
type snapshotJSON struct {
	Lines   []snapshotLine `json:"lines"`
	Pricing pricingJSON    `json:"pricing"`
}

type snapshotLine struct {
	Kind          string `json:"kind"`
	Provider      string `json:"provider,omitempty"`
	Service       string `json:"service,omitempty"`
	Description   string `json:"description,omitempty"`
	Currency      string `json:"currency"`
	Cost          string `json:"cost"`
	Resale        string `json:"resale"`
	RestatedMonth string `json:"restated_month,omitempty"`
}

type pricingJSON struct {
	Adjustment   string     `json:"adjustment"`
	SupportPlans []planJSON `json:"support_plans,omitempty"`
	Credits      []creditJS `json:"credits,omitempty"`
}

type planJSON struct {
	Cloud    string     `json:"cloud"`
	Percent  string     `json:"percent"`
	Tiers    []tierJSON `json:"tiers,omitempty"`
	Minimum  string     `json:"minimum"`
	Currency string     `json:"currency"`
}

type creditJS struct {
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Cloud         string `json:"cloud,omitempty"`
	Reason        string `json:"reason"`
	AllowNegative bool   `json:"allow_negative,omitempty"`
}

func newSnapshot(cust pricing.Customer, month time.Time, lines []pricing.BillLine) snapshotJSON {
	snap := snapshotJSON{Pricing: pricingJSON{Adjustment: cust.Adjustment.String()}}
	for _, l := range lines {
		sl := snapshotLine{Kind: string(l.Kind), Provider: l.Provider, Service: l.Service, Description: l.Description,
			Currency: l.Currency, Cost: l.Cost.String(), Resale: l.Resale.String()}
		if !l.RestatedMonth.IsZero() {
			sl.RestatedMonth = l.RestatedMonth.UTC().Format("2006-01")
		}
		snap.Lines = append(snap.Lines, sl)
	}
	for _, p := range cust.SupportPlans {
		pj := planJSON{Cloud: p.Cloud, Percent: p.Percent.String(), Minimum: p.Minimum.String(), Currency: p.Currency}
		if len(p.Tiers) > 0 {
			pj.Tiers = tiersJSON(p.Tiers)
		}
		snap.Pricing.SupportPlans = append(snap.Pricing.SupportPlans, pj)
	}
	for _, c := range cust.Credits {
		if billing.MonthStart(c.Month).Equal(month) {
			snap.Pricing.Credits = append(snap.Pricing.Credits, creditJS{Amount: c.Amount.String(), Currency: c.Currency,
				Cloud: c.Cloud, Reason: c.Reason, AllowNegative: c.AllowNegative})
		}
	}
	return snap
}

func (sn snapshotJSON) lines() []pricing.BillLine {
	out := make([]pricing.BillLine, 0, len(sn.Lines))
	for _, l := range sn.Lines {
		bl := pricing.BillLine{Kind: pricing.LineKind(l.Kind), Provider: l.Provider, Service: l.Service, Description: l.Description,
			Currency: l.Currency, Cost: dec(l.Cost), Resale: dec(l.Resale)}
		if m, err := time.Parse("2006-01", l.RestatedMonth); err == nil {
			bl.RestatedMonth = m
		}
		out = append(out, bl)
	}
	return out
}

// customer is the pricing the month closed with.
func (sn snapshotJSON) customer(orgID string, month time.Time) pricing.Customer {
	c := pricing.Customer{OrgID: orgID, Adjustment: dec(sn.Pricing.Adjustment)}
	for _, p := range sn.Pricing.SupportPlans {
		plan := pricing.SupportPlan{OrgID: orgID, Cloud: p.Cloud, Percent: dec(p.Percent), Minimum: dec(p.Minimum), Currency: p.Currency}
		plan.Tiers = domainTiers(p.Tiers)
		c.SupportPlans = append(c.SupportPlans, plan)
	}
	for _, cr := range sn.Pricing.Credits {
		c.Credits = append(c.Credits, pricing.Credit{OrgID: orgID, Month: month, Amount: dec(cr.Amount), Currency: cr.Currency,
			Cloud: cr.Cloud, Reason: cr.Reason, AllowNegative: cr.AllowNegative})
	}
	return c
}

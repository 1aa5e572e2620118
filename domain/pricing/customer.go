package pricing

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Assignment puts a pricebook on a customer from a month on, until a later
// assignment; an empty PricebookID ends pricing (resale = cost) from then.
// Assignments are a history: a new one never rewrites an earlier one.
type Assignment struct {
	OrgID          string
	PricebookID    string
	PricebookName  string
	EffectiveMonth time.Time
	CreatedAt      time.Time
}

// Tier is one band of a tiered support plan: Percent of the spend up to
// UpTo (from the previous tier's UpTo); nil UpTo is the rest.
type Tier struct {
	UpTo    *decimal.Decimal
	Percent decimal.Decimal
}

// SupportPlan charges a percentage of a month's resale spend, per currency,
// with a minimum fee in Currency. Cloud empty is a plan over all providers;
// otherwise it covers the spend of that cloud (AWS, AZURE, GCP, OCI) only.
type SupportPlan struct {
	OrgID    string
	Cloud    string
	Percent  decimal.Decimal
	Tiers    []Tier
	Minimum  decimal.Decimal
	Currency string
	// From, when set, is the month a change of the plan is meant to take
	// effect: a closed month is refused. Not stored: a plan prices the
	// open months, and closed ones keep the plans they closed with.
	From time.Time
}

// Credit lowers a customer's month by Amount in Currency, limited to one
// cloud's spend when Cloud is set. It never takes the month (or the cloud's
// part of it) below zero unless AllowNegative.
type Credit struct {
	ID            string
	OrgID         string
	Month         time.Time
	Amount        decimal.Decimal
	Currency      string
	Cloud         string
	Reason        string
	AllowNegative bool
	CreatedAt     time.Time
}

// Customer is everything that prices one customer's months.
type Customer struct {
	OrgID       string
	Assignments []Assignment // oldest effective month first
	// Adjustment is a global uplift (positive) or discount (negative) in
	// percent, applied after the pricebook and before support.
	Adjustment   decimal.Decimal
	SupportPlans []SupportPlan
	Credits      []Credit
}

// PricebookFor returns the ID of the pricebook in force in month, or ""
// when none is.
func (c Customer) PricebookFor(month time.Time) string {
	month = billing.MonthStart(month)
	id := ""
	best := time.Time{}
	for _, a := range c.Assignments {
		if a.EffectiveMonth.After(month) || a.EffectiveMonth.Before(best) {
			continue
		}
		id, best = a.PricebookID, a.EffectiveMonth
	}
	return id
}

// Priced reports whether anything prices the customer at all; an unpriced
// customer's resale is its cost and needs no work.
func (c Customer) Priced() bool {
	return len(c.Assignments) > 0 || !c.Adjustment.IsZero() || len(c.SupportPlans) > 0 || len(c.Credits) > 0
}

// Validate checks and normalises a support plan.
func (p *SupportPlan) Validate() error {
	p.Cloud = strings.ToUpper(strings.TrimSpace(p.Cloud))
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	switch p.Cloud {
	case "", billing.CloudAWS, billing.CloudAzure, billing.CloudGCP, billing.CloudOCI:
	default:
		return domain.Errorf(domain.Invalid, "cloud must be AWS, AZURE, GCP, OCI or empty for all, not %q", p.Cloud)
	}
	if p.Percent.IsNegative() || p.Percent.GreaterThan(decimal.NewFromInt(100)) {
		return domain.Errorf(domain.Invalid, "support percent must be between 0 and 100")
	}
	if p.Minimum.IsNegative() {
		return domain.Errorf(domain.Invalid, "the minimum fee must not be negative")
	}
	if !p.Minimum.IsZero() && !validCurrency(p.Currency) {
		return domain.Errorf(domain.Invalid, "a minimum fee needs its currency (three letters, e.g. USD)")
	}
	var prev *decimal.Decimal
	for i, t := range p.Tiers {
		if t.Percent.IsNegative() || t.Percent.GreaterThan(decimal.NewFromInt(100)) {
			return domain.Errorf(domain.Invalid, "tier %d: percent must be between 0 and 100", i+1)
		}
		last := i == len(p.Tiers)-1
		if (t.UpTo == nil) != last {
			return domain.Errorf(domain.Invalid, "every tier but the last needs an upper bound, and the last has none")
		}
		if t.UpTo != nil {
			if !t.UpTo.IsPositive() || (prev != nil && !t.UpTo.GreaterThan(*prev)) {
				return domain.Errorf(domain.Invalid, "tier %d: upper bounds must be positive and increasing", i+1)
			}
			prev = t.UpTo
		}
	}
	return nil
}

// Fee is the plan's fee on a spend, before the minimum: Percent of it, or
// each tier's percent of the part of it within the tier. A negative spend
// has no fee.
func (p SupportPlan) Fee(spend decimal.Decimal) decimal.Decimal {
	if !spend.IsPositive() {
		return decimal.Zero
	}
	if len(p.Tiers) == 0 {
		return spend.Mul(p.Percent.Shift(-2))
	}
	fee, lower := decimal.Zero, decimal.Zero
	for _, t := range p.Tiers {
		upper := spend
		if t.UpTo != nil && t.UpTo.LessThan(spend) {
			upper = *t.UpTo
		}
		if upper.GreaterThan(lower) {
			fee = fee.Add(upper.Sub(lower).Mul(t.Percent.Shift(-2)))
		}
		if t.UpTo == nil || !t.UpTo.LessThan(spend) {
			break
		}
		lower = *t.UpTo
	}
	return fee
}

// Validate checks and normalises a credit.
func (c *Credit) Validate() error {
	c.Cloud = strings.ToUpper(strings.TrimSpace(c.Cloud))
	c.Currency = strings.ToUpper(strings.TrimSpace(c.Currency))
	c.Reason = strings.TrimSpace(c.Reason)
	switch c.Cloud {
	case "", billing.CloudAWS, billing.CloudAzure, billing.CloudGCP, billing.CloudOCI:
	default:
		return domain.Errorf(domain.Invalid, "cloud must be AWS, AZURE, GCP, OCI or empty for all, not %q", c.Cloud)
	}
	if !c.Amount.IsPositive() {
		return domain.Errorf(domain.Invalid, "a credit's amount must be positive")
	}
	if !validCurrency(c.Currency) {
		return domain.Errorf(domain.Invalid, "a credit needs its currency (three letters, e.g. USD)")
	}
	if c.Reason == "" {
		return domain.Errorf(domain.Invalid, "a credit needs a reason")
	}
	if len(c.Reason) > 500 {
		return domain.Errorf(domain.Invalid, "a credit's reason is at most 500 characters")
	}
	c.Month = billing.MonthStart(c.Month)
	return nil
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// maxAdjustment bounds a global uplift or discount in percent.
var maxAdjustment = decimal.NewFromInt(100)

// ValidateAdjustment checks a global discount (negative) or uplift
// (positive) in percent: between -100 and 100.
func ValidateAdjustment(pct decimal.Decimal) error {
	if pct.Abs().GreaterThan(maxAdjustment) {
		return domain.Errorf(domain.Invalid, "a discount or uplift is between -100 and 100 percent")
	}
	return nil
}

// Spend is a month's resale after the pricebook for one provider and
// currency: Resale without tax, Tax the tax.
type Spend struct {
	Provider string
	Currency string
	Resale   decimal.Decimal
	Tax      decimal.Decimal
}

// ChargeKind tells the charges pricing adds to a month apart.
type ChargeKind string

// Charge kinds, in the order a month applies them.
const (
	Adjustment ChargeKind = "ADJUSTMENT"
	Support    ChargeKind = "SUPPORT"
	CreditKind ChargeKind = "CREDIT"
)

// Charge is one line pricing adds to a customer's month: written as a line
// item of the customer's pricing source with BilledCost 0 and resale
// Amount.
type Charge struct {
	Kind        ChargeKind
	Provider    string // the provider it belongs to; empty for the whole month
	Currency    string
	Amount      decimal.Decimal
	Description string
	// RestatedMonth is the closed month a Restatement charge carries.
	RestatedMonth time.Time
}

// ServiceName is the FOCUS ServiceName of a charge's line item.
func (k ChargeKind) ServiceName(amount decimal.Decimal) string {
	switch k {
	case Support:
		return "Support"
	case CreditKind:
		return "Credit"
	case Restatement:
		return "Restatement"
	}
	if amount.IsNegative() {
		return "Discount"
	}
	return "Uplift"
}

// ChargeCategory is the FOCUS ChargeCategory of a charge's line item.
func (k ChargeKind) ChargeCategory() string {
	switch k {
	case Support:
		return "Purchase"
	case CreditKind:
		return "Credit"
	}
	return "Adjustment"
}

// Charges computes what pricing adds to a month of spend: the global
// discount or uplift on each provider's resale (tax excluded), then each
// support plan's fee on the resale it covers after that (at least its
// minimum, in its currency), then the month's credits in the order given,
// each at most what is left of the month (or of its cloud) unless it may
// go below zero. Amounts are exact; nothing is rounded.
func (c Customer) Charges(month time.Time, spend []Spend) []Charge {
	month = billing.MonthStart(month)
	spend = append([]Spend(nil), spend...)
	sort.Slice(spend, func(i, j int) bool {
		if spend[i].Currency != spend[j].Currency {
			return spend[i].Currency < spend[j].Currency
		}
		return spend[i].Provider < spend[j].Provider
	})
	// after holds each (provider, currency)'s resale after the adjustment.
	type key struct{ provider, currency string }
	after := map[key]decimal.Decimal{}
	total := map[key]decimal.Decimal{} // with tax and every charge so far
	var out []Charge
	for _, s := range spend {
		k := key{s.Provider, s.Currency}
		after[k] = after[k].Add(s.Resale)
		total[k] = total[k].Add(s.Resale).Add(s.Tax)
		if c.Adjustment.IsZero() || s.Resale.IsZero() {
			continue
		}
		amt := s.Resale.Mul(c.Adjustment.Shift(-2))
		after[k] = after[k].Add(amt)
		total[k] = total[k].Add(amt)
		out = append(out, Charge{Kind: Adjustment, Provider: s.Provider, Currency: s.Currency, Amount: amt,
			Description: adjustmentText(c.Adjustment)})
	}
	currencies := map[string]bool{}
	for _, s := range spend {
		currencies[s.Currency] = true
	}
	for _, p := range c.SupportPlans {
		// A cloud's fee is written under the first of the cloud's
		// providers with spend; a fee over all providers under none.
		provider := ""
		cur := map[string]decimal.Decimal{}
		for _, s := range spend {
			if p.Cloud != "" && billing.CloudOf(s.Provider) != p.Cloud {
				continue
			}
			if provider == "" && p.Cloud != "" {
				provider = s.Provider
			}
			cur[s.Currency] = cur[s.Currency].Add(after[key{s.Provider, s.Currency}])
		}
		if p.Cloud != "" && provider == "" {
			continue // no spend on the plan's cloud this month
		}
		if len(spend) > 0 && !p.Minimum.IsZero() {
			if _, ok := cur[p.Currency]; !ok {
				cur[p.Currency] = decimal.Zero
			}
		}
		names := make([]string, 0, len(cur))
		for n := range cur {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, currency := range names {
			fee := p.Fee(cur[currency])
			if currency == p.Currency && fee.LessThan(p.Minimum) {
				fee = p.Minimum
			}
			if fee.IsZero() {
				continue
			}
			k := key{provider, currency}
			total[k] = total[k].Add(fee)
			out = append(out, Charge{Kind: Support, Provider: provider, Currency: currency, Amount: fee,
				Description: supportText(p)})
		}
	}
	for _, cr := range c.Credits {
		if !billing.MonthStart(cr.Month).Equal(month) {
			continue
		}
		overall, scoped := decimal.Zero, decimal.Zero
		provider := ""
		for k, v := range total {
			if k.currency != cr.Currency {
				continue
			}
			overall = overall.Add(v)
			if cr.Cloud != "" && billing.CloudOf(k.provider) == cr.Cloud {
				scoped = scoped.Add(v)
				if provider == "" || k.provider < provider {
					provider = k.provider
				}
			}
		}
		room := overall
		if cr.Cloud != "" && scoped.LessThan(room) {
			room = scoped
		}
		amt := cr.Amount
		if !cr.AllowNegative {
			if !room.IsPositive() {
				continue
			}
			if room.LessThan(amt) {
				amt = room
			}
		}
		if cr.Cloud != "" && provider == "" {
			if !cr.AllowNegative {
				continue
			}
			provider = cr.Cloud
		}
		k := key{provider, cr.Currency}
		total[k] = total[k].Sub(amt)
		out = append(out, Charge{Kind: CreditKind, Provider: provider, Currency: cr.Currency, Amount: amt.Neg(),
			Description: cr.Reason})
	}
	return out
}

func adjustmentText(pct decimal.Decimal) string {
	if pct.IsNegative() {
		return fmt.Sprintf("Discount %s%%", pct.Neg())
	}
	return fmt.Sprintf("Uplift %s%%", pct)
}

func supportText(p SupportPlan) string {
	scope := "all providers"
	if p.Cloud != "" {
		scope = p.Cloud
	}
	if len(p.Tiers) > 0 {
		return "Support (tiered, " + scope + ")"
	}
	return fmt.Sprintf("Support %s%% (%s)", p.Percent, scope)
}

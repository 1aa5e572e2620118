// Package pricing is the reseller's price list: pricebooks of rules that
// turn each line item's cost into its resale price, assigned to customers
// month by month, plus a customer's global discount or uplift, support
// plans and credits, and the bill those make for a month. It is part of the
// domain core: its Store port is implemented by adapters/sqlstore, which
// applies the rules to the line items in the database.
//
// Rounding: never. Every amount is an exact decimal (percentages are exact
// decimal factors, fixed prices multiply exact quantities), so a line
// item's resale, a bill line and a bill total are exact and the parts of a
// bill add up to its total to the last digit. Rounding to a currency's
// minor unit is left to whatever issues the invoice.
package pricing

import (
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
)

// ScopeKind is what a rule's scope compares with a line item.
type ScopeKind string

// Scopes, from the least to the most specific (see Specificity).
const (
	ScopeAll             ScopeKind = "ALL"
	ScopeChargeCategory  ScopeKind = "CHARGE_CATEGORY"
	ScopeCloud           ScopeKind = "CLOUD"
	ScopeBillingAccount  ScopeKind = "BILLING_ACCOUNT"
	ScopeSubAccount      ScopeKind = "SUB_ACCOUNT"
	ScopeRegion          ScopeKind = "REGION"
	ScopeServiceCategory ScopeKind = "SERVICE_CATEGORY"
	ScopeService         ScopeKind = "SERVICE"
	ScopeSKU             ScopeKind = "SKU"
)

// scopeOrder lists the scopes from least to most specific.
var scopeOrder = []ScopeKind{ScopeAll, ScopeChargeCategory, ScopeCloud, ScopeBillingAccount, ScopeSubAccount,
	ScopeRegion, ScopeServiceCategory, ScopeService, ScopeSKU}

// Specificity ranks a scope: a rule of a higher rank wins over a matching
// rule of a lower one. A SKU is the narrowest, then a service, a service
// category, a region, a sub account, a billing account, a cloud, a charge
// category, and all.
func Specificity(k ScopeKind) int {
	for i, s := range scopeOrder {
		if s == k {
			return i
		}
	}
	return -1
}

// RuleType is how a rule prices the line items it matches.
type RuleType string

// Rule types.
const (
	// Markup is resale = BilledCost × (1 + Percent/100).
	Markup RuleType = "MARKUP"
	// Discount is resale = ListCost × (1 − Percent/100), or BilledCost
	// where ListCost is null.
	Discount RuleType = "DISCOUNT"
	// FixedPrice is resale = UnitPrice × PricingQuantity, for line items of
	// the rule's SKU priced in its PricingUnit.
	FixedPrice RuleType = "FIXED_PRICE"
)

// TaxCategory is the FOCUS ChargeCategory of tax: it passes through at cost
// unless a rule scopes ChargeCategory Tax.
const TaxCategory = "Tax"

// Rule prices the line items of its scope. Priority breaks ties between
// matching rules of the same specificity: the higher wins, then the rule
// added first.
type Rule struct {
	ID          string
	Scope       ScopeKind
	Value       string // what the scope compares; empty for ScopeAll
	Type        RuleType
	Percent     decimal.Decimal // Markup and Discount
	UnitPrice   decimal.Decimal // FixedPrice
	PricingUnit string          // FixedPrice
	Priority    int
	Position    int // order of addition within the pricebook
}

// Pricebook is a reseller's named set of rules. Version counts its
// changes: every change to a rule makes a new version.
type Pricebook struct {
	ID         string
	ResellerID string
	Name       string
	Version    int
	Rules      []Rule
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// maxPercent bounds markups and discounts: a typo of 1500 for 15.00 should
// be refused, not billed.
var maxPercent = decimal.NewFromInt(1000)

// Validate checks a rule and normalises its fields.
func (r *Rule) Validate() error {
	r.Value = strings.TrimSpace(r.Value)
	r.PricingUnit = strings.TrimSpace(r.PricingUnit)
	if Specificity(r.Scope) < 0 {
		return domain.Errorf(domain.Invalid, "unknown rule scope %q", r.Scope)
	}
	if r.Scope == ScopeAll {
		r.Value = ""
	} else if r.Value == "" {
		return domain.Errorf(domain.Invalid, "a %s rule needs the value it matches", r.Scope)
	}
	if r.Scope == ScopeCloud {
		r.Value = strings.ToUpper(r.Value)
	}
	switch r.Type {
	case Markup, Discount:
		if r.Percent.IsNegative() || r.Percent.GreaterThan(maxPercent) {
			return domain.Errorf(domain.Invalid, "percent must be between 0 and %s", maxPercent)
		}
		if r.Type == Discount && r.Percent.GreaterThan(decimal.NewFromInt(100)) {
			return domain.Errorf(domain.Invalid, "a discount is at most 100 percent")
		}
		r.UnitPrice, r.PricingUnit = decimal.Zero, ""
	case FixedPrice:
		if r.Scope != ScopeSKU {
			return domain.Errorf(domain.Invalid, "a fixed unit price applies to one SKU: use scope SKU")
		}
		if r.PricingUnit == "" {
			return domain.Errorf(domain.Invalid, "a fixed unit price needs its pricing unit")
		}
		if r.UnitPrice.IsNegative() {
			return domain.Errorf(domain.Invalid, "unit price must not be negative")
		}
		r.Percent = decimal.Zero
	default:
		return domain.Errorf(domain.Invalid, "unknown rule type %q", r.Type)
	}
	return nil
}

// Factor is the exact multiplier of a Markup (1 + p/100) or Discount
// (1 − p/100) rule.
func (r Rule) Factor() decimal.Decimal {
	p := r.Percent.Shift(-2)
	if r.Type == Discount {
		return decimal.NewFromInt(1).Sub(p)
	}
	return decimal.NewFromInt(1).Add(p)
}

// Ordered returns the rules in the order they are tried: most specific
// first, then highest priority, then the one added first. The first rule
// that matches a line item prices it.
func Ordered(rules []Rule) []Rule {
	out := append([]Rule(nil), rules...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if sa, sb := Specificity(a.Scope), Specificity(b.Scope); sa != sb {
			return sa > sb
		}
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		return a.Position < b.Position
	})
	return out
}

// Item is what pricing reads of a line item. Cloud is the provider
// normalised as billing.CloudOf does; ListCost and PricingQuantity are nil
// where the source has none.
type Item struct {
	Cloud           string
	ServiceName     string
	ServiceCategory string
	SkuID           string
	RegionID        string
	BillingAccount  string
	SubAccount      string
	ChargeCategory  string
	PricingUnit     string
	BilledCost      decimal.Decimal
	ListCost        *decimal.Decimal
	PricingQuantity *decimal.Decimal
}

// Matches reports whether the rule applies to the item. Tax matches only
// rules scoped to ChargeCategory Tax; a fixed price needs the item to be
// priced in the rule's unit with a quantity.
func (r Rule) Matches(it Item) bool {
	isTax := it.ChargeCategory == TaxCategory
	if isTax && !(r.Scope == ScopeChargeCategory && r.Value == TaxCategory) {
		return false
	}
	var ok bool
	switch r.Scope {
	case ScopeAll:
		ok = true
	case ScopeChargeCategory:
		ok = it.ChargeCategory == r.Value
	case ScopeCloud:
		ok = it.Cloud == r.Value
	case ScopeBillingAccount:
		ok = it.BillingAccount == r.Value
	case ScopeSubAccount:
		ok = it.SubAccount == r.Value
	case ScopeRegion:
		ok = it.RegionID == r.Value
	case ScopeServiceCategory:
		ok = it.ServiceCategory == r.Value
	case ScopeService:
		ok = it.ServiceName == r.Value
	case ScopeSKU:
		ok = it.SkuID == r.Value
	}
	if ok && r.Type == FixedPrice {
		ok = it.PricingUnit == r.PricingUnit && it.PricingQuantity != nil
	}
	return ok
}

// Apply is the resale the rule gives the item, which it must match.
func (r Rule) Apply(it Item) decimal.Decimal {
	switch r.Type {
	case Discount:
		base := it.BilledCost
		if it.ListCost != nil {
			base = *it.ListCost
		}
		return base.Mul(r.Factor())
	case FixedPrice:
		return r.UnitPrice.Mul(*it.PricingQuantity)
	}
	return it.BilledCost.Mul(r.Factor())
}

// Price returns the item's resale under the rules: the first of Ordered
// that matches, or the cost (BilledCost) when none does.
func Price(rules []Rule, it Item) decimal.Decimal {
	for _, r := range Ordered(rules) {
		if r.Matches(it) {
			return r.Apply(it)
		}
	}
	return it.BilledCost
}

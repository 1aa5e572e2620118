package pricingpage

import (
	"net/url"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
)

// Option is one choice of a select.
type Option struct {
	Value, Label string
}

// ListView is the Pricebooks page.
type ListView struct {
	CanEdit    bool
	Pricebooks []BookRow
	Customers  []Option // links to each customer's Pricing page
}

// BookRow is one pricebook in the list.
type BookRow struct {
	ID, Name, Version, Rules, Updated string
}

func listView(p tenancy.Principal, books []pricing.Pricebook, customers []tenancy.Organization) ListView {
	v := ListView{CanEdit: p.IsAdmin()}
	for _, b := range books {
		v.Pricebooks = append(v.Pricebooks, BookRow{ID: b.ID, Name: b.Name, Version: strconv.Itoa(b.Version),
			Rules: strconv.Itoa(len(b.Rules)), Updated: b.UpdatedAt.UTC().Format("2006-01-02 15:04")})
	}
	for _, c := range customers {
		v.Customers = append(v.Customers, Option{Value: c.ID, Label: c.Name})
	}
	return v
}

// EditorView is a pricebook's editor.
type EditorView struct {
	CanEdit   bool
	ID, Name  string
	Version   string
	Rules     []RuleRow
	Form      RuleForm
	Customers []Option
	Month     string // the preview's month, YYYY-MM
	Scopes    []Option
	Types     []Option
}

// RuleRow is one rule, in the order rules are tried.
type RuleRow struct {
	ID, Scope, Value, Type, Amount, Priority string
}

// RuleForm is the add or edit rule form.
type RuleForm struct {
	RuleID, Scope, Value, Type, Percent, UnitPrice, PricingUnit, Priority string
}

var scopeLabels = []Option{
	{string(pricing.ScopeAll), "All"}, {string(pricing.ScopeCloud), "Cloud"}, {string(pricing.ScopeService), "Service"},
	{string(pricing.ScopeServiceCategory), "Service category"}, {string(pricing.ScopeSKU), "SKU"},
	{string(pricing.ScopeRegion), "Region"}, {string(pricing.ScopeBillingAccount), "Billing account"},
	{string(pricing.ScopeSubAccount), "Sub account"}, {string(pricing.ScopeChargeCategory), "Charge category"},
}

var typeLabels = []Option{
	{string(pricing.Markup), "Markup % on billed cost"}, {string(pricing.Discount), "Discount % off list cost"},
	{string(pricing.FixedPrice), "Fixed unit price"},
}

func label(opts []Option, v string) string {
	for _, o := range opts {
		if o.Value == v {
			return o.Label
		}
	}
	return v
}

func editorView(p tenancy.Principal, pb pricing.Pricebook, customers []tenancy.Organization, month time.Time) EditorView {
	v := EditorView{CanEdit: p.IsAdmin(), ID: pb.ID, Name: pb.Name, Version: strconv.Itoa(pb.Version),
		Month: month.Format("2006-01"), Scopes: scopeLabels, Types: typeLabels,
		Form: RuleForm{Scope: string(pricing.ScopeAll), Type: string(pricing.Markup), Priority: "0"}}
	for _, r := range pricing.Ordered(pb.Rules) {
		row := RuleRow{ID: r.ID, Scope: label(scopeLabels, string(r.Scope)), Value: r.Value, Type: label(typeLabels, string(r.Type)),
			Priority: strconv.Itoa(r.Priority)}
		if r.Type == pricing.FixedPrice {
			row.Amount = r.UnitPrice.String() + " per " + r.PricingUnit
		} else {
			row.Amount = r.Percent.String() + "%"
		}
		v.Rules = append(v.Rules, row)
	}
	for _, c := range customers {
		v.Customers = append(v.Customers, Option{Value: c.ID, Label: c.Name})
	}
	return v
}

func ruleForm(r pricing.Rule) RuleForm {
	f := RuleForm{RuleID: r.ID, Scope: string(r.Scope), Value: r.Value, Type: string(r.Type), PricingUnit: r.PricingUnit,
		Priority: strconv.Itoa(r.Priority)}
	if r.Type == pricing.FixedPrice {
		f.UnitPrice = r.UnitPrice.String()
	} else {
		f.Percent = r.Percent.String()
	}
	return f
}

// BillView is a bill as a table. Amounts are exact: Truecost never rounds.
type BillView struct {
	OrgID    string
	Month    string // YYYY-MM
	Title    string // "September 2024"
	WithCost bool
	Lines    []BillRow
	Totals   []BillRow
	CSVURL   string
}

// BillRow is one line or total of a bill.
type BillRow struct {
	Kind, Provider, Service, Description, Currency string
	Amount, Cost, Margin                           string
}

var kindLabels = map[pricing.LineKind]string{
	pricing.Usage: "Usage", pricing.LineKind(pricing.Adjustment): "Discount / uplift",
	pricing.LineKind(pricing.Support): "Support", pricing.LineKind(pricing.CreditKind): "Credit",
	pricing.LineKind(pricing.Restatement): "Restatement",
}

func billView(b pricing.Bill, withCost bool) BillView {
	v := BillView{OrgID: b.OrgID, Month: b.Month.Format("2006-01"), Title: b.Month.Format("January 2006"), WithCost: withCost}
	q := url.Values{"org": {b.OrgID}, "month": {v.Month}}
	v.CSVURL = "/bills.csv?" + q.Encode()
	str := func(d decimal.Decimal) string {
		if !withCost {
			return ""
		}
		return d.String()
	}
	for _, l := range b.Lines {
		v.Lines = append(v.Lines, BillRow{Kind: kindLabels[l.Kind], Provider: l.Provider, Service: l.Service,
			Description: l.Description, Currency: l.Currency, Amount: l.Resale.String(), Cost: str(l.Cost), Margin: str(l.Margin)})
	}
	for _, t := range b.Totals {
		v.Totals = append(v.Totals, BillRow{Currency: t.Currency, Amount: t.Resale.String(), Cost: str(t.Cost), Margin: str(t.Margin)})
	}
	return v
}

// BillPageView is the bills page: a picker of customer and month, and the
// bill.
type BillPageView struct {
	Bill      BillView
	Customers []Option
	// Closed marks the snapshot of a closed month, closed on ClosedAt.
	Closed   bool
	ClosedAt string
}

func billPageView(b pricing.Bill, withCost bool, customers []tenancy.Organization) BillPageView {
	v := BillPageView{Bill: billView(b, withCost), Closed: b.Closed}
	if b.Closed {
		v.ClosedAt = layout.FormatTime(b.ClosedAt)
	}
	for _, c := range customers {
		v.Customers = append(v.Customers, Option{Value: c.ID, Label: c.Name})
	}
	return v
}

// PreviewView compares a customer's bill now with the bill under the
// edited pricebook.
type PreviewView struct {
	Preview BillView
	Current []BillRow // the totals now
}

func previewView(preview, current pricing.Bill) PreviewView {
	return PreviewView{Preview: billView(preview, true), Current: billView(current, true).Totals}
}

// CustomerView is a customer's Pricing page.
type CustomerView struct {
	CanEdit     bool
	OrgID, Name string
	Assignments []AssignmentRow
	Pricebooks  []Option
	Adjustment  string
	Plans       []PlanRow
	Credits     []CreditRow
	Month       string // default month of the forms
	BillURL     string
}

// AssignmentRow is one entry of the pricebook history.
type AssignmentRow struct {
	Month, Pricebook, Recorded string
}

// PlanRow is one support plan.
type PlanRow struct {
	Cloud, CloudLabel, Percent, Minimum string
}

// CreditRow is one credit.
type CreditRow struct {
	ID, Month, Amount, Cloud, Reason string
}

func customerView(p tenancy.Principal, org tenancy.Organization, c pricing.Customer, books []pricing.Pricebook, month time.Time) CustomerView {
	v := CustomerView{CanEdit: p.IsAdmin(), OrgID: org.ID, Name: org.Name, Adjustment: c.Adjustment.String(),
		Month: month.Format("2006-01"), BillURL: "/bills?" + url.Values{"org": {org.ID}}.Encode()}
	for i := len(c.Assignments) - 1; i >= 0; i-- {
		a := c.Assignments[i]
		name := a.PricebookName
		if a.PricebookID == "" {
			name = "None (resale = cost)"
		}
		v.Assignments = append(v.Assignments, AssignmentRow{Month: a.EffectiveMonth.Format("January 2006"), Pricebook: name,
			Recorded: a.CreatedAt.Format("2006-01-02 15:04")})
	}
	for _, b := range books {
		v.Pricebooks = append(v.Pricebooks, Option{Value: b.ID, Label: b.Name})
	}
	for _, pl := range c.SupportPlans {
		row := PlanRow{Cloud: pl.Cloud, CloudLabel: pl.Cloud, Percent: pl.Percent.String() + "%", Minimum: pl.Minimum.String() + " " + pl.Currency}
		if pl.Cloud == "" {
			row.CloudLabel = "All providers"
		}
		if len(pl.Tiers) > 0 {
			row.Percent = "tiered"
		}
		v.Plans = append(v.Plans, row)
	}
	for _, cr := range c.Credits {
		row := CreditRow{ID: cr.ID, Month: cr.Month.Format("January 2006"), Amount: cr.Amount.String() + " " + cr.Currency,
			Cloud: cr.Cloud, Reason: cr.Reason}
		if row.Cloud == "" {
			row.Cloud = "All providers"
		}
		v.Credits = append(v.Credits, row)
	}
	return v
}

package customerspage

import (
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/views/layout"
)

// ListView is the Customers page.
type ListView struct {
	Month   string
	Rows    []Row
	Columns []Column
	CanEdit bool
	Form    AddForm
}

// Row is one customer in one currency.
type Row struct {
	OrgID, Name, Slug            string
	Cost, Resale, Margin, Markup string
	cost, resale, margin         decimal.Decimal
}

// Column is a sortable column header: its link sorts by it, flipping the
// order when it is the current one.
type Column struct {
	Label, Href, Sorted string // Sorted: "", "ascending" or "descending"
	Num                 bool
}

// AddForm is the Add customer form, with the domain's message when it was
// refused.
type AddForm struct {
	Slug, Name, Email, Error string
}

func listView(sums []pricing.CustomerSummary, month time.Time, by, order string) ListView {
	v := ListView{Month: layout.FormatMonth(month)}
	for _, s := range sums {
		row := Row{OrgID: s.Org.ID, Name: s.Org.Name, Slug: s.Org.Slug, cost: s.Cost, resale: s.Resale, margin: s.Margin}
		if s.Currency == "" {
			row.Cost, row.Resale, row.Margin = "—", "—", "—"
		} else {
			row.Cost = layout.FormatMoney(s.Cost, s.Currency)
			row.Resale = layout.FormatMoney(s.Resale, s.Currency)
			row.Margin = layout.FormatMoney(s.Margin, s.Currency)
			row.Markup = layout.FormatPercent(s.Margin, s.Cost)
		}
		v.Rows = append(v.Rows, row)
	}
	switch by {
	case "cost", "resale", "margin":
	default:
		by = "name"
	}
	desc := order == "desc"
	key := func(r Row) decimal.Decimal {
		switch by {
		case "cost":
			return r.cost
		case "resale":
			return r.resale
		}
		return r.margin
	}
	sort.SliceStable(v.Rows, func(i, j int) bool {
		a, b := v.Rows[i], v.Rows[j]
		var less bool
		if by == "name" {
			less = strings.ToLower(a.Name) < strings.ToLower(b.Name)
		} else {
			less = key(a).LessThan(key(b))
		}
		if desc {
			if by == "name" {
				return strings.ToLower(a.Name) > strings.ToLower(b.Name)
			}
			return key(b).LessThan(key(a))
		}
		return less
	})
	for _, c := range []struct{ key, label string }{{"name", "Customer"}, {"cost", "Cost"}, {"resale", "Resale"}, {"margin", "Margin"}} {
		col := Column{Label: c.label, Num: c.key != "name"}
		next := "asc"
		if c.key == by {
			col.Sorted = "ascending"
			if desc {
				col.Sorted = "descending"
			} else {
				next = "desc"
			}
		}
		col.Href = "/customers?" + url.Values{"sort": {c.key}, "order": {next}}.Encode()
		v.Columns = append(v.Columns, col)
	}
	return v
}

// InvitedView is what Add customer answers: the link to hand to the
// customer's first admin, shown once.
type InvitedView struct {
	OrgID, OrgName, Email, Link, Expires string
}

// Item is one linked entry of a list on the customer page.
type Item struct {
	Label, Detail, Href string
}

// CustomerView is a customer's page.
type CustomerView struct {
	OrgID, Name, Slug string
	CanEdit           bool
	Notice            string
	Pricing           []string
	Cycles            []CycleRow
	Events            []EventRow
	ShowAccounts      bool
	Accounts          []Item
	ShowConnectors    bool
	Connectors        []Item
}

// CycleRow is one month of a customer.
type CycleRow struct {
	Month, Label, State, ClosedAt, ClosedBy, BillHref string
	Closed, CanClose, CanReopen                       bool
}

// EventRow is one record of the cycles' audit trail.
type EventRow struct {
	At, Month, Action, Actor, Reason string
}

func pricingSummary(c pricing.Customer) []string {
	var out []string
	if n := len(c.Assignments); n > 0 {
		a := c.Assignments[n-1]
		name := a.PricebookName
		if a.PricebookID == "" {
			name = "no pricebook (at cost)"
		}
		out = append(out, "Pricebook: "+name+" from "+layout.FormatMonth(a.EffectiveMonth))
	} else {
		out = append(out, "No pricebook: billed at cost")
	}
	if !c.Adjustment.IsZero() {
		out = append(out, "Discount or uplift: "+c.Adjustment.String()+"%")
	}
	if n := len(c.SupportPlans); n > 0 {
		out = append(out, "Support plans: "+decimal.NewFromInt(int64(n)).String())
	}
	if n := len(c.Credits); n > 0 {
		out = append(out, "Credits: "+decimal.NewFromInt(int64(n)).String())
	}
	return out
}

// cycleRows lists a customer's months newest first: an ended open month
// may close, the latest closed month may reopen.
func cycleRows(orgID string, cycles []pricing.Cycle, thisMonth time.Time) []CycleRow {
	var latestClosed time.Time
	for _, c := range cycles {
		if c.State == pricing.Closed && c.Month.After(latestClosed) {
			latestClosed = c.Month
		}
	}
	out := make([]CycleRow, 0, len(cycles))
	for _, c := range cycles {
		row := CycleRow{Month: c.Month.Format("2006-01"), Label: layout.FormatMonth(c.Month), State: "Open",
			BillHref: "/bills?" + url.Values{"org": {orgID}, "month": {c.Month.Format("2006-01")}}.Encode()}
		if c.State == pricing.Closed {
			row.Closed, row.State = true, "Closed"
			row.ClosedAt, row.ClosedBy = layout.FormatTime(c.ClosedAt), c.ClosedBy
			row.CanReopen = c.Month.Equal(latestClosed)
		} else {
			row.CanClose = c.Month.Before(thisMonth)
		}
		out = append(out, row)
	}
	return out
}

func eventRows(events []pricing.CycleEvent) []EventRow {
	out := make([]EventRow, 0, len(events))
	for _, e := range events {
		action := "Closed"
		if e.Action == pricing.ReopenAction {
			action = "Reopened"
		}
		out = append(out, EventRow{At: layout.FormatTime(e.At), Month: layout.FormatMonth(e.Month), Action: action, Actor: e.Actor,
			Reason: e.Reason})
	}
	return out
}

// UsersView is a customer's Users page.
type UsersView struct {
	OrgID, Name string
	CanEdit     bool
	Users       []UserRow
	Form        UserForm
	// Link is the invitation of the user just added, shown once.
	Link   string
	Notice string
}

// UserRow is one user.
type UserRow struct {
	ID, Email, Role string
}

// UserForm is the Add user form, with the domain's message when refused.
type UserForm struct {
	Email, Role, Error string
}

// OwnView is a customer's own months.
type OwnView struct {
	Name   string
	Cycles []CycleRow
}

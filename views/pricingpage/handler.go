// Package pricingpage is the console's reseller pricing: the Pricebooks
// editor (rules, and a preview of a rule's effect on a customer's last
// month before saving), each customer's Pricing page (pricebook history,
// discount or uplift, support plans, credits), and the bills, which
// customers read too, at resale only, with their CSV download.
package pricingpage

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
)

// Pricing runs the pricing use cases for a caller, checking its rights.
// *pricing.Service implements it.
type Pricing interface {
	Pricebooks(ctx context.Context, p tenancy.Principal) ([]pricing.Pricebook, error)
	Pricebook(ctx context.Context, p tenancy.Principal, id string) (pricing.Pricebook, error)
	CreatePricebook(ctx context.Context, p tenancy.Principal, name string) (pricing.Pricebook, error)
	PutRule(ctx context.Context, p tenancy.Principal, pricebookID string, rule pricing.Rule) (pricing.Pricebook, error)
	RemoveRule(ctx context.Context, p tenancy.Principal, pricebookID, ruleID string) (pricing.Pricebook, error)
	Customer(ctx context.Context, p tenancy.Principal, orgID string) (pricing.Customer, error)
	Assign(ctx context.Context, p tenancy.Principal, orgID, pricebookID string, month time.Time) (pricing.Customer, error)
	SetAdjustmentFrom(ctx context.Context, p tenancy.Principal, orgID string, pct decimal.Decimal, from time.Time) (pricing.Customer, error)
	PutSupportPlan(ctx context.Context, p tenancy.Principal, plan pricing.SupportPlan) (pricing.Customer, error)
	RemoveSupportPlan(ctx context.Context, p tenancy.Principal, orgID, cloud string) (pricing.Customer, error)
	AddCredit(ctx context.Context, p tenancy.Principal, c pricing.Credit) (pricing.Customer, error)
	RemoveCredit(ctx context.Context, p tenancy.Principal, orgID, id string) (pricing.Customer, error)
	Bill(ctx context.Context, p tenancy.Principal, orgID string, month time.Time) (pricing.Bill, bool, error)
	PreviewBill(ctx context.Context, p tenancy.Principal, orgID, pricebookID string, rule *pricing.Rule, month time.Time) (pricing.Bill, error)
}

var _ Pricing = (*pricing.Service)(nil)

// Tenancy lists the organizations the caller may read.
type Tenancy interface {
	VisibleOrganizations(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error)
}

// Handler serves the pricing pages.
type Handler struct {
	Tenancy Tenancy
	Pricing Pricing
	Now     func() time.Time
}

func caller(r *http.Request) (tenancy.Principal, error) {
	p, ok := tenancy.PrincipalFrom(r.Context())
	if !ok {
		return tenancy.Principal{}, domain.Errorf(domain.Unauthorized, "not signed in")
	}
	return p, nil
}

// lastMonth is the month before now's: the month a preview shows.
func (h *Handler) lastMonth() time.Time {
	return billing.MonthStart(h.Now()).AddDate(0, -1, 0)
}

func parseMonth(s string) (time.Time, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil || t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, domain.Errorf(domain.Invalid, "month %q must be written YYYY-MM", s)
	}
	return t, nil
}

// optionalMonth reads an optional YYYY-MM field: zero when empty.
func optionalMonth(s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, nil
	}
	return parseMonth(s)
}

// parseDecimal reads an optional decimal field: empty is zero.
func parseDecimal(form url.Values, field, label string) (decimal.Decimal, error) {
	v := strings.TrimSpace(form.Get(field))
	if v == "" {
		return decimal.Zero, nil
	}
	d, err := decimal.NewFromString(v)
	if err != nil {
		return decimal.Zero, domain.Errorf(domain.Invalid, "%s %q is not a number", label, v)
	}
	return d, nil
}

func (h *Handler) customers(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error) {
	orgs, err := h.Tenancy.VisibleOrganizations(ctx, p)
	if err != nil {
		return nil, err
	}
	var out []tenancy.Organization
	for _, o := range orgs {
		if o.ResellerID == p.Org.ID {
			out = append(out, o)
		}
	}
	return out, nil
}

// Pricebooks lists the reseller's pricebooks and customers.
func (h *Handler) Pricebooks(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	books, err := h.Pricing.Pricebooks(r.Context(), p)
	if err != nil {
		return err
	}
	customers, err := h.customers(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return ListPage(layout.ChromeFrom(r.Context()), listView(p, books, customers)).Render(r.Context(), w)
}

// CreatePricebook adds a pricebook and opens its editor.
func (h *Handler) CreatePricebook(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	pb, err := h.Pricing.CreatePricebook(r.Context(), p, r.PostFormValue("name"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/pricebooks/"+url.PathEscape(pb.ID), http.StatusSeeOther)
	return nil
}

// Editor shows a pricebook's rules and the rule form (?edit=RULE fills it
// with that rule).
func (h *Handler) Editor(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	pb, err := h.Pricing.Pricebook(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	customers, err := h.customers(r.Context(), p)
	if err != nil {
		return err
	}
	v := editorView(p, pb, customers, h.lastMonth())
	if id := r.URL.Query().Get("edit"); id != "" {
		for _, rule := range pb.Rules {
			if rule.ID == id {
				v.Form = ruleForm(rule)
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return EditorPage(layout.ChromeFrom(r.Context()), v).Render(r.Context(), w)
}

// ruleFromForm reads the rule form.
func ruleFromForm(r *http.Request) (pricing.Rule, error) {
	if err := r.ParseForm(); err != nil {
		return pricing.Rule{}, domain.Errorf(domain.Invalid, "unreadable form")
	}
	f := r.PostForm
	rule := pricing.Rule{ID: f.Get("rule_id"), Scope: pricing.ScopeKind(f.Get("scope")), Value: f.Get("value"),
		Type: pricing.RuleType(f.Get("type")), PricingUnit: f.Get("pricing_unit")}
	var err error
	if rule.Percent, err = parseDecimal(f, "percent", "percent"); err != nil {
		return rule, err
	}
	if rule.UnitPrice, err = parseDecimal(f, "unit_price", "unit price"); err != nil {
		return rule, err
	}
	if v := strings.TrimSpace(f.Get("priority")); v != "" {
		if rule.Priority, err = strconv.Atoi(v); err != nil {
			return rule, domain.Errorf(domain.Invalid, "priority %q is not a whole number", v)
		}
	}
	return rule, nil
}

// PutRule saves the rule form.
func (h *Handler) PutRule(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rule, err := ruleFromForm(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.Pricing.PutRule(r.Context(), p, id, rule); err != nil {
		return err
	}
	http.Redirect(w, r, "/pricebooks/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// RemoveRule removes a rule.
func (h *Handler) RemoveRule(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.Pricing.RemoveRule(r.Context(), p, id, r.PathValue("rule")); err != nil {
		return err
	}
	http.Redirect(w, r, "/pricebooks/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// Preview answers the bill a customer's last month would have with the
// rule form's rule, saving nothing: an htmx fragment.
func (h *Handler) Preview(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	rule, err := ruleFromForm(r)
	if err != nil {
		return err
	}
	month := h.lastMonth()
	if m := r.PostForm.Get("month"); m != "" {
		if month, err = parseMonth(m); err != nil {
			return err
		}
	}
	orgID := r.PostForm.Get("org")
	if orgID == "" {
		return domain.Errorf(domain.Invalid, "choose the customer whose bill to preview")
	}
	preview, err := h.Pricing.PreviewBill(r.Context(), p, orgID, r.PathValue("id"), &rule, month)
	if err != nil {
		return err
	}
	current, _, err := h.Pricing.Bill(r.Context(), p, orgID, month)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return PreviewFragment(previewView(preview, current)).Render(r.Context(), w)
}

// Customer shows a customer's Pricing page.
func (h *Handler) Customer(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	orgID := r.PathValue("org")
	c, err := h.Pricing.Customer(r.Context(), p, orgID)
	if err != nil {
		return err
	}
	books, err := h.Pricing.Pricebooks(r.Context(), p)
	if err != nil {
		return err
	}
	customers, err := h.customers(r.Context(), p)
	if err != nil {
		return err
	}
	var org tenancy.Organization
	for _, o := range customers {
		if o.ID == orgID {
			org = o
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return CustomerPage(layout.ChromeFrom(r.Context()), customerView(p, org, c, books, h.lastMonth())).Render(r.Context(), w)
}

// ChangeCustomer applies one of the Pricing page's forms, named by the
// path's last element, and returns to the page.
func (h *Handler) ChangeCustomer(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return domain.Errorf(domain.Invalid, "unreadable form")
	}
	ctx, f, orgID := r.Context(), r.PostForm, r.PathValue("org")
	switch r.PathValue("what") {
	case "assign":
		month, err := parseMonth(f.Get("month"))
		if err != nil {
			return err
		}
		_, err = h.Pricing.Assign(ctx, p, orgID, f.Get("pricebook"), month)
		if err != nil {
			return err
		}
	case "adjustment":
		pct, err := parseDecimal(f, "percent", "percent")
		if err != nil {
			return err
		}
		from, err := optionalMonth(f.Get("from"))
		if err != nil {
			return err
		}
		if _, err := h.Pricing.SetAdjustmentFrom(ctx, p, orgID, pct, from); err != nil {
			return err
		}
	case "support":
		plan := pricing.SupportPlan{OrgID: orgID, Cloud: f.Get("cloud"), Currency: f.Get("currency")}
		if plan.Percent, err = parseDecimal(f, "percent", "percent"); err != nil {
			return err
		}
		if plan.Minimum, err = parseDecimal(f, "minimum", "minimum fee"); err != nil {
			return err
		}
		if plan.From, err = optionalMonth(f.Get("from")); err != nil {
			return err
		}
		if _, err := h.Pricing.PutSupportPlan(ctx, p, plan); err != nil {
			return err
		}
	case "support-remove":
		if _, err := h.Pricing.RemoveSupportPlan(ctx, p, orgID, f.Get("cloud")); err != nil {
			return err
		}
	case "credit":
		month, err := parseMonth(f.Get("month"))
		if err != nil {
			return err
		}
		amount, err := parseDecimal(f, "amount", "amount")
		if err != nil {
			return err
		}
		c := pricing.Credit{OrgID: orgID, Month: month, Amount: amount, Currency: f.Get("currency"), Cloud: f.Get("cloud"),
			Reason: f.Get("reason"), AllowNegative: f.Get("allow_negative") == "on"}
		if _, err := h.Pricing.AddCredit(ctx, p, c); err != nil {
			return err
		}
	case "credit-remove":
		if _, err := h.Pricing.RemoveCredit(ctx, p, orgID, f.Get("id")); err != nil {
			return err
		}
	default:
		return domain.Errorf(domain.NotFound, "no such pricing change")
	}
	http.Redirect(w, r, "/customers/"+url.PathEscape(orgID)+"/pricing", http.StatusSeeOther)
	return nil
}

// billRequest reads ?org= and ?month= (default: last month).
func (h *Handler) billRequest(r *http.Request) (string, time.Time, error) {
	month := h.lastMonth()
	if m := r.URL.Query().Get("month"); m != "" {
		var err error
		if month, err = parseMonth(m); err != nil {
			return "", month, err
		}
	}
	return r.URL.Query().Get("org"), month, nil
}

// Bill shows a bill: the caller's own, or (?org=) one of a reseller's
// customers'.
func (h *Handler) Bill(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	orgID, month, err := h.billRequest(r)
	if err != nil {
		return err
	}
	var customers []tenancy.Organization
	if p.Org.Kind == tenancy.Reseller {
		if customers, err = h.customers(r.Context(), p); err != nil {
			return err
		}
		if orgID == "" && len(customers) > 0 {
			orgID = customers[0].ID
		}
		if orgID == "" {
			return domain.Errorf(domain.NotFound, "you have no customers to bill yet")
		}
	}
	b, withCost, err := h.Pricing.Bill(r.Context(), p, orgID, month)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return BillPage(layout.ChromeFrom(r.Context()), billPageView(b, withCost, customers)).Render(r.Context(), w)
}

// BillCSV downloads a bill as CSV.
func (h *Handler) BillCSV(w http.ResponseWriter, r *http.Request) error {
	p, err := caller(r)
	if err != nil {
		return err
	}
	orgID, month, err := h.billRequest(r)
	if err != nil {
		return err
	}
	b, withCost, err := h.Pricing.Bill(r.Context(), p, orgID, month)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="bill-`+month.Format("2006-01")+`.csv"`)
	return csv.NewWriter(w).WriteAll(b.Rows(withCost))
}

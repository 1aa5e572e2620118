// Package customerspage is the reseller's Customers console: the list of
// customers with this month's cost, resale and margin (sortable), Add
// customer (which shows the one-time link inviting its first admin), the
// customer page bringing together its cloud accounts, billing connectors,
// pricing, billing cycles (close and reopen) and bills, and its Users
// (add, change role, remove). A customer's own users see their months,
// closed and open, at /cycles.
package customerspage

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
	"github.com/truecost/truecost/views/viewkit"
)

// Pricing reads customers' months and closes and reopens them.
// *pricing.Service implements it.
type Pricing interface {
	CustomerSummaries(ctx context.Context, p tenancy.Principal, month time.Time) ([]pricing.CustomerSummary, error)
	Customer(ctx context.Context, p tenancy.Principal, orgID string) (pricing.Customer, error)
	Cycles(ctx context.Context, p tenancy.Principal, orgID string) ([]pricing.Cycle, error)
	CycleEvents(ctx context.Context, p tenancy.Principal, orgID string) ([]pricing.CycleEvent, error)
	CloseMonth(ctx context.Context, p tenancy.Principal, orgID string, month time.Time) (pricing.Cycle, error)
	ReopenMonth(ctx context.Context, p tenancy.Principal, orgID string, month time.Time, reason string) error
}

// Members adds customers and manages users. *tenancy.Service implements it.
type Members interface {
	VisibleOrganizations(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error)
	CreateCustomer(ctx context.Context, caller tenancy.Principal, slug, name, adminEmail string) (tenancy.Organization, tenancy.NewInvite, error)
	Users(ctx context.Context, caller tenancy.Principal, orgID string) ([]tenancy.User, error)
	AddUser(ctx context.Context, caller tenancy.Principal, orgID, email string, role tenancy.Role) (tenancy.NewInvite, error)
	ChangeRole(ctx context.Context, caller tenancy.Principal, orgID, userID string, role tenancy.Role) error
	RemoveUser(ctx context.Context, caller tenancy.Principal, orgID, userID string) error
}

// Accounts lists an organization's cloud accounts; *accounts.Service.
type Accounts interface {
	List(ctx context.Context, p tenancy.Principal, orgID string) ([]accounts.Account, error)
}

// Connectors lists an organization's billing connectors;
// *connectors.Service.
type Connectors interface {
	List(ctx context.Context, p tenancy.Principal, orgID string) ([]connectors.Connector, error)
}

var (
	_ Pricing = (*pricing.Service)(nil)
	_ Members = (*tenancy.Service)(nil)
)

// Handler serves the customers pages. Accounts and Connectors may be nil:
// the customer page then leaves their sections out.
type Handler struct {
	Pricing    Pricing
	Members    Members
	Accounts   Accounts
	Connectors Connectors
	Now        func() time.Time
}

var errResellersOnly = domain.Errorf(domain.NotFound, "page not found: customers are a reseller's")

func reseller(r *http.Request) (tenancy.Principal, error) {
	p, err := viewkit.Principal(r.Context())
	if err != nil {
		return p, err
	}
	if p.Org.Kind != tenancy.Reseller {
		return p, errResellersOnly
	}
	return p, nil
}

func (h *Handler) thisMonth() time.Time { return billing.MonthStart(viewkit.Now(h.Now).UTC()) }

// customer finds one of the caller's customers: someone else's is not
// found.
func (h *Handler) customer(ctx context.Context, p tenancy.Principal, orgID string) (tenancy.Organization, error) {
	orgs, err := h.Members.VisibleOrganizations(ctx, p)
	if err != nil {
		return tenancy.Organization{}, err
	}
	for _, o := range orgs {
		if o.ID == orgID && o.ResellerID == p.Org.ID {
			return o, nil
		}
	}
	return tenancy.Organization{}, domain.Errorf(domain.NotFound, "customer not found")
}

// List shows the customers with this month's cost, resale and margin,
// sorted by ?sort= (name, cost, resale, margin) and ?order= (asc, desc).
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	p, err := reseller(r)
	if err != nil {
		return err
	}
	return h.renderList(w, r, p, AddForm{}, http.StatusOK)
}

func (h *Handler) renderList(w http.ResponseWriter, r *http.Request, p tenancy.Principal, form AddForm, status int) error {
	month := h.thisMonth()
	sums, err := h.Pricing.CustomerSummaries(r.Context(), p, month)
	if err != nil {
		return err
	}
	v := listView(sums, month, r.URL.Query().Get("sort"), r.URL.Query().Get("order"))
	v.CanEdit, v.Form = p.IsAdmin(), form
	return viewkit.Render(w, r, status, ListPage(layout.ChromeFrom(r.Context()), v))
}

// Create adds a customer and shows the link inviting its first admin.
func (h *Handler) Create(w http.ResponseWriter, r *http.Request) error {
	p, err := reseller(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return domain.Errorf(domain.Invalid, "unreadable form")
	}
	form := AddForm{Slug: r.PostForm.Get("slug"), Name: r.PostForm.Get("name"), Email: r.PostForm.Get("email")}
	org, inv, err := h.Members.CreateCustomer(r.Context(), p, form.Slug, form.Name, form.Email)
	if code := domain.ErrorCode(err); code == domain.Invalid || code == domain.Conflict {
		form.Error = domain.ErrorMessage(err)
		return h.renderList(w, r, p, form, http.StatusUnprocessableEntity)
	}
	if err != nil {
		return err
	}
	v := InvitedView{OrgID: org.ID, OrgName: org.Name, Email: inv.User.Email, Link: inviteURL(r, inv.Token),
		Expires: layout.FormatTime(inv.ExpiresAt)}
	return viewkit.Render(w, r, http.StatusCreated, InvitedPage(layout.ChromeFrom(r.Context()), v))
}

// inviteURL is the absolute link of an invitation on this server.
func inviteURL(r *http.Request, token string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/invite/" + url.PathEscape(token)
}

// Show is a customer's page: accounts, connectors, pricing, cycles and
// bills, and the audit trail of its cycles.
func (h *Handler) Show(w http.ResponseWriter, r *http.Request) error {
	p, err := reseller(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	org, err := h.customer(ctx, p, r.PathValue("org"))
	if err != nil {
		return err
	}
	v := CustomerView{OrgID: org.ID, Name: org.Name, Slug: org.Slug, CanEdit: p.IsAdmin(), Notice: r.URL.Query().Get("notice")}
	cust, err := h.Pricing.Customer(ctx, p, org.ID)
	if err != nil {
		return err
	}
	v.Pricing = pricingSummary(cust)
	cycles, err := h.Pricing.Cycles(ctx, p, org.ID)
	if err != nil {
		return err
	}
	v.Cycles = cycleRows(org.ID, cycles, h.thisMonth())
	events, err := h.Pricing.CycleEvents(ctx, p, org.ID)
	if err != nil {
		return err
	}
	v.Events = eventRows(events)
	if h.Accounts != nil {
		list, err := h.Accounts.List(ctx, p, org.ID)
		if err != nil {
			return err
		}
		v.ShowAccounts = true
		for _, a := range list {
			v.Accounts = append(v.Accounts, Item{Label: a.Name, Detail: strings.ToUpper(string(a.Provider)) + " " + a.ProviderAccountID,
				Href: "/accounts/" + a.ID})
		}
	}
	if h.Connectors != nil {
		list, err := h.Connectors.List(ctx, p, org.ID)
		if err != nil {
			return err
		}
		v.ShowConnectors = true
		for _, c := range list {
			v.Connectors = append(v.Connectors, Item{Label: c.Name, Detail: string(c.Provider), Href: "/connectors/" + c.ID})
		}
	}
	return viewkit.Render(w, r, http.StatusOK, CustomerPage(layout.ChromeFrom(ctx), v))
}

// Cycle closes (?action close) or reopens a customer's month and returns
// to the customer page.
func (h *Handler) Cycle(w http.ResponseWriter, r *http.Request) error {
	p, err := reseller(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return domain.Errorf(domain.Invalid, "unreadable form")
	}
	ctx, orgID := r.Context(), r.PathValue("org")
	month, err := time.Parse("2006-01", r.PathValue("month"))
	if err != nil {
		return domain.Errorf(domain.Invalid, "month %q must be written YYYY-MM", r.PathValue("month"))
	}
	var notice string
	switch r.PathValue("action") {
	case "close":
		if _, err := h.Pricing.CloseMonth(ctx, p, orgID, month); err != nil {
			return err
		}
		notice = layout.FormatMonth(month) + " is closed."
	case "reopen":
		if err := h.Pricing.ReopenMonth(ctx, p, orgID, month, r.PostForm.Get("reason")); err != nil {
			return err
		}
		notice = layout.FormatMonth(month) + " is open again."
	default:
		return domain.Errorf(domain.NotFound, "no such billing cycle action")
	}
	viewkit.Redirect(w, r, "/customers/"+url.PathEscape(orgID)+"?"+url.Values{"notice": {notice}}.Encode())
	return nil
}

// Users lists a customer's users with the forms that manage them.
func (h *Handler) Users(w http.ResponseWriter, r *http.Request) error {
	p, err := reseller(r)
	if err != nil {
		return err
	}
	return h.renderUsers(w, r, p, UserForm{}, "", http.StatusOK)
}

func (h *Handler) renderUsers(w http.ResponseWriter, r *http.Request, p tenancy.Principal, form UserForm, link string, status int) error {
	ctx := r.Context()
	org, err := h.customer(ctx, p, r.PathValue("org"))
	if err != nil {
		return err
	}
	users, err := h.Members.Users(ctx, p, org.ID)
	if err != nil {
		return err
	}
	v := UsersView{OrgID: org.ID, Name: org.Name, CanEdit: p.IsAdmin(), Form: form, Link: link, Notice: r.URL.Query().Get("notice")}
	sort.Slice(users, func(i, j int) bool { return users[i].Email < users[j].Email })
	for _, u := range users {
		v.Users = append(v.Users, UserRow{ID: u.ID, Email: u.Email, Role: string(u.Role)})
	}
	return viewkit.Render(w, r, status, UsersPage(layout.ChromeFrom(ctx), v))
}

// AddUser invites a user and shows the invitation's link once.
func (h *Handler) AddUser(w http.ResponseWriter, r *http.Request) error {
	p, err := reseller(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return domain.Errorf(domain.Invalid, "unreadable form")
	}
	form := UserForm{Email: r.PostForm.Get("email"), Role: r.PostForm.Get("role")}
	inv, err := h.Members.AddUser(r.Context(), p, r.PathValue("org"), form.Email, tenancy.Role(form.Role))
	if code := domain.ErrorCode(err); code == domain.Invalid || code == domain.Conflict {
		form.Error = domain.ErrorMessage(err)
		return h.renderUsers(w, r, p, form, "", http.StatusUnprocessableEntity)
	}
	if err != nil {
		return err
	}
	return h.renderUsers(w, r, p, UserForm{}, inviteURL(r, inv.Token), http.StatusCreated)
}

// ChangeUser changes a user's role or removes the user, named by the
// path's last element, and returns to the users page.
func (h *Handler) ChangeUser(w http.ResponseWriter, r *http.Request) error {
	p, err := reseller(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return domain.Errorf(domain.Invalid, "unreadable form")
	}
	ctx, orgID, userID := r.Context(), r.PathValue("org"), r.PathValue("user")
	var notice string
	switch r.PathValue("action") {
	case "role":
		if err := h.Members.ChangeRole(ctx, p, orgID, userID, tenancy.Role(r.PostForm.Get("role"))); err != nil {
			return err
		}
		notice = "Role changed."
	case "remove":
		if err := h.Members.RemoveUser(ctx, p, orgID, userID); err != nil {
			return err
		}
		notice = "User removed."
	default:
		return domain.Errorf(domain.NotFound, "no such user action")
	}
	viewkit.Redirect(w, r, "/customers/"+url.PathEscape(orgID)+"/users?"+url.Values{"notice": {notice}}.Encode())
	return nil
}

// OwnCycles shows a customer its months, closed and open, with links to
// their bills. A reseller is sent to its customers.
func (h *Handler) OwnCycles(w http.ResponseWriter, r *http.Request) error {
	p, err := viewkit.Principal(r.Context())
	if err != nil {
		return err
	}
	if p.Org.Kind == tenancy.Reseller {
		http.Redirect(w, r, "/customers", http.StatusSeeOther)
		return nil
	}
	cycles, err := h.Pricing.Cycles(r.Context(), p, p.Org.ID)
	if err != nil {
		return err
	}
	v := OwnView{Name: p.Org.Name, Cycles: cycleRows(p.Org.ID, cycles, h.thisMonth())}
	return viewkit.Render(w, r, http.StatusOK, OwnPage(layout.ChromeFrom(r.Context()), v))
}

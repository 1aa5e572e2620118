package pricing

import (
	"context"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

// Store persists pricing and applies it to line items. Lookups of another
// reseller's pricebook are domain.NotFound errors.
type Store interface {
	CreatePricebook(ctx context.Context, pb Pricebook) error
	Pricebooks(ctx context.Context, resellerID string) ([]Pricebook, error)
	Pricebook(ctx context.Context, resellerID, id string) (Pricebook, error)
	// UpdatePricebook reads a pricebook, lets fn change it and writes it
	// back (name, version and rules) in one transaction.
	UpdatePricebook(ctx context.Context, resellerID, id string, fn func(*Pricebook) error) (Pricebook, error)
	// DeletePricebook removes a pricebook no customer was ever assigned
	// (a domain.Conflict error otherwise).
	DeletePricebook(ctx context.Context, resellerID, id string) error
	// CustomersUsing lists the customers with an assignment of the pricebook.
	CustomersUsing(ctx context.Context, resellerID, id string) ([]string, error)

	Customer(ctx context.Context, orgID string) (Customer, error)
	AddAssignment(ctx context.Context, a Assignment) error
	SetAdjustment(ctx context.Context, orgID string, pct decimal.Decimal) error
	PutSupportPlan(ctx context.Context, p SupportPlan) error
	DeleteSupportPlan(ctx context.Context, orgID, cloud string) error
	AddCredit(ctx context.Context, c Credit) error
	DeleteCredit(ctx context.Context, orgID, id string) error

	// Reprice recomputes the resale of every month of the customer with
	// data, and the charges pricing adds to each, atomically per month.
	Reprice(ctx context.Context, orgID string) error
	// BillLines returns the lines of a customer's month, from its active
	// data.
	BillLines(ctx context.Context, orgID string, month time.Time) ([]BillLine, error)
	// PreviewBillLines returns the lines the month would have if the
	// pricebook were assigned to the customer for it, writing nothing.
	PreviewBillLines(ctx context.Context, orgID string, month time.Time, pb Pricebook) ([]BillLine, error)

	CycleStore
	TotalsStore
}

// Organizations finds organizations; tenancy.Store has it.
type Organizations interface {
	OrganizationByID(ctx context.Context, id string) (tenancy.Organization, error)
	CustomersOf(ctx context.Context, resellerID string) ([]tenancy.Organization, error)
}

// Service runs the pricing use cases, each checking the caller's rights:
// a reseller's admins manage its pricebooks and its customers' pricing;
// the reseller's users read them; a customer reads its own bills, at
// resale only.
type Service struct {
	store   Store
	orgs    Organizations
	newID   func() string
	now     func() time.Time
	onClose []CloseObserver
	// onRepriced are told of each customer repriced (billing exports).
	onRepriced []func(ctx context.Context, orgID string)
}

// OnRepriced makes s call fn after each repricing of a customer, and
// returns s.
func (s *Service) OnRepriced(fn func(ctx context.Context, orgID string)) *Service {
	s.onRepriced = append(s.onRepriced, fn)
	return s
}

// reprice reprices a customer and tells the OnRepriced functions.
func (s *Service) reprice(ctx context.Context, orgID string) error {
	if err := s.store.Reprice(ctx, orgID); err != nil {
		return err
	}
	for _, fn := range s.onRepriced {
		fn(ctx, orgID)
	}
	return nil
}

// NewService returns a pricing service over store.
func NewService(store Store, orgs Organizations, newID func() string, opts ...Option) *Service {
	s := &Service{store: store, orgs: orgs, newID: newID, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

func resellerAdmin(p tenancy.Principal) error {
	if p.IsSystem() || p.Org.Kind != tenancy.Reseller {
		return domain.Errorf(domain.Forbidden, "only resellers manage pricing")
	}
	if !p.IsAdmin() {
		return domain.Errorf(domain.Forbidden, "only reseller admins may change pricing")
	}
	return nil
}

// customerOf checks that orgID is a customer of the caller's reseller: an
// organization of someone else is not found.
func (s *Service) customerOf(ctx context.Context, p tenancy.Principal, orgID string, write bool) (tenancy.Organization, error) {
	if write {
		if err := resellerAdmin(p); err != nil {
			return tenancy.Organization{}, err
		}
	}
	org, err := s.orgs.OrganizationByID(ctx, orgID)
	if err != nil {
		return org, err
	}
	if p.IsSystem() {
		return org, nil
	}
	if org.ResellerID == p.Org.ID {
		return org, nil
	}
	if !write && org.ID == p.Org.ID {
		return org, nil
	}
	return tenancy.Organization{}, domain.Errorf(domain.NotFound, "organization %q not found", orgID)
}

// Pricebooks lists the caller's reseller's pricebooks.
func (s *Service) Pricebooks(ctx context.Context, p tenancy.Principal) ([]Pricebook, error) {
	if p.IsSystem() || p.Org.Kind != tenancy.Reseller {
		return nil, domain.Errorf(domain.Forbidden, "only resellers have pricebooks")
	}
	return s.store.Pricebooks(ctx, p.Org.ID)
}

// Pricebook returns one of the caller's reseller's pricebooks.
func (s *Service) Pricebook(ctx context.Context, p tenancy.Principal, id string) (Pricebook, error) {
	if p.IsSystem() || p.Org.Kind != tenancy.Reseller {
		return Pricebook{}, domain.Errorf(domain.Forbidden, "only resellers have pricebooks")
	}
	return s.store.Pricebook(ctx, p.Org.ID, id)
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return "", domain.Errorf(domain.Invalid, "a pricebook needs a name of at most 200 characters")
	}
	return name, nil
}

// CreatePricebook creates an empty pricebook (version 1).
func (s *Service) CreatePricebook(ctx context.Context, p tenancy.Principal, name string) (Pricebook, error) {
	if err := resellerAdmin(p); err != nil {
		return Pricebook{}, err
	}
	name, err := validName(name)
	if err != nil {
		return Pricebook{}, err
	}
	now := s.now().UTC()
	pb := Pricebook{ID: s.newID(), ResellerID: p.Org.ID, Name: name, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreatePricebook(ctx, pb); err != nil {
		return Pricebook{}, err
	}
	return pb, nil
}

// RenamePricebook changes a pricebook's name.
func (s *Service) RenamePricebook(ctx context.Context, p tenancy.Principal, id, name string) (Pricebook, error) {
	if err := resellerAdmin(p); err != nil {
		return Pricebook{}, err
	}
	name, err := validName(name)
	if err != nil {
		return Pricebook{}, err
	}
	return s.store.UpdatePricebook(ctx, p.Org.ID, id, func(pb *Pricebook) error {
		pb.Name = name
		return nil
	})
}

// DeletePricebook removes a pricebook never assigned to a customer.
func (s *Service) DeletePricebook(ctx context.Context, p tenancy.Principal, id string) error {
	if err := resellerAdmin(p); err != nil {
		return err
	}
	return s.store.DeletePricebook(ctx, p.Org.ID, id)
}

// PutRule adds a rule (rule.ID empty) or replaces one, making a new
// version of the pricebook, and reprices the customers using it.
func (s *Service) PutRule(ctx context.Context, p tenancy.Principal, pricebookID string, rule Rule) (Pricebook, error) {
	if err := resellerAdmin(p); err != nil {
		return Pricebook{}, err
	}
	if err := rule.Validate(); err != nil {
		return Pricebook{}, err
	}
	if err := s.checkPricebookOpen(ctx, p.Org.ID, pricebookID); err != nil {
		return Pricebook{}, err
	}
	pb, err := s.store.UpdatePricebook(ctx, p.Org.ID, pricebookID, func(pb *Pricebook) error {
		if rule.ID == "" {
			rule.ID = s.newID()
			rule.Position = 0
			for _, r := range pb.Rules {
				if r.Position >= rule.Position {
					rule.Position = r.Position + 1
				}
			}
			pb.Rules = append(pb.Rules, rule)
		} else {
			found := false
			for i, r := range pb.Rules {
				if r.ID == rule.ID {
					rule.Position = r.Position
					pb.Rules[i] = rule
					found = true
				}
			}
			if !found {
				return domain.Errorf(domain.NotFound, "rule %q not found", rule.ID)
			}
		}
		pb.Version++
		pb.UpdatedAt = s.now().UTC()
		return nil
	})
	if err != nil {
		return Pricebook{}, err
	}
	return pb, s.repriceUsers(ctx, p, pricebookID)
}

// RemoveRule removes a rule, making a new version, and reprices the
// customers using the pricebook.
func (s *Service) RemoveRule(ctx context.Context, p tenancy.Principal, pricebookID, ruleID string) (Pricebook, error) {
	if err := resellerAdmin(p); err != nil {
		return Pricebook{}, err
	}
	if err := s.checkPricebookOpen(ctx, p.Org.ID, pricebookID); err != nil {
		return Pricebook{}, err
	}
	pb, err := s.store.UpdatePricebook(ctx, p.Org.ID, pricebookID, func(pb *Pricebook) error {
		kept := pb.Rules[:0]
		for _, r := range pb.Rules {
			if r.ID != ruleID {
				kept = append(kept, r)
			}
		}
		if len(kept) == len(pb.Rules) {
			return domain.Errorf(domain.NotFound, "rule %q not found", ruleID)
		}
		pb.Rules = kept
		pb.Version++
		pb.UpdatedAt = s.now().UTC()
		return nil
	})
	if err != nil {
		return Pricebook{}, err
	}
	return pb, s.repriceUsers(ctx, p, pricebookID)
}

func (s *Service) repriceUsers(ctx context.Context, p tenancy.Principal, pricebookID string) error {
	orgs, err := s.store.CustomersUsing(ctx, p.Org.ID, pricebookID)
	if err != nil {
		return err
	}
	for _, id := range orgs {
		if err := s.reprice(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// Customer returns a customer's pricing, for the reseller's users.
func (s *Service) Customer(ctx context.Context, p tenancy.Principal, orgID string) (Customer, error) {
	if p.IsSystem() || p.Org.Kind != tenancy.Reseller {
		return Customer{}, domain.Errorf(domain.Forbidden, "only resellers see pricing")
	}
	if _, err := s.customerOf(ctx, p, orgID, false); err != nil {
		return Customer{}, err
	}
	return s.store.Customer(ctx, orgID)
}

// Assign puts a pricebook (or, with pricebookID empty, none) on a customer
// from month on, and reprices it.
func (s *Service) Assign(ctx context.Context, p tenancy.Principal, orgID, pricebookID string, month time.Time) (Customer, error) {
	org, err := s.customerOf(ctx, p, orgID, true)
	if err != nil {
		return Customer{}, err
	}
	if month.IsZero() {
		return Customer{}, domain.Errorf(domain.Invalid, "an assignment needs its effective month")
	}
	if err := s.checkOpen(ctx, org, month, true); err != nil {
		return Customer{}, err
	}
	if pricebookID != "" {
		if _, err := s.store.Pricebook(ctx, p.Org.ID, pricebookID); err != nil {
			return Customer{}, err
		}
	}
	a := Assignment{OrgID: orgID, PricebookID: pricebookID, EffectiveMonth: billing.MonthStart(month), CreatedAt: s.now().UTC()}
	if err := s.store.AddAssignment(ctx, a); err != nil {
		return Customer{}, err
	}
	return s.repriced(ctx, orgID)
}

// SetAdjustment sets a customer's global uplift (positive) or discount
// (negative) in percent, zero for none, and reprices its open months.
func (s *Service) SetAdjustment(ctx context.Context, p tenancy.Principal, orgID string, pct decimal.Decimal) (Customer, error) {
	return s.SetAdjustmentFrom(ctx, p, orgID, pct, time.Time{})
}

// SetAdjustmentFrom is SetAdjustment effective from a month: a closed
// month is refused. Closed months keep the adjustment they closed with
// whatever month is given; from zero means the open months.
func (s *Service) SetAdjustmentFrom(ctx context.Context, p tenancy.Principal, orgID string, pct decimal.Decimal, from time.Time) (Customer, error) {
	org, err := s.customerOf(ctx, p, orgID, true)
	if err != nil {
		return Customer{}, err
	}
	if err := ValidateAdjustment(pct); err != nil {
		return Customer{}, err
	}
	if !from.IsZero() {
		if err := s.checkOpen(ctx, org, from, false); err != nil {
			return Customer{}, err
		}
	}
	if err := s.store.SetAdjustment(ctx, orgID, pct); err != nil {
		return Customer{}, err
	}
	return s.repriced(ctx, orgID)
}

// PutSupportPlan sets a customer's support plan for a cloud (or for all,
// cloud empty), replacing the one there was, and reprices it.
func (s *Service) PutSupportPlan(ctx context.Context, p tenancy.Principal, plan SupportPlan) (Customer, error) {
	org, err := s.customerOf(ctx, p, plan.OrgID, true)
	if err != nil {
		return Customer{}, err
	}
	if err := plan.Validate(); err != nil {
		return Customer{}, err
	}
	if !plan.From.IsZero() {
		if err := s.checkOpen(ctx, org, plan.From, false); err != nil {
			return Customer{}, err
		}
	}
	if err := s.store.PutSupportPlan(ctx, plan); err != nil {
		return Customer{}, err
	}
	return s.repriced(ctx, plan.OrgID)
}

// RemoveSupportPlan removes a customer's support plan for a cloud (or for
// all) and reprices it.
func (s *Service) RemoveSupportPlan(ctx context.Context, p tenancy.Principal, orgID, cloud string) (Customer, error) {
	if _, err := s.customerOf(ctx, p, orgID, true); err != nil {
		return Customer{}, err
	}
	if err := s.store.DeleteSupportPlan(ctx, orgID, strings.ToUpper(strings.TrimSpace(cloud))); err != nil {
		return Customer{}, err
	}
	return s.repriced(ctx, orgID)
}

// AddCredit gives a customer a credit for a month and reprices it.
func (s *Service) AddCredit(ctx context.Context, p tenancy.Principal, c Credit) (Customer, error) {
	org, err := s.customerOf(ctx, p, c.OrgID, true)
	if err != nil {
		return Customer{}, err
	}
	if err := c.Validate(); err != nil {
		return Customer{}, err
	}
	if err := s.checkOpen(ctx, org, c.Month, false); err != nil {
		return Customer{}, err
	}
	c.ID, c.CreatedAt = s.newID(), s.now().UTC()
	if err := s.store.AddCredit(ctx, c); err != nil {
		return Customer{}, err
	}
	return s.repriced(ctx, c.OrgID)
}

// RemoveCredit removes a customer's credit and reprices it.
func (s *Service) RemoveCredit(ctx context.Context, p tenancy.Principal, orgID, id string) (Customer, error) {
	org, err := s.customerOf(ctx, p, orgID, true)
	if err != nil {
		return Customer{}, err
	}
	cust, err := s.store.Customer(ctx, orgID)
	if err != nil {
		return Customer{}, err
	}
	for _, c := range cust.Credits {
		if c.ID == id {
			if err := s.checkOpen(ctx, org, c.Month, false); err != nil {
				return Customer{}, err
			}
		}
	}
	if err := s.store.DeleteCredit(ctx, orgID, id); err != nil {
		return Customer{}, err
	}
	return s.repriced(ctx, orgID)
}

func (s *Service) repriced(ctx context.Context, orgID string) (Customer, error) {
	if err := s.reprice(ctx, orgID); err != nil {
		return Customer{}, err
	}
	return s.store.Customer(ctx, orgID)
}

// Bill returns a customer's bill for month. The reseller's users see cost
// and margin; the customer's own users see resale only (Cost and Margin
// zeroed). WithCost reports which the caller got.
func (s *Service) Bill(ctx context.Context, p tenancy.Principal, orgID string, month time.Time) (Bill, bool, error) {
	if orgID == "" {
		orgID = p.Org.ID
	}
	if _, err := s.customerOf(ctx, p, orgID, false); err != nil {
		return Bill{}, false, err
	}
	month = billing.MonthStart(month)
	withCost := SeesCost(p, orgID)
	c, err := s.store.Cycle(ctx, orgID, month)
	if err != nil {
		return Bill{}, false, err
	}
	if c.State == Closed && c.Bill != nil {
		b := *c.Bill
		b.Lines = append([]BillLine(nil), b.Lines...)
		b.Totals = append([]BillTotal(nil), b.Totals...)
		b.Closed, b.ClosedAt = true, c.ClosedAt
		return hideCost(b, withCost), withCost, nil
	}
	lines, err := s.store.BillLines(ctx, orgID, month)
	if err != nil {
		return Bill{}, false, err
	}
	return hideCost(NewBill(orgID, month, lines), withCost), withCost, nil
}

// PreviewBill returns the bill a customer's month would have under the
// pricebook with rule put in (rule.ID empty adds it), without saving
// anything: the reseller's view, cost and margin included.
func (s *Service) PreviewBill(ctx context.Context, p tenancy.Principal, orgID, pricebookID string, rule *Rule, month time.Time) (Bill, error) {
	if _, err := s.customerOf(ctx, p, orgID, true); err != nil {
		return Bill{}, err
	}
	pb, err := s.store.Pricebook(ctx, p.Org.ID, pricebookID)
	if err != nil {
		return Bill{}, err
	}
	if rule != nil {
		if err := rule.Validate(); err != nil {
			return Bill{}, err
		}
		replaced := false
		for i, r := range pb.Rules {
			if r.ID == rule.ID && rule.ID != "" {
				rule.Position = r.Position
				pb.Rules[i], replaced = *rule, true
			}
		}
		if !replaced {
			rule.Position = len(pb.Rules) + 1<<20
			pb.Rules = append(pb.Rules, *rule)
		}
	}
	month = billing.MonthStart(month)
	lines, err := s.store.PreviewBillLines(ctx, orgID, month, pb)
	if err != nil {
		return Bill{}, err
	}
	return NewBill(orgID, month, lines), nil
}

// SeesCost reports whether the caller may see the cost (and margin) of
// orgID's charges: not a resold customer's own users.
func SeesCost(p tenancy.Principal, orgID string) bool {
	if p.IsSystem() || p.Org.Kind == tenancy.Reseller {
		return true
	}
	return p.Org.ResellerID == ""
}

func hideCost(b Bill, withCost bool) Bill {
	if withCost {
		return b
	}
	for i := range b.Lines {
		b.Lines[i].Cost, b.Lines[i].Margin = decimal.Zero, decimal.Zero
	}
	for i := range b.Totals {
		b.Totals[i].Cost, b.Totals[i].Margin = decimal.Zero, decimal.Zero
	}
	return b
}

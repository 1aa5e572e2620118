package pricing

import (
	"context"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

// A billing cycle is a (customer, month). It is open until the reseller
// closes it; closing keeps the month's bill as a snapshot, which every
// later read of that month's bill returns, and the pricing it was made
// with. While a month is closed nothing that would change it is accepted
// (an assignment, a rule change, a credit, a support plan or discount
// change effective in it); new provider data for it (a restatement) leaves
// its bill as it is and carries the difference, as an adjustment line,
// into the next open month.

// CycleState tells an open month from a closed one.
type CycleState string

// Cycle states.
const (
	Open   CycleState = "OPEN"
	Closed CycleState = "CLOSED"
)

// CycleAction is what an audit record of a cycle says happened.
type CycleAction string

// Cycle actions.
const (
	CloseAction  CycleAction = "CLOSE"
	ReopenAction CycleAction = "REOPEN"
)

// Restatement is the charge kind of a closed month's restatement: in the
// next open month, the difference between the month as the provider now
// states it (priced as the month was) and what was billed for it.
const Restatement ChargeKind = "RESTATEMENT"

// Cycle is a customer's month and whether it is closed. Bill is the
// snapshot of a closed month (nil for an open one).
type Cycle struct {
	OrgID    string
	Month    time.Time
	State    CycleState
	ClosedAt time.Time
	ClosedBy string
	Bill     *Bill
}

// CycleEvent is one record of a cycle's audit trail.
type CycleEvent struct {
	ID     string
	OrgID  string
	Month  time.Time
	Action CycleAction
	Actor  string
	Reason string
	At     time.Time
}

// OrgMonth names a customer's month.
type OrgMonth struct {
	OrgID string
	Month time.Time
}

// CycleStore persists billing cycles. CloseMonth and ReopenMonth are
// atomic: the snapshot, the state, the audit record and the carried
// restatements change together. Both return a domain.Conflict error when
// the month is already in the state asked for.
type CycleStore interface {
	// CloseMonth brings the month's charges up to date, keeps its bill
	// lines and the customer's pricing as the snapshot and records ev.
	CloseMonth(ctx context.Context, orgID string, month time.Time, ev CycleEvent) (Cycle, error)
	// ReopenMonth drops the month's snapshot, records ev and reprices
	// the customer's open months. A later closed month is a
	// domain.Conflict error.
	ReopenMonth(ctx context.Context, orgID string, month time.Time, ev CycleEvent) error
	// Cycle returns a customer's month: open when it was never closed.
	Cycle(ctx context.Context, orgID string, month time.Time) (Cycle, error)
	// ClosedCycles lists a customer's closed months, oldest first,
	// without their bills.
	ClosedCycles(ctx context.Context, orgID string) ([]Cycle, error)
	// CycleEvents lists a customer's cycle audit trail, newest first.
	CycleEvents(ctx context.Context, orgID string) ([]CycleEvent, error)
	// DataMonths lists the months of a customer with cost data or
	// charges, oldest first.
	DataMonths(ctx context.Context, orgID string) ([]time.Time, error)
	// OpenMonthsWithData lists the customers of every reseller with cost
	// data or charges in a month before before that is still open.
	OpenMonthsWithData(ctx context.Context, before time.Time) ([]OrgMonth, error)
}

// CloseObserver is told after a customer's month closed, e.g. to queue
// that month's exports. It runs after the close is committed; its failure
// is its own business.
type CloseObserver func(ctx context.Context, orgID string, month time.Time)

// Option adjusts a Service.
type Option func(*Service)

// WithCloseObserver adds fn to the functions called after a month closes.
func WithCloseObserver(fn CloseObserver) Option {
	return func(s *Service) { s.onClose = append(s.onClose, fn) }
}

// WithClock makes the Service read the time from now.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// OnClose adds fn to the functions called after a month closes; for
// wiring that builds the observer after the service.
func (s *Service) OnClose(fn CloseObserver) { s.onClose = append(s.onClose, fn) }

// MonthName writes a month as people read it: "October 2026".
func MonthName(m time.Time) string { return m.UTC().Format("January 2006") }

// ClosedError is the conflict of a change to a closed month.
func ClosedError(month time.Time, org tenancy.Organization) error {
	name := org.Name
	if name == "" {
		name = org.Slug
	}
	return domain.Errorf(domain.Conflict, "%s is closed for %s", MonthName(month), name)
}

// maxReason bounds a reopen reason.
const maxReason = 500

// Cycles lists a customer's months: every month with data or closed,
// newest first, each open or closed (closed ones without their bill).
func (s *Service) Cycles(ctx context.Context, p tenancy.Principal, orgID string) ([]Cycle, error) {
	if orgID == "" {
		orgID = p.Org.ID
	}
	if _, err := s.customerOf(ctx, p, orgID, false); err != nil {
		return nil, err
	}
	closed, err := s.store.ClosedCycles(ctx, orgID)
	if err != nil {
		return nil, err
	}
	months, err := s.store.DataMonths(ctx, orgID)
	if err != nil {
		return nil, err
	}
	byMonth := map[time.Time]Cycle{}
	for _, m := range months {
		byMonth[m] = Cycle{OrgID: orgID, Month: m, State: Open}
	}
	for _, c := range closed {
		byMonth[c.Month] = c
	}
	out := make([]Cycle, 0, len(byMonth))
	for _, c := range byMonth {
		out = append(out, c)
	}
	sortCyclesNewestFirst(out)
	return out, nil
}

func sortCyclesNewestFirst(cs []Cycle) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Month.After(cs[j-1].Month); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// CycleEvents returns a customer's cycle audit trail, newest first, for
// the reseller's users.
func (s *Service) CycleEvents(ctx context.Context, p tenancy.Principal, orgID string) ([]CycleEvent, error) {
	if p.IsSystem() || p.Org.Kind != tenancy.Reseller {
		return nil, domain.Errorf(domain.Forbidden, "only resellers see the billing cycle audit trail")
	}
	if _, err := s.customerOf(ctx, p, orgID, false); err != nil {
		return nil, err
	}
	return s.store.CycleEvents(ctx, orgID)
}

// MonthClosed reports whether a customer's month is closed. The system
// and the customer's reseller ask it of any of their customers, a
// customer of itself.
func (s *Service) MonthClosed(ctx context.Context, p tenancy.Principal, orgID string, month time.Time) (bool, error) {
	if _, err := s.customerOf(ctx, p, orgID, false); err != nil {
		return false, err
	}
	c, err := s.store.Cycle(ctx, orgID, billing.MonthStart(month))
	if err != nil {
		return false, err
	}
	return c.State == Closed, nil
}

// CloseMonth closes a customer's month that has ended: its bill is kept as
// it is now. Only the customer's reseller's admins (or the scheduler)
// close months.
func (s *Service) CloseMonth(ctx context.Context, p tenancy.Principal, orgID string, month time.Time) (Cycle, error) {
	org, err := s.customerOf(ctx, p, orgID, !p.IsSystem())
	if err != nil {
		return Cycle{}, err
	}
	if org.ResellerID == "" {
		return Cycle{}, domain.Errorf(domain.Invalid, "only a reseller's customers have billing cycles")
	}
	if month.IsZero() {
		return Cycle{}, domain.Errorf(domain.Invalid, "closing needs the month")
	}
	month = billing.MonthStart(month)
	if month.AddDate(0, 1, 0).After(billing.MonthStart(s.now().UTC())) {
		return Cycle{}, domain.Errorf(domain.Invalid, "%s has not ended yet: a month closes once it is over", MonthName(month))
	}
	ev := CycleEvent{ID: s.newID(), OrgID: orgID, Month: month, Action: CloseAction, Actor: actorOf(p), At: s.now().UTC()}
	c, err := s.store.CloseMonth(ctx, orgID, month, ev)
	if err != nil {
		if domain.ErrorCode(err) == domain.Conflict {
			return Cycle{}, domain.Errorf(domain.Conflict, "%s is already closed for %s", MonthName(month), org.Name)
		}
		return Cycle{}, err
	}
	for _, fn := range s.onClose {
		fn(ctx, orgID, month)
	}
	return c, nil
}

// ReopenMonth reopens a closed month, for a reason kept in the audit
// trail. Only the latest closed month of a customer reopens.
func (s *Service) ReopenMonth(ctx context.Context, p tenancy.Principal, orgID string, month time.Time, reason string) error {
	org, err := s.customerOf(ctx, p, orgID, true)
	if err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return domain.Errorf(domain.Invalid, "reopening a month needs a reason")
	}
	if len(reason) > maxReason {
		return domain.Errorf(domain.Invalid, "a reason is at most %d characters", maxReason)
	}
	month = billing.MonthStart(month)
	closed, err := s.store.ClosedCycles(ctx, orgID)
	if err != nil {
		return err
	}
	found := false
	for _, c := range closed {
		if c.Month.After(month) {
			return domain.Errorf(domain.Conflict, "%s is closed for %s too: reopen it first", MonthName(c.Month), org.Name)
		}
		found = found || c.Month.Equal(month)
	}
	if !found {
		return domain.Errorf(domain.Conflict, "%s is not closed for %s", MonthName(month), org.Name)
	}
	ev := CycleEvent{ID: s.newID(), OrgID: orgID, Month: month, Action: ReopenAction, Actor: actorOf(p), Reason: reason, At: s.now().UTC()}
	return s.store.ReopenMonth(ctx, orgID, month, ev)
}

// CloseDue closes, as the system, every reseller customer's month with
// data that ended more than afterDays days ago and is still open. It
// returns the months it closed; one customer's failure does not stop the
// others, and the first error is returned.
func (s *Service) CloseDue(ctx context.Context, p tenancy.Principal, afterDays int) ([]OrgMonth, error) {
	if !p.IsSystem() {
		return nil, domain.Errorf(domain.Forbidden, "only the scheduler closes months on its own")
	}
	if afterDays < 0 {
		return nil, domain.Errorf(domain.Invalid, "the days after month end must not be negative")
	}
	now := s.now().UTC()
	// A month M is due when now >= start(M+1) + afterDays.
	before := billing.MonthStart(now.AddDate(0, 0, -afterDays))
	due, err := s.store.OpenMonthsWithData(ctx, before)
	if err != nil {
		return nil, err
	}
	var done []OrgMonth
	var first error
	for _, d := range due {
		_, err := s.CloseMonth(ctx, p, d.OrgID, d.Month)
		if err != nil && domain.ErrorCode(err) != domain.Conflict {
			if first == nil {
				first = err
			}
			continue
		}
		if err == nil {
			done = append(done, d)
		}
	}
	return done, first
}

// checkOpen refuses a change effective in month when the customer has a
// closed month at or after it (from true) or at it (from false).
func (s *Service) checkOpen(ctx context.Context, org tenancy.Organization, month time.Time, from bool) error {
	month = billing.MonthStart(month)
	closed, err := s.store.ClosedCycles(ctx, org.ID)
	if err != nil {
		return err
	}
	for _, c := range closed {
		if c.Month.Equal(month) || (from && c.Month.After(month)) {
			return ClosedError(c.Month, org)
		}
	}
	return nil
}

// checkPricebookOpen refuses a change to a pricebook in force in a closed
// month of one of its customers.
func (s *Service) checkPricebookOpen(ctx context.Context, resellerID, pricebookID string) error {
	orgs, err := s.store.CustomersUsing(ctx, resellerID, pricebookID)
	if err != nil {
		return err
	}
	for _, id := range orgs {
		closed, err := s.store.ClosedCycles(ctx, id)
		if err != nil {
			return err
		}
		if len(closed) == 0 {
			continue
		}
		cust, err := s.store.Customer(ctx, id)
		if err != nil {
			return err
		}
		for _, c := range closed {
			if cust.PricebookFor(c.Month) == pricebookID {
				org, err := s.orgs.OrganizationByID(ctx, id)
				if err != nil {
					return err
				}
				return domain.Errorf(domain.Conflict, "%s is closed for %s, which this pricebook prices: assign a new pricebook from the next open month instead",
					MonthName(c.Month), org.Name)
			}
		}
	}
	return nil
}

// actorOf names the caller in the audit trail.
func actorOf(p tenancy.Principal) string {
	if a := p.String(); a != "" {
		return a
	}
	return "user " + p.User.ID
}

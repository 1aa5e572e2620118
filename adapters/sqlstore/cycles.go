package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/pricing"
)

var _ pricing.CycleStore = (*Store)(nil)

type cycleRow struct {
	bun.BaseModel `bun:"table:billing_cycles"`
	OrgID         string    `bun:"org_id,pk"`
	Month         time.Time `bun:"month,pk"`
	ClosedAt      time.Time `bun:"closed_at"`
	ClosedBy      string    `bun:"closed_by"`
	Snapshot      string    `bun:"snapshot"`
}

type cycleEventRow struct {
	bun.BaseModel `bun:"table:billing_cycle_events"`
	OrgID         string    `bun:"org_id,pk"`
	ID            string    `bun:"id,pk"`
	Month         time.Time `bun:"month"`
	Action        string    `bun:"action"`
	Actor         string    `bun:"actor"`
	Reason        string    `bun:"reason"`
	At            time.Time `bun:"at"`
}

type carryRow struct {
	bun.BaseModel `bun:"table:billing_cycle_carries"`
	OrgID         string    `bun:"org_id,pk"`
	FromMonth     time.Time `bun:"from_month,pk"`
	Currency      string    `bun:"currency,pk"`
	Pending       string    `bun:"pending"`
	Billed        string    `bun:"billed"`
}

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
		for _, t := range p.Tiers {
			tj := tierJSON{Percent: t.Percent.String()}
			if t.UpTo != nil {
				v := t.UpTo.String()
				tj.UpTo = &v
			}
			pj.Tiers = append(pj.Tiers, tj)
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
		for _, t := range p.Tiers {
			tier := pricing.Tier{Percent: dec(t.Percent)}
			if t.UpTo != nil {
				v := dec(*t.UpTo)
				tier.UpTo = &v
			}
			plan.Tiers = append(plan.Tiers, tier)
		}
		c.SupportPlans = append(c.SupportPlans, plan)
	}
	for _, cr := range sn.Pricing.Credits {
		c.Credits = append(c.Credits, pricing.Credit{OrgID: orgID, Month: month, Amount: dec(cr.Amount), Currency: cr.Currency,
			Cloud: cr.Cloud, Reason: cr.Reason, AllowNegative: cr.AllowNegative})
	}
	return c
}

func (r cycleRow) domain() (pricing.Cycle, error) {
	month := r.Month.UTC()
	c := pricing.Cycle{OrgID: r.OrgID, Month: month, State: pricing.Closed, ClosedAt: r.ClosedAt.UTC(), ClosedBy: r.ClosedBy}
	if r.Snapshot == "" {
		return c, nil
	}
	var snap snapshotJSON
	if err := json.Unmarshal([]byte(r.Snapshot), &snap); err != nil {
		return c, fmt.Errorf("read snapshot of %s: %w", month.Format("2006-01"), err)
	}
	b := pricing.NewBill(r.OrgID, month, snap.lines())
	b.Closed, b.ClosedAt = true, c.ClosedAt
	c.Bill = &b
	return c, nil
}

// closedMonths is the set of a customer's closed months.
func closedMonths(ctx context.Context, db bun.IDB, orgID string) (map[time.Time]bool, error) {
	var months []time.Time
	if err := db.NewSelect().Model((*cycleRow)(nil)).Column("month").Where("org_id = ?", orgID).Scan(ctx, &months); err != nil &&
		!errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(err, "closed months")
	}
	out := make(map[time.Time]bool, len(months))
	for _, m := range months {
		out[m.UTC()] = true
	}
	return out, nil
}

// firstOpenAfter is the first month after month that is not closed.
func firstOpenAfter(month time.Time, closed map[time.Time]bool) time.Time {
	m := month.AddDate(0, 1, 0)
	for closed[m] {
		m = m.AddDate(0, 1, 0)
	}
	return m
}

func readCarries(ctx context.Context, db bun.IDB, orgID string, from *time.Time) ([]carryRow, error) {
	var rows []carryRow
	q := db.NewSelect().Model(&rows).Where("org_id = ?", orgID)
	if from != nil {
		q = q.Where("from_month = ?", from.UTC())
	}
	if err := q.OrderExpr("from_month, currency").Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(err, "restatement carries")
	}
	return rows, nil
}

func writeCarry(ctx context.Context, db bun.IDB, r carryRow) error {
	if dec(r.Pending).IsZero() && dec(r.Billed).IsZero() {
		_, err := db.NewDelete().Model(&r).WherePK().Exec(ctx)
		return mapErr(err, "forget restatement carry")
	}
	_, err := db.NewInsert().Model(&r).On("CONFLICT (org_id, from_month, currency) DO UPDATE").
		Set("pending = EXCLUDED.pending").Set("billed = EXCLUDED.billed").Exec(ctx)
	return mapErr(err, "record restatement carry")
}

// carriesInto returns the restatement charges month carries: what closed
// months whose first open month it is still owe.
func carriesInto(ctx context.Context, db bun.IDB, orgID string, month time.Time, closed map[time.Time]bool) ([]pricing.Charge, error) {
	if len(closed) == 0 {
		return nil, nil
	}
	rows, err := readCarries(ctx, db, orgID, nil)
	if err != nil {
		return nil, err
	}
	var out []pricing.Charge
	for _, r := range rows {
		from := r.FromMonth.UTC()
		amt := dec(r.Pending)
		if amt.IsZero() || !closed[from] || !firstOpenAfter(from, closed).Equal(month) {
			continue
		}
		out = append(out, pricing.Charge{Kind: pricing.Restatement, Currency: r.Currency, Amount: amt,
			Description: "Restatement of " + pricing.MonthName(from), RestatedMonth: from})
	}
	return out, nil
}

func loadCycle(ctx context.Context, db bun.IDB, orgID string, month time.Time) (cycleRow, bool, error) {
	var row cycleRow
	err := db.NewSelect().Model(&row).Where("org_id = ? AND month = ?", orgID, month.UTC()).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, mapErr(err, "billing cycle")
	}
	return row, true, nil
}

// writeClosedCharges handles new data for a closed month: the month's
// pricing source becomes its closed charges plus a line taking its resale
// back to the closed bill, and the difference between the month priced
// as it closed and what was billed of it is left pending for the next
// open month.
func (s *Store) writeClosedCharges(ctx context.Context, db bun.IDB, orgID string, month time.Time) error {
	row, ok, err := loadCycle(ctx, db, orgID, month)
	if err != nil || !ok {
		return err
	}
	var snap snapshotJSON
	if err := json.Unmarshal([]byte(row.Snapshot), &snap); err != nil {
		return fmt.Errorf("read snapshot of %s: %w", month.Format("2006-01"), err)
	}
	spend, err := s.monthSpend(ctx, db, orgID, month)
	if err != nil {
		return err
	}
	usageNow := map[string]decimal.Decimal{}
	ownNow := map[string]decimal.Decimal{}
	for _, sp := range spend {
		usageNow[sp.Currency] = usageNow[sp.Currency].Add(sp.Resale).Add(sp.Tax)
		ownNow[sp.Currency] = ownNow[sp.Currency].Add(sp.Resale).Add(sp.Tax)
	}
	for _, c := range snap.customer(orgID, month).Charges(month, spend) {
		ownNow[c.Currency] = ownNow[c.Currency].Add(c.Amount)
	}
	usageThen := map[string]decimal.Decimal{}
	ownThen := map[string]decimal.Decimal{}
	var charges []pricing.Charge
	for _, l := range snap.lines() {
		switch l.Kind {
		case pricing.Usage:
			usageThen[l.Currency] = usageThen[l.Currency].Add(l.Resale)
			ownThen[l.Currency] = ownThen[l.Currency].Add(l.Resale)
			continue
		case pricing.LineKind(pricing.Restatement):
		default:
			ownThen[l.Currency] = ownThen[l.Currency].Add(l.Resale)
		}
		charges = append(charges, pricing.Charge{Kind: pricing.ChargeKind(l.Kind), Provider: l.Provider, Currency: l.Currency,
			Amount: l.Resale, Description: l.Description, RestatedMonth: l.RestatedMonth})
	}
	currencies := map[string]bool{}
	for c := range ownNow {
		currencies[c] = true
	}
	for c := range ownThen {
		currencies[c] = true
	}
	carries, err := readCarries(ctx, db, orgID, &month)
	if err != nil {
		return err
	}
	billed := map[string]decimal.Decimal{}
	for _, r := range carries {
		billed[r.Currency] = dec(r.Billed)
		currencies[r.Currency] = true
	}
	names := make([]string, 0, len(currencies))
	for c := range currencies {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, cur := range names {
		back := usageThen[cur].Sub(usageNow[cur])
		if !back.IsZero() {
			charges = append(charges, pricing.Charge{Kind: pricing.Restatement, Currency: cur, Amount: back,
				Description: "Restated after closing: the difference is billed in the next open month"})
		}
		pending := ownNow[cur].Sub(ownThen[cur]).Sub(billed[cur])
		if err := writeCarry(ctx, db, carryRow{OrgID: orgID, FromMonth: month, Currency: cur, Pending: pending.String(),
			Billed: billed[cur].String()}); err != nil {
			return err
		}
	}
	return s.replaceCharges(ctx, db, orgID, month, charges)
}

// lockCycles serialises the cycle changes of a customer on Postgres.
func (s *Store) lockCycles(ctx context.Context, tx bun.Tx, orgID string) error {
	if s.dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(?))", "billing-cycles:"+orgID)
	return mapErr(err, "lock billing cycles")
}

// CloseMonth closes a customer's month: its charges are brought up to
// date, its bill kept with the pricing that made it, the restatements it
// carries counted as billed, and ev recorded, in one transaction.
func (s *Store) CloseMonth(ctx context.Context, orgID string, month time.Time, ev pricing.CycleEvent) (pricing.Cycle, error) {
	month = billing.MonthStart(month)
	if err := s.ensureChargeTable(ctx, orgID, month); err != nil {
		return pricing.Cycle{}, err
	}
	var out pricing.Cycle
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockCycles(ctx, tx, orgID); err != nil {
			return err
		}
		if _, ok, err := loadCycle(ctx, tx, orgID, month); err != nil {
			return err
		} else if ok {
			return domain.Errorf(domain.Conflict, "%s is already closed", pricing.MonthName(month))
		}
		cust, err := loadCustomer(ctx, tx, orgID)
		if err != nil {
			return err
		}
		if err := s.writeCharges(ctx, tx, cust, month); err != nil {
			return err
		}
		lines, err := s.billLines(ctx, tx, orgID, month)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if l.RestatedMonth.IsZero() {
				continue
			}
			if err := moveCarry(ctx, tx, orgID, l.RestatedMonth, l.Currency, l.Resale); err != nil {
				return err
			}
		}
		b, err := json.Marshal(newSnapshot(cust, month, lines))
		if err != nil {
			return err
		}
		row := cycleRow{OrgID: orgID, Month: month, ClosedAt: ev.At.UTC(), ClosedBy: ev.Actor, Snapshot: string(b)}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return mapErr(err, "billing cycle")
		}
		if err := insertEvent(ctx, tx, ev); err != nil {
			return err
		}
		out, err = row.domain()
		return err
	})
	return out, err
}

// moveCarry counts amount of a closed month's pending restatement as
// billed (a negative amount moves it back to pending).
func moveCarry(ctx context.Context, db bun.IDB, orgID string, from time.Time, currency string, amount decimal.Decimal) error {
	from = from.UTC()
	rows, err := readCarries(ctx, db, orgID, &from)
	if err != nil {
		return err
	}
	r := carryRow{OrgID: orgID, FromMonth: from, Currency: currency, Pending: "0", Billed: "0"}
	for _, c := range rows {
		if c.Currency == currency {
			r = c
		}
	}
	r.Pending = dec(r.Pending).Sub(amount).String()
	r.Billed = dec(r.Billed).Add(amount).String()
	return writeCarry(ctx, db, r)
}

func insertEvent(ctx context.Context, db bun.IDB, ev pricing.CycleEvent) error {
	row := cycleEventRow{OrgID: ev.OrgID, ID: ev.ID, Month: ev.Month.UTC(), Action: string(ev.Action), Actor: ev.Actor,
		Reason: ev.Reason, At: ev.At.UTC()}
	_, err := db.NewInsert().Model(&row).Exec(ctx)
	return mapErr(err, "billing cycle event")
}

// ReopenMonth reopens the latest closed month of a customer: the
// restatements it billed are pending again, its own pending restatement
// is dropped (its data bills itself now), ev is recorded, and the open
// months are repriced.
func (s *Store) ReopenMonth(ctx context.Context, orgID string, month time.Time, ev pricing.CycleEvent) error {
	month = billing.MonthStart(month)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockCycles(ctx, tx, orgID); err != nil {
			return err
		}
		row, ok, err := loadCycle(ctx, tx, orgID, month)
		if err != nil {
			return err
		}
		if !ok {
			return domain.Errorf(domain.Conflict, "%s is not closed", pricing.MonthName(month))
		}
		closed, err := closedMonths(ctx, tx, orgID)
		if err != nil {
			return err
		}
		for m := range closed {
			if m.After(month) {
				return domain.Errorf(domain.Conflict, "%s is closed too: reopen it first", pricing.MonthName(m))
			}
		}
		c, err := row.domain()
		if err != nil {
			return err
		}
		for _, l := range c.Bill.Lines {
			if l.RestatedMonth.IsZero() {
				continue
			}
			if err := moveCarry(ctx, tx, orgID, l.RestatedMonth, l.Currency, l.Resale.Neg()); err != nil {
				return err
			}
		}
		if _, err := tx.NewDelete().Model((*carryRow)(nil)).Where("org_id = ? AND from_month = ?", orgID, month).Exec(ctx); err != nil {
			return mapErr(err, "drop restatement carries")
		}
		if _, err := tx.NewDelete().Model(&row).WherePK().Exec(ctx); err != nil {
			return mapErr(err, "reopen billing cycle")
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return err
	}
	return s.Reprice(ctx, orgID)
}

// Cycle returns a customer's month, with its snapshot when closed.
func (s *Store) Cycle(ctx context.Context, orgID string, month time.Time) (pricing.Cycle, error) {
	month = billing.MonthStart(month)
	row, ok, err := loadCycle(ctx, s.db, orgID, month)
	if err != nil {
		return pricing.Cycle{}, err
	}
	if !ok {
		return pricing.Cycle{OrgID: orgID, Month: month, State: pricing.Open}, nil
	}
	return row.domain()
}

// ClosedCycles lists a customer's closed months, oldest first.
func (s *Store) ClosedCycles(ctx context.Context, orgID string) ([]pricing.Cycle, error) {
	var rows []cycleRow
	if err := s.db.NewSelect().Model(&rows).Column("org_id", "month", "closed_at", "closed_by").Where("org_id = ?", orgID).
		OrderExpr("month").Scan(ctx); err != nil {
		return nil, mapErr(err, "closed months")
	}
	out := make([]pricing.Cycle, len(rows))
	for i, r := range rows {
		out[i] = pricing.Cycle{OrgID: orgID, Month: r.Month.UTC(), State: pricing.Closed, ClosedAt: r.ClosedAt.UTC(), ClosedBy: r.ClosedBy}
	}
	return out, nil
}

// CycleEvents lists a customer's cycle audit trail, newest first.
func (s *Store) CycleEvents(ctx context.Context, orgID string) ([]pricing.CycleEvent, error) {
	var rows []cycleEventRow
	if err := s.db.NewSelect().Model(&rows).Where("org_id = ?", orgID).OrderExpr("at DESC, id DESC").Scan(ctx); err != nil {
		return nil, mapErr(err, "billing cycle events")
	}
	out := make([]pricing.CycleEvent, len(rows))
	for i, r := range rows {
		out[i] = pricing.CycleEvent{ID: r.ID, OrgID: r.OrgID, Month: r.Month.UTC(), Action: pricing.CycleAction(r.Action),
			Actor: r.Actor, Reason: r.Reason, At: r.At.UTC()}
	}
	return out, nil
}

// DataMonths lists the months a customer has cost data for.
func (s *Store) DataMonths(ctx context.Context, orgID string) ([]time.Time, error) {
	var periods []time.Time
	if err := s.db.NewSelect().Model((*partitionRow)(nil)).ColumnExpr("DISTINCT billing_period_start").
		Where("org_id = ? AND connector_id <> ?", orgID, PricingConnector).Scan(ctx, &periods); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(err, "months with data")
	}
	return monthsOf(periods), nil
}

func monthsOf(periods []time.Time) []time.Time {
	seen := map[time.Time]bool{}
	var out []time.Time
	for _, p := range periods {
		m := billing.MonthStart(p)
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// OpenMonthsWithData lists resold customers' months with data before
// before that are not closed.
func (s *Store) OpenMonthsWithData(ctx context.Context, before time.Time) ([]pricing.OrgMonth, error) {
	var rows []struct {
		OrgID string    `bun:"org_id"`
		Start time.Time `bun:"billing_period_start"`
	}
	if err := s.db.NewRaw("SELECT DISTINCT p.org_id, p.billing_period_start FROM billing_partitions AS p"+
		" JOIN organizations AS o ON o.id = p.org_id WHERE o.reseller_id IS NOT NULL AND p.connector_id <> ?"+
		" AND p.billing_period_start < ? AND NOT EXISTS (SELECT 1 FROM billing_cycles AS c WHERE c.org_id = p.org_id"+
		" AND c.month = p.billing_period_start) ORDER BY p.org_id, p.billing_period_start", PricingConnector, before.UTC()).
		Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(err, "open months")
	}
	seen := map[pricing.OrgMonth]bool{}
	var out []pricing.OrgMonth
	for _, r := range rows {
		om := pricing.OrgMonth{OrgID: r.OrgID, Month: billing.MonthStart(r.Start)}
		if !seen[om] {
			seen[om] = true
			out = append(out, om)
		}
	}
	return out, nil
}

// refuseClosed returns the conflict of a change effective in month (and,
// with from, every later month) when the customer has such a month closed.
func refuseClosed(ctx context.Context, db bun.IDB, orgID string, month time.Time, from bool) error {
	closed, err := closedMonths(ctx, db, orgID)
	if err != nil || len(closed) == 0 {
		return err
	}
	month = billing.MonthStart(month)
	var hit []time.Time
	for m := range closed {
		if m.Equal(month) || (from && m.After(month)) {
			hit = append(hit, m)
		}
	}
	if len(hit) == 0 {
		return nil
	}
	sort.Slice(hit, func(i, j int) bool { return hit[i].Before(hit[j]) })
	var org orgRow
	if err := db.NewSelect().Model(&org).Where("id = ?", orgID).Scan(ctx); err != nil {
		return mapErr(err, "organization")
	}
	return pricing.ClosedError(hit[0], org.domain())
}

// refuseClosedPricebook returns the conflict of a change to a pricebook in
// force in a closed month of one of the reseller's customers.
func refuseClosedPricebook(ctx context.Context, db bun.IDB, resellerID, id string) error {
	var orgIDs []string
	if err := db.NewRaw("SELECT DISTINCT c.org_id FROM billing_cycles AS c JOIN organizations AS o ON o.id = c.org_id"+
		" JOIN pricing_assignments AS a ON a.org_id = c.org_id WHERE o.reseller_id = ? AND a.pricebook_id = ? ORDER BY c.org_id",
		resellerID, id).Scan(ctx, &orgIDs); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return mapErr(err, "customers with closed months")
	}
	for _, orgID := range orgIDs {
		cust, err := loadCustomer(ctx, db, orgID)
		if err != nil {
			return err
		}
		closed, err := closedMonths(ctx, db, orgID)
		if err != nil {
			return err
		}
		months := make([]time.Time, 0, len(closed))
		for m := range closed {
			months = append(months, m)
		}
		sort.Slice(months, func(i, j int) bool { return months[i].Before(months[j]) })
		for _, m := range months {
			if cust.PricebookFor(m) == id {
				var org orgRow
				if err := db.NewSelect().Model(&org).Where("id = ?", orgID).Scan(ctx); err != nil {
					return mapErr(err, "organization")
				}
				return pricing.ClosedError(m, org.domain())
			}
		}
	}
	return nil
}

// MonthTotals sums organizations' months per currency from the rollups,
// charges included: one GROUP BY for all of them.
func (s *Store) MonthTotals(ctx context.Context, orgIDs []string, month time.Time) ([]pricing.OrgTotal, error) {
	month = billing.MonthStart(month)
	q := "SELECT r.org_id, r.currency, " + s.sum("r.billed_cost") + ", " + s.sum("r.resale_cost") +
		" FROM cost_service_rollups AS r WHERE r.org_id IN (?) AND r.billing_period_start >= ? AND r.billing_period_start < ?" +
		" GROUP BY r.org_id, r.currency"
	rows, err := s.db.QueryContext(ctx, q, bun.In(orgIDs), month, month.AddDate(0, 1, 0))
	if err != nil {
		return nil, mapErr(err, "month totals")
	}
	defer rows.Close()
	var out []pricing.OrgTotal
	for rows.Next() {
		var t pricing.OrgTotal
		var cost, resale string
		if err := rows.Scan(&t.OrgID, &t.Currency, &cost, &resale); err != nil {
			return nil, mapErr(err, "month totals")
		}
		t.Cost, t.Resale = dec(cost), dec(resale)
		out = append(out, t)
	}
	return out, mapErr(rows.Err(), "month totals")
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

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

// DataMonths lists the months a customer has cost data or charges for (a
// month holding only a restatement carried into it is billable too).
func (s *Store) DataMonths(ctx context.Context, orgID string) ([]time.Time, error) {
	var periods []time.Time
	if err := s.db.NewSelect().Model((*partitionRow)(nil)).ColumnExpr("DISTINCT billing_period_start").
		Where("org_id = ?", orgID).Scan(ctx, &periods); err != nil && !errors.Is(err, sql.ErrNoRows) {
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

// OpenMonthsWithData lists resold customers' months with data or charges
// before before that are not closed.
func (s *Store) OpenMonthsWithData(ctx context.Context, before time.Time) ([]pricing.OrgMonth, error) {
	var rows []struct {
		OrgID string    `bun:"org_id"`
		Start time.Time `bun:"billing_period_start"`
	}
	if err := s.db.NewRaw("SELECT DISTINCT p.org_id, p.billing_period_start FROM billing_partitions AS p"+
		" JOIN organizations AS o ON o.id = p.org_id WHERE o.reseller_id IS NOT NULL"+
		" AND p.billing_period_start < ? AND NOT EXISTS (SELECT 1 FROM billing_cycles AS c WHERE c.org_id = p.org_id"+
		" AND c.month = p.billing_period_start) ORDER BY p.org_id, p.billing_period_start", before.UTC()).
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

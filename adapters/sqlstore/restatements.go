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

	"github.com/truecost/truecost/domain/pricing"
)

// Restatements of closed months: what a closed month still owes is kept
// in billing_cycle_carries and billed in the next open month.

type carryRow struct {
	bun.BaseModel `bun:"table:billing_cycle_carries"`
	OrgID         string    `bun:"org_id,pk"`
	FromMonth     time.Time `bun:"from_month,pk"`
	Currency      string    `bun:"currency,pk"`
	Pending       string    `bun:"pending"`
	Billed        string    `bun:"billed"`
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

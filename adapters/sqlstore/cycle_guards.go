package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/pricing"
)

// Refusals of changes to closed months, and the month totals of the
// Customers list.

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

package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/pricing"
)

// PricingConnector is the connector ID of the source Truecost writes for a
// priced customer: its support fees, discounts or uplifts and credits,
// one run a month, as line items with BilledCost 0 and the amount as
// resale.
const PricingConnector = "truecost-pricing"

// chargeRun is the run holding a customer's charges of a month: rewritten
// in place whenever the month is repriced.
func chargeRun(orgID string, month time.Time) string {
	return "pricing-" + orgID + "-" + month.UTC().Format("200601")
}

// mul is the SQL of an exact product of a column and a decimal.
func (s *Store) mul(expr string, factor decimal.Decimal) string {
	if s.dialect == Postgres {
		return "(" + expr + " * " + factor.String() + "::numeric)"
	}
	return "decmul(" + expr + ", '" + factor.String() + "')"
}

// resaleExpr is the SQL of a line item's resale under the rules, tried in
// pricing.Ordered order; NULL (resale = cost) where none matches.
func (s *Store) resaleExpr(rules []pricing.Rule, args *[]any) string {
	if len(rules) == 0 {
		return "NULL"
	}
	var b strings.Builder
	b.WriteString("CASE")
	for _, r := range pricing.Ordered(rules) {
		var cond string
		switch r.Scope {
		case pricing.ScopeAll:
			cond = "1 = 1"
		case pricing.ScopeCloud:
			cond = cloudExpr(providerOf("li")) + " = ?"
		case pricing.ScopeChargeCategory:
			cond = "COALESCE(li.charge_category, '') = ?"
		case pricing.ScopeBillingAccount:
			cond = "COALESCE(li.billing_account_id, '') = ?"
		case pricing.ScopeSubAccount:
			cond = "COALESCE(li.sub_account_id, '') = ?"
		case pricing.ScopeRegion:
			cond = "COALESCE(li.region_id, '') = ?"
		case pricing.ScopeServiceCategory:
			cond = "COALESCE(li.service_category, '') = ?"
		case pricing.ScopeService:
			cond = "COALESCE(li.service_name, '') = ?"
		case pricing.ScopeSKU:
			cond = "COALESCE(li.sku_id, '') = ?"
		default:
			continue
		}
		if r.Scope != pricing.ScopeAll {
			*args = append(*args, r.Value)
		}
		if !(r.Scope == pricing.ScopeChargeCategory && r.Value == pricing.TaxCategory) {
			cond += " AND COALESCE(li.charge_category, '') <> '" + pricing.TaxCategory + "'"
		}
		var expr string
		switch r.Type {
		case pricing.Discount:
			expr = s.mul("COALESCE(li.list_cost, li.billed_cost)", r.Factor())
		case pricing.FixedPrice:
			cond += " AND COALESCE(li.pricing_unit, '') = ? AND li.pricing_quantity IS NOT NULL"
			*args = append(*args, r.PricingUnit)
			expr = s.mul("li.pricing_quantity", r.UnitPrice)
		default:
			expr = s.mul("li.billed_cost", r.Factor())
		}
		b.WriteString(" WHEN " + cond + " THEN " + expr)
	}
	b.WriteString(" ELSE NULL END")
	return b.String()
}

// rulesFor returns the rules pricing a customer's month: override's when
// given, else those of the pricebook assigned for the month.
func rulesFor(ctx context.Context, db bun.IDB, cust pricing.Customer, month time.Time, override *pricing.Pricebook) ([]pricing.Rule, error) {
	if override != nil {
		return override.Rules, nil
	}
	id := cust.PricebookFor(month)
	if id == "" {
		return nil, nil
	}
	pb, err := loadPricebook(ctx, db, "", id)
	if err != nil {
		return nil, err
	}
	return pb.Rules, nil
}

// priceRows sets the resale of a run's line items of some periods and
// returns how many changed: only those are written, so a change that
// leaves the resale as it was (a credit, a support plan) rewrites nothing.
func (s *Store) priceRows(ctx context.Context, db bun.IDB, orgID, runID string, periods []time.Time, rules []pricing.Rule) (int64, error) {
	var args []any
	expr := s.resaleExpr(rules, &args)
	var whereArgs []any
	where := s.resaleExpr(rules, &whereArgs)
	args = append(args, orgID, runID, bun.In(periods))
	args = append(args, whereArgs...)
	distinct := " IS DISTINCT FROM "
	if s.dialect == SQLite {
		distinct = " IS NOT "
	}
	q := "UPDATE cost_line_items AS li SET resale_cost = " + expr +
		" WHERE li.org_id = ? AND li.run_id = ? AND li.billing_period_start IN (?) AND li.resale_cost" + distinct + "(" + where + ")"
	res, err := db.NewRaw(q, args...).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("price line items: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// rebuildRollups replaces the rollups of a run's periods with ones built
// from its line items, as publishing does.
func (s *Store) rebuildRollups(ctx context.Context, db bun.IDB, orgID, runID string, periods []time.Time) error {
	for _, table := range rollupTables {
		if _, err := db.NewDelete().TableExpr(table).Where("org_id = ? AND run_id = ? AND billing_period_start IN (?)",
			orgID, runID, bun.In(periods)).Exec(ctx); err != nil {
			return fmt.Errorf("delete %s: %w", table, err)
		}
	}
	var keys []runTagKeyRow
	if err := db.NewSelect().Model(&keys).Where("org_id = ? AND run_id = ?", orgID, runID).Scan(ctx); err != nil {
		return fmt.Errorf("read tag keys: %w", err)
	}
	if _, err := db.NewDelete().Model((*runTagKeyRow)(nil)).Where("org_id = ? AND run_id = ?", orgID, runID).Exec(ctx); err != nil {
		return fmt.Errorf("delete tag keys: %w", err)
	}
	run := billing.IngestionRun{ID: runID, OrgID: orgID, Periods: periods}
	for _, k := range keys {
		run.TagKeys = append(run.TagKeys, billing.RunTagKey{Key: k.TagKey, Combos: k.ValueCount, RolledUp: k.RolledUp})
	}
	return s.buildRollups(ctx, db, nil, run, nil)
}

// monthSpend sums a customer's month at resale by provider and currency,
// tax apart, from the rollups; the charges of the pricing source are left
// out.
func (s *Store) monthSpend(ctx context.Context, db bun.IDB, orgID string, month time.Time) ([]pricing.Spend, error) {
	q := "SELECT r.provider_name, r.currency, CASE WHEN r.charge_category = '" + pricing.TaxCategory + "' THEN 1 ELSE 0 END, " +
		s.sum("r.resale_cost") + " FROM cost_service_rollups AS r" +
		" WHERE r.org_id = ? AND r.billing_period_start >= ? AND r.billing_period_start < ? AND r.connector_id <> ?" +
		" GROUP BY r.provider_name, r.currency, CASE WHEN r.charge_category = '" + pricing.TaxCategory + "' THEN 1 ELSE 0 END"
	rows, err := db.QueryContext(ctx, q, orgID, month, month.AddDate(0, 1, 0), PricingConnector)
	if err != nil {
		return nil, fmt.Errorf("month spend: %w", err)
	}
	defer rows.Close()
	type key struct{ p, c string }
	byKey := map[key]*pricing.Spend{}
	var out []pricing.Spend
	var keys []key
	for rows.Next() {
		var p, c, amount string
		var tax int
		if err := rows.Scan(&p, &c, &tax, &amount); err != nil {
			return nil, fmt.Errorf("month spend: %w", err)
		}
		k := key{p, c}
		sp := byKey[k]
		if sp == nil {
			sp = &pricing.Spend{Provider: p, Currency: c}
			byKey[k] = sp
			keys = append(keys, k)
		}
		if tax == 1 {
			sp.Tax = sp.Tax.Add(dec(amount))
		} else {
			sp.Resale = sp.Resale.Add(dec(amount))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("month spend: %w", err)
	}
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return out, nil
}

// writeCharges replaces the customer's charges of a month with those its
// pricing makes of the month's spend now, and the restatements of closed
// months the month carries. A closed month keeps the charges it closed
// with (see writeClosedCharges).
func (s *Store) writeCharges(ctx context.Context, db bun.IDB, cust pricing.Customer, month time.Time) error {
	closed, err := closedMonths(ctx, db, cust.OrgID)
	if err != nil {
		return err
	}
	if closed[month] {
		return s.writeClosedCharges(ctx, db, cust.OrgID, month)
	}
	spend, err := s.monthSpend(ctx, db, cust.OrgID, month)
	if err != nil {
		return err
	}
	charges := cust.Charges(month, spend)
	carried, err := carriesInto(ctx, db, cust.OrgID, month, closed)
	if err != nil {
		return err
	}
	return s.replaceCharges(ctx, db, cust.OrgID, month, append(charges, carried...))
}

// replaceCharges writes charges as the customer's pricing source of a
// month, with their rollups, in place of what it held.
func (s *Store) replaceCharges(ctx context.Context, db bun.IDB, orgID string, month time.Time, charges []pricing.Charge) error {
	runID := chargeRun(orgID, month)
	for _, table := range append([]string{"cost_line_items"}, rollupTables...) {
		if _, err := db.NewDelete().TableExpr(table).Where("org_id = ? AND run_id = ? AND billing_period_start = ?",
			orgID, runID, month).Exec(ctx); err != nil {
			return fmt.Errorf("delete charges from %s: %w", table, err)
		}
	}
	if _, err := db.NewDelete().Model((*runTagKeyRow)(nil)).Where("org_id = ? AND run_id = ?", orgID, runID).Exec(ctx); err != nil {
		return fmt.Errorf("delete charge tag keys: %w", err)
	}
	if len(charges) == 0 {
		_, err := db.NewDelete().Model((*partitionRow)(nil)).Where("org_id = ? AND connector_id = ? AND billing_period_start = ?",
			orgID, PricingConnector, month).Exec(ctx)
		return err
	}
	end := month.AddDate(0, 1, 0)
	for _, c := range charges {
		provider := c.Provider
		if provider == "" {
			provider = "Reseller"
		}
		var sku any
		if !c.RestatedMonth.IsZero() {
			sku = c.RestatedMonth.UTC().Format("2006-01")
		}
		_, err := db.ExecContext(ctx, "INSERT INTO cost_line_items (org_id, connector_id, run_id, billing_period_start,"+
			" billing_period_end, charge_period_start, charge_period_end, billing_currency, billed_cost, effective_cost,"+
			" resale_cost, provider_name, service_name, service_category, charge_category, charge_class, charge_description,"+
			" charge_frequency, sku_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			orgID, PricingConnector, runID, s.timeArg(month), s.timeArg(end), s.timeArg(month), s.timeArg(end), c.Currency, "0", "0",
			c.Amount.String(), provider, c.Kind.ServiceName(c.Amount), "Other", c.Kind.ChargeCategory(), "", c.Description, "One-Time", sku)
		if err != nil {
			return fmt.Errorf("write charge: %w", err)
		}
	}
	row := partitionRow{OrgID: orgID, ConnectorID: PricingConnector, BillingPeriodStart: month, RunID: runID,
		SourceVersion: "pricing", UpdatedAt: time.Now().UTC()}
	if _, err := db.NewInsert().Model(&row).On("CONFLICT (org_id, connector_id, billing_period_start) DO UPDATE").
		Set("run_id = EXCLUDED.run_id").Set("updated_at = EXCLUDED.updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("record charges partition: %w", err)
	}
	return s.buildRollups(ctx, db, nil, billing.IngestionRun{ID: runID, OrgID: orgID, Periods: []time.Time{month}}, nil)
}

// timeArg is a time as the dialect stores it.
func (s *Store) timeArg(t time.Time) any {
	if s.dialect == SQLite {
		return t.UTC().Format(timeLayout)
	}
	return t.UTC()
}

// ensureChargeTable creates, on Postgres, the table of a customer's
// charges of a month, outside any transaction: creating a partition locks
// its month.
func (s *Store) ensureChargeTable(ctx context.Context, orgID string, month time.Time) error {
	if s.dialect != Postgres {
		return nil
	}
	if err := s.ensureMonth(ctx, month); err != nil {
		return err
	}
	runID := chargeRun(orgID, month)
	table := runTable(month, runID)
	var ok bool
	if err := s.db.QueryRowContext(ctx, "SELECT to_regclass(?) IS NOT NULL", table).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		if _, err := s.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+table+" PARTITION OF "+monthTable(month)+
			" FOR VALUES IN ("+quote(runID)+")"); err != nil {
			return fmt.Errorf("create %s: %w", table, err)
		}
	}
	row := lineItemTableRow{OrgID: orgID, RunID: runID, Month: month, TableName: table}
	_, err := s.db.NewInsert().Model(&row).On("CONFLICT DO NOTHING").Exec(ctx)
	return err
}

// activeRuns returns the active runs of a customer's month other than its
// charges, with the periods each holds there.
func activeRuns(ctx context.Context, db bun.IDB, orgID string, month time.Time) (map[string][]time.Time, error) {
	var rows []partitionRow
	if err := db.NewSelect().Model(&rows).Where("org_id = ? AND connector_id <> ? AND billing_period_start >= ? AND billing_period_start < ?",
		orgID, PricingConnector, month, month.AddDate(0, 1, 0)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("active runs: %w", err)
	}
	out := map[string][]time.Time{}
	for _, r := range rows {
		out[r.RunID] = append(out[r.RunID], r.BillingPeriodStart.UTC())
	}
	return out, nil
}

// priceMonth reprices a customer's month in the transaction: the resale of
// every active line item, the rollups that sum it, and the charges.
func (s *Store) priceMonth(ctx context.Context, tx bun.Tx, cust pricing.Customer, month time.Time, override *pricing.Pricebook) error {
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, "SET LOCAL work_mem = '"+rollupWorkMem+"'"); err != nil {
			return fmt.Errorf("set work_mem: %w", err)
		}
	}
	rules, err := rulesFor(ctx, tx, cust, month, override)
	if err != nil {
		return err
	}
	runs, err := activeRuns(ctx, tx, cust.OrgID, month)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(runs))
	for id := range runs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		changed, err := s.priceRows(ctx, tx, cust.OrgID, id, runs[id], rules)
		if err != nil {
			return err
		}
		if changed == 0 {
			continue
		}
		if err := s.rebuildRollups(ctx, tx, cust.OrgID, id, runs[id]); err != nil {
			return err
		}
	}
	if err := s.writeCharges(ctx, tx, cust, month); err != nil {
		return err
	}
	// Cached reports key on the partitions' update times.
	_, err = tx.NewUpdate().Model((*partitionRow)(nil)).Set("updated_at = ?", time.Now().UTC()).
		Where("org_id = ? AND billing_period_start >= ? AND billing_period_start < ?", cust.OrgID, month, month.AddDate(0, 1, 0)).
		Exec(ctx)
	return err
}

// pricedMonths lists the months of a customer with data or charges.
func pricedMonths(ctx context.Context, db bun.IDB, orgID string) ([]time.Time, error) {
	var rows []partitionRow
	if err := db.NewSelect().Model(&rows).Where("org_id = ?", orgID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("months of %s: %w", orgID, err)
	}
	seen := map[time.Time]bool{}
	var out []time.Time
	for _, r := range rows {
		m := billing.MonthStart(r.BillingPeriodStart)
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out, nil
}

// Reprice recomputes every open month of a customer, each in one transaction:
// readers see a month's old resale and charges or the new, never a mix.
func (s *Store) Reprice(ctx context.Context, orgID string) error {
	cust, err := s.Customer(ctx, orgID)
	if err != nil {
		return err
	}
	months, err := pricedMonths(ctx, s.db, orgID)
	if err != nil {
		return err
	}
	closed, err := closedMonths(ctx, s.db, orgID)
	if err != nil {
		return err
	}
	for _, m := range months {
		if closed[m] {
			// A closed month keeps the pricing it closed with.
			continue
		}
		if err := s.ensureChargeTable(ctx, orgID, m); err != nil {
			return err
		}
		if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return s.priceMonth(ctx, tx, cust, m, nil)
		}); err != nil {
			return fmt.Errorf("reprice %s: %w", m.Format("2006-01"), err)
		}
	}
	return nil
}

// errPreview rolls a preview's transaction back.
var errPreview = errors.New("preview")

// PreviewBillLines prices a customer's month with the pricebook inside a
// transaction, reads its bill lines and rolls back.
func (s *Store) PreviewBillLines(ctx context.Context, orgID string, month time.Time, pb pricing.Pricebook) ([]pricing.BillLine, error) {
	cust, err := s.Customer(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if err := s.ensureChargeTable(ctx, orgID, month); err != nil {
		return nil, err
	}
	var lines []pricing.BillLine
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.priceMonth(ctx, tx, cust, month, &pb); err != nil {
			return err
		}
		var err error
		if lines, err = s.billLines(ctx, tx, orgID, month); err != nil {
			return err
		}
		return errPreview
	})
	if !errors.Is(err, errPreview) {
		return nil, err
	}
	return lines, nil
}

// BillLines returns a customer's month: usage by provider, service and
// currency from the rollups, and the charges of the pricing source.
func (s *Store) BillLines(ctx context.Context, orgID string, month time.Time) ([]pricing.BillLine, error) {
	return s.billLines(ctx, s.db, orgID, month)
}

func (s *Store) billLines(ctx context.Context, db bun.IDB, orgID string, month time.Time) ([]pricing.BillLine, error) {
	q := "SELECT r.provider_name, r.service_name, r.currency, " + s.sum("r.billed_cost") + ", " + s.sum("r.resale_cost") +
		" FROM cost_service_rollups AS r WHERE r.org_id = ? AND r.billing_period_start >= ? AND r.billing_period_start < ?" +
		" AND r.connector_id <> ? GROUP BY r.provider_name, r.service_name, r.currency"
	rows, err := db.QueryContext(ctx, q, orgID, month, month.AddDate(0, 1, 0), PricingConnector)
	if err != nil {
		return nil, mapErr(err, "bill lines")
	}
	var out []pricing.BillLine
	for rows.Next() {
		var l pricing.BillLine
		var cost, resale string
		if err := rows.Scan(&l.Provider, &l.Service, &l.Currency, &cost, &resale); err != nil {
			rows.Close()
			return nil, mapErr(err, "bill lines")
		}
		l.Kind, l.Cost, l.Resale = pricing.Usage, dec(cost), dec(resale)
		out = append(out, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, "bill lines")
	}
	q = "SELECT li.provider_name, li.service_name, li.charge_category, COALESCE(li.charge_description, ''), li.billing_currency," +
		" li.resale_cost, COALESCE(li.sku_id, '') FROM cost_line_items AS li JOIN billing_partitions AS p ON p.org_id = li.org_id" +
		" AND p.connector_id = li.connector_id AND p.billing_period_start = li.billing_period_start AND p.run_id = li.run_id" +
		" WHERE li.org_id = ? AND li.connector_id = ? AND li.run_id = ? AND li.billing_period_start = ?"
	rows, err = db.QueryContext(ctx, q, orgID, PricingConnector, chargeRun(orgID, month), s.timeArg(month))
	if err != nil {
		return nil, mapErr(err, "bill charges")
	}
	defer rows.Close()
	for rows.Next() {
		var l pricing.BillLine
		var category, resale, sku string
		if err := rows.Scan(&l.Provider, &l.Service, &category, &l.Description, &l.Currency, &resale, &sku); err != nil {
			return nil, mapErr(err, "bill charges")
		}
		switch {
		case l.Service == pricing.Restatement.ServiceName(decimal.Zero):
			l.Kind = pricing.LineKind(pricing.Restatement)
			if m, err := time.Parse("2006-01", sku); err == nil {
				l.RestatedMonth = m
			}
		case category == pricing.Support.ChargeCategory():
			l.Kind = pricing.LineKind(pricing.Support)
		case category == pricing.CreditKind.ChargeCategory():
			l.Kind = pricing.LineKind(pricing.CreditKind)
		default:
			l.Kind = pricing.LineKind(pricing.Adjustment)
		}
		if l.Provider == "Reseller" {
			l.Provider = ""
		}
		l.Resale = dec(resale)
		out = append(out, l)
	}
	return out, mapErr(rows.Err(), "bill charges")
}

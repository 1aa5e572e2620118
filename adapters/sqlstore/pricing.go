package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/pricing"
)

var _ pricing.Store = (*Store)(nil)

type pricebookRow struct {
	bun.BaseModel `bun:"table:pricebooks"`
	ResellerID    string    `bun:"reseller_id,pk"`
	ID            string    `bun:"id,pk"`
	Name          string    `bun:"name"`
	Version       int       `bun:"version"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

type ruleRow struct {
	bun.BaseModel `bun:"table:pricebook_rules"`
	ResellerID    string `bun:"reseller_id,pk"`
	PricebookID   string `bun:"pricebook_id,pk"`
	ID            string `bun:"id,pk"`
	Scope         string `bun:"scope"`
	Value         string `bun:"value"`
	Type          string `bun:"type"`
	Percent       string `bun:"percent"`
	UnitPrice     string `bun:"unit_price"`
	PricingUnit   string `bun:"pricing_unit"`
	Priority      int    `bun:"priority"`
	Position      int    `bun:"position"`
}

type assignmentRow struct {
	bun.BaseModel  `bun:"table:pricing_assignments"`
	OrgID          string    `bun:"org_id,pk"`
	EffectiveMonth time.Time `bun:"effective_month,pk"`
	CreatedAt      time.Time `bun:"created_at,pk"`
	PricebookID    string    `bun:"pricebook_id"`
}

type pricingCustomerRow struct {
	bun.BaseModel `bun:"table:pricing_customers"`
	OrgID         string `bun:"org_id,pk"`
	Adjustment    string `bun:"adjustment"`
}

type supportPlanRow struct {
	bun.BaseModel `bun:"table:support_plans"`
	OrgID         string `bun:"org_id,pk"`
	Cloud         string `bun:"cloud,pk"`
	Percent       string `bun:"percent"`
	Tiers         string `bun:"tiers"`
	Minimum       string `bun:"minimum"`
	Currency      string `bun:"currency"`
}

type creditRow struct {
	bun.BaseModel `bun:"table:pricing_credits"`
	OrgID         string    `bun:"org_id,pk"`
	ID            string    `bun:"id,pk"`
	Month         time.Time `bun:"month"`
	Amount        string    `bun:"amount"`
	Currency      string    `bun:"currency"`
	Cloud         string    `bun:"cloud"`
	Reason        string    `bun:"reason"`
	AllowNegative bool      `bun:"allow_negative"`
	CreatedAt     time.Time `bun:"created_at"`
}

type tierJSON struct {
	UpTo    *string `json:"up_to,omitempty"`
	Percent string  `json:"percent"`
}

// tiersJSON writes a support plan's tiers as the store keeps them.
func tiersJSON(tiers []pricing.Tier) []tierJSON {
	out := make([]tierJSON, len(tiers))
	for i, t := range tiers {
		out[i].Percent = t.Percent.String()
		if t.UpTo != nil {
			v := t.UpTo.String()
			out[i].UpTo = &v
		}
	}
	return out
}

// domainTiers reads tiers the store kept.
func domainTiers(tiers []tierJSON) []pricing.Tier {
	var out []pricing.Tier
	for _, t := range tiers {
		tier := pricing.Tier{Percent: dec(t.Percent)}
		if t.UpTo != nil {
			v := dec(*t.UpTo)
			tier.UpTo = &v
		}
		out = append(out, tier)
	}
	return out
}

// dec reads a decimal column; the store only ever writes valid ones.
func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}

// CreatePricebook stores a new pricebook with its rules.
func (s *Store) CreatePricebook(ctx context.Context, pb pricing.Pricebook) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := pricebookRow{ResellerID: pb.ResellerID, ID: pb.ID, Name: pb.Name, Version: pb.Version,
			CreatedAt: pb.CreatedAt.UTC(), UpdatedAt: pb.UpdatedAt.UTC()}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return mapErr(err, "create pricebook")
		}
		return writeRules(ctx, tx, pb)
	})
}

func writeRules(ctx context.Context, db bun.IDB, pb pricing.Pricebook) error {
	if _, err := db.NewDelete().Model((*ruleRow)(nil)).Where("reseller_id = ? AND pricebook_id = ?", pb.ResellerID, pb.ID).
		Exec(ctx); err != nil {
		return mapErr(err, "replace pricebook rules")
	}
	if len(pb.Rules) == 0 {
		return nil
	}
	rows := make([]ruleRow, len(pb.Rules))
	for i, r := range pb.Rules {
		rows[i] = ruleRow{ResellerID: pb.ResellerID, PricebookID: pb.ID, ID: r.ID, Scope: string(r.Scope), Value: r.Value,
			Type: string(r.Type), Percent: r.Percent.String(), UnitPrice: r.UnitPrice.String(), PricingUnit: r.PricingUnit,
			Priority: r.Priority, Position: r.Position}
	}
	_, err := db.NewInsert().Model(&rows).Exec(ctx)
	return mapErr(err, "write pricebook rules")
}

// Pricebooks lists a reseller's pricebooks by name.
func (s *Store) Pricebooks(ctx context.Context, resellerID string) ([]pricing.Pricebook, error) {
	var rows []pricebookRow
	if err := s.db.NewSelect().Model(&rows).Where("reseller_id = ?", resellerID).OrderExpr("name, id").Scan(ctx); err != nil {
		return nil, mapErr(err, "list pricebooks")
	}
	var rules []ruleRow
	if err := s.db.NewSelect().Model(&rules).Where("reseller_id = ?", resellerID).OrderExpr("position").Scan(ctx); err != nil {
		return nil, mapErr(err, "list pricebook rules")
	}
	out := make([]pricing.Pricebook, len(rows))
	at := map[string]int{}
	for i, r := range rows {
		out[i] = r.domain()
		at[r.ID] = i
	}
	for _, r := range rules {
		if i, ok := at[r.PricebookID]; ok {
			out[i].Rules = append(out[i].Rules, r.domain())
		}
	}
	return out, nil
}

func (r pricebookRow) domain() pricing.Pricebook {
	return pricing.Pricebook{ID: r.ID, ResellerID: r.ResellerID, Name: r.Name, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func (r ruleRow) domain() pricing.Rule {
	return pricing.Rule{ID: r.ID, Scope: pricing.ScopeKind(r.Scope), Value: r.Value, Type: pricing.RuleType(r.Type),
		Percent: dec(r.Percent), UnitPrice: dec(r.UnitPrice), PricingUnit: r.PricingUnit, Priority: r.Priority, Position: r.Position}
}

// Pricebook returns one of a reseller's pricebooks.
func (s *Store) Pricebook(ctx context.Context, resellerID, id string) (pricing.Pricebook, error) {
	return loadPricebook(ctx, s.db, resellerID, id)
}

// loadPricebook reads a pricebook; resellerID empty finds it by ID alone,
// for pricing a customer whose assignment names it.
func loadPricebook(ctx context.Context, db bun.IDB, resellerID, id string) (pricing.Pricebook, error) {
	var row pricebookRow
	q := db.NewSelect().Model(&row).Where("id = ?", id)
	if resellerID != "" {
		q = q.Where("reseller_id = ?", resellerID)
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return pricing.Pricebook{}, domain.Errorf(domain.NotFound, "pricebook %q not found", id)
		}
		return pricing.Pricebook{}, mapErr(err, "read pricebook")
	}
	pb := row.domain()
	var rules []ruleRow
	if err := db.NewSelect().Model(&rules).Where("reseller_id = ? AND pricebook_id = ?", row.ResellerID, id).
		OrderExpr("position").Scan(ctx); err != nil {
		return pricing.Pricebook{}, mapErr(err, "read pricebook rules")
	}
	for _, r := range rules {
		pb.Rules = append(pb.Rules, r.domain())
	}
	return pb, nil
}

// UpdatePricebook changes a pricebook through fn in one transaction.
func (s *Store) UpdatePricebook(ctx context.Context, resellerID, id string, fn func(*pricing.Pricebook) error) (pricing.Pricebook, error) {
	var out pricing.Pricebook
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT 1 FROM pricebooks WHERE reseller_id = ? AND id = ? FOR UPDATE", resellerID, id); err != nil {
				return mapErr(err, "lock pricebook")
			}
		}
		pb, err := loadPricebook(ctx, tx, resellerID, id)
		if err != nil {
			return err
		}
		version := pb.Version
		if err := fn(&pb); err != nil {
			return err
		}
		if pb.Version != version {
			// A new version changes the rules: refused while they price a
			// closed month.
			if err := refuseClosedPricebook(ctx, tx, resellerID, id); err != nil {
				return err
			}
		}
		row := pricebookRow{ResellerID: resellerID, ID: id, Name: pb.Name, Version: pb.Version, CreatedAt: pb.CreatedAt, UpdatedAt: pb.UpdatedAt}
		if _, err := tx.NewUpdate().Model(&row).Column("name", "version", "updated_at").WherePK().Exec(ctx); err != nil {
			return mapErr(err, "update pricebook")
		}
		out = pb
		return writeRules(ctx, tx, pb)
	})
	return out, err
}

// DeletePricebook removes a pricebook that was never assigned.
func (s *Store) DeletePricebook(ctx context.Context, resellerID, id string) error {
	if _, err := s.Pricebook(ctx, resellerID, id); err != nil {
		return err
	}
	used, err := s.CustomersUsing(ctx, resellerID, id)
	if err != nil {
		return err
	}
	if len(used) > 0 {
		return domain.Errorf(domain.Conflict, "the pricebook is assigned to %d customer(s): it stays in their history", len(used))
	}
	_, err = s.db.NewDelete().Model((*pricebookRow)(nil)).Where("reseller_id = ? AND id = ?", resellerID, id).Exec(ctx)
	return mapErr(err, "delete pricebook")
}

// CustomersUsing lists the customers of the reseller assigned the pricebook.
func (s *Store) CustomersUsing(ctx context.Context, resellerID, id string) ([]string, error) {
	var ids []string
	err := s.db.NewRaw("SELECT DISTINCT a.org_id FROM pricing_assignments AS a JOIN organizations AS o ON o.id = a.org_id"+
		" WHERE o.reseller_id = ? AND a.pricebook_id = ? ORDER BY a.org_id", resellerID, id).Scan(ctx, &ids)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(err, "customers using pricebook")
	}
	return ids, nil
}

// Customer reads everything that prices a customer.
func (s *Store) Customer(ctx context.Context, orgID string) (pricing.Customer, error) {
	return loadCustomer(ctx, s.db, orgID)
}

func loadCustomer(ctx context.Context, db bun.IDB, orgID string) (pricing.Customer, error) {
	c := pricing.Customer{OrgID: orgID}
	var assignments []assignmentRow
	if err := db.NewSelect().Model(&assignments).Where("org_id = ?", orgID).OrderExpr("effective_month, created_at").
		Scan(ctx); err != nil {
		return c, mapErr(err, "read pricebook assignments")
	}
	names := map[string]string{}
	for _, a := range assignments {
		if a.PricebookID != "" {
			names[a.PricebookID] = ""
		}
	}
	if len(names) > 0 {
		ids := make([]string, 0, len(names))
		for id := range names {
			ids = append(ids, id)
		}
		var rows []pricebookRow
		if err := db.NewSelect().Model(&rows).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
			return c, mapErr(err, "read pricebook names")
		}
		for _, r := range rows {
			names[r.ID] = r.Name
		}
	}
	for _, a := range assignments {
		c.Assignments = append(c.Assignments, pricing.Assignment{OrgID: orgID, PricebookID: a.PricebookID,
			PricebookName: names[a.PricebookID], EffectiveMonth: a.EffectiveMonth.UTC(), CreatedAt: a.CreatedAt.UTC()})
	}
	var cust pricingCustomerRow
	err := db.NewSelect().Model(&cust).Where("org_id = ?", orgID).Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, mapErr(err, "read customer adjustment")
	}
	if err == nil {
		c.Adjustment = dec(cust.Adjustment)
	}
	var plans []supportPlanRow
	if err := db.NewSelect().Model(&plans).Where("org_id = ?", orgID).OrderExpr("cloud").Scan(ctx); err != nil {
		return c, mapErr(err, "read support plans")
	}
	for _, p := range plans {
		plan := pricing.SupportPlan{OrgID: orgID, Cloud: p.Cloud, Percent: dec(p.Percent), Minimum: dec(p.Minimum), Currency: p.Currency}
		var tiers []tierJSON
		if err := json.Unmarshal([]byte(p.Tiers), &tiers); err != nil {
			return c, fmt.Errorf("read support plan tiers: %w", err)
		}
		plan.Tiers = domainTiers(tiers)
		c.SupportPlans = append(c.SupportPlans, plan)
	}
	var credits []creditRow
	if err := db.NewSelect().Model(&credits).Where("org_id = ?", orgID).OrderExpr("month, created_at, id").Scan(ctx); err != nil {
		return c, mapErr(err, "read credits")
	}
	for _, r := range credits {
		c.Credits = append(c.Credits, pricing.Credit{ID: r.ID, OrgID: orgID, Month: r.Month.UTC(), Amount: dec(r.Amount),
			Currency: r.Currency, Cloud: r.Cloud, Reason: r.Reason, AllowNegative: r.AllowNegative, CreatedAt: r.CreatedAt.UTC()})
	}
	return c, nil
}

// AddAssignment records a pricebook assignment; one effective in or
// before a closed month is a domain.Conflict error.
func (s *Store) AddAssignment(ctx context.Context, a pricing.Assignment) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockCycles(ctx, tx, a.OrgID); err != nil {
			return err
		}
		if err := refuseClosed(ctx, tx, a.OrgID, a.EffectiveMonth, true); err != nil {
			return err
		}
		row := assignmentRow{OrgID: a.OrgID, EffectiveMonth: a.EffectiveMonth.UTC(), CreatedAt: a.CreatedAt.UTC(), PricebookID: a.PricebookID}
		_, err := tx.NewInsert().Model(&row).Exec(ctx)
		return mapErr(err, "assign pricebook")
	})
}

// SetAdjustment sets a customer's global discount or uplift.
func (s *Store) SetAdjustment(ctx context.Context, orgID string, pct decimal.Decimal) error {
	row := pricingCustomerRow{OrgID: orgID, Adjustment: pct.String()}
	_, err := s.db.NewInsert().Model(&row).On("CONFLICT (org_id) DO UPDATE").Set("adjustment = EXCLUDED.adjustment").Exec(ctx)
	return mapErr(err, "set adjustment")
}

// PutSupportPlan sets a customer's support plan for its cloud.
func (s *Store) PutSupportPlan(ctx context.Context, p pricing.SupportPlan) error {
	b, err := json.Marshal(tiersJSON(p.Tiers))
	if err != nil {
		return err
	}
	row := supportPlanRow{OrgID: p.OrgID, Cloud: p.Cloud, Percent: p.Percent.String(), Tiers: string(b),
		Minimum: p.Minimum.String(), Currency: p.Currency}
	_, err = s.db.NewInsert().Model(&row).On("CONFLICT (org_id, cloud) DO UPDATE").
		Set("percent = EXCLUDED.percent").Set("tiers = EXCLUDED.tiers").Set("minimum = EXCLUDED.minimum").
		Set("currency = EXCLUDED.currency").Exec(ctx)
	return mapErr(err, "set support plan")
}

// DeleteSupportPlan removes a customer's support plan for a cloud.
func (s *Store) DeleteSupportPlan(ctx context.Context, orgID, cloud string) error {
	res, err := s.db.NewDelete().Model((*supportPlanRow)(nil)).Where("org_id = ? AND cloud = ?", orgID, cloud).Exec(ctx)
	if err != nil {
		return mapErr(err, "delete support plan")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Errorf(domain.NotFound, "no support plan for %q", cloud)
	}
	return nil
}

// AddCredit stores a credit; one for a closed month is a domain.Conflict
// error.
func (s *Store) AddCredit(ctx context.Context, c pricing.Credit) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockCycles(ctx, tx, c.OrgID); err != nil {
			return err
		}
		if err := refuseClosed(ctx, tx, c.OrgID, c.Month, false); err != nil {
			return err
		}
		row := creditRow{OrgID: c.OrgID, ID: c.ID, Month: c.Month.UTC(), Amount: c.Amount.String(), Currency: c.Currency,
			Cloud: c.Cloud, Reason: c.Reason, AllowNegative: c.AllowNegative, CreatedAt: c.CreatedAt.UTC()}
		_, err := tx.NewInsert().Model(&row).Exec(ctx)
		return mapErr(err, "add credit")
	})
}

// DeleteCredit removes a customer's credit; one of a closed month is a
// domain.Conflict error.
func (s *Store) DeleteCredit(ctx context.Context, orgID, id string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockCycles(ctx, tx, orgID); err != nil {
			return err
		}
		var row creditRow
		err := tx.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.Errorf(domain.NotFound, "credit %q not found", id)
		}
		if err != nil {
			return mapErr(err, "read credit")
		}
		if err := refuseClosed(ctx, tx, orgID, row.Month.UTC(), false); err != nil {
			return err
		}
		_, err = tx.NewDelete().Model((*creditRow)(nil)).Where("org_id = ? AND id = ?", orgID, id).Exec(ctx)
		return mapErr(err, "delete credit")
	})
}

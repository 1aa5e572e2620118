package sqlstore_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
)

func num(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// expectedResaleTotal prices a FOCUS file by hand, independently of the
// pricing code: 15% markup on everything, 20% off list for S3, 0.05 an
// hour for one SKU, tax at cost; then a 2% uplift on the non-tax resale, a
// 3% support fee (at least 500) on that, and a 100 credit.
func expectedResaleTotal(t *testing.T, path string) (resale, cost decimal.Decimal) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var spend, tax decimal.Decimal
	for _, r := range rows[1:] {
		billed := num(r[col["BilledCost"]])
		cost = cost.Add(billed)
		switch {
		case r[col["ChargeCategory"]] == "Tax":
			tax = tax.Add(billed)
		case r[col["SkuId"]] == "1VRJNVGFYGWWQC38" && r[col["PricingUnit"]] == "Hours":
			spend = spend.Add(num(r[col["PricingQuantity"]]).Mul(num("0.05")))
		case r[col["ServiceName"]] == "Amazon Simple Storage Service":
			base := billed
			if l := r[col["ListCost"]]; l != "NULL" && l != "" {
				base = num(l)
			}
			spend = spend.Add(base.Mul(num("0.8")))
		default:
			spend = spend.Add(billed.Mul(num("1.15")))
		}
	}
	uplifted := spend.Mul(num("1.02"))
	fee := uplifted.Mul(num("0.03"))
	if fee.LessThan(num("500")) {
		fee = num("500")
	}
	return uplifted.Add(tax).Add(fee).Sub(num("100")), cost
}

type pricingEnv struct {
	env
	pricing  *pricing.Service
	reseller tenancy.Principal
}

func newPricingEnv(t testing.TB, s *sqlstore.Store) pricingEnv {
	t.Helper()
	e := newEnv(s)
	ctx := context.Background()
	res, err := e.tenancy.CreateOrganization(ctx, system, "reseller", "", tenancy.Reseller, "")
	if err != nil {
		t.Fatal(err)
	}
	admin := tenancy.Principal{Org: res, User: tenancy.User{ID: "u", OrgID: res.ID, Role: tenancy.Admin}}
	return pricingEnv{env: e, pricing: pricing.NewService(s, s, tenancy.NewID), reseller: admin}
}

func (e pricingEnv) customer(t *testing.T, slug string) tenancy.Organization {
	t.Helper()
	o, err := e.tenancy.CreateOrganization(context.Background(), system, slug, "", tenancy.Customer, "reseller")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// price gives the customer the pricing expectedResaleTotal computes.
func (e pricingEnv) price(t *testing.T, orgID string) pricing.Pricebook {
	t.Helper()
	ctx := context.Background()
	pb, err := e.pricing.CreatePricebook(ctx, e.reseller, "Standard")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []pricing.Rule{
		{Scope: pricing.ScopeAll, Type: pricing.Markup, Percent: num("15")},
		{Scope: pricing.ScopeService, Value: "Amazon Simple Storage Service", Type: pricing.Discount, Percent: num("20")},
		{Scope: pricing.ScopeSKU, Value: "1VRJNVGFYGWWQC38", Type: pricing.FixedPrice, UnitPrice: num("0.05"), PricingUnit: "Hours"},
	} {
		if pb, err = e.pricing.PutRule(ctx, e.reseller, pb.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	steps := []func() error{
		func() error {
			_, err := e.pricing.Assign(ctx, e.reseller, orgID, pb.ID, date("2024-01-01"))
			return err
		},
		func() error {
			_, err := e.pricing.SetAdjustment(ctx, e.reseller, orgID, num("2"))
			return err
		},
		func() error {
			_, err := e.pricing.PutSupportPlan(ctx, e.reseller, pricing.SupportPlan{OrgID: orgID, Percent: num("3"), Minimum: num("500"), Currency: "USD"})
			return err
		},
		func() error {
			_, err := e.pricing.AddCredit(ctx, e.reseller, pricing.Credit{OrgID: orgID, Month: date("2024-09-01"), Amount: num("100"), Currency: "USD", Reason: "onboarding"})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	return pb
}

func (e pricingEnv) resaleTotal(t *testing.T, orgID string, metric billing.Metric) decimal.Decimal {
	t.Helper()
	rep, err := e.reporter.Report(context.Background(), system, billing.CostQuery{OrgID: orgID, From: date("2024-09-01"),
		To: date("2024-10-01"), DateBasis: billing.BillingPeriod, Metric: metric})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Totals) != 1 {
		t.Fatalf("got totals %v, want one currency", rep.Totals)
	}
	return rep.Totals[0].Amount
}

func TestRepricingMatchesAnIndependentCalculation(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newPricingEnv(t, s)
		ctx := context.Background()
		path := filepath.Join("testdata", "focus-1.2-sample.csv")
		want, cost := expectedResaleTotal(t, path)

		// Priced after ingest: repricing fills the months there are.
		acme := e.customer(t, "acme")
		if _, err := e.ingest(t, acme, path); err != nil {
			t.Fatal(err)
		}
		pb := e.price(t, acme.ID)
		// Priced before ingest: the ingest prices what it publishes.
		beta := e.customer(t, "beta")
		if _, err := e.pricing.Assign(ctx, e.reseller, beta.ID, pb.ID, date("2024-01-01")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.pricing.SetAdjustment(ctx, e.reseller, beta.ID, num("2")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.pricing.PutSupportPlan(ctx, e.reseller, pricing.SupportPlan{OrgID: beta.ID, Percent: num("3"), Minimum: num("500"), Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.pricing.AddCredit(ctx, e.reseller, pricing.Credit{OrgID: beta.ID, Month: date("2024-09-01"), Amount: num("100"), Currency: "USD", Reason: "r"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ingest(t, beta, path); err != nil {
			t.Fatal(err)
		}
		for _, org := range []tenancy.Organization{acme, beta} {
			if got := e.resaleTotal(t, org.ID, billing.ResaleCost); !got.Equal(want) {
				t.Errorf("%s: costs(RESALE_COST) got %s, want %s", org.Slug, got, want)
			}
			if got := e.resaleTotal(t, org.ID, billing.BilledCost); !got.Equal(cost) {
				t.Errorf("%s: costs(BILLED_COST) got %s, want %s", org.Slug, got, cost)
			}
			bill, withCost, err := e.pricing.Bill(ctx, e.reseller, org.ID, date("2024-09-15"))
			if err != nil {
				t.Fatal(err)
			}
			if !withCost || len(bill.Totals) != 1 || !bill.Totals[0].Resale.Equal(want) || !bill.Totals[0].Cost.Equal(cost) ||
				!bill.Totals[0].Margin.Equal(want.Sub(cost)) {
				t.Errorf("%s: bill totals got %+v, want resale %s cost %s", org.Slug, bill.Totals, want, cost)
			}
			kinds := map[pricing.LineKind]int{}
			for _, l := range bill.Lines {
				kinds[l.Kind]++
			}
			if kinds[pricing.LineKind(pricing.Support)] != 1 || kinds[pricing.LineKind(pricing.CreditKind)] != 1 ||
				kinds[pricing.LineKind(pricing.Adjustment)] != 4 {
				t.Errorf("%s: bill line kinds %v, want one support, one credit, an uplift per provider", org.Slug, kinds)
			}
		}

		// A rule change reprices; removing the pricing leaves resale = cost.
		pb, err := e.pricing.RemoveRule(ctx, e.reseller, pb.ID, pb.Rules[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.resaleTotal(t, acme.ID, billing.ResaleCost); got.Equal(want) {
			t.Errorf("removing the markup left resale at %s", got)
		}
		for _, step := range []func() error{
			func() error { _, err := e.pricing.Assign(ctx, e.reseller, acme.ID, "", date("2024-09-01")); return err },
			func() error { _, err := e.pricing.SetAdjustment(ctx, e.reseller, acme.ID, decimal.Zero); return err },
			func() error { _, err := e.pricing.RemoveSupportPlan(ctx, e.reseller, acme.ID, ""); return err },
			func() error {
				c, err := e.pricing.Customer(ctx, e.reseller, acme.ID)
				if err != nil {
					return err
				}
				_, err = e.pricing.RemoveCredit(ctx, e.reseller, acme.ID, c.Credits[0].ID)
				return err
			},
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.resaleTotal(t, acme.ID, billing.ResaleCost); !got.Equal(cost) {
			t.Errorf("unpriced: resale got %s, want cost %s", got, cost)
		}
	})
}

func TestPricingIsTheResellersOwn(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newPricingEnv(t, s)
		ctx := context.Background()
		acme := e.customer(t, "acme")
		other, err := e.tenancy.CreateOrganization(ctx, system, "other-reseller", "", tenancy.Reseller, "")
		if err != nil {
			t.Fatal(err)
		}
		stranger := tenancy.Principal{Org: other, User: tenancy.User{ID: "x", OrgID: other.ID, Role: tenancy.Admin}}
		if _, err := e.pricing.SetAdjustment(ctx, stranger, acme.ID, num("5")); err == nil {
			t.Error("another reseller changed acme's pricing")
		}
		member := e.reseller
		member.User.Role = tenancy.Member
		if _, err := e.pricing.CreatePricebook(ctx, member, "x"); err == nil {
			t.Error("a reseller member created a pricebook")
		}
		customer := tenancy.Principal{Org: acme, User: tenancy.User{ID: "c", OrgID: acme.ID, Role: tenancy.Admin}}
		if _, err := e.pricing.CreatePricebook(ctx, customer, "x"); err == nil {
			t.Error("a customer created a pricebook")
		}
		pb, err := e.pricing.CreatePricebook(ctx, e.reseller, "Mine")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.pricing.Pricebook(ctx, stranger, pb.ID); err == nil {
			t.Error("another reseller read the pricebook")
		}
		bill, withCost, err := e.pricing.Bill(ctx, customer, "", time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC))
		if err != nil || withCost || bill.OrgID != acme.ID {
			t.Errorf("customer's own bill: got %+v, cost shown %v, err %v", bill, withCost, err)
		}
	})
}

// updatedItems counts the line items the UPDATEs of cost_line_items wrote.
type updatedItems struct {
	mu sync.Mutex
	n  int64
}

func (u *updatedItems) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (u *updatedItems) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if e.Err != nil || e.Result == nil || !strings.HasPrefix(e.Query, "UPDATE cost_line_items") {
		return
	}
	n, _ := e.Result.RowsAffected()
	u.mu.Lock()
	u.n += n
	u.mu.Unlock()
}

func TestChangesThatKeepResaleRewriteNoLineItems(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		hook := &updatedItems{}
		e := newPricingEnv(t, s)
		e.pricing = pricing.NewService(s.WithQueryHook(hook), s, tenancy.NewID)
		ctx := context.Background()
		acme := e.customer(t, "acme")
		if _, err := e.ingest(t, acme, filepath.Join("testdata", "focus-1.2-sample.csv")); err != nil {
			t.Fatal(err)
		}
		e.price(t, acme.ID)
		// The month's 1000 line items less its 49 of tax, which pass at
		// cost, are written once, by the assignment; the uplift, support
		// plan and credit that follow change no line item's resale.
		if hook.n != 951 {
			t.Errorf("pricing wrote %d line items, want the 951 priced ones once", hook.n)
		}
		hook.n = 0
		if _, err := e.pricing.AddCredit(ctx, e.reseller, pricing.Credit{OrgID: acme.ID, Month: date("2024-09-01"),
			Amount: num("5"), Currency: "USD", Reason: "again"}); err != nil {
			t.Fatal(err)
		}
		if hook.n != 0 {
			t.Errorf("a credit rewrote %d line items, want none", hook.n)
		}
	})
}

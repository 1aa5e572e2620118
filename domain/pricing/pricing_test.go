package pricing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain/pricing"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func dp(s string) *decimal.Decimal { v := d(s); return &v }

func TestPriceMostSpecificRuleWinsThenPriorityThenFirstAdded(t *testing.T) {
	t.Parallel()
	rules := []pricing.Rule{
		{ID: "all", Scope: pricing.ScopeAll, Type: pricing.Markup, Percent: d("15"), Position: 0},
		{ID: "s3", Scope: pricing.ScopeService, Value: "Amazon S3", Type: pricing.Discount, Percent: d("10"), Position: 1},
		{ID: "sku", Scope: pricing.ScopeSKU, Value: "SKU1", Type: pricing.FixedPrice, UnitPrice: d("0.025"), PricingUnit: "GB", Position: 2},
		{ID: "eu", Scope: pricing.ScopeRegion, Value: "eu-west-1", Type: pricing.Markup, Percent: d("20"), Position: 3},
		{ID: "eu-hi", Scope: pricing.ScopeRegion, Value: "eu-west-1", Type: pricing.Markup, Percent: d("30"), Priority: 5, Position: 4},
		{ID: "eu-same", Scope: pricing.ScopeRegion, Value: "eu-west-1", Type: pricing.Markup, Percent: d("40"), Priority: 5, Position: 5},
		{ID: "tax", Scope: pricing.ScopeChargeCategory, Value: "Tax", Type: pricing.Markup, Percent: d("1"), Position: 6},
	}
	noTaxRule := rules[:6]
	tests := []struct {
		name  string
		rules []pricing.Rule
		item  pricing.Item
		want  string
	}{
		{"markup for all on billed cost", rules, pricing.Item{ServiceName: "EC2", BilledCost: d("100.10")}, "115.115"},
		{"service discount off list cost", rules, pricing.Item{ServiceName: "Amazon S3", BilledCost: d("8"), ListCost: dp("10")}, "9"},
		{"discount falls back to billed cost without list cost", rules, pricing.Item{ServiceName: "Amazon S3", BilledCost: d("8")}, "7.2"},
		{"fixed unit price times pricing quantity", rules, pricing.Item{ServiceName: "Amazon S3", SkuID: "SKU1", PricingUnit: "GB", BilledCost: d("3"), PricingQuantity: dp("1000.5")}, "25.0125"},
		{"fixed price in another unit falls to the next rule", rules, pricing.Item{ServiceName: "Amazon S3", SkuID: "SKU1", PricingUnit: "Hrs", BilledCost: d("8"), PricingQuantity: dp("3")}, "7.2"},
		{"region beats all, priority breaks the tie, then first added", rules, pricing.Item{RegionID: "eu-west-1", BilledCost: d("10")}, "13"},
		{"service beats region", rules, pricing.Item{RegionID: "eu-west-1", ServiceName: "Amazon S3", BilledCost: d("10")}, "9"},
		{"tax passes at cost without a tax rule", noTaxRule, pricing.Item{ChargeCategory: "Tax", ServiceName: "Amazon S3", BilledCost: d("5")}, "5"},
		{"tax priced by a rule scoping charge category Tax", rules, pricing.Item{ChargeCategory: "Tax", BilledCost: d("5")}, "5.05"},
		{"no rules: resale is cost", nil, pricing.Item{BilledCost: d("-2.5")}, "-2.5"},
		{"no rounding of tiny amounts", rules, pricing.Item{BilledCost: d("0.0000001")}, "0.000000115"},
		{"credits are marked up like any charge", rules, pricing.Item{ChargeCategory: "Credit", BilledCost: d("-10")}, "-11.5"},
	}
	for _, tt := range tests {
		got := pricing.Price(tt.rules, tt.item)
		if !got.Equal(d(tt.want)) {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestRuleValidateRefusesNonsense(t *testing.T) {
	t.Parallel()
	bad := []pricing.Rule{
		{Scope: "PLANET", Type: pricing.Markup},
		{Scope: pricing.ScopeService, Type: pricing.Markup, Percent: d("5")},
		{Scope: pricing.ScopeAll, Type: pricing.Markup, Percent: d("-1")},
		{Scope: pricing.ScopeAll, Type: pricing.Discount, Percent: d("101")},
		{Scope: pricing.ScopeService, Value: "S3", Type: pricing.FixedPrice, UnitPrice: d("1"), PricingUnit: "GB"},
		{Scope: pricing.ScopeSKU, Value: "X", Type: pricing.FixedPrice, UnitPrice: d("1")},
		{Scope: pricing.ScopeAll, Type: "TIERED"},
	}
	for i, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("rule %d %+v: got no error", i, r)
		}
	}
	ok := pricing.Rule{Scope: pricing.ScopeCloud, Value: " aws ", Type: pricing.Markup, Percent: d("3")}
	if err := ok.Validate(); err != nil || ok.Value != "AWS" {
		t.Errorf("cloud rule: got %v, value %q", err, ok.Value)
	}
}

func TestSupportFeeTiersAndMinimum(t *testing.T) {
	t.Parallel()
	tiered := pricing.SupportPlan{Tiers: []pricing.Tier{{UpTo: dp("10000"), Percent: d("10")}, {Percent: d("7")}}}
	tests := []struct {
		plan  pricing.SupportPlan
		spend string
		want  string
	}{
		{pricing.SupportPlan{Percent: d("5")}, "1234.56", "61.728"},
		{tiered, "5000", "500"},
		{tiered, "10000", "1000"},
		{tiered, "12000.5", "1140.035"},
		{tiered, "-50", "0"},
	}
	for _, tt := range tests {
		if got := tt.plan.Fee(d(tt.spend)); !got.Equal(d(tt.want)) {
			t.Errorf("fee on %s: got %s, want %s", tt.spend, got, tt.want)
		}
	}
}

func TestChargesApplyUpliftThenSupportThenCreditsCappedAtZero(t *testing.T) {
	t.Parallel()
	oct := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	c := pricing.Customer{
		Adjustment: d("2.5"),
		SupportPlans: []pricing.SupportPlan{
			{Percent: d("10"), Minimum: d("500"), Currency: "USD"},
			{Cloud: "AZURE", Percent: d("1")},
		},
		Credits: []pricing.Credit{
			{Month: oct, Amount: d("30"), Currency: "USD", Cloud: "AZURE", Reason: "outage"},
			{Month: oct, Amount: d("100000"), Currency: "EUR", Reason: "goodwill"},
			{Month: oct.AddDate(0, 1, 0), Amount: d("1"), Currency: "USD", Reason: "next month"},
		},
	}
	spend := []pricing.Spend{
		{Provider: "AWS", Currency: "USD", Resale: d("1000"), Tax: d("80")},
		{Provider: "Microsoft", Currency: "USD", Resale: d("200")},
		{Provider: "AWS", Currency: "EUR", Resale: d("100")},
	}
	got := c.Charges(oct, spend)
	want := []pricing.Charge{
		{Kind: pricing.Adjustment, Provider: "AWS", Currency: "EUR", Amount: d("2.5")},
		{Kind: pricing.Adjustment, Provider: "AWS", Currency: "USD", Amount: d("25")},
		{Kind: pricing.Adjustment, Provider: "Microsoft", Currency: "USD", Amount: d("5")},
		// 10% of (102.5) EUR; 10% of 1230 USD is below the 500 USD minimum.
		{Kind: pricing.Support, Currency: "EUR", Amount: d("10.25")},
		{Kind: pricing.Support, Currency: "USD", Amount: d("500")},
		{Kind: pricing.Support, Provider: "Microsoft", Currency: "USD", Amount: d("2.05")},
		{Kind: pricing.CreditKind, Provider: "Microsoft", Currency: "USD", Amount: d("-30")},
		// The EUR credit stops at zero: 100 + 2.5 + 10.25.
		{Kind: pricing.CreditKind, Currency: "EUR", Amount: d("-112.75")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d charges %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Provider != w.Provider || g.Currency != w.Currency || !g.Amount.Equal(w.Amount) {
			t.Errorf("charge %d: got %s %s %s %s, want %s %s %s %s", i, g.Kind, g.Provider, g.Currency, g.Amount,
				w.Kind, w.Provider, w.Currency, w.Amount)
		}
	}
}

func TestCreditMayGoBelowZeroOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	oct := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	spend := []pricing.Spend{{Provider: "AWS", Currency: "USD", Resale: d("10")}}
	c := pricing.Customer{Credits: []pricing.Credit{{Month: oct, Amount: d("25"), Currency: "USD", Reason: "r", AllowNegative: true}}}
	got := c.Charges(oct, spend)
	if len(got) != 1 || !got[0].Amount.Equal(d("-25")) {
		t.Fatalf("got %+v, want one credit of -25", got)
	}
}

func TestPricebookForFollowsTheAssignmentHistory(t *testing.T) {
	t.Parallel()
	m := func(mo int) time.Time { return time.Date(2026, time.Month(mo), 1, 0, 0, 0, 0, time.UTC) }
	c := pricing.Customer{Assignments: []pricing.Assignment{
		{PricebookID: "a", EffectiveMonth: m(3)}, {PricebookID: "b", EffectiveMonth: m(6)}, {PricebookID: "", EffectiveMonth: m(9)},
	}}
	for mo, want := range map[int]string{2: "", 3: "a", 5: "a", 6: "b", 8: "b", 9: "", 12: ""} {
		if got := c.PricebookFor(m(mo).AddDate(0, 0, 14)); got != want {
			t.Errorf("month %d: got %q, want %q", mo, got, want)
		}
	}
}

func TestBillPartsAddUpExactlyPerCurrency(t *testing.T) {
	t.Parallel()
	b := pricing.NewBill("o", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), []pricing.BillLine{
		{Kind: pricing.LineKind(pricing.Support), Provider: "AWS", Currency: "USD", Resale: d("500")},
		{Kind: pricing.Usage, Provider: "AWS", Service: "EC2", Currency: "USD", Cost: d("0.1"), Resale: d("0.115")},
		{Kind: pricing.Usage, Provider: "AWS", Service: "S3", Currency: "USD", Cost: d("0.2"), Resale: d("0.18")},
		{Kind: pricing.Usage, Provider: "AWS", Service: "S3", Currency: "EUR", Cost: d("1"), Resale: d("1")},
	})
	if len(b.Totals) != 2 || b.Totals[1].Currency != "USD" || !b.Totals[1].Resale.Equal(d("500.295")) ||
		!b.Totals[1].Cost.Equal(d("0.3")) || !b.Totals[1].Margin.Equal(d("499.995")) {
		t.Fatalf("totals: got %+v", b.Totals)
	}
	if b.Lines[0].Kind != pricing.Usage || b.Lines[3].Kind != pricing.LineKind(pricing.Support) {
		t.Errorf("order: got %+v", b.Lines)
	}
	rows := b.Rows(false)
	last := strings.Join(rows[len(rows)-1], ",")
	if len(rows[0]) != 7 || last != "2026-10,TOTAL,,,,USD,500.295" {
		t.Errorf("customer rows: header %v, last %q; want no cost columns and the total", rows[0], last)
	}
}

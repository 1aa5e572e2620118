package main

import (
	"compress/gzip"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/localfiles"
)

// handPriced prices the FOCUS CSV files under dir by hand, independently of
// the pricing code: 12.5% markup on everything, 20% off list for Amazon S3,
// 0.05 an hour for one SKU, tax at cost; a 2% uplift on the non-tax
// resale; a 3% support fee, at least 25000 USD, on that; a 100 USD credit.
func handPriced(t *testing.T, dir string) (resale, cost decimal.Decimal) {
	t.Helper()
	var spend, tax decimal.Decimal
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".csv.gz") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		rows, err := csv.NewReader(gz).ReadAll()
		if err != nil {
			return err
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		d := decimal.RequireFromString
		for _, r := range rows[1:] {
			billed := d(r[col["BilledCost"]])
			cost = cost.Add(billed)
			switch {
			case r[col["ChargeCategory"]] == "Tax":
				tax = tax.Add(billed)
			case r[col["SkuId"]] == "1VRJNVGFYGWWQC38" && r[col["PricingUnit"]] == "Hours":
				spend = spend.Add(d(r[col["PricingQuantity"]]).Mul(d("0.05")))
			case r[col["ServiceName"]] == "Amazon Simple Storage Service":
				base := billed
				if l := r[col["ListCost"]]; l != "NULL" && l != "" {
					base = d(l)
				}
				spend = spend.Add(base.Mul(d("0.8")))
			default:
				spend = spend.Add(billed.Mul(d("1.125")))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	uplifted := spend.Mul(decimal.RequireFromString("1.02"))
	fee := uplifted.Mul(decimal.RequireFromString("0.03"))
	if min := decimal.RequireFromString("25000"); fee.LessThan(min) {
		fee = min
	}
	return uplifted.Add(tax).Add(fee).Sub(decimal.NewFromInt(100)), cost
}

type gqlBill struct {
	Lines []struct {
		Kind, Currency string
		Amount         string
		Cost, Margin   *string
	}
	Totals []struct {
		Currency, Amount string
		Cost, Margin     *string
	}
	CSV string
}

func TestResellerPricesACustomerThroughTheBinary(t *testing.T) {
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		for _, s := range [][]string{
			{"migrate"},
			{"orgs", "create", "northwind", "--kind", "reseller"},
			{"orgs", "create", "acme", "--reseller", "northwind"},
		} {
			if out, code := cmd(t, dir, dbURL, "", s...); code != 0 {
				t.Fatalf("%v: %d %s", s, code, out)
			}
		}
		token := func(email, org, role string) string {
			out, code := cmd(t, dir, dbURL, "", "users", "create", email, "--org", org, "--role", role, "--token")
			if code != 0 {
				t.Fatalf("users create: %d %s", code, out)
			}
			f := strings.Fields(out)
			return f[len(f)-1]
		}
		reseller := token("ops@northwind.example", "northwind", "admin")
		customer := token("finance@acme.example", "acme", "admin")
		if _, err := localfiles.WriteDemo(filepath.Join(dir, "demo")); err != nil {
			t.Fatal(err)
		}
		src := filepath.Join(dir, "demo", "acme", "focus")
		if out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", src, "--format", "focus"); code != 0 {
			t.Fatalf("ingest: %d %s", code, out)
		}
		want, cost := handPriced(t, src)
		url := serve(t, dir, dbURL)

		var orgs struct{ Organizations []struct{ ID, Slug string } }
		graphqlData(t, url, reseller, `{ organizations { id slug } }`, nil, &orgs)
		acme := ""
		for _, o := range orgs.Organizations {
			if o.Slug == "acme" {
				acme = o.ID
			}
		}
		var created struct{ CreatePricebook struct{ ID string } }
		graphqlData(t, url, reseller, `mutation { createPricebook(name: "Standard 2024") { id } }`, nil, &created)
		pb := created.CreatePricebook.ID
		put := `mutation($pb: ID!, $rule: PricingRuleInput!) { putPricingRule(pricebookId: $pb, rule: $rule) { version } }`
		for _, rule := range []map[string]any{
			{"scope": "ALL", "type": "MARKUP", "percent": "12.5"},
			{"scope": "SERVICE", "value": "Amazon Simple Storage Service", "type": "DISCOUNT", "percent": "20"},
			{"scope": "SKU", "value": "1VRJNVGFYGWWQC38", "type": "FIXED_PRICE", "unitPrice": "0.05", "pricingUnit": "Hours"},
		} {
			graphqlData(t, url, reseller, put, map[string]any{"pb": pb, "rule": rule}, nil)
		}
		org := map[string]any{"org": acme, "pb": pb}
		graphqlData(t, url, reseller, `mutation($org: ID!, $pb: ID) { assignPricebook(organizationId: $org, pricebookId: $pb, effectiveMonth: "2024-09") { adjustmentPercent } }`, org, nil)
		graphqlData(t, url, reseller, `mutation($org: ID!) { setSupportPlan(plan: {organizationId: $org, percent: "3", minimum: "25000", currency: "USD"}) { adjustmentPercent } }`, map[string]any{"org": acme}, nil)
		graphqlData(t, url, reseller, `mutation($org: ID!) { setPriceAdjustment(organizationId: $org, percent: "2") { adjustmentPercent } }`, map[string]any{"org": acme}, nil)
		graphqlData(t, url, reseller, `mutation($org: ID!) { addCredit(credit: {organizationId: $org, month: "2024-09", amount: "100", currency: "USD", reason: "Migration goodwill"}) { credits { id } } }`, map[string]any{"org": acme}, nil)

		billQuery := `query($org: ID) { bill(organizationId: $org, month: "2024-09") { lines { kind currency amount cost margin } totals { currency amount cost margin } csv } }`
		var res struct{ Bill gqlBill }
		graphqlData(t, url, reseller, billQuery, map[string]any{"org": acme}, &res)
		b := res.Bill
		if len(b.Totals) != 1 || !decimal.RequireFromString(b.Totals[0].Amount).Equal(want) ||
			!decimal.RequireFromString(*b.Totals[0].Cost).Equal(cost) ||
			!decimal.RequireFromString(*b.Totals[0].Margin).Equal(want.Sub(cost)) {
			t.Errorf("bill totals %+v, want resale %s cost %s", b.Totals, want, cost)
		}
		sum, kinds := decimal.Zero, map[string]int{}
		for _, l := range b.Lines {
			sum = sum.Add(decimal.RequireFromString(l.Amount))
			kinds[l.Kind]++
		}
		if !sum.Equal(want) {
			t.Errorf("bill lines add up to %s, want %s", sum, want)
		}
		if kinds["SUPPORT"] != 1 || kinds["CREDIT"] != 1 || kinds["ADJUSTMENT"] != 4 || kinds["USAGE"] == 0 {
			t.Errorf("bill line kinds %v", kinds)
		}
		if !strings.Contains(b.CSV, "TOTAL,,,,USD,"+want.String()+","+cost.String()) {
			t.Errorf("bill CSV lacks the total:\n%s", b.CSV)
		}

		costs := func(token, metric string) (string, []gqlError) {
			q := `query($org: ID) { costs(query: {from: "2024-09-01", to: "2024-10-01", dateBasis: BILLING_PERIOD, organizationId: $org` + metric + `}) { totals { amount } } }`
			var data struct {
				Costs struct{ Totals []struct{ Amount string } }
			}
			errs, _ := gql(t, url, token, q, map[string]any{"org": acme}, &data)
			if len(errs) > 0 || len(data.Costs.Totals) != 1 {
				return "", errs
			}
			return data.Costs.Totals[0].Amount, nil
		}
		for _, c := range []struct{ token, metric, want string }{
			{reseller, ", metric: RESALE_COST", want.String()},
			{reseller, ", metric: MARGIN", want.Sub(cost).String()},
			{reseller, "", cost.String()},
			{customer, "", want.String()},
			{customer, ", metric: RESALE_COST", want.String()},
		} {
			got, errs := costs(c.token, c.metric)
			if errs != nil || !decimal.RequireFromString(got).Equal(decimal.RequireFromString(c.want)) {
				t.Errorf("costs(%q): got %s %v, want %s", c.metric, got, errs, c.want)
			}
		}
		for _, m := range []string{"BILLED_COST", "EFFECTIVE_COST", "LIST_COST", "CONTRACTED_COST", "MARGIN"} {
			if _, errs := costs(customer, ", metric: "+m); len(errs) == 0 || errs[0].Extensions.Code != "forbidden" {
				t.Errorf("customer asking %s: got %+v, want forbidden", m, errs)
			}
		}

		// The customer sees its bill at resale, without cost.
		var own struct{ Bill gqlBill }
		graphqlData(t, url, customer, billQuery, map[string]any{"org": nil}, &own)
		if len(own.Bill.Totals) != 1 || own.Bill.Totals[0].Amount != b.Totals[0].Amount || own.Bill.Totals[0].Cost != nil ||
			own.Bill.Lines[0].Cost != nil || strings.Contains(own.Bill.CSV, cost.String()) {
			t.Errorf("customer's bill shows cost or differs: %+v", own.Bill.Totals)
		}
		var runs struct {
			IngestionRuns []struct{ Totals []struct{ Amount string } }
		}
		graphqlData(t, url, customer, `{ ingestionRuns { totals { amount } } }`, nil, &runs)
		if len(runs.IngestionRuns) == 0 || len(runs.IngestionRuns[0].Totals) != 0 {
			t.Errorf("customer sees run totals: %+v", runs)
		}
		if errs, _ := gql(t, url, customer, `mutation { createPricebook(name: "mine") { id } }`, nil, nil); len(errs) == 0 ||
			errs[0].Extensions.Code != "forbidden" {
			t.Errorf("customer created a pricebook: %+v", errs)
		}
		if errs, _ := gql(t, url, reseller, `mutation($org: ID!) { setPriceAdjustment(organizationId: $org, percent: "250") { adjustmentPercent } }`,
			map[string]any{"org": acme}, nil); len(errs) == 0 || errs[0].Extensions.Code != "invalid" {
			t.Errorf("an uplift of 250%%: got %+v, want invalid", errs)
		}
	})
}

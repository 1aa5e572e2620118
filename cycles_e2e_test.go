package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// writeMonths writes a FOCUS 1.2 export with one usage row per cost,
// keyed by month (YYYY-MM): copies of the sample's first row.
func writeMonths(t *testing.T, sample, path string, costs map[string][]string) {
	t.Helper()
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, _ := r.Read()
	base, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	_ = w.Write(head)
	for month, amounts := range costs {
		start, _ := time.Parse("2006-01", month)
		for i, c := range amounts {
			row := append([]string(nil), base...)
			row[col["BillingPeriodStart"]] = start.Format(time.RFC3339)
			row[col["BillingPeriodEnd"]] = start.AddDate(0, 1, 0).Format(time.RFC3339)
			row[col["ChargePeriodStart"]] = start.AddDate(0, 0, i).Format(time.RFC3339)
			row[col["ChargePeriodEnd"]] = start.AddDate(0, 0, i+1).Format(time.RFC3339)
			for _, name := range []string{"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingCurrencyEffectiveCost"} {
				row[col[name]] = c
			}
			_ = w.Write(row)
		}
	}
	w.Flush()
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

type cycleBill struct {
	Closed bool
	Lines  []struct {
		Kind, Amount  string
		RestatedMonth *string
		Cost          *string
	}
	Totals []struct{ Amount string }
}

func TestResellerClosesACustomerMonthThroughTheAPI(t *testing.T) {
	sample, err := filepath.Abs(filepath.Join("adapters", "sqlstore", "testdata", "focus-1.2-sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		mustCmds(t, dir, dbURL,
			[]string{"migrate"},
			[]string{"orgs", "create", "northwind", "--kind", "reseller"})
		reseller := userToken(t, dir, dbURL, "ops@northwind.example", "northwind")
		url := serve(t, dir, dbURL)

		var created struct {
			CreateCustomer struct {
				Organization struct{ ID, Slug string }
				Invitation   struct {
					Link string
					User struct{ Email, Role string }
				}
			}
		}
		graphqlData(t, url, reseller, `mutation { createCustomer(slug: "acme", name: "Acme", adminEmail: "ann@acme.example") {
			organization { id slug } invitation { link user { email role } } } }`, nil, &created)
		acme := created.CreateCustomer.Organization.ID
		if inv := created.CreateCustomer.Invitation; !strings.HasPrefix(inv.Link, "/invite/inv_") || inv.User.Role != "ADMIN" {
			t.Errorf("invitation: %+v", inv)
		}
		src := filepath.Join(dir, "acme.csv")
		writeMonths(t, sample, src, map[string][]string{"2024-09": {"100", "50"}, "2024-10": {"200"}})
		if out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", src, "--format", "focus"); code != 0 {
			t.Fatalf("ingest: %d %s", code, out)
		}
		var pb struct{ CreatePricebook struct{ ID string } }
		graphqlData(t, url, reseller, `mutation { createPricebook(name: "Ten") { id } }`, nil, &pb)
		vars := map[string]any{"org": acme, "pb": pb.CreatePricebook.ID}
		graphqlData(t, url, reseller, `mutation($pb: ID!) { putPricingRule(pricebookId: $pb, rule: {scope: ALL, type: MARKUP, percent: "10"}) { id } }`,
			vars, nil)
		graphqlData(t, url, reseller, `mutation($org: ID!, $pb: ID) { assignPricebook(organizationId: $org, pricebookId: $pb, effectiveMonth: "2024-01") { adjustmentPercent } }`,
			vars, nil)
		var closed struct {
			CloseBillingCycle struct{ State, Month, ClosedBy string }
		}
		graphqlData(t, url, reseller, `mutation($org: ID!) { closeBillingCycle(organizationId: $org, month: "2024-09") { state month closedBy } }`,
			vars, &closed)
		if c := closed.CloseBillingCycle; c.State != "CLOSED" || c.ClosedBy != "ops@northwind.example" {
			t.Errorf("closed cycle: %+v", c)
		}

		for name, q := range map[string]string{
			"rule":       `mutation($pb: ID!) { putPricingRule(pricebookId: $pb, rule: {scope: ALL, type: MARKUP, percent: "20"}) { id } }`,
			"assignment": `mutation($org: ID!) { assignPricebook(organizationId: $org, effectiveMonth: "2024-09") { adjustmentPercent } }`,
			"support":    `mutation($org: ID!) { setSupportPlan(plan: {organizationId: $org, percent: "3", effectiveMonth: "2024-09"}) { adjustmentPercent } }`,
			"discount":   `mutation($org: ID!) { setPriceAdjustment(organizationId: $org, percent: "-5", effectiveMonth: "2024-09") { adjustmentPercent } }`,
			"credit":     `mutation($org: ID!) { addCredit(credit: {organizationId: $org, month: "2024-09", amount: "5", currency: "USD", reason: "r"}) { adjustmentPercent } }`,
		} {
			errs, body := gql(t, url, reseller, q, vars, nil)
			if len(errs) != 1 || errs[0].Extensions.Code != "conflict" || !strings.HasPrefix(errs[0].Message, "September 2024 is closed for Acme") {
				t.Errorf("%s in the closed month: %s", name, body)
			}
		}

		// The provider restates September with 30 more.
		writeMonths(t, sample, src, map[string][]string{"2024-09": {"100", "50", "30"}, "2024-10": {"200"}})
		if out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", src, "--format", "focus"); code != 0 {
			t.Fatalf("ingest: %d %s", code, out)
		}
		bill := func(month string) cycleBill {
			var b struct{ Bill cycleBill }
			graphqlData(t, url, reseller, `query($org: ID!, $m: String!) { bill(organizationId: $org, month: $m) { closed
				lines { kind amount restatedMonth cost } totals { amount } } }`, map[string]any{"org": acme, "m": month}, &b)
			return b.Bill
		}
		sep, oct := bill("2024-09"), bill("2024-10")
		if !sep.Closed || len(sep.Totals) != 1 || sep.Totals[0].Amount != "165" {
			t.Errorf("closed September after the restatement: %+v, want 165", sep)
		}
		found := false
		for _, l := range oct.Lines {
			if l.Kind == "RESTATEMENT" && l.Amount == "33" && l.RestatedMonth != nil && *l.RestatedMonth == "2024-09" {
				found = true
			}
		}
		if !found || oct.Closed {
			t.Errorf("October: want an open bill with a 33 RESTATEMENT line for 2024-09, got %+v", oct)
		}
		sum := decimal.RequireFromString(sep.Totals[0].Amount).Add(decimal.RequireFromString(oct.Totals[0].Amount))
		if !sum.Equal(decimal.RequireFromString("418")) {
			t.Errorf("September + October: got %s, want (180 + 200) × 1.1 = 418", sum)
		}

		errs, _ := gql(t, url, reseller, `mutation($org: ID!) { reopenBillingCycle(organizationId: $org, month: "2024-09", reason: "") { state } }`, vars, nil)
		if len(errs) != 1 || errs[0].Extensions.Code != "invalid" {
			t.Errorf("reopen without a reason: %+v", errs)
		}
		graphqlData(t, url, reseller, `mutation($org: ID!) { reopenBillingCycle(organizationId: $org, month: "2024-09", reason: "restated storage") { state } }`, vars, nil)
		var events struct {
			BillingCycleEvents []struct {
				Action, Actor, Month string
				Reason               *string
			}
		}
		graphqlData(t, url, reseller, `query($org: ID!) { billingCycleEvents(organizationId: $org) { action actor month reason } }`, vars, &events)
		if e := events.BillingCycleEvents; len(e) != 2 || e[0].Action != "REOPEN" || e[0].Reason == nil || *e[0].Reason != "restated storage" ||
			e[0].Actor != "ops@northwind.example" {
			t.Errorf("audit trail: %+v", e)
		}
		if b := bill("2024-09"); b.Closed || b.Totals[0].Amount != "198" {
			t.Errorf("reopened September: %+v, want open at 198", b)
		}
		var cycles struct {
			BillingCycles []struct{ Month, State string }
		}
		graphqlData(t, url, reseller, `query($org: ID!) { billingCycles(organizationId: $org) { month state } }`, vars, &cycles)
		if len(cycles.BillingCycles) != 2 || cycles.BillingCycles[0].Month != "2024-10" {
			t.Errorf("cycles: %+v", cycles.BillingCycles)
		}
		var customers struct {
			Customers []struct {
				Organization         struct{ Slug string }
				Cost, Resale, Margin string
				Currency             *string
			}
		}
		graphqlData(t, url, reseller, `{ customers(month: "2024-10") { organization { slug } currency cost resale margin } }`, nil, &customers)
		if c := customers.Customers; len(c) != 1 || c[0].Cost != "200" || c[0].Resale != "220" || c[0].Margin != "20" {
			t.Errorf("customers of October: %+v", c)
		}
	})
}

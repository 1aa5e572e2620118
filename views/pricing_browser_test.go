package views_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/views/layout"
)

// sampleSplit sums the FOCUS sample's billed cost apart for tax and for
// everything else, independently of the store.
func sampleSplit(t *testing.T) (nonTax, tax decimal.Decimal) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "focus_sample.csv"))
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
	for _, r := range rows[1:] {
		v := decimal.RequireFromString(r[col["BilledCost"]])
		if r[col["ChargeCategory"]] == "Tax" {
			tax = tax.Add(v)
		} else {
			nonTax = nonTax.Add(v)
		}
	}
	return nonTax, tax
}

func TestBrowserResellerPricesACustomerWhoSeesNoCost(t *testing.T) {
	sc := newStoreConsole(t)
	ctx, consoleErrors := newBrowser(t)
	b := browserSteps{t: t, ctx: ctx, out: artifactsDir(t)}
	base := sc.srv.URL
	nonTax, tax := sampleSplit(t)
	d := decimal.RequireFromString
	marked := nonTax.Mul(d("1.1"))

	b.run("sign in as the reseller",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "admin@northwind.test", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, testPassword, chromedp.ByQuery),
		chromedp.Click(`[data-testid="login-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("daily-chart"), chromedp.ByQuery),
	)
	var metrics string
	b.run("read the metric picker", chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="metric-picker"] option')].map(o => o.value).join(',')`, &metrics))
	if !strings.Contains(metrics, "RESALE_COST") || !strings.Contains(metrics, "MARGIN") {
		t.Errorf("reseller's metric picker offers %q, want resale and margin too", metrics)
	}
	b.run("create a pricebook",
		chromedp.Click(`a.nav-link[href="/pricebooks"]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("pricebook-create"), chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="pricebook-create"] input[name=name]`, "Standard", chromedp.ByQuery),
		chromedp.Click(`[data-testid="pricebook-create"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("rule-form"), chromedp.ByQuery),
	)
	var preview, now string
	b.run("preview a 10% markup on last month's bill",
		chromedp.SendKeys(testID("rule-percent"), "10", chromedp.ByQuery),
		chromedp.Click(testID("rule-preview"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("preview-result"), chromedp.ByQuery),
		chromedp.AttributeValue(`[data-testid="preview"] [data-testid="bill-total-USD"]`, "data-amount", &preview, nil, chromedp.ByQuery),
		chromedp.Text(testID("preview-current"), &now, chromedp.ByQuery),
	)
	if want := marked.Add(tax); !d(preview).Equal(want) {
		t.Errorf("preview total %s, want %s", preview, want)
	}
	if !strings.Contains(now, sampleTotal) {
		t.Errorf("preview's current total %q, want the unpriced %s", now, sampleTotal)
	}
	b.screenshot("pricebook-preview.png")
	var rules int
	b.run("save the rule",
		chromedp.Click(testID("rule-save"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("rules-table"), chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="rule-row"]').length`, &rules),
	)
	if rules != 1 {
		t.Errorf("%d rules after saving, want 1", rules)
	}

	var assignments int
	b.run("assign it to Contoso with support and a credit",
		chromedp.Navigate(base+"/customers/"+sc.customer.ID+"/pricing"),
		chromedp.WaitVisible(testID("assign-form"), chromedp.ByQuery),
		chromedp.SetValue(testID("assign-month"), "2024-09", chromedp.ByQuery),
		chromedp.Click(`[data-testid="assign-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("assignment-row"), chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="assignment-row"]').length`, &assignments),
		chromedp.SendKeys(testID("support-percent"), "5", chromedp.ByQuery),
		chromedp.SendKeys(testID("support-minimum"), "100", chromedp.ByQuery),
		chromedp.Click(`[data-testid="support-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("support-row"), chromedp.ByQuery),
		chromedp.SetValue(`[data-testid="credit-form"] input[name=month]`, "2024-09", chromedp.ByQuery),
		chromedp.SendKeys(testID("credit-amount"), "50", chromedp.ByQuery),
		chromedp.SendKeys(testID("credit-reason"), "Welcome", chromedp.ByQuery),
		chromedp.Click(`[data-testid="credit-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("credit-row"), chromedp.ByQuery),
	)
	if assignments != 1 {
		t.Errorf("%d assignments, want 1", assignments)
	}
	b.screenshot("customer-pricing.png")
	fee := marked.Mul(d("0.05"))
	if fee.LessThan(d("100")) {
		fee = d("100")
	}
	want := marked.Add(tax).Add(fee).Sub(d("50"))
	var billTotal string
	b.run("open the bill",
		chromedp.Click(testID("customer-bills"), chromedp.ByQuery),
		chromedp.WaitVisible(testID("bill-table"), chromedp.ByQuery),
		chromedp.AttributeValue(testID("bill-total-USD"), "data-amount", &billTotal, nil, chromedp.ByQuery),
	)
	if !d(billTotal).Equal(want) {
		t.Errorf("bill total %s, want %s", billTotal, want)
	}
	b.screenshot("bill-reseller.png")

	b.run("sign out", chromedp.Click(testID("sign-out"), chromedp.ByQuery), chromedp.WaitVisible(testID("login-form"), chromedp.ByQuery))
	b.run("sign in as the customer",
		chromedp.SendKeys(`input[name=email]`, "finance@contoso.test", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, testPassword, chromedp.ByQuery),
		chromedp.Click(`[data-testid="login-form"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(testID("daily-chart"), chromedp.ByQuery),
	)
	costs := []string{sampleTotal, layout.FormatMoney(d(sampleTotal), "USD"), "93672.998281940000073", "111643.501602049999716"}
	pages := map[string]string{}
	var dashTotal string
	b.run("read the dashboard",
		chromedp.Evaluate(`[...document.querySelectorAll('[data-testid="metric-picker"] option')].map(o => o.value).join(',')`, &metrics),
		chromedp.AttributeValue(testID("total-USD"), "data-amount", &dashTotal, nil, chromedp.ByQuery),
	)
	if metrics != "RESALE_COST" {
		t.Errorf("customer's metric picker offers %q, want resale only", metrics)
	}
	if !d(dashTotal).Equal(want) {
		t.Errorf("customer's dashboard total %s, want the billed %s", dashTotal, want)
	}
	for _, path := range []string{"/", "/runs", "/bills?month=2024-09"} {
		var html string
		b.run("open "+path, chromedp.Navigate(base+path), chromedp.WaitReady("body", chromedp.ByQuery),
			chromedp.OuterHTML("html", &html, chromedp.ByQuery))
		pages[path] = html
		for _, c := range costs {
			if strings.Contains(html, c) {
				t.Errorf("%s shows the customer the cost %s", path, c)
			}
		}
	}
	if strings.Contains(pages["/runs"], "Billed total") {
		t.Error("the runs page shows the customer a billed total")
	}
	if !strings.Contains(pages["/bills?month=2024-09"], want.String()) || strings.Contains(pages["/bills?month=2024-09"], ">Margin<") {
		t.Error("the customer's bill lacks its total or shows the margin")
	}
	b.screenshot("bill-customer.png")
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the browser logged errors: %q", errs)
	}
}

func TestPricingPagesRefuseCustomersAndPostsWithoutCSRF(t *testing.T) {
	t.Parallel()
	sc := newStoreConsole(t)
	f := sc.client(t)
	c, _ := f.signIn("admin@northwind.test")
	resp := f.postForm(c, "/pricebooks", url.Values{"name": {"No token"}}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without CSRF token: %d, want 403", resp.StatusCode)
	}
	cc, _ := f.signIn("finance@contoso.test")
	for _, path := range []string{"/pricebooks", "/customers/" + sc.customer.ID + "/pricing"} {
		resp := f.get(cc, path, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("customer GET %s: %d, want 403", path, resp.StatusCode)
		}
	}
	resp = f.get(cc, "/bills.csv?month="+time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC).Format("2006-01"), nil)
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "month,kind,provider,service,description,currency,amount\n") ||
		strings.Contains(body, "margin") {
		t.Errorf("customer CSV: %d %q", resp.StatusCode, body)
	}
}

package views_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func TestDashboardShowsTotalsTablesAndChartForScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name       string
		user       string
		query      string
		wantTotals map[string]string // currency → exact amount
		wantOrgs   bool
		wantTitle  string
		wantScope  string
	}{
		{
			name: "reseller sees all customers", user: "admin@acme.test", query: "",
			wantTotals: map[string]string{
				"USD": f.total(september, "USD", "acme", "globex", "initech"),
				"EUR": f.total(september, "EUR", "acme", "globex", "initech"),
			},
			wantOrgs: true, wantTitle: "September 2024", wantScope: "All customers",
		},
		{
			name: "reseller picks one customer", user: "admin@acme.test", query: "?org=" + f.orgs["initech"].ID,
			wantTotals: map[string]string{"EUR": f.total(september, "EUR", "initech")},
			wantOrgs:   true, wantTitle: "September 2024", wantScope: "Initech",
		},
		{
			name: "customer sees its own costs", user: "ops@globex.test", query: "",
			wantTotals: map[string]string{"USD": f.total(september, "USD", "globex")},
			wantTitle:  "September 2024", wantScope: "Globex",
		},
		{
			name: "customer picks another month", user: "ops@globex.test", query: "?period=2024-08",
			wantTotals: map[string]string{"USD": "1"},
			wantTitle:  "August 2024", wantScope: "Globex",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := f.signIn(tt.user)
			doc := f.getDoc(c, "/"+tt.query, nil, http.StatusOK)

			if doc.Find(testID("filter-form")).Length() != 1 {
				t.Error("no filter form")
			}
			if got := doc.Find(testID("org-picker")).Length() == 1; got != tt.wantOrgs {
				t.Errorf("organization picker shown = %v, want %v", got, tt.wantOrgs)
			}
			if got := doc.Find(testID("report-title")).Text(); got != tt.wantTitle {
				t.Errorf("report title %q, want %q", got, tt.wantTitle)
			}
			if got := doc.Find(testID("report-subtitle")).Text(); !strings.HasPrefix(got, tt.wantScope+" ·") {
				t.Errorf("report subtitle %q, want scope %q", got, tt.wantScope)
			}
			totals := doc.Find(`[data-testid^="total-"]`)
			if totals.Length() != len(tt.wantTotals) {
				t.Errorf("%d total cards, want %d", totals.Length(), len(tt.wantTotals))
			}
			for ccy, want := range tt.wantTotals {
				if got, _ := doc.Find(testID("total-" + ccy)).Attr("data-amount"); got != want {
					t.Errorf("total %s = %q, want %q", ccy, got, want)
				}
			}
			if got := doc.Find(testID("daily-chart")).Length(); got != len(tt.wantTotals) {
				t.Errorf("%d charts, want one per currency (%d)", got, len(tt.wantTotals))
			}
			if doc.Find(testID("daily-chart")+" svg rect.bar").Length() == 0 {
				t.Error("chart has no bars")
			}
			if doc.Find(testID("provider-table")+" tbody tr").Length() == 0 {
				t.Error("provider table is empty")
			}
			if doc.Find(testID("service-table")+" tbody tr").Length() == 0 {
				t.Error("service table is empty")
			}
		})
	}
}

func TestDashboardListsTopTenServicesAndTheRestInOneRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("ops@globex.test")
	doc := f.getDoc(c, "/?period=2024-09", nil, http.StatusOK)
	rows := doc.Find(testID("service-table") + " tbody tr")
	// Globex has 15 services: ten listed, five summed.
	if rows.Length() != 11 {
		t.Fatalf("%d service rows, want 10 and a remainder", rows.Length())
	}
	if got := rows.Last().AttrOr("data-name", ""); got != "5 other services" {
		t.Errorf("last row %q, want %q", got, "5 other services")
	}
	if got := rows.First().AttrOr("data-name", ""); got != "Amazon Elastic Compute Cloud" {
		t.Errorf("largest service %q, want Amazon Elastic Compute Cloud", got)
	}
}

func TestDashboardProviderTableSumsToTotal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("ops@globex.test")
	doc := f.getDoc(c, "/", nil, http.StatusOK)
	got := map[string]string{}
	doc.Find(testID("provider-table") + " tbody tr").Each(func(_ int, s *goquery.Selection) {
		got[s.AttrOr("data-name", "")] = s.Find("td.num").AttrOr("data-amount", "")
	})
	want := map[string]string{"AWS": "2983", "Microsoft": "750.75", "Google": "81"}
	for name, amount := range want {
		if got[name] != amount {
			t.Errorf("provider %s = %q, want %q (all rows %v)", name, got[name], amount, got)
		}
	}
}

func TestDashboardMetricChangesAmounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("it@umbrella.test")
	tests := []struct{ metric, want, label string }{
		{"BILLED_COST", "999.99", "Billed cost"},
		{"EFFECTIVE_COST", "899.991", "Effective cost"},
		{"LIST_COST", "1199.988", "List cost"},
		{"CONTRACTED_COST", "0", "Contracted cost"},
	}
	for _, tt := range tests {
		doc := f.getDoc(c, "/?period=2024-09&metric="+tt.metric, nil, http.StatusOK)
		if got, _ := doc.Find(testID("total-USD")).Attr("data-amount"); got != tt.want {
			t.Errorf("%s: total %q, want %q", tt.metric, got, tt.want)
		}
		if got := doc.Find(testID("report-subtitle")).Text(); !strings.HasSuffix(got, tt.label) {
			t.Errorf("%s: subtitle %q, want it to name %q", tt.metric, got, tt.label)
		}
		if got := doc.Find(testID("metric-picker")+" option[selected]").AttrOr("value", ""); got != tt.metric {
			t.Errorf("%s: selected metric %q", tt.metric, got)
		}
	}
}

func TestDashboardReturnsFragmentToHTMX(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("admin@acme.test")
	resp := f.get(c, "/?period=2024-09&metric=LIST_COST", http.Header{"Hx-Request": {"true"}})
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
		t.Errorf("Vary = %q, want HX-Request in it", resp.Header.Get("Vary"))
	}
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	html, _ := doc.Html()
	if strings.Contains(html, "<header") || doc.Find(testID("filter-form")).Length() != 0 {
		t.Error("fragment holds the page chrome or the filter form")
	}
	if doc.Find(testID("report-title")).Length() != 1 || doc.Find(testID("daily-chart")).Length() == 0 {
		t.Error("fragment lacks the report")
	}

	// A history restore asks for the whole page.
	full := f.getDoc(c, "/?period=2024-09", http.Header{"Hx-Request": {"true"}, "Hx-History-Restore-Request": {"true"}}, http.StatusOK)
	if full.Find(testID("filter-form")).Length() != 1 {
		t.Error("history restore did not get the whole page")
	}
}

func TestDashboardHidesOtherTenants(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, user, org string
	}{
		{"customer asks for another customer", "ops@globex.test", f.orgs["umbrella"].ID},
		{"customer asks for a sibling customer", "ops@globex.test", f.orgs["initech"].ID},
		{"customer asks for its reseller", "ops@globex.test", f.orgs["acme"].ID},
		{"reseller asks for a customer not its own", "admin@acme.test", f.orgs["umbrella"].ID},
		{"unknown organization", "it@umbrella.test", "0192f0aa-0000-7000-8000-000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := f.signIn(tt.user)
			for _, path := range []string{"/?org=" + tt.org, "/runs?org=" + tt.org} {
				resp := f.get(c, path, nil)
				body := readAll(t, resp)
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
				}
				if strings.Contains(body, "999.99") || strings.Contains(body, "Umbrella") && tt.user != "it@umbrella.test" {
					t.Errorf("GET %s leaks another tenant's data", path)
				}
			}
		})
	}
}

func TestDashboardRejectsBadFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("ops@globex.test")
	tests := []struct{ query, wantMessage string }{
		{"?period=September", `period "September" must be a month written YYYY-MM`},
		{"?period=2024-13", "must be a month"},
		{"?metric=PROFIT", `unknown metric "PROFIT"`},
	}
	for _, tt := range tests {
		doc := f.getDoc(c, "/"+tt.query, nil, http.StatusBadRequest)
		if got := doc.Find(testID("error-message")).Text(); !strings.Contains(got, tt.wantMessage) {
			t.Errorf("%s: message %q, want it to contain %q", tt.query, got, tt.wantMessage)
		}
		// htmx gets the message as a fragment for the report region.
		resp := f.get(c, "/"+tt.query, http.Header{"Hx-Request": {"true"}})
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<html") || !strings.Contains(body, "alert") {
			t.Errorf("%s via htmx: status %d, body %q, want a 400 alert fragment", tt.query, resp.StatusCode, body)
		}
	}
}

func TestDashboardShowsEmptyMonth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("ops@globex.test")
	doc := f.getDoc(c, "/?period=2023-01", nil, http.StatusOK)
	if doc.Find(testID("empty-report")).Length() != 1 {
		t.Error("no empty state for a month without costs")
	}
	if doc.Find(testID("daily-chart")).Length() != 0 {
		t.Error("chart drawn for a month without costs")
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

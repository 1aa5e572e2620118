package graph_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/tenancy"
)

// These tests run the API over a real store (SQLite, and Postgres when
// TRUECOST_TEST_POSTGRES_URL is set) fed through the real ingestion path,
// and talk to it with real HTTP requests.

func TestCostsByProviderReconcileWithSourceCSV(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newWorld(t, store)
		published := map[string]decimal.Decimal{
			"AWS":       decimal.RequireFromString("93672.998281940000073"),
			"Microsoft": decimal.RequireFromString("111643.501602049999716"),
			"Google":    decimal.RequireFromString("93468.59701118999982"),
			"Oracle":    decimal.RequireFromString("110509.47396102000021"),
		}
		equalAmounts(t, "CSV sums against the published figures", w.want["USD"], published)

		rep, resp, raw := w.costs(t, w.acmeToken, map[string]any{"groupBy": []string{"PROVIDER"}})
		if len(resp.Errors) > 0 {
			t.Fatalf("errors: %s", raw)
		}
		got := make(map[string]map[string]decimal.Decimal)
		for _, g := range rep.Costs.Groups {
			if len(g.Keys) != 1 || g.Keys[0].Dimension != "PROVIDER" || g.Keys[0].Value == nil {
				t.Fatalf("group keys = %+v, want one PROVIDER value", g.Keys)
			}
			if len(g.Points) != 0 {
				t.Errorf("TOTAL granularity returned %d points", len(g.Points))
			}
			cur, prov := g.Total.Currency, *g.Keys[0].Value
			if got[cur] == nil {
				got[cur] = make(map[string]decimal.Decimal)
			}
			if _, dup := got[cur][prov]; dup {
				t.Errorf("group %s/%s appears twice", cur, prov)
			}
			got[cur][prov] = dec(t, g.Total.Amount)
		}
		if len(got) != len(w.want) {
			t.Errorf("currencies = %v, want %v", got, w.want)
		}
		for cur := range w.want {
			equalAmounts(t, "BilledCost "+cur, got[cur], w.want[cur])
		}
		equalAmounts(t, "totals", totals(t, rep), map[string]decimal.Decimal{
			"USD": sum(w.want["USD"]), "EUR": sum(w.want["EUR"]),
		})
		if !sum(w.want["USD"]).Equal(decimal.RequireFromString("409294.570856199999819")) {
			t.Errorf("USD total from CSV = %v, want the published 409294.570856199999819", sum(w.want["USD"]))
		}
	})
}

func TestCostsSplitGroupsByCurrency(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newWorld(t, store)
		rep, resp, raw := w.costs(t, w.acmeToken, nil)
		if len(resp.Errors) > 0 {
			t.Fatalf("errors: %s", raw)
		}
		byCurrency := make(map[string]decimal.Decimal)
		for _, g := range rep.Costs.Groups {
			if len(g.Keys) != 0 {
				t.Errorf("ungrouped report has keys %+v", g.Keys)
			}
			if _, dup := byCurrency[g.Total.Currency]; dup {
				t.Errorf("two groups in %s", g.Total.Currency)
			}
			byCurrency[g.Total.Currency] = dec(t, g.Total.Amount)
		}
		equalAmounts(t, "groups", byCurrency, map[string]decimal.Decimal{"USD": sum(w.want["USD"]), "EUR": sum(w.want["EUR"])})
		equalAmounts(t, "totals", totals(t, rep), byCurrency)

		rep, _, _ = w.costs(t, w.acmeToken, map[string]any{"groupBy": []string{"CURRENCY"}, "filter": map[string]any{"currencies": []string{"EUR"}}})
		if len(rep.Costs.Groups) != 1 || *rep.Costs.Groups[0].Keys[0].Value != "EUR" || rep.Costs.Groups[0].Total.Currency != "EUR" {
			t.Errorf("EUR filter groups = %+v", rep.Costs.Groups)
		}
	})
}

func TestCostsDailyPointsSumToGroupTotal(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newWorld(t, store)
		rep, resp, raw := w.costs(t, w.acmeToken, map[string]any{"groupBy": []string{"PROVIDER"}, "granularity": "DAILY"})
		if len(resp.Errors) > 0 {
			t.Fatalf("errors: %s", raw)
		}
		if len(rep.Costs.Groups) != 8 {
			t.Errorf("got %d groups, want 4 providers in 2 currencies", len(rep.Costs.Groups))
		}
		for _, g := range rep.Costs.Groups {
			name := *g.Keys[0].Value + "/" + g.Total.Currency
			if len(g.Points) == 0 {
				t.Errorf("%s: no daily points", name)
			}
			var s decimal.Decimal
			prev := ""
			for _, p := range g.Points {
				if p.Date < "2024-09-01" || p.Date >= "2024-10-01" || p.Date <= prev {
					t.Errorf("%s: point date %s out of range or order (after %s)", name, p.Date, prev)
				}
				prev = p.Date
				s = s.Add(dec(t, p.Amount))
			}
			if total := dec(t, g.Total.Amount); !s.Equal(total) {
				t.Errorf("%s: daily points sum to %v, total is %v", name, s, total)
			}
		}
	})
}

func TestCostsStayWithinTheCallersOrganizations(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newWorld(t, store)
		acmeTotals := map[string]decimal.Decimal{"USD": sum(w.want["USD"]), "EUR": sum(w.want["EUR"])}
		tests := []struct {
			name     string
			token    string
			orgID    string
			wantCode string
			want     map[string]decimal.Decimal // totals; nil with wantCode
		}{
			{name: "customer reads its own costs", token: w.acmeToken, want: acmeTotals},
			{name: "customer names itself", token: w.acmeToken, orgID: w.acme.ID, want: acmeTotals},
			{name: "customer cannot read another organization", token: w.acmeToken, orgID: w.globex.ID, wantCode: "not_found"},
			{name: "customer cannot read its reseller", token: w.acmeToken, orgID: w.north.ID, wantCode: "not_found"},
			{name: "unknown organization is not found", token: w.acmeToken, orgID: "no-such-org", wantCode: "not_found"},
			{name: "other customer cannot read acme", token: w.globexToken, orgID: w.acme.ID, wantCode: "not_found"},
			{name: "other customer sees only its own costs", token: w.globexToken, want: map[string]decimal.Decimal{"GBP": gbpTotal(t)}},
			{name: "reseller sees a customer's costs", token: w.northToken, orgID: w.acme.ID, want: acmeTotals},
			{name: "reseller sees all its customers together", token: w.northToken, want: acmeTotals},
			{name: "reseller cannot read a direct customer", token: w.northToken, orgID: w.globex.ID, wantCode: "not_found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				extra := map[string]any{"groupBy": []string{"PROVIDER"}}
				if tt.orgID != "" {
					extra["organizationId"] = tt.orgID
				}
				rep, resp, raw := w.costs(t, tt.token, extra)
				if tt.wantCode != "" {
					if got := resp.codes(); !reflect.DeepEqual(got, []string{tt.wantCode}) {
						t.Errorf("codes = %v, want [%s]; body %s", got, tt.wantCode, raw)
					}
					if string(resp.Data) != "null" {
						t.Errorf("data = %s, want null", resp.Data)
					}
					for _, leak := range []string{"amount", "GBP", "USD", "EUR"} {
						if strings.Contains(raw, leak) {
							t.Errorf("refused answer mentions %q: %s", leak, raw)
						}
					}
					return
				}
				if len(resp.Errors) > 0 {
					t.Fatalf("errors: %s", raw)
				}
				equalAmounts(t, "totals", totals(t, rep), tt.want)
			})
		}
	})
}

func TestAPIRefusesMissingOrInvalidCredentials(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newWorld(t, store)
		session := func(csrf string) func(*http.Request) {
			return func(r *http.Request) {
				r.AddCookie(&http.Cookie{Name: tenancy.SessionCookie, Value: w.acmeSession})
				if csrf != "" {
					r.Header.Set(tenancy.CSRFHeader, csrf)
				}
			}
		}
		tests := []struct {
			name       string
			auth       func(*http.Request)
			wantStatus int
		}{
			{"no token", nil, http.StatusUnauthorized},
			{"invalid token", bearer("tc_not-a-real-token"), http.StatusUnauthorized},
			{"session cookie without CSRF header", session(""), http.StatusUnauthorized},
			{"session cookie with another CSRF value", session(strings.Repeat("x", len(w.acmeCSRF))), http.StatusUnauthorized},
			{"session cookie with its CSRF header", session(w.acmeCSRF), http.StatusOK},
			{"valid token", bearer(w.acmeToken), http.StatusOK},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, resp, raw := post(t, w.url, `{ viewer { user { email } organization { slug } } }`, nil, tt.auth)
				if status != tt.wantStatus {
					t.Fatalf("status = %d, want %d; body %s", status, tt.wantStatus, raw)
				}
				if status == http.StatusUnauthorized {
					if got := resp.codes(); !reflect.DeepEqual(got, []string{"unauthorized"}) {
						t.Errorf("codes = %v, want [unauthorized]", got)
					}
					return
				}
				if !strings.Contains(string(resp.Data), `"slug":"acme"`) {
					t.Errorf("viewer = %s, want acme", resp.Data)
				}
			})
		}
	})
}

func TestOrganizationsRunsAndConnectorsAreScoped(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newWorld(t, store)
		q := `query($org: ID) {
  organizations { slug kind resellerId }
  ingestionRuns(organizationId: $org) { organizationId status rows periods totals { amount currency } durationSeconds }
  connectors(organizationId: $org) { organizationId provider status format }
}`
		type answer struct {
			Organizations []struct {
				Slug       string  `json:"slug"`
				Kind       string  `json:"kind"`
				ResellerID *string `json:"resellerId"`
			} `json:"organizations"`
			IngestionRuns []struct {
				OrganizationID  string   `json:"organizationId"`
				Status          string   `json:"status"`
				Rows            int      `json:"rows"`
				Periods         []string `json:"periods"`
				Totals          []money  `json:"totals"`
				DurationSeconds *float64 `json:"durationSeconds"`
			} `json:"ingestionRuns"`
			Connectors []struct {
				OrganizationID string `json:"organizationId"`
				Provider       string `json:"provider"`
				Status         string `json:"status"`
				Format         string `json:"format"`
			} `json:"connectors"`
		}
		ask := func(t *testing.T, token string, org *string) (answer, gqlResponse) {
			t.Helper()
			_, resp, raw := post(t, w.url, q, map[string]any{"org": org}, bearer(token))
			var a answer
			if len(resp.Errors) == 0 {
				if err := json.Unmarshal(resp.Data, &a); err != nil {
					t.Fatalf("decode: %v: %s", err, raw)
				}
			}
			return a, resp
		}

		a, resp := ask(t, w.northToken, nil)
		if len(resp.Errors) > 0 {
			t.Fatalf("errors: %+v", resp.Errors)
		}
		var slugs []string
		for _, o := range a.Organizations {
			slugs = append(slugs, o.Slug+":"+o.Kind)
		}
		sort.Strings(slugs)
		if want := []string{"acme:CUSTOMER", "north:RESELLER"}; !reflect.DeepEqual(slugs, want) {
			t.Errorf("reseller's organizations = %v, want %v", slugs, want)
		}
		if len(a.IngestionRuns) != 2 || len(a.Connectors) != 2 {
			t.Fatalf("reseller sees %d runs and %d connectors, want acme's 2 and 2", len(a.IngestionRuns), len(a.Connectors))
		}
		var rows int
		for _, r := range a.IngestionRuns {
			if r.OrganizationID != w.acme.ID || r.Status != "SUCCEEDED" || !reflect.DeepEqual(r.Periods, []string{"2024-09-01"}) || r.DurationSeconds == nil {
				t.Errorf("run = %+v", r)
			}
			rows += r.Rows
		}
		if rows != 1050 {
			t.Errorf("runs loaded %d rows, want 1,050", rows)
		}
		for _, c := range a.Connectors {
			if c.OrganizationID != w.acme.ID || c.Provider != "LOCAL" || c.Format != "focus" {
				t.Errorf("connector = %+v", c)
			}
		}

		a, resp = ask(t, w.globexToken, nil)
		if len(resp.Errors) > 0 || len(a.Organizations) != 1 || len(a.IngestionRuns) != 1 || len(a.Connectors) != 1 ||
			a.IngestionRuns[0].OrganizationID != w.globex.ID || a.IngestionRuns[0].Totals[0].Currency != "GBP" {
			t.Errorf("globex sees %+v (errors %+v)", a, resp.Errors)
		}

		acme := w.acme.ID
		_, resp = ask(t, w.globexToken, &acme)
		if codes := resp.codes(); len(codes) == 0 || codes[0] != "not_found" || string(resp.Data) != "null" {
			t.Errorf("globex reading acme's runs: codes %v, data %s", codes, resp.Data)
		}
	})
}

func TestCostsLimitKeepsTheLargestGroups(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newWorld(t, store)
		all, resp, raw := w.costs(t, w.acmeToken, map[string]any{"groupBy": []string{"SERVICE_NAME"}})
		if len(resp.Errors) > 0 || len(all.Costs.Groups) < 3 {
			t.Fatalf("%d groups, errors: %s", len(all.Costs.Groups), raw)
		}
		top, resp, raw := w.costs(t, w.acmeToken, map[string]any{"groupBy": []string{"SERVICE_NAME"}, "limit": 2})
		if len(resp.Errors) > 0 {
			t.Fatalf("errors: %s", raw)
		}
		if len(top.Costs.Groups) != 2 {
			t.Fatalf("%d groups, want 2", len(top.Costs.Groups))
		}
		others := totals(t, all)
		for i, g := range top.Costs.Groups {
			if *g.Keys[0].Value != *all.Costs.Groups[i].Keys[0].Value || g.Total != all.Costs.Groups[i].Total {
				t.Errorf("group %d = %+v, want %+v", i, g, all.Costs.Groups[i])
			}
			others[g.Total.Currency] = others[g.Total.Currency].Sub(dec(t, g.Total.Amount))
		}
		equalAmounts(t, "totals", totals(t, top), totals(t, all))
		got := map[string]decimal.Decimal{}
		for _, m := range top.Costs.Others {
			got[m.Currency] = dec(t, m.Amount)
		}
		for c, a := range others {
			if a.IsZero() {
				delete(others, c)
			}
		}
		equalAmounts(t, "others", got, others)
		if len(all.Costs.Others) != 0 {
			t.Errorf("others without a limit: %+v", all.Costs.Others)
		}

		for _, limit := range []int{-1, 10_001} {
			_, resp, _ = w.costs(t, w.acmeToken, map[string]any{"limit": limit})
			if got := resp.codes(); len(got) != 1 || got[0] != "invalid" {
				t.Errorf("limit %d: codes %v, want [invalid]", limit, got)
			}
		}
	})
}

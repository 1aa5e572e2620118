package graph_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

const costsQuery = `query($q: CostQuery!) {
  costs(query: $q) {
    totals { amount currency }
    groups { keys { dimension value label } total { amount currency } points { date amount } }
    others { amount currency }
  }
}`

func TestErrorsCarryDomainCodesAndHideInternals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		vars        map[string]any
		reporterErr error
		panic       bool
		wantCode    string
		wantMessage string
	}{
		{
			name:        "domain error keeps its message",
			vars:        map[string]any{"q": map[string]any{"from": "2024-09-01", "to": "2024-08-01"}},
			reporterErr: domain.Errorf(domain.Invalid, "to (2024-08-01) must be after from (2024-09-01)"),
			wantCode:    "invalid",
			wantMessage: "to (2024-08-01) must be after from (2024-09-01)",
		},
		{
			name:        "organization outside the caller's scope is not found",
			vars:        map[string]any{"q": map[string]any{"from": "2024-09-01", "to": "2024-10-01", "organizationId": "org-2"}},
			wantCode:    "not_found",
			wantMessage: `organization "org-2" not found`,
		},
		{
			name:        "unexpected error is hidden",
			vars:        map[string]any{"q": map[string]any{"from": "2024-09-01", "to": "2024-10-01"}},
			reporterErr: errors.New("dial tcp 10.0.0.5:5432: password=hunter2"),
			wantCode:    "internal",
			wantMessage: "internal error",
		},
		{
			name:        "wrapped internal domain error is hidden",
			vars:        map[string]any{"q": map[string]any{"from": "2024-09-01", "to": "2024-10-01"}},
			reporterErr: domain.WrapError(domain.Internal, errors.New("secret detail"), "scan rollups secret detail"),
			wantCode:    "internal",
			wantMessage: "internal error",
		},
		{
			name:        "panic is recovered and hidden",
			vars:        map[string]any{"q": map[string]any{"from": "2024-09-01", "to": "2024-10-01"}},
			panic:       true,
			wantCode:    "internal",
			wantMessage: "internal error",
		},
		{
			name:        "malformed date is invalid input",
			vars:        map[string]any{"q": map[string]any{"from": "2024-9-1", "to": "2024-10-01"}},
			wantCode:    "invalid",
			wantMessage: `"2024-9-1" is not a date written YYYY-MM-DD`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			api.reporter.err, api.reporter.panic = tt.reporterErr, tt.panic
			_, resp, raw := post(t, api.server.URL, costsQuery, tt.vars, bearer(fakeToken))
			if len(resp.Errors) != 1 {
				t.Fatalf("want one error, got %s", raw)
			}
			e := resp.Errors[0]
			if got := resp.codes()[0]; got != tt.wantCode || e.Message != tt.wantMessage {
				t.Errorf("error = %q (%s), want %q (%s)", e.Message, got, tt.wantMessage, tt.wantCode)
			}
			for _, secret := range []string{"hunter2", "secret", "boom"} {
				if strings.Contains(raw, secret) {
					t.Errorf("response leaks %q: %s", secret, raw)
				}
			}
		})
	}
}

func TestCostsQueryMapsToDomainQuery(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	tests := []struct {
		name string
		q    map[string]any
		want billing.CostQuery
	}{
		{
			name: "defaults",
			q:    map[string]any{"from": "2024-09-01", "to": "2024-10-01"},
			// No metric is left to the domain, which knows the caller.
			want: billing.CostQuery{
				From: day("2024-09-01"), To: day("2024-10-01"),
				DateBasis: billing.ChargePeriod, Metric: "", Granularity: billing.Total,
			},
		},
		{
			name: "every option",
			q: map[string]any{
				"from": "2024-09-01", "to": "2024-09-15", "dateBasis": "BILLING_PERIOD", "metric": "RESALE_COST",
				"groupBy": []string{"PROVIDER", "CHARGE_CLASS", "CURRENCY"}, "tagKeys": []string{"env"},
				"granularity": "DAILY", "organizationId": "org-1",
				"filter": map[string]any{
					"providers": []string{"AWS"}, "serviceNames": []string{"S3"}, "serviceCategories": []string{"Storage"},
					"regions": []string{"eu-west-1"}, "billingAccounts": []string{"123"}, "subAccounts": []string{"456"},
					"chargeCategories": []string{"Usage"}, "chargeClasses": []string{""}, "billingPeriods": []string{"2024-09"},
					"currencies": []string{"USD"}, "tags": []map[string]any{{"key": "env", "values": []string{"prod"}}},
				},
			},
			want: billing.CostQuery{
				OrgID: "org-1", From: day("2024-09-01"), To: day("2024-09-15"),
				DateBasis: billing.BillingPeriod, Metric: billing.ResaleCost, Granularity: billing.Daily,
				GroupBy: []billing.Dimension{billing.DimProvider, billing.DimChargeClass, billing.DimCurrency},
				TagKeys: []string{"env"},
				Filter: billing.CostFilter{
					Values: map[billing.Dimension][]string{
						billing.DimProvider: {"AWS"}, billing.DimServiceName: {"S3"}, billing.DimServiceCategory: {"Storage"},
						billing.DimRegion: {"eu-west-1"}, billing.DimBillingAccount: {"123"}, billing.DimSubAccount: {"456"},
						billing.DimChargeCategory: {"Usage"}, billing.DimChargeClass: {""}, billing.DimBillingPeriod: {"2024-09"},
						billing.DimCurrency: {"USD"},
					},
					Tags: []billing.TagFilter{{Key: "env", Values: []string{"prod"}}},
				},
			},
		},
		{
			name: "empty filter lists do not filter",
			q: map[string]any{"from": "2024-09-01", "to": "2024-10-01", "filter": map[string]any{
				"providers": []string{}, "tags": []map[string]any{{"key": "env", "values": []string{}}},
			}},
			want: billing.CostQuery{
				From: day("2024-09-01"), To: day("2024-10-01"),
				DateBasis: billing.ChargePeriod, Metric: "", Granularity: billing.Total,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			if _, _, raw := post(t, api.server.URL, costsQuery, map[string]any{"q": tt.q}, bearer(fakeToken)); strings.Contains(raw, `"errors"`) {
				t.Fatalf("unexpected errors: %s", raw)
			}
			if !reflect.DeepEqual(api.reporter.got, tt.want) {
				t.Errorf("domain query\n got %+v\nwant %+v", api.reporter.got, tt.want)
			}
			if got := api.reporter.gotCaller; got.User != fakeUser || got.Org != fakeOrg {
				t.Errorf("reporter asked for %+v, want the token's user and organization", got)
			}
		})
	}
}

func TestCostsSerialisesDecimalsExactlyAsStrings(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	exact := decimal.RequireFromString("0.1000000000000000055511151231257827")
	region, label := "eu-west-1", "Europe (Ireland)"
	api.reporter.report = billing.CostReport{
		Totals: []billing.Money{{Amount: exact, Currency: "EUR"}},
		Groups: []billing.CostGroup{{
			Keys: []billing.DimensionValue{
				{Dimension: billing.DimRegion, Value: &region, Label: label},
				{Dimension: billing.TagDimension("env")},
			},
			Currency: "EUR",
			Total:    exact,
			Points:   []billing.CostPoint{{Date: time.Date(2024, 9, 3, 0, 0, 0, 0, time.UTC), Amount: exact}},
		}},
	}
	_, resp, raw := post(t, api.server.URL, costsQuery, map[string]any{"q": map[string]any{"from": "2024-09-01", "to": "2024-10-01"}}, bearer(fakeToken))
	want := `{"costs":{"totals":[{"amount":"0.1000000000000000055511151231257827","currency":"EUR"}],` +
		`"groups":[{"keys":[{"dimension":"REGION","value":"eu-west-1","label":"Europe (Ireland)"},{"dimension":"tag:env","value":null,"label":null}],` +
		`"total":{"amount":"0.1000000000000000055511151231257827","currency":"EUR"},` +
		`"points":[{"date":"2024-09-03","amount":"0.1000000000000000055511151231257827"}]}],"others":[]}}`
	if string(resp.Data) != want {
		t.Errorf("data = %s\nwant   %s\nbody %s", resp.Data, want, raw)
	}
}

func TestIngestionRunsConvertsRunsAndChecksLimit(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	start := time.Date(2026, 10, 2, 3, 4, 5, 0, time.UTC)
	api.runs.runs = []billing.IngestionRun{
		{
			ID: "run-2", OrgID: "org-1", ConnectorID: "c-1", Status: billing.RunFailed, Format: "focus",
			SourceVersion: "v2", Files: []string{"a.csv"}, Error: "a.csv: line 3, column BilledCost: not a number",
			StartedAt: start, FinishedAt: start.Add(1500 * time.Millisecond),
		},
		{
			ID: "run-1", OrgID: "org-1", ConnectorID: "c-1", Status: billing.RunRunning, Format: "focus",
			SourceVersion: "v1", Files: []string{"a.csv"}, Rows: 12,
			Periods:   []time.Time{time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)},
			Totals:    []billing.Money{{Amount: decimal.RequireFromString("1.50"), Currency: "USD"}},
			StartedAt: start,
		},
	}
	q := `query($limit: Int) { ingestionRuns(limit: $limit) { id organizationId connectorId status format sourceVersion files rows periods totals { amount currency } error startedAt finishedAt durationSeconds } }`
	_, resp, raw := post(t, api.server.URL, q, nil, bearer(fakeToken))
	want := `{"ingestionRuns":[` +
		`{"id":"run-2","organizationId":"org-1","connectorId":"c-1","status":"FAILED","format":"focus","sourceVersion":"v2","files":["a.csv"],"rows":0,"periods":[],"totals":[],"error":"a.csv: line 3, column BilledCost: not a number","startedAt":"2026-10-02T03:04:05Z","finishedAt":"2026-10-02T03:04:06.5Z","durationSeconds":1.5},` +
		`{"id":"run-1","organizationId":"org-1","connectorId":"c-1","status":"RUNNING","format":"focus","sourceVersion":"v1","files":["a.csv"],"rows":12,"periods":["2026-09-01"],"totals":[{"amount":"1.5","currency":"USD"}],"error":null,"startedAt":"2026-10-02T03:04:05Z","finishedAt":null,"durationSeconds":null}]}`
	if string(resp.Data) != want {
		t.Errorf("data = %s\nwant   %s\nbody %s", resp.Data, want, raw)
	}
	if api.runs.gotLimit != 50 {
		t.Errorf("default limit = %d, want 50", api.runs.gotLimit)
	}
	if !reflect.DeepEqual(api.runs.gotOrgIDs, []string{"org-1"}) {
		t.Errorf("runs listed for %v, want the caller's organization [org-1]", api.runs.gotOrgIDs)
	}
	_, resp, raw = post(t, api.server.URL, `query($org: ID) { ingestionRuns(organizationId: $org) { id } }`, map[string]any{"org": "org-2"}, bearer(fakeToken))
	if got := resp.codes(); !reflect.DeepEqual(got, []string{"not_found"}) {
		t.Errorf("another organization's runs: codes %v, want [not_found]; body %s", got, raw)
	}
	for _, limit := range []int{0, -1, 501} {
		_, resp, raw := post(t, api.server.URL, q, map[string]any{"limit": limit}, bearer(fakeToken))
		if got := resp.codes(); !reflect.DeepEqual(got, []string{"invalid"}) {
			t.Errorf("limit %d: codes %v, want [invalid]; body %s", limit, got, raw)
		}
	}
}

package graph_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/tenancy"
)

// These tests drive billing connectors through the API with the real
// connector service over a real store; see connectorWorld.

func TestCreateConnectorRefusesInvalidSettingsNamingTheField(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		with := func(change func(in map[string]any)) map[string]any {
			in := awsInput("Acme AWS")
			change(in)
			return in
		}
		config := func(in map[string]any) map[string]any { return in["config"].(map[string]any) }
		tests := []struct {
			name        string
			input       map[string]any
			wantMessage string
		}{
			{"short AWS account ID", with(func(in map[string]any) { config(in)["awsAccountId"] = "12345" }), "AWS account ID: must be 12 digits"},
			{"bucket name with capitals", with(func(in map[string]any) { config(in)["bucket"] = "Acme_Billing" }), "S3 bucket:"},
			{"unknown file type", with(func(in map[string]any) { config(in)["fileType"] = "parquet" }), "file type:"},
			{"no role and no keys", with(func(in map[string]any) { delete(in, "secret") }), "access: give the role ARN"},
			{"access key without its secret", with(func(in map[string]any) { in["secret"] = map[string]any{"accessKeyId": accessKeyID} }), "access keys:"},
			{"malformed role ARN", with(func(in map[string]any) { in["secret"] = map[string]any{"roleArn": "arn:aws:iam::1:user/bob"} }), "role ARN:"},
			{"blank name", with(func(in map[string]any) { in["name"] = "  " }), "connector name:"},
			{"local provider", with(func(in map[string]any) { in["provider"] = "LOCAL" }), "provider must be one of"},
			{"Azure without storage account", map[string]any{"provider": "AZURE", "name": "Acme Azure",
				"config": map[string]any{"azureCloud": "China", "container": "exports"},
				"secret": map[string]any{"connectionString": "DefaultEndpointsProtocol=https;AccountName=x"}}, "storage account:"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := w.do(t, w.acmeAdmin, createConnector, map[string]any{"in": tt.input}, nil)
				if msg := refused(t, resp, "invalid"); !strings.Contains(msg, tt.wantMessage) {
					t.Errorf("message = %q, want it to contain %q", msg, tt.wantMessage)
				}
			})
		}
		var list struct {
			Connectors []apiConnector `json:"connectors"`
		}
		w.must(t, w.acmeAdmin, listConnectors, nil, &list)
		if len(list.Connectors) != 0 {
			t.Errorf("refused inputs left connectors: %+v", list.Connectors)
		}
	})
}

func TestCreateConnectorAnswersSettingsButNeverTheSecret(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		c := w.create(t, w.acmeAdmin, "", "Acme AWS")

		if c.OrganizationID != w.acme.ID || c.Provider != "AWS" || c.Name != "Acme AWS" || !c.Enabled || c.Status != "NEW" {
			t.Errorf("connector = %+v", c)
		}
		if !c.HasSecret {
			t.Error("hasSecret = false after giving a role ARN")
		}
		if c.Location != "s3://acme-billing/exports/focus" || c.Format != "aws-cur2" {
			t.Errorf("location %q format %q, want s3://acme-billing/exports/focus and aws-cur2", c.Location, c.Format)
		}
		if c.LastSyncAt != nil || c.LastError != nil || c.LastPeriod != nil || c.LastRows != 0 {
			t.Errorf("a new connector shows a sync: %+v", c)
		}
		wantConfig := map[string]string{"awsAccountId": "123456789012", "bucket": "acme-billing", "path": "exports/focus", "fileType": "cur2", "region": "us-east-1"}
		for k, v := range c.Config {
			if want, ok := wantConfig[k]; ok != (v != nil) || (ok && *v != want) {
				t.Errorf("config.%s = %v, want %q", k, deref(v), want)
			}
		}
		if c.AWSExternalID == nil || !strings.HasPrefix(*c.AWSExternalID, "truecost-") {
			t.Fatalf("awsExternalId = %v, want a generated ID", deref(c.AWSExternalID))
		}
		if c.AWSTrustPolicy == nil {
			t.Fatal("awsTrustPolicy is null for the admin")
		}
		var policy struct {
			Statement []struct {
				Principal struct{ AWS string }
				Action    string
				Condition struct {
					StringEquals map[string]string
				}
			}
		}
		if err := json.Unmarshal([]byte(*c.AWSTrustPolicy), &policy); err != nil || len(policy.Statement) != 1 {
			t.Fatalf("trust policy is not one statement of JSON (%v): %s", err, *c.AWSTrustPolicy)
		}
		st := policy.Statement[0]
		if st.Principal.AWS != awsPrincipal || st.Action != "sts:AssumeRole" || st.Condition.StringEquals["sts:ExternalId"] != *c.AWSExternalID {
			t.Errorf("trust policy = %s, want %s may assume with external ID %s", *c.AWSTrustPolicy, awsPrincipal, *c.AWSExternalID)
		}

		// Admins read the same; members see the settings but not the role's
		// external ID or trust policy.
		if got := w.get(t, w.acmeAdmin, "", c.ID); !reflect.DeepEqual(got, c) {
			t.Errorf("connector query = %+v\nwant the created %+v", got, c)
		}
		for name, read := range map[string]func() apiConnector{
			"connector query": func() apiConnector { return w.get(t, w.acmeMember, w.acme.ID, c.ID) },
			"connectors list": func() apiConnector {
				var list struct {
					Connectors []apiConnector `json:"connectors"`
				}
				w.must(t, w.acmeMember, listConnectors, nil, &list)
				if len(list.Connectors) != 1 {
					t.Fatalf("member lists %d connectors, want 1", len(list.Connectors))
				}
				return list.Connectors[0]
			},
		} {
			got := read()
			if got.AWSExternalID != nil || got.AWSTrustPolicy != nil {
				t.Errorf("%s: member sees external ID %v and trust policy %v, want null", name, deref(got.AWSExternalID), deref(got.AWSTrustPolicy))
			}
			if got.ID != c.ID || !got.HasSecret || deref(got.Config["bucket"]) != "acme-billing" {
				t.Errorf("%s: member sees %+v", name, got)
			}
		}
	})
}

func TestCreateConnectorCanStartDisabled(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		in := awsInput("Acme AWS")
		in["enabled"] = false
		in["secret"] = map[string]any{"accessKeyId": accessKeyID, "secretAccessKey": secretAccessKey}
		var out struct {
			CreateConnector apiConnector `json:"createConnector"`
		}
		w.must(t, w.acmeAdmin, createConnector, map[string]any{"in": in}, &out)
		if c := w.get(t, w.acmeAdmin, "", out.CreateConnector.ID); c.Enabled || !c.HasSecret || out.CreateConnector.Enabled {
			t.Errorf("created %+v, stored %+v; want disabled with a secret", out.CreateConnector, c)
		}
		w.must(t, w.acmeAdmin, testConnector, map[string]any{"id": out.CreateConnector.ID}, nil)
		if got := w.sources.secret(out.CreateConnector.ID); got["access_key_id"] != accessKeyID || got["secret_access_key"] != secretAccessKey {
			t.Errorf("source opened with %v, want the access keys", got)
		}
	})
}

func TestUpdateConnectorKeepsTheStoredSecret(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		c := w.create(t, w.acmeAdmin, "", "Acme AWS")

		in := awsInput("Acme AWS (CUR)")
		delete(in, "secret")
		in["enabled"] = false
		in["config"].(map[string]any)["fileType"] = "cur"
		in["config"].(map[string]any)["path"] = "cur/daily"
		var out struct {
			UpdateConnector apiConnector `json:"updateConnector"`
		}
		w.must(t, w.acmeAdmin, updateConnector, map[string]any{"id": c.ID, "in": in}, &out)
		u := out.UpdateConnector
		if u.ID != c.ID || u.Name != "Acme AWS (CUR)" || u.Enabled || u.Format != "aws-cur" || u.Location != "s3://acme-billing/cur/daily" || !u.HasSecret {
			t.Errorf("updated connector = %+v", u)
		}
		if deref(u.AWSExternalID) != deref(c.AWSExternalID) {
			t.Errorf("external ID changed from %s to %s", deref(c.AWSExternalID), deref(u.AWSExternalID))
		}
		if got := w.get(t, w.acmeAdmin, "", c.ID); !reflect.DeepEqual(got, u) {
			t.Errorf("stored = %+v\nwant the updated %+v", got, u)
		}
		w.must(t, w.acmeAdmin, testConnector, map[string]any{"id": c.ID}, nil)
		if got := w.sources.secret(c.ID); got["role_arn"] != roleARN {
			t.Errorf("after an update without a secret the source got %v, want the stored role ARN", got)
		}

		in["provider"] = "GCP"
		resp := w.do(t, w.acmeAdmin, updateConnector, map[string]any{"id": c.ID, "in": in}, nil)
		if msg := refused(t, resp, "invalid"); !strings.Contains(msg, "provider cannot change") {
			t.Errorf("message = %q", msg)
		}
	})
}

func TestTestConnectorListsWhatWouldBeIngested(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		c := w.create(t, w.acmeAdmin, "", "Acme AWS")
		var out struct {
			TestConnector struct {
				Format     string  `json:"format"`
				FileCount  int     `json:"fileCount"`
				TotalBytes float64 `json:"totalBytes"`
				Parts      []struct {
					Period  *string `json:"period"`
					Version string  `json:"version"`
					Files   []struct {
						Name string  `json:"name"`
						Size float64 `json:"size"`
					} `json:"files"`
				} `json:"parts"`
			} `json:"testConnector"`
		}
		w.must(t, w.acmeAdmin, testConnector, map[string]any{"id": c.ID}, &out)
		got := out.TestConnector
		if got.Format != "focus" || got.FileCount != 4 || got.TotalBytes != 4000 || len(got.Parts) != 2 {
			t.Fatalf("test = %+v, want focus, 4 files, 4000 bytes in 2 parts", got)
		}
		for i, want := range []string{"2026-08", "2026-09"} {
			p := got.Parts[i]
			if deref(p.Period) != want+"-01" || p.Version != "v1-"+want || len(p.Files) != 2 ||
				p.Files[0].Name != "exports/focus/"+want+"/part-0.csv.gz" || p.Files[0].Size != 1200 {
				t.Errorf("part %d = %+v", i, p)
			}
		}
		if got := w.sources.secret(c.ID); got["role_arn"] != roleARN {
			t.Errorf("source opened with %v, want the role ARN", got)
		}

		var list struct {
			IngestionRuns []struct{ ID string } `json:"ingestionRuns"`
		}
		w.must(t, w.acmeAdmin, `{ ingestionRuns { id } }`, nil, &list)
		if len(list.IngestionRuns) != 0 {
			t.Errorf("testing a connector made %d runs", len(list.IngestionRuns))
		}
	})
}

// apiRun is an IngestionRun as a client decodes it.
type apiRun struct {
	ID             string   `json:"id"`
	OrganizationID string   `json:"organizationId"`
	ConnectorID    string   `json:"connectorId"`
	Status         string   `json:"status"`
	Format         string   `json:"format"`
	Rows           int      `json:"rows"`
	Periods        []string `json:"periods"`
	Totals         []money  `json:"totals"`
	Error          *string  `json:"error"`
}

func TestSyncConnectorLoadsTheSourceAndRecordsTheOutcome(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		c := w.create(t, w.acmeAdmin, "", "Acme AWS")
		sync := func() apiRun {
			t.Helper()
			var out struct {
				SyncConnector apiRun `json:"syncConnector"`
			}
			w.must(t, w.acmeAdmin, syncConnector, map[string]any{"id": c.ID}, &out)
			return out.SyncConnector
		}

		run := sync()
		if run.Status != "SUCCEEDED" || run.OrganizationID != w.acme.ID || run.ConnectorID != c.ID || run.Format != "focus" ||
			run.Rows != 4 || !reflect.DeepEqual(run.Periods, []string{"2026-08-01", "2026-09-01"}) || run.Error != nil {
			t.Fatalf("run = %+v", run)
		}
		// acme is resold: a run's totals are cost, which only its reseller sees.
		if len(run.Totals) != 0 {
			t.Errorf("acme sees run totals %+v, want none", run.Totals)
		}
		var runs struct {
			IngestionRuns []apiRun `json:"ingestionRuns"`
		}
		w.must(t, w.northAdmin, `query($org: ID) { ingestionRuns(organizationId: $org) { totals { amount currency } } }`,
			map[string]any{"org": w.acme.ID}, &runs)
		if len(runs.IngestionRuns) != 1 || len(runs.IngestionRuns[0].Totals) != 1 || runs.IngestionRuns[0].Totals[0].Currency != "USD" ||
			!dec(t, runs.IngestionRuns[0].Totals[0].Amount).Equal(dec(t, "20")) {
			t.Errorf("reseller sees run totals %+v, want 20 USD (2 × (10.25 − 0.25))", runs.IngestionRuns)
		}
		got := w.get(t, w.acmeAdmin, "", c.ID)
		if got.Status != "OK" || got.LastRows != 4 || deref(got.LastPeriod) != "2026-09-01" || got.LastSyncAt == nil || got.LastError != nil {
			t.Errorf("after sync the connector shows %+v", got)
		}

		var costs struct {
			Costs struct{ Totals []money } `json:"costs"`
		}
		w.must(t, w.acmeMember, `{ costs(query: {from: "2026-08-01", to: "2026-10-01"}) { totals { amount currency } } }`, nil, &costs)
		if len(costs.Costs.Totals) != 1 || !dec(t, costs.Costs.Totals[0].Amount).Equal(dec(t, "20")) {
			t.Errorf("acme's costs = %+v, want 20 USD", costs.Costs.Totals)
		}

		if again := sync(); again.Status != "UNCHANGED" || again.Rows != 0 {
			t.Errorf("second sync of an unchanged source = %+v, want UNCHANGED", again)
		}
		if got := w.get(t, w.acmeAdmin, "", c.ID); got.Status != "OK" || got.LastRows != 4 || deref(got.LastPeriod) != "2026-09-01" {
			t.Errorf("after an unchanged sync the connector shows %+v", got)
		}
	})
}

func TestSyncConnectorReportsABrokenSourceOnTheConnector(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		in := awsInput("Acme AWS")
		in["config"].(map[string]any)["path"] = "broken"
		var out struct {
			CreateConnector apiConnector `json:"createConnector"`
		}
		w.must(t, w.acmeAdmin, createConnector, map[string]any{"in": in}, &out)
		id := out.CreateConnector.ID

		resp := w.do(t, w.acmeAdmin, syncConnector, map[string]any{"id": id}, nil)
		msg := refused(t, resp, "invalid")
		if !strings.Contains(msg, "part-0.csv.gz line 2 column BilledCost") {
			t.Errorf("message = %q, want the file, line and column", msg)
		}
		got := w.get(t, w.acmeAdmin, "", id)
		if got.Status != "FAILED" || deref(got.LastError) != msg || got.LastRows != 0 || got.LastPeriod != nil {
			t.Errorf("after a failed sync the connector shows %+v", got)
		}
		var runs struct {
			IngestionRuns []apiRun `json:"ingestionRuns"`
		}
		w.must(t, w.acmeMember, `{ ingestionRuns { id status error connectorId } }`, nil, &runs)
		if len(runs.IngestionRuns) != 1 || runs.IngestionRuns[0].Status != "FAILED" || runs.IngestionRuns[0].ConnectorID != id {
			t.Errorf("runs = %+v, want one FAILED run", runs.IngestionRuns)
		}
	})
}

func TestConnectorChangesNeedAnAdmin(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		c := w.create(t, w.acmeAdmin, "", "Acme AWS")
		tests := []struct {
			name  string
			query string
			vars  map[string]any
		}{
			{"create", createConnector, map[string]any{"in": awsInput("Mine")}},
			{"create naming its organization", createConnector, map[string]any{"org": w.acme.ID, "in": awsInput("Mine")}},
			{"update", updateConnector, map[string]any{"id": c.ID, "in": awsInput("Renamed")}},
			{"delete", deleteConnector, map[string]any{"id": c.ID}},
			{"test", testConnector, map[string]any{"id": c.ID}},
			{"sync", syncConnector, map[string]any{"id": c.ID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, w.do(t, w.acmeMember, tt.query, tt.vars, nil), "forbidden")
			})
		}
		var list struct {
			Connectors []apiConnector `json:"connectors"`
		}
		w.must(t, w.acmeAdmin, listConnectors, nil, &list)
		if len(list.Connectors) != 1 || list.Connectors[0].Name != "Acme AWS" || list.Connectors[0].Status != "NEW" {
			t.Errorf("after refused changes acme has %+v, want its one untouched connector", list.Connectors)
		}
	})
}

func TestConnectorsStayWithinTheCallersOrganizations(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		acmeConn := w.create(t, w.acmeAdmin, "", "Acme AWS")
		globexConn := w.create(t, w.globexAdmin, "", "Globex AWS")
		tests := []struct {
			name  string
			token string
			query string
			vars  map[string]any
		}{
			{"read another organization's connector", w.globexAdmin, getConnector, map[string]any{"org": w.acme.ID, "id": acmeConn.ID}},
			{"read another organization's connector as one's own", w.globexAdmin, getConnector, map[string]any{"id": acmeConn.ID}},
			{"member reads another organization's connector", w.globexMember, getConnector, map[string]any{"org": w.acme.ID, "id": acmeConn.ID}},
			{"list another organization's connectors", w.globexAdmin, listConnectors, map[string]any{"org": w.acme.ID}},
			{"update another organization's connector", w.globexAdmin, updateConnector, map[string]any{"org": w.acme.ID, "id": acmeConn.ID, "in": awsInput("Taken")}},
			{"update another organization's connector as one's own", w.globexAdmin, updateConnector, map[string]any{"id": acmeConn.ID, "in": awsInput("Taken")}},
			{"delete another organization's connector", w.globexAdmin, deleteConnector, map[string]any{"org": w.acme.ID, "id": acmeConn.ID}},
			{"delete another organization's connector as one's own", w.globexAdmin, deleteConnector, map[string]any{"id": acmeConn.ID}},
			{"test another organization's connector", w.globexAdmin, testConnector, map[string]any{"org": w.acme.ID, "id": acmeConn.ID}},
			{"sync another organization's connector", w.globexAdmin, syncConnector, map[string]any{"id": acmeConn.ID}},
			{"create in another organization", w.globexAdmin, createConnector, map[string]any{"org": w.acme.ID, "in": awsInput("Planted")}},
			{"customer reads its reseller's connectors", w.acmeAdmin, listConnectors, map[string]any{"org": w.north.ID}},
			{"customer creates in its reseller", w.acmeAdmin, createConnector, map[string]any{"org": w.north.ID, "in": awsInput("Up")}},
			{"reseller reads a direct customer's connector", w.northAdmin, getConnector, map[string]any{"org": w.globex.ID, "id": globexConn.ID}},
			{"reseller syncs a direct customer's connector", w.northAdmin, syncConnector, map[string]any{"org": w.globex.ID, "id": globexConn.ID}},
			{"reseller names a customer's connector without the customer", w.northAdmin, getConnector, map[string]any{"id": acmeConn.ID}},
			{"unknown connector", w.acmeAdmin, getConnector, map[string]any{"id": "no-such-connector"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := w.do(t, tt.token, tt.query, tt.vars, nil)
				refused(t, resp, "not_found")
				for _, e := range resp.Errors {
					if strings.Contains(e.Message, "Acme AWS") || strings.Contains(e.Message, "acme-billing") {
						t.Errorf("refusal leaks the connector: %q", e.Message)
					}
				}
			})
		}
		if got := w.get(t, w.acmeAdmin, "", acmeConn.ID); !reflect.DeepEqual(got, acmeConn) {
			t.Errorf("acme's connector changed to %+v", got)
		}
		if got := w.get(t, w.globexAdmin, "", globexConn.ID); got.OrganizationID != w.globex.ID {
			t.Errorf("globex's connector = %+v", got)
		}
	})
}

func TestResellerAdminManagesItsCustomersConnectors(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		c := w.create(t, w.northAdmin, w.acme.ID, "Acme AWS (by North)")
		if c.OrganizationID != w.acme.ID || c.AWSTrustPolicy == nil {
			t.Fatalf("reseller created %+v, want acme's connector with its trust policy", c)
		}
		if got := w.get(t, w.acmeAdmin, "", c.ID); got.Name != "Acme AWS (by North)" {
			t.Errorf("acme's admin sees %+v", got)
		}

		var list struct {
			Connectors []apiConnector `json:"connectors"`
		}
		w.must(t, w.northAdmin, listConnectors, nil, &list)
		if len(list.Connectors) != 1 || list.Connectors[0].ID != c.ID || list.Connectors[0].AWSTrustPolicy == nil {
			t.Errorf("reseller lists %+v, want acme's connector with its trust policy", list.Connectors)
		}

		in := awsInput("Acme AWS")
		delete(in, "secret")
		var updated struct {
			UpdateConnector apiConnector `json:"updateConnector"`
		}
		w.must(t, w.northAdmin, updateConnector, map[string]any{"org": w.acme.ID, "id": c.ID, "in": in}, &updated)
		if updated.UpdateConnector.Name != "Acme AWS" || !updated.UpdateConnector.HasSecret {
			t.Errorf("reseller's update = %+v", updated.UpdateConnector)
		}
		var run struct {
			SyncConnector apiRun `json:"syncConnector"`
		}
		w.must(t, w.northAdmin, syncConnector, map[string]any{"org": w.acme.ID, "id": c.ID}, &run)
		if run.SyncConnector.Status != "SUCCEEDED" || run.SyncConnector.OrganizationID != w.acme.ID {
			t.Errorf("reseller's sync = %+v", run.SyncConnector)
		}

		var deleted struct {
			DeleteConnector bool `json:"deleteConnector"`
		}
		w.must(t, w.northAdmin, deleteConnector, map[string]any{"org": w.acme.ID, "id": c.ID}, &deleted)
		if !deleted.DeleteConnector {
			t.Error("deleteConnector = false")
		}
		refused(t, w.do(t, w.acmeAdmin, getConnector, map[string]any{"id": c.ID}, nil), "not_found")
		refused(t, w.do(t, w.northAdmin, deleteConnector, map[string]any{"org": w.acme.ID, "id": c.ID}, nil), "not_found")
	})
}

func TestConnectorOperationsAreUnavailableWithoutTheService(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	for _, op := range []struct {
		query string
		vars  map[string]any
	}{
		{listConnectors, nil},
		{getConnector, map[string]any{"id": "c-1"}},
		{createConnector, map[string]any{"in": awsInput("Acme AWS")}},
		{deleteConnector, map[string]any{"id": "c-1"}},
		{syncConnector, map[string]any{"id": "c-1"}},
	} {
		refused(t, post1(t, api, op.query, op.vars), "unavailable")
	}
}

// The service decides what the caller may do (see the world tests above);
// the resolvers must hand it the caller, and the organization the request
// names, or for one connector the caller's own, never "any".
func TestConnectorResolversPassTheCallerAndOrganization(t *testing.T) {
	t.Parallel()
	api := newFakeAPIWithConnectors(t)
	caller := tenancy.Principal{User: fakeUser, Org: fakeOrg}
	tests := []struct {
		name   string
		query  string
		vars   map[string]any
		method string
		orgID  string
		id     string
	}{
		{"list everything readable", listConnectors, nil, "List", "", ""},
		{"list one organization", listConnectors, map[string]any{"org": "org-9"}, "List", "org-9", ""},
		{"get without organization", getConnector, map[string]any{"id": "c-1"}, "Get", fakeOrg.ID, "c-1"},
		{"get naming an organization", getConnector, map[string]any{"org": "org-9", "id": "c-1"}, "Get", "org-9", "c-1"},
		{"create without organization", createConnector, map[string]any{"in": awsInput("Acme AWS")}, "Create", fakeOrg.ID, ""},
		{"create naming an organization", createConnector, map[string]any{"org": "org-9", "in": awsInput("Acme AWS")}, "Create", "org-9", ""},
		{"update", updateConnector, map[string]any{"id": "c-1", "in": awsInput("Acme AWS")}, "Update", fakeOrg.ID, "c-1"},
		{"delete", deleteConnector, map[string]any{"org": "org-9", "id": "c-1"}, "Delete", "org-9", "c-1"},
	}
	for _, tt := range tests {
		resp := post1(t, api, tt.query, tt.vars)
		if len(resp.Errors) > 0 {
			t.Errorf("%s: errors %+v", tt.name, resp.Errors)
		}
		want := []connectorCall{{method: tt.method, caller: caller, orgID: tt.orgID, id: tt.id}}
		if got := api.connectors.takeCalls(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: service calls\n got %+v\nwant %+v", tt.name, got, want)
		}
	}
}

// post1 sends one operation to a fake API with the fake token and expects
// HTTP 200.
func post1(t *testing.T, api *fakeAPI, query string, vars map[string]any) gqlResponse {
	t.Helper()
	status, resp, raw := post(t, api.server.URL, query, vars, bearer(fakeToken))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, raw)
	}
	return resp
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

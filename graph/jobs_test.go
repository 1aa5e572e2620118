package graph_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
)

func TestConnectorMutationsReturnAJobThatPollingFollowsToItsResult(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		c := w.create(t, w.acmeAdmin, "", "Acme AWS")
		for _, tt := range []struct {
			field, kind, selection string
			check                  func(t *testing.T, result map[string]json.RawMessage)
		}{
			{"testConnector", "TEST_CONNECTOR", `connectorTest { format fileCount }`, func(t *testing.T, r map[string]json.RawMessage) {
				if got := string(r["connectorTest"]); got != `{"format":"focus","fileCount":4}` {
					t.Errorf("connectorTest = %s", got)
				}
			}},
			{"syncConnector", "SYNC_CONNECTOR", `ingestionRun { status rows connectorId }`, func(t *testing.T, r map[string]json.RawMessage) {
				if got := string(r["ingestionRun"]); got != `{"status":"SUCCEEDED","rows":4,"connectorId":"`+c.ID+`"}` {
					t.Errorf("ingestionRun = %s", got)
				}
			}},
		} {
			var started map[string]apiJob
			w.must(t, w.acmeAdmin, `mutation($id: ID!) { `+tt.field+`(id: $id) { `+jobFields+` } }`, map[string]any{"id": c.ID}, &started)
			j := started[tt.field]
			if j.ID == "" || j.Kind != tt.kind || j.State != "QUEUED" || j.OrganizationID != w.acme.ID || deref(j.SubjectID) != c.ID ||
				j.CreatedAt == "" || j.FinishedAt != nil || j.Error != nil {
				t.Errorf("%s answered %+v, want a queued %s job on the connector", tt.field, j, tt.kind)
			}
			// A member of the organization follows it too.
			done, resp, _ := w.pollJob(t, w.acmeMember, j.ID, tt.selection)
			if len(resp.Errors) > 0 {
				t.Fatalf("%s: job(id): %+v", tt.field, resp.Errors)
			}
			if done.State != "SUCCEEDED" || done.FinishedAt == nil || done.StartedAt == nil || done.Progress == nil || *done.Progress != 1 || done.Error != nil {
				t.Errorf("%s finished as %+v, want SUCCEEDED with progress 1", tt.field, done)
			}
			var result map[string]json.RawMessage
			if err := json.Unmarshal(done.Result, &result); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(result["summary"]), " ") {
				t.Errorf("%s summary %s", tt.field, result["summary"])
			}
			tt.check(t, result)

			// Another organization does not see it; its admin neither.
			resp = w.do(t, w.globexAdmin, `query($id: ID!) { job(id: $id) { id } }`, map[string]any{"id": j.ID}, nil)
			refused(t, resp, "not_found")
			resp = w.do(t, w.globexAdmin, `query($org: ID, $id: ID!) { job(organizationId: $org, id: $id) { id } }`,
				map[string]any{"org": w.acme.ID, "id": j.ID}, nil)
			if len(resp.Errors) != 1 {
				t.Errorf("another organization named its way to the job: %s", resp.Data)
			}
		}
		// Starting checks rights at once: a member may not, nor another
		// organization's admin on this connector.
		refused(t, w.do(t, w.acmeMember, `mutation($id: ID!) { syncConnector(id: $id) { id } }`, map[string]any{"id": c.ID}, nil), "forbidden")
		refused(t, w.do(t, w.globexAdmin, `mutation($id: ID!) { testConnector(id: $id) { id } }`, map[string]any{"id": c.ID}, nil), "not_found")
	})
}

func TestFailingTestConnectionJobEndsFailedWithTheSafeMessage(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newConnectorWorld(t, store)
		in := awsInput("Acme AWS")
		in["config"].(map[string]any)["path"] = "unreachable"
		var created struct{ CreateConnector apiConnector }
		w.must(t, w.acmeAdmin, createConnector, map[string]any{"in": in}, &created)

		var started struct{ TestConnector apiJob }
		w.must(t, w.acmeAdmin, `mutation($id: ID!) { testConnector(id: $id) { `+jobFields+` } }`,
			map[string]any{"id": created.CreateConnector.ID}, &started)
		done, resp, raw := w.pollJob(t, w.acmeAdmin, started.TestConnector.ID, "connectorTest { format }")
		if len(resp.Errors) > 0 {
			t.Fatalf("job(id): %+v", resp.Errors)
		}
		if done.State != "FAILED" || deref(done.ErrorCode) != "unavailable" || done.FinishedAt == nil || string(done.Result) != "null" {
			t.Fatalf("job ended %+v, want FAILED unavailable without a result", done)
		}
		if want := "list objects in acme-billing: s3.amazonaws.com did not answer within 30s"; deref(done.Error) != want {
			t.Errorf("error %q, want %q", deref(done.Error), want)
		}
		if strings.Contains(raw, "10.9.8.7") {
			t.Errorf("the raw cause reached the client: %s", raw)
		}
	})
}

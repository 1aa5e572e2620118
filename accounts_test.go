package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/gcpprovision/gcpfake"
)

type infraView struct {
	State       string
	Error       *string
	ConnectorID *string
	ManualSteps []string
	Ledger      []struct{ Step, Kind, ResourceID, State string }
}

const infraFields = `state error connectorId manualSteps ledger { step kind resourceId state }`

// TestGCPBillingProvisionsThroughTheBinary adds a Google Cloud account over
// GraphQL, provisions its billing against a fake control plane (with a
// failure in the middle and a retry), lets the status check find two
// projects' data, and deprovisions with the warning.
func TestGCPBillingProvisionsThroughTheBinary(t *testing.T) {
	allowLocalEmulators(t)
	dir := t.TempDir()
	dbURL := "sqlite://var/truecost.db"
	fake := gcpfake.New(t)
	t.Setenv("TRUECOST_GCP_BIGQUERY_ENDPOINT", fake.URL)
	t.Setenv("TRUECOST_GCP_SERVICEUSAGE_ENDPOINT", fake.URL)
	token := adminToken(t, dir, dbURL, "globex")
	out, _ := cmd(t, dir, dbURL, "", "users", "create", "viewer@globex.example", "--org", "globex", "--role", "member", "--token")
	member := strings.Fields(out)[len(strings.Fields(out))-1]
	url := serve(t, dir, dbURL)

	key := fake.ServiceAccountKey(t, "billing-test-web-123456")
	var created struct {
		CreateCloudAccount struct{ ID, BillingStatus string }
	}
	errs, body := gql(t, url, token, `mutation($in: CloudAccountInput!) { createCloudAccount(input: $in) { id billingStatus } }`,
		map[string]any{"in": map[string]any{"provider": "GCP", "name": "Globex web", "providerAccountId": "billing-test-web-123456",
			"billingAccountId": "01A2B3-C4D5E6-F7A8B9", "credentials": map[string]any{"serviceAccountJson": key}}}, &created)
	if len(errs) > 0 || created.CreateCloudAccount.BillingStatus != "UNPROVISIONED" {
		t.Fatalf("create: %s", body)
	}
	if bytes.Contains(body, []byte("private_key")) {
		t.Error("the key came back")
	}
	id := created.CreateCloudAccount.ID
	provision := `mutation($id: ID!) { provisionBilling(accountId: $id, input: {region: "EU", dataset: "billing_export"}) { id } }`
	infraResult := `infrastructure { ` + infraFields + ` }`

	if _, errs, body := runJob(t, url, member, provision, map[string]any{"id": id}, infraResult, nil); len(errs) != 1 || errs[0].Extensions.Code != "forbidden" {
		t.Errorf("member provisioning: %s", body)
	}

	fake.FailOnce(gcpfake.DatasetsInsert, 403, "PERMISSION_DENIED", "Access Denied: Project billing-test-web-123456: missing bigquery.datasets.create")
	job, _, _ := runJob(t, url, token, provision, map[string]any{"id": id}, infraResult, nil)
	if job.State != "FAILED" || *job.ErrorCode != "forbidden" || !strings.Contains(*job.Error, "bigquery.datasets.create") {
		t.Fatalf("failing provision: %+v", job)
	}
	var listed struct{ BillingInfrastructure []infraView }
	gql(t, url, token, `{ billingInfrastructure { `+infraFields+` } }`, nil, &listed)
	if len(listed.BillingInfrastructure) != 1 || listed.BillingInfrastructure[0].State != "FAILED" ||
		len(listed.BillingInfrastructure[0].Ledger) != 1 || listed.BillingInfrastructure[0].Ledger[0].Step != "data-transfer-api" {
		t.Fatalf("after the failure: %+v", listed)
	}

	fake.ClearCalls()
	var done struct{ Infrastructure infraView }
	if job, _, body := runJob(t, url, token, provision, map[string]any{"id": id}, infraResult, &done); job.State != "SUCCEEDED" {
		t.Fatalf("retry: %s", body)
	}
	inf := done.Infrastructure
	if inf.State != "PROVISIONED" || len(inf.Ledger) != 2 || inf.Ledger[1].Step != "bigquery-dataset" || inf.ConnectorID == nil ||
		len(inf.ManualSteps) == 0 || !strings.Contains(strings.Join(inf.ManualSteps, " "), "billing_export") {
		t.Fatalf("provisioned: %+v", inf)
	}
	for _, c := range fake.Calls() {
		if strings.Contains(c.Path, ":enable") {
			t.Errorf("the retry enabled the API again: %s", c)
		}
	}
	if _, ok := fake.Dataset("billing-test-web-123456", "billing_export"); !ok {
		t.Fatal("no dataset in the fake")
	}

	// Provisioned, no data yet: Checking. A second project of the same
	// billing account needs no provisioning: once the export's rows are
	// here, the status check finds both.
	var second struct {
		CreateCloudAccount struct{ ID, BillingStatus, StatusDetail string }
	}
	gql(t, url, token, `mutation { createCloudAccount(input: {provider: GCP, name: "Globex data", providerAccountId: "billing-test-data-654321"}) { id billingStatus statusDetail } }`, nil, &second)
	if second.CreateCloudAccount.BillingStatus != "CHECKING" {
		t.Errorf("second account before data: %+v", second)
	}
	demo := writeDemo(t, dir)
	if out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "globex", "--source", filepath.Join(demo, "globex", "gcp")); code != 0 {
		t.Fatalf("ingest: %s", out)
	}
	var checked struct {
		Accounts []struct{ Name, BillingStatus, StatusDetail string }
	}
	runJob(t, url, token, `mutation { checkBillingStatus { id } }`, nil, `accounts { name billingStatus statusDetail }`, &checked)
	if len(checked.Accounts) != 2 {
		t.Fatalf("check: %+v", checked)
	}
	for _, a := range checked.Accounts {
		if a.BillingStatus != "PROVISIONED" {
			t.Errorf("%s: %s (%s)", a.Name, a.BillingStatus, a.StatusDetail)
		}
	}

	deprovision := `mutation($confirm: Boolean!) { deprovisionBilling(provider: GCP, confirm: $confirm) { ` + infraFields + ` } }`
	errs, body = gql(t, url, token, deprovision, map[string]any{"confirm": false}, nil)
	if len(errs) != 1 || errs[0].Extensions.Code != "conflict" || !strings.Contains(errs[0].Message, "Globex data") {
		t.Fatalf("unconfirmed deprovision: %s", body)
	}
	var removed struct{ DeprovisionBilling infraView }
	if errs, body := gql(t, url, token, deprovision, map[string]any{"confirm": true}, &removed); len(errs) > 0 {
		t.Fatalf("deprovision: %s", body)
	}
	if removed.DeprovisionBilling.State != "DEPROVISIONED" {
		t.Errorf("deprovisioned: %+v", removed.DeprovisionBilling)
	}
	for _, e := range removed.DeprovisionBilling.Ledger {
		if e.State != "DELETED" {
			t.Errorf("ledger entry %s is %s", e.Step, e.State)
		}
	}
	if _, ok := fake.Dataset("billing-test-web-123456", "billing_export"); ok {
		t.Error("the dataset is still there")
	}
	if s := fake.ServiceState("billing-test-web-123456", "bigquerydatatransfer.googleapis.com"); s != "DISABLED" {
		t.Errorf("Data Transfer API is %s after deprovisioning", s)
	}
	var conns struct {
		Connectors []struct {
			Provider string
			Enabled  bool
		}
	}
	gql(t, url, token, `{ connectors { provider enabled } }`, nil, &conns)
	for _, c := range conns.Connectors {
		if c.Provider == "GCP" && c.Enabled {
			t.Error("the provisioned connector is still enabled")
		}
	}
}

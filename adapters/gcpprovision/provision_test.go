package gcpprovision_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/gcpprovision"
	"github.com/truecost/truecost/adapters/gcpprovision/gcpfake"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

const (
	project        = "billing-proj"
	billingAccount = "01A2B3-C4D5E6-F7A8B9"
	infraID        = "0192f0c4-7a7e-7b3c-9d2e-5f6a7b8c9d0e"

	servicePath = "/v1/projects/" + project + "/services/" + gcpprovision.TransferAPI
	datasetsURL = "/projects/" + project + "/datasets"
)

// world is a provisioner against a fake control plane, with the request
// the domain would hand it.
type world struct {
	fake *gcpfake.Fake
	prov *gcpprovision.Provisioner
	req  accounts.Request
}

func newWorld(t *testing.T, set accounts.Settings) *world {
	t.Helper()
	f := gcpfake.New(t)
	p := gcpprovision.New(gcpprovision.Config{BigQueryEndpoint: f.URL, ServiceUsageEndpoint: f.URL, PollInterval: time.Microsecond, MaxPolls: 5})
	a := accounts.Account{ID: "acct-1", OrgID: "org-1", Provider: connectors.GCP, Name: "Billing project",
		ProviderAccountID: project, BillingAccountID: billingAccount, HasCredentials: true}
	if err := p.Validate(&set, a); err != nil {
		t.Fatal(err)
	}
	inf := accounts.Infrastructure{ID: infraID, OrgID: a.OrgID, Provider: connectors.GCP, AccountID: a.ID, Settings: set,
		State: accounts.StateProvisioning}
	creds := connectors.Secret{"service_account_json": f.ServiceAccountKey(t, project)}
	return &world{fake: f, prov: p, req: accounts.Request{Infra: inf, Account: a, Credentials: creds}}
}

// provision runs the steps not yet in the ledger, in order, stopping at
// the first failure, as accounts.Service does.
func (w *world) provision(t *testing.T) error {
	t.Helper()
	for _, st := range w.prov.Steps(w.req) {
		if _, done := w.req.Infra.Resource(st.Name); done {
			continue
		}
		r, err := st.Run(context.Background())
		if err != nil {
			return err
		}
		r.Step = st.Name
		if r.Kind == "" {
			r.Kind = st.Kind
		}
		w.req.Infra.Ledger = append(w.req.Infra.Ledger, r)
	}
	return nil
}

// deprovision removes the created entries in reverse, as accounts.Service
// does.
func (w *world) deprovision(t *testing.T) error {
	t.Helper()
	for i := len(w.req.Infra.Ledger) - 1; i >= 0; i-- {
		r := w.req.Infra.Ledger[i]
		if r.State != accounts.Created {
			continue
		}
		if err := w.prov.Remove(context.Background(), w.req, r); err != nil {
			return err
		}
		w.req.Infra.Ledger[i].State = accounts.Deleted
	}
	return nil
}

func datasetBody(t *testing.T, location string) string {
	t.Helper()
	return datasetBodyFor(t, infraID, location)
}

// datasetBodyFor is the datasets.insert body of infrastructure id.
func datasetBodyFor(t *testing.T, id, location string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"datasetReference": map[string]any{"datasetId": "billing_export"},
		"description":      "Cloud Billing export read by Truecost; created by Truecost billing provisioning.",
		"labels":           map[string]any{"managed-by": "truecost", "truecost-infra": id},
		"location":         location,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assertCalls(t *testing.T, f *gcpfake.Fake, want ...string) {
	t.Helper()
	var got []string
	for _, c := range f.Calls() {
		got = append(got, c.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, h := range f.AuthHeaders() {
		if h != "Bearer fake-token" {
			t.Errorf("request authorised with %q, want the token of the account's key", h)
		}
	}
}

type entry struct {
	step, kind, id, region string
	state                  accounts.ResourceState
	note                   string
}

func assertLedger(t *testing.T, ledger []accounts.Resource, want ...entry) {
	t.Helper()
	if len(ledger) != len(want) {
		t.Fatalf("ledger has %d entries, want %d: %+v", len(ledger), len(want), ledger)
	}
	for i, r := range ledger {
		w := want[i]
		if r.Step != w.step || r.Kind != w.kind || r.ID != w.id || r.Region != w.region || r.State != w.state || !strings.Contains(r.Note, w.note) {
			t.Errorf("ledger[%d] = %+v, want %+v", i, r, w)
		}
	}
}

func TestProvisionEnablesTheTransferAPIAndCreatesTheDataset(t *testing.T) {
	w := newWorld(t, accounts.Settings{Region: "europe-west1"})
	w.fake.SetOperationPolls(2)
	if err := w.provision(t); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, w.fake,
		"GET "+servicePath,
		"POST "+servicePath+":enable {}",
		"GET /v1/operations/acf.p2-1",
		"GET /v1/operations/acf.p2-1",
		"POST "+datasetsURL+" "+datasetBody(t, "europe-west1"),
	)
	assertLedger(t, w.req.Infra.Ledger,
		entry{"data-transfer-api", "Google Cloud API", "projects/billing-proj/services/bigquerydatatransfer.googleapis.com", "", accounts.Created, "enabled in project billing-proj"},
		entry{"bigquery-dataset", "BigQuery dataset", "billing-proj.billing_export", "europe-west1", accounts.Created, "created in location europe-west1"},
	)
	if got := w.fake.ServiceState(project, gcpprovision.TransferAPI); got != "ENABLED" {
		t.Errorf("transfer API is %s, want ENABLED", got)
	}
	d, ok := w.fake.Dataset(project, "billing_export")
	if !ok || d.Location != "europe-west1" || d.Labels["managed-by"] != "truecost" || d.Labels["truecost-infra"] != infraID {
		t.Errorf("dataset = %+v (exists %v), want it in europe-west1 with Truecost's labels", d, ok)
	}
}

func TestProvisionKeepsATransferAPIAlreadyEnabled(t *testing.T) {
	w := newWorld(t, accounts.Settings{})
	w.fake.EnableService(project, gcpprovision.TransferAPI)
	if err := w.provision(t); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, w.fake,
		"GET "+servicePath,
		"POST "+datasetsURL+" "+datasetBody(t, "US"),
	)
	assertLedger(t, w.req.Infra.Ledger,
		entry{"data-transfer-api", "Google Cloud API", "projects/billing-proj/services/bigquerydatatransfer.googleapis.com", "", accounts.Kept, "already enabled"},
		entry{"bigquery-dataset", "BigQuery dataset", "billing-proj.billing_export", "US", accounts.Created, "created in location US"},
	)

	// Deprovisioning leaves the API enabled.
	w.fake.ClearCalls()
	if err := w.deprovision(t); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, w.fake,
		"GET "+datasetsURL+"/billing_export",
		"DELETE "+datasetsURL+"/billing_export?deleteContents=true",
	)
	if got := w.fake.ServiceState(project, gcpprovision.TransferAPI); got != "ENABLED" {
		t.Errorf("transfer API is %s, want it left ENABLED", got)
	}
}

func TestProvisionKeepsADatasetItDidNotCreate(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
	}{
		{"unlabelled", nil},
		{"another provisioning's", map[string]string{"managed-by": "truecost", "truecost-infra": "0192f0c4-0000-7000-8000-000000000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, accounts.Settings{Region: "US"})
			w.fake.AddDataset(gcpfake.Dataset{Project: project, ID: "billing_export", Location: "EU", Labels: tt.labels})
			w.fake.AddTable(project, "billing_export", "gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9")
			if err := w.provision(t); err != nil {
				t.Fatal(err)
			}
			assertCalls(t, w.fake,
				"GET "+servicePath,
				"POST "+servicePath+":enable {}",
				"POST "+datasetsURL+" "+datasetBody(t, "US"),
				"GET "+datasetsURL+"/billing_export",
			)
			assertLedger(t, w.req.Infra.Ledger,
				entry{"data-transfer-api", "Google Cloud API", "projects/billing-proj/services/bigquerydatatransfer.googleapis.com", "", accounts.Created, "enabled"},
				entry{"bigquery-dataset", "BigQuery dataset", "billing-proj.billing_export", "EU", accounts.Kept, "already exists in location EU; deprovisioning leaves it in place (the export writes there, not to US)"},
			)

			// Deprovisioning disables the API it enabled and leaves the dataset.
			w.fake.ClearCalls()
			if err := w.deprovision(t); err != nil {
				t.Fatal(err)
			}
			assertCalls(t, w.fake, "POST "+servicePath+":disable {}")
			if _, ok := w.fake.Dataset(project, "billing_export"); !ok {
				t.Error("the dataset Truecost did not create was deleted")
			}
			if got := w.fake.ServiceState(project, gcpprovision.TransferAPI); got != "DISABLED" {
				t.Errorf("transfer API is %s, want DISABLED", got)
			}
		})
	}
}

func TestProvisionTakesItsOwnDatasetFromAnEarlierAttempt(t *testing.T) {
	w := newWorld(t, accounts.Settings{})
	w.fake.AddDataset(gcpfake.Dataset{Project: project, ID: "billing_export", Location: "US",
		Labels: map[string]string{"managed-by": "truecost", "truecost-infra": infraID}})
	w.fake.EnableService(project, gcpprovision.TransferAPI)
	if err := w.provision(t); err != nil {
		t.Fatal(err)
	}
	assertLedger(t, w.req.Infra.Ledger,
		entry{"data-transfer-api", "Google Cloud API", "projects/billing-proj/services/bigquerydatatransfer.googleapis.com", "", accounts.Kept, "already enabled"},
		entry{"bigquery-dataset", "BigQuery dataset", "billing-proj.billing_export", "US", accounts.Created, "by an earlier attempt"},
	)
}

func TestRetryContinuesAtTheFailedStep(t *testing.T) {
	w := newWorld(t, accounts.Settings{})
	w.fake.FailOnce(gcpfake.DatasetsInsert, http.StatusForbidden, "PERMISSION_DENIED",
		"Access Denied: Project billing-proj: User does not have bigquery.datasets.create permission in project billing-proj.")
	err := w.provision(t)
	if domain.ErrorCode(err) != domain.Forbidden {
		t.Fatalf("got %v, want a forbidden error", err)
	}
	want := "access denied to dataset billing-proj.billing_export (the service account needs BigQuery Data Owner): Access Denied: Project billing-proj: User does not have bigquery.datasets.create permission"
	if msg := domain.ErrorMessage(err); !strings.Contains(msg, want) {
		t.Errorf("message %q, want it to contain %q", msg, want)
	}
	assertLedger(t, w.req.Infra.Ledger,
		entry{"data-transfer-api", "Google Cloud API", "projects/billing-proj/services/bigquerydatatransfer.googleapis.com", "", accounts.Created, "enabled"},
	)

	// The retry starts at the dataset; the API is not asked about again.
	w.fake.ClearCalls()
	if err := w.provision(t); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, w.fake, "POST "+datasetsURL+" "+datasetBody(t, "US"))
	assertLedger(t, w.req.Infra.Ledger,
		entry{"data-transfer-api", "Google Cloud API", "projects/billing-proj/services/bigquerydatatransfer.googleapis.com", "", accounts.Created, "enabled"},
		entry{"bigquery-dataset", "BigQuery dataset", "billing-proj.billing_export", "US", accounts.Created, "created"},
	)
}

func TestDeprovisionRemovesWhatItCreatedInReverse(t *testing.T) {
	w := newWorld(t, accounts.Settings{Region: "eu"})
	w.fake.SetOperationPolls(1)
	if err := w.provision(t); err != nil {
		t.Fatal(err)
	}
	// The export has written its table since.
	w.fake.AddTable(project, "billing_export", "gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9")
	w.fake.ClearCalls()
	if err := w.deprovision(t); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, w.fake,
		"GET "+datasetsURL+"/billing_export",
		"DELETE "+datasetsURL+"/billing_export?deleteContents=true",
		"POST "+servicePath+":disable {}",
		"GET /v1/operations/acf.p2-2",
	)
	if _, ok := w.fake.Dataset(project, "billing_export"); ok {
		t.Error("the dataset is still there")
	}
	if got := w.fake.ServiceState(project, gcpprovision.TransferAPI); got != "DISABLED" {
		t.Errorf("transfer API is %s, want DISABLED", got)
	}
}

func TestDeprovisionAfterAFailureContinues(t *testing.T) {
	w := newWorld(t, accounts.Settings{})
	if err := w.provision(t); err != nil {
		t.Fatal(err)
	}
	w.fake.FailOperationOnce(gcpfake.ServicesDisable, 9, "Cannot disable service: it has dependent services enabled.")
	err := w.deprovision(t)
	if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(domain.ErrorMessage(err), "disabling bigquerydatatransfer.googleapis.com in project billing-proj failed: Cannot disable service") {
		t.Fatalf("got %v, want the operation's failure as an invalid error", err)
	}
	// The dataset was removed before the failure; removing it again finds
	// nothing to do, and the API is disabled this time.
	w.fake.ClearCalls()
	if err := w.deprovision(t); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, w.fake, "POST "+servicePath+":disable {}")
}

func TestDeprovisionRefusesADatasetThatLostItsLabels(t *testing.T) {
	w := newWorld(t, accounts.Settings{})
	if err := w.provision(t); err != nil {
		t.Fatal(err)
	}
	// Someone deleted the dataset and made another of the same name.
	w.fake.AddDataset(gcpfake.Dataset{Project: project, ID: "billing_export", Location: "US"})
	w.fake.ClearCalls()
	err := w.deprovision(t)
	if domain.ErrorCode(err) != domain.Conflict || !strings.Contains(domain.ErrorMessage(err), "dataset billing-proj.billing_export no longer carries the labels") {
		t.Fatalf("got %v, want a conflict naming the dataset", err)
	}
	assertCalls(t, w.fake, "GET "+datasetsURL+"/billing_export")
	if _, ok := w.fake.Dataset(project, "billing_export"); !ok {
		t.Error("the dataset was deleted")
	}
}

func TestEnableFailures(t *testing.T) {
	t.Run("denied", func(t *testing.T) {
		w := newWorld(t, accounts.Settings{})
		w.fake.FailOnce(gcpfake.ServicesGet, http.StatusForbidden, "PERMISSION_DENIED", "Permission denied to get service [bigquerydatatransfer.googleapis.com]")
		err := w.provision(t)
		want := "access denied to the services of project billing-proj (the service account needs Service Usage Admin): Permission denied to get service"
		if domain.ErrorCode(err) != domain.Forbidden || !strings.Contains(domain.ErrorMessage(err), want) {
			t.Fatalf("got %v, want a forbidden error containing %q", err, want)
		}
		if len(w.req.Infra.Ledger) != 0 {
			t.Errorf("ledger = %+v, want it empty", w.req.Infra.Ledger)
		}
	})
	t.Run("operation failed", func(t *testing.T) {
		w := newWorld(t, accounts.Settings{})
		w.fake.FailOperationOnce(gcpfake.ServicesEnable, 7, "Permission denied to enable service [bigquerydatatransfer.googleapis.com]")
		err := w.provision(t)
		if domain.ErrorCode(err) != domain.Forbidden || !strings.Contains(domain.ErrorMessage(err), "enabling bigquerydatatransfer.googleapis.com in project billing-proj failed: Permission denied") {
			t.Fatalf("got %v, want the operation's failure as a forbidden error", err)
		}
	})
	t.Run("operation never ends", func(t *testing.T) {
		w := newWorld(t, accounts.Settings{})
		w.fake.SetOperationPolls(1000)
		err := w.provision(t)
		if domain.ErrorCode(err) != domain.Unavailable || !strings.Contains(domain.ErrorMessage(err), "still running") {
			t.Fatalf("got %v, want an unavailable error", err)
		}
		polls := 0
		for _, c := range w.fake.Calls() {
			if strings.HasPrefix(c.Path, "/v1/operations/") {
				polls++
			}
		}
		if polls != 5 {
			t.Errorf("polled %d times, want MaxPolls (5)", polls)
		}
	})
}

func TestStepsNeedTheServiceAccountKey(t *testing.T) {
	w := newWorld(t, accounts.Settings{})
	w.req.Credentials = connectors.Secret{"other": "x"}
	err := w.provision(t)
	if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(domain.ErrorMessage(err), "account Billing project has no service account key") {
		t.Fatalf("got %v, want an invalid error", err)
	}
	if calls := w.fake.Calls(); len(calls) != 0 {
		t.Errorf("requests sent without a key: %v", calls)
	}
}

func TestValidate(t *testing.T) {
	acct := accounts.Account{Name: "Billing project", Provider: connectors.GCP, ProviderAccountID: project, BillingAccountID: billingAccount}
	p := gcpprovision.New(gcpprovision.Config{})
	good := []struct {
		in, want accounts.Settings
	}{
		{accounts.Settings{}, accounts.Settings{Region: "US", ProjectID: project, Dataset: "billing_export"}},
		{accounts.Settings{Region: " eu ", ProjectID: "infra-proj-1", Dataset: "costs_2026"},
			accounts.Settings{Region: "EU", ProjectID: "infra-proj-1", Dataset: "costs_2026"}},
		{accounts.Settings{Region: "Europe-West1", ExportType: "cur", RegisterExportProvider: true},
			accounts.Settings{Region: "europe-west1", ProjectID: project, Dataset: "billing_export"}},
	}
	for _, tt := range good {
		got := tt.in
		if err := p.Validate(&got, acct); err != nil {
			t.Errorf("Validate(%+v): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Validate(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	noBilling := acct
	noBilling.BillingAccountID = ""
	bad := []struct {
		set  accounts.Settings
		acct accounts.Account
		want string
	}{
		{accounts.Settings{Region: "mars-north1"}, acct, `region: "mars-north1" is not a BigQuery location`},
		{accounts.Settings{ProjectID: "Bad_Project"}, acct, `project ID: "Bad_Project" is not a project ID`},
		{accounts.Settings{Dataset: "billing-export"}, acct, `dataset: "billing-export" is not a dataset name`},
		{accounts.Settings{}, noBilling, "billing account ID: account Billing project has none"},
	}
	for _, tt := range bad {
		set := tt.set
		err := p.Validate(&set, tt.acct)
		if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(domain.ErrorMessage(err), tt.want) {
			t.Errorf("Validate(%+v): got %v, want an invalid error containing %q", tt.set, err, tt.want)
		}
	}
}

func TestManualNamesTheProjectAndDataset(t *testing.T) {
	p := gcpprovision.New(gcpprovision.Config{})
	steps := p.Manual(accounts.Infrastructure{Provider: connectors.GCP,
		Settings: accounts.Settings{Region: "US", ProjectID: "infra-proj-1", Dataset: "costs_2026"}})
	text := strings.Join(steps, "\n")
	for _, want := range []string{"Billing", "Billing export", "BigQuery export", "Detailed usage cost", "Edit settings",
		"project infra-proj-1 and dataset costs_2026", "Save", "within a few hours"} {
		if !strings.Contains(text, want) {
			t.Errorf("manual steps lack %q:\n%s", want, text)
		}
	}
}

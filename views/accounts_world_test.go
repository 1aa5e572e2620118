package views_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views"
)

// scriptedStep is one step a scriptedProvisioner runs.
type scriptedStep struct {
	name, kind string
	state      accounts.ResourceState
	items      []accounts.Item
	note       string
}

// scriptedProvisioner provisions one provider by a script: it records the
// steps it ran and the resources it removed, fails a step once when told,
// and builds the connector reading the export from the request.
type scriptedProvisioner struct {
	provider connectors.Provider
	steps    []scriptedStep
	manual   []string

	mu       sync.Mutex
	failOnce map[string]error // step name → error returned by its next run
	ran      []string
	removed  []string
	settings []accounts.Settings
}

func (s *scriptedProvisioner) Validate(set *accounts.Settings, a accounts.Account) error {
	if set.Region == "nowhere" {
		return domain.Errorf(domain.Invalid, "region: %q is not a region of %s", set.Region, accounts.ProviderLabel(a.Provider))
	}
	if set.Region == "" {
		set.Region = "us-east-1"
	}
	if s.provider == connectors.AWS && set.ExportType == "" {
		set.ExportType = "cur2"
	}
	if s.provider == connectors.GCP && set.Dataset == "" {
		set.Dataset = "truecost_billing_export"
	}
	s.mu.Lock()
	s.settings = append(s.settings, *set)
	s.mu.Unlock()
	return nil
}

func (s *scriptedProvisioner) Steps(req accounts.Request) []accounts.Step {
	var out []accounts.Step
	for _, st := range s.steps {
		out = append(out, accounts.Step{Name: st.name, Kind: st.kind, Run: func(context.Context) (accounts.Resource, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.ran = append(s.ran, st.name)
			if err := s.failOnce[st.name]; err != nil {
				delete(s.failOnce, st.name)
				return accounts.Resource{}, err
			}
			return accounts.Resource{ID: s.resourceID(req, st.name), Region: req.Infra.Settings.Region, State: st.state,
				Note: st.note, Items: st.items}, nil
		}})
	}
	return out
}

func (s *scriptedProvisioner) resourceID(req accounts.Request, step string) string {
	return fmt.Sprintf("truecost-%s-%s", step, req.Infra.ID[len(req.Infra.ID)-8:])
}

func (s *scriptedProvisioner) Remove(_ context.Context, _ accounts.Request, r accounts.Resource) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.failOnce["remove "+r.Step]; err != nil {
		delete(s.failOnce, "remove "+r.Step)
		return err
	}
	s.removed = append(s.removed, r.Step)
	return nil
}

func (s *scriptedProvisioner) Connector(req accounts.Request) connectors.Input {
	a, set := req.Account, req.Infra.Settings
	in := connectors.Input{Name: accounts.ProviderLabel(a.Provider) + " billing export", Provider: a.Provider, Secret: req.Credentials}
	switch a.Provider {
	case connectors.AWS:
		in.Config = connectors.Config{AWSAccountID: a.ProviderAccountID, Bucket: "truecost-billing-" + req.Infra.ID[len(req.Infra.ID)-8:],
			Path: "exports", FileType: set.ExportType, Region: set.Region}
	case connectors.Azure:
		in.Config = connectors.Config{StorageAccount: "truecostbilling", Container: "exports"}
	case connectors.GCP:
		in.Config = connectors.Config{BillingAccountID: a.BillingAccountID, ProjectID: set.ProjectID, Dataset: set.Dataset}
	}
	return in
}

func (s *scriptedProvisioner) Manual(accounts.Infrastructure) []string { return s.manual }

func (s *scriptedProvisioner) failNext(step string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failOnce == nil {
		s.failOnce = map[string]error{}
	}
	s.failOnce[step] = err
}

func (s *scriptedProvisioner) record() (ran, removed []string, settings []accounts.Settings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Provisioning validates the settings when asked and again when its
	// job runs: each provisioning counts once.
	var distinct []accounts.Settings
	for i, set := range s.settings {
		if i == 0 || set != s.settings[i-1] {
			distinct = append(distinct, set)
		}
	}
	return append([]string(nil), s.ran...), append([]string(nil), s.removed...), distinct
}

// awsTags are the cost allocation tags of the scripted AWS provisioning:
// one it could not activate, with the console steps.
var awsTags = []accounts.Item{
	{Name: "Project", State: "Active"},
	{Name: "User", State: "Active"},
	{Name: "SessionID", State: "NotPermitted", Note: "Activate it in the Billing console: Cost allocation tags → User-defined → SessionID → Activate."},
}

func scriptedAWS() *scriptedProvisioner {
	return &scriptedProvisioner{provider: connectors.AWS, steps: []scriptedStep{
		{name: "bucket", kind: "S3 bucket", state: accounts.Created},
		{name: "bucket-policy", kind: "S3 bucket policy", state: accounts.Created},
		{name: "export", kind: "CUR 2.0 export", state: accounts.Created},
		{name: "tags", kind: "cost allocation tags", state: accounts.Kept, items: awsTags, note: "2 of 3 tags active"},
	}}
}

func scriptedAzure() *scriptedProvisioner {
	return &scriptedProvisioner{provider: connectors.Azure, steps: []scriptedStep{
		{name: "register", kind: "resource provider", state: accounts.Kept, note: "Microsoft.CostManagementExports was registered already"},
		{name: "group", kind: "resource group", state: accounts.Created},
		{name: "export", kind: "cost export", state: accounts.Created},
	}}
}

func scriptedGCP() *scriptedProvisioner {
	return &scriptedProvisioner{provider: connectors.GCP, steps: []scriptedStep{
		{name: "dataset", kind: "BigQuery dataset", state: accounts.Created},
	}, manual: []string{"In the Google Cloud console, open Billing → Billing export → BigQuery export.", "Choose this project and the dataset, then save."}}
}

// accountConsole is the console over a real SQLite store with the real
// account and connector rules and scripted provisioners: reseller
// Northwind (an admin and a member) with its customer Contoso, and the
// unrelated Fabrikam (an admin).
type accountConsole struct {
	*fixture
	*tenantWorld
	service         *accounts.Service
	aws, azure, gcp *scriptedProvisioner
}

// newAccountConsole builds the console; a provisioner given replaces the
// scripted AWS one.
func newAccountConsole(t *testing.T, provisioners ...accounts.Provisioner) *accountConsole {
	t.Helper()
	w := newTenantWorld(t)
	ac := &accountConsole{tenantWorld: w, aws: scriptedAWS(), azure: scriptedAzure(), gcp: scriptedGCP()}
	provs := map[connectors.Provider]accounts.Provisioner{connectors.AWS: ac.aws, connectors.Azure: ac.azure, connectors.GCP: ac.gcp}
	if len(provisioners) > 0 {
		provs[connectors.AWS] = provisioners[0]
	}
	ac.service = accounts.NewService(accounts.Deps{
		Store: w.store, Rights: w.rights, Sealer: w.sealer, Connectors: w.conns, Provisioners: provs, NewID: tenancy.NewID,
	})
	ac.fixture = w.serve(t, views.Deps{Accounts: ac.service})
	return ac
}

// add creates an account directly through the domain.
func (ac *accountConsole) add(p tenancy.Principal, orgID string, in accounts.Input) accounts.Account {
	ac.t.Helper()
	a, err := ac.service.Create(context.Background(), p, orgID, in)
	if err != nil {
		ac.t.Fatalf("create account %s: %v", in.Name, err)
	}
	return a
}

// credentials returns the stored credentials of an account, unsealed.
func (ac *accountConsole) credentials(orgID, id string) connectors.Secret {
	ac.t.Helper()
	_, sealed, err := ac.store.Account(context.Background(), orgID, id)
	if err != nil {
		ac.t.Fatal(err)
	}
	creds, err := connectors.OpenSecret(ac.sealer, sealed)
	if err != nil {
		ac.t.Fatal(err)
	}
	return creds
}

func (ac *accountConsole) infra(orgID string, p connectors.Provider) accounts.Infrastructure {
	ac.t.Helper()
	inf, err := ac.store.Infrastructure(context.Background(), orgID, p)
	if err != nil {
		ac.t.Fatalf("infrastructure of %s: %v", p, err)
	}
	return inf
}

const (
	testRoleARN     = "arn:aws:iam::663626350770:role/TruecostBilling"
	testAWSSecret   = "wJalrXUtnFEMI-K7MDENG-SECRET-ACCESS-KEY"
	testAzureSecret = "azure-CLIENT-SECRET-never-shown"
	testGCPKey      = `{"type":"service_account","project_id":"contoso-analytics","private_key":"-----BEGIN PRIVATE KEY-----GCP-PRIVATE-KEY-never-shown-----END PRIVATE KEY-----"}`
	testOCIKey      = "-----BEGIN PRIVATE KEY-----\nOCI-PRIVATE-KEY-never-shown\n-----END PRIVATE KEY-----"
)

func awsAccount(name string) accounts.Input {
	return accounts.Input{Provider: connectors.AWS, Name: name, ProviderAccountID: "663626350770",
		Credentials: connectors.Secret{"role_arn": testRoleARN}}
}

func azureAccount(name string) accounts.Input {
	return accounts.Input{Provider: connectors.Azure, Name: name, ProviderAccountID: "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
		Credentials: connectors.Secret{"tenant_id": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "client_secret": testAzureSecret}}
}

func gcpAccount(name string) accounts.Input {
	return accounts.Input{Provider: connectors.GCP, Name: name, ProviderAccountID: "contoso-analytics", BillingAccountID: "012345-6789AB-CDEF01",
		Credentials: connectors.Secret{"service_account_json": testGCPKey}}
}

func ociAccount(name string) accounts.Input {
	return accounts.Input{Provider: connectors.OCI, Name: name, ProviderAccountID: "ocid1.tenancy.oc1..aaaacontoso"}
}

// squash collapses the whitespace of a text.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// post sends a form with the session's CSRF token.
func (ac *accountConsole) post(c *http.Client, csrf, path string, form url.Values, header http.Header) *http.Response {
	ac.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(tenancy.CSRFFormField, csrf)
	return ac.postForm(c, path, form, header)
}

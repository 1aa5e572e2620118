package graph_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph"
)

// Credentials given to cloud accounts in these tests, besides the AWS ones
// of the connector tests; no answer may hold any of them.
const (
	azureClientSecret = "Qx8~azure.client.secret-value_0001"
	gcpKeyJSON        = `{"type":"service_account","project_id":"acme-billing","private_key_id":"k-0001","private_key":"gcp-private-key-material-0001"}`
	ociPrivateKey     = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7oci0001\n-----END PRIVATE KEY-----\n"
)

// accountSecrets are every credential value the account tests send.
var accountSecrets = []string{roleARN, accessKeyID, secretAccessKey, azureClientSecret, gcpKeyJSON,
	"gcp-private-key-material-0001", ociPrivateKey, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7oci0001"}

// Provider account IDs of the test accounts.
const (
	acmeAWSAccount   = "123456789012"
	acmeAWSAccount2  = "210987654321"
	acmeSubscription = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
	acmeProject      = "acme-billing"
	acmeTenancy      = "ocid1.tenancy.oc1..aaaaaaaaacmetenancy0001"
)

// accountWorld is Truecost with the real cloud account service over a real
// store, the real connector service and a real AES sealer, reached through
// HTTP. Organizations and users are those of connectorWorld. AWS and Google
// Cloud billing is provisioned by scripted provisioners; connectors read
// billingData.
type accountWorld struct {
	*apiWorld
	aws, gcp *scriptedProvisioner
}

func newAccountWorld(t *testing.T, store *sqlstore.Store) *accountWorld {
	t.Helper()
	w := &accountWorld{apiWorld: newAPIWorld(t, store, billingSources{}, accountSecrets), aws: awsScript(), gcp: gcpScript()}
	accts := accounts.NewService(accounts.Deps{
		Store:        store,
		Rights:       w.rights,
		Sealer:       w.sealer,
		Connectors:   w.conns,
		Provisioners: map[connectors.Provider]accounts.Provisioner{connectors.AWS: w.aws, connectors.GCP: w.gcp},
		NewID:        tenancy.NewID,
	})
	w.serve(t, graph.Deps{Accounts: accts})
	return w
}

const infraFields = `id organizationId provider accountId region exportType registerExportProvider projectId dataset
  state error connectorId manualSteps deprovisionWarning createdAt updatedAt provisionedAt
  ledger { step kind resourceId region state note at deletedAt items { name state note } }`

const accountFields = `id organizationId provider name providerAccountId billingAccountId hasCredentials
  awsExternalId awsTrustPolicy billingStatus statusDetail statusSince lastCheckedAt createdAt
  ociPolicyStatements statusHistory { from to detail at }
  infrastructure { ` + infraFields + ` }`

var (
	createAccount = `mutation($org: ID, $in: CloudAccountInput!) { createCloudAccount(organizationId: $org, input: $in) { ` + accountFields + ` } }`
	updateAccount = `mutation($org: ID, $id: ID!, $in: CloudAccountInput!) { updateCloudAccount(organizationId: $org, id: $id, input: $in) { ` + accountFields + ` } }`
	deleteAccount = `mutation($org: ID, $id: ID!) { deleteCloudAccount(organizationId: $org, id: $id) }`
	getAccount    = `query($org: ID, $id: ID!) { cloudAccount(organizationId: $org, id: $id) { ` + accountFields + ` } }`
	listAccounts  = `query($org: ID) { cloudAccounts(organizationId: $org) { ` + accountFields + ` } }`
	listInfra     = `query($org: ID) { billingInfrastructure(organizationId: $org) { ` + infraFields + ` } }`
	provision     = asJob(`mutation($org: ID, $account: ID!, $in: ProvisionBillingInput!) {
  provisionBilling(organizationId: $org, accountId: $account, input: $in) { id } }`, "provisionBilling", `infrastructure { `+infraFields+` }`)
	deprovision = `mutation($org: ID, $provider: CloudProvider!, $confirm: Boolean!) {
  deprovisionBilling(organizationId: $org, provider: $provider, confirm: $confirm) { ` + infraFields + ` } }`
	checkStatus = asJob(`mutation($org: ID) { checkBillingStatus(organizationId: $org) { id } }`, "checkBillingStatus", `accounts { `+accountFields+` }`)
)

// apiAccount is a CloudAccount as a client decodes it.
type apiAccount struct {
	ID                string            `json:"id"`
	OrganizationID    string            `json:"organizationId"`
	Provider          string            `json:"provider"`
	Name              string            `json:"name"`
	ProviderAccountID string            `json:"providerAccountId"`
	BillingAccountID  *string           `json:"billingAccountId"`
	HasCredentials    bool              `json:"hasCredentials"`
	AWSExternalID     *string           `json:"awsExternalId"`
	AWSTrustPolicy    *string           `json:"awsTrustPolicy"`
	BillingStatus     string            `json:"billingStatus"`
	StatusDetail      string            `json:"statusDetail"`
	StatusSince       string            `json:"statusSince"`
	LastCheckedAt     *string           `json:"lastCheckedAt"`
	CreatedAt         string            `json:"createdAt"`
	OCIPolicy         []string          `json:"ociPolicyStatements"`
	StatusHistory     []apiStatusChange `json:"statusHistory"`
	Infrastructure    *apiInfra         `json:"infrastructure"`
}

type apiStatusChange struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Detail string `json:"detail"`
	At     string `json:"at"`
}

// apiInfra is a BillingInfrastructure as a client decodes it.
type apiInfra struct {
	ID                     string     `json:"id"`
	OrganizationID         string     `json:"organizationId"`
	Provider               string     `json:"provider"`
	AccountID              string     `json:"accountId"`
	Region                 *string    `json:"region"`
	ExportType             *string    `json:"exportType"`
	RegisterExportProvider bool       `json:"registerExportProvider"`
	ProjectID              *string    `json:"projectId"`
	Dataset                *string    `json:"dataset"`
	State                  string     `json:"state"`
	Error                  *string    `json:"error"`
	ConnectorID            *string    `json:"connectorId"`
	ManualSteps            []string   `json:"manualSteps"`
	DeprovisionWarning     string     `json:"deprovisionWarning"`
	CreatedAt              string     `json:"createdAt"`
	UpdatedAt              string     `json:"updatedAt"`
	ProvisionedAt          *string    `json:"provisionedAt"`
	Ledger                 []apiEntry `json:"ledger"`
}

type apiEntry struct {
	Step       string  `json:"step"`
	Kind       string  `json:"kind"`
	ResourceID string  `json:"resourceId"`
	Region     *string `json:"region"`
	State      string  `json:"state"`
	Note       *string `json:"note"`
	At         string  `json:"at"`
	DeletedAt  *string `json:"deletedAt"`
	Items      []struct {
		Name  string  `json:"name"`
		State string  `json:"state"`
		Note  *string `json:"note"`
	} `json:"items"`
}

// steps returns the step names of a ledger with their states.
func (inf apiInfra) steps() []string {
	var out []string
	for _, e := range inf.Ledger {
		out = append(out, e.Step+":"+e.State)
	}
	return out
}

// Inputs of one valid account per provider, with credentials.
func awsAccountInput(name, id string) map[string]any {
	return map[string]any{"provider": "AWS", "name": name, "providerAccountId": id,
		"credentials": map[string]any{"roleArn": roleARN}}
}

func azureAccountInput(name string) map[string]any {
	return map[string]any{"provider": "AZURE", "name": name, "providerAccountId": strings.ToUpper(acmeSubscription),
		"credentials": map[string]any{"tenantId": "7a1b2c3d-0000-4000-8000-000000000001", "clientId": "7a1b2c3d-0000-4000-8000-000000000002", "clientSecret": azureClientSecret}}
}

func gcpAccountInput(name string) map[string]any {
	return map[string]any{"provider": "GCP", "name": name, "providerAccountId": acmeProject, "billingAccountId": "01a2b3-c4d5e6-f7a8b9",
		"credentials": map[string]any{"serviceAccountJson": gcpKeyJSON}}
}

func ociAccountInput(name string) map[string]any {
	return map[string]any{"provider": "OCI", "name": name, "providerAccountId": acmeTenancy,
		"credentials": map[string]any{"userOcid": "ocid1.user.oc1..aaaaaaaaacmeuser0001", "fingerprint": "12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0",
			"privateKey": ociPrivateKey, "region": "eu-frankfurt-1"}}
}

// create adds an account as token in org ("" for the caller's own).
func (w *accountWorld) create(t *testing.T, token, org string, in map[string]any) apiAccount {
	t.Helper()
	var out struct {
		CreateCloudAccount apiAccount `json:"createCloudAccount"`
	}
	w.must(t, token, createAccount, map[string]any{"org": nullable(org), "in": in}, &out)
	return out.CreateCloudAccount
}

func (w *accountWorld) get(t *testing.T, token, org, id string) apiAccount {
	t.Helper()
	var out struct {
		CloudAccount apiAccount `json:"cloudAccount"`
	}
	w.must(t, token, getAccount, map[string]any{"org": nullable(org), "id": id}, &out)
	return out.CloudAccount
}

func (w *accountWorld) list(t *testing.T, token, org string) []apiAccount {
	t.Helper()
	var out struct {
		CloudAccounts []apiAccount `json:"cloudAccounts"`
	}
	w.must(t, token, listAccounts, map[string]any{"org": nullable(org)}, &out)
	return out.CloudAccounts
}

func (w *accountWorld) infra(t *testing.T, token, org string) []apiInfra {
	t.Helper()
	var out struct {
		BillingInfrastructure []apiInfra `json:"billingInfrastructure"`
	}
	w.must(t, token, listInfra, map[string]any{"org": nullable(org)}, &out)
	return out.BillingInfrastructure
}

// provision provisions billing from an account as the acme admin and
// expects it to finish.
func (w *accountWorld) provision(t *testing.T, accountID string, in map[string]any) apiInfra {
	t.Helper()
	var out struct {
		ProvisionBilling apiInfra `json:"provisionBilling"`
	}
	w.must(t, w.acmeAdmin, provision, map[string]any{"account": accountID, "in": in}, &out)
	return out.ProvisionBilling
}

// scriptedProvisioner provisions by running a fixed list of steps that do
// nothing but record that they ran; a step can be told to fail once.
// Remove records what it is asked to remove and can also fail once.
type scriptedProvisioner struct {
	steps     func(req accounts.Request) []accounts.Resource
	connector func(req accounts.Request) connectors.Input
	manual    []string
	validate  func(s *accounts.Settings, a accounts.Account) error

	mu         sync.Mutex
	failStep   map[string]error
	failRemove map[string]error
	ran        []string
	removed    []string
}

var _ accounts.Provisioner = (*scriptedProvisioner)(nil)

// bucketOf is the scripted AWS bucket name: stable for one infrastructure.
func bucketOf(inf accounts.Infrastructure) string { return "truecost-billing-" + inf.ID[:8] }

// awsScript provisions a bucket, its policy, a cost export and the cost
// allocation tags (kept: activating tags creates nothing to remove).
func awsScript() *scriptedProvisioner {
	return &scriptedProvisioner{
		validate: func(s *accounts.Settings, _ accounts.Account) error {
			if s.Region == "" {
				s.Region = "us-east-1"
			}
			switch s.ExportType {
			case "":
				s.ExportType = "cur2"
			case "cur", "cur2":
			default:
				return domain.Errorf(domain.Invalid, "export type: must be cur2 or cur")
			}
			s.RegisterExportProvider, s.ProjectID, s.Dataset = false, "", ""
			return nil
		},
		steps: func(req accounts.Request) []accounts.Resource {
			bucket, region := bucketOf(req.Infra), req.Infra.Settings.Region
			return []accounts.Resource{
				{Step: "bucket", Kind: "S3 bucket", ID: bucket, Region: region, State: accounts.Created},
				{Step: "bucket-policy", Kind: "bucket policy", ID: bucket, Region: region, State: accounts.Created},
				{Step: "export", Kind: "CUR 2.0 export", ID: "truecost-" + req.Infra.ID[:8], Region: "us-east-1", State: accounts.Created},
				{Step: "tags", Kind: "cost allocation tags", ID: "user-defined tags", State: accounts.Kept,
					Note: "one tag needs the Billing console", Items: []accounts.Item{
						{Name: "Project", State: "Active"},
						{Name: "User", State: "NotPermitted", Note: "activate it under Billing → Cost allocation tags"},
					}},
			}
		},
		connector: func(req accounts.Request) connectors.Input {
			s := req.Infra.Settings
			return connectors.Input{Provider: connectors.AWS, Name: "AWS billing export",
				Config: connectors.Config{AWSAccountID: req.Account.ProviderAccountID, Bucket: bucketOf(req.Infra), Path: "exports",
					FileType: s.ExportType, Region: s.Region},
				Secret: req.Credentials}
		},
		failStep: map[string]error{}, failRemove: map[string]error{},
	}
}

// gcpScript provisions a BigQuery dataset and enables the transfer API;
// the export itself is left to the user.
func gcpScript() *scriptedProvisioner {
	return &scriptedProvisioner{
		validate: func(s *accounts.Settings, a accounts.Account) error {
			if s.Region == "" {
				s.Region = "US"
			}
			if s.ProjectID == "" {
				s.ProjectID = a.ProviderAccountID
			}
			if s.Dataset == "" {
				s.Dataset = "truecost_billing"
			}
			s.ExportType, s.RegisterExportProvider = "", false
			return nil
		},
		steps: func(req accounts.Request) []accounts.Resource {
			s := req.Infra.Settings
			return []accounts.Resource{
				{Step: "dataset", Kind: "BigQuery dataset", ID: s.ProjectID + ":" + s.Dataset, Region: s.Region, State: accounts.Created},
				{Step: "transfer-api", Kind: "service", ID: "bigquerydatatransfer.googleapis.com", State: accounts.Kept, Note: "already enabled"},
			}
		},
		connector: func(req accounts.Request) connectors.Input {
			s := req.Infra.Settings
			return connectors.Input{Provider: connectors.GCP, Name: "Google Cloud billing export",
				Config: connectors.Config{BillingAccountID: req.Account.BillingAccountID, ProjectID: s.ProjectID, Dataset: s.Dataset, Region: s.Region},
				Secret: req.Credentials}
		},
		manual:   []string{"Open Billing → Billing export → BigQuery export.", "Choose the project and the dataset, then save."},
		failStep: map[string]error{}, failRemove: map[string]error{},
	}
}

func (p *scriptedProvisioner) Validate(s *accounts.Settings, a accounts.Account) error {
	return p.validate(s, a)
}

func (p *scriptedProvisioner) Steps(req accounts.Request) []accounts.Step {
	var out []accounts.Step
	for _, r := range p.steps(req) {
		out = append(out, accounts.Step{Name: r.Step, Kind: r.Kind, Run: func(context.Context) (accounts.Resource, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.ran = append(p.ran, r.Step)
			if err := p.failStep[r.Step]; err != nil {
				delete(p.failStep, r.Step)
				return accounts.Resource{}, err
			}
			return r, nil
		}})
	}
	return out
}

func (p *scriptedProvisioner) Remove(_ context.Context, _ accounts.Request, r accounts.Resource) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removed = append(p.removed, r.Step)
	if err := p.failRemove[r.Step]; err != nil {
		delete(p.failRemove, r.Step)
		return err
	}
	return nil
}

func (p *scriptedProvisioner) Connector(req accounts.Request) connectors.Input {
	return p.connector(req)
}

func (p *scriptedProvisioner) Manual(accounts.Infrastructure) []string { return p.manual }

// failOnce makes the next run of step fail with err.
func (p *scriptedProvisioner) failOnce(step string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failStep[step] = err
}

func (p *scriptedProvisioner) failRemoveOnce(step string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failRemove[step] = err
}

// calls returns and forgets the steps run and the resources removed.
func (p *scriptedProvisioner) calls() (ran, removed []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ran, removed = p.ran, p.removed
	p.ran, p.removed = nil, nil
	return ran, removed
}

// billingData serves what a provisioned export would deliver: October
// 2026 charges of the AWS account (or Google Cloud project) the connector
// reads, on the 1st and 2nd.
type billingSources struct{}

func (billingSources) Source(_ context.Context, c connectors.Connector, _ connectors.Secret) (billing.Source, error) {
	account := c.Config.AWSAccountID
	if c.Provider == connectors.GCP {
		account = c.Config.ProjectID
	}
	return billingData{account: account, provider: accounts.ProviderLabel(c.Provider)}, nil
}

type billingData struct{ account, provider string }

var billingMonth = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func (billingData) Scan(context.Context) (billing.Manifest, error) {
	return billing.Manifest{Format: "focus", Parts: []billing.Part{{Period: billingMonth, Version: "v1",
		Files: []billing.SourceFile{{Name: "exports/2026-10/part-0.csv.gz", Size: 100}}}}}, nil
}

func (d billingData) Read(_ context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	for i, cost := range []string{"4.50", "5.25"} {
		l := billing.LineItem{
			BillingPeriodStart: p.Period, BillingPeriodEnd: p.Period.AddDate(0, 1, 0),
			ChargePeriodStart: p.Period.AddDate(0, 0, i), ChargePeriodEnd: p.Period.AddDate(0, 0, i+1),
			BillingCurrency: "USD", BilledCost: billing.Number(cost), EffectiveCost: billing.Number(cost),
			ProviderName: d.provider, ChargeCategory: "Usage",
			BillingAccountID: d.account, SubAccountID: d.account,
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	progress(100)
	return nil
}

var _ connectors.SourceFactory = billingSources{}

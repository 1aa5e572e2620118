// Package gcpprovision sets up Google Cloud's billing export for an
// organization: it implements accounts.Provisioner with the BigQuery API
// (the dataset the export writes to) and the Service Usage API (the
// BigQuery Data Transfer API the export needs). Google offers no API to
// switch the Cloud Billing export on, so Manual lists the console steps
// that remain; the billing connector then reads the export table through
// adapters/gcpbilling.
//
// It is a driven adapter of domain/accounts. The service account whose key
// the cloud account holds needs, in the dataset's project, permission to
// enable services (Service Usage Admin) and to create and delete datasets
// (BigQuery Data Owner or BigQuery Admin).
package gcpprovision

import (
	"context"
	"fmt"
	"github.com/truecost/truecost/adapters/cloudhttp"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

// Step names, the stable keys of the ledger.
const (
	StepTransferAPI = "data-transfer-api"
	StepDataset     = "bigquery-dataset"
)

// TransferAPI is the service the billing export to BigQuery needs.
const TransferAPI = "bigquerydatatransfer.googleapis.com"

// DefaultDataset is the dataset the export writes to unless the user
// names another.
const DefaultDataset = "billing_export"

// DefaultLocation is the BigQuery location used when none is chosen.
const DefaultLocation = "US"

// Labels Truecost puts on the datasets it creates. The infrastructure label
// tells its own dataset from one another organization's provisioning
// created in the same project.
const (
	ManagedByLabel = "managed-by"
	ManagedByValue = "truecost"
	InfraLabel     = "truecost-infra"
)

// ConnectorName is the name of the billing connector provisioning creates.
const ConnectorName = "Google Cloud billing export"

// Config says how to reach Google Cloud. The zero value uses the real
// APIs with the account's service-account key.
type Config struct {
	// BigQueryEndpoint and ServiceUsageEndpoint override the API base
	// URLs (tests, emulators, private endpoints). The billing connector
	// reads through BigQueryEndpoint too.
	BigQueryEndpoint     string
	ServiceUsageEndpoint string
	// HTTPClient, when set, sends every request as it is: it must add
	// credentials itself, since the account's key is then not used.
	HTTPClient *http.Client
	// Timeouts bound each request made with the account's key, its token
	// requests included.
	Timeouts cloudhttp.Timeouts
	// NoAuth sends requests without credentials, for emulators that
	// check none.
	NoAuth bool
	// Transport, when set, carries every request signed with the
	// account's key, the key's exchange for a token included (an outbound
	// policy's transport: the key's token URI is a tenant's choice).
	Transport http.RoundTripper
	// PollInterval is the wait between two reads of a long-running Service
	// Usage operation (default 2s); MaxPolls bounds how many reads happen
	// before giving up (default 90).
	PollInterval time.Duration
	MaxPolls     int
}

// Provisioner implements accounts.Provisioner for Google Cloud.
type Provisioner struct {
	cfg Config
}

var _ accounts.Provisioner = (*Provisioner)(nil)

// New returns a Provisioner using cfg.
func New(cfg Config) *Provisioner {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.MaxPolls <= 0 {
		cfg.MaxPolls = 90
	}
	return &Provisioner{cfg: cfg}
}

// Locations are the BigQuery locations a dataset may be created in: the
// two multi-regions, then the regions.
var Locations = []string{
	"US", "EU",
	"us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3", "us-west4",
	"northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
	"southamerica-east1", "southamerica-west1",
	"europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
	"europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8",
	"europe-west9", "europe-west10", "europe-west12",
	"asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
	"asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
	"australia-southeast1", "australia-southeast2",
	"me-central1", "me-central2", "me-west1", "africa-south1",
}

// location returns the canonical spelling of a known BigQuery location.
func location(s string) (string, bool) {
	for _, l := range Locations {
		if strings.EqualFold(l, s) {
			return l, true
		}
	}
	return "", false
}

// Validate checks the settings for account a and fills their defaults:
// location US, the account's project, dataset billing_export. The account
// must carry its billing account ID, which names the export table.
func (p *Provisioner) Validate(s *accounts.Settings, a accounts.Account) error {
	bad := func(field, format string, args ...any) error {
		return domain.Errorf(domain.Invalid, "%s: %s", field, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(a.BillingAccountID) == "" {
		return bad("billing account ID", "account %s has none; add it to the account (Billing → Account management shows it, like 012345-6789AB-CDEF01): the export table is named after it",
			a.Name)
	}
	s.ExportType, s.RegisterExportProvider = "", false
	s.Region = strings.TrimSpace(s.Region)
	if s.Region == "" {
		s.Region = DefaultLocation
	}
	loc, ok := location(s.Region)
	if !ok {
		return bad("region", "%q is not a BigQuery location; choose US, EU or a region such as europe-west1", s.Region)
	}
	s.Region = loc
	s.ProjectID = strings.TrimSpace(s.ProjectID)
	if s.ProjectID == "" {
		s.ProjectID = a.ProviderAccountID
	}
	if !connectors.IsGCPProjectID(s.ProjectID) {
		return bad("project ID", "%q is not a project ID (6-30 lowercase letters, digits and dashes, starting with a letter)", s.ProjectID)
	}
	s.Dataset = strings.TrimSpace(s.Dataset)
	if s.Dataset == "" {
		s.Dataset = DefaultDataset
	}
	if !connectors.IsBigQueryName(s.Dataset) {
		return bad("dataset", "%q is not a dataset name (letters, digits and underscores)", s.Dataset)
	}
	return nil
}

// Steps enables the BigQuery Data Transfer API, then creates the dataset.
func (p *Provisioner) Steps(req accounts.Request) []accounts.Step {
	return []accounts.Step{
		{Name: StepTransferAPI, Kind: "Google Cloud API", Run: func(ctx context.Context) (accounts.Resource, error) {
			return p.enableTransferAPI(ctx, req)
		}},
		{Name: StepDataset, Kind: "BigQuery dataset", Run: func(ctx context.Context) (accounts.Resource, error) {
			return p.createDataset(ctx, req)
		}},
	}
}

// Remove deletes the dataset with its tables, or disables the API.
func (p *Provisioner) Remove(ctx context.Context, req accounts.Request, r accounts.Resource) error {
	switch r.Step {
	case StepDataset:
		return p.deleteDataset(ctx, req)
	case StepTransferAPI:
		return p.disableTransferAPI(ctx, req)
	}
	return domain.Errorf(domain.Internal, "Google Cloud provisioning has no step %q", r.Step)
}

// Connector is the billing connector that reads the export: the billing
// account's export table in the dataset, with the account's key.
func (p *Provisioner) Connector(req accounts.Request) connectors.Input {
	s := req.Infra.Settings
	return connectors.Input{
		Provider: connectors.GCP,
		Name:     ConnectorName,
		Config: connectors.Config{BillingAccountID: req.Account.BillingAccountID, ProjectID: s.ProjectID,
			Dataset: s.Dataset, Region: s.Region, Endpoint: p.cfg.BigQueryEndpoint},
		Secret: connectors.Secret{"service_account_json": req.Credentials["service_account_json"]},
	}
}

// Manual lists the console steps that switch the export on.
func (p *Provisioner) Manual(inf accounts.Infrastructure) []string {
	s := inf.Settings
	return []string{
		"Open the Google Cloud console, go to Billing and pick the billing account project " + s.ProjectID +
			" is billed to (you need Billing Account Administrator or Billing Account Costs Manager on it, and BigQuery User on the project).",
		"Open Billing export, then the BigQuery export tab.",
		"Under Detailed usage cost, click Edit settings.",
		"Choose project " + s.ProjectID + " and dataset " + s.Dataset + ", then click Save.",
		"Google writes the first data within a few hours (it can take up to a day); the billing status shows Checking until it arrives.",
	}
}

var labelValueRE = regexp.MustCompile(`[^a-z0-9_-]`)

// labels are the labels of the dataset Truecost creates for inf: label
// values allow lowercase letters, digits, _ and - (at most 63).
func labels(inf accounts.Infrastructure) map[string]string {
	id := labelValueRE.ReplaceAllString(strings.ToLower(inf.ID), "_")
	if len(id) > 63 {
		id = id[:63]
	}
	return map[string]string{ManagedByLabel: ManagedByValue, InfraLabel: id}
}

// ours reports whether a dataset's labels say inf's provisioning created it.
func ours(got map[string]string, inf accounts.Infrastructure) bool {
	want := labels(inf)
	return got[ManagedByLabel] == want[ManagedByLabel] && got[InfraLabel] == want[InfraLabel]
}

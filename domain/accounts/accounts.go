// Package accounts holds an organization's cloud accounts, the billing
// infrastructure provisioned once per cloud provider to make that provider
// export its billing data, and each account's billing status: whether the
// organization's billing data holds costs for the account yet.
//
// Its Store port is implemented by adapters/sqlstore; its Provisioner port
// by one adapter per cloud (adapters/awsprovision, azureprovision,
// gcpprovision).
package accounts

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// Providers a cloud account may belong to.
var Providers = []connectors.Provider{connectors.AWS, connectors.Azure, connectors.GCP, connectors.OCI}

// Provisionable are the providers whose billing export Truecost can set
// up. Oracle always writes OCI cost reports, so OCI has nothing to provision.
var Provisionable = []connectors.Provider{connectors.AWS, connectors.Azure, connectors.GCP}

// Status is an account's billing status.
type Status string

// Billing statuses.
const (
	// Checking: a check is running, or infrastructure is provisioned and
	// the first data for this account has not arrived.
	Checking Status = "checking"
	// Provisioned: billing data for this account is in the organization's
	// billing data.
	Provisioned Status = "provisioned"
	// Unprovisioned: no billing infrastructure or data for this provider.
	Unprovisioned Status = "unprovisioned"
)

// Account is one cloud account of an organization.
type Account struct {
	ID       string
	OrgID    string
	Provider connectors.Provider
	Name     string
	// ProviderAccountID is the AWS account ID, Azure subscription ID, GCP
	// project ID or OCI tenancy OCID.
	ProviderAccountID string
	// BillingAccountID is the GCP billing account the project is billed to.
	BillingAccountID string
	// ExternalID is the AWS external ID the account's role trust policy
	// must require; generated per AWS account.
	ExternalID string
	// HasCredentials reports that sealed credentials are stored; they are
	// never returned.
	HasCredentials bool

	Status        Status
	StatusDetail  string
	StatusSince   time.Time
	LastCheckedAt time.Time
	CreatedAt     time.Time
}

// StatusChange is one entry of an account's status history.
type StatusChange struct {
	AccountID string
	From, To  Status
	Detail    string
	At        time.Time
}

// StatusUpdate is the outcome of one check of one account.
type StatusUpdate struct {
	Status Status
	Detail string
	At     time.Time
}

// SeenAccount is an account that appears in an organization's billing data:
// the billing (payer) account and sub-account of the rollups, the connector
// its data came through, with the last charge day seen.
type SeenAccount struct {
	BillingAccountID string
	SubAccountID     string
	ConnectorID      string
	LastDay          time.Time
}

// Store keeps accounts and infrastructure, always within one organization.
type Store interface {
	// CreateAccount stores a new account with its sealed credentials (nil
	// when there are none). A second account with the same provider and
	// provider account ID in one organization is a domain.Conflict.
	CreateAccount(ctx context.Context, a Account, sealed []byte) error
	// UpdateAccount changes one account atomically: fn receives the stored
	// account and its sealed credentials while the row is locked, edits
	// the name and IDs and returns the sealed credentials to keep (the ones
	// it was given, or new ones). An error from fn changes nothing. Status
	// fields are left alone. A duplicate provider account ID is a
	// domain.Conflict.
	UpdateAccount(ctx context.Context, orgID, id string, fn func(a *Account, sealed []byte) ([]byte, error)) (Account, error)
	DeleteAccount(ctx context.Context, orgID, id string) error
	// Account returns one account and its sealed credentials, or NotFound.
	Account(ctx context.Context, orgID, id string) (Account, []byte, error)
	// ListAccounts lists the accounts of the organizations, by name.
	ListAccounts(ctx context.Context, orgIDs []string) ([]Account, error)
	// AccountOrgs lists every organization that has at least one account,
	// for the hourly check.
	AccountOrgs(ctx context.Context) ([]string, error)
	// RecordStatus stores a check's outcome; when the status differs from
	// the stored one it also appends a StatusChange and moves StatusSince.
	RecordStatus(ctx context.Context, orgID, id string, u StatusUpdate) error
	// StatusHistory returns the status changes of the accounts of
	// accountIDs within orgIDs, newest first and at most limit per
	// account, keyed by account ID, in one query.
	StatusHistory(ctx context.Context, orgIDs, accountIDs []string, limit int) (map[string][]StatusChange, error)

	// Infrastructure returns the organization's infrastructure for a
	// provider, or NotFound.
	Infrastructure(ctx context.Context, orgID string, p connectors.Provider) (Infrastructure, error)
	ListInfrastructure(ctx context.Context, orgIDs []string) ([]Infrastructure, error)
	// SaveInfrastructure inserts or replaces the (org, provider) record,
	// ledger included, in one statement.
	SaveInfrastructure(ctx context.Context, inf Infrastructure) error

	// SeenAccounts lists the accounts present in the organization's billing
	// data (from the daily rollups), once per connector they came through.
	SeenAccounts(ctx context.Context, orgID string) ([]SeenAccount, error)
}

// ConnectorPort is what accounts needs of billing connectors: the
// connector a provisioned infrastructure reads through, and the state of an
// organization's connectors for the status detail.
type ConnectorPort interface {
	Create(ctx context.Context, p tenancy.Principal, orgID string, in connectors.Input) (connectors.Connector, error)
	Update(ctx context.Context, p tenancy.Principal, orgID, id string, in connectors.Input) (connectors.Connector, error)
	SetEnabled(ctx context.Context, p tenancy.Principal, orgID, id string, enabled bool) error
	List(ctx context.Context, p tenancy.Principal, orgID string) ([]connectors.Connector, error)
	Sync(ctx context.Context, p tenancy.Principal, orgID, id string, progress func(done, total int64)) (billing.IngestionRun, error)
}

// Input is what a user gives to add or change an account. On update, empty
// Credentials fields keep the stored values.
type Input struct {
	Provider          connectors.Provider
	Name              string
	ProviderAccountID string
	BillingAccountID  string
	// Credentials are the account's secrets by name: AWS role_arn (with
	// the account's external ID) or access_key_id + secret_access_key;
	// Azure tenant_id, client_id, client_secret; GCP service_account_json;
	// OCI user_ocid, fingerprint, private_key, region. Sealed at rest.
	Credentials connectors.Secret
}

var azureSubscriptionRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// validate checks and normalizes in for its provider.
func (in *Input) validate() error {
	bad := func(field, msg string) error { return domain.Errorf(domain.Invalid, "%s: %s", field, msg) }
	in.Name = strings.TrimSpace(in.Name)
	in.ProviderAccountID = strings.TrimSpace(in.ProviderAccountID)
	in.BillingAccountID = strings.TrimSpace(in.BillingAccountID)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		return bad("name", "1 to 100 characters")
	}
	c := in.Credentials
	switch in.Provider {
	case connectors.AWS:
		if !connectors.IsAWSAccountID(in.ProviderAccountID) {
			return bad("AWS account ID", "must be 12 digits")
		}
		if r := c["role_arn"]; r != "" && !connectors.IsAWSRoleARN(r) {
			return bad("role ARN", "not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
		}
		if (c["access_key_id"] == "") != (c["secret_access_key"] == "") {
			return bad("access keys", "give both the access key ID and the secret access key")
		}
	case connectors.Azure:
		if !azureSubscriptionRE.MatchString(in.ProviderAccountID) {
			return bad("subscription ID", "must be a GUID like 00000000-0000-0000-0000-000000000000")
		}
		in.ProviderAccountID = strings.ToLower(in.ProviderAccountID)
		set := 0
		for _, k := range []string{"tenant_id", "client_id", "client_secret"} {
			if c[k] != "" {
				set++
			}
		}
		if set != 0 && set != 3 {
			return bad("service principal", "give the tenant ID, client ID and client secret together")
		}
	case connectors.GCP:
		if !connectors.IsGCPProjectID(in.ProviderAccountID) {
			return bad("project ID", "6-30 lowercase letters, digits and dashes, starting with a letter")
		}
		if in.BillingAccountID != "" && !connectors.IsGCPBillingAccountID(in.BillingAccountID) {
			return bad("billing account ID", "must look like 012345-6789AB-CDEF01")
		}
		in.BillingAccountID = strings.ToUpper(in.BillingAccountID)
		if j := c["service_account_json"]; j != "" && !strings.HasPrefix(strings.TrimSpace(j), "{") {
			return bad("service account key", "paste the JSON key file")
		}
	case connectors.OCI:
		if !connectors.IsOCID(in.ProviderAccountID) || !strings.HasPrefix(in.ProviderAccountID, "ocid1.tenancy.") {
			return bad("tenancy OCID", "must look like ocid1.tenancy.oc1..aaaa…")
		}
		if u := c["user_ocid"]; u != "" && !connectors.IsOCID(u) {
			return bad("user OCID", "must look like ocid1.user.oc1..aaaa…")
		}
	default:
		return bad("provider", "must be one of aws, azure, gcp, oci")
	}
	if in.Provider != connectors.GCP {
		in.BillingAccountID = ""
	}
	return nil
}

// Matches reports whether the billing data account s belongs to a.
func (a Account) Matches(s SeenAccount) bool {
	id := a.ProviderAccountID
	switch a.Provider {
	case connectors.AWS:
		return s.SubAccountID == id || s.BillingAccountID == id
	case connectors.Azure:
		return strings.EqualFold(s.SubAccountID, id) || strings.HasSuffix(strings.ToLower(s.SubAccountID), "/subscriptions/"+id)
	case connectors.GCP:
		return s.SubAccountID == id
	case connectors.OCI:
		return s.BillingAccountID == id
	}
	return false
}

func isProvisionable(p connectors.Provider) bool {
	for _, q := range Provisionable {
		if q == p {
			return true
		}
	}
	return false
}

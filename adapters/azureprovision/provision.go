// Package azureprovision sets up Microsoft Cost Management's billing export
// for an organization's Azure subscription: it implements
// accounts.Provisioner with Azure Resource Manager (resource provider
// registration, resource group, storage account, role assignment, cost
// export) and Blob Storage (the container the export writes to). The
// billing connector then reads the export through adapters/azurebilling.
//
// It is a driven adapter of domain/accounts. The service principal whose
// secret the cloud account holds signs in with Microsoft Entra ID; it needs
// Contributor on the subscription (or the narrower rights to register
// resource providers, create resource groups and storage accounts, list
// storage keys and manage Cost Management exports), and, so that its
// connector may read the export with the same secret, the right to assign
// roles on the storage account it creates (Owner, or User Access
// Administrator). Without the latter the role is left for the user to
// assign, and Manual says how.
package azureprovision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

// Step names, the stable keys of the ledger, in the order they run.
const (
	StepExportProvider = "export-provider"
	StepResourceGroup  = "resource-group"
	StepStorageAccount = "storage-account"
	StepContainer      = "container"
	StepReaderRole     = "blob-reader-role"
	StepCostExport     = "cost-export"
)

// ExportProvider is the resource provider Cost Management exports to a
// storage account need in the subscription.
const ExportProvider = "Microsoft.CostManagementExports"

// Names of what provisioning creates besides the per-infrastructure
// resources.
const (
	// Container is the blob container the export writes to.
	Container = "cost-exports"
	// RootFolder is the folder of the container the export writes under;
	// the connector reads below it.
	RootFolder = "exports"
	// ConnectorName is the name of the billing connector provisioning
	// creates.
	ConnectorName = "Azure billing export"
)

// Tags Truecost puts on the resource group and storage account it
// creates. The infrastructure tag tells Truecost's own resources from ones
// that were there already.
const (
	ManagedByTag   = "managed-by"
	ManagedByValue = "truecost"
	InfraTag       = "truecost-infrastructure"
)

// DefaultRegion is the Azure location used when none is chosen.
const DefaultRegion = "eastus"

// Config says how to reach Azure. The zero value uses public Azure with the
// account's service principal.
type Config struct {
	// ARMEndpoint overrides the Azure Resource Manager base URL, e.g. a
	// test server's (default https://management.azure.com).
	ARMEndpoint string
	// AuthorityHost overrides the Microsoft Entra ID sign-in host (default
	// https://login.microsoftonline.com/). It must be https.
	AuthorityHost string
	// BlobEndpoint is the blob service URL of a storage account, with
	// {account} standing for the account's name, e.g.
	// http://127.0.0.1:10000/{account} for Azurite (default
	// https://{account}.blob.core.windows.net). The billing connector reads
	// through it too.
	BlobEndpoint string
	// HTTPClient sends every request (sign-in, Resource Manager, Blob
	// Storage); nil uses the SDK's default client.
	HTTPClient *http.Client
	// Credential, when set, signs Resource Manager requests instead of the
	// account's service principal.
	Credential azcore.TokenCredential
	// PollInterval is the wait between two reads of a long-running
	// operation when Azure does not say how long to wait (default 5s);
	// RegistrationTimeout bounds the wait for the export provider's
	// registration (default 5 minutes).
	PollInterval        time.Duration
	RegistrationTimeout time.Duration
	// Now is the clock that dates the export's schedule (default
	// time.Now).
	Now func() time.Time
}

// Provisioner implements accounts.Provisioner for Azure.
type Provisioner struct {
	cfg Config
}

var _ accounts.Provisioner = (*Provisioner)(nil)

// New returns a Provisioner using cfg.
func New(cfg Config) *Provisioner {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.RegistrationTimeout <= 0 {
		cfg.RegistrationTimeout = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provisioner{cfg: cfg}
}

// Validate checks the settings for account a and fills their defaults:
// region eastus. Azure location names are accepted in any case and with
// spaces ("West Europe" is westeurope).
func (p *Provisioner) Validate(s *accounts.Settings, a accounts.Account) error {
	if a.Provider != connectors.Azure {
		return domain.Errorf(domain.Invalid, "account %s is not an Azure account", a.Name)
	}
	s.ExportType, s.ProjectID, s.Dataset = "", "", ""
	s.Region = strings.TrimSpace(s.Region)
	if s.Region == "" {
		s.Region = DefaultRegion
	}
	loc, ok := Location(s.Region)
	if !ok {
		return domain.Errorf(domain.Invalid, "region: %q is not an Azure region; choose a location such as westeurope, eastus or southeastasia", s.Region)
	}
	s.Region = loc
	return nil
}

// Steps registers the export provider when needed, then creates the
// resource group, the storage account, its container, the connector's read
// access, and the daily cost export.
func (p *Provisioner) Steps(req accounts.Request) []accounts.Step {
	c := p.session(req)
	return []accounts.Step{
		{Name: StepExportProvider, Kind: "Azure resource provider", Run: c.exportProvider},
		{Name: StepResourceGroup, Kind: "Azure resource group", Run: c.resourceGroup},
		{Name: StepStorageAccount, Kind: "Azure storage account", Run: c.storageAccount},
		{Name: StepContainer, Kind: "Azure blob container", Run: c.container},
		{Name: StepReaderRole, Kind: "Azure role assignment", Run: c.readerRole},
		{Name: StepCostExport, Kind: "Cost Management export", Run: c.costExport},
	}
}

// Remove deletes one resource provisioning created; one already gone is
// not an error.
func (p *Provisioner) Remove(ctx context.Context, req accounts.Request, r accounts.Resource) error {
	c := p.session(req)
	switch r.Step {
	case StepCostExport:
		return c.deleteExport(ctx)
	case StepReaderRole:
		return c.deleteReaderRole(ctx)
	case StepContainer:
		return c.deleteContainer(ctx)
	case StepStorageAccount:
		return c.deleteStorageAccount(ctx)
	case StepResourceGroup:
		return c.deleteResourceGroup(ctx)
	case StepExportProvider:
		return c.unregisterProvider(ctx)
	}
	return domain.Errorf(domain.Internal, "Azure provisioning has no step %q", r.Step)
}

// Connector is the billing connector that reads the export: the container
// of the storage account, below RootFolder, with the account's service
// principal.
func (p *Provisioner) Connector(req accounts.Request) connectors.Input {
	n := namesOf(req.Infra.ID)
	cfg := connectors.Config{AzureCloud: "default", StorageAccount: n.storageAccount, Container: Container, Path: RootFolder}
	if p.cfg.BlobEndpoint != "" {
		cfg.Endpoint = p.blobEndpoint(n.storageAccount)
	}
	return connectors.Input{
		Provider: connectors.Azure,
		Name:     ConnectorName,
		Config:   cfg,
		Secret: connectors.Secret{"tenant_id": req.Credentials["tenant_id"], "client_id": req.Credentials["client_id"],
			"client_secret": req.Credentials["client_secret"]},
	}
}

// Manual lists what is left to do by hand: assigning the connector's read
// role when the service principal could not.
func (p *Provisioner) Manual(inf accounts.Infrastructure) []string {
	r, ok := inf.Resource(StepReaderRole)
	if !ok || !needsManualRole(r) {
		return nil
	}
	n := namesOf(inf.ID)
	scope := n.storageAccount
	if sa, ok := inf.Resource(StepStorageAccount); ok {
		scope = sa.ID
	}
	return []string{
		"In the Azure portal, open storage account " + n.storageAccount + ", then Access control (IAM) → Add → Add role assignment.",
		"Choose the role " + readerRoleName + ", then, under Members, the application (service principal) of this account's credentials, and click Review + assign.",
		"Or run: az role assignment create --role \"" + readerRoleName + "\" --assignee <client ID> --scope " + scope,
		"Azure takes a few minutes to apply the role; the billing connector reads the export from then on.",
	}
}

func (p *Provisioner) blobEndpoint(account string) string {
	if p.cfg.BlobEndpoint == "" {
		return "https://" + account + ".blob.core.windows.net"
	}
	return strings.TrimRight(strings.ReplaceAll(p.cfg.BlobEndpoint, "{account}", account), "/")
}

// names are the deterministic names of one infrastructure's resources, so
// that a retry finds what an earlier attempt created.
type names struct {
	resourceGroup  string
	storageAccount string
	export         string
	infraID        string
}

// namesOf derives the names from a hash of the infrastructure ID: storage
// account names are global across Azure and allow only 3-24 lowercase
// letters and digits.
func namesOf(infraID string) names {
	sum := sha256.Sum256([]byte(infraID))
	h := hex.EncodeToString(sum[:])
	return names{
		resourceGroup:  "truecost-billing-" + h[:12],
		storageAccount: "truecost" + h[:16],
		export:         "truecost-billing-" + h[:12],
		infraID:        infraID,
	}
}

func (n names) resourceGroupID(sub string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", sub, n.resourceGroup)
}

func (n names) storageAccountID(sub string) string {
	return n.resourceGroupID(sub) + "/providers/Microsoft.Storage/storageAccounts/" + n.storageAccount
}

// ResourceGroupName is the resource group provisioning infrastructure
// infraID creates.
func ResourceGroupName(infraID string) string { return namesOf(infraID).resourceGroup }

// StorageAccountName is the storage account provisioning infrastructure
// infraID creates.
func StorageAccountName(infraID string) string { return namesOf(infraID).storageAccount }

// ExportName is the Cost Management export provisioning infrastructure
// infraID creates.
func ExportName(infraID string) string { return namesOf(infraID).export }

package azureprovision

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/google/uuid"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
)

// Role the connector's service principal needs on the storage account to
// read the export with its Entra ID token (control-plane roles such as
// Contributor do not reach blob data).
const (
	readerRoleName = "Storage Blob Data Reader"
	readerRoleID   = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
)

// roleNamespace makes the role assignment's name, a GUID, stable per
// infrastructure.
var roleNamespace = uuid.MustParse("7d0c4d7e-5b1e-4c55-9a51-3f0f4f1b2a6c")

// manualState marks a ledger item left for the user to do.
const manualState = "manual"

func (c *session) exportProvider(ctx context.Context) (accounts.Resource, error) {
	r, err := c.registerProvider(ctx)
	return c.record(StepExportProvider, r, err)
}

// registerProvider reads the export provider's registration first: a
// registered provider is left alone; an unregistered one is registered
// only when the user asked for it.
func (c *session) registerProvider(ctx context.Context) (accounts.Resource, error) {
	r := accounts.Resource{Kind: "Azure resource provider", ID: ExportProvider}
	if err := c.connect(); err != nil {
		return r, err
	}
	state, err := c.providerState(ctx)
	if err != nil {
		return r, err
	}
	switch {
	case strings.EqualFold(state, "Registered"):
		r.State, r.Note = accounts.Kept, "already registered; nothing to do"
		return r, nil
	case strings.EqualFold(state, "Registering"):
		done, err := c.waitRegistered(ctx)
		if err != nil {
			return r, err
		}
		r.State, r.Note = accounts.Kept, "its registration was already under way; nothing to do"
		if !done {
			r.Note = "its registration was already under way and has not finished; the cost export needs it"
		}
		return r, nil
	case !c.req.Infra.Settings.RegisterExportProvider:
		return r, domain.Errorf(domain.Invalid,
			"the cost export needs the %s resource provider, which is not registered in subscription %s. Turn on Cost Management Export to have Truecost register it, "+
				"or register it yourself, then provision again: in the Azure portal, Subscriptions → %s → Resource providers → %s → Register, "+
				"or run az provider register --namespace %s --subscription %s",
			ExportProvider, c.sub, c.sub, ExportProvider, ExportProvider, c.sub)
	}
	if _, err := c.providers.Register(ctx, ExportProvider, nil); err != nil {
		return r, cloudError(err, "resource provider "+ExportProvider)
	}
	done, err := c.waitRegistered(ctx)
	if err != nil {
		return r, err
	}
	r.State, r.Note = accounts.Created, "registered by Truecost"
	if !done {
		r.Note = fmt.Sprintf("registration requested; Azure had not finished it after %s (the cost export step fails until it has: try again then)",
			c.p.cfg.RegistrationTimeout)
	}
	return r, nil
}

func (c *session) providerState(ctx context.Context) (string, error) {
	resp, err := c.providers.Get(ctx, ExportProvider, nil)
	if err != nil {
		return "", cloudError(err, "resource provider "+ExportProvider)
	}
	return deref(resp.RegistrationState), nil
}

// waitRegistered reads the registration state until it is Registered
// (true) or the registration timeout passes (false).
func (c *session) waitRegistered(ctx context.Context) (bool, error) {
	deadline := time.NewTimer(c.p.cfg.RegistrationTimeout)
	defer deadline.Stop()
	for {
		state, err := c.providerState(ctx)
		if err != nil {
			return false, err
		}
		if strings.EqualFold(state, "Registered") {
			return true, nil
		}
		wait := time.NewTimer(c.p.cfg.PollInterval)
		select {
		case <-ctx.Done():
			wait.Stop()
			return false, ctx.Err()
		case <-deadline.C:
			wait.Stop()
			return false, nil
		case <-wait.C:
		}
	}
}

func (c *session) unregisterProvider(ctx context.Context) error {
	if err := c.connect(); err != nil {
		return err
	}
	if _, err := c.providers.Unregister(ctx, ExportProvider, nil); err != nil && statusOf(err) != http.StatusNotFound {
		return cloudError(err, "resource provider "+ExportProvider)
	}
	return nil
}

// tags are the tags of what Truecost creates.
func (c *session) tags() map[string]*string {
	return map[string]*string{ManagedByTag: to.Ptr(ManagedByValue), InfraTag: to.Ptr(c.req.Infra.ID)}
}

// ours reports whether tags say this infrastructure's provisioning created
// the resource.
func (c *session) ours(tags map[string]*string) bool {
	return deref(tags[InfraTag]) == c.req.Infra.ID
}

func (c *session) resourceGroup(ctx context.Context) (accounts.Resource, error) {
	r, err := c.createResourceGroup(ctx)
	return c.record(StepResourceGroup, r, err)
}

// createResourceGroup creates the resource group, or takes the one an
// earlier attempt created (tagged with this infrastructure); one found
// without the tag is used but kept.
func (c *session) createResourceGroup(ctx context.Context) (accounts.Resource, error) {
	region := c.req.Infra.Settings.Region
	r := accounts.Resource{Kind: "Azure resource group", ID: c.n.resourceGroupID(c.sub), Region: region}
	what := "resource group " + c.n.resourceGroup
	if err := c.connect(); err != nil {
		return r, err
	}
	got, err := c.groups.Get(ctx, c.n.resourceGroup, nil)
	switch {
	case err == nil:
		r.ID, r.Region = firstOf(deref(got.ID), r.ID), firstOf(deref(got.Location), region)
		if c.ours(got.Tags) {
			r.State, r.Note = accounts.Created, "created by an earlier attempt"
		} else {
			r.State, r.Note = accounts.Kept, "already there; Truecost uses it and leaves it in place"
		}
		return r, nil
	case statusOf(err) != http.StatusNotFound:
		return r, cloudError(err, what)
	}
	made, err := c.groups.CreateOrUpdate(ctx, c.n.resourceGroup, armresources.ResourceGroup{Location: to.Ptr(region), Tags: c.tags()}, nil)
	if err != nil {
		return r, cloudError(err, what)
	}
	r.ID, r.State = firstOf(deref(made.ID), r.ID), accounts.Created
	return r, nil
}

func (c *session) deleteResourceGroup(ctx context.Context) error {
	if err := c.connect(); err != nil {
		return err
	}
	what := "resource group " + c.n.resourceGroup
	poller, err := c.groups.BeginDelete(ctx, c.n.resourceGroup, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.p.cfg.PollInterval})
	}
	if err != nil && statusOf(err) != http.StatusNotFound {
		return cloudError(err, what)
	}
	return nil
}

func (c *session) storageAccount(ctx context.Context) (accounts.Resource, error) {
	r, err := c.createStorageAccount(ctx)
	return c.record(StepStorageAccount, r, err)
}

// createStorageAccount creates a general-purpose v2, locally redundant
// storage account that takes HTTPS with TLS 1.2 or later only and allows no
// anonymous blob access.
func (c *session) createStorageAccount(ctx context.Context) (accounts.Resource, error) {
	region := c.req.Infra.Settings.Region
	r := accounts.Resource{Kind: "Azure storage account", ID: c.n.storageAccountID(c.sub), Region: region}
	what := "storage account " + c.n.storageAccount
	if err := c.connect(); err != nil {
		return r, err
	}
	got, err := c.storage.GetProperties(ctx, c.n.resourceGroup, c.n.storageAccount, nil)
	switch {
	case err == nil:
		r.ID, r.Region = firstOf(deref(got.ID), r.ID), firstOf(deref(got.Location), region)
		if c.ours(got.Tags) {
			r.State, r.Note = accounts.Created, "created by an earlier attempt"
		} else {
			r.State, r.Note = accounts.Kept, "already there; Truecost uses it and leaves it in place"
		}
		return r, nil
	case statusOf(err) != http.StatusNotFound:
		return r, cloudError(err, what)
	}
	params := armstorage.AccountCreateParameters{
		Kind:     to.Ptr(armstorage.KindStorageV2),
		Location: to.Ptr(region),
		SKU:      &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		Tags:     c.tags(),
		Properties: &armstorage.AccountPropertiesCreateParameters{
			EnableHTTPSTrafficOnly: to.Ptr(true),
			MinimumTLSVersion:      to.Ptr(armstorage.MinimumTLSVersionTLS12),
			AllowBlobPublicAccess:  to.Ptr(false),
		},
	}
	poller, err := c.storage.BeginCreate(ctx, c.n.resourceGroup, c.n.storageAccount, params, nil)
	if err != nil {
		return r, cloudError(err, what)
	}
	made, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.p.cfg.PollInterval})
	if err != nil {
		return r, cloudError(err, what)
	}
	r.ID, r.State = firstOf(deref(made.ID), r.ID), accounts.Created
	return r, nil
}

func (c *session) deleteStorageAccount(ctx context.Context) error {
	if err := c.connect(); err != nil {
		return err
	}
	if _, err := c.storage.Delete(ctx, c.n.resourceGroup, c.n.storageAccount, nil); err != nil && statusOf(err) != http.StatusNotFound {
		return cloudError(err, "storage account "+c.n.storageAccount)
	}
	return nil
}

func (c *session) container(ctx context.Context) (accounts.Resource, error) {
	r, err := c.createContainer(ctx)
	return c.record(StepContainer, r, err)
}

// createContainer creates the export's container with the storage
// account's key. One already there belongs to the storage account's
// owner: Truecost's when it created the account.
func (c *session) createContainer(ctx context.Context) (accounts.Resource, error) {
	r := accounts.Resource{Kind: "Azure blob container", ID: c.n.storageAccount + "/" + Container}
	cl, err := c.containerClient(ctx)
	if err != nil {
		return r, err
	}
	_, err = cl.Create(ctx, nil)
	switch {
	case err == nil:
		r.State = accounts.Created
	case bloberror.HasCode(err, bloberror.ContainerAlreadyExists):
		r.State, r.Note = accounts.Kept, "already there; Truecost leaves it in place"
		if c.stateOf(StepStorageAccount) == accounts.Created {
			r.State, r.Note = accounts.Created, "created by an earlier attempt"
		}
	default:
		return r, cloudError(err, "blob container "+r.ID)
	}
	return r, nil
}

func (c *session) deleteContainer(ctx context.Context) error {
	cl, err := c.containerClient(ctx)
	if domain.IsNotFound(err) {
		return nil // the storage account is gone, and the container with it
	}
	if err != nil {
		return err
	}
	if _, err := cl.Delete(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerNotFound, bloberror.ContainerBeingDeleted) {
		return cloudError(err, "blob container "+c.n.storageAccount+"/"+Container)
	}
	return nil
}

// containerClient opens the export's container with a key of the storage
// account.
func (c *session) containerClient(ctx context.Context) (*container.Client, error) {
	if err := c.connect(); err != nil {
		return nil, err
	}
	what := "storage account " + c.n.storageAccount
	keys, err := c.storage.ListKeys(ctx, c.n.resourceGroup, c.n.storageAccount, nil)
	if err != nil {
		return nil, cloudError(err, what+" keys")
	}
	var key string
	for _, k := range keys.Keys {
		if k != nil && deref(k.Value) != "" && (k.Permissions == nil || strings.EqualFold(string(*k.Permissions), string(armstorage.KeyPermissionFull))) {
			key = *k.Value
			break
		}
	}
	if key == "" {
		return nil, domain.Errorf(domain.Invalid, "%s has no access key with full permissions (shared key access may be disabled)", what)
	}
	cred, err := container.NewSharedKeyCredential(c.n.storageAccount, key)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "%s: its access key is not valid", what)
	}
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: c.p.clientOptions().Transport}}
	cl, err := container.NewClientWithSharedKeyCredential(c.p.blobEndpoint(c.n.storageAccount)+"/"+Container, cred, opts)
	if err != nil {
		return nil, domain.WrapError(domain.Internal, err, "%s: blob client", what)
	}
	return cl, nil
}

func (c *session) readerRole(ctx context.Context) (accounts.Resource, error) {
	r, err := c.assignReaderRole(ctx)
	return c.record(StepReaderRole, r, err)
}

// roleAssignment is the body of a role assignment.
type roleAssignment struct {
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
	} `json:"properties"`
}

// roleAssignmentPath is the assignment of the reader role on the storage
// account; its name is stable per infrastructure.
func (c *session) roleAssignmentPath() string {
	name := uuid.NewSHA1(roleNamespace, []byte(c.req.Infra.ID+"/"+StepReaderRole)).String()
	return c.n.storageAccountID(c.sub) + "/providers/Microsoft.Authorization/roleAssignments/" + name
}

// assignReaderRole lets the signed-in service principal, which the
// billing connector uses, read the export's blobs. When it may not assign
// roles, the assignment is left to the user (see Manual).
func (c *session) assignReaderRole(ctx context.Context) (accounts.Resource, error) {
	path := c.roleAssignmentPath()
	r := accounts.Resource{Kind: "Azure role assignment", ID: path}
	if err := c.connect(); err != nil {
		return r, err
	}
	manual := func(why string) (accounts.Resource, error) {
		r.ID, r.State = c.n.storageAccountID(c.sub), accounts.Kept
		r.Note = why + "; assign " + readerRoleName + " on the storage account to the service principal by hand so that the billing connector can read the export"
		r.Items = []accounts.Item{{Name: readerRoleName, State: manualState, Note: why}}
		return r, nil
	}
	principal, err := c.principalID(ctx)
	if err != nil {
		return r, cloudError(err, "the service principal's token")
	}
	if principal == "" {
		return manual("the service principal's object ID is not in its token")
	}
	var body roleAssignment
	body.Properties.RoleDefinitionID = "/subscriptions/" + c.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRoleID
	body.Properties.PrincipalID = principal
	body.Properties.PrincipalType = "ServicePrincipal"
	_, err = c.send(ctx, http.MethodPut, path, rolesAPIVersion, body, http.StatusOK, http.StatusCreated)
	switch {
	case err == nil:
		r.State, r.Note = accounts.Created, readerRoleName+" for the service principal "+principal
	case codeOf(err) == "RoleAssignmentExists":
		// Ours when an earlier attempt made it under this name; someone
		// else's otherwise.
		if _, gerr := c.send(ctx, http.MethodGet, path, rolesAPIVersion, nil, http.StatusOK); gerr == nil {
			r.State, r.Note = accounts.Created, "created by an earlier attempt"
			break
		}
		r.ID, r.State = c.n.storageAccountID(c.sub), accounts.Kept
		r.Note = "the service principal has " + readerRoleName + " on the storage account already"
	case statusOf(err) == http.StatusForbidden:
		return manual("the service principal may not assign roles (it needs Owner or User Access Administrator)")
	default:
		return r, cloudError(err, "role assignment "+readerRoleName)
	}
	return r, nil
}

func (c *session) deleteReaderRole(ctx context.Context) error {
	if err := c.connect(); err != nil {
		return err
	}
	_, err := c.send(ctx, http.MethodDelete, c.roleAssignmentPath(), rolesAPIVersion, nil, http.StatusOK, http.StatusNoContent)
	if err != nil && statusOf(err) != http.StatusNotFound {
		return cloudError(err, "role assignment "+readerRoleName)
	}
	return nil
}

// needsManualRole reports whether the reader role step left the
// assignment to the user.
func needsManualRole(r accounts.Resource) bool {
	for _, it := range r.Items {
		if it.State == manualState {
			return true
		}
	}
	return false
}

// exportBody is a cost export as API version 2024-08-01 takes it.
type exportBody struct {
	Properties exportProperties `json:"properties"`
}

type exportProperties struct {
	Description           string           `json:"exportDescription"`
	Schedule              exportSchedule   `json:"schedule"`
	Format                string           `json:"format"`
	CompressionMode       string           `json:"compressionMode"`
	DataOverwriteBehavior string           `json:"dataOverwriteBehavior"`
	PartitionData         bool             `json:"partitionData"`
	DeliveryInfo          exportDelivery   `json:"deliveryInfo"`
	Definition            exportDefinition `json:"definition"`
}

type exportSchedule struct {
	Status           string `json:"status"`
	Recurrence       string `json:"recurrence"`
	RecurrencePeriod struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	} `json:"recurrencePeriod"`
}

type exportDelivery struct {
	Destination struct {
		Type           string `json:"type"`
		ResourceID     string `json:"resourceId"`
		Container      string `json:"container"`
		RootFolderPath string `json:"rootFolderPath"`
	} `json:"destination"`
}

type exportDefinition struct {
	Type      string `json:"type"`
	Timeframe string `json:"timeframe"`
	DataSet   struct {
		Granularity   string `json:"granularity"`
		Configuration struct {
			DataVersion string `json:"dataVersion"`
		} `json:"configuration"`
	} `json:"dataSet"`
}

func (c *session) exportScope() string { return "/subscriptions/" + c.sub }

func (c *session) exportPath() string {
	return c.exportScope() + "/providers/Microsoft.CostManagement/exports/" + c.n.export
}

func (c *session) costExport(ctx context.Context) (accounts.Resource, error) {
	r, err := c.createExport(ctx)
	return c.record(StepCostExport, r, err)
}

// newExport is the daily export: the subscription's actual costs of the
// month to date (the cost-details dataset adapters/azurebilling reads), as
// gzipped CSV partitioned with a manifest, each run replacing the month's
// previous one, scheduled from now on.
func (c *session) newExport() exportBody {
	var e exportBody
	p := &e.Properties
	p.Description = "Daily actual costs for Truecost"
	from := c.p.cfg.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	p.Schedule.Status, p.Schedule.Recurrence = "Active", "Daily"
	p.Schedule.RecurrencePeriod.From, p.Schedule.RecurrencePeriod.To = from, from.AddDate(10, 0, 0)
	p.Format, p.CompressionMode, p.DataOverwriteBehavior, p.PartitionData = "Csv", "gzip", "OverwritePreviousReport", true
	d := &p.DeliveryInfo.Destination
	d.Type, d.ResourceID, d.Container, d.RootFolderPath = "AzureBlob", c.n.storageAccountID(c.sub), Container, RootFolder
	p.Definition.Type, p.Definition.Timeframe = "ActualCost", "MonthToDate"
	p.Definition.DataSet.Granularity, p.Definition.DataSet.Configuration.DataVersion = "Daily", "2021-10-01"
	return e
}

// createExport creates the export, or takes the one an earlier attempt
// created, then asks Azure to run it now rather than at the next daily
// run.
func (c *session) createExport(ctx context.Context) (accounts.Resource, error) {
	r := accounts.Resource{Kind: "Cost Management export", ID: c.exportPath()}
	what := "cost export " + c.n.export
	if err := c.connect(); err != nil {
		return r, err
	}
	got, err := c.exports.Get(ctx, c.exportScope(), c.n.export, nil)
	switch {
	case err == nil:
		var dest string
		if p := got.Properties; p != nil && p.DeliveryInfo != nil && p.DeliveryInfo.Destination != nil {
			dest = deref(p.DeliveryInfo.Destination.ResourceID)
		}
		if !strings.EqualFold(dest, c.n.storageAccountID(c.sub)) {
			return r, domain.Errorf(domain.Conflict, "%s exists already and writes to %q, not to storage account %s; rename or delete it in Cost Management → Exports, then provision again",
				what, dest, c.n.storageAccount)
		}
		r.Note = "created by an earlier attempt"
	case statusOf(err) != http.StatusNotFound:
		return r, cloudError(err, what)
	default:
		if _, err := c.send(ctx, http.MethodPut, c.exportPath(), exportsAPIVersion, c.newExport(), http.StatusOK, http.StatusCreated); err != nil {
			return r, cloudError(err, what)
		}
	}
	r.State = accounts.Created
	if _, err := c.exports.Execute(ctx, c.exportScope(), c.n.export, nil); err != nil {
		run := "Azure runs it daily; starting the first run now failed: " + domain.ErrorMessage(cloudError(err, "export run"))
		r.Note = strings.TrimPrefix(r.Note+"; "+run, "; ")
	}
	return r, nil
}

func (c *session) deleteExport(ctx context.Context) error {
	if err := c.connect(); err != nil {
		return err
	}
	if _, err := c.exports.Delete(ctx, c.exportScope(), c.n.export, nil); err != nil && statusOf(err) != http.StatusNotFound {
		return cloudError(err, "cost export "+c.n.export)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

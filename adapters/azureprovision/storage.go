package azureprovision

import (
	"context"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
)

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

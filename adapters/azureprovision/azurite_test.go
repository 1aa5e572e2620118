package azureprovision_test

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	emulator "github.com/truecost/truecost/adapters/azurebilling/azurite"
	"github.com/truecost/truecost/adapters/azureprovision/azurefake"
)

// azurite is a Blob Storage emulator that knows one storage account.
type azurite struct {
	account  string
	endpoint string // the blob service URL template, {account} for the name
}

// startAzurite runs Azurite for the test with a storage account of the
// given name and the fake's account key.
func startAzurite(t *testing.T, account string) azurite {
	t.Helper()
	u := emulator.Start(t, emulator.WithAccount(account, azurefake.AccountKey))
	return azurite{account: account, endpoint: strings.TrimSuffix(u, "/"+account) + "/{account}"}
}

// containerExists asks Azurite whether the account has the container.
func (a azurite) containerExists(t *testing.T, name string) bool {
	t.Helper()
	cred, err := container.NewSharedKeyCredential(a.account, azurefake.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := container.NewClientWithSharedKeyCredential(strings.ReplaceAll(a.endpoint, "{account}", a.account)+"/"+name, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.GetProperties(context.Background(), nil)
	switch {
	case err == nil:
		return true
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return false
	}
	t.Fatalf("container %s: %v", name, err)
	return false
}

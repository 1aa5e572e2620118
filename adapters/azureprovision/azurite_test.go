package azureprovision_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/truecost/truecost/adapters/azureprovision/azurefake"
)

// azurite is a Blob Storage emulator that knows one storage account.
type azurite struct {
	account  string
	endpoint string // the blob service URL template, {account} for the name
}

// startAzurite runs Azurite for the test with a storage account of the
// given name and the fake's account key. It skips when Azurite is not
// installed, except under CI=true, where it fails.
func startAzurite(t *testing.T, account string) azurite {
	t.Helper()
	bin := azuriteBin(t)
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
		"--disableTelemetry", "--skipApiVersionCheck", "--silent")
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+account+":"+azurefake.AccountKey)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found, ended := make(chan string, 1), make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listens on (http://127\.0\.0\.1:\d+)`)
		var said strings.Builder
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			said.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		ended <- said.String()
	}()
	select {
	case u := <-found:
		return azurite{account: account, endpoint: u + "/{account}"}
	case said := <-ended:
		t.Fatalf("Azurite stopped before listening:\n%s", said)
	case <-time.After(30 * time.Second):
		t.Fatal("Azurite did not say where it listens within 30s")
	}
	return azurite{}
}

func azuriteBin(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
	bin := filepath.Join(dir, "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Azurite is not installed at %s (npm install azurite)", bin)
		}
		t.Skipf("Azurite tests skipped: %s is missing (npm install azurite)", bin)
	}
	return bin
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

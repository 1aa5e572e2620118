// Package azurite runs the Azurite Blob Storage emulator for tests. The
// emulator comes from npm (npm install azurite) into node_modules at the
// module root; where it is missing a test using it skips, except under
// CI=true, where it fails.
package azurite

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Azurite's well-known development account and its key.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// ConnectionString is the connection string of the development account
// at blobURL, the URL Start returns without options.
func ConnectionString(blobURL string) string {
	return "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + Key + ";BlobEndpoint=" + blobURL + ";"
}

type config struct {
	account, key string
}

// Option changes how Start runs the emulator.
type Option func(*config)

// WithAccount makes the emulator know the storage account name with the
// given key (through AZURITE_ACCOUNTS) instead of the development account.
func WithAccount(name, key string) Option {
	return func(c *config) { c.account, c.key = name, key }
}

// Start runs an in-memory Blob Storage emulator until the test ends and
// returns the blob service URL of its account, http://127.0.0.1:PORT/ACCOUNT.
func Start(t testing.TB, opts ...Option) string {
	t.Helper()
	c := config{account: Account}
	for _, o := range opts {
		o(&c)
	}
	cmd := exec.Command(bin(t), "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
		"--disableTelemetry", "--skipApiVersionCheck", "--silent")
	if c.key != "" {
		cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+c.account+":"+c.key)
	}
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
		return u + "/" + c.account
	case said := <-ended:
		t.Fatalf("Azurite stopped before listening:\n%s", said)
	case <-time.After(30 * time.Second):
		t.Fatal("Azurite did not say where it listens within 30s")
	}
	return ""
}

// bin finds node_modules/.bin/azurite-blob at the module root, the first
// directory above the working directory holding go.mod. Without it the
// test skips, unless CI=true, where it fails.
func bin(t testing.TB) string {
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
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
	path := filepath.Join(dir, "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Azurite is not installed at %s (npm install azurite)", path)
		}
		t.Skipf("Azurite tests skipped: %s is missing (npm install azurite)", path)
	}
	return path
}

package azurebilling_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/azurebilling"
)

func TestNewBucketRejectsIncompleteConfigurations(t *testing.T) {
	tests := []struct {
		name string
		cfg  azurebilling.Config
		want string
	}{
		{"no credentials", azurebilling.Config{StorageAccount: "acct", Container: "exports"}, "give a connection string"},
		{"unknown cloud", azurebilling.Config{StorageAccount: "acct", Container: "exports", Cloud: "mars", Credentials: azurebilling.Credentials{AccountKey: "a2V5"}}, `cloud "mars"`},
		{"no container", azurebilling.Config{StorageAccount: "acct", Credentials: azurebilling.Credentials{AccountKey: "a2V5"}}, "container name required"},
		{"service principal without tenant", azurebilling.Config{StorageAccount: "acct", Container: "exports", Credentials: azurebilling.Credentials{ClientID: "c", ClientSecret: "s"}}, "tenant ID and client ID"},
		{"SAS URL of a blob", azurebilling.Config{Container: "exports", Credentials: azurebilling.Credentials{SASURL: "https://acct.blob.core.windows.net/exports/a.csv?sv=1&sig=x"}}, "names a blob"},
		{"SAS URL of another container", azurebilling.Config{Container: "exports", Credentials: azurebilling.Credentials{SASURL: "https://acct.blob.core.windows.net/other?sv=1&sig=x"}}, `container "other"`},
		{"malformed connection string", azurebilling.Config{Container: "exports", Credentials: azurebilling.Credentials{ConnectionString: "AccountKey=secret-value"}}, "connection string is not valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := azurebilling.NewBucket(tc.cfg)
			if err == nil || billingCode(err) != "invalid" || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want invalid saying %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret-value") {
				t.Errorf("error %q repeats a secret", err)
			}
		})
	}
}

func TestCredentialsNeverPrint(t *testing.T) {
	cfg := azurebilling.Config{StorageAccount: "acct", Container: "exports", Credentials: azurebilling.Credentials{
		ConnectionString: "AccountKey=s3cr3t-1", SASURL: "https://x/?sig=s3cr3t-2", SASToken: "sig=s3cr3t-3", AccountKey: "s3cr3t-4", ClientSecret: "s3cr3t-5",
	}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("connector", "config", cfg, "credentials", cfg.Credentials)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.Credentials) + logged.String() + string(js)
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("a secret was printed: %s", out)
	}
	if !strings.Contains(out, "redacted") {
		t.Errorf("output %s does not say the credentials were redacted", out)
	}
}

func TestCredentialsFromSecretReadsConnectorKeys(t *testing.T) {
	c := azurebilling.CredentialsFromSecret(map[string]string{"sas_url": "u", "tenant_id": "t", "client_id": "c", "client_secret": "s", "connection_string": "cs"})
	if c.SASURL != "u" || c.TenantID != "t" || c.ClientID != "c" || c.ClientSecret != "s" || c.ConnectionString != "cs" {
		t.Errorf("credentials %#v read wrongly", c)
	}
}

package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/cloudhttp/cloudhttptest"
	"github.com/truecost/truecost/adapters/outbound"
)

// TestConnectionTestAgainstACloudThatNeverAnswersFailsInTime points a GCP
// connector's service-account key at a token endpoint that accepts the
// connection and never answers. With TRUECOST_CLOUD_TIMEOUT at 300ms the
// test-connection job fails unavailable within seconds, instead of hanging.
// The endpoint is on loopback, which the outbound policy is told to allow.
func TestConnectionTestAgainstACloudThatNeverAnswersFailsInTime(t *testing.T) {
	t.Setenv("TRUECOST_CLOUD_TIMEOUT", "300ms")
	t.Setenv(outbound.EnvAllow, "127.0.0.1")
	silent := cloudhttptest.SilentServer(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := json.Marshal(map[string]string{"type": "service_account", "project_id": "globex-billing", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "truecost@globex-billing.iam.gserviceaccount.com", "client_id": "1",
		"token_uri": silent + "/token"})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	dbURL := "sqlite://var/truecost.db"
	token := adminToken(t, dir, dbURL, "globex")
	url := serve(t, dir, dbURL)
	var created struct{ CreateConnector struct{ ID string } }
	graphqlData(t, url, token, `mutation($key: String!) { createConnector(input: {provider: GCP, name: "Globex BigQuery",
		config: {billingAccountId: "01A2B3-C4D5E6-F7A8B9", projectId: "globex-billing", dataset: "billing_export", region: "EU"},
		secret: {serviceAccountJson: $key}}) { id } }`, map[string]any{"key": string(key)}, &created)

	start := time.Now()
	job, errs, body := runJob(t, url, token, `mutation($id: ID!) { testConnector(id: $id) { id } }`,
		map[string]any{"id": created.CreateConnector.ID}, `connectorTest { format }`, nil)
	took := time.Since(start)
	if len(errs) > 0 {
		t.Fatalf("start: %s", body)
	}
	if job.State != "FAILED" || *job.ErrorCode != "unavailable" || !strings.Contains(*job.Error, "BigQuery is unavailable") {
		t.Fatalf("job %+v: %s, want FAILED unavailable", job, body)
	}
	if took > 15*time.Second {
		t.Errorf("the test took %s with a 300ms deadline per call", took)
	}
	t.Logf("failed after %s: %s", took.Round(time.Millisecond), *job.Error)
}

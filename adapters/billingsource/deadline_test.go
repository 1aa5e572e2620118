package billingsource_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/billingsource"
	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/adapters/cloudhttp/cloudhttptest"
	"github.com/truecost/truecost/adapters/outbound"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/connectors"
)

func privateKeyPEM(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestConnectionToACloudThatNeverAnswersFailsUnavailableAtTheDeadline
// scans each cloud's connector against a server that accepts connections
// and never answers: for Google Cloud it is the OAuth token endpoint the
// service-account key names, for the others the storage endpoint.
func TestConnectionToACloudThatNeverAnswersFailsUnavailableAtTheDeadline(t *testing.T) {
	t.Parallel()
	silent := cloudhttptest.SilentServer(t)
	key := privateKeyPEM(t)
	gcpKey, err := json.Marshal(map[string]string{"type": "service_account", "project_id": "acme-billing",
		"private_key_id": "k1", "private_key": key, "client_email": "truecost@acme-billing.iam.gserviceaccount.com",
		"client_id": "1", "token_uri": silent + "/token"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		c      connectors.Connector
		secret connectors.Secret
	}{
		{"aws", connectors.Connector{Provider: connectors.AWS, Config: connectors.Config{AWSAccountID: "123456789012",
			Bucket: "billing", Path: "cur", FileType: "cur2", Region: "us-east-1", Endpoint: silent}},
			connectors.Secret{"access_key_id": "AKIAEXAMPLE", "secret_access_key": "secret"}},
		{"azure", connectors.Connector{Provider: connectors.Azure, Config: connectors.Config{StorageAccount: "acme",
			Container: "exports", Path: "focus", Endpoint: silent + "/acme"}},
			connectors.Secret{"sas_token": "sv=2024-01-01&sig=x"}},
		{"gcp", connectors.Connector{Provider: connectors.GCP, Config: connectors.Config{BillingAccountID: "012345-6789AB-CDEF01",
			ProjectID: "acme-billing", Dataset: "billing", Region: "US"}},
			connectors.Secret{"service_account_json": string(gcpKey)}},
		{"oci", connectors.Connector{Provider: connectors.OCI, Config: connectors.Config{TenancyOCID: "ocid1.tenancy.oc1..aaaa",
			UserOCID: "ocid1.user.oc1..aaaa", Fingerprint: "aa:bb", Region: "us-ashburn-1", Endpoint: silent}},
			connectors.Secret{"private_key": key}},
	}
	const deadline = 300 * time.Millisecond
	// The silent server is on loopback: the outbound policy lets it be
	// reached, and the deadline then applies over its connections.
	policy, err := outbound.Parse("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	f := billingsource.Factory{Outbound: policy, Timeouts: cloudhttp.Timeouts{Call: deadline}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			start := time.Now()
			src, err := f.Source(ctx, tt.c, tt.secret)
			if err == nil {
				_, err = src.Scan(ctx)
			}
			took := time.Since(start)
			if domain.ErrorCode(err) != domain.Unavailable {
				t.Fatalf("scan: %v (code %s), want unavailable", err, domain.ErrorCode(err))
			}
			if msg := domain.ErrorMessage(err); !strings.Contains(msg, "did not answer within 300ms") {
				t.Errorf("message %q does not name the deadline", msg)
			}
			// The SDKs retry a timed-out call a few times, with their own
			// back-off between tries (Azure's adds up to about 10s); each
			// try keeps the deadline.
			if took > 30*time.Second {
				t.Errorf("scan took %s with a %s deadline per call", took, deadline)
			}
			t.Logf("%s: %s after %s", tt.name, domain.ErrorMessage(err), took.Round(time.Millisecond))
		})
	}
}

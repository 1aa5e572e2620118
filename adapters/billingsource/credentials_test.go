package billingsource_test

import (
	"context"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/billingsource"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/connectors"
)

// TestConnectorsWithoutCredentialsAreRefusedNotReadAsTruecost: the cloud
// SDKs would read with the server's own identity; a connector never does.
func TestConnectorsWithoutCredentialsAreRefusedNotReadAsTruecost(t *testing.T) {
	t.Parallel()
	for _, c := range []connectors.Connector{
		{Name: "Payer CUR", Provider: connectors.AWS, Config: connectors.Config{AWSAccountID: "123456789012", Bucket: "billing",
			Path: "cur", FileType: "cur2", Region: "us-east-1"}},
		{Name: "BigQuery export", Provider: connectors.GCP, Config: connectors.Config{BillingAccountID: "012345-6789AB-CDEF01",
			ProjectID: "acme-billing", Dataset: "billing", Region: "US"}},
	} {
		_, err := billingsource.Factory{}.Source(context.Background(), c, connectors.Secret{"external_id": "x"})
		if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(domain.ErrorMessage(err), c.Name) {
			t.Errorf("%s: %v (code %s), want invalid naming the connector", c.Provider, err, domain.ErrorCode(err))
		}
	}
}

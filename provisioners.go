package main

import (
	"os"

	"github.com/truecost/truecost/adapters/awsprovision"
	"github.com/truecost/truecost/adapters/azureprovision"
	"github.com/truecost/truecost/adapters/gcpprovision"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

// provisioners sets up billing provisioning for each cloud. The endpoint
// variables point the control-plane clients somewhere other than the public
// clouds (private endpoints, emulators); unset, the real APIs are used.
func provisioners() map[accounts.Provider]accounts.Provisioner {
	return map[accounts.Provider]accounts.Provisioner{
		connectors.AWS: awsprovision.New(awsprovision.Config{Endpoint: os.Getenv("TRUECOST_AWS_ENDPOINT_URL")}),
		connectors.Azure: azureprovision.New(azureprovision.Config{
			ARMEndpoint:   os.Getenv("TRUECOST_AZURE_ARM_ENDPOINT"),
			AuthorityHost: os.Getenv("TRUECOST_AZURE_AUTHORITY_HOST"),
			BlobEndpoint:  os.Getenv("TRUECOST_AZURE_BLOB_ENDPOINT"),
		}),
		connectors.GCP: gcpprovision.New(gcpprovision.Config{
			BigQueryEndpoint:     os.Getenv("TRUECOST_GCP_BIGQUERY_ENDPOINT"),
			ServiceUsageEndpoint: os.Getenv("TRUECOST_GCP_SERVICEUSAGE_ENDPOINT"),
		}),
	}
}

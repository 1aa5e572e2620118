// Package cloudprovision assembles the billing provisioners of each cloud
// (adapters/awsprovision, azureprovision, gcpprovision) into the set the
// domain's accounts.Service drives. OCI writes its cost reports itself, so
// it has nothing to provision.
package cloudprovision

import (
	"net/http"

	"github.com/truecost/truecost/adapters/awsprovision"
	"github.com/truecost/truecost/adapters/azureprovision"
	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/adapters/gcpprovision"
	"github.com/truecost/truecost/adapters/outbound"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

// Endpoints point the control-plane clients somewhere other than the public
// clouds (private endpoints, emulators); empty fields use the real APIs.
type Endpoints struct {
	AWS             string
	AzureARM        string
	AzureAuthority  string
	AzureBlob       string
	GCPBigQuery     string
	GCPServiceUsage string
}

// New returns the provisioner of each provisionable cloud. Their
// connections obey policy (nil refuses every internal address) and every
// call to a cloud is bounded by t (cloudhttp's defaults when zero).
func New(e Endpoints, policy *outbound.Policy, t cloudhttp.Timeouts) map[connectors.Provider]accounts.Provisioner {
	return map[connectors.Provider]accounts.Provisioner{
		connectors.AWS: awsprovision.New(awsprovision.Config{Endpoint: e.AWS, APIHTTPClient: policy.Client(), Timeouts: t}),
		connectors.Azure: azureprovision.New(azureprovision.Config{
			ARMEndpoint:   e.AzureARM,
			AuthorityHost: e.AzureAuthority,
			BlobEndpoint:  e.AzureBlob,
			HTTPClient:    &http.Client{Transport: t.Transport(policy.Transport())},
		}),
		connectors.GCP: gcpprovision.New(gcpprovision.Config{
			BigQueryEndpoint:     e.GCPBigQuery,
			ServiceUsageEndpoint: e.GCPServiceUsage,
			Transport:            policy.Transport(),
			Timeouts:             t,
		}),
	}
}

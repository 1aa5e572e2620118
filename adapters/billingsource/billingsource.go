// Package billingsource opens the billing data a connector reads: it
// implements the domain's connectors.SourceFactory by choosing among the
// cloud adapters (awsbilling, azurebilling, gcpbilling, ocibilling) and the
// local files adapter, and detects which provider's export layout a local
// folder holds.
package billingsource

import (
	"context"
	"os"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
)

// Factory opens the billing.Source of a connector: local files and folders
// by format, and each cloud's export through its adapter.
type Factory struct {
	// Timeouts bound every call to a cloud (cloudhttp's defaults when
	// zero).
	Timeouts cloudhttp.Timeouts
}

var _ connectors.SourceFactory = Factory{}

// Source opens c's source with its credentials. A local path that does
// not exist, or a format that does not fit it, is a domain.Invalid error.
func (f Factory) Source(ctx context.Context, c connectors.Connector, secret connectors.Secret) (billing.Source, error) {
	cfg := c.Config
	switch c.Provider {
	case connectors.Local:
		return Local(ctx, c.Location, c.Format)
	case connectors.AWS:
		return awsbilling.NewConnectorSource(ctx, c, secret, f.Timeouts)
	case connectors.Azure:
		bucket, err := azurebilling.NewBucket(azurebilling.Config{StorageAccount: cfg.StorageAccount, Container: cfg.Container,
			Cloud: cfg.AzureCloud, Endpoint: cfg.Endpoint, Credentials: azurebilling.CredentialsFromSecret(secret),
			HTTPClient: f.Timeouts.Client()})
		if err != nil {
			return nil, err
		}
		return azurebilling.NewSource(bucket, cfg.Path, azurebilling.Options{}), nil
	case connectors.GCP:
		return gcpbilling.NewBigQuerySource(ctx, gcpbilling.Config{BillingAccountID: cfg.BillingAccountID, ProjectID: cfg.ProjectID,
			Location: cfg.Region, Dataset: cfg.Dataset, Table: cfg.Table, CredentialsJSON: []byte(secret["service_account_json"]),
			Endpoint: cfg.Endpoint, Timeouts: f.Timeouts, AllMonths: c.LastSyncAt.IsZero(), ResultProject: cfg.ResultProject,
			ResultRegion: cfg.ResultRegion, ResultDataset: cfg.ResultDataset, ResultBucket: cfg.ResultBucket})
	case connectors.OCI:
		bucket, err := ocibilling.NewBucket(ocibilling.Config{TenancyOCID: cfg.TenancyOCID, UserOCID: cfg.UserOCID,
			Fingerprint: cfg.Fingerprint, PrivateKey: secret["private_key"], Passphrase: secret["passphrase"],
			Region: cfg.Region, Endpoint: cfg.Endpoint, Timeouts: f.Timeouts})
		if err != nil {
			return nil, err
		}
		return ocibilling.New(bucket, cfg.Path, ocibilling.Options{}), nil
	}
	return nil, domain.Errorf(domain.Invalid, "unknown connector provider %q", c.Provider)
}

// Local reads a local file or folder in format. With auto, a folder is
// tried against each provider's layout and otherwise read as FOCUS CSV.
func Local(ctx context.Context, path, format string) (billing.Source, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "cannot read source %s", path)
	}
	dir := localfiles.Dir(path)
	if format == "auto" && info.IsDir() {
		detectors := []struct {
			format string
			detect func(context.Context, billing.Bucket, string) (bool, error)
		}{{"aws-cur", awsbilling.Detect}, {"azure", azurebilling.Detect}, {"gcp", gcpbilling.Detect}, {"oci", ocibilling.Detect}}
		for _, d := range detectors {
			ok, err := d.detect(ctx, dir, "")
			if err != nil {
				return nil, err
			}
			if ok {
				format = d.format
				break
			}
		}
	}
	if format != "auto" && format != "focus" && !info.IsDir() {
		return nil, domain.Errorf(domain.Invalid, "format %s reads an export folder; %s is a file", format, path)
	}
	switch format {
	case "auto", "focus":
		return localfiles.New(path, format)
	case "aws-cur", "aws-cur2":
		return awsbilling.NewSource(dir, "", awsbilling.KindAuto), nil
	case "azure":
		return azurebilling.NewSource(dir, "", azurebilling.Options{}), nil
	case "gcp":
		return gcpbilling.NewSource(dir, ""), nil
	case "oci":
		return ocibilling.New(dir, "", ocibilling.Options{}), nil
	}
	return nil, domain.Errorf(domain.Invalid, "unknown format %q", format)
}

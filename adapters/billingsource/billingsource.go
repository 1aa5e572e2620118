// Package billingsource opens the billing data a connector reads: it
// implements the domain's connectors.SourceFactory by choosing among the
// cloud adapters (awsbilling, azurebilling, gcpbilling, ocibilling) and the
// local files adapter, and detects which provider's export layout a local
// folder holds.
package billingsource

import (
	"context"
	"io"
	"net/http"
	"os"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/adapters/outbound"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
)

// Factory opens the billing.Source of a connector: local files and folders
// by format, and each cloud's export through its adapter.
type Factory struct {
	// Outbound is the policy every connection to a cloud obeys: the
	// endpoints and credential URLs are a tenant's choice. Nil refuses
	// every internal address.
	Outbound *outbound.Policy
	// Timeouts bound every call to a cloud (cloudhttp's defaults when
	// zero).
	Timeouts cloudhttp.Timeouts
}

var _ connectors.SourceFactory = Factory{}

// Source opens c's source with its credentials. A local path that does
// not exist, or a format that does not fit it, is a domain.Invalid error.
func (f Factory) Source(ctx context.Context, c connectors.Connector, secret connectors.Secret) (billing.Source, error) {
	if c.Provider == connectors.Local {
		return Local(ctx, c.Location, c.Format)
	}
	if c.Config.Endpoint != "" {
		// A clear answer before any request; each connection is checked
		// again when it is made.
		if err := f.Outbound.CheckURL(ctx, c.Config.Endpoint); err != nil {
			return nil, outbound.AsRefused(err)
		}
	}
	src, err := f.cloudSource(ctx, c, secret)
	if err != nil {
		return nil, err
	}
	return guarded{src}, nil
}

// client is an HTTP client whose connections obey the outbound policy and
// whose calls keep the deadlines.
func (f Factory) client() *http.Client {
	return &http.Client{Transport: f.Timeouts.Transport(f.Outbound.Transport())}
}

func (f Factory) cloudSource(ctx context.Context, c connectors.Connector, secret connectors.Secret) (billing.Source, error) {
	cfg := c.Config
	// The cloud SDKs would fall back to Truecost's own identity without
	// credentials: a connector always reads with its own.
	switch {
	case c.Provider == connectors.AWS && secret["role_arn"] == "" && secret["access_key_id"] == "":
		return nil, domain.Errorf(domain.Invalid, "connector %s has no AWS credentials: give the role Truecost assumes or access keys", c.Name)
	case c.Provider == connectors.GCP && secret["service_account_json"] == "":
		return nil, domain.Errorf(domain.Invalid, "connector %s has no service account key", c.Name)
	}
	switch c.Provider {
	case connectors.AWS:
		return awsbilling.NewConnectorSource(ctx, c, secret, f.Outbound.Client(), f.Timeouts)
	case connectors.Azure:
		bucket, err := azurebilling.NewBucket(azurebilling.Config{StorageAccount: cfg.StorageAccount, Container: cfg.Container,
			Cloud: cfg.AzureCloud, Endpoint: cfg.Endpoint, Credentials: azurebilling.CredentialsFromSecret(secret),
			HTTPClient: f.client()})
		if err != nil {
			return nil, err
		}
		return azurebilling.NewSource(bucket, cfg.Path, azurebilling.Options{}), nil
	case connectors.GCP:
		return gcpbilling.NewBigQuerySource(ctx, gcpbilling.Config{BillingAccountID: cfg.BillingAccountID, ProjectID: cfg.ProjectID,
			Location: cfg.Region, Dataset: cfg.Dataset, Table: cfg.Table, CredentialsJSON: []byte(secret["service_account_json"]),
			Endpoint: cfg.Endpoint, Transport: f.Outbound.Transport(), Timeouts: f.Timeouts, AllMonths: c.LastSyncAt.IsZero(), ResultProject: cfg.ResultProject,
			ResultRegion: cfg.ResultRegion, ResultDataset: cfg.ResultDataset, ResultBucket: cfg.ResultBucket})
	case connectors.OCI:
		bucket, err := ocibilling.NewBucket(ocibilling.Config{TenancyOCID: cfg.TenancyOCID, UserOCID: cfg.UserOCID,
			Fingerprint: cfg.Fingerprint, PrivateKey: secret["private_key"], Passphrase: secret["passphrase"],
			Region: cfg.Region, Endpoint: cfg.Endpoint, Transport: f.Outbound.Transport(), Timeouts: f.Timeouts})
		if err != nil {
			return nil, err
		}
		return ocibilling.New(bucket, cfg.Path, ocibilling.Options{}), nil
	}
	return nil, domain.Errorf(domain.Invalid, "unknown connector provider %q", c.Provider)
}

// guarded reports a connection the outbound policy refused as that
// refusal, whatever the cloud adapter made of the transport error.
type guarded struct{ billing.Source }

func (g guarded) Scan(ctx context.Context) (billing.Manifest, error) {
	m, err := g.Source.Scan(ctx)
	if r := outbound.AsRefused(err); r != nil {
		return m, r
	}
	return m, err
}

func (g guarded) Read(ctx context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	err := g.Source.Read(ctx, p, fn, progress)
	if r := outbound.AsRefused(err); r != nil {
		return r
	}
	return err
}

// Close closes the source when it holds a client.
func (g guarded) Close() error {
	if c, ok := g.Source.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Local reads a local file or folder in format. With auto, a folder is
// tried against each provider's layout and otherwise read as FOCUS CSV. A
// single file is read by the kind its header shows (FOCUS, AWS CUR or CUR
// 2.0, Azure cost details, Google Cloud export rows, OCI cost report),
// which must be one format reads.
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
	if !info.IsDir() {
		// One file: its header says what it is.
		kind, err := fileKind(path, format)
		if err != nil {
			return nil, err
		}
		if kind == kindFOCUS && (format == "auto" || format == "focus") {
			return localfiles.New(path, "focus")
		}
		return &fileSource{path: path, format: format, kind: kind}, nil
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

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
)

// sourceFactory opens the billing.Source of a connector: local folders by
// format, and each cloud's export through its adapter.
type sourceFactory struct{}

var _ connectors.SourceFactory = sourceFactory{}

func (sourceFactory) Source(ctx context.Context, c connectors.Connector, secret connectors.Secret) (billing.Source, error) {
	cfg := c.Config
	switch c.Provider {
	case connectors.Local:
		return localSource(ctx, c.Location, c.Format)
	case connectors.AWS:
		return awsbilling.NewConnectorSource(ctx, c, secret)
	case connectors.Azure:
		bucket, err := azurebilling.NewBucket(azurebilling.Config{StorageAccount: cfg.StorageAccount, Container: cfg.Container,
			Cloud: cfg.AzureCloud, Endpoint: cfg.Endpoint, Credentials: azurebilling.CredentialsFromSecret(secret)})
		if err != nil {
			return nil, err
		}
		return azurebilling.NewSource(bucket, cfg.Path, azurebilling.Options{}), nil
	case connectors.GCP:
		return gcpbilling.NewBigQuerySource(ctx, gcpbilling.Config{BillingAccountID: cfg.BillingAccountID, ProjectID: cfg.ProjectID,
			Location: cfg.Region, Dataset: cfg.Dataset, Table: cfg.Table, CredentialsJSON: []byte(secret["service_account_json"]),
			Endpoint: cfg.Endpoint, AllMonths: c.LastSyncAt.IsZero(), ResultProject: cfg.ResultProject,
			ResultRegion: cfg.ResultRegion, ResultDataset: cfg.ResultDataset, ResultBucket: cfg.ResultBucket})
	case connectors.OCI:
		bucket, err := ocibilling.NewBucket(ocibilling.Config{TenancyOCID: cfg.TenancyOCID, UserOCID: cfg.UserOCID,
			Fingerprint: cfg.Fingerprint, PrivateKey: secret["private_key"], Passphrase: secret["passphrase"],
			Region: cfg.Region, Endpoint: cfg.Endpoint})
		if err != nil {
			return nil, err
		}
		return ocibilling.New(bucket, cfg.Path, ocibilling.Options{}), nil
	}
	return nil, domain.Errorf(domain.Invalid, "unknown connector provider %q", c.Provider)
}

// localSource reads a local file or folder in format. With auto, a folder
// is tried against each provider's layout and otherwise read as FOCUS CSV.
func localSource(ctx context.Context, path, format string) (billing.Source, error) {
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

// secretKeyFile is where the embedded default keeps its generated key.
const secretKeyFile = "var/secret.key"

// loadSealer returns the sealer for connector credentials: the key in
// TRUECOST_SECRET_KEY (base64 of 32 bytes), or with SQLite a key generated
// on first run into var/secret.key (mode 0600). Postgres deployments run
// several replicas, so they must set the variable; without it credentials
// cannot be stored and the sealer is nil.
func loadSealer(dialect string) (connectors.Sealer, error) {
	if v := strings.TrimSpace(os.Getenv("TRUECOST_SECRET_KEY")); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, domain.WrapError(domain.Invalid, err, "TRUECOST_SECRET_KEY is not base64")
		}
		return connectors.NewAESSealer(key)
	}
	if dialect != "sqlite" {
		return nil, nil
	}
	key, err := os.ReadFile(secretKeyFile)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(secretKeyFile), 0o750); err != nil {
			return nil, fmt.Errorf("create %s: %w", filepath.Dir(secretKeyFile), err)
		}
		enc := base64.StdEncoding.EncodeToString(key)
		if err := os.WriteFile(secretKeyFile, []byte(enc+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", secretKeyFile, err)
		}
		return connectors.NewAESSealer(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", secretKeyFile, err)
	}
	key, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(key)))
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "%s is not base64", secretKeyFile)
	}
	return connectors.NewAESSealer(key)
}

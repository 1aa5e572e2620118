// Package connectors holds billing connectors: where an organization's cost
// data comes from (a cloud's billing export, or a local folder or file), the
// settings and sealed credentials to read it, and how the last sync went.
// Each connector owns the (connector, billing period) partitions the billing
// package loads. Its Store port is implemented by adapters/sqlstore; its
// SourceFactory by adapters/billingsource over the cloud adapters.
package connectors

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Provider names a connector's kind of source.
type Provider string

// Providers. Local connectors read files on the machine Truecost runs on.
const (
	Local Provider = "local"
	AWS   Provider = "aws"
	Azure Provider = "azure"
	GCP   Provider = "gcp"
	OCI   Provider = "oci"
)

// CloudProviders are the providers a user can add a connector for.
var CloudProviders = []Provider{AWS, Azure, GCP, OCI}

// Formats a local source may hold.
var Formats = []string{"auto", "focus", "aws-cur", "aws-cur2", "azure", "gcp", "oci"}

// Status is the outcome of a connector's last sync.
type Status string

// Connector statuses.
const (
	StatusNew    Status = "new"
	StatusOK     Status = "ok"
	StatusFailed Status = "failed"
)

// Connector is one source of billing data for an organization.
type Connector struct {
	ID       string
	OrgID    string
	Provider Provider
	Name     string
	Location string // canonical: absolute path, or the cloud source's URL
	Format   string
	Config   Config
	// ExternalID is the AWS external ID the customer's role trust policy
	// must require; generated per connector.
	ExternalID string
	// HasSecret reports that sealed credentials are stored; they are never
	// returned.
	HasSecret  bool
	Enabled    bool
	Status     Status
	LastSyncAt time.Time
	LastError  string
	LastRows   int64
	LastPeriod time.Time
	CreatedAt  time.Time
}

// SyncResult is what RecordSync stores.
type SyncResult struct {
	Status     Status
	At         time.Time
	Error      string
	Rows       int64
	LastPeriod time.Time
}

// Store keeps connectors, always within one organization.
type Store interface {
	// CreateConnector stores a connector with its sealed secret (nil when
	// there is none).
	CreateConnector(ctx context.Context, c Connector, sealed []byte) error
	// UpdateConnector changes one connector atomically: fn receives the
	// stored connector and its sealed secret while the row is locked,
	// edits the connector and returns the sealed secret to keep (the one
	// it was given, or a new one). An error from fn changes nothing.
	// Status fields are not changed by it (RecordSync is).
	UpdateConnector(ctx context.Context, orgID, id string, fn func(c *Connector, sealed []byte) ([]byte, error)) (Connector, error)
	DeleteConnector(ctx context.Context, orgID, id string) error
	// Connector returns one connector and its sealed secret, or NotFound.
	Connector(ctx context.Context, orgID, id string) (Connector, []byte, error)
	// ConnectorByLocation finds an organization's connector for a canonical
	// location, or returns a domain.NotFound error.
	ConnectorByLocation(ctx context.Context, orgID string, provider Provider, location string) (Connector, error)
	ListConnectors(ctx context.Context, orgIDs []string) ([]Connector, error)
	// EnabledConnectors lists every enabled connector of every organization,
	// for the scheduled sync.
	EnabledConnectors(ctx context.Context) ([]Connector, error)
	RecordSync(ctx context.Context, orgID, id string, r SyncResult) error
}

// SourceFactory opens the billing.Source a connector reads, with its
// credentials. A local connector's source is checked (the path exists and
// holds the format) when it is opened.
type SourceFactory interface {
	Source(ctx context.Context, c Connector, secret Secret) (billing.Source, error)
}

// CanonicalLocation turns a path or URL into the form that identifies a
// local connector: URLs as given, paths absolute and cleaned.
func CanonicalLocation(source string) (string, error) {
	source = strings.TrimSpace(source)
	if source == "" {
		return "", domain.Errorf(domain.Invalid, "a source path or URL is required")
	}
	if strings.Contains(source, "://") {
		return source, nil
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return "", domain.WrapError(domain.Invalid, err, "cannot resolve %q", source)
	}
	return abs, nil
}

// ValidFormat reports whether format names a known source format.
func ValidFormat(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return domain.Errorf(domain.Invalid, "unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

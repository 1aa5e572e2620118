// Package connectors holds billing connectors: where an organization's cost
// data comes from (a provider's export, or a local folder or file) and how it
// went last time. Each connector owns the (connector, billing period)
// partitions the billing package loads. Its Store port is implemented by
// adapters/sqlstore.
package connectors

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
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
	ID         string
	OrgID      string
	Provider   Provider
	Name       string
	Location   string // canonical: absolute path or URL
	Format     string
	Status     Status
	LastSyncAt time.Time
	LastError  string
	CreatedAt  time.Time
}

// Store keeps connectors, always within one organization.
type Store interface {
	CreateConnector(ctx context.Context, c Connector) error
	// ConnectorByLocation finds an organization's connector for a canonical
	// location, or returns a domain.NotFound error.
	ConnectorByLocation(ctx context.Context, orgID string, provider Provider, location string) (Connector, error)
	ListConnectors(ctx context.Context, orgIDs []string) ([]Connector, error)
	// RecordSync stores the outcome of a sync.
	RecordSync(ctx context.Context, orgID, id string, status Status, at time.Time, lastError string) error
}

// Service holds the connector rules.
type Service struct {
	store Store
	newID func() string
	now   func() time.Time
}

// NewService returns a Service over store; newID makes connector IDs.
func NewService(store Store, newID func() string) *Service {
	return &Service{store: store, newID: newID, now: time.Now}
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

// EnsureLocal returns the organization's local connector for location,
// creating it on first use.
func (s *Service) EnsureLocal(ctx context.Context, orgID, location, format string) (Connector, error) {
	c, err := s.store.ConnectorByLocation(ctx, orgID, Local, location)
	if err == nil {
		return c, nil
	}
	if !domain.IsNotFound(err) {
		return Connector{}, err
	}
	c = Connector{
		ID:        s.newID(),
		OrgID:     orgID,
		Provider:  Local,
		Name:      filepath.Base(location),
		Location:  location,
		Format:    format,
		Status:    StatusNew,
		CreatedAt: s.now().UTC(),
	}
	if err := s.store.CreateConnector(ctx, c); err != nil {
		return Connector{}, err
	}
	return c, nil
}

// RecordSync stores how a sync of c ended.
func (s *Service) RecordSync(ctx context.Context, c Connector, syncErr error) error {
	status, msg := StatusOK, ""
	if syncErr != nil {
		status, msg = StatusFailed, domain.ErrorMessage(syncErr)
		if domain.ErrorCode(syncErr) == domain.Internal {
			msg = syncErr.Error()
		}
	}
	return s.store.RecordSync(ctx, c.OrgID, c.ID, status, s.now().UTC(), msg)
}

// List returns the connectors of the organizations.
func (s *Service) List(ctx context.Context, orgIDs []string) ([]Connector, error) {
	return s.store.ListConnectors(ctx, orgIDs)
}

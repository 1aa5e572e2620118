package connectors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

// Scoper decides which organizations a caller may act on;
// *tenancy.Service implements it.
type Scoper interface {
	Scope(ctx context.Context, p tenancy.Principal, orgID string) ([]string, error)
}

// Input is what a user gives to add or change a cloud connector. On update,
// empty Secret fields keep the stored values.
type Input struct {
	Provider Provider
	Name     string
	Config   Config
	Secret   Secret
	Enabled  bool
}

// TestResult is what a connector would ingest right now.
type TestResult struct {
	Format string
	Parts  []billing.Part
}

// Manager is the Service seen by callers acting for a user: every method
// checks the caller may act on the organization.
type Manager struct {
	*Service
	scope Scoper
}

// NewManager returns the user-facing side of s.
func NewManager(s *Service, scope Scoper) *Manager { return &Manager{Service: s, scope: scope} }

// authorize checks that p may read (or, with write, change) orgID's
// connectors. A reseller's admins manage their customers' connectors.
func (m *Manager) authorize(ctx context.Context, p tenancy.Principal, orgID string, write bool) error {
	if write && !p.IsAdmin() {
		return domain.Errorf(domain.Forbidden, "only organization admins may change billing connectors")
	}
	_, err := m.scope.Scope(ctx, p, orgID)
	return err
}

// Get returns one connector of orgID.
func (m *Manager) Get(ctx context.Context, p tenancy.Principal, orgID, id string) (Connector, error) {
	if err := m.authorize(ctx, p, orgID, false); err != nil {
		return Connector{}, err
	}
	c, _, err := m.store.Connector(ctx, orgID, id)
	return c, err
}

// Create adds a cloud connector to orgID.
func (m *Manager) Create(ctx context.Context, p tenancy.Principal, orgID string, in Input) (Connector, error) {
	if err := m.authorize(ctx, p, orgID, true); err != nil {
		return Connector{}, err
	}
	c := Connector{ID: m.newID(), OrgID: orgID, Provider: in.Provider, Enabled: true, Status: StatusNew, CreatedAt: m.now().UTC().Truncate(time.Microsecond)}
	if in.Provider == AWS {
		c.ExternalID = NewExternalID()
	}
	sealed, err := m.apply(&c, in, Secret{}, false)
	if err != nil {
		return Connector{}, err
	}
	if err := m.store.CreateConnector(ctx, c, sealed); err != nil {
		return Connector{}, err
	}
	c.HasSecret = sealed != nil
	return c, nil
}

// Update changes a cloud connector's name, settings or credentials.
func (m *Manager) Update(ctx context.Context, p tenancy.Principal, orgID, id string, in Input) (Connector, error) {
	if err := m.authorize(ctx, p, orgID, true); err != nil {
		return Connector{}, err
	}
	c, stored, err := m.store.Connector(ctx, orgID, id)
	if err != nil {
		return Connector{}, err
	}
	if in.Provider != "" && in.Provider != c.Provider {
		return Connector{}, domain.Errorf(domain.Invalid, "a connector's provider cannot change; add a new connector instead")
	}
	in.Provider = c.Provider
	old, err := OpenSecret(m.sealer, stored)
	if err != nil {
		return Connector{}, err
	}
	sealed, err := m.apply(&c, in, old, len(stored) > 0)
	if err != nil {
		return Connector{}, err
	}
	c.Enabled = in.Enabled
	if err := m.store.UpdateConnector(ctx, c, sealed); err != nil {
		return Connector{}, err
	}
	c.HasSecret = c.HasSecret || sealed != nil
	return c, nil
}

// apply validates in and copies it onto c, returning the sealed merged
// secret (nil when nothing new was given).
func (m *Manager) apply(c *Connector, in Input, old Secret, hasStored bool) ([]byte, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return nil, domain.Errorf(domain.Invalid, "connector name: 1 to 100 characters")
	}
	if in.Provider == Local || !isCloud(in.Provider) {
		return nil, domain.Errorf(domain.Invalid, "provider must be one of aws, azure, gcp, oci")
	}
	merged, fresh := MergeSecret(old, in.Secret)
	cfg := in.Config
	if err := cfg.validate(in.Provider, merged, hasStored); err != nil {
		return nil, err
	}
	if in.Provider == GCP && merged["service_account_json"] != "" && !json.Valid([]byte(merged["service_account_json"])) {
		return nil, domain.Errorf(domain.Invalid, "service account key: not valid JSON")
	}
	c.Name, c.Config, c.Location, c.Format = name, cfg, cfg.location(in.Provider), formatOf(in.Provider, cfg)
	if !fresh {
		return nil, nil
	}
	if m.sealer == nil {
		return nil, domain.Errorf(domain.Unavailable, "no secret key is configured, so credentials cannot be stored")
	}
	return SealSecret(m.sealer, merged)
}

func isCloud(p Provider) bool {
	for _, c := range CloudProviders {
		if c == p {
			return true
		}
	}
	return false
}

func formatOf(p Provider, cfg Config) string {
	switch p {
	case AWS:
		return map[string]string{"cur": "aws-cur", "cur2": "aws-cur2", "focus": "focus"}[cfg.FileType]
	case Azure:
		return "azure"
	case GCP:
		return "gcp"
	default:
		return "oci"
	}
}

// NewExternalID returns a fresh AWS external ID for a role trust policy.
func NewExternalID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "truecost-" + hex.EncodeToString(b)
}

// Delete removes a connector. The costs it loaded stay until their periods
// are loaded again by another connector or removed by an admin.
func (m *Manager) Delete(ctx context.Context, p tenancy.Principal, orgID, id string) error {
	if err := m.authorize(ctx, p, orgID, true); err != nil {
		return err
	}
	return m.store.DeleteConnector(ctx, orgID, id)
}

// Test lists what a connector would ingest now, without writing anything.
func (m *Manager) Test(ctx context.Context, p tenancy.Principal, orgID, id string) (TestResult, error) {
	if err := m.authorize(ctx, p, orgID, true); err != nil {
		return TestResult{}, err
	}
	src, _, err := m.open(ctx, orgID, id)
	if err != nil {
		return TestResult{}, err
	}
	defer closeSource(src)
	man, err := src.Scan(ctx)
	if err != nil {
		return TestResult{}, err
	}
	return TestResult{Format: man.Format, Parts: man.Parts}, nil
}

// Sync ingests what changed in a connector's source now.
func (m *Manager) Sync(ctx context.Context, p tenancy.Principal, orgID, id string) (billing.IngestionRun, error) {
	if err := m.authorize(ctx, p, orgID, true); err != nil {
		return billing.IngestionRun{}, err
	}
	c, _, err := m.store.Connector(ctx, orgID, id)
	if err != nil {
		return billing.IngestionRun{}, err
	}
	return m.SyncConnector(ctx, c, nil)
}

func (s *Service) open(ctx context.Context, orgID, id string) (billing.Source, Connector, error) {
	c, sealed, err := s.store.Connector(ctx, orgID, id)
	if err != nil {
		return nil, c, err
	}
	if s.sources == nil {
		return nil, c, domain.Errorf(domain.Unavailable, "connector sources are not configured")
	}
	var sec Secret
	if len(sealed) > 0 {
		if s.sealer == nil {
			return nil, c, domain.Errorf(domain.Unavailable, "no secret key is configured, so stored credentials cannot be read")
		}
		if sec, err = OpenSecret(s.sealer, sealed); err != nil {
			return nil, c, err
		}
	}
	src, err := s.sources.Source(ctx, c, sec)
	return src, c, err
}

// SyncConnector ingests a connector's source and records the outcome on
// the connector, whoever asked (a user, the scheduler, the demo).
func (s *Service) SyncConnector(ctx context.Context, c Connector, progress func(done, total int64)) (billing.IngestionRun, error) {
	if s.ingester == nil {
		return billing.IngestionRun{}, domain.Errorf(domain.Unavailable, "ingestion is not configured")
	}
	src, c, err := s.open(ctx, c.OrgID, c.ID)
	var run billing.IngestionRun
	if err == nil {
		defer closeSource(src)
		run, err = s.ingester.Ingest(ctx, billing.IngestRequest{OrgID: c.OrgID, ConnectorID: c.ID, Source: src, Progress: progress})
	}
	if recErr := s.RecordSync(context.WithoutCancel(ctx), c, run, err); recErr != nil && err == nil {
		err = fmt.Errorf("record sync: %w", recErr)
	}
	return run, err
}

// SyncReport counts what one scheduled pass did.
type SyncReport struct {
	Synced, Unchanged, Failed int
}

// SyncAll syncs every enabled connector whose last sync is at least
// interval old. One connector's failure does not stop the others.
func (s *Service) SyncAll(ctx context.Context, interval time.Duration) (SyncReport, error) {
	all, err := s.store.EnabledConnectors(ctx)
	if err != nil {
		return SyncReport{}, err
	}
	var rep SyncReport
	now := s.now()
	for _, c := range all {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if !c.LastSyncAt.IsZero() && now.Sub(c.LastSyncAt) < interval-time.Minute {
			continue
		}
		run, err := s.SyncConnector(ctx, c, nil)
		switch {
		case err != nil:
			rep.Failed++
		case run.Status == billing.RunUnchanged:
			rep.Unchanged++
		default:
			rep.Synced++
		}
	}
	return rep, nil
}

// AWSTrustPolicy is the trust policy the customer attaches to the IAM role
// Truecost assumes: only principal may assume it, and only with the
// connector's external ID.
func AWSTrustPolicy(c Connector, principal string) string {
	if principal == "" {
		principal = "arn:aws:iam::TRUECOST_ACCOUNT_ID:root"
	}
	policy := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]string{"AWS": principal},
			"Action":    "sts:AssumeRole",
			"Condition": map[string]any{"StringEquals": map[string]string{"sts:ExternalId": c.ExternalID}},
		}},
	}
	b, _ := json.MarshalIndent(policy, "", "  ")
	return string(b)
}

// closeSource releases a source that holds a client (BigQuery, for one).
func closeSource(src billing.Source) {
	if c, ok := src.(io.Closer); ok {
		_ = c.Close()
	}
}

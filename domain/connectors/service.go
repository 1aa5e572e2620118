package connectors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

// Service holds the connector use cases. Every method takes the caller and
// checks its rights: anyone in an organization (or its reseller) reads its
// connectors; only admins, and the system, change or sync them.
type Service struct {
	store    Store
	rights   *tenancy.Rights
	sealer   Sealer
	sources  SourceFactory
	ingester *billing.Ingester
	newID    func() string
	now      func() time.Time
	log      *slog.Logger
}

// Deps are what a Service needs. Sealer may be nil (credentials can then
// not be stored or read); Sources and Ingester may be nil for uses that only
// manage connectors, and then test and sync answer "unavailable".
type Deps struct {
	Store    Store
	Rights   *tenancy.Rights
	Sealer   Sealer
	Sources  SourceFactory
	Ingester *billing.Ingester
	NewID    func() string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives the whole error chain of failed syncs (what users
	// see is the safe message); slog.Default() when nil.
	Logger *slog.Logger
}

// NewService returns a Service.
func NewService(d Deps) *Service {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: d.Store, rights: d.Rights, sealer: d.Sealer, sources: d.Sources,
		ingester: d.Ingester, newID: d.NewID, now: now, log: log}
}

// what names connectors in the messages of Rights.Write.
const what = "billing connectors"

// target is the organization a use case acts on: orgID, or the caller's
// own when it is empty.
func target(caller tenancy.Principal, orgID string) string {
	if orgID == "" {
		return caller.Org.ID
	}
	return orgID
}

// List returns the connectors of orgID, or with orgID empty of every
// organization the caller may read.
func (s *Service) List(ctx context.Context, caller tenancy.Principal, orgID string) ([]Connector, error) {
	orgIDs, err := s.rights.Read(ctx, caller, orgID)
	if err != nil {
		return nil, err
	}
	cs, err := s.store.ListConnectors(ctx, orgIDs)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		cs[i].Location = caller.ServerPath(cs[i].Location)
	}
	return cs, nil
}

// Get returns one connector of orgID, or with orgID empty of any
// organization the caller may read. Another organization's connector is
// not found.
func (s *Service) Get(ctx context.Context, caller tenancy.Principal, orgID, id string) (Connector, error) {
	if orgID == "" && !caller.IsSystem() {
		all, err := s.List(ctx, caller, "")
		if err != nil {
			return Connector{}, err
		}
		for _, c := range all {
			if c.ID == id {
				return c, nil
			}
		}
		return Connector{}, domain.Errorf(domain.NotFound, "billing connector not found")
	}
	if _, err := s.rights.Read(ctx, caller, orgID); err != nil {
		return Connector{}, err
	}
	c, _, err := s.store.Connector(ctx, orgID, id)
	c.Location = caller.ServerPath(c.Location)
	return c, err
}

// Create adds a cloud connector to orgID (the caller's organization when
// empty). It starts enabled unless in says otherwise.
func (s *Service) Create(ctx context.Context, caller tenancy.Principal, orgID string, in Input) (Connector, error) {
	orgID = target(caller, orgID)
	if err := s.rights.Write(ctx, caller, orgID, what); err != nil {
		return Connector{}, err
	}
	c := Connector{ID: s.newID(), OrgID: orgID, Provider: in.Provider, Enabled: in.Enabled, Status: StatusNew,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	if in.Provider == AWS {
		c.ExternalID = NewExternalID()
	}
	sealed, err := s.apply(&c, in, Secret{}, false)
	if err != nil {
		return Connector{}, err
	}
	if err := s.store.CreateConnector(ctx, c, sealed); err != nil {
		return Connector{}, err
	}
	c.HasSecret = sealed != nil
	return c, nil
}

// Update changes a cloud connector's name, settings, credentials (empty
// secret fields keep the stored ones) and whether it syncs on schedule.
func (s *Service) Update(ctx context.Context, caller tenancy.Principal, orgID, id string, in Input) (Connector, error) {
	orgID = target(caller, orgID)
	if err := s.rights.Write(ctx, caller, orgID, what); err != nil {
		return Connector{}, err
	}
	return s.store.UpdateConnector(ctx, orgID, id, func(c *Connector, stored []byte) ([]byte, error) {
		if in.Provider != "" && in.Provider != c.Provider {
			return nil, domain.Errorf(domain.Invalid, "a connector's provider cannot change; add a new connector instead")
		}
		in.Provider = c.Provider
		old, err := OpenSecret(s.sealer, stored)
		if err != nil {
			return nil, err
		}
		sealed, err := s.apply(c, in, old, len(stored) > 0)
		if err != nil {
			return nil, err
		}
		c.Enabled = in.Enabled
		if sealed == nil {
			return stored, nil
		}
		c.HasSecret = true
		return sealed, nil
	})
}

// SetEnabled turns the scheduled sync of a connector on or off, keeping its
// settings and credentials.
func (s *Service) SetEnabled(ctx context.Context, caller tenancy.Principal, orgID, id string, enabled bool) error {
	orgID = target(caller, orgID)
	if err := s.rights.Write(ctx, caller, orgID, what); err != nil {
		return err
	}
	_, err := s.store.UpdateConnector(ctx, orgID, id, func(c *Connector, sealed []byte) ([]byte, error) {
		c.Enabled = enabled
		return sealed, nil
	})
	return err
}

// Delete removes a connector. The costs it loaded stay until their periods
// are loaded again by another connector or removed by an admin.
func (s *Service) Delete(ctx context.Context, caller tenancy.Principal, orgID, id string) error {
	orgID = target(caller, orgID)
	if err := s.rights.Write(ctx, caller, orgID, what); err != nil {
		return err
	}
	return s.store.DeleteConnector(ctx, orgID, id)
}

// Test lists what a connector would ingest now, without writing anything.
func (s *Service) Test(ctx context.Context, caller tenancy.Principal, orgID, id string) (TestResult, error) {
	orgID = target(caller, orgID)
	if err := s.rights.Write(ctx, caller, orgID, what); err != nil {
		return TestResult{}, err
	}
	src, _, err := s.open(ctx, orgID, id)
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

// Sync ingests what changed in a connector's source now and records the
// outcome on the connector. progress, when not nil, is told the bytes read
// so far and the total.
func (s *Service) Sync(ctx context.Context, caller tenancy.Principal, orgID, id string, progress func(done, total int64)) (billing.IngestionRun, error) {
	orgID = target(caller, orgID)
	if err := s.rights.Write(ctx, caller, orgID, what); err != nil {
		return billing.IngestionRun{}, err
	}
	c, _, err := s.store.Connector(ctx, orgID, id)
	if err != nil {
		return billing.IngestionRun{}, err
	}
	run, err := s.sync(ctx, c, progress)
	if !billing.SeesCost(caller) {
		// A run's totals are cost; a resold customer sees resale only.
		run.Totals = nil
	}
	return run, err
}

// IngestLocal ingests a file or folder on this machine into orgID through
// the organization's local connector for it, created on first use. A bad
// path or format fails before any connector is created.
func (s *Service) IngestLocal(ctx context.Context, caller tenancy.Principal, orgID, source, format string, progress func(done, total int64)) (billing.IngestionRun, error) {
	orgID = target(caller, orgID)
	if err := s.rights.Write(ctx, caller, orgID, what); err != nil {
		return billing.IngestionRun{}, err
	}
	loc, err := CanonicalLocation(source)
	if err != nil {
		return billing.IngestionRun{}, err
	}
	if err := ValidFormat(format); err != nil {
		return billing.IngestionRun{}, err
	}
	if s.sources == nil {
		return billing.IngestionRun{}, domain.Errorf(domain.Unavailable, "connector sources are not configured")
	}
	probe, err := s.sources.Source(ctx, Connector{OrgID: orgID, Provider: Local, Location: loc, Format: format}, nil)
	if err != nil {
		return billing.IngestionRun{}, err
	}
	closeSource(probe)
	c, err := s.ensureLocal(ctx, orgID, loc, format)
	if err != nil {
		return billing.IngestionRun{}, err
	}
	return s.sync(ctx, c, progress)
}

// SyncReport counts what one scheduled pass did.
type SyncReport struct {
	Synced, Unchanged, Failed int
}

// SyncAll syncs every enabled connector of every organization whose last
// sync is at least interval old, for the scheduler: the caller must be the
// system. One connector's failure does not stop the others.
func (s *Service) SyncAll(ctx context.Context, caller tenancy.Principal, interval time.Duration) (SyncReport, error) {
	if err := s.rights.System(caller, "sync every organization's connectors"); err != nil {
		return SyncReport{}, err
	}
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
		run, err := s.sync(ctx, c, nil)
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

// ensureLocal returns the organization's local connector for location,
// creating it on first use.
func (s *Service) ensureLocal(ctx context.Context, orgID, location, format string) (Connector, error) {
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
		Enabled:   true,
		Status:    StatusNew,
		CreatedAt: s.now().UTC(),
	}
	if err := s.store.CreateConnector(ctx, c, nil); err != nil {
		return Connector{}, err
	}
	return c, nil
}

// open returns the source of a stored connector, with its credentials.
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

// sync ingests a connector's source and records the outcome on the
// connector, whoever asked.
func (s *Service) sync(ctx context.Context, c Connector, progress func(done, total int64)) (billing.IngestionRun, error) {
	if s.ingester == nil {
		return billing.IngestionRun{}, domain.Errorf(domain.Unavailable, "ingestion is not configured")
	}
	src, c, err := s.open(ctx, c.OrgID, c.ID)
	var run billing.IngestionRun
	if err == nil {
		defer closeSource(src)
		run, err = s.ingester.Ingest(ctx, billing.IngestRequest{OrgID: c.OrgID, ConnectorID: c.ID, Source: src, Progress: progress,
			Name: sourceName(c)})
	}
	if recErr := s.recordSync(context.WithoutCancel(ctx), c, run, err); recErr != nil && err == nil {
		err = fmt.Errorf("record sync: %w", recErr)
	}
	return run, err
}

// recordSync stores how a sync of c ended. The stored error is the safe
// message users may see; the whole chain goes to the log.
func (s *Service) recordSync(ctx context.Context, c Connector, run billing.IngestionRun, syncErr error) error {
	r := SyncResult{Status: StatusOK, At: s.now().UTC(), Rows: c.LastRows, LastPeriod: c.LastPeriod}
	if syncErr != nil {
		r.Status, r.Error = StatusFailed, domain.ErrorMessage(syncErr)
		s.log.WarnContext(ctx, "connector sync failed", "org", c.OrgID, "connector", c.ID, "err", syncErr)
	} else if run.Status == billing.RunSucceeded {
		r.Rows = run.Rows
		if n := len(run.Periods); n > 0 && run.Periods[n-1].After(r.LastPeriod) {
			r.LastPeriod = run.Periods[n-1]
		}
	}
	return s.store.RecordSync(ctx, c.OrgID, c.ID, r)
}

// closeSource releases a source that holds a client (BigQuery, for one).
func closeSource(src billing.Source) {
	if c, ok := src.(io.Closer); ok {
		_ = c.Close()
	}
}

// sourceName is what ingestion errors call a connector's source: its
// folder, file or bucket path.
func sourceName(c Connector) string {
	if c.Location != "" {
		return c.Location
	}
	return "connector " + c.Name + "'s source"
}

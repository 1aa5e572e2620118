// Package exports holds detailed billing exports: an organization's
// configurations for writing its processed bill (at cost or at resale
// price) into its own S3 or GCS bucket, the queue of (customer, provider,
// month) exports to write, and the record of each export run.
//
// It declares the ports it uses: Store (adapters/sqlstore), Sinks (the
// bucket writers: adapters/awsbilling for S3, adapters/gcpbilling for GCS)
// and Formats (the file layouts: adapters/focusfile for FOCUS CSV,
// adapters/awsbilling for the legacy CUR layout). The jobs package drains
// the queue; ingestion and pricing queue exports through the Service.
package exports

import (
	"context"
	"io"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// Basis is the price an export's amounts are at.
type Basis string

// Price bases. A resale export carries no cost anywhere.
const (
	AtCost   Basis = "cost"
	AtResale Basis = "resale"
)

// Format is the file layout a configuration asks for.
type Format string

// Formats. Native writes each provider's own layout where the line items
// came from that provider's native export, and FOCUS otherwise.
const (
	Native Format = "native"
	FOCUS  Format = "focus"
)

// Layout names of written files, as manifests record them.
const (
	LayoutFOCUS            = "focus-1.2"
	LayoutAWSCUR           = "aws-cur"
	LayoutAzureCostDetails = "azure-cost-details"
	LayoutOCICostReport    = "oci-cost-report"
	LayoutGCPBillingExport = "gcp-billing-export"
)

// DestinationKind is where an export is written.
type DestinationKind string

// Destinations.
const (
	S3  DestinationKind = "s3"
	GCS DestinationKind = "gcs"
)

// Destination is a bucket and the folder in it an export writes under.
type Destination struct {
	Kind   DestinationKind
	Bucket string
	Prefix string // without leading or trailing slash; may be empty
	// Region is the S3 bucket's region (us-east-1 when empty).
	Region string
	// AccountID is, for S3, the organization's AWS cloud account whose
	// role (with its external ID) or keys reach the bucket.
	AccountID string
}

// Config is one export configuration of an organization. A reseller's
// configurations export every customer, each under its own folder; a
// customer's export that customer alone.
type Config struct {
	ID          string
	OrgID       string
	Enabled     bool
	Providers   []connectors.Provider
	Basis       Basis
	Format      Format
	Destination Destination
	// HasKey reports that a sealed GCS service-account key is stored; it
	// is never returned.
	HasKey bool
	// OverwriteConfirmed records that an admin saved the configuration
	// knowing the bucket is also where a cloud billing export writes.
	OverwriteConfirmed bool
	VerifiedAt         time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Charges stands for what pricing adds to a customer's bill outside any
// cloud's data — support fees, discounts and uplifts on the whole bill,
// credits, and the adjustments that carry a closed month's restatement
// into the next open month. Resale exports write them as a file of their
// own, in FOCUS, beside each cloud's.
const Charges connectors.Provider = "reseller"

// Exports reports whether the configuration covers provider.
func (c Config) Exports(p connectors.Provider) bool {
	if p == Charges {
		return c.Basis == AtResale
	}
	for _, q := range c.Providers {
		if q == p {
			return true
		}
	}
	return false
}

// Input is what an admin gives to create (ID empty) or change a
// configuration.
type Input struct {
	ID          string
	Enabled     bool
	Providers   []connectors.Provider
	Basis       Basis
	Format      Format
	Destination Destination
	// ServiceAccountKey is a GCS service-account JSON key; empty keeps the
	// stored one.
	ServiceAccountKey string
	// ConfirmOverwrite saves despite an overlap with a cloud billing
	// export's bucket.
	ConfirmOverwrite bool
}

// Problem classifies a failed verification.
type Problem string

// Verification problems, each with its own message.
const (
	BucketMissing  Problem = "bucket_missing"
	AccessDenied   Problem = "access_denied"
	WrongRegion    Problem = "wrong_region"
	BadCredentials Problem = "bad_credentials"
	Unreachable    Problem = "unreachable"
)

// Verification is the outcome of writing a small object to a destination.
type Verification struct {
	OK      bool
	Problem Problem
	Message string
	// Policy is what to grant, filled in with the bucket: for S3 the IAM
	// policy for the role Truecost assumes, for GCS the role binding.
	Policy string
	// Overlap, when set, says a cloud billing export writes where this
	// configuration would.
	Overlap *Overlap
	// Key is the object Verify wrote.
	Key string
}

// Overlap is a cloud billing export writing to the same bucket and an
// overlapping prefix.
type Overlap struct {
	// What names the writer, e.g. `connector "AWS CUR" (s3://b/cur)`.
	What    string
	Message string
}

// RunStatus is where an export run stands.
type RunStatus string

// Run statuses. A queued run waits for the export job (NextAttemptAt).
const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
)

// File is one written data file.
type File struct {
	Key    string `json:"key"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// SourceVersion is an ingestion run an export was built from.
type SourceVersion struct {
	ConnectorID string `json:"connectorId"`
	RunID       string `json:"runId"`
	Format      string `json:"format"`
	Version     string `json:"version"`
}

// Run is one export of a (customer, provider, month) by a configuration.
type Run struct {
	ID       string
	OrgID    string // the configuration's organization
	ConfigID string
	// CustomerID is the organization whose data is exported.
	CustomerID string
	Provider   connectors.Provider
	Month      time.Time
	// Reason says why the export was queued: "ingest", "reprice",
	// "close", "retry".
	Reason        string
	Status        RunStatus
	Attempts      int
	NextAttemptAt time.Time
	Basis         Basis
	Layout        string
	Assembly      string
	Files         []File
	Rows          int64
	Totals        []billing.Money
	Sources       []SourceVersion
	Error         string
	QueuedAt      time.Time
	StartedAt     time.Time
	FinishedAt    time.Time
}

// Item is one line item as an export reads it: the FOCUS row, its resale
// amount (empty when no pricing applies: BilledCost) and the format its
// ingestion run read.
type Item struct {
	billing.LineItem
	ResaleCost billing.Number
	RunFormat  string
}

// Resale is the resale amount of the item: ResaleCost, or BilledCost.
func (it *Item) Resale() billing.Number {
	if it.ResaleCost.Valid() {
		return it.ResaleCost
	}
	return it.BilledCost
}

// Scope selects the line items of one export: an organization's active
// data of one billing month from the providers named (FOCUS ProviderName).
type Scope struct {
	OrgID         string
	Month         time.Time
	ProviderNames []string
}

// Columns are the keys an export's rows carry, known before the first row
// is written so that a CSV header can name them.
type Columns struct {
	Extras  []string
	TagKeys []string
}

// Store persists configurations and runs, and reads the line items to
// export, always within one organization.
type Store interface {
	// SaveConfig inserts or replaces a configuration. With key nil the
	// stored sealed key is kept.
	SaveConfig(ctx context.Context, c Config, sealedKey []byte) error
	// ExportConfig returns a configuration and its sealed key, or NotFound.
	ExportConfig(ctx context.Context, orgID, id string) (Config, []byte, error)
	ExportConfigs(ctx context.Context, orgIDs []string) ([]Config, error)
	DeleteExportConfig(ctx context.Context, orgID, id string) error

	// QueueExport adds a queued run unless one for the same configuration,
	// customer, provider and month is already queued; it reports whether
	// it added one.
	QueueExport(ctx context.Context, r Run) (bool, error)
	// ClaimExports marks up to limit queued runs due at now as running and
	// returns them; a run is claimed once.
	ClaimExports(ctx context.Context, now time.Time, limit int) ([]Run, error)
	// RequeueStaleExports queues again, due at now, the runs still running
	// that started before startedBefore; it returns how many.
	RequeueStaleExports(ctx context.Context, startedBefore, now time.Time) (int, error)
	// SaveExportRun writes a run's outcome (or its requeue).
	SaveExportRun(ctx context.Context, r Run) error
	ExportRun(ctx context.Context, orgID, id string) (Run, error)
	// ExportRuns lists the runs of the organizations, newest first.
	ExportRuns(ctx context.Context, orgIDs []string, limit int) ([]Run, error)

	// ExportSources lists the active ingestion runs of the scope.
	ExportSources(ctx context.Context, s Scope) ([]SourceVersion, error)
	// ExportColumns lists the extras and tag keys of the scope's rows.
	ExportColumns(ctx context.Context, s Scope) (Columns, error)
	// ExportLineItems streams the scope's line items to fn in a stable
	// order, with bounded memory. The Item is reused between calls.
	ExportLineItems(ctx context.Context, s Scope, fn func(*Item) error) error
	// ExportMonths lists the billing months of an organization's active
	// data.
	ExportMonths(ctx context.Context, orgID string) ([]time.Time, error)
}

// Organizations finds organizations; tenancy.Store has it.
type Organizations interface {
	OrganizationByID(ctx context.Context, id string) (tenancy.Organization, error)
	CustomersOf(ctx context.Context, resellerID string) ([]tenancy.Organization, error)
}

// Accounts reads cloud accounts and what a cloud export writes to:
// sqlstore has it.
type Accounts interface {
	Account(ctx context.Context, orgID, id string) (accounts.Account, []byte, error)
	ListInfrastructure(ctx context.Context, orgIDs []string) ([]accounts.Infrastructure, error)
}

// Connectors lists connectors (for the overwrite guard and a run's
// provider); connectors.Store has it.
type Connectors interface {
	ListConnectors(ctx context.Context, orgIDs []string) ([]connectors.Connector, error)
	Connector(ctx context.Context, orgID, id string) (connectors.Connector, []byte, error)
}

// Access is what a sink needs to reach a destination: the cloud account
// and its opened credentials (S3), or the service-account key (GCS).
type Access struct {
	Account     accounts.Account
	Credentials connectors.Secret
	KeyJSON     []byte
}

// Sinks opens destinations.
type Sinks interface {
	Open(ctx context.Context, d Destination, a Access) (Sink, error)
}

// Sink writes objects into one bucket. Errors are domain errors whose
// message is safe to show.
type Sink interface {
	// Verify writes a small object at key and classifies a failure.
	Verify(ctx context.Context, key string) Verification
	// Create starts a streamed object: bytes written are uploaded in
	// bounded memory; Close commits it, Abort drops it.
	Create(ctx context.Context, key, contentType string) (Object, error)
	// Put writes a small object whole.
	Put(ctx context.Context, key, contentType string, body []byte) error
}

// Object is an object being written.
type Object interface {
	io.Writer
	Close() error
	Abort()
}

// Formats finds the layout writers.
type Formats interface {
	// Layout returns the writer of a layout name (LayoutFOCUS,
	// LayoutAWSCUR), or false.
	Layout(name string) (Layout, bool)
}

// Header is what a layout writer is told before the first row.
type Header struct {
	Basis   Basis
	Columns Columns
	// WithResale adds the x_ResaleCost column (FOCUS).
	WithResale bool
}

// Layout writes one file layout.
type Layout interface {
	// Name is the layout's name in manifests.
	Name() string
	// Paths names the files of one write.
	Paths(t Target) Paths
	// NewWriter writes a data file's CSV (gzip-compressed) to w.
	NewWriter(w io.Writer, h Header) (RowWriter, error)
	// Manifest renders the manifest of one write.
	Manifest(m Manifest) ([]byte, error)
}

// RowWriter writes the rows of one data file.
type RowWriter interface {
	Write(it *Item) error
	// Close flushes the file (not w).
	Close() error
}

// Target is what one write exports, for naming its files.
type Target struct {
	// Prefix is the configuration's prefix joined with, for a reseller's
	// export, the customer's slug.
	Prefix   string
	Provider connectors.Provider
	Month    time.Time
	Assembly string
}

// Paths are the object keys of one write.
type Paths struct {
	// Data returns the key of data file n (from 1).
	Data func(n int) string
	// Manifests are written last, in order: each names the new files.
	Manifests []string
}

// Layouts is a set of layout writers by name; it implements Formats.
type Layouts []Layout

// Layout returns the layout called name.
func (ls Layouts) Layout(name string) (Layout, bool) {
	for _, l := range ls {
		if l.Name() == name {
			return l, true
		}
	}
	return nil, false
}

// SinksByKind opens each kind of destination with its own Sinks; it
// implements Sinks.
type SinksByKind map[DestinationKind]Sinks

// Open opens d with the sinks of its kind.
func (m SinksByKind) Open(ctx context.Context, d Destination, a Access) (Sink, error) {
	s, ok := m[d.Kind]
	if !ok || s == nil {
		return nil, domain.Errorf(domain.Unavailable, "%s destinations are not available on this server", d.Kind)
	}
	return s.Open(ctx, d, a)
}

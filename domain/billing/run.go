package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
)

// RunStatus is the outcome of an IngestionRun.
type RunStatus string

// Run statuses. An unchanged run found the source at the version already
// loaded and wrote nothing.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunUnchanged RunStatus = "unchanged"
	RunFailed    RunStatus = "failed"
)

// IngestionRun records one load of a connector's source.
type IngestionRun struct {
	ID            string
	OrgID         string
	ConnectorID   string
	Status        RunStatus
	Format        string
	SourceVersion string
	Files         []string
	Rows          int64
	Periods       []time.Time // billing periods (their starts) the run replaced
	// Retired are the billing periods the run removed: loaded before from
	// a source replaced whole (Manifest.Whole) that no longer holds them.
	Retired []time.Time
	// PeriodVersions is the source version each replaced period was read at.
	PeriodVersions map[time.Time]string
	Totals         []Money // BilledCost per currency
	// TagKeys are the tag keys the run's rows carry, with whether each has
	// tag rollups (see TagRollupFloor).
	TagKeys    []RunTagKey
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Duration is how long the run took, or zero while it runs.
func (r IngestionRun) Duration() time.Duration {
	if r.FinishedAt.IsZero() {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// Summary is the one line that tells a person what a run did, given how
// long it took as they saw it.
func (r IngestionRun) Summary(took time.Duration) string {
	if r.Status == RunUnchanged {
		return fmt.Sprintf("source unchanged since the last run: nothing to do (run %s)", r.ID)
	}
	periods := make([]string, len(r.Periods))
	for i, p := range r.Periods {
		periods[i] = p.Format("2006-01")
	}
	totals := make([]string, len(r.Totals))
	for i, m := range r.Totals {
		totals[i] = m.Currency + " " + m.Amount.String()
	}
	retired := ""
	if len(r.Retired) > 0 {
		months := make([]string, len(r.Retired))
		for i, p := range r.Retired {
			months[i] = p.Format("2006-01")
		}
		retired = fmt.Sprintf("; retired %d period(s) the source no longer holds [%s]", len(r.Retired), strings.Join(months, " "))
	}
	return fmt.Sprintf("ingested %d rows from %d file(s) into %d period(s) [%s]%s; BilledCost %s; %.2fs (run %s)",
		r.Rows, len(r.Files), len(r.Periods), strings.Join(periods, " "), retired, strings.Join(totals, ", "),
		took.Seconds(), r.ID)
}

// SourceFile is one file (or object) a source will read.
type SourceFile struct {
	Name string
	Size int64
}

// Part is a slice of a source that is loaded or skipped as a whole: the
// files that make up one billing period (AWS's newest assembly for a month,
// Azure's newest run, a GCP invoice month), or, when Period is zero, files
// whose periods are only known once read (plain FOCUS files).
type Part struct {
	Period  time.Time // start of the billing period; zero when found in the data
	Version string    // changes whenever the part's content may have
	Files   []SourceFile
}

// Manifest is what a source holds right now.
type Manifest struct {
	Format string
	Parts  []Part
	// Whole says the source is replaced whole on each load (a FOCUS file,
	// or a folder of them): periods loaded before that it no longer holds
	// are retired in the same swap. Provider exports are not whole: a
	// delivery may hold only the newest month, and the older stay.
	Whole bool
}

// Source reads a provider's billing data as FOCUS line items.
type Source interface {
	// Scan lists what the source holds now without reading it.
	Scan(ctx context.Context) (Manifest, error)
	// Read streams every line item of a part's files to fn, calling progress
	// with the bytes consumed so far in the part. Bad input is a
	// domain.Invalid error naming file, line and column. fn may keep the
	// item only by copying it.
	Read(ctx context.Context, p Part, fn func(*LineItem) error, progress func(bytes int64)) error
}

// Object is one file of a bucket-like store.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
	ETag     string
}

// Bucket lists and opens the objects of an export location: an S3 bucket,
// a Blob Storage container, an OCI bucket, or a local folder. Keys use "/".
type Bucket interface {
	// List returns every object whose key starts with prefix, in key order.
	List(ctx context.Context, prefix string) ([]Object, error)
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// RunStore keeps ingestion runs.
type RunStore interface {
	CreateRun(ctx context.Context, run IngestionRun) error
	// FinishRun records a run's final state (failed or unchanged); successful
	// runs finish through PublishRun.
	FinishRun(ctx context.Context, run IngestionRun) error
	// RenewRun records that a running run's process is alive at at (see
	// RunLease); creating a run counts as its first renewal.
	RenewRun(ctx context.Context, run IngestionRun, at time.Time) error
	// LatestRun returns the newest succeeded or unchanged run of a connector,
	// or a domain.NotFound error.
	LatestRun(ctx context.Context, orgID, connectorID string) (IngestionRun, error)
	// PartitionVersions returns the source version of each active partition
	// of a connector, by billing period start.
	PartitionVersions(ctx context.Context, orgID, connectorID string) (map[time.Time]string, error)
	// ListRuns returns the newest runs of the organizations, newest first.
	ListRuns(ctx context.Context, orgIDs []string, limit int) ([]IngestionRun, error)
}

// IngestStore is what the Ingester needs from storage.
type IngestStore interface {
	RunStore
	// WriteLineItems stores the batches of a running run until the channel
	// closes. The rows stay invisible to readers until PublishRun.
	WriteLineItems(ctx context.Context, run IngestionRun, batches <-chan []LineItem) error
	// PublishRun writes rollups, the run's rollups built while it read, or
	// when rollups is nil builds them from its rows (the dimension rollup,
	// and tag rollups for run.TagKeys that are RolledUp); it makes the run
	// the active version of each of its periods (recording
	// run.PeriodVersions), retires the periods in run.Retired, and records
	// it as succeeded — readers see all of it or none — then removes the
	// rows it superseded or retired.
	PublishRun(ctx context.Context, run IngestionRun, rollups *Rollups) error
	// DiscardRun removes whatever a failed run wrote.
	DiscardRun(ctx context.Context, run IngestionRun) error
	// LockRun claims the run's connector for it, before the run is
	// created, with a lock that lives as long as the calling process:
	// until release is called or the process dies. While it is held no
	// other ingestion of the connector starts, in any process, and
	// housekeeping knows the run is alive; once it is gone with the run
	// still running, housekeeping fails the run at once. When another run
	// holds the connector, LockRun fails with a domain.Conflict error
	// naming that run.
	LockRun(ctx context.Context, run IngestionRun) (release func(), err error)
}

// InputError returns a domain.Invalid error locating bad input: the file,
// the 1-based line, and the column (empty when the whole line is wrong).
func InputError(file string, line int, column, format string, args ...any) error {
	where := fmt.Sprintf("%s: line %d", file, line)
	if column != "" {
		where += fmt.Sprintf(", column %s", column)
	}
	return domain.Errorf(domain.Invalid, "%s: %s", where, fmt.Sprintf(format, args...))
}

// LocateRowError places a *RowError that a Source's callback returned at
// the file and line the Source was reading, as an InputError; any other
// error is returned as it is.
func LocateRowError(file string, line int, err error) error {
	var re *RowError
	if errors.As(err, &re) {
		return InputError(file, line, re.Column, "%s", re.Message)
	}
	return err
}

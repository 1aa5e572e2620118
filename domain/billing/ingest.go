package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
)

// batchSize is how many line items travel together from the reader to the
// store: large enough to amortise a COPY round trip, small enough to keep
// memory flat.
const batchSize = 2048

// Ingester loads a Source into storage as replaceable (connector, billing
// period) partitions: a new version is written beside the old one and swapped
// in atomically, an unchanged source is a no-op, and a failure leaves the
// previous version in place.
type Ingester struct {
	store    IngestStore
	now      func() time.Time
	newID    func() string
	observer IngestObserver
}

// IngestObserver is told of every run an Ingester finishes, whatever its
// outcome (metrics).
type IngestObserver interface {
	IngestFinished(run IngestionRun)
}

// Observe makes g tell o of every run it finishes, and returns g.
func (g *Ingester) Observe(o IngestObserver) *Ingester {
	g.observer = o
	return g
}

// NewIngester returns an Ingester writing to store; newID makes run IDs.
func NewIngester(store IngestStore, newID func() string) *Ingester {
	return &Ingester{store: store, now: time.Now, newID: newID}
}

// IngestRequest names what to load and where it belongs.
type IngestRequest struct {
	OrgID       string
	ConnectorID string
	Source      Source
	// Progress, when set, is told the total bytes to read, then the bytes
	// read so far.
	Progress func(done, total int64)
	// Name is what errors call the source (a local folder or file, a
	// bucket path); empty means "the source".
	Name string
}

// Ingest runs one ingestion and returns its run record. Only parts whose
// version differs from the loaded one are read; when none does, the run ends
// Unchanged without reading. On failure the returned run is Failed, nothing
// it wrote is visible, and the error says why.
func (g *Ingester) Ingest(ctx context.Context, req IngestRequest) (run IngestionRun, err error) {
	run = IngestionRun{
		ID:          g.newID(),
		OrgID:       req.OrgID,
		ConnectorID: req.ConnectorID,
		Status:      RunRunning,
		StartedAt:   g.now().UTC(),
	}
	// One ingestion of a connector at a time: a second one is refused
	// rather than queued, since it would find the first one's work done.
	release, err := g.store.LockRun(ctx, run)
	if err != nil {
		return run, err
	}
	defer release()
	defer func() {
		if g.observer != nil && !run.FinishedAt.IsZero() {
			g.observer.IngestFinished(run)
		}
	}()
	m, err := req.Source.Scan(ctx)
	if err != nil {
		return g.fail(ctx, run, err, false)
	}
	run.Format = m.Format
	run.SourceVersion = manifestVersion(m)
	if len(m.Parts) == 0 {
		name := "the source"
		if req.Name != "" {
			name = req.Name
		}
		return g.fail(ctx, run, domain.Errorf(domain.Invalid, "%s holds no billing files", name), false)
	}
	loaded, err := g.store.PartitionVersions(ctx, req.OrgID, req.ConnectorID)
	if err != nil {
		return run, err
	}
	changed := changedParts(m.Parts, loaded)
	if len(changed) == 0 {
		run.Status = RunUnchanged
		run.FinishedAt = g.now().UTC()
		if err := g.store.CreateRun(ctx, run); err != nil {
			return run, err
		}
		return run, nil
	}
	var total int64
	for _, p := range changed {
		for _, f := range p.Files {
			run.Files = append(run.Files, f.Name)
			total += f.Size
		}
	}
	if err := g.store.CreateRun(ctx, run); err != nil {
		return run, err
	}
	stop := g.keepAlive(ctx, run)
	rollups, err := g.load(ctx, &run, req.Source, changed, total, req.Progress)
	stop()
	if err != nil {
		return g.fail(ctx, run, err, true)
	}
	if m.Whole {
		run.Retired = retiredPeriods(loaded, run.PeriodVersions)
	}
	run.Status = RunSucceeded
	run.FinishedAt = g.now().UTC()
	if err := g.store.PublishRun(ctx, run, rollups); err != nil {
		return g.fail(ctx, run, fmt.Errorf("publish run: %w", err), true)
	}
	return run, nil
}

// changedParts keeps the parts not already loaded at their version. A part
// of known period compares with that period's partition; a part whose
// periods are found in the data counts as loaded when any partition carries
// its version (versions identify content, so that partition came from it).
func changedParts(parts []Part, loaded map[time.Time]string) []Part {
	seen := make(map[string]bool, len(loaded))
	for _, v := range loaded {
		seen[v] = true
	}
	var changed []Part
	for _, p := range parts {
		if p.Period.IsZero() {
			if !seen[p.Version] {
				changed = append(changed, p)
			}
		} else if loaded[p.Period.UTC()] != p.Version {
			changed = append(changed, p)
		}
	}
	return changed
}

// retiredPeriods are the loaded periods a whole source's new version no
// longer holds, in order.
func retiredPeriods(loaded map[time.Time]string, now map[time.Time]string) []time.Time {
	var out []time.Time
	for p := range loaded {
		if _, ok := now[p.UTC()]; !ok {
			out = append(out, p.UTC())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func manifestVersion(m Manifest) string {
	h := sha256.New()
	for _, p := range m.Parts {
		fmt.Fprintf(h, "%s\x00%s\n", p.Period.UTC().Format(time.RFC3339), p.Version)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// load streams the parts through three goroutines: this one reads and
// checks line items, the next sums them into the rollups, the last hands
// them to the store; each works on its own batch. It returns the run's
// rollups, or nil when they outgrew the aggregator's bounds and the store
// must build them.
func (g *Ingester) load(ctx context.Context, run *IngestionRun, src Source, parts []Part, total int64, progress func(int64, int64)) (*Rollups, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	toAggregate := make(chan []LineItem, 2)
	batches := make(chan []LineItem, 2)
	aggErr, writeErr := make(chan error, 1), make(chan error, 1)
	meta := *run // the writer's copy: this goroutine goes on filling run
	go func() {
		err := g.store.WriteLineItems(ctx, meta, batches)
		if err != nil {
			cancel()
		}
		// Drain so that nothing upstream blocks on a writer that gave up.
		for range batches {
		}
		writeErr <- err
	}()
	agg := newAggregator()
	go func() {
		var err error
		for batch := range toAggregate {
			if err == nil {
				if err = agg.addBatch(batch); err != nil {
					cancel()
				}
			}
			if err == nil {
				batches <- batch // the writer drains until the channel closes
			}
		}
		close(batches)
		aggErr <- err
	}()

	totals := make(map[string]*Sum)
	run.PeriodVersions = make(map[time.Time]string)
	batch := make([]LineItem, 0, batchSize)
	var rows, done int64

	send := func() error {
		select {
		case toAggregate <- batch:
			batch = make([]LineItem, 0, batchSize)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var readErr error
	for _, part := range parts {
		base := done
		readErr = src.Read(ctx, part, func(l *LineItem) error {
			if err := checkLineItem(l); err != nil {
				return err
			}
			period := l.BillingPeriodStart
			if !part.Period.IsZero() && !period.Equal(part.Period) {
				return &RowError{Column: "BillingPeriodStart", Message: fmt.Sprintf("is %s but the file belongs to the billing period starting %s",
					period.Format(time.RFC3339), part.Period.UTC().Format(time.RFC3339))}
			}
			if _, ok := run.PeriodVersions[period]; !ok {
				run.PeriodVersions[period] = part.Version
			}
			rows++
			t := totals[l.BillingCurrency]
			if t == nil {
				t = new(Sum)
				totals[l.BillingCurrency] = t
			}
			t.Add(l.BilledCost)
			batch = append(batch, *l)
			if len(batch) == batchSize {
				return send()
			}
			return nil
		}, func(n int64) {
			done = base + n
			if progress != nil {
				progress(done, total)
			}
		})
		if readErr != nil {
			break
		}
		// A known period with no rows left (everything restated away) is
		// still replaced, by an empty version.
		if !part.Period.IsZero() {
			if _, ok := run.PeriodVersions[part.Period.UTC()]; !ok {
				run.PeriodVersions[part.Period.UTC()] = part.Version
			}
		}
	}
	if readErr == nil && len(batch) > 0 {
		readErr = send()
	}
	if readErr != nil {
		cancel()
	}
	close(toAggregate)
	aErr, wErr := <-aggErr, <-writeErr
	switch {
	case readErr != nil && !errors.Is(readErr, context.Canceled):
		return nil, readErr
	case aErr != nil:
		return nil, aErr
	case wErr != nil:
		return nil, fmt.Errorf("store line items: %w", wErr)
	case readErr != nil:
		return nil, readErr
	}
	if rows == 0 && len(run.PeriodVersions) == 0 {
		return nil, domain.Errorf(domain.Invalid, "%s no line items (a header only, or no rows)", filesHold(run.Files))
	}
	run.Rows = rows
	money := make(Totals, len(totals))
	for cur, t := range totals {
		money[cur] = t.Decimal()
	}
	run.Totals = money.Money()
	run.Periods = make([]time.Time, 0, len(run.PeriodVersions))
	for p := range run.PeriodVersions {
		run.Periods = append(run.Periods, p)
	}
	sort.Slice(run.Periods, func(i, j int) bool { return run.Periods[i].Before(run.Periods[j]) })

	keys, rollups, ok := agg.finish(rows)
	run.TagKeys = keys
	if !ok {
		return nil, nil
	}
	return &rollups, nil
}

// RowError is returned by a Source's callback for a line item that is
// wrong as a whole; the Source reports it with the file and line it read.
type RowError struct {
	Column  string
	Message string
}

func (e *RowError) Error() string { return e.Column + ": " + e.Message }

// checkLineItem enforces what every stored line item must satisfy beyond
// parsing: the mandatory columns and the value bounds (checkBounds). Tags
// are checked as the aggregator reads them (see aggregator.addBatch).
func checkLineItem(l *LineItem) error {
	if l.BillingCurrency == "" {
		return &RowError{Column: "BillingCurrency", Message: "must not be empty"}
	}
	return checkBounds(l)
}

// filesHold names the files read in a message: the file, or the first few.
func filesHold(files []string) string {
	switch n := len(files); {
	case n == 0:
		return "the source holds"
	case n == 1:
		return files[0] + " holds"
	case n <= 3:
		return "the source files " + strings.Join(files, ", ") + " hold"
	default:
		return fmt.Sprintf("the source files %s and %d more hold", strings.Join(files[:3], ", "), n-3)
	}
}

func (g *Ingester) fail(ctx context.Context, run IngestionRun, cause error, created bool) (IngestionRun, error) {
	run.Status = RunFailed
	// What is stored is shown on pages: the safe message, never the chain.
	run.Error = domain.ErrorMessage(cause)
	run.FinishedAt = g.now().UTC()
	// The caller's context may be what failed; record the outcome anyway.
	bg := context.WithoutCancel(ctx)
	if created {
		if err := g.store.DiscardRun(bg, run); err != nil {
			return run, errors.Join(cause, fmt.Errorf("discard run: %w", err))
		}
		if err := g.store.FinishRun(bg, run); err != nil {
			return run, errors.Join(cause, fmt.Errorf("record failed run: %w", err))
		}
		return run, cause
	}
	if err := g.store.CreateRun(bg, run); err != nil {
		return run, errors.Join(cause, fmt.Errorf("record failed run: %w", err))
	}
	return run, cause
}

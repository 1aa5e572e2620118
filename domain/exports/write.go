package exports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

// MaxAttempts is how often a run is tried before it fails for good.
const MaxAttempts = 5

// RowsPerFile bounds one data file; a larger month is split, as AWS
// splits its reports.
const RowsPerFile = 5_000_000

// backoff is the wait before attempt n+1 (n ≥ 1): 1, 2, 4, 8 minutes.
func backoff(n int) time.Duration { return time.Minute << (n - 1) }

// staleAfter is how long a run may stay running before the sweep takes
// it for abandoned (its process died) and queues it again.
const staleAfter = time.Hour

// WriteQueued writes up to limit queued exports that are due, retrying a
// failed one later with backoff, and returns how many it handled. Runs a
// dead process left running are queued again first. Only the system (the
// export job) calls it.
func (s *Service) WriteQueued(ctx context.Context, p tenancy.Principal, limit int) (int, error) {
	if err := s.rights.System(p, "write billing exports"); err != nil {
		return 0, err
	}
	now := s.now().UTC()
	if _, err := s.store.RequeueStaleExports(ctx, now.Add(-staleAfter), now); err != nil {
		return 0, err
	}
	runs, err := s.store.ClaimExports(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	for _, r := range runs {
		r.Attempts++
		r.StartedAt = s.now().UTC()
		err := s.write(ctx, &r)
		r.FinishedAt = s.now().UTC()
		switch {
		case err == nil:
			r.Status, r.Error = RunSucceeded, ""
		case ctx.Err() != nil || (r.Attempts < MaxAttempts && retryable(err)):
			r.Status, r.Error = RunQueued, domain.ErrorMessage(err)
			r.NextAttemptAt = r.FinishedAt.Add(backoff(r.Attempts))
		default:
			r.Status, r.Error = RunFailed, domain.ErrorMessage(err)
		}
		if err != nil {
			s.log.WarnContext(ctx, "billing export failed", "org", r.OrgID, "run", r.ID, "customer", r.CustomerID,
				"provider", r.Provider, "month", r.Month.Format("2006-01"), "attempt", r.Attempts, "err", err)
		}
		// The outcome is recorded even when ctx ended, so that the run is
		// not left running.
		if err := s.store.SaveExportRun(context.WithoutCancel(ctx), r); err != nil {
			return len(runs), err
		}
	}
	return len(runs), nil
}

// retryable: what a later attempt may fix by itself (an unreachable
// cloud); a refusal or a missing bucket needs an admin, who retries.
func retryable(err error) bool {
	switch domain.ErrorCode(err) {
	case domain.Unavailable, domain.Internal:
		return true
	}
	return false
}

// write exports one run's month: a new assembly of data files, then the
// manifests naming them, so a reader sees the old month or the new one.
func (s *Service) write(ctx context.Context, r *Run) error {
	cfg, sealed, err := s.store.ExportConfig(ctx, r.OrgID, r.ConfigID)
	if err != nil {
		if domain.IsNotFound(err) {
			return domain.Errorf(domain.Invalid, "the export configuration was deleted")
		}
		return err
	}
	if !cfg.Enabled {
		return domain.Errorf(domain.Invalid, "the export configuration is turned off")
	}
	r.Basis = cfg.Basis
	if cfg.Basis == AtResale && s.closed != nil && r.Reason != "close" {
		closed, err := s.closed(ctx, r.CustomerID, r.Month)
		if err != nil {
			return err
		}
		if closed {
			// A closed month's resale export was written at close; a
			// restatement shows in the next open month.
			r.Error = "month closed: left as written at close"
			return nil
		}
	}
	owner, err := s.orgs.OrganizationByID(ctx, cfg.OrgID)
	if err != nil {
		return err
	}
	customer := owner
	if r.CustomerID != owner.ID {
		if customer, err = s.orgs.OrganizationByID(ctx, r.CustomerID); err != nil {
			return err
		}
		if customer.ResellerID != owner.ID {
			return domain.Errorf(domain.Forbidden, "organization %s is not a customer of %s", customer.Slug, owner.Slug)
		}
	}
	scope := Scope{OrgID: customer.ID, Month: billing.MonthStart(r.Month), ProviderNames: ProviderNames(r.Provider)}
	sources, err := s.store.ExportSources(ctx, scope)
	if err != nil {
		return err
	}
	r.Sources = sources
	layoutName := LayoutFOCUS
	if cfg.Format == Native {
		layoutName = nativeLayout(string(r.Provider), sources)
	}
	layout, ok := s.formats.Layout(layoutName)
	if !ok {
		return domain.Errorf(domain.Internal, "no writer for layout %s", layoutName)
	}
	r.Layout = layout.Name()
	cols, err := s.store.ExportColumns(ctx, scope)
	if err != nil {
		return err
	}
	if cfg.Basis == AtResale {
		cols.Extras = slices.DeleteFunc(cols.Extras, CarriesAmount)
	}
	a, err := s.access(ctx, cfg.OrgID, cfg.Destination, "", sealed)
	if err != nil {
		return err
	}
	sink, err := s.sinks.Open(ctx, cfg.Destination, a)
	if err != nil {
		return err
	}
	prefix := cfg.Destination.Prefix
	if owner.Kind == tenancy.Reseller {
		prefix = joinKey(prefix, customer.Slug)
	}
	r.Assembly = s.newID()
	t := Target{Prefix: prefix, Provider: r.Provider, Month: scope.Month, Assembly: r.Assembly}
	paths := layout.Paths(t)
	h := Header{Basis: cfg.Basis, Columns: cols, WithResale: true}
	fw := &fileWriter{ctx: ctx, sink: sink, layout: layout, header: h, paths: paths}
	totals := make(billing.Totals)
	r.Rows = 0
	err = s.store.ExportLineItems(ctx, scope, func(it *Item) error {
		if cfg.Basis == AtResale {
			toResale(it)
		}
		totals.Add(it.BillingCurrency, it.BilledCost.Decimal())
		r.Rows++
		return fw.write(it)
	})
	if err == nil {
		err = fw.finish()
	}
	if err != nil {
		fw.abort()
		return err
	}
	r.Files = fw.files
	r.Totals = totals.Money()
	m := Manifest{Layout: layout.Name(), Basis: cfg.Basis, Provider: string(r.Provider), Month: scope.Month,
		Customer: customer.Slug, Assembly: r.Assembly, Files: r.Files, Rows: r.Rows, Totals: r.Totals,
		Sources: sources, Columns: cols, GeneratedAt: s.now().UTC(), Bucket: cfg.Destination.Bucket, Prefix: prefix}
	body, err := layout.Manifest(m)
	if err != nil {
		return fmt.Errorf("build manifest: %w", err)
	}
	for _, key := range paths.Manifests {
		if err := sink.Put(ctx, key, "application/json", body); err != nil {
			return err
		}
	}
	return nil
}

// nativeLayout is the provider's own layout when every source of the
// month was read from that provider's native export (pricing's charges
// aside), FOCUS otherwise.
func nativeLayout(p string, sources []SourceVersion) string {
	native := map[string]struct {
		layout  string
		formats []string
	}{
		"aws":   {LayoutAWSCUR, []string{"aws-cur", "aws-cur2"}},
		"azure": {LayoutAzureCostDetails, []string{"azure"}},
		"oci":   {LayoutOCICostReport, []string{"oci"}},
		"gcp":   {LayoutGCPBillingExport, []string{"gcp", "gcp-bigquery"}},
	}[p]
	if native.layout == "" {
		return LayoutFOCUS
	}
	seen := false
	for _, s := range sources {
		if s.Format == "pricing" {
			continue
		}
		if !slices.Contains(native.formats, s.Format) {
			return LayoutFOCUS
		}
		seen = true
	}
	if !seen {
		return LayoutFOCUS
	}
	return native.layout
}

// fileWriter writes the data files of one assembly, starting a new file
// every RowsPerFile rows.
type fileWriter struct {
	ctx    context.Context
	sink   Sink
	layout Layout
	header Header
	paths  Paths

	obj   Object
	rw    RowWriter
	sum   hash.Hash
	count *countWriter
	rows  int64
	files []File
}

type countWriter struct {
	n int64
	w interface{ Write([]byte) (int, error) }
	h hash.Hash
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	return n, err
}

func (f *fileWriter) open() error {
	key := f.paths.Data(len(f.files) + 1)
	obj, err := f.sink.Create(f.ctx, key, "application/gzip")
	if err != nil {
		return err
	}
	f.obj, f.sum = obj, sha256.New()
	f.count = &countWriter{w: obj, h: f.sum}
	f.rows = 0
	f.files = append(f.files, File{Key: key})
	rw, err := f.layout.NewWriter(f.count, f.header)
	if err != nil {
		return err
	}
	f.rw = rw
	return nil
}

func (f *fileWriter) write(it *Item) error {
	if f.obj == nil || f.rows >= RowsPerFile {
		if err := f.close(); err != nil {
			return err
		}
		if err := f.open(); err != nil {
			return err
		}
	}
	f.rows++
	return f.rw.Write(it)
}

func (f *fileWriter) close() error {
	if f.obj == nil {
		return nil
	}
	if err := f.rw.Close(); err != nil {
		return err
	}
	if err := f.obj.Close(); err != nil {
		return err
	}
	last := &f.files[len(f.files)-1]
	last.Rows, last.Bytes, last.SHA256 = f.rows, f.count.n, hex.EncodeToString(f.sum.Sum(nil))
	f.obj = nil
	return nil
}

// finish closes the last file; a month without rows still gets one file
// (its header), so the manifest replaces what was there.
func (f *fileWriter) finish() error {
	if f.obj == nil && len(f.files) == 0 {
		if err := f.open(); err != nil {
			return err
		}
	}
	return f.close()
}

func (f *fileWriter) abort() {
	if f.obj != nil {
		f.obj.Abort()
		f.obj = nil
	}
}

// toResale puts the resale amount in every cost column and drops every
// other amount: a resale export shows no cost anywhere.
func toResale(it *Item) {
	resale := it.Resale()
	it.BilledCost, it.EffectiveCost = resale, resale
	it.ListCost, it.ContractedCost = resale, resale
	it.ListUnitPrice, it.ContractedUnitPrice = "", ""
	it.PricingCurrencyContractedUnitPrice, it.PricingCurrencyEffectiveCost, it.PricingCurrencyListUnitPrice = "", "", ""
	it.SkuPriceDetails, it.ContractApplied = "", ""
	it.ResaleCost = resale
	for k := range it.Extras {
		if CarriesAmount(k) {
			delete(it.Extras, k)
		}
	}
}

// amountWords mark an x_ column whose value is a price or an amount.
var amountWords = []string{"cost", "rate", "fee", "price", "amount", "commitment", "savings", "discount",
	"credit", "refund", "charge", "spend", "blended", "amortized", "amortised", "tax", "payment", "upfront", "recurring"}

// CarriesAmount reports whether an extra column's name says it holds a
// price or an amount (x_LineItemNetUnblendedCost, x_PricingPublicOnDemandRate,
// x_ReservationUnusedRecurringFee…). Resale exports drop these.
func CarriesAmount(name string) bool {
	n := strings.ToLower(name)
	for _, w := range amountWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Manifest describes one written month: its files, rows, totals per
// currency, price basis, each file's SHA-256 and the ingestion runs it
// was built from. Layouts render it in their own shape.
type Manifest struct {
	Layout      string
	Basis       Basis
	Provider    string
	Month       time.Time
	Customer    string
	Assembly    string
	Bucket      string
	Prefix      string
	Files       []File
	Rows        int64
	Totals      []billing.Money
	Sources     []SourceVersion
	Columns     Columns
	GeneratedAt time.Time
}

// MonthEnd is the first instant after the manifest's month.
func (m Manifest) MonthEnd() time.Time { return m.Month.AddDate(0, 1, 0) }

// ManifestDoc is the manifest's JSON form: what Truecost writes beside
// every month, and inside the AWS-shaped manifest of a CUR layout.
type ManifestDoc struct {
	Format        string          `json:"format"`
	PriceBasis    Basis           `json:"priceBasis"`
	Provider      string          `json:"provider"`
	Customer      string          `json:"customer"`
	BillingPeriod PeriodDoc       `json:"billingPeriod"`
	AssemblyID    string          `json:"assemblyId"`
	Files         []File          `json:"files"`
	Rows          int64           `json:"rows"`
	Totals        []MoneyDoc      `json:"totals"`
	Sources       []SourceVersion `json:"sources"`
	GeneratedAt   time.Time       `json:"generatedAt"`
}

// PeriodDoc is a month as manifests give it.
type PeriodDoc struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// MoneyDoc is a total as manifests give it: the amount as exact decimal
// text.
type MoneyDoc struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// Doc returns the manifest's JSON form.
func (m Manifest) Doc() ManifestDoc {
	d := ManifestDoc{Format: m.Layout, PriceBasis: m.Basis, Provider: m.Provider, Customer: m.Customer,
		BillingPeriod: PeriodDoc{Start: m.Month.Format(time.RFC3339), End: m.MonthEnd().Format(time.RFC3339)},
		AssemblyID:    m.Assembly, Files: m.Files, Rows: m.Rows, Totals: []MoneyDoc{}, Sources: m.Sources,
		GeneratedAt: m.GeneratedAt}
	if d.Files == nil {
		d.Files = []File{}
	}
	if d.Sources == nil {
		d.Sources = []SourceVersion{}
	}
	for _, t := range m.Totals {
		d.Totals = append(d.Totals, MoneyDoc{Currency: t.Currency, Amount: t.Amount.String()})
	}
	return d
}

// Period is the month's folder name in export layouts: yyyymmdd-yyyymmdd.
func (t Target) Period() string {
	return t.Month.Format("20060102") + "-" + t.Month.AddDate(0, 1, 0).Format("20060102")
}

// Join joins key parts with "/", skipping empty ones.
func Join(parts ...string) string { return joinKey(parts...) }

// FolderPaths names the files of a layout that keeps a month under
// PREFIX/FOLDER/yyyymmdd-yyyymmdd: the data files ASSEMBLY/STEM-N.csv.gz,
// then manifest.json in the assembly and, written last, beside it.
func FolderPaths(t Target, folder, stem string) Paths {
	dir := Join(t.Prefix, folder, t.Period())
	return Paths{
		Data:      func(n int) string { return Join(dir, t.Assembly, stem+strconv.Itoa(n)+".csv.gz") },
		Manifests: []string{Join(dir, t.Assembly, "manifest.json"), Join(dir, "manifest.json")},
	}
}

// ManifestJSON is the manifest of the layouts whose manifest is
// Truecost's own document, indented.
func ManifestJSON(m Manifest) ([]byte, error) { return json.MarshalIndent(m.Doc(), "", "  ") }

package ocibilling

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Format is the format name of the manifests a Source returns.
const Format = "oci"

// Layout selects which of OCI's reports a Source reads. A reporting bucket
// holds both kinds for the same usage, so exactly one is read.
type Layout string

// Layouts. LayoutAuto reads the FOCUS reports when the bucket has any and
// the proprietary cost reports otherwise.
const (
	LayoutAuto  Layout = ""
	LayoutFOCUS Layout = "focus"
	LayoutCost  Layout = "cost"
)

// Defaults of Options.
const (
	// DefaultLateDays: OCI writes cost reports every six hours and says data
	// can arrive up to a day late, so files of a month's first days may
	// still hold usage of the month before.
	DefaultLateDays = 5
	// DefaultMonths: OCI keeps reports for one year, so the oldest month in
	// the bucket is usually cut short; it is left as it was loaded.
	DefaultMonths = 12
)

// Options tune how a Source groups report files into billing months.
type Options struct {
	Layout Layout
	// LateDays is how many days into a month a report file may still carry
	// rows of the previous month. Such files belong to both months' parts
	// (each part keeps its own rows). 0 means DefaultLateDays; negative
	// means none.
	LateDays int
	// Months is how many billing months, counted back from the newest one
	// in the bucket, are read; older months are left as loaded. 0 means
	// DefaultMonths; negative means all.
	Months int
}

// Source reads the cost reports under a prefix of a bucket (the reporting
// bucket itself, or a local copy through localfiles.Dir) as billing months.
// It implements billing.Source.
//
// Each report file is dated, in this order, by a YYYY/MM/DD folder above it
// (FOCUS Reports/2026/09/14/…), by a YYYY-MM or YYYY-MM-DD in its name
// (report_cost-…_2026-09.csv), or by its modification time (the time OCI
// wrote it, for reports/cost-csv/0001000000123456.csv.gz). A file dated by
// month only holds that month's usage; a file dated by day also belongs to
// the previous month when dated within LateDays of a month's start. The
// billing month of a row is the month of lineItem/intervalUsageStart in
// cost reports and BillingPeriodStart in FOCUS reports; a row of a month
// its file cannot hold fails the run.
type Source struct {
	bucket billing.Bucket
	prefix string
	opts   Options

	mu     sync.Mutex
	files  map[string]*reportFile // by key, from the last Scan
	cutoff time.Time              // months before it are not read
}

var _ billing.Source = (*Source)(nil)

// New returns a Source over the reports under prefix in bucket ("" for the
// whole reporting bucket).
func New(bucket billing.Bucket, prefix string, opts Options) *Source {
	if opts.LateDays == 0 {
		opts.LateDays = DefaultLateDays
	}
	if opts.Months == 0 {
		opts.Months = DefaultMonths
	}
	return &Source{bucket: bucket, prefix: prefix, opts: opts}
}

// reportKind tells the two report formats apart.
type reportKind int

const (
	notReport reportKind = iota
	costReport
	focusReport
)

// classify tells what an object of the reporting bucket is. Usage reports
// carry no cost and are not read.
func classify(key string) reportKind {
	lk := "/" + strings.ToLower(key)
	base := lk[strings.LastIndex(lk, "/")+1:]
	if !strings.HasSuffix(base, ".csv") && !strings.HasSuffix(base, ".csv.gz") {
		return notReport
	}
	switch {
	case strings.Contains(lk, "/focus reports/"):
		return focusReport
	case strings.Contains(lk, "/usage-csv/") || strings.HasPrefix(base, "report_usage"):
		return notReport
	case strings.Contains(lk, "/cost-csv/") || strings.HasPrefix(base, "report_cost"):
		return costReport
	}
	return notReport
}

// reportFile is one report object and the billing months it may hold.
type reportFile struct {
	obj     billing.Object
	kind    reportKind
	date    fileDate
	periods map[time.Time]bool // the months whose parts read it
}

// list returns the report objects under the prefix, by kind.
func (s *Source) list(ctx context.Context) (focus, cost []billing.Object, err error) {
	objs, err := s.bucket.List(ctx, s.prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("list OCI reports under %q: %w", s.prefix, err)
	}
	for _, o := range objs {
		switch classify(o.Key) {
		case focusReport:
			focus = append(focus, o)
		case costReport:
			cost = append(cost, o)
		}
	}
	return focus, cost, nil
}

// Scan lists the report files and groups them into one part per billing
// month. A part's Version digests the name, size, ETag and modification time
// of each of its files, so it changes exactly when a file of that month is
// added, replaced or removed.
func (s *Source) Scan(ctx context.Context) (billing.Manifest, error) {
	focus, cost, err := s.list(ctx)
	if err != nil {
		return billing.Manifest{}, err
	}
	layout, kind, objs := s.opts.Layout, costReport, cost
	switch layout {
	case LayoutAuto:
		if len(focus) > 0 {
			layout, kind, objs = LayoutFOCUS, focusReport, focus
		} else {
			layout = LayoutCost
		}
	case LayoutFOCUS:
		kind, objs = focusReport, focus
	case LayoutCost:
	default:
		return billing.Manifest{}, domain.Errorf(domain.Invalid, "unknown OCI report layout %q (want focus or cost)", layout)
	}
	if len(objs) == 0 {
		return billing.Manifest{}, domain.Errorf(domain.Invalid,
			"no OCI %s reports under %q: expected reports/cost-csv/*.csv.gz or FOCUS Reports/YYYY/MM/DD/*.csv.gz", layout, s.prefix)
	}

	files := make(map[string]*reportFile, len(objs))
	members := make(map[time.Time][]*reportFile)
	var newest time.Time
	for _, o := range objs {
		d, err := dateOf(o)
		if err != nil {
			return billing.Manifest{}, err
		}
		f := &reportFile{obj: o, kind: kind, date: d, periods: map[time.Time]bool{}}
		files[o.Key] = f
		for _, m := range d.months(s.opts.LateDays) {
			members[m] = append(members[m], f)
		}
		if d.month.After(newest) {
			newest = d.month
		}
	}
	var cutoff time.Time
	if s.opts.Months > 0 {
		cutoff = newest.AddDate(0, 1-s.opts.Months, 0)
	}

	var parts []billing.Part
	for month, fs := range members {
		if month.Before(cutoff) {
			continue
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].obj.Key < fs[j].obj.Key })
		h := sha256.New()
		fmt.Fprintf(h, "oci-%s\n", layout)
		p := billing.Part{Period: month}
		for _, f := range fs {
			f.periods[month] = true
			fmt.Fprintf(h, "%s\x00%d\x00%s\x00%d\n", f.obj.Key, f.obj.Size, f.obj.ETag, f.obj.Modified.UnixNano())
			p.Files = append(p.Files, billing.SourceFile{Name: f.obj.Key, Size: f.obj.Size})
		}
		p.Version = string(layout) + ":" + hex.EncodeToString(h.Sum(nil))
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Period.Before(parts[j].Period) })

	s.mu.Lock()
	s.files, s.cutoff = files, cutoff
	s.mu.Unlock()
	return billing.Manifest{Format: Format, Parts: parts}, nil
}

// Read streams the line items of one billing month from the part's files,
// skipping the rows those files hold for the neighbouring month's part.
func (s *Source) Read(ctx context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	if p.Period.IsZero() {
		return domain.Errorf(domain.Invalid, "an OCI part must name its billing month")
	}
	s.mu.Lock()
	files, cutoff := s.files, s.cutoff
	s.mu.Unlock()
	if files == nil {
		if _, err := s.Scan(ctx); err != nil {
			return err
		}
		s.mu.Lock()
		files, cutoff = s.files, s.cutoff
		s.mu.Unlock()
	}
	want := p.Period.UTC()
	var done int64
	for _, sf := range p.Files {
		f := files[sf.Name]
		if f == nil {
			return domain.Errorf(domain.Conflict, "%s is no longer in the bucket listing; scan again", sf.Name)
		}
		base := done
		keep := func(l *billing.LineItem) error {
			period := l.BillingPeriodStart
			switch {
			case period.Equal(want):
				return fn(l)
			case f.periods[period], period.Before(cutoff):
				return nil // read with its own month, or a month no longer read
			}
			return &billing.RowError{Column: f.periodColumn(), Message: f.outsideMessage(period, s.opts.LateDays)}
		}
		err := s.readFile(ctx, f, keep, func(n int64) {
			if progress != nil {
				progress(base + n)
			}
		})
		if err != nil {
			return err
		}
		done += sf.Size
	}
	return nil
}

// periodColumn is the source column a row's billing month comes from.
func (f *reportFile) periodColumn() string {
	if f.kind == focusReport {
		return "BillingPeriodStart"
	}
	return "lineItem/intervalUsageStart"
}

func (f *reportFile) outsideMessage(period time.Time, lateDays int) string {
	msg := fmt.Sprintf("is in billing month %s, but the file, dated %s by %s, is read for %s only",
		period.Format("2006-01"), f.date, f.date.how, strings.Join(sortedMonths(f.periods), " and "))
	if f.date.day == 0 {
		return msg + " (a file dated by month holds that month's usage)"
	}
	return msg + fmt.Sprintf(" (files dated in a month's first %d days also hold the month before; Options.LateDays widens that)", max(lateDays, 0))
}

func sortedMonths(set map[time.Time]bool) []string {
	ms := make([]string, 0, len(set))
	for m := range set {
		ms = append(ms, m.Format("2006-01"))
	}
	sort.Strings(ms)
	if len(ms) == 0 {
		return []string{"no month"}
	}
	return ms
}

// Detect reports whether the objects under prefix look like OCI cost or
// FOCUS reports: their keys follow OCI's layout and the first report's
// header is one OCI writes. It returns an error only when the bucket cannot
// be listed or read.
func Detect(ctx context.Context, bucket billing.Bucket, prefix string) (bool, error) {
	s := &Source{bucket: bucket, prefix: prefix}
	focus, cost, err := s.list(ctx)
	if err != nil {
		return false, err
	}
	kind, objs := focusReport, focus
	if len(objs) == 0 {
		kind, objs = costReport, cost
	}
	if len(objs) == 0 {
		return false, nil
	}
	header, err := readHeader(ctx, bucket, objs[0].Key)
	if err != nil {
		if domain.ErrorCode(err) == domain.Invalid {
			return false, nil
		}
		return false, err
	}
	if kind == focusReport {
		for i, h := range header {
			if newer, ok := previewNames[h]; ok {
				header[i] = newer
			}
		}
		return focusfile.IsHeader(header), nil
	}
	has := make(map[string]bool, len(header))
	for _, h := range header {
		has[strings.ToLower(h)] = true
	}
	for _, c := range requiredCostColumns {
		if !has[c] {
			return false, nil
		}
	}
	return true, nil
}

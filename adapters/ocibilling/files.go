package ocibilling

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// fileDate is when a report file was written, as precisely as its key or
// listing tells.
type fileDate struct {
	month time.Time // UTC month start
	day   int       // day of month; 0 when only the month is known
	how   string    // where the date came from, for messages
}

func (d fileDate) String() string {
	if d.day == 0 {
		return d.month.Format("2006-01")
	}
	return d.month.AddDate(0, 0, d.day-1).Format(time.DateOnly)
}

// months are the billing months a file dated d may hold: its own, and the
// previous one when d falls within lateDays of the month's start.
func (d fileDate) months(lateDays int) []time.Time {
	if d.day > 0 && d.day <= lateDays {
		return []time.Time{d.month.AddDate(0, -1, 0), d.month}
	}
	return []time.Time{d.month}
}

var (
	// FOCUS Reports/2026/09/14/file.csv.gz
	dayFolderRE = regexp.MustCompile(`(?:^|/)(\d{4})/(\d{2})/(\d{2})/[^/]+$`)
	// report_cost-1950_2026-09.csv, cost_2026-09-14.csv.gz
	nameDateRE = regexp.MustCompile(`(?:^|[^0-9])(\d{4})-(\d{2})(?:-(\d{2}))?(?:[^0-9]|$)`)
)

// dateOf dates a report object by its folders, its name, or its
// modification time, in that order.
func dateOf(o billing.Object) (fileDate, error) {
	if m := dayFolderRE.FindStringSubmatch(o.Key); m != nil {
		if d, ok := makeDate(m[1], m[2], m[3], "its folder"); ok {
			return d, nil
		}
	}
	base := o.Key[strings.LastIndex(o.Key, "/")+1:]
	if ms := nameDateRE.FindAllStringSubmatch(base, -1); ms != nil {
		m := ms[len(ms)-1]
		if d, ok := makeDate(m[1], m[2], m[3], "its name"); ok {
			return d, nil
		}
	}
	if !o.Modified.IsZero() {
		t := o.Modified.UTC()
		return fileDate{month: monthOf(t), day: t.Day(), how: "its modification time"}, nil
	}
	return fileDate{}, domain.Errorf(domain.Invalid,
		"cannot tell which month %s belongs to: no YYYY/MM/DD folder, no YYYY-MM in its name, no modification time", o.Key)
}

func makeDate(y, m, d, how string) (fileDate, bool) {
	year, _ := strconv.Atoi(y)
	month, _ := strconv.Atoi(m)
	if year < 2000 || year > 2999 || month < 1 || month > 12 {
		return fileDate{}, false
	}
	start := time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC)
	if d == "" {
		return fileDate{month: start, how: how}, true
	}
	day, _ := strconv.Atoi(d)
	if day < 1 || day > start.AddDate(0, 1, -1).Day() {
		return fileDate{}, false
	}
	return fileDate{month: start, day: day, how: how}, true
}

// openReport opens a report object and returns its text, decompressed when
// it is gzipped (told by its content, not its name).
func openReport(ctx context.Context, bucket billing.Bucket, key string, progress func(int64)) (io.Reader, func(), error) {
	rc, err := bucket.Open(ctx, key)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", key, err)
	}
	text, done, err := focusfile.Decompress(key, focusfile.NewFileReader(&focusfile.CountingReader{R: rc, Report: progress}))
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return text, func() { done(); rc.Close() }, nil
}

// readFile decodes one report file with the decoder of its kind.
func (s *Source) readFile(ctx context.Context, f *reportFile, fn func(*billing.LineItem) error, progress func(int64)) error {
	r, closeFn, err := openReport(ctx, s.bucket, f.obj.Key, progress)
	if err != nil {
		return err
	}
	defer closeFn()
	if f.kind == focusReport {
		return DecodeFOCUSReport(ctx, f.obj.Key, r, fn)
	}
	return DecodeCostReport(ctx, f.obj.Key, r, fn)
}

// readHeader returns the trimmed header row of a report object.
func readHeader(ctx context.Context, bucket billing.Bucket, key string) ([]string, error) {
	r, closeFn, err := openReport(ctx, bucket, key, nil)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	header, err := csvfile.ReadHeader(r)
	if err != nil {
		return nil, billing.InputError(key, 1, "", "cannot read the header row: %v", err)
	}
	return header, nil
}

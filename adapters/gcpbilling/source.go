package gcpbilling

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Formats reported in billing.Manifest.Format.
const (
	FormatJSONL    = "gcp"          // newline-delimited JSON extracts
	FormatBigQuery = "gcp-bigquery" // the export table in BigQuery
)

// Source reads newline-delimited JSON extracts of the billing export
// (*.jsonl, *.ndjson or *.json, each optionally gzipped) under a prefix of
// a bucket, one Part per invoice month.
//
// A file may hold rows of several invoice months (the export puts late
// rows of a month beside the next month's), so Scan reads every file once
// to find, per invoice month, the files holding it, the newest export_time,
// the row count and a digest of its rows. For local extracts that pass is
// cheap next to the load itself, and it lets a month be reloaded exactly
// when its rows change. Read then streams the month's files again and
// keeps only that month's rows.
type Source struct {
	bucket billing.Bucket
	prefix string
}

var _ billing.Source = (*Source)(nil)

// NewSource returns a Source for the extracts under prefix in bucket (for
// a local folder, localfiles.Dir(path) and prefix "").
func NewSource(bucket billing.Bucket, prefix string) *Source {
	return &Source{bucket: bucket, prefix: prefix}
}

// isExtract reports whether a key names a JSON extract file.
func isExtract(key string) bool {
	k := strings.TrimSuffix(strings.ToLower(key), ".gz")
	base := k[strings.LastIndex(k, "/")+1:]
	if strings.HasPrefix(base, ".") {
		return false
	}
	return strings.HasSuffix(k, ".jsonl") || strings.HasSuffix(k, ".ndjson") || strings.HasSuffix(k, ".json")
}

func (s *Source) extracts(ctx context.Context) ([]billing.Object, error) {
	objs, err := s.bucket.List(ctx, s.prefix)
	if err != nil {
		return nil, err
	}
	var out []billing.Object
	for _, o := range objs {
		if isExtract(o.Key) {
			out = append(out, o)
		}
	}
	return out, nil
}

// monthStats is what Scan learns about one invoice month.
type monthStats struct {
	maxExport time.Time
	rows      int64
	digest    hash.Hash
	files     []billing.SourceFile
}

// probe is the part of a row Scan needs.
type probe struct {
	Invoice *struct {
		Month jsonNumber `json:"month"`
	} `json:"invoice"`
	ExportTime string `json:"export_time"`
}

// Scan lists the extracts and returns one Part per invoice month found in
// them. A Part's Version is the month's newest export_time, its row count
// and a SHA-256 digest of its rows, so it changes exactly when rows of the
// month are added, removed or rewritten. Lines that are not JSON or lack
// invoice.month fail the scan with their file, line and column.
func (s *Source) Scan(ctx context.Context) (billing.Manifest, error) {
	objs, err := s.extracts(ctx)
	if err != nil {
		return billing.Manifest{}, err
	}
	if len(objs) == 0 {
		return billing.Manifest{}, domain.Errorf(domain.Invalid,
			"no billing export extracts (*.jsonl, *.ndjson, *.json, optionally .gz) under %q", s.prefix)
	}
	months := map[string]*monthStats{}
	for _, o := range objs {
		if err := s.scanFile(ctx, o, months); err != nil {
			return billing.Manifest{}, err
		}
	}
	keys := make([]string, 0, len(months))
	for m := range months {
		keys = append(keys, m)
	}
	sort.Strings(keys)
	man := billing.Manifest{Format: FormatJSONL}
	for _, m := range keys {
		st := months[m]
		period, _ := InvoicePeriod(m) // checked while scanning
		man.Parts = append(man.Parts, billing.Part{
			Period: period,
			Version: fmt.Sprintf("gcp-jsonl;invoice_month=%s;max_export_time=%s;rows=%d;sha256=%s",
				m, st.maxExport.Format(time.RFC3339Nano), st.rows, hex.EncodeToString(st.digest.Sum(nil))),
			Files: st.files,
		})
	}
	return man, nil
}

func (s *Source) scanFile(ctx context.Context, o billing.Object, months map[string]*monthStats) error {
	rc, r, err := open(ctx, s.bucket, o.Key, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := newLineScanner(r)
	for {
		b := sc.next()
		if b == nil {
			return sc.err(o.Key)
		}
		if sc.line%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if sc.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\uFEFF"))
		}
		var p probe
		if err := json.Unmarshal(b, &p); err != nil {
			return jsonError(o.Key, sc.line, err)
		}
		if p.Invoice == nil || p.Invoice.Month.text == "" {
			return billing.InputError(o.Key, sc.line, "invoice.month", "missing: every billing export row needs its invoice month")
		}
		month := p.Invoice.Month.text
		if _, err := InvoicePeriod(month); err != nil || p.Invoice.Month.bad {
			return billing.InputError(o.Key, sc.line, "invoice.month", "%q is not an invoice month (want YYYYMM, e.g. 202609)", month)
		}
		exported, err := parseExportTime("export_time", p.ExportTime)
		if err != nil {
			return billing.LocateRowError(o.Key, sc.line, err)
		}
		st := months[month]
		if st == nil {
			st = &monthStats{digest: sha256.New()}
			months[month] = st
		}
		if n := len(st.files); n == 0 || st.files[n-1].Name != o.Key {
			st.files = append(st.files, billing.SourceFile{Name: o.Key, Size: o.Size})
		}
		if exported.After(st.maxExport) {
			st.maxExport = exported
		}
		st.rows++
		st.digest.Write(b)
		st.digest.Write([]byte{'\n'})
	}
}

// Read streams the line items of the part's invoice month from its files,
// reporting the bytes read across them.
func (s *Source) Read(ctx context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	month := p.Period.UTC().Format("200601")
	var done int64
	for _, f := range p.Files {
		base := done
		rc, r, err := open(ctx, s.bucket, f.Name, func(n int64) {
			if progress != nil {
				progress(base + n)
			}
		})
		if err != nil {
			return err
		}
		err = decodeJSONL(ctx, f.Name, r, month, fn)
		rc.Close()
		if err != nil {
			return err
		}
		done += f.Size
	}
	return nil
}

// Detect reports whether the JSON extracts under prefix are billing export
// rows: the first line of the first extract must be a JSON object with
// billing_account_id, cost and invoice.
func Detect(ctx context.Context, bucket billing.Bucket, prefix string) (bool, error) {
	src := NewSource(bucket, prefix)
	objs, err := src.extracts(ctx)
	if err != nil || len(objs) == 0 {
		return false, err
	}
	rc, r, err := open(ctx, bucket, objs[0].Key, nil)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	sc := newLineScanner(r)
	b := sc.next()
	if b == nil {
		return false, nil
	}
	return IsExportRow(b), nil
}

// IsExportRow reports whether line, the first line of a file, is a billing
// export row: a JSON object with billing_account_id, cost and invoice.
func IsExportRow(line []byte) bool {
	var row map[string]json.RawMessage
	if json.Unmarshal(bytes.TrimPrefix(line, []byte("\uFEFF")), &row) != nil {
		return false
	}
	for _, k := range []string{"billing_account_id", "cost", "invoice"} {
		if _, ok := row[k]; !ok {
			return false
		}
	}
	return true
}

// open opens an object, counting the stored bytes read for progress and
// decompressing it when it is gzipped (by content, whatever its name).
func open(ctx context.Context, bucket billing.Bucket, key string, progress func(int64)) (io.Closer, io.Reader, error) {
	rc, err := bucket.Open(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(&focusfile.CountingReader{R: rc, Report: progress}, 1<<20)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, nil, billing.InputError(key, 1, "", "not a valid gzip file: %v", err)
		}
		return closers{gz, rc}, gz, nil
	}
	if strings.HasSuffix(strings.ToLower(key), ".gz") {
		rc.Close()
		return nil, nil, billing.InputError(key, 1, "", "named .gz but not gzip-compressed")
	}
	return rc, br, nil
}

type closers []io.Closer

func (c closers) Close() error {
	var first error
	for _, x := range c {
		if err := x.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

package awsbilling

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Kind names which AWS export a Source reads.
type Kind string

// Kinds of AWS billing export. KindAuto finds the kind from the layout and
// the files' headers.
const (
	KindAuto  Kind = ""
	KindCUR   Kind = "cur"   // legacy Cost and Usage Report
	KindCUR2  Kind = "cur2"  // Data Exports CUR 2.0
	KindFOCUS Kind = "focus" // Data Exports FOCUS 1.0/1.2 with AWS columns
)

// Part versions start with the layout they were found in, so Read knows
// how to decode a part without state kept from Scan.
const (
	versionCUR    = "cur:"
	versionExport = "export:"
)

// Formats reported in billing.Manifest.Format.
const (
	FormatCUR   = "aws-cur"
	FormatCUR2  = "aws-cur2"
	FormatFOCUS = "aws-focus"
)

// Source reads the AWS billing exports under a prefix of a bucket. It
// implements billing.Source.
type Source struct {
	bucket billing.Bucket
	prefix string
	kind   Kind
}

var _ billing.Source = (*Source)(nil)

// NewSource returns a Source for the exports below prefix (a folder of the
// bucket; "" for all of it) of the given kind, or of any kind found with
// KindAuto. The prefix must hold one report or export: two would count the
// same costs twice, so Scan refuses them.
func NewSource(bucket billing.Bucket, prefix string, kind Kind) *Source {
	return &Source{bucket: bucket, prefix: folder(prefix), kind: kind}
}

func folder(prefix string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return ""
	}
	return prefix + "/"
}

// ParseKind reads a kind as connectors and the command line name it
// ("cur", "aws-cur", "cur2", "aws-cur2", "focus", "aws-focus", "" or
// "auto").
func ParseKind(s string) (Kind, error) {
	switch strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "aws-") {
	case "", "auto", "aws":
		return KindAuto, nil
	case "cur":
		return KindCUR, nil
	case "cur2":
		return KindCUR2, nil
	case "focus":
		return KindFOCUS, nil
	}
	return "", domain.Errorf(domain.Invalid, "unknown AWS export kind %q (want cur, cur2 or focus)", s)
}

// Detect reports whether the bucket holds an AWS billing export below
// prefix: a legacy CUR period manifest or a Data Exports manifest.
func Detect(ctx context.Context, bucket billing.Bucket, prefix string) (bool, error) {
	objs, err := bucket.List(ctx, folder(prefix))
	if err != nil {
		return false, err
	}
	for _, o := range objs {
		if m := curManifestRE.FindStringSubmatch(o.Key); m != nil && m[1] == m[4] {
			return true, nil
		}
		if exportManifestRE.MatchString(o.Key) {
			return true, nil
		}
	}
	return false, nil
}

// Scan finds every billing period's newest manifest and returns one part
// per period holding exactly the files it names. It fails when the prefix
// holds no export, several of them, or a manifest naming missing files.
func (s *Source) Scan(ctx context.Context) (billing.Manifest, error) {
	objs, err := s.bucket.List(ctx, s.prefix)
	if err != nil {
		return billing.Manifest{}, err
	}
	objects := make(map[string]billing.Object, len(objs))
	curByReport := map[string][]billing.Object{}
	newest := map[string]map[string]billing.Object{} // export → period → manifest
	for _, o := range objs {
		objects[o.Key] = o
		if m := curManifestRE.FindStringSubmatch(o.Key); m != nil && m[1] == m[4] {
			curByReport[m[1]] = append(curByReport[m[1]], o)
			continue
		}
		if m := exportManifestRE.FindStringSubmatch(o.Key); m != nil {
			periods := newest[m[1]]
			if periods == nil {
				periods = map[string]billing.Object{}
				newest[m[1]] = periods
			}
			p := m[2] + "-" + m[3]
			if old, ok := periods[p]; !ok || newer(o, old) {
				periods[p] = o
			}
		}
	}
	useCUR := s.kind == KindCUR || (s.kind == KindAuto && len(curByReport) > 0)
	useExports := s.kind == KindCUR2 || s.kind == KindFOCUS || (s.kind == KindAuto && len(newest) > 0)
	where := s.prefix
	if where == "" {
		where = "the bucket root"
	}
	switch {
	case useCUR && useExports:
		return billing.Manifest{}, domain.Errorf(domain.Invalid, "%s holds both a legacy CUR (%s) and Data Exports (%s): choose the kind or a narrower prefix", where, names(curByReport), names(newest))
	case useCUR:
		return s.scanCUR(ctx, where, curByReport, objects)
	case useExports:
		return s.scanExports(ctx, where, newest, objects)
	}
	return billing.Manifest{}, domain.Errorf(domain.Invalid, "no AWS billing export found under %s: expected <report>/<yyyyMMdd-yyyyMMdd>/<report>-Manifest.json (CUR) or <export>/metadata/BILLING_PERIOD=YYYY-MM/…Manifest.json (Data Exports)", where)
}

// newer orders candidate manifests of one period: the later write wins,
// then the later key (execution folders sort by time).
func newer(a, b billing.Object) bool {
	if !a.Modified.Equal(b.Modified) {
		return a.Modified.After(b.Modified)
	}
	return a.Key > b.Key
}

func names[V any](m map[string]V) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func (s *Source) scanCUR(ctx context.Context, where string, byReport map[string][]billing.Object, objects map[string]billing.Object) (billing.Manifest, error) {
	if len(byReport) == 0 {
		return billing.Manifest{}, domain.Errorf(domain.Invalid, "no legacy CUR report found under %s", where)
	}
	if len(byReport) > 1 {
		return billing.Manifest{}, domain.Errorf(domain.Invalid, "%s holds several CUR reports (%s): use the prefix of one", where, names(byReport))
	}
	var parts []billing.Part
	for _, manifests := range byReport {
		for _, o := range manifests {
			part, err := curPart(ctx, s.bucket, o, curManifestRE.FindStringSubmatch(o.Key), objects)
			if err != nil {
				return billing.Manifest{}, err
			}
			parts = append(parts, part)
		}
	}
	return billing.Manifest{Format: FormatCUR, Parts: sortParts(parts)}, nil
}

func (s *Source) scanExports(ctx context.Context, where string, newest map[string]map[string]billing.Object, objects map[string]billing.Object) (billing.Manifest, error) {
	type export struct {
		parts []billing.Part
		kind  Kind
	}
	found := map[string]export{}
	for name, periods := range newest {
		var e export
		for _, o := range periods {
			part, kind, err := exportPart(ctx, s.bucket, o, exportManifestRE.FindStringSubmatch(o.Key), objects)
			if err != nil {
				return billing.Manifest{}, err
			}
			e.parts = append(e.parts, part)
			e.kind = kind
		}
		if s.kind != KindAuto && e.kind != "" && e.kind != s.kind {
			continue // another export sharing the prefix
		}
		found[name] = e
	}
	if len(found) == 0 {
		return billing.Manifest{}, domain.Errorf(domain.Invalid, "no %s Data Export found under %s (found %s)", s.kind, where, names(newest))
	}
	if len(found) > 1 {
		return billing.Manifest{}, domain.Errorf(domain.Invalid, "%s holds several Data Exports (%s): use the prefix of one, or choose the kind", where, names(found))
	}
	for _, e := range found {
		format := FormatCUR2
		if s.kind == KindFOCUS || (s.kind == KindAuto && e.kind == KindFOCUS) {
			format = FormatFOCUS
		}
		return billing.Manifest{Format: format, Parts: sortParts(e.parts)}, nil
	}
	panic("unreachable")
}

func sortParts(parts []billing.Part) []billing.Part {
	sort.Slice(parts, func(i, j int) bool { return parts[i].Period.Before(parts[j].Period) })
	return parts
}

// Read streams the line items of a part's files, in order.
func (s *Source) Read(ctx context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	legacy := strings.HasPrefix(p.Version, versionCUR)
	if !legacy && !strings.HasPrefix(p.Version, versionExport) {
		return fmt.Errorf("part version %q was not made by the AWS source", p.Version)
	}
	var done int64
	for _, f := range p.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		base := done
		report := func(n int64) {
			if progress != nil {
				progress(base + n)
			}
		}
		if err := s.readFile(ctx, f.Name, legacy, fn, report); err != nil {
			return err
		}
		done += f.Size
	}
	return nil
}

func (s *Source) readFile(ctx context.Context, name string, legacy bool, fn func(*billing.LineItem) error, progress func(int64)) error {
	rc, err := s.bucket.Open(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	if strings.HasSuffix(strings.ToLower(name), ".parquet") {
		ra, size, cleanup, err := readerAt(name, rc, progress)
		if err != nil {
			return err
		}
		defer cleanup()
		want := s.kind
		if legacy {
			want = KindCUR
		}
		return decodeParquet(ctx, name, ra, size, want, fn)
	}
	text, done, err := decompress(name, &focusfile.CountingReader{R: rc, Report: progress})
	if err != nil {
		return err
	}
	defer done()
	if legacy {
		return decodeCURText(ctx, name, text, true, fn)
	}
	focus := isFOCUSHeader(peekHeader(text))
	switch {
	case focus && s.kind == KindCUR2:
		return billing.InputError(name, 1, "", "a FOCUS export where CUR 2.0 was expected")
	case !focus && s.kind == KindFOCUS:
		return billing.InputError(name, 1, "", "not a FOCUS export (no BilledCost column)")
	case focus:
		return focusfile.Decode(ctx, name, text, fn)
	}
	return decodeCURText(ctx, name, text, true, fn)
}

// peekHeader returns the first CSV row without consuming it.
func peekHeader(r *bufio.Reader) []string {
	b, _ := r.Peek(r.Size())
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	}
	rec, _ := csvfile.ReadHeader(bytes.NewReader(b))
	return rec
}

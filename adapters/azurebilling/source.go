package azurebilling

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Format is the name of this source's format in manifests and the CLI.
const Format = "azure"

// Options tunes a Source.
type Options struct {
	// LegacyDataset is the dataset of exports without a manifest (the older
	// layout), which cannot say which one they hold: ActualCost when empty.
	LegacyDataset Dataset
}

// Source reads the Cost Management exports below a prefix of a bucket:
// <prefix>…/<export>/<yyyyMMdd-yyyyMMdd>/ folders holding either run
// folders with a manifest.json (partitioned exports) or plain CSV files
// (the older layout). Each month becomes one part, read from the newest run
// of each export; older runs left in the container are never read.
type Source struct {
	bucket billing.Bucket
	prefix string
	opts   Options

	mu        sync.Mutex
	manifests map[string]cachedManifest // by key, while unchanged
	plans     map[string]partPlan       // by part version, from the last scan
}

type cachedManifest struct {
	obj billing.Object
	m   *exportManifest
}

var _ billing.Source = (*Source)(nil)

// NewSource returns a Source over the exports below prefix in bucket
// (a folder; "" for the whole bucket).
func NewSource(bucket billing.Bucket, prefix string, opts Options) *Source {
	if opts.LegacyDataset == "" || opts.LegacyDataset == FocusCost {
		opts.LegacyDataset = ActualCost
	}
	return &Source{bucket: bucket, prefix: folderPrefix(prefix), opts: opts,
		manifests: make(map[string]cachedManifest), plans: make(map[string]partPlan)}
}

func folderPrefix(p string) string {
	p = strings.TrimLeft(strings.TrimSpace(p), "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// Scan lists the exports and returns one part per month, holding the
// newest run of each export for that month, versioned by the runs' IDs,
// manifests and blobs (names, sizes, ETags, modification times). A run
// whose range spans several months is a part of its own whose periods come
// from its rows. A manifest that names a missing or partly written blob is
// a domain.Invalid error.
func (s *Source) Scan(ctx context.Context) (billing.Manifest, error) {
	objs, err := s.bucket.List(ctx, s.prefix)
	if err != nil {
		return billing.Manifest{}, storeError(err, "list %q", s.prefix)
	}
	byKey := make(map[string]billing.Object, len(objs))
	for _, o := range objs {
		byKey[o.Key] = o
	}
	var runs []*run
	for _, f := range rangeFolders(objs) {
		r, err := s.newestRun(ctx, f, byKey)
		if err != nil {
			return billing.Manifest{}, err
		}
		if r != nil {
			runs = append(runs, r)
		}
	}
	byMonth := make(map[time.Time][]*run)
	var plans []partPlan
	for _, r := range selectRuns(runs) {
		if m := r.month(); !m.IsZero() {
			byMonth[m] = append(byMonth[m], r)
		} else {
			plans = append(plans, planMonth(time.Time{}, []*run{r}))
		}
	}
	for m, rs := range byMonth {
		plans = append(plans, planMonth(m, rs))
	}
	sort.Slice(plans, func(i, j int) bool {
		a, b := plans[i].part, plans[j].part
		if !a.Period.Equal(b.Period) {
			return a.Period.Before(b.Period)
		}
		return a.Version < b.Version
	})
	out := billing.Manifest{Format: Format}
	s.mu.Lock()
	for k := range s.manifests {
		if _, ok := byKey[k]; !ok {
			delete(s.manifests, k)
		}
	}
	s.plans = make(map[string]partPlan, len(plans))
	for _, p := range plans {
		s.plans[p.part.Version] = p
		out.Parts = append(out.Parts, p.part)
	}
	s.mu.Unlock()
	return out, nil
}

// manifest returns a parsed manifest, fetching it only when its object
// changed since it was last read.
func (s *Source) manifest(ctx context.Context, o billing.Object) (*exportManifest, error) {
	s.mu.Lock()
	c, ok := s.manifests[o.Key]
	s.mu.Unlock()
	if ok && sameObject(c.obj, o) {
		return c.m, nil
	}
	m, err := readManifest(ctx, s.bucket, o.Key)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.manifests[o.Key] = cachedManifest{obj: o, m: m}
	s.mu.Unlock()
	return m, nil
}

func sameObject(a, b billing.Object) bool {
	return a.Key == b.Key && a.Size == b.Size && a.ETag == b.ETag && a.Modified.Equal(b.Modified)
}

// Read streams the line items of a part's files, in the order Scan listed
// them.
func (s *Source) Read(ctx context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	s.mu.Lock()
	plan, ok := s.plans[p.Version]
	s.mu.Unlock()
	if !ok {
		if _, err := s.Scan(ctx); err != nil {
			return err
		}
		s.mu.Lock()
		plan, ok = s.plans[p.Version]
		s.mu.Unlock()
		if !ok {
			return domain.Errorf(domain.Conflict, "the Azure export for %s changed while it was being read; run the ingestion again", p.Period.Format("2006-01"))
		}
	}
	var done int64
	for _, f := range plan.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		base := done
		err := s.readFile(ctx, f, fn, func(n int64) {
			if progress != nil {
				progress(base + n)
			}
		})
		if err != nil {
			return err
		}
		done += f.obj.Size
	}
	return nil
}

func (s *Source) readFile(ctx context.Context, f fileRead, fn func(*billing.LineItem) error, progress func(int64)) error {
	rc, err := s.bucket.Open(ctx, f.obj.Key)
	if err != nil {
		return storeError(err, "open %s", f.obj.Key)
	}
	defer rc.Close()
	return decodeStream(ctx, f.obj.Key, &focusfile.CountingReader{R: rc, Report: progress}, f.opts, fn)
}

// versionHash digests what identifies a part's content.
type versionHash struct{ h hash.Hash }

func (v *versionHash) add(fields ...string) {
	if v.h == nil {
		v.h = sha256.New()
	}
	for _, f := range fields {
		fmt.Fprintf(v.h, "%s\x00", f)
	}
	v.h.Write([]byte{'\n'})
}

func (v *versionHash) object(o billing.Object) {
	v.add("object", o.Key, fmt.Sprint(o.Size), o.ETag, o.Modified.UTC().Format(time.RFC3339Nano))
}

func (v *versionHash) sum() string {
	if v.h == nil {
		v.add("empty")
	}
	return "azure:" + hex.EncodeToString(v.h.Sum(nil))
}

package azurebilling

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// rangeRE matches an export's date-range folder, yyyyMMdd-yyyyMMdd.
var rangeRE = regexp.MustCompile(`^(\d{8})-(\d{8})$`)

// rangeFolder is one <export>/<yyyyMMdd-yyyyMMdd>/ folder and what it holds.
type rangeFolder struct {
	dir        string // key prefix, ending in "/"
	export     string
	start, end time.Time // the range, end inclusive
	manifests  []billing.Object
	direct     []billing.Object // data files right in the folder (older layout)
	all        []billing.Object
}

// run is the set of files one export run wrote for a range.
type run struct {
	folder    *rangeFolder
	dataset   Dataset
	id        string // the manifest's runId; empty for the older layout
	submitted time.Time
	manifest  *billing.Object
	files     []billing.Object
}

// month is the billing period a run covers, zero when its range spans
// months.
func (r *run) month() time.Time {
	s, e := r.folder.start, r.folder.end
	if s.Year() != e.Year() || s.Month() != e.Month() {
		return time.Time{}
	}
	return billing.MonthStart(s)
}

func isDataFile(key string) bool {
	k := strings.ToLower(key)
	return strings.HasSuffix(k, ".csv") || strings.HasSuffix(k, ".csv.gz") || strings.HasSuffix(k, ".gz") || strings.HasSuffix(k, ".parquet")
}

// rangeFolders groups listed objects by the first date-range folder in
// their key; objects outside one are not part of an export.
func rangeFolders(objs []billing.Object) []*rangeFolder {
	byDir := make(map[string]*rangeFolder)
	var order []*rangeFolder
	for _, o := range objs {
		segs := strings.Split(o.Key, "/")
		for i := 0; i < len(segs)-1; i++ {
			m := rangeRE.FindStringSubmatch(segs[i])
			if m == nil {
				continue
			}
			start, err1 := time.Parse("20060102", m[1])
			end, err2 := time.Parse("20060102", m[2])
			if err1 != nil || err2 != nil || end.Before(start) {
				break
			}
			dir := strings.Join(segs[:i+1], "/") + "/"
			f := byDir[dir]
			if f == nil {
				f = &rangeFolder{dir: dir, start: start, end: end}
				if i > 0 {
					f.export = segs[i-1]
				}
				byDir[dir] = f
				order = append(order, f)
			}
			f.all = append(f.all, o)
			rest := segs[i+1:]
			switch {
			case rest[len(rest)-1] == manifestName:
				f.manifests = append(f.manifests, o)
			case len(rest) == 1 && isDataFile(o.Key):
				f.direct = append(f.direct, o)
			}
			break
		}
	}
	return order
}

// newestRun picks a range folder's newest run: the manifest run submitted
// last, or, for the older layout without manifests, the data files in the
// folder. It returns nil for a folder with neither, or whose runs hold
// datasets other than cost details and FOCUS.
func (s *Source) newestRun(ctx context.Context, f *rangeFolder, byKey map[string]billing.Object) (*run, error) {
	var best *run
	for i := range f.manifests {
		mo := f.manifests[i]
		m, err := s.manifest(ctx, mo)
		if err != nil {
			return nil, err
		}
		ds := s.opts.LegacyDataset
		if m.ExportConfig.Type != "" {
			var ok bool
			if ds, ok = parseDataset(m.ExportConfig.Type); !ok {
				continue // a price sheet, reservation details, …
			}
		}
		r := &run{folder: f, dataset: ds, id: m.RunInfo.RunID, submitted: m.submitted(mo.Modified), manifest: &mo}
		if best != nil && !r.submitted.After(best.submitted) &&
			!(r.submitted.Equal(best.submitted) && mo.Modified.After(best.manifest.Modified)) {
			continue
		}
		for _, b := range m.Blobs {
			o, ok := blobKey(b.BlobName, byKey, f.all)
			if !ok {
				return nil, domain.Errorf(domain.Invalid, "%s: lists blob %q, which is not in the container (the run may still be uploading, or was deleted)", mo.Key, b.BlobName)
			}
			// A partly uploaded blob is shorter than the manifest says. For
			// gzipped blobs the count's meaning (stored or inflated bytes)
			// is not documented, so only plain blobs are checked.
			if b.ByteCount > 0 && o.Size != b.ByteCount && !strings.HasSuffix(strings.ToLower(o.Key), ".gz") {
				return nil, domain.Errorf(domain.Invalid, "%s: blob %s has %d bytes but the manifest says %d (the run may still be uploading)", mo.Key, o.Key, o.Size, b.ByteCount)
			}
			r.files = append(r.files, o)
		}
		best = r
	}
	if best != nil || len(f.manifests) > 0 {
		return best, nil
	}
	if len(f.direct) == 0 {
		return nil, nil
	}
	r := &run{folder: f, dataset: s.opts.LegacyDataset, files: f.direct}
	for _, o := range f.direct {
		if o.Modified.After(r.submitted) {
			r.submitted = o.Modified
		}
	}
	return r, nil
}

// newer orders runs of one export: a run with a manifest over one
// without, then the later submitted.
func newer(a, b *run) bool {
	if (a.manifest != nil) != (b.manifest != nil) {
		return a.manifest != nil
	}
	if !a.submitted.Equal(b.submitted) {
		return a.submitted.After(b.submitted)
	}
	return a.folder.dir > b.folder.dir
}

func overlaps(a, b *rangeFolder) bool {
	return !a.end.Before(b.start) && !b.end.Before(a.start)
}

// selectRuns keeps, per export and month, the newest run, plus older runs
// whose ranges do not overlap any kept one (exports over part of a month).
func selectRuns(runs []*run) []*run {
	sort.SliceStable(runs, func(i, j int) bool { return newer(runs[i], runs[j]) })
	type key struct {
		export string
		month  time.Time
	}
	kept := make(map[key][]*run)
	var out []*run
	for _, r := range runs {
		k := key{r.folder.export, r.month()}
		clash := false
		for _, o := range kept[k] {
			if overlaps(o.folder, r.folder) {
				clash = true
				break
			}
		}
		if !clash {
			kept[k] = append(kept[k], r)
			out = append(out, r)
		}
	}
	return out
}

// fileRead is one file of a part and how to read it.
type fileRead struct {
	obj  billing.Object
	opts readOptions
}

// partPlan is how to read one part.
type partPlan struct {
	part  billing.Part
	files []fileRead
}

// planMonth turns the runs of one month into a part. FocusCost holds both
// actual and amortized costs, so when a month has it, cost-details exports
// are left out; with both cost-details datasets, the amortized one is read
// whole and the actual one only for commitment purchases and refunds,
// which amortized data leaves out (Microsoft's conversion to FOCUS).
func planMonth(period time.Time, runs []*run) partPlan {
	has := make(map[Dataset]bool)
	for _, r := range runs {
		has[r.dataset] = true
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].folder.dir < runs[j].folder.dir })
	var p partPlan
	p.part.Period = period
	var v versionHash
	for _, r := range runs {
		if has[FocusCost] && r.dataset != FocusCost {
			continue
		}
		o := readOptions{dataset: r.dataset, period: period}
		if r.dataset == ActualCost && has[AmortizedCost] {
			o.purchasesOnly = true
		}
		v.add("run", r.folder.dir, string(r.dataset), boolText(o.purchasesOnly), r.id, r.submitted.UTC().Format(time.RFC3339Nano))
		if r.manifest != nil {
			v.object(*r.manifest)
		}
		for _, f := range r.files {
			v.object(f)
			p.files = append(p.files, fileRead{obj: f, opts: o})
			p.part.Files = append(p.part.Files, billing.SourceFile{Name: f.Key, Size: f.Size})
		}
	}
	p.part.Version = v.sum()
	return p
}

func boolText(b bool) string {
	if b {
		return "purchases-only"
	}
	return "all"
}

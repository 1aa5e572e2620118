package billing

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// reportCacheSize bounds how many answers a Reporter keeps.
const reportCacheSize = 512

// reportCache keeps recent answers with the data version they were computed
// at: an answer is served again only while the organizations' active data
// is unchanged, so a period swapped in is seen by the very next request.
// Reports are immutable once built, so entries are shared as they are.
type reportCache struct {
	mu       sync.Mutex
	max      int
	entries  map[string]cachedReport
	order    []string // oldest first, for eviction
	inflight map[string]*flight
}

// flight is one computation of an answer that concurrent askers of the
// same question at the same data version wait for, instead of each
// running it.
type flight struct {
	done   chan struct{}
	report CostReport
	err    error
}

type cachedReport struct {
	version string
	report  CostReport
}

func newReportCache(max int) *reportCache {
	return &reportCache{max: max, entries: make(map[string]cachedReport, max), inflight: map[string]*flight{}}
}

// do returns the cached answer for key at version, or computes it once
// however many ask at the same time, and caches it.
func (c *reportCache) do(key, version string, compute func() (CostReport, error)) (CostReport, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && e.version == version {
		c.mu.Unlock()
		return e.report, nil
	}
	id := key + "\x00" + version
	if f, ok := c.inflight[id]; ok {
		c.mu.Unlock()
		<-f.done
		return f.report, f.err
	}
	f := &flight{done: make(chan struct{})}
	c.inflight[id] = f
	c.mu.Unlock()

	f.report, f.err = compute()
	c.mu.Lock()
	delete(c.inflight, id)
	if f.err == nil {
		c.putLocked(key, version, f.report)
	}
	c.mu.Unlock()
	close(f.done)
	return f.report, f.err
}

func (c *reportCache) putLocked(key, version string, rep CostReport) {
	if _, ok := c.entries[key]; !ok {
		c.order = append(c.order, key)
	}
	c.entries[key] = cachedReport{version: version, report: rep}
	for len(c.order) > c.max {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

// cacheKey identifies an aggregate: the organizations and every part of
// the query, filters in a fixed order.
func (a CostAggregate) cacheKey() string {
	var b strings.Builder
	orgs := append([]string(nil), a.OrgIDs...)
	sort.Strings(orgs)
	fmt.Fprintf(&b, "%q|%s|%s|%s|%s|%s|%q|%q|%d|", orgs, a.From.UTC().Format(time.RFC3339Nano), a.To.UTC().Format(time.RFC3339Nano),
		a.DateBasis, a.Metric, a.Granularity, a.GroupBy, a.TagKeys, a.Limit)
	dims := make([]string, 0, len(a.Filter.Values))
	for d := range a.Filter.Values {
		dims = append(dims, string(d))
	}
	sort.Strings(dims)
	for _, d := range dims {
		vals := append([]string(nil), a.Filter.Values[Dimension(d)]...)
		sort.Strings(vals)
		fmt.Fprintf(&b, "%s=%q|", d, vals)
	}
	for _, t := range a.Filter.Tags {
		vals := append([]string(nil), t.Values...)
		sort.Strings(vals)
		fmt.Fprintf(&b, "tag:%q=%q|", t.Key, vals)
	}
	return b.String()
}

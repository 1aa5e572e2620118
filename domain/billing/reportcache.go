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
	mu      sync.Mutex
	max     int
	entries map[string]cachedReport
	order   []string // oldest first, for eviction
}

type cachedReport struct {
	version string
	report  CostReport
}

func newReportCache(max int) *reportCache {
	return &reportCache{max: max, entries: make(map[string]cachedReport, max)}
}

func (c *reportCache) get(key, version string) (CostReport, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.version != version {
		return CostReport{}, false
	}
	return e.report, true
}

func (c *reportCache) put(key, version string, rep CostReport) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
	fmt.Fprintf(&b, "%q|%s|%s|%s|%s|%s|%q|%q|", orgs, a.From.UTC().Format(time.RFC3339Nano), a.To.UTC().Format(time.RFC3339Nano),
		a.DateBasis, a.Metric, a.Granularity, a.GroupBy, a.TagKeys)
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

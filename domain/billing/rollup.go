package billing

import (
	"encoding/json"
	"sort"
)

// Rollups are built by the store when a run is published, from the run's
// own rows, so that ingestion holds no aggregate in memory:
//
//   - the dimension rollup sums line items by charge day, billing period,
//     cloud, provider, service and category, region, billing and sub
//     account, charge category and class, and currency — without tags, so
//     it compresses however tags vary;
//   - the tag rollups sum them by (tag key, tag value, charge day, billing
//     period, cloud, provider, service, currency), one key at a time, for
//     the keys of RunTagKey.RolledUp.
//
// Reports read whichever answers a query; what neither answers is read from
// the line items with the same grouping.

// TagRollupLimit is the most distinct values a tag key may take in one run
// and still get tag rollups. Keys with more — a Name per resource, a
// SessionID per session — would not compress, so reports grouping or
// filtering by them read the line items.
const TagRollupLimit = 1000

// maxCountedTagKeys bounds how many tag keys one run counts values of;
// further keys are read from the line items.
const maxCountedTagKeys = 256

// RunTagKey is one tag key seen by a run: how many distinct values it took
// (counting stops past TagRollupLimit) and whether it has tag rollups.
type RunTagKey struct {
	Key      string
	Values   int
	RolledUp bool
}

// tagCensus counts the distinct values of each tag key as line items
// stream past. Its memory is bounded: at most maxCountedTagKeys keys, and a
// key's values are forgotten once it passes TagRollupLimit.
type tagCensus struct {
	values map[string]map[string]struct{}
	over   map[string]int // keys past the limit (or past the key bound), by values seen
}

func newTagCensus() *tagCensus {
	return &tagCensus{values: map[string]map[string]struct{}{}, over: map[string]int{}}
}

// add counts the tags of one line item, given as a parsed JSON object.
func (c *tagCensus) add(tags map[string]any) {
	for k, v := range tags {
		if n, ok := c.over[k]; ok {
			if n <= TagRollupLimit {
				c.over[k] = n + 1
			}
			continue
		}
		vals := c.values[k]
		if vals == nil {
			if len(c.values) >= maxCountedTagKeys {
				c.over[k] = TagRollupLimit + 1
				continue
			}
			vals = map[string]struct{}{}
			c.values[k] = vals
		}
		vals[tagText(v)] = struct{}{}
		if len(vals) > TagRollupLimit {
			c.over[k] = len(vals)
			delete(c.values, k)
		}
	}
}

// keys returns every key seen, in key order.
func (c *tagCensus) keys() []RunTagKey {
	out := make([]RunTagKey, 0, len(c.values)+len(c.over))
	for k, vals := range c.values {
		out = append(out, RunTagKey{Key: k, Values: len(vals), RolledUp: true})
	}
	for k, n := range c.over {
		out = append(out, RunTagKey{Key: k, Values: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// tagText is a tag value as reports show it: strings as they are, other
// JSON values as JSON text.
func tagText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

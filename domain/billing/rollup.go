package billing

import (
	"encoding/json"
	"sort"
	"time"
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
//     the keys whose RunTagKey is RolledUp.
//
// Reports read whichever answers a query; what neither answers is read from
// the line items with the same grouping.

// A tag key gets tag rollups in a run when they compress: when its
// distinct (value, charge day, service, currency) combinations — the rows
// its tag rollup would have — number at most TagRollupFloor, or at most a
// quarter of the run's line items. A Name per resource or a SessionID per
// session does not compress, and reports grouping or filtering by such a
// key read the line items instead.
const (
	TagRollupFloor = 1000
	// tagRollupCap bounds the combinations counted per key: past it, a key
	// is read from the line items, whatever the run's size.
	tagRollupCap = 100_000
	// maxCountedTagKeys bounds how many tag keys one run counts; further
	// keys are read from the line items.
	maxCountedTagKeys = 64
)

// RunTagKey is one tag key seen by a run: how many distinct combinations
// its tag rollup would hold (counting stops past a cap) and whether the
// run has tag rollups for it.
type RunTagKey struct {
	Key      string
	Combos   int
	RolledUp bool
}

// tagCensus counts, as line items stream past, the tag rollup rows each
// tag key would need. Its memory is bounded: at most maxCountedTagKeys
// keys, and a key's combinations are forgotten once they pass
// tagRollupCap.
type tagCensus struct {
	combos map[string]map[string]struct{}
	over   map[string]bool
	buf    []byte
}

func newTagCensus() *tagCensus {
	return &tagCensus{combos: map[string]map[string]struct{}{}, over: map[string]bool{}}
}

// add counts the tags of one line item.
func (c *tagCensus) add(l *LineItem, tags map[string]string) {
	for k, v := range tags {
		if c.over[k] {
			continue
		}
		set := c.combos[k]
		if set == nil {
			if len(c.combos) >= maxCountedTagKeys {
				c.over[k] = true
				continue
			}
			set = map[string]struct{}{}
			c.combos[k] = set
		}
		c.buf = append(c.buf[:0], v...)
		c.buf = append(c.buf, 0)
		c.buf = l.ChargePeriodStart.UTC().AppendFormat(c.buf, time.DateOnly)
		c.buf = append(c.buf, 0)
		c.buf = append(c.buf, l.ServiceName...)
		c.buf = append(c.buf, 0)
		c.buf = append(c.buf, l.BillingCurrency...)
		if _, ok := set[string(c.buf)]; !ok {
			set[string(c.buf)] = struct{}{}
			if len(set) > tagRollupCap {
				c.over[k] = true
				delete(c.combos, k)
			}
		}
	}
}

// keys returns every key seen, in key order, deciding for a run of rows
// line items which get tag rollups.
func (c *tagCensus) keys(rows int64) []RunTagKey {
	out := make([]RunTagKey, 0, len(c.combos)+len(c.over))
	for k, set := range c.combos {
		n := len(set)
		out = append(out, RunTagKey{Key: k, Combos: n, RolledUp: n <= TagRollupFloor || int64(n)*4 <= rows})
	}
	for k := range c.over {
		out = append(out, RunTagKey{Key: k, Combos: tagRollupCap + 1})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// parseTags reads a tag JSON object; values that are not strings keep their
// JSON text.
func parseTags(raw string) (map[string]string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, err
	}
	tags := make(map[string]string, len(obj))
	for k, v := range obj {
		var s string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
			tags[k] = s
		} else {
			tags[k] = string(v)
		}
	}
	return tags, nil
}

// RollupSums are the metric sums of one rollup row: exact, like the line
// items they add up. ResaleCost is BilledCost until a pricing applies.
type RollupSums struct {
	BilledCost, EffectiveCost, ListCost, ContractedCost, ResaleCost Sum
	Rows                                                            int64
}

// DimRollup is one row of a run's dimension rollup. Its cloud is
// CloudOf(ProviderName).
type DimRollup struct {
	BillingPeriodStart, Day                    time.Time
	ProviderName, ServiceName, ServiceCategory string
	RegionID, RegionName                       string
	BillingAccountID, BillingAccountName       string
	SubAccountID, SubAccountName               string
	ChargeCategory, ChargeClass, Currency      string
	Sums                                       RollupSums
}

// TagRollup is one row of a run's tag rollup for one key.
type TagRollup struct {
	Key, Value                          string
	BillingPeriodStart, Day             time.Time
	ProviderName, ServiceName, Currency string
	Sums                                RollupSums
}

// Rollups are the rollups of a run, built while its line items stream
// past: the dimension rollup, and the tag rollups of the keys whose
// RunTagKey is RolledUp.
type Rollups struct {
	Dims []DimRollup
	Tags []TagRollup
}

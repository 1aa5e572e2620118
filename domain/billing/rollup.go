package billing

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
)

// A run's rollups are built while its line items stream past, and staged
// with the store, which moves them in when it publishes the run:
//
//   - the dimension rollup sums line items by charge day, billing period,
//     provider (and so cloud), service and category, region, billing and
//     sub account, charge category and class, and currency — without
//     tags, so it compresses however tags vary;
//   - the tag rollups sum them by (tag key, tag value, charge day, billing
//     period, provider, service, currency), one key at a time, for the
//     keys whose RunTagKey is RolledUp.
//
// Building them holds bounded memory (see aggregator). A run past the
// bounds stages none, and the store builds them from the run's line items
// instead, as it does to rebuild them. Reports read whichever rollup
// answers a query; what neither answers is read from the line items with
// the same grouping.

// A tag key gets tag rollups in a run when they compress: when its
// distinct combinations — the rows its tag rollup would have, one per
// (value, billing period, charge day, provider, service, currency) —
// number at most TagRollupFloor, or at most a quarter of the run's line
// items. A Name per resource or a SessionID per session does not
// compress, and reports grouping or filtering by such a key read the line
// items instead.
const (
	TagRollupFloor = 1000
	// tagRollupCap bounds the combinations counted per key: past it, a key
	// is read from the line items, whatever the run's size.
	tagRollupCap = 100_000
	// maxCountedTagKeys bounds how many tag keys one run counts at once;
	// further keys are read from the line items.
	maxCountedTagKeys = 64
	// maxTagRollupRows bounds the tag rollup rows held at once, all keys
	// together: past it, the key holding the most is dropped and read
	// from the line items.
	maxTagRollupRows = 400_000
	// maxDimRollupRows bounds the dimension rollup rows: past it, the run
	// stages no rollups and the store builds them from the line items.
	maxDimRollupRows = 250_000
)

// RunTagKey is one tag key seen by a run: how many distinct combinations
// its tag rollup would hold (counting stops past a cap) and whether the
// run has tag rollups for it.
type RunTagKey struct {
	Key      string
	Combos   int
	RolledUp bool
}

// aggregator builds a run's rollups, and counts its tag keys, as its line
// items stream past. For each line item it looks up one dimension rollup
// row and one tag rollup row per tag, and allocates only for rows it has
// not seen yet.
//
// A dimension rollup row is keyed by bytes: the group key (billing
// period, charge day, provider, service, currency — what tag rollup rows
// share) then the other dimensions. A tag rollup row is keyed by the
// numbers of its value and its group; the tag cache keeps value numbers,
// so that a repeated tag object costs no string lookup at all.
//
// Memory is bounded by maxDimRollupRows and maxTagRollupRows. A dimension
// row takes about 300 bytes while reading (its key of some 100 bytes, a
// map slot, its sums), a tag row about 90 (a map slot and its sums, plus
// its value when new), so at most some 75 + 40 MB are held. finish then
// copies the rows into Rollups, about 430 bytes a dimension row besides
// its key and 300 a tag row, freeing the rest as it goes: at both bounds
// Rollups take some 250 MB. 250,000 line items shaped like real exports
// (see BenchmarkAggregate) need about 17,000 dimension rows and 48,000
// tag rows of keys that are rolled up. Past maxDimRollupRows the sums are
// dropped and only the tag keys are counted, which the store needs to
// build tag rollups itself; past as many groups, counting stops too and
// no key gets tag rollups.
type aggregator struct {
	cache tagCache
	pairs []tagPair // parse buffer

	keys     map[string]*tagKeyRows // every tag key seen
	counting []*tagKeyRows          // the keys counted, at most maxCountedTagKeys
	tagRows  int                    // tag rollup rows held by counting

	dims      map[string]int32 // dimension key → number in dimRows; nil past maxDimRollupRows
	dimRows   chunks[dimRow]
	groups    map[string]int32 // group key → number; nil once counting stopped
	groupKeys []string         // by group number

	amounts rowAmounts // the current line item's
	buf     []byte     // the current line item's key

	// maxDimRollupRows and maxTagRollupRows, which tests lower.
	maxDims, maxTagRows int
}

type dimRow struct {
	sums  aggSums
	group int32
}

// tagKeyRows are the tag rollup rows of one tag key.
type tagKeyRows struct {
	key string
	// cells numbers the key's rows by tagCell; nil when the key is not
	// counted: first seen once maxCountedTagKeys were counted, past
	// tagRollupCap, dropped for maxTagRollupRows, or with a value that is
	// not a string.
	cells  map[uint64]int32
	sums   chunks[aggSums]  // by row number; none once only counting
	values map[string]int32 // value → number
	names  []string         // value by number
}

// tagCell is a tag rollup row's key: its value's and its group's numbers.
func tagCell(value, group int32) uint64 { return uint64(value)<<32 | uint64(uint32(group)) }

// tagRef is a tag with a string value of a counted key, resolved to
// numbers.
type tagRef struct {
	key   *tagKeyRows
	value int32
}

func newAggregator() *aggregator {
	return &aggregator{
		cache:  tagCache{seed: maphash.MakeSeed(), slots: make([]tagSlot, tagCacheSize)},
		keys:   map[string]*tagKeyRows{},
		dims:   map[string]int32{},
		groups: map[string]int32{},

		maxDims:    maxDimRollupRows,
		maxTagRows: maxTagRollupRows,
	}
}

// tagCache keeps the resolved tags of recent tag objects: most line items
// repeat their resource's tags. It is direct-mapped — an object's slot is
// chosen by a hash of its text — and each slot reuses its buffer, so that
// once warm neither a hit nor a miss allocates.
type tagCache struct {
	seed  maphash.Seed
	slots []tagSlot
}

type tagSlot struct {
	hash uint64
	raw  string
	tags []tagRef
}

const tagCacheSize = 4096

// tags returns the tags with string values of a tag object, parsing it
// unless it was seen recently. Parsing records its keys. A null value is
// skipped, as SQL reads it; any other value that is not a string stops
// its key being rolled up, since each database renders it its own way.
func (a *aggregator) tags(raw string) ([]tagRef, error) {
	h := maphash.String(a.cache.seed, raw)
	slot := &a.cache.slots[h%tagCacheSize]
	if slot.hash == h && slot.raw == raw {
		return slot.tags, nil
	}
	pairs, err := parseTags(raw, a.pairs)
	if err != nil {
		return nil, err
	}
	a.pairs = pairs
	slot.hash, slot.raw, slot.tags = h, raw, slot.tags[:0]
	for _, p := range pairs {
		k := a.key(p.Key)
		switch {
		case k.cells == nil:
		case p.Kind == tagString:
			slot.tags = append(slot.tags, tagRef{key: k, value: k.value(p.Value)})
		case p.Kind == tagOther:
			a.drop(k)
		}
	}
	return slot.tags, nil
}

// value returns the number of a value of a counted key.
func (k *tagKeyRows) value(v string) int32 {
	n, ok := k.values[v]
	if !ok {
		n = int32(len(k.names))
		v = strings.Clone(v) // not a slice of the source's line
		k.values[v] = n
		k.names = append(k.names, v)
	}
	return n
}

// key returns a tag key's rows, counting it if it is new and there is
// room.
func (a *aggregator) key(name string) *tagKeyRows {
	k := a.keys[name]
	if k == nil {
		k = &tagKeyRows{key: strings.Clone(name)}
		if a.groups != nil && len(a.counting) < maxCountedTagKeys {
			k.cells, k.values = map[uint64]int32{}, map[string]int32{}
			a.counting = append(a.counting, k)
		}
		a.keys[k.key] = k
	}
	return k
}

// addBatch reads the tags of a batch of line items and adds them. Tags
// that are not a JSON object fail the run: the readers of every format
// check them where they can say file and line, so this is a last guard.
func (a *aggregator) addBatch(items []LineItem) error {
	for i := range items {
		l := &items[i]
		var tags []tagRef
		if l.Tags != "" {
			var err error
			if tags, err = a.tags(l.Tags); err != nil {
				return domain.Errorf(domain.Invalid, "a line item's Tags are not a JSON object: %v", err)
			}
		}
		a.add(l, tags)
	}
	return nil
}

// add adds a line item, whose tags tags returned.
func (a *aggregator) add(l *LineItem, tags []tagRef) {
	if a.groups == nil {
		return
	}
	a.buf = appendGroupKey(a.buf[:0], l)
	n := len(a.buf)
	group := int32(-1)
	if a.dims != nil {
		a.amounts.read(l)
		a.buf = appendDimKey(a.buf, l)
		i, ok := a.dims[string(a.buf)]
		if !ok && len(a.dims) < a.maxDims {
			i, ok = a.dimRows.add(), true
			a.dims[string(a.buf)] = i
			a.dimRows.at(i).group = a.group(a.buf[:n])
		}
		if ok {
			d := a.dimRows.at(i)
			d.sums.add(&a.amounts)
			group = d.group
		} else {
			a.stopSumming()
		}
	}
	if group < 0 {
		if group = a.group(a.buf[:n]); group < 0 {
			a.stopCounting()
			return
		}
	}
	for _, t := range tags {
		k := t.key
		if k.cells == nil {
			continue
		}
		cell := tagCell(t.value, group)
		c, ok := k.cells[cell]
		if !ok {
			if c = a.newTagRow(k, cell); c < 0 {
				continue
			}
		}
		if a.dims != nil {
			k.sums.at(c).add(&a.amounts)
		}
	}
}

// group returns the number of a group key, or -1 when it is new and there
// are maxDimRollupRows already (which cannot happen while the dimension
// rows, as many as the groups or more, are within the same bound).
func (a *aggregator) group(key []byte) int32 {
	if g, ok := a.groups[string(key)]; ok {
		return g
	}
	if len(a.groups) >= a.maxDims {
		return -1
	}
	g, s := int32(len(a.groupKeys)), string(key)
	a.groups[s] = g
	a.groupKeys = append(a.groupKeys, s)
	return g
}

// newTagRow adds a row to a key and returns its number, or -1 when that
// dropped the key.
func (a *aggregator) newTagRow(k *tagKeyRows, cell uint64) int32 {
	c := int32(len(k.cells))
	k.cells[cell] = c
	if a.dims != nil {
		k.sums.add()
	}
	a.tagRows++
	if len(k.cells) > tagRollupCap {
		a.drop(k)
		return -1
	}
	if a.tagRows > a.maxTagRows {
		a.drop(a.largest())
		if k.cells == nil {
			return -1
		}
	}
	return c
}

// largest returns the counted key holding the most rows.
func (a *aggregator) largest() *tagKeyRows {
	var big *tagKeyRows
	for _, k := range a.counting {
		if big == nil || len(k.cells) > len(big.cells) {
			big = k
		}
	}
	return big
}

// drop stops counting a key: it gets no tag rollups.
func (a *aggregator) drop(k *tagKeyRows) {
	if k.cells == nil {
		return
	}
	a.tagRows -= len(k.cells)
	k.cells, k.sums, k.values, k.names = nil, chunks[aggSums]{}, nil, nil
	i := slices.Index(a.counting, k)
	a.counting = slices.Delete(a.counting, i, i+1)
}

// stopSumming gives up the rollups of a run past maxDimRollupRows: the
// store will build them. Tag keys are still counted, to tell it which get
// tag rollups.
func (a *aggregator) stopSumming() {
	a.dims, a.dimRows = nil, chunks[dimRow]{}
	for _, k := range a.counting {
		k.sums = chunks[aggSums]{}
	}
}

// stopCounting gives up counting tag keys: none gets tag rollups.
func (a *aggregator) stopCounting() {
	for len(a.counting) > 0 {
		a.drop(a.counting[0])
	}
	a.groups, a.groupKeys = nil, nil
}

// runTagKey decides whether a key gets tag rollups in a run of rows line
// items.
func (k *tagKeyRows) runTagKey(rows int64) RunTagKey {
	if k.cells == nil {
		return RunTagKey{Key: k.key, Combos: tagRollupCap + 1}
	}
	n := len(k.cells)
	return RunTagKey{Key: k.key, Combos: n, RolledUp: n <= TagRollupFloor || int64(n)*4 <= rows}
}

// finish returns, for a run of rows line items, every tag key seen in key
// order, and the run's rollups unless it passed maxDimRollupRows (ok
// false). It frees what the aggregator held as it copies the rows out; the
// aggregator cannot be used after.
func (a *aggregator) finish(rows int64) (keys []RunTagKey, r Rollups, ok bool) {
	keys = make([]RunTagKey, 0, len(a.keys))
	rolled := 0
	for _, k := range a.keys {
		rk := k.runTagKey(rows)
		keys = append(keys, rk)
		if rk.RolledUp {
			rolled += len(k.cells)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key })
	if a.dims == nil {
		return keys, Rollups{}, false
	}

	r.Dims = make([]DimRollup, 0, len(a.dims))
	for key, i := range a.dims {
		kr := keyReader(key)
		g := kr.group()
		// The fields are read, left to right, in the order appendDimKey
		// wrote them.
		r.Dims = append(r.Dims, DimRollup{BillingPeriodStart: g.period, Day: g.day,
			ProviderName: g.provider, ServiceName: g.service, Currency: g.currency,
			ServiceCategory: kr.str(), RegionID: kr.str(), RegionName: kr.str(),
			BillingAccountID: kr.str(), BillingAccountName: kr.str(), SubAccountID: kr.str(), SubAccountName: kr.str(),
			ChargeCategory: kr.str(), ChargeClass: kr.str(), Sums: a.dimRows.at(i).sums.rollup()})
	}
	a.dims, a.dimRows = nil, chunks[dimRow]{}

	groups := make([]rollupGroup, len(a.groupKeys))
	for i, key := range a.groupKeys {
		kr := keyReader(key)
		groups[i] = kr.group()
	}
	r.Tags = make([]TagRollup, 0, rolled)
	for _, k := range a.counting {
		if k.runTagKey(rows).RolledUp {
			for cell, i := range k.cells {
				g := &groups[uint32(cell)]
				r.Tags = append(r.Tags, TagRollup{Key: k.key, Value: k.names[cell>>32], BillingPeriodStart: g.period, Day: g.day,
					ProviderName: g.provider, ServiceName: g.service, Currency: g.currency, Sums: k.sums.at(i).rollup()})
			}
		}
		k.cells, k.sums, k.values, k.names = nil, chunks[aggSums]{}, nil, nil
	}
	return keys, r, true
}

// appendGroupKey appends what a line item's tag rollup rows share:
// billing period, UTC charge day, provider, service and currency.
func appendGroupKey(b []byte, l *LineItem) []byte {
	sec := l.ChargePeriodStart.Unix()
	day := sec - sec%86400
	if sec%86400 < 0 {
		day -= 86400
	}
	b = binary.AppendUvarint(b, uint64(l.BillingPeriodStart.Unix()))
	b = binary.AppendUvarint(b, uint64(l.BillingPeriodStart.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(day))
	b = appendKeyString(b, l.Provider())
	b = appendKeyString(b, l.ServiceName)
	return appendKeyString(b, l.BillingCurrency)
}

// appendDimKey appends the other dimensions of a line item's dimension
// rollup row.
func appendDimKey(b []byte, l *LineItem) []byte {
	for _, s := range [...]string{l.ServiceCategory, l.RegionID, l.RegionName, l.BillingAccountID, l.BillingAccountName,
		l.SubAccountID, l.SubAccountName, l.ChargeCategory, l.ChargeClass} {
		b = appendKeyString(b, s)
	}
	return b
}

func appendKeyString(b []byte, s string) []byte {
	if len(s) < 0x80 { // a one-byte uvarint
		return append(append(b, byte(len(s))), s...)
	}
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// keyReader reads back a key appendGroupKey and appendDimKey wrote. Its
// strings are slices of the key.
type keyReader string

func (r *keyReader) int() int64 {
	var x uint64
	for shift := 0; ; shift += 7 {
		c := (*r)[0]
		*r = (*r)[1:]
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(x)
		}
	}
}

func (r *keyReader) str() string {
	n := r.int()
	s := string((*r)[:n])
	*r = (*r)[n:]
	return s
}

// rollupGroup is a decoded group key.
type rollupGroup struct {
	period, day                 time.Time
	provider, service, currency string
}

func (r *keyReader) group() rollupGroup {
	var g rollupGroup
	sec := r.int()
	g.period = time.Unix(sec, r.int()).UTC()
	g.day = time.Unix(r.int(), 0).UTC()
	g.provider = r.str()
	g.service = r.str()
	g.currency = r.str()
	return g
}

// chunks is a slice that grows a chunk at a time, never copying what it
// holds: rollup rows are many, and appending to one slice would allocate
// several times their size as it grew.
type chunks[T any] struct {
	c [][]T
	n int32
}

const chunkBits = 10

// add appends a zero element and returns its index.
func (s *chunks[T]) add() int32 {
	if int(s.n)>>chunkBits == len(s.c) {
		s.c = append(s.c, make([]T, 1<<chunkBits))
	}
	s.n++
	return s.n - 1
}

func (s *chunks[T]) at(i int32) *T { return &s.c[i>>chunkBits][i&(1<<chunkBits-1)] }

// rowAmounts are a line item's BilledCost, EffectiveCost, ListCost and
// ContractedCost, read once for every rollup row it adds to.
type rowAmounts [4]amount

func (r *rowAmounts) read(l *LineItem) {
	r[0], r[1] = readAmount(l.BilledCost), readAmount(l.EffectiveCost)
	r[2], r[3] = readAmount(l.ListCost), readAmount(l.ContractedCost)
}

// aggSums are a rollup row's sums while it builds, as four Sums would
// hold them but in one cache line, since rows are many and met in no
// order: the int64 parts side by side, the arbitrary-precision parts
// apart once needed. Null list and contracted costs add nothing.
type aggSums struct {
	mant [4]int64
	exp  [4]int32
	rows int64
	big  *[4]decimal.Decimal
}

func (s *aggSums) add(r *rowAmounts) {
	for i := range r {
		a := &r[i]
		if a.n == "" {
			continue
		}
		if a.small && addSmall(&s.mant[i], &s.exp[i], a.mant, a.exp) {
			continue
		}
		if s.big == nil {
			s.big = new([4]decimal.Decimal)
		}
		if !a.small {
			s.big[i] = s.big[i].Add(a.decimal())
			continue
		}
		// The int64 part is full: it moves to the arbitrary-precision
		// part and a starts it again, as Sum does.
		s.big[i] = s.big[i].Add(decimal.New(s.mant[i], s.exp[i]))
		s.mant[i], s.exp[i] = a.mant, a.exp
	}
	s.rows++
}

// rollup returns the sums; line items carry no resale cost when they are
// ingested, so ResaleCost is BilledCost.
func (s *aggSums) rollup() RollupSums {
	var sums [4]Sum
	for i := range sums {
		sums[i] = Sum{mant: s.mant[i], exp: s.exp[i]}
		if s.big != nil {
			sums[i].big = s.big[i]
		}
	}
	return RollupSums{BilledCost: sums[0], EffectiveCost: sums[1], ListCost: sums[2], ContractedCost: sums[3],
		ResaleCost: sums[0], Rows: s.rows}
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

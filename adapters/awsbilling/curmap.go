package awsbilling

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/truecost/truecost/domain/billing"
)

// keyedCol is a source column whose values go under a key: a tag, a cost
// category, or an x_ extra.
type keyedCol struct {
	idx      int
	key      string
	dropNone bool // "None" means null in this column
}

// extraKV is one of a row's extras; col is its column among the mapper's
// extras, or -1 for keys the row's maps add.
type extraKV struct {
	k, v string
	col  int
}

// encodedCol is an extras column's key as JSON, and the JSON of the last
// value it held, which the next rows mostly repeat.
type encodedCol struct {
	key   []byte // "key":
	raw   string // never empty once set: empty values are not extras
	value []byte
}

// curMapper maps the rows of one CUR file to FOCUS line items.
type curMapper struct {
	name    string
	header  []string
	idx     [numCols]int
	tags    []keyedCol
	costCat []keyedCol
	extras  []keyedCol
	times   [numCols]struct {
		text string
		t    time.Time
	}
	lastMap [numCols]struct {
		text string
		kv   []kv
	}
	pairs      []kv         // scratch for tags and cost categories
	extraPairs []extraKV    // scratch for a row's extras
	encoded    []encodedCol // by column of extras
	extrasBuf  []byte
	// jsonExtras has rows carry their extras as ExtrasJSON, not Extras.
	jsonExtras bool
}

type kv struct{ k, v string }

func newCURMapper(name string, header []string) (*curMapper, error) {
	m := &curMapper{name: name, header: make([]string, len(header))}
	copy(m.header, header)
	byName := make(map[string]int, numCols)
	for i, c := range curColumns {
		byName[c.name] = i
		m.idx[i] = -1
	}
	seen := make(map[string]bool, len(header))
	for i, raw := range m.header {
		h := strings.TrimSpace(raw)
		if seen[h] {
			return nil, billing.InputError(name, 1, h, "column appears twice")
		}
		seen[h] = true
		switch {
		case strings.HasPrefix(h, "resourceTags/"):
			m.tags = append(m.tags, keyedCol{idx: i, key: tagKey(strings.TrimPrefix(h, "resourceTags/"))})
			continue
		case strings.HasPrefix(h, "costCategory/"):
			m.costCat = append(m.costCat, keyedCol{idx: i, key: strings.TrimPrefix(h, "costCategory/")})
			continue
		case strings.HasPrefix(h, "resource_tags_"):
			m.tags = append(m.tags, keyedCol{idx: i, key: tagKey(strings.TrimPrefix(h, "resource_tags_"))})
			continue
		case strings.HasPrefix(h, "cost_category_"):
			m.costCat = append(m.costCat, keyedCol{idx: i, key: strings.TrimPrefix(h, "cost_category_")})
			continue
		}
		c := canonical(h)
		if k, ok := byName[c]; ok {
			if m.idx[k] >= 0 {
				return nil, billing.InputError(name, 1, h, "column appears twice (as %s)", m.header[m.idx[k]])
			}
			m.idx[k] = i
			if curColumns[k].focus {
				continue
			}
		}
		m.extras = append(m.extras, keyedCol{idx: i, key: "x_" + pascal(c),
			dropNone: strings.HasPrefix(c, "savings_plan_") || strings.HasPrefix(c, "reservation_")})
	}
	// Columns in key order, so a row's extras need sorting only when the
	// cost categories or a product map add keys; of equal keys, the later
	// column still comes later.
	slices.SortStableFunc(m.extras, func(a, b keyedCol) int { return strings.Compare(a.key, b.key) })
	m.encoded = make([]encodedCol, len(m.extras))
	for i, c := range m.extras {
		m.encoded[i].key = append(billing.AppendJSONString(nil, c.key), ':')
	}
	if isFOCUSHeader(m.header) {
		return nil, billing.InputError(name, 1, "", "a FOCUS file, not a Cost and Usage Report")
	}
	var missing []string
	for _, k := range required {
		if m.idx[k] < 0 {
			missing = append(missing, curColumns[k].name)
		}
	}
	if m.idx[colUsageStart] < 0 && m.idx[colTimeInterval] < 0 {
		missing = append(missing, curColumns[colUsageStart].name)
	}
	if len(missing) > 0 {
		return nil, billing.InputError(name, 1, "", "not a Cost and Usage Report: missing column(s) %s (or their legacy lineItem/… forms)", strings.Join(missing, ", "))
	}
	return m, nil
}

// tagKey drops the "user:" (legacy) or "user_" (CUR 2.0) prefix of
// user-defined tags, so they group with other clouds' tags; AWS-generated
// tags keep their "aws:" prefix.
func tagKey(k string) string {
	if s, ok := strings.CutPrefix(k, "user:"); ok {
		return s
	}
	if s, ok := strings.CutPrefix(k, "user_"); ok {
		return s
	}
	return k
}

// rowDecoder holds one row being mapped, and where its errors point.
type rowDecoder struct {
	m    *curMapper
	rec  []string
	line int
}

func (d rowDecoder) get(c int) string {
	if i := d.m.idx[c]; i >= 0 {
		return strings.TrimSpace(d.rec[i])
	}
	return ""
}

func (d rowDecoder) fail(c int, format string, args ...any) error {
	col := ""
	if i := d.m.idx[c]; i >= 0 {
		col = d.m.header[i]
	}
	return billing.InputError(d.m.name, d.line, col, format, args...)
}

// num reads an optional decimal; empty and "None" are null.
func (d rowDecoder) num(c int) (billing.Number, error) {
	v := d.get(c)
	if v == "" || v == "None" {
		return "", nil
	}
	n, err := billing.ParseNumber(v)
	if err != nil {
		return "", d.fail(c, "%v", err)
	}
	return n, nil
}

// time reads a required timestamp, reusing the last parse of the column.
func (d rowDecoder) time(c int) (time.Time, error) {
	v := d.get(c)
	if v == "" {
		return time.Time{}, d.fail(c, "must not be empty")
	}
	cache := &d.m.times[c]
	if v == cache.text {
		return cache.t, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, d.fail(c, "%v", err)
	}
	cache.text, cache.t = v, t
	return t, nil
}

// decode maps one record to l, overwriting all of it.
func (m *curMapper) decode(rec []string, line int, l *billing.LineItem) error {
	d := rowDecoder{m: m, rec: rec, line: line}
	for i, v := range rec {
		if !utf8.ValidString(v) {
			return billing.InputError(m.name, line, m.header[i], "not valid UTF-8 text")
		}
	}
	*l = billing.LineItem{ProviderName: "AWS", PublisherName: "AWS", InvoiceIssuerName: "AWS"}
	var err error
	if l.BillingPeriodStart, err = d.time(colBillingPeriodStart); err != nil {
		return err
	}
	if l.BillingPeriodEnd, err = d.time(colBillingPeriodEnd); err != nil {
		return err
	}
	if err := d.chargePeriod(l); err != nil {
		return err
	}
	if l.BillingCurrency = d.get(colCurrency); l.BillingCurrency == "" {
		return d.fail(colCurrency, "must not be empty")
	}
	lineType := d.get(colLineItemType)
	if lineType == "" {
		return d.fail(colLineItemType, "must not be empty")
	}
	unblended, err := d.num(colUnblendedCost)
	if err != nil {
		return err
	}
	if !unblended.Valid() {
		return d.fail(colUnblendedCost, "must not be empty")
	}
	net, err := d.num(colNetUnblendedCost)
	if err != nil {
		return err
	}
	l.BilledCost = unblended
	if net.Valid() {
		l.BilledCost = net
	}
	l.ContractedCost = unblended
	if l.EffectiveCost, err = d.effectiveCost(lineType, l.BilledCost); err != nil {
		return err
	}
	for _, f := range []struct {
		dst *billing.Number
		col int
	}{
		{&l.ListCost, colPublicCost}, {&l.ListUnitPrice, colPublicRate},
		{&l.ContractedUnitPrice, colUnblendedRate}, {&l.PricingQuantity, colUsageAmount},
	} {
		if *f.dst, err = d.num(f.col); err != nil {
			return err
		}
	}
	d.classify(l, lineType)
	d.describe(l)
	if err := d.keyed(l); err != nil {
		return err
	}
	l.ServiceName = firstOf(l.ServiceName, d.get(colProductCode))
	return nil
}

// chargePeriod reads the usage dates, or the identity time interval
// ("start/end") when the dates are absent.
func (d rowDecoder) chargePeriod(l *billing.LineItem) error {
	var err error
	if d.m.idx[colUsageStart] >= 0 && d.get(colUsageStart) != "" {
		if l.ChargePeriodStart, err = d.time(colUsageStart); err != nil {
			return err
		}
		l.ChargePeriodEnd, err = d.time(colUsageEnd)
		return err
	}
	start, end, ok := strings.Cut(d.get(colTimeInterval), "/")
	if !ok {
		return d.fail(colUsageStart, "must not be empty")
	}
	if l.ChargePeriodStart, err = parseTime(start); err == nil {
		l.ChargePeriodEnd, err = parseTime(end)
	}
	if err != nil {
		return d.fail(colTimeInterval, "%v", err)
	}
	return nil
}

// describe fills the FOCUS columns copied from the CUR as they are.
func (d rowDecoder) describe(l *billing.LineItem) {
	l.BillingAccountID = d.get(colPayerAccount)
	l.BillingAccountName = d.get(colPayerAccountName)
	l.SubAccountID = d.get(colUsageAccount)
	l.SubAccountName = d.get(colUsageAccountName)
	l.InvoiceID = d.get(colInvoiceID)
	l.AvailabilityZone = d.get(colAvailabilityZone)
	l.ChargeDescription = d.get(colDescription)
	l.ResourceID = d.get(colResourceID)
	l.SkuID = d.get(colSKU)
	l.SkuPriceID = d.get(colRateCode)
	l.PricingUnit = d.get(colPricingUnit)
	l.RegionID = firstOf(d.get(colRegionCode), d.get(colRegion))
	l.RegionName = d.get(colLocation)
	l.ServiceName = d.get(colProductName)
	l.ServiceCategory = serviceCategory(d.get(colProductCode))
	if strings.EqualFold(d.get(colBillingEntity), "AWS Marketplace") {
		l.PublisherName = firstOf(d.get(colLegalEntity), "AWS Marketplace")
	}
	if l.ChargeCategory == "Usage" {
		l.ConsumedQuantity, l.ConsumedUnit = l.PricingQuantity, l.PricingUnit
	}
}

// keyed collects tags, cost categories and every other column into the
// JSON and Extras columns.
func (d rowDecoder) keyed(l *billing.LineItem) error {
	m := d.m
	pairs := m.pairs[:0]
	for _, c := range m.tags {
		if v := d.rec[c.idx]; v != "" {
			pairs = append(pairs, kv{c.key, v})
		}
	}
	if i := m.idx[colTagsMap]; i >= 0 {
		kvs, err := d.jsonMap(colTagsMap)
		if err != nil {
			return err
		}
		for _, p := range kvs {
			pairs = append(pairs, kv{tagKey(p.k), p.v})
		}
	}
	l.Tags = jsonObject(pairs)
	pairs = pairs[:0]
	for _, c := range m.costCat {
		if v := d.rec[c.idx]; v != "" {
			pairs = append(pairs, kv{c.key, v})
		}
	}
	if m.idx[colCostCategoryMap] >= 0 {
		kvs, err := d.jsonMap(colCostCategoryMap)
		if err != nil {
			return err
		}
		pairs = append(pairs, kvs...)
	}
	costCats := jsonObject(pairs)
	m.pairs = pairs
	// The extras sorted by key, the later of two equal keys winning as in
	// a map filled in this order: the cost categories, the columns, then
	// the product map's keys.
	ex := m.extraPairs[:0]
	for i, c := range m.extras {
		v := d.rec[c.idx]
		if v == "" || (c.dropNone && v == "None") {
			continue
		}
		ex = append(ex, extraKV{c.key, v, i})
	}
	if costCats != "" {
		const key = "x_CostCategories"
		i := sort.Search(len(ex), func(i int) bool { return ex[i].k >= key })
		ex = slices.Insert(ex, i, extraKV{key, costCats, -1})
	}
	sorted := true
	if m.idx[colProductMap] >= 0 {
		kvs, err := d.jsonMap(colProductMap)
		if err != nil {
			return err
		}
		for _, p := range kvs {
			switch p.k {
			case "product_name":
				l.ServiceName = firstOf(l.ServiceName, p.v)
			case "region_code", "region":
				l.RegionID = firstOf(l.RegionID, p.v)
			case "location":
				l.RegionName = firstOf(l.RegionName, p.v)
			default:
				ex = append(ex, extraKV{"x_Product" + pascal(p.k), p.v, -1})
				sorted = false
			}
		}
	}
	m.extraPairs = ex
	switch {
	case len(ex) == 0:
	case m.jsonExtras:
		if !sorted {
			slices.SortStableFunc(ex, func(a, b extraKV) int { return strings.Compare(a.k, b.k) })
		}
		l.ExtrasJSON = m.encodeExtras(ex)
	default:
		// Rows of one file fill about as many extras as the row before.
		extras := make(map[string]string, len(ex))
		for _, p := range ex {
			extras[p.k] = p.v
		}
		l.Extras = extras
	}
	return nil
}

// encodeExtras writes extras sorted by key as the store writes an Extras
// map (see billing.AppendJSONString); of equal keys, the last is kept.
func (m *curMapper) encodeExtras(ex []extraKV) string {
	b := append(m.extrasBuf[:0], '{')
	for i, p := range ex {
		if i+1 < len(ex) && ex[i+1].k == p.k {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		if p.col < 0 {
			b = billing.AppendJSONString(b, p.k)
			b = append(b, ':')
			b = billing.AppendJSONString(b, p.v)
			continue
		}
		c := &m.encoded[p.col]
		b = append(b, c.key...)
		if c.raw != p.v {
			// The reader's strings are not reused, so p.v may be kept.
			c.value = billing.AppendJSONString(c.value[:0], p.v)
			c.raw = p.v
		}
		b = append(b, c.value...)
	}
	b = append(b, '}')
	m.extrasBuf = b
	return string(b)
}

// jsonMap reads a CUR 2.0 map column (a JSON object in CSV), in key order.
// The last parse is kept, since neighbouring rows often repeat it.
func (d rowDecoder) jsonMap(c int) ([]kv, error) {
	v := d.get(c)
	if v == "" || v == "{}" || v == "None" {
		return nil, nil
	}
	cache := &d.m.lastMap[c]
	if v == cache.text {
		return cache.kv, nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		return nil, d.fail(c, "not a JSON object: %v", err)
	}
	kvs := make([]kv, 0, len(obj))
	for k, val := range obj {
		switch x := val.(type) {
		case nil:
			continue
		case string:
			if x != "" {
				kvs = append(kvs, kv{k, x})
			}
		default:
			b, _ := json.Marshal(x)
			kvs = append(kvs, kv{k, string(b)})
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
	cache.text, cache.kv = v, kvs
	return kvs, nil
}

package billing

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// feed adds items to a as the ingester does.
func feed(t testing.TB, a *aggregator, items []LineItem) {
	t.Helper()
	if err := a.addBatch(items); err != nil {
		t.Fatal(err)
	}
}

func tagJSON(tags map[string]any) string {
	b, err := json.Marshal(tags)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// rollupItems are line items with what the rollups must get right: three
// billing periods, charges either side of midnight, a provider named only
// by ServiceProviderName, null list and contracted costs, amounts in
// scientific notation and past int64, long and unusual text, and tag
// objects with null values, a numeric tag, escapes, a key written twice
// and a session unique per row.
func rollupItems(n int) []LineItem {
	rng := rand.New(rand.NewPCG(3, 5))
	periods := []time.Time{date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)}
	services := []string{"Compute", "Storage", "Database", "Réseau\tx", strings.Repeat("Long service ", 20)}
	amounts := []string{"0", "1.25", "-3.5", "12.3456789", "1.7e-05", "2E+3", "12345678901234567890.5", "0.000000000000000000001", "99999999999999999"}
	items := make([]LineItem, n)
	for i := range items {
		p := periods[rng.IntN(len(periods))]
		charge := p.Add(time.Duration(rng.IntN(2*24*60)) * time.Minute)
		if i%13 == 0 {
			charge = p.AddDate(0, 0, 1).Add(-time.Millisecond) // 23:59:59.999
		}
		l := LineItem{BillingPeriodStart: p, BillingPeriodEnd: p.AddDate(0, 1, 0), ChargePeriodStart: charge, ChargePeriodEnd: charge.Add(time.Hour),
			BillingCurrency: []string{"USD", "EUR"}[rng.IntN(2)],
			BilledCost:      Number(amounts[rng.IntN(len(amounts))]), EffectiveCost: Number(amounts[rng.IntN(len(amounts))]),
			ProviderName: []string{"AWS", "Microsoft", ""}[rng.IntN(3)], ServiceName: services[rng.IntN(len(services))],
			ServiceCategory: []string{"Compute", ""}[rng.IntN(2)], RegionID: []string{"us-east-1", "eu-west-1", ""}[rng.IntN(3)],
			BillingAccountID: fmt.Sprint("acct-", rng.IntN(3)), SubAccountID: fmt.Sprint("sub-", rng.IntN(2)),
			ChargeCategory: []string{"Usage", "Tax"}[rng.IntN(2)], ChargeClass: []string{"", "Correction"}[rng.IntN(2)]}
		l.RegionName = strings.ToUpper(l.RegionID)
		l.BillingAccountName, l.SubAccountName = "Account "+l.BillingAccountID, "Sub "+l.SubAccountID
		if l.ProviderName == "" && i%5 != 0 {
			l.ServiceProviderName = "Google Cloud"
		}
		if rng.IntN(3) > 0 {
			l.ListCost = Number(amounts[rng.IntN(len(amounts))])
		}
		if rng.IntN(3) > 0 {
			l.ContractedCost = Number(amounts[rng.IntN(len(amounts))])
		}
		switch i % 10 {
		case 0: // no tags
		case 1:
			l.Tags = `{ "team" : "red" , "env":null, "owner": "zoë" }`
		case 2:
			l.Tags = `{"team":"blue","team":"green","k\"q":"v\nw"}` // the last team counts
		case 3:
			l.Tags = tagJSON(map[string]any{"team": "red", "cost_center": 40 + i%3, "session": fmt.Sprint("s-", i)})
		default:
			l.Tags = tagJSON(map[string]any{"team": []string{"red", "blue", ""}[i%3], "env": []any{"prod", "dev", nil}[i%3],
				"cost_center": fmt.Sprint(40 + i%3), "session": fmt.Sprint("s-", i)})
		}
		items[i] = l
	}
	return items
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// refRollups are rollups computed the slow, obvious way: decimals, text
// keys, tags read by encoding/json.
type refRollups struct {
	dims, tags map[string]*refSums
	combos     map[string]int  // tag rollup rows per key
	mixed      map[string]bool // keys with a value neither string nor null
}

type refSums struct {
	billed, effective, list, contracted decimal.Decimal
	rows                                int64
}

func (s *refSums) add(l *LineItem) {
	dec := func(n Number) decimal.Decimal {
		if n == "" {
			return decimal.Zero
		}
		return decimal.RequireFromString(string(n))
	}
	s.billed = s.billed.Add(dec(l.BilledCost))
	s.effective = s.effective.Add(dec(l.EffectiveCost))
	s.list = s.list.Add(dec(l.ListCost))
	s.contracted = s.contracted.Add(dec(l.ContractedCost))
	s.rows++
}

func refKey(parts ...any) string { return fmt.Sprintf(strings.Repeat("%v|", len(parts)), parts...) }

func refProvider(l *LineItem) string {
	if l.ProviderName != "" {
		return l.ProviderName
	}
	return l.ServiceProviderName
}

func naiveRollups(t *testing.T, items []LineItem) refRollups {
	t.Helper()
	r := refRollups{dims: map[string]*refSums{}, tags: map[string]*refSums{}, combos: map[string]int{}, mixed: map[string]bool{}}
	at := func(m map[string]*refSums, k string) *refSums {
		if m[k] == nil {
			m[k] = &refSums{}
		}
		return m[k]
	}
	for i := range items {
		l := &items[i]
		period, day := l.BillingPeriodStart.UTC().Format(time.RFC3339Nano), l.ChargePeriodStart.UTC().Format(time.DateOnly)
		at(r.dims, refKey(period, day, refProvider(l), l.ServiceName, l.ServiceCategory, l.RegionID, l.RegionName,
			l.BillingAccountID, l.BillingAccountName, l.SubAccountID, l.SubAccountName, l.ChargeCategory, l.ChargeClass,
			l.BillingCurrency)).add(l)
		if l.Tags == "" {
			continue
		}
		var tags map[string]any
		if err := json.Unmarshal([]byte(l.Tags), &tags); err != nil {
			t.Fatal(err)
		}
		for k, v := range tags {
			if _, ok := r.combos[k]; !ok {
				r.combos[k] = 0
			}
			switch v := v.(type) {
			case nil:
			case string:
				key := refKey(k, v, period, day, refProvider(l), l.ServiceName, l.BillingCurrency)
				if r.tags[key] == nil {
					r.combos[k]++
				}
				at(r.tags, key).add(l)
			default:
				r.mixed[k] = true
			}
		}
	}
	return r
}

// rolledUp is the decision rule, for keys that stayed within the bounds.
func (r refRollups) rolledUp(key string, rows int) bool {
	n := r.combos[key]
	return !r.mixed[key] && (n <= TagRollupFloor || n*4 <= rows)
}

func sumsEqual(t *testing.T, what string, got RollupSums, want *refSums) {
	t.Helper()
	for _, c := range []struct {
		name string
		got  Sum
		want decimal.Decimal
	}{{"billed", got.BilledCost, want.billed}, {"effective", got.EffectiveCost, want.effective}, {"list", got.ListCost, want.list},
		{"contracted", got.ContractedCost, want.contracted}, {"resale", got.ResaleCost, want.billed}} {
		if !c.got.Decimal().Equal(c.want) {
			t.Errorf("%s: %s %s, want %s", what, c.name, c.got.Decimal(), c.want)
		}
	}
	if got.Rows != want.rows {
		t.Errorf("%s: %d rows, want %d", what, got.Rows, want.rows)
	}
}

// checkRollups compares an aggregator's output with the reference, for
// the tag keys the reference says are rolled up.
func checkRollups(t *testing.T, keys []RunTagKey, r Rollups, want refRollups, rolled map[string]bool) {
	t.Helper()
	if len(r.Dims) != len(want.dims) {
		t.Errorf("%d dimension rows, want %d", len(r.Dims), len(want.dims))
	}
	for _, d := range r.Dims {
		k := refKey(d.BillingPeriodStart.Format(time.RFC3339Nano), d.Day.Format(time.DateOnly), d.ProviderName, d.ServiceName,
			d.ServiceCategory, d.RegionID, d.RegionName, d.BillingAccountID, d.BillingAccountName, d.SubAccountID, d.SubAccountName,
			d.ChargeCategory, d.ChargeClass, d.Currency)
		if w := want.dims[k]; w == nil {
			t.Errorf("unexpected dimension row %s", k)
		} else {
			sumsEqual(t, k, d.Sums, w)
		}
		if d.Day.Location() != time.UTC || d.BillingPeriodStart.Location() != time.UTC {
			t.Errorf("%s: times not in UTC", k)
		}
	}
	wantTags := 0
	for k := range want.tags {
		if rolled[strings.SplitN(k, "|", 2)[0]] {
			wantTags++
		}
	}
	if len(r.Tags) != wantTags {
		t.Errorf("%d tag rows, want %d", len(r.Tags), wantTags)
	}
	for _, tr := range r.Tags {
		k := refKey(tr.Key, tr.Value, tr.BillingPeriodStart.Format(time.RFC3339Nano), tr.Day.Format(time.DateOnly), tr.ProviderName,
			tr.ServiceName, tr.Currency)
		if w := want.tags[k]; w == nil || !rolled[tr.Key] {
			t.Errorf("unexpected tag row %s", k)
		} else {
			sumsEqual(t, k, tr.Sums, w)
		}
	}
	for _, k := range keys {
		if k.RolledUp != rolled[k.Key] {
			t.Errorf("key %s rolled up = %v, want %v", k.Key, k.RolledUp, rolled[k.Key])
		}
	}
}

// TestAggregatorMatchesNaiveRollups checks every rollup row, and every tag
// key's decision, against the reference.
func TestAggregatorMatchesNaiveRollups(t *testing.T) {
	const rows = 3000
	items := rollupItems(rows)
	a := newAggregator()
	feed(t, a, items)
	keys, r, ok := a.finish(rows)
	if !ok {
		t.Fatal("no rollups")
	}
	want := naiveRollups(t, items)
	rolled := map[string]bool{}
	var names []string
	for k := range want.combos {
		rolled[k] = want.rolledUp(k, rows)
		names = append(names, k)
	}
	sort.Strings(names)
	// The fixture covers each case.
	for k, w := range map[string]bool{"team": true, "env": true, "owner": true, `k"q`: true, "cost_center": false, "session": false} {
		if rolled[k] != w {
			t.Fatalf("fixture: %s rolled up = %v, want %v", k, rolled[k], w)
		}
	}
	if len(keys) != len(names) {
		t.Errorf("keys %v, want %v", keys, names)
	}
	for i, k := range keys {
		if i < len(names) && k.Key != names[i] {
			t.Errorf("key %d is %s, want %s", i, k.Key, names[i])
		}
		if want.mixed[k.Key] {
			if k.Combos != tagRollupCap+1 {
				t.Errorf("%s: %d combinations, want the not-counted mark", k.Key, k.Combos)
			}
		} else if k.Combos != want.combos[k.Key] {
			t.Errorf("%s: %d combinations, want %d", k.Key, k.Combos, want.combos[k.Key])
		}
	}
	checkRollups(t, keys, r, want, rolled)
}

// TestAggregatorPastTheDimensionBoundStagesNothing lowers the bound on
// dimension rows: the run gets no rollups, but its tag keys are still
// counted for the store; past as many groups, no key is rolled up.
func TestAggregatorPastTheDimensionBoundStagesNothing(t *testing.T) {
	const rows = 3000
	items := rollupItems(rows)
	want := naiveRollups(t, items)

	a := newAggregator()
	a.maxDims = len(want.dims) - 1
	feed(t, a, items)
	if a.dims != nil || a.dimRows.c != nil {
		t.Error("the dimension rows are still held")
	}
	keys, r, ok := a.finish(rows)
	if ok || len(r.Dims) > 0 || len(r.Tags) > 0 {
		t.Errorf("rollups returned past the bound: ok %v, %d dimension rows, %d tag rows", ok, len(r.Dims), len(r.Tags))
	}
	for _, k := range keys {
		if w := want.rolledUp(k.Key, rows); k.RolledUp != w {
			t.Errorf("key %s rolled up = %v, want %v", k.Key, k.RolledUp, w)
		}
	}

	a = newAggregator()
	a.maxDims = 5
	feed(t, a, items)
	keys, _, ok = a.finish(rows)
	if ok {
		t.Error("rollups returned past the bound")
	}
	for _, k := range keys {
		if k.RolledUp {
			t.Errorf("key %s rolled up though counting stopped", k.Key)
		}
	}
}

// TestAggregatorBudgetDropsTheLargestKey lowers the bound on tag rows held
// at once: the key holding the most is dropped, the others keep exact
// rows.
func TestAggregatorBudgetDropsTheLargestKey(t *testing.T) {
	const rows = 150
	items := make([]LineItem, rows)
	for i := range items {
		items[i] = LineItem{BillingPeriodStart: date(2026, 9, 1), BillingPeriodEnd: date(2026, 10, 1),
			ChargePeriodStart: date(2026, 9, 2), ChargePeriodEnd: date(2026, 9, 3), BillingCurrency: "USD",
			BilledCost: Number(fmt.Sprint(i)), EffectiveCost: "1", ProviderName: "AWS", ServiceName: "Compute",
			// big grows by a row per line item, mid by one every two.
			Tags: fmt.Sprintf(`{"big":"b%d","mid":"m%d","small":"s%d"}`, i, i/2, i%3)}
	}
	a := newAggregator()
	a.maxTagRows = 100
	feed(t, a, items)
	if a.tagRows > a.maxTagRows {
		t.Errorf("%d tag rows held, bound %d", a.tagRows, a.maxTagRows)
	}
	keys, r, ok := a.finish(rows)
	if !ok {
		t.Fatal("no rollups")
	}
	rolled := map[string]bool{"mid": true, "small": true}
	checkRollups(t, keys, r, naiveRollups(t, items), rolled)
	for _, k := range keys {
		if k.Key == "big" && k.Combos != tagRollupCap+1 {
			t.Errorf("big: %d combinations, want the not-counted mark", k.Combos)
		}
	}
}

// TestAggregatorRollsUpOnlyKeysThatCompress feeds a month of line items
// whose tags range from a handful of values to one per row, and checks
// which keys get tag rollups.
func TestAggregatorRollsUpOnlyKeysThatCompress(t *testing.T) {
	start := date(2026, 10, 1)
	const rows = 20_000
	items := make([]LineItem, rows)
	for i := range items {
		items[i] = LineItem{BillingPeriodStart: start, BillingPeriodEnd: start.AddDate(0, 1, 0),
			ChargePeriodStart: start.Add(time.Duration(i%720) * time.Hour), ChargePeriodEnd: start.Add(time.Duration(i%720+1) * time.Hour),
			ServiceName: fmt.Sprintf("svc-%d", i%10), BillingCurrency: "USD", BilledCost: "1", EffectiveCost: "1",
			Tags: tagJSON(map[string]any{
				"team":      fmt.Sprintf("t%d", i%8),      // 8 × 30 days × 10 services: compresses
				"user":      fmt.Sprintf("u%d", i%2000),   // about one combination per row
				"SessionID": fmt.Sprintf("s%06d", i),      // unique per row
				"env":       []string{"prod", "dev"}[i%2], // two values
			})}
	}
	a := newAggregator()
	feed(t, a, items)
	keys, _, _ := a.finish(rows)
	got := map[string]bool{}
	for _, k := range keys {
		got[k.Key] = k.RolledUp
	}
	want := map[string]bool{"team": true, "env": true, "user": false, "SessionID": false}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s rolled up = %v, want %v (keys %+v)", k, got[k], w, keys)
		}
	}
}

// TestAggregatorMemoryIsBounded counts far more keys and combinations
// than the bounds allow and checks what it keeps.
func TestAggregatorMemoryIsBounded(t *testing.T) {
	a := newAggregator()
	l := &LineItem{BillingPeriodStart: date(2026, 10, 1), BillingPeriodEnd: date(2026, 11, 1),
		ChargePeriodStart: date(2026, 10, 1), ChargePeriodEnd: date(2026, 10, 2), ServiceName: "svc",
		BillingCurrency: "USD", BilledCost: "1", EffectiveCost: "1"}
	for i := range tagRollupCap + 10 {
		tags := map[string]any{"SessionID": fmt.Sprint(i)}
		if i < 200 {
			tags[fmt.Sprintf("key-%03d", i)] = "x"
		}
		l.Tags = tagJSON(tags)
		feed(t, a, []LineItem{*l})
		if len(a.counting) > maxCountedTagKeys {
			t.Fatalf("%d keys counted, want at most %d", len(a.counting), maxCountedTagKeys)
		}
	}
	for _, k := range a.counting {
		if len(k.cells) > tagRollupCap {
			t.Errorf("%s holds %d combinations, want at most %d", k.key, len(k.cells), tagRollupCap)
		}
	}
	keys, _, _ := a.finish(tagRollupCap + 10)
	if len(keys) != 201 {
		t.Errorf("%d keys, want all 201 seen", len(keys))
	}
	for _, k := range keys {
		if k.Key == "SessionID" && k.RolledUp {
			t.Error("SessionID past the cap is rolled up")
		}
	}
}

func tagMap(t *testing.T, raw string) (map[string]tagPair, error) {
	t.Helper()
	pairs, err := parseTags(raw, nil)
	m := map[string]tagPair{}
	for _, p := range pairs {
		if _, ok := m[p.Key]; ok {
			t.Errorf("%s: key %q twice", raw, p.Key)
		}
		m[p.Key] = p
	}
	return m, err
}

func TestParseTagsKeepsNonStringValuesAsJSON(t *testing.T) {
	tags, err := tagMap(t, `{"team":"red","cost_center":42,"on":true,"nested":{"a":1},"gone":null,"team2":"a","team2":"b"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]tagPair{"team": {"team", "red", tagString}, "cost_center": {"cost_center", "42", tagOther},
		"on": {"on", "true", tagOther}, "nested": {"nested", `{"a":1}`, tagOther}, "gone": {"gone", "", tagNull},
		"team2": {"team2", "b", tagString}}
	if len(tags) != len(want) {
		t.Errorf("tags %v, want %v", tags, want)
	}
	for k, w := range want {
		if tags[k] != w {
			t.Errorf("%s = %+v, want %+v", k, tags[k], w)
		}
	}
	for _, bad := range []string{`[1,2]`, `{"a":"b",}`, `{"a":nul}`, `{"a":"b"} x`, "{\"a\":\"\x01\"}", `{"a" "b"}`, `{`} {
		if _, err := parseTags(bad, nil); err == nil {
			t.Errorf("%s parsed as tags", bad)
		}
	}
}

// FuzzParseTags checks the fast reading of plain tag objects against
// encoding/json.
func FuzzParseTags(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, ` { "a" : "b" , "c":null } `, `{}`, `{"a":"é"}`, `{"a":"\u00e9"}`, `{"a":"b","a":"c"}`,
		`{"a":1}`, `{"a":"b",}`, `{"a":nullx}`, `null`, "{\"a\":\"\xff\"}", `{"a":"b"}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		fast, ok := scanPlainTags(raw, nil)
		slow, err := parseTagsJSON(raw, nil)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("%q: read as plain tags, but encoding/json says %v", raw, err)
		}
		sort.Slice(slow, func(i, j int) bool { return slow[i].Key < slow[j].Key })
		sort.Slice(fast, func(i, j int) bool { return fast[i].Key < fast[j].Key })
		if fmt.Sprint(fast) != fmt.Sprint(slow) {
			t.Fatalf("%q: plain %v, encoding/json %v", raw, fast, slow)
		}
	})
}

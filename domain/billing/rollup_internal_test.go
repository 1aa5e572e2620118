package billing

import (
	"fmt"
	"testing"
	"time"
)

// TestTagCensusRollsUpOnlyKeysThatCompress feeds a month of line items whose
// tags range from a handful of values to one per row, and checks which keys
// the census would give tag rollups.
func TestTagCensusRollsUpOnlyKeysThatCompress(t *testing.T) {
	c := newTagCensus()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	const rows = 20_000
	for i := range rows {
		l := &LineItem{ChargePeriodStart: start.Add(time.Duration(i%720) * time.Hour),
			ServiceName: fmt.Sprintf("svc-%d", i%10), BillingCurrency: "USD"}
		c.add(l, map[string]string{
			"team":      fmt.Sprintf("t%d", i%8),      // 8 × 30 days × 10 services: compresses
			"user":      fmt.Sprintf("u%d", i%2000),   // about one combination per row
			"SessionID": fmt.Sprintf("s%06d", i),      // unique per row
			"env":       []string{"prod", "dev"}[i%2], // two values
		})
	}
	got := map[string]bool{}
	for _, k := range c.keys(rows) {
		got[k.Key] = k.RolledUp
	}
	want := map[string]bool{"team": true, "env": true, "user": false, "SessionID": false}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s rolled up = %v, want %v (census %+v)", k, got[k], w, c.keys(rows))
		}
	}
}

// TestTagCensusMemoryIsBounded counts far more keys and combinations than
// the bounds allow and checks what it keeps.
func TestTagCensusMemoryIsBounded(t *testing.T) {
	c := newTagCensus()
	l := &LineItem{ChargePeriodStart: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), ServiceName: "svc", BillingCurrency: "USD"}
	for i := range tagRollupCap + 10 {
		tags := map[string]string{"SessionID": fmt.Sprint(i)}
		if i < 200 {
			tags[fmt.Sprintf("key-%03d", i)] = "x"
		}
		c.add(l, tags)
	}
	if len(c.combos) > maxCountedTagKeys {
		t.Errorf("%d keys counted, want at most %d", len(c.combos), maxCountedTagKeys)
	}
	for k, set := range c.combos {
		if len(set) > tagRollupCap {
			t.Errorf("%s holds %d combinations, want at most %d", k, len(set), tagRollupCap)
		}
	}
	for _, k := range c.keys(tagRollupCap + 10) {
		if k.Key == "SessionID" && k.RolledUp {
			t.Error("SessionID past the cap is rolled up")
		}
	}
}

func TestParseTagsKeepsNonStringValuesAsJSON(t *testing.T) {
	tags, err := parseTags(`{"team":"red","cost_center":42,"on":true,"nested":{"a":1}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"team": "red", "cost_center": "42", "on": "true", "nested": `{"a":1}`}
	for k, w := range want {
		if tags[k] != w {
			t.Errorf("%s = %q, want %q", k, tags[k], w)
		}
	}
	if _, err := parseTags(`[1,2]`); err == nil {
		t.Error("an array parsed as tags")
	}
}

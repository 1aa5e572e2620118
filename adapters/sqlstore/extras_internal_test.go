package sqlstore

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestExtrasEncodeAsEncodingJSONDoes feeds one encoder rows whose key sets
// repeat, change and shrink, with text that needs every kind of escape.
func TestExtrasEncodeAsEncodingJSONDoes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	texts := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r", "<b>&amp;</b>", "caf\u00e9 \u2028 \u2029",
		"\x00\x01\x1f", "invalid \xff utf-8", "x_ProductInstanceType", "None"}
	keys := []string{"x_Product", "x_b", "x_a", "k\"q", "ключ", "x_CostCategories", "<k>", "x_A", "x_a2"}
	var e extrasEncoder
	var extras map[string]string
	for row := range 3000 {
		if row%7 == 0 || extras == nil {
			extras = map[string]string{}
			for _, k := range keys {
				if rng.IntN(3) > 0 {
					extras[k] = ""
				}
			}
		}
		for k := range extras {
			extras[k] = texts[rng.IntN(len(texts))]
		}
		want, _ := json.Marshal(extras)
		if len(extras) == 0 {
			want = nil
		}
		if got := e.append(nil, extras); string(got) != string(want) {
			t.Fatalf("row %d: got %s, want %s", row, got, want)
		}
	}
}

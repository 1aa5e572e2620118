package sqlstore

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestDecodeExtrasReadsWhatEitherDatabaseReturns(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"x_A":"1","x_B":"two words"}`,
		`{"x_A": "1", "x_B": "two words"}`,
		`{"x_Quote": "say \"hi\"", "x_Uni": "caf\u00e9"}`,
		`{"x_Num": 12.5, "x_Null": null, "x_Obj": {"a": 1}}`,
		` { "x_A" : "" } `,
	} {
		got := map[string]string{}
		if err := decodeExtras(in, got); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(in), &raw); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for k, v := range raw {
			switch x := v.(type) {
			case string:
				want[k] = x
			case nil:
			default:
				b, _ := json.Marshal(x)
				want[k] = string(b)
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", in, got, want)
		}
	}
	if err := decodeExtras(`{"x_A": "1"`, map[string]string{}); err == nil {
		t.Error("a truncated object decoded")
	}
}

func TestDecodeExtrasKeepsEscapedJSONText(t *testing.T) {
	got := map[string]string{}
	in := `{"x_CostCategories": "{\"team\":\"platform\"}", "x_Path": "a\\b", "x_Plain": "v"}`
	if err := decodeExtras(in, got); err != nil {
		t.Fatal(err)
	}
	if got["x_CostCategories"] != `{"team":"platform"}` || got["x_Path"] != `a\b` || got["x_Plain"] != "v" {
		t.Errorf("got %v", got)
	}
}

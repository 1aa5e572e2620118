package awsbilling_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/domain/billing"
)

// TestDecodeCURForLoadEncodesExtrasAsTheStoreWould checks that the extras a
// load-bound decode pre-encodes are, byte for byte, encoding/json's text of
// the Extras map the plain decode gives, every other column equal.
func TestDecodeCURForLoadEncodesExtrasAsTheStoreWould(t *testing.T) {
	quirky := legacyRow(map[string]string{
		"lineItem/LineItemDescription":         "<b>\"quoted\" & \\ back\tslash</b> ünïcödé €",
		"product/instanceType":                 "m5.large",
		"costCategory/team":                    "platform <&>",
		"savingsPlan/SavingsPlanEffectiveCost": "None",
		"resourceTags/user:app":                "web \"blue\"",
	})
	files := map[string][]byte{
		"september": readFileBytes(t, "testdata/bucket/"+septemberCSV),
		"cur2":      gzipCSV(t, cur2Rows("2026-09")),
		"quirky":    gzipCSV(t, [][]string{legacyHeader, quirky, legacyRow(nil)}),
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			var plain, load []billing.LineItem
			ctx := context.Background()
			if err := awsbilling.DecodeCUR(ctx, name+".csv.gz", bytes.NewReader(data), func(l *billing.LineItem) error {
				plain = append(plain, *l)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := awsbilling.DecodeCURForLoad(ctx, name+".csv.gz", bytes.NewReader(data), func(l *billing.LineItem) error {
				load = append(load, *l)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(plain) != len(load) || len(plain) == 0 {
				t.Fatalf("%d rows, %d pre-encoded", len(plain), len(load))
			}
			for i := range plain {
				want := ""
				if len(plain[i].Extras) > 0 {
					b, err := json.Marshal(plain[i].Extras)
					if err != nil {
						t.Fatal(err)
					}
					want = string(b)
				}
				if load[i].Extras != nil || load[i].ExtrasJSON != want {
					t.Errorf("row %d: extras %v, pre-encoded %s, want %s", i+1, load[i].Extras, load[i].ExtrasJSON, want)
				}
				if plain[i].ExtrasJSON != "" {
					t.Errorf("row %d: the plain decode pre-encoded %s", i+1, plain[i].ExtrasJSON)
				}
				a, b := plain[i], load[i]
				a.Extras, b.ExtrasJSON = nil, ""
				if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
					t.Errorf("row %d differs beyond extras:\n%s\n%s", i+1, ja, jb)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package azurebilling_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/exports"
)

// decodeItems reads a cost-details file into exports' items.
func decodeItems(t *testing.T, name string, b []byte) []exports.Item {
	t.Helper()
	var items []exports.Item
	err := azurebilling.Decode(context.Background(), name, bytes.NewReader(b), azurebilling.DecodeOptions{}, func(l *billing.LineItem) error {
		c := *l
		c.Extras = maps.Clone(l.Extras)
		items = append(items, exports.Item{LineItem: c})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func TestCostDetailsLayoutReadsBackAsTheSameLineItems(t *testing.T) {
	for _, basis := range []exports.Basis{exports.AtCost, exports.AtResale} {
		t.Run(string(basis), func(t *testing.T) {
			src, err := os.ReadFile("testdata/native/container/exports/cost-export/20260901-20260930/costreport_e98fd015-fb20-48ae-9e3c-544231a17605.csv")
			if err != nil {
				t.Fatal(err)
			}
			in := decodeItems(t, "source", src)
			keys := map[string]bool{}
			for _, it := range in {
				for k := range it.Extras {
					keys[k] = true
				}
			}
			var buf bytes.Buffer
			w, err := azurebilling.CostDetailsLayout{}.NewWriter(&buf, exports.Header{Basis: basis,
				Columns: exports.Columns{Extras: slices.Sorted(maps.Keys(keys))}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range in {
				if err := w.Write(&in[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			var plain bytes.Buffer
			if _, err := plain.ReadFrom(zr); err != nil {
				t.Fatal(err)
			}
			out := decodeItems(t, "written", plain.Bytes())
			if len(out) != len(in) {
				t.Fatalf("read back %d rows, wrote %d", len(out), len(in))
			}
			sum := func(items []exports.Item, f func(*exports.Item) billing.Number) decimal.Decimal {
				s := decimal.Zero
				for i := range items {
					s = s.Add(f(&items[i]).Decimal())
				}
				return s
			}
			billed := func(it *exports.Item) billing.Number { return it.BilledCost }
			if !sum(out, billed).Equal(sum(in, billed)) {
				t.Errorf("BilledCost %s read back, %s written", sum(out, billed), sum(in, billed))
			}
			for i := range in {
				a, b := in[i], out[i]
				if a.ChargeCategory != b.ChargeCategory || a.SubAccountID != b.SubAccountID || a.ServiceName != b.ServiceName ||
					!a.ChargePeriodStart.Equal(b.ChargePeriodStart) || !a.BillingPeriodStart.Equal(b.BillingPeriodStart) ||
					!a.BillingPeriodEnd.Equal(b.BillingPeriodEnd) || a.RegionID != b.RegionID || a.ResourceID != b.ResourceID ||
					a.CommitmentDiscountID != b.CommitmentDiscountID || a.ChargeFrequency != b.ChargeFrequency {
					t.Fatalf("row %d differs:\n wrote %+v\n read  %+v", i+1, a.LineItem, b.LineItem)
				}
			}
			header := strings.SplitN(plain.String(), "\n", 2)[0]
			if has := strings.Contains(header, "PayGPrice") || strings.Contains(header, "UnitPrice,"); has == (basis == exports.AtResale) {
				t.Errorf("%s header: %s", basis, header)
			}
		})
	}
}

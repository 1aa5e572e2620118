package ocibilling_test

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

	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/exports"
)

func decodeReport(t *testing.T, name string, b []byte) []exports.Item {
	t.Helper()
	var items []exports.Item
	err := ocibilling.DecodeCostReport(context.Background(), name, bytes.NewReader(b), func(l *billing.LineItem) error {
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

func TestCostReportLayoutReadsBackAsTheSameLineItems(t *testing.T) {
	src, err := os.ReadFile("testdata/bucket/report_cost-1950_2026-09.csv")
	if err != nil {
		t.Fatal(err)
	}
	in := decodeReport(t, "source", src)
	extras, tags := map[string]bool{}, map[string]bool{}
	for _, it := range in {
		for k := range it.Extras {
			extras[k] = true
		}
		if it.Tags != "" {
			for _, k := range strings.Split(strings.Trim(it.Tags, "{}"), ",") {
				if key, _, ok := strings.Cut(k, ":"); ok {
					tags[strings.Trim(key, `"`)] = true
				}
			}
		}
	}
	var buf bytes.Buffer
	w, err := ocibilling.CostReportLayout{}.NewWriter(&buf, exports.Header{Basis: exports.AtCost,
		Columns: exports.Columns{Extras: slices.Sorted(maps.Keys(extras)), TagKeys: slices.Sorted(maps.Keys(tags))}})
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
	out := decodeReport(t, "written", plain.Bytes())
	if len(out) != len(in) {
		t.Fatalf("read back %d rows, wrote %d", len(out), len(in))
	}
	sumIn, sumOut := decimal.Zero, decimal.Zero
	for i := range in {
		a, b := in[i], out[i]
		sumIn, sumOut = sumIn.Add(a.BilledCost.Decimal()), sumOut.Add(b.BilledCost.Decimal())
		if a.SubAccountID != b.SubAccountID || a.ServiceName != b.ServiceName || a.SkuID != b.SkuID ||
			!a.ChargePeriodStart.Equal(b.ChargePeriodStart) || !a.ChargePeriodEnd.Equal(b.ChargePeriodEnd) ||
			a.ChargeClass != b.ChargeClass || a.Tags != b.Tags || !maps.Equal(a.Extras, b.Extras) {
			t.Fatalf("row %d differs:\n wrote %+v\n read  %+v", i+1, a.LineItem, b.LineItem)
		}
	}
	if !sumIn.Equal(sumOut) {
		t.Errorf("cost read back %s, written %s", sumOut, sumIn)
	}
}

package gcpbilling_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/exports"
)

func TestBillingExportLayoutKeepsTheBillWithCreditsAsTheirOwnRows(t *testing.T) {
	f, err := os.Open(filepath.Join(sampleDir, sampleFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var items []exports.Item
	want, credits := decimal.Zero, 0
	err = gcpbilling.DecodeJSONL(context.Background(), sampleFile, zr, func(l *billing.LineItem) error {
		c := *l
		c.Extras = maps.Clone(l.Extras)
		items = append(items, exports.Item{LineItem: c})
		want = want.Add(l.BilledCost.Decimal())
		if l.ChargeCategory == "Credit" {
			credits++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if credits == 0 {
		t.Fatal("the sample has no credits to check")
	}
	var buf bytes.Buffer
	w, err := gcpbilling.BillingExportLayout{}.NewWriter(&buf, exports.Header{Basis: exports.AtCost})
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if err := w.Write(&items[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(gz).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int {
		i := slices.Index(rows[0], name)
		if i < 0 {
			t.Fatalf("no column %s in %v", name, rows[0])
		}
		return i
	}
	cost, cr, month, start := col("cost"), col("credits"), col("invoice.month"), col("usage_start_time")
	got := decimal.Zero
	for _, r := range rows[1:] {
		got = got.Add(decimal.RequireFromString(r[cost]))
		var cs []struct{ Amount string }
		if err := json.Unmarshal([]byte(r[cr]), &cs); err != nil {
			t.Fatalf("credits %q: %v", r[cr], err)
		}
		for _, c := range cs {
			got = got.Add(decimal.RequireFromString(c.Amount))
		}
		if len(r[month]) != 6 || len(r[start]) != len("2026-09-01 00:00:00 UTC") {
			t.Fatalf("row %v", r)
		}
	}
	if len(rows)-1 != len(items) || !got.Equal(want) {
		t.Errorf("%d rows summing cost + credits %s; %d line items summing %s", len(rows)-1, got, len(items), want)
	}
}

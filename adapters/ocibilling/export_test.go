package ocibilling_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/domain/billing"
)

// exportItems writes items through an ExportWriter; resale gives each
// item's resale amount (nil: none).
func exportItems(t *testing.T, items []billing.LineItem, opts ocibilling.ExportOptions, resale func(*billing.LineItem) billing.Number) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ocibilling.NewExportWriter(&buf, opts)
	for i := range items {
		var r billing.Number
		if resale != nil {
			r = resale(&items[i])
		}
		if err := w.Write(&items[i], r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Rows() != len(items) {
		t.Errorf("Rows() = %d, want %d", w.Rows(), len(items))
	}
	return buf.Bytes()
}

// fieldDiffs lists the FOCUS fields in which a and b differ; Tags are
// compared as JSON objects.
func fieldDiffs(a, b *billing.LineItem) []string {
	var out []string
	for _, f := range billing.Fields {
		var x, y string
		switch f.Kind {
		case billing.KindDecimal:
			x, y = string(*f.Num(a)), string(*f.Num(b))
		case billing.KindTime:
			x, y = f.Time(a).Format(time.RFC3339Nano), f.Time(b).Format(time.RFC3339Nano)
		case billing.KindJSON:
			x, y = canonicalJSON(*f.Str(a)), canonicalJSON(*f.Str(b))
		default:
			x, y = *f.Str(a), *f.Str(b)
		}
		if x != y {
			out = append(out, fmt.Sprintf("%s: %q ≠ %q", f.Name, x, y))
		}
	}
	return out
}

func canonicalJSON(s string) string {
	if s == "" {
		return ""
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "invalid: " + s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func decodeSample(t *testing.T, path string) []billing.LineItem {
	t.Helper()
	return decodeCost(t, string(read(t, path)))
}

func decodeFOCUS(t *testing.T, data []byte) []billing.LineItem {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var items []billing.LineItem
	err = ocibilling.DecodeFOCUSReport(context.Background(), "focus.csv", zr, func(l *billing.LineItem) error {
		items = append(items, *l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func sumBilled(items []billing.LineItem) decimal.Decimal {
	var s billing.Sum
	for i := range items {
		s.Add(items[i].BilledCost)
	}
	return s.Decimal()
}

func TestExportReadsBackAsTheSameLineItems(t *testing.T) {
	tests := []struct {
		path  string
		total decimal.Decimal
	}{
		{sampleSep, wantSep},
		{sampleOct, wantOct},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			src := decodeSample(t, tc.path)
			out := exportItems(t, src, ocibilling.ExportOptions{}, nil)
			if !ocibilling.IsCostReportHeader(records(t, out)[0]) {
				t.Fatalf("header %q is not a cost report's", records(t, out)[0])
			}
			back := decodeCost(t, string(out))
			if len(back) != len(src) {
				t.Fatalf("%d rows read back, want %d", len(back), len(src))
			}
			if got := sumBilled(back); !got.Equal(tc.total) {
				t.Errorf("cost/myCost total read back %s, want the independent total %s", got, tc.total)
			}
			for i := range src {
				if diffs := fieldDiffs(&src[i], &back[i]); len(diffs) > 0 {
					t.Fatalf("row %d differs after the round trip:\n%s", i+1, strings.Join(diffs, "\n"))
				}
				if !reflect.DeepEqual(src[i].Extras, back[i].Extras) {
					t.Fatalf("row %d extras read back\n%v\nwant\n%v", i+1, back[i].Extras, src[i].Extras)
				}
			}
		})
	}
}

func TestExportWritesTheSampleInItsOwnLayout(t *testing.T) {
	src := records(t, read(t, sampleOct))
	out := records(t, exportItems(t, decodeSample(t, sampleOct), ocibilling.ExportOptions{}, nil))
	if !reflect.DeepEqual(out[0], src[0]) {
		t.Fatalf("header\n%q\nwant the sample's\n%q", out[0], src[0])
	}
	// Cells come back as written, but for lineItem/isCorrection, which the
	// report spells true or false either way.
	for i := 1; i < len(src); i++ {
		if !reflect.DeepEqual(out[i], src[i]) {
			t.Fatalf("row %d\n%q\nwant\n%q", i, out[i], src[i])
		}
	}
}

func TestExportWritesOCIFOCUSReportItemsIntoCostReportColumns(t *testing.T) {
	items := decodeFOCUS(t, focusReport(t,
		focusRow{start: "2026-09-14T10:00Z", cost: "1.10"},
		focusRow{start: "2026-09-14T11:00Z", cost: "-0.40", backRef: "V2.refA"}))
	rows := records(t, exportItems(t, items, ocibilling.ExportOptions{}, nil))
	got := make(map[string]string)
	for i, h := range rows[0] {
		if rows[2][i] != "" {
			got[h] = rows[2][i]
		}
	}
	want := map[string]string{
		"lineItem/referenceNo": "V2.refB", "lineItem/tenantId": "ocid1.tenancy.oc1..test",
		"lineItem/intervalUsageStart": "2026-09-14T11:00Z", "lineItem/intervalUsageEnd": "2026-09-14T12:00Z",
		"product/service": "BLOCK_STORAGE", "product/compartmentId": "ocid1.compartment.oc1..apps", "product/compartmentName": "apps",
		"product/region": "us-ashburn-1", "product/availabilityDomain": "Lylt:US-ASHBURN-AD-1", "product/resourceId": "ocid1.volume.oc1.iad.abc",
		"usage/billedQuantity": "10", "cost/productSku": "B91961", "product/Description": "Block Volume - Performance",
		"cost/unitPrice": "0.0017", "cost/myCost": "-0.40", "cost/myCostOverage": "-0.40", "cost/currencyCode": "USD",
		"cost/skuUnitDescription": "GB Months", "cost/overageFlag": "N", "lineItem/isCorrection": "true",
		"lineItem/backreferenceNo": "V2.refA", "tags/Oracle-Tags.CreatedBy": "default/ops@example.com", "tags/team": "data",
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s = %q", k, v)
			}
		}
	}
}

func TestExportGivesEveryTagKeyItsColumn(t *testing.T) {
	sep := month("2026-09")
	item := func(tags string) billing.LineItem {
		return billing.LineItem{BillingPeriodStart: sep, BillingPeriodEnd: sep.AddDate(0, 1, 0), ChargePeriodStart: sep,
			ChargePeriodEnd: sep.Add(time.Hour), BillingCurrency: "USD", BilledCost: "1", EffectiveCost: "1", Tags: tags}
	}
	items := []billing.LineItem{
		item(""),
		item(`{"team":"a","env":"prod"}`),
		item(`{"cost-center":42,"env":null,"team":"b, \"c\""}`),
		item(`{"zone":"z"}`),
	}
	rows := records(t, exportItems(t, items, ocibilling.ExportOptions{}, nil))
	tagCols := rows[0][len(rows[0])-4:]
	if want := []string{"tags/cost-center", "tags/env", "tags/team", "tags/zone"}; !reflect.DeepEqual(tagCols, want) {
		t.Fatalf("tag columns %q, want %q", tagCols, want)
	}
	wantCells := [][]string{
		{"", "", "", ""},
		{"", "prod", "a", ""},
		{"42", "", `b, "c"`, ""},
		{"", "", "", "z"},
	}
	for i, want := range wantCells {
		if got := rows[i+1][len(rows[0])-4:]; !reflect.DeepEqual(got, want) {
			t.Errorf("row %d tags %q, want %q", i+1, got, want)
		}
	}
}

func TestExportWithoutRowsWritesTheHeader(t *testing.T) {
	rows := records(t, exportItems(t, nil, ocibilling.ExportOptions{}, nil))
	if len(rows) != 1 || !ocibilling.IsCostReportHeader(rows[0]) {
		t.Fatalf("got %q, want a cost report header alone", rows)
	}
	if ocibilling.ExportFormat != "oci-cost-report" {
		t.Errorf("ExportFormat = %q", ocibilling.ExportFormat)
	}
}

func TestExportLeavesNoSpoolFileBehind(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	w := ocibilling.NewExportWriter(&bytes.Buffer{}, ocibilling.ExportOptions{})
	items := decodeSample(t, sampleOct)
	for i := range items {
		if err := w.Write(&items[i], ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&items[0], ""); err == nil {
		t.Error("Write after Close succeeded")
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("files left in the temporary directory: %v", left)
	}
}

// markup is the test's resale price: cost × 1.1713, exact.
func markup(l *billing.LineItem) billing.Number {
	return billing.Number(l.BilledCost.Decimal().Mul(decimal.RequireFromString("1.1713")).String())
}

// textTokens splits written CSV into the words and numbers it shows.
func textTokens(text []byte) map[string]bool {
	out := make(map[string]bool)
	for _, f := range bytes.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(",\"\n\r\t :;{}[]()", r) }) {
		out[string(f)] = true
	}
	return out
}

func TestExportAtResaleShowsNoCost(t *testing.T) {
	amountExtras := []string{"x_cost_unitPriceOverage", "x_cost_myCostOverage", "oci_UnitPriceOverage", "oci_CostOverage", "oci_AttributedCost"}
	samples := map[string][]billing.LineItem{
		"September cost report": decodeSample(t, sampleSep),
		"October cost report":   decodeSample(t, sampleOct),
		"FOCUS report": decodeFOCUS(t, focusReport(t,
			focusRow{start: "2026-09-14T10:00Z", cost: "1.10"},
			focusRow{start: "2026-09-14T11:00Z", cost: "-0.40", backRef: "V2.refA"})),
	}
	for name, src := range samples {
		t.Run(name, func(t *testing.T) {
			out := exportItems(t, src, ocibilling.ExportOptions{Resale: true}, markup)
			tokens, atCost := textTokens(out), textTokens(exportItems(t, src, ocibilling.ExportOptions{}, nil))
			checked, shownAtCost := 0, 0
			for i := range src {
				l := &src[i]
				vals := []billing.Number{l.BilledCost, l.EffectiveCost, l.ListCost, l.ContractedCost, l.ListUnitPrice, l.ContractedUnitPrice}
				for _, k := range amountExtras {
					vals = append(vals, billing.Number(l.Extras[k]))
				}
				resale := markup(l)
				for _, v := range vals {
					// Zero is every file's quantity and flag text.
					if !v.Valid() || v.Decimal().IsZero() || v.Decimal().Equal(resale.Decimal()) {
						continue
					}
					checked++
					if atCost[string(v)] {
						shownAtCost++
					}
					if tokens[string(v)] {
						t.Fatalf("row %d: the resale file shows the cost value %s", i+1, v)
					}
				}
			}
			if checked == 0 || shownAtCost == 0 {
				t.Fatalf("%d cost values looked for, %d of them found in the at-cost file", checked, shownAtCost)
			}
			t.Logf("%d cost values looked for (%d shown in the at-cost file); none in the resale file", checked, shownAtCost)

			back := decodeCost(t, string(out))
			var want billing.Sum
			for i := range src {
				want.Add(markup(&src[i]))
				if back[i].BilledCost != markup(&src[i]) || back[i].ListUnitPrice.Valid() {
					t.Fatalf("row %d read back at %s with unit price %q, want the resale %s and none", i+1, back[i].BilledCost, back[i].ListUnitPrice, markup(&src[i]))
				}
			}
			if got := sumBilled(back); !got.Equal(want.Decimal()) {
				t.Errorf("resale total read back %s, want %s", got, want.Decimal())
			}
		})
	}
}

func TestExportUnpricedItemsAtResaleShowTheirBilledCost(t *testing.T) {
	src := decodeSample(t, sampleOct)
	back := decodeCost(t, string(exportItems(t, src, ocibilling.ExportOptions{Resale: true}, nil)))
	if got := sumBilled(back); !got.Equal(wantOct) {
		t.Errorf("total %s, want %s", got, wantOct)
	}
}

func TestExportMemoryDoesNotGrowWithRows(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 60,000 rows")
	}
	items := decodeSample(t, sampleOct)
	w := ocibilling.NewExportWriter(discard{}, ocibilling.ExportOptions{})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	write := func(n int) {
		for i := 0; i < n; i++ {
			l := items[i%len(items)]
			l.ResourceID = fmt.Sprintf("ocid1.instance.oc1..r%d", i) // every row different
			if err := w.Write(&l, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(10_000)
	before := heap()
	write(50_000)
	after := heap()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if grew := int64(after) - int64(before); grew > 2<<20 {
		t.Errorf("heap grew by %d bytes over 50,000 rows", grew)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkExportWriter writes the September sample's 2,880 items,
// spooling included.
func BenchmarkExportWriter(b *testing.B) {
	data, err := os.ReadFile(sampleSep)
	if err != nil {
		b.Fatal(err)
	}
	var src []billing.LineItem
	err = ocibilling.DecodeCostReport(context.Background(), "sep.csv", bytes.NewReader(data), func(l *billing.LineItem) error {
		src = append(src, *l)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := ocibilling.NewExportWriter(discard{}, ocibilling.ExportOptions{})
		for i := range src {
			if err := w.Write(&src[i], ""); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/row")
}

func TestExportRejectsTagsThatAreNotAJSONObject(t *testing.T) {
	sep := month("2026-09")
	l := billing.LineItem{BillingPeriodStart: sep, ChargePeriodStart: sep, ChargePeriodEnd: sep.Add(time.Hour),
		BillingCurrency: "USD", BilledCost: "1", EffectiveCost: "1", Tags: `{"team":"a"`}
	w := ocibilling.NewExportWriter(&bytes.Buffer{}, ocibilling.ExportOptions{})
	err := w.Write(&l, "")
	if err == nil || !strings.Contains(err.Error(), "tags of line item 1") {
		t.Errorf("Write = %v, want an error naming the item's tags", err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed Write succeeded")
	}
}

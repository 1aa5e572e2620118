package gcpbilling_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/domain/billing"
)

// sampleItems decodes the sample extract.
func sampleItems(t testing.TB) []billing.LineItem {
	t.Helper()
	f, err := os.Open(filepath.Join(sampleDir, sampleFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var items []billing.LineItem
	err = gcpbilling.DecodeJSONL(context.Background(), sampleFile, zr, func(l *billing.LineItem) error {
		items = append(items, *l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// richRows are export rows using the columns the sample leaves out:
// commitment and several credits, resource and price, tax, an adjustment,
// a multi-region location, a marketplace seller, decimals as strings.
func richRows() string {
	return strings.Join([]string{
		row(map[string]string{
			"resource": `{"name": "vm-1", "global_name": "//compute.googleapis.com/projects/web-123456/zones/us-central1-a/instances/1"}`,
			"price":    `{"effective_price": "0.0219", "list_price": 0.0335, "tier_start_amount": 0, "unit": "hour", "pricing_unit_quantity": 1}`,
			"credits": `[{"name": "Committed use discount: CPU", "amount": -0.0116, "full_name": "", "id": "cud-1", "type": "COMMITTED_USAGE_DISCOUNT"},` +
				` {"name": "Sustained usage discount", "amount": "-0.002", "full_name": "Sustained Usage Discount", "id": "sud", "type": "SUSTAINED_USAGE_DISCOUNT"}]`,
			"cost_at_list":             `0.0335`,
			"currency_conversion_rate": `1`,
			"system_labels":            `[{"key": "compute.googleapis.com/machine_spec", "value": "e2-medium"}]`,
			"project":                  `{"id": "web-123456", "name": "web", "number": "123456", "ancestry_numbers": "/111/222/", "labels": [{"key": "team", "value": "web & ops"}]}`,
		}),
		row(map[string]string{"cost": `"1.25"`, "currency": `"EUR"`, "currency_conversion_rate": `0.92`, "cost_type": `"tax"`,
			"location": `{"location": "eu", "country": "", "region": "", "zone": ""}`, "labels": `[]`, "usage": `{}`}),
		row(map[string]string{"cost": `-0.5`, "cost_type": `"adjustment"`,
			"adjustment_info": `{"id": "adj-1", "description": "Billing correction", "mode": "MANUAL_ADJUSTMENT", "type": "GENERAL_ADJUSTMENT"}`}),
		row(map[string]string{"cost": `12`, "transaction_type": `"THIRD_PARTY_RESELLER"`, "seller_name": `"Acme, Inc."`,
			"location": `{"location": "global"}`, "invoice": `{"month": "202610"}`}),
	}, "\n") + "\n"
}

func exportItems(t *testing.T, items []billing.LineItem, opts gcpbilling.ExportOptions, resale func(*billing.LineItem) billing.Number) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gcpbilling.NewExportWriter(&buf, opts)
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
	if rows := len(csvRows(t, buf.Bytes())); w.Rows() != rows {
		t.Errorf("Rows() = %d, want the %d rows written", w.Rows(), rows)
	}
	return buf.Bytes()
}

// csvRows parses written CSV into maps by column, independently of the
// package.
func csvRows(t *testing.T, data []byte) []map[string]string {
	t.Helper()
	rs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]string, 0, len(rs)-1)
	for _, r := range rs[1:] {
		m := make(map[string]string, len(r))
		for i, h := range rs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

type csvCredit struct {
	Name     string      `json:"name"`
	Amount   json.Number `json:"amount"`
	FullName string      `json:"full_name"`
	ID       string      `json:"id"`
	Type     string      `json:"type"`
}

func credits(t *testing.T, cell string) []csvCredit {
	t.Helper()
	var cs []csvCredit
	d := json.NewDecoder(strings.NewReader(cell))
	d.UseNumber()
	if err := d.Decode(&cs); err != nil {
		t.Fatalf("credits %q: %v", cell, err)
	}
	return cs
}

// netTotals adds cost + Σ credits.amount per "invoice month currency".
func netTotals(t *testing.T, rows []map[string]string) map[string]decimal.Decimal {
	t.Helper()
	out := make(map[string]decimal.Decimal)
	for _, r := range rows {
		k := r["invoice.month"] + " " + r["currency"]
		out[k] = out[k].Add(decimal.RequireFromString(r["cost"]))
		for _, c := range credits(t, r["credits"]) {
			out[k] = out[k].Add(decimal.RequireFromString(c.Amount.String()))
		}
	}
	return out
}

// billedTotals adds BilledCost per "invoice month currency".
func billedTotals(items []billing.LineItem) map[string]decimal.Decimal {
	out := make(map[string]decimal.Decimal)
	for _, l := range items {
		k := l.BillingPeriodStart.Format("200601") + " " + l.BillingCurrency
		out[k] = out[k].Add(l.BilledCost.Decimal())
	}
	return out
}

func equalTotals(a, b map[string]decimal.Decimal) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}

// toJSONL turns written CSV back into export rows as BigQuery's JSON
// extracts hold them: dotted columns nested, the JSON array columns
// inlined, every other value a JSON string, empty cells left out.
func toJSONL(t *testing.T, data []byte) string {
	t.Helper()
	arrays := map[string]bool{"credits": true, "labels": true, "system_labels": true, "project.labels": true}
	var b strings.Builder
	for _, r := range csvRows(t, data) {
		obj := map[string]any{}
		for col, v := range r {
			if v == "" {
				continue
			}
			var val any = v
			if arrays[col] {
				val = json.RawMessage(v)
			}
			path := strings.Split(col, ".")
			m := obj
			for _, p := range path[:len(path)-1] {
				sub, ok := m[p].(map[string]any)
				if !ok {
					sub = map[string]any{}
					m[p] = sub
				}
				m = sub
			}
			m[path[len(path)-1]] = val
		}
		line, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestExportReconcilesWithTheSampleAndReadsBackAsTheSameItems(t *testing.T) {
	src := sampleItems(t)
	out := exportItems(t, src, gcpbilling.ExportOptions{}, nil)
	rows := csvRows(t, out)
	if len(rows) != sampleRows {
		t.Errorf("%d rows written, want the sample's %d (credits folded into their rows)", len(rows), sampleRows)
	}
	want := map[string]decimal.Decimal{
		"202609 USD": decimal.RequireFromString(readmeSeptember),
		"202610 USD": decimal.RequireFromString(readmeOctober),
	}
	if got := netTotals(t, rows); !equalTotals(got, want) {
		t.Errorf("cost + credits per month %v, want the README's %v", got, want)
	}
	first := rows[0]
	cells := map[string]string{
		"billing_account_id": "01A2B3-C4D5E6-F7A8B9", "service.id": "6F81-5844-456A", "service.description": "Compute Engine",
		"sku.id": "CF4E-A0C7-E3BF", "sku.description": "Instance Core running in Americas",
		"usage_start_time": "2026-09-01 00:00:00 UTC", "usage_end_time": "2026-09-01 01:00:00 UTC",
		"project.id": "billing-test-web-123456", "project.name": "billing-test-web",
		"project.labels":    `[{"key":"cost-center","value":"cc-100"},{"key":"team","value":"web"}]`,
		"labels":            `[{"key":"app","value":"web"},{"key":"environment","value":"prod"}]`,
		"location.location": "us-central1", "location.country": "US", "location.region": "us-central1", "location.zone": "",
		"export_time": "2026-09-01 04:42:24 UTC", "cost": "0.0335", "currency": "USD", "currency_conversion_rate": "1",
		"usage.amount": "3055.71048898522", "usage.unit": "seconds", "usage.amount_in_pricing_units": "1", "usage.pricing_unit": "hour",
		"credits":       `[{"name":"FreeTrial","amount":-0.005,"full_name":"","id":"FreeTrial","type":"PROMOTION"}]`,
		"invoice.month": "202609", "cost_type": "regular",
	}
	for col, v := range cells {
		if first[col] != v {
			t.Errorf("row 1 %s = %q, want %q", col, first[col], v)
		}
	}
	back, err := decode(t, toJSONL(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(src) {
		t.Fatalf("%d items read back, want %d", len(back), len(src))
	}
	for i := range src {
		if !reflect.DeepEqual(back[i], src[i]) {
			t.Fatalf("item %d read back as\n%+v\nwant\n%+v", i+1, back[i], src[i])
		}
	}
}

func TestExportReadsBackEveryColumnTheReaderKnows(t *testing.T) {
	src, err := decode(t, richRows())
	if err != nil {
		t.Fatal(err)
	}
	out := exportItems(t, src, gcpbilling.ExportOptions{}, nil)
	rows := csvRows(t, out)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	if got := netTotals(t, rows); !equalTotals(got, billedTotals(src)) {
		t.Errorf("cost + credits %v, want BilledCost totals %v", got, billedTotals(src))
	}
	checks := []struct {
		row       int
		col, want string
	}{
		{0, "credits", `[{"name":"Committed use discount: CPU","amount":-0.0116,"full_name":"","id":"cud-1","type":"COMMITTED_USAGE_DISCOUNT"},` +
			`{"name":"Sustained usage discount","amount":-0.002,"full_name":"Sustained Usage Discount","id":"sud","type":"SUSTAINED_USAGE_DISCOUNT"}]`},
		{0, "price.effective_price", "0.0219"},
		{0, "price.list_price", "0.0335"},
		{0, "cost_at_list", "0.0335"},
		{0, "resource.name", "vm-1"},
		{0, "project.labels", `[{"key":"team","value":"web & ops"}]`},
		{0, "labels", `[{"key":"app","value":"w<e>b"},{"key":"env","value":"prod"}]`},
		{1, "cost_type", "tax"},
		{1, "location.location", "eu"},
		{1, "location.region", ""},
		{1, "currency", "EUR"},
		{2, "adjustment_info.mode", "MANUAL_ADJUSTMENT"},
		{3, "seller_name", "Acme, Inc."},
		{3, "location.region", ""},
		{3, "invoice.month", "202610"},
	}
	for _, c := range checks {
		if got := rows[c.row][c.col]; got != c.want {
			t.Errorf("row %d %s = %q, want %q", c.row+1, c.col, got, c.want)
		}
	}
	back, err := decode(t, toJSONL(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, src) {
		for i := range src {
			if i >= len(back) || !reflect.DeepEqual(back[i], src[i]) {
				t.Fatalf("item %d read back differently:\n%+v\nwant\n%+v", i+1, back, src[i])
			}
		}
		t.Fatalf("%d items read back, want %d", len(back), len(src))
	}
}

func TestExportWritesCreditsApartFromTheirRowsAsRowsOfTheirOwn(t *testing.T) {
	src := sampleItems(t)[:200]
	// Credits first: none follows the item of its row.
	var shuffled []billing.LineItem
	for _, l := range src {
		if l.ChargeCategory == "Credit" {
			shuffled = append(shuffled, l)
		}
	}
	credited := len(shuffled)
	for _, l := range src {
		if l.ChargeCategory != "Credit" {
			shuffled = append(shuffled, l)
		}
	}
	out := exportItems(t, shuffled, gcpbilling.ExportOptions{}, nil)
	rows := csvRows(t, out)
	if len(rows) != len(src) {
		t.Errorf("%d rows, want one per item (%d)", len(rows), len(src))
	}
	for _, r := range rows[:credited] {
		if r["cost"] != "0" || len(credits(t, r["credits"])) != 1 {
			t.Fatalf("a lone credit is written as cost %s, credits %s", r["cost"], r["credits"])
		}
	}
	if got, want := netTotals(t, rows), billedTotals(src); !equalTotals(got, want) {
		t.Errorf("cost + credits %v, want %v", got, want)
	}
}

func TestExportWritesFOCUSItemsIntoTheExportColumns(t *testing.T) {
	sep := september
	base := billing.LineItem{
		BillingPeriodStart: sep, BillingPeriodEnd: sep.AddDate(0, 1, 0),
		ChargePeriodStart: sep.AddDate(0, 0, 2), ChargePeriodEnd: sep.AddDate(0, 0, 3),
		BillingCurrency: "USD", BillingAccountID: "01A2B3-C4D5E6-F7A8B9", ProviderName: "Google Cloud",
		ServiceName: "Cloud Storage", SkuID: "E5F0-6A5D-7BAD", SubAccountID: "data-1", SubAccountName: "Data",
		RegionID: "europe-west1", Tags: `{"env":"prod","n":3}`,
	}
	usage := base
	usage.ChargeCategory, usage.BilledCost, usage.EffectiveCost, usage.ListCost = "Usage", "4.20", "4.20", "5"
	usage.ChargeDescription, usage.ConsumedQuantity, usage.ConsumedUnit = "Standard Storage Belgium", "100", "gibibyte month"
	credit := base
	credit.ChargeCategory, credit.BilledCost, credit.EffectiveCost, credit.ChargeDescription = "Credit", "-1.20", "-1.20", "Free tier"
	tax := base
	tax.ChargeCategory, tax.BilledCost, tax.EffectiveCost = "Tax", "0.63", "0.63"

	rows := csvRows(t, exportItems(t, []billing.LineItem{usage, credit, tax}, gcpbilling.ExportOptions{}, nil))
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3 (a FOCUS credit has no sku.description to join its row by)", len(rows))
	}
	want := []map[string]string{
		{"cost": "4.20", "cost_at_list": "5", "sku.description": "Standard Storage Belgium", "usage.amount": "100", "credits": "[]",
			"cost_type": "regular", "invoice.month": "202609", "location.region": "europe-west1", "service.description": "Cloud Storage",
			"labels": `[{"key":"env","value":"prod"},{"key":"n","value":"3"}]`, "usage_start_time": "2026-09-03 00:00:00 UTC"},
		{"cost": "0", "credits": `[{"name":"Free tier","amount":-1.20,"full_name":"","id":"","type":""}]`, "cost_type": "regular"},
		{"cost": "0.63", "cost_type": "tax", "credits": "[]"},
	}
	for i, w := range want {
		for col, v := range w {
			if rows[i][col] != v {
				t.Errorf("row %d %s = %q, want %q", i+1, col, rows[i][col], v)
			}
		}
	}
}

func TestExportWithoutRowsWritesTheHeader(t *testing.T) {
	out := exportItems(t, nil, gcpbilling.ExportOptions{}, nil)
	rs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0][0] != "billing_account_id" || rs[0][2] != "service.description" {
		t.Fatalf("got %q, want the header alone", rs)
	}
	if gcpbilling.ExportFormat != "gcp-billing-export" {
		t.Errorf("ExportFormat = %q", gcpbilling.ExportFormat)
	}
	w := gcpbilling.NewExportWriter(&bytes.Buffer{}, gcpbilling.ExportOptions{})
	_ = w.Close()
	if err := w.Write(&billing.LineItem{BilledCost: "1"}, ""); err == nil {
		t.Error("Write after Close succeeded")
	}
}

// markup is the test's resale price: cost × 1.1713, exact.
func markup(l *billing.LineItem) billing.Number {
	return billing.Number(l.BilledCost.Decimal().Mul(decimal.RequireFromString("1.1713")).String())
}

// textTokens splits written CSV (with JSON inside cells) into the words
// and numbers it shows.
func textTokens(text []byte) map[string]bool {
	out := make(map[string]bool)
	for _, f := range bytes.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(",\"\n\r\t :;{}[]()", r) }) {
		out[string(f)] = true
	}
	return out
}

func TestExportAtResaleShowsNoCost(t *testing.T) {
	rich, err := decode(t, richRows())
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string][]billing.LineItem{"sample": sampleItems(t), "every column": rich} {
		t.Run(name, func(t *testing.T) {
			out := exportItems(t, src, gcpbilling.ExportOptions{Resale: true}, markup)
			tokens, atCost := textTokens(out), textTokens(exportItems(t, src, gcpbilling.ExportOptions{}, nil))
			checked, shownAtCost := 0, 0
			for i := range src {
				l := &src[i]
				resale := markup(l)
				for _, v := range []billing.Number{l.BilledCost, l.EffectiveCost, l.ListCost, l.ContractedCost, l.ListUnitPrice, l.ContractedUnitPrice} {
					// Zero is every file's quantity and flag text.
					if !v.Valid() || v.Decimal().IsZero() || v.Decimal().Equal(resale.Decimal()) {
						continue
					}
					checked++
					if atCost[string(v)] {
						shownAtCost++
					}
					if tokens[string(v)] {
						t.Fatalf("item %d: the resale file shows the cost value %s", i+1, v)
					}
				}
			}
			if checked == 0 || shownAtCost == 0 {
				t.Fatalf("%d cost values looked for, %d of them found in the at-cost file", checked, shownAtCost)
			}
			t.Logf("%d cost values looked for (%d shown in the at-cost file); none in the resale file", checked, shownAtCost)

			rows := csvRows(t, out)
			for _, r := range rows {
				if r["cost_at_list"] != "" || r["price.effective_price"] != "" || r["price.list_price"] != "" {
					t.Fatalf("list cost or prices written at resale: %q %q %q", r["cost_at_list"], r["price.effective_price"], r["price.list_price"])
				}
			}
			resale := make(map[string]decimal.Decimal)
			for i := range src {
				k := src[i].BillingPeriodStart.Format("200601") + " " + src[i].BillingCurrency
				resale[k] = resale[k].Add(markup(&src[i]).Decimal())
			}
			if got := netTotals(t, rows); !equalTotals(got, resale) {
				t.Errorf("cost + credits at resale %v, want the resale totals %v", got, resale)
			}
		})
	}
}

func TestExportUnpricedItemsAtResaleShowTheirBilledCost(t *testing.T) {
	src := sampleItems(t)
	rows := csvRows(t, exportItems(t, src, gcpbilling.ExportOptions{Resale: true}, nil))
	if got, want := netTotals(t, rows), billedTotals(src); !equalTotals(got, want) {
		t.Errorf("cost + credits %v, want %v", got, want)
	}
}

func TestExportMemoryDoesNotGrowWithRows(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 60,000 items")
	}
	items := sampleItems(t)[:1000]
	w := gcpbilling.NewExportWriter(discard{}, gcpbilling.ExportOptions{})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	write := func(from, n int) {
		for i := from; i < from+n; i++ {
			l := items[i%len(items)]
			l.ResourceID = fmt.Sprintf("//compute.googleapis.com/instances/%d", i/2) // a credit follows its row
			if err := w.Write(&l, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 10_000)
	before := heap()
	write(10_000, 50_000)
	after := heap()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if grew := int64(after) - int64(before); grew > 2<<20 {
		t.Errorf("heap grew by %d bytes over 50,000 items", grew)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkExportWriter writes the sample's 9,504 items (6,336 rows).
func BenchmarkExportWriter(b *testing.B) {
	src := sampleItems(b)
	b.ReportAllocs()
	for b.Loop() {
		w := gcpbilling.NewExportWriter(discard{}, gcpbilling.ExportOptions{})
		for i := range src {
			if err := w.Write(&src[i], ""); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/item")
}

package azurebilling_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/domain/billing"
)

// mcaSample is a cost-details file in the MCA column set: camelCase names,
// a billing profile, prices in a pricing currency other than the billing
// currency with the exchange rate between them, a savings plan purchase
// and its covered usage, a reservation refund, tax and a credit.
const mcaSample = "invoiceId,previousInvoiceId,billingAccountId,billingAccountName,billingProfileId,billingProfileName,invoiceSectionId,invoiceSectionName,resellerName,costCenter,billingPeriodEndDate,billingPeriodStartDate,servicePeriodEndDate,servicePeriodStartDate,date,serviceFamily,productOrderId,productOrderName,consumedService,meterId,meterName,meterCategory,meterSubCategory,meterRegion,ProductId,ProductName,SubscriptionId,subscriptionName,publisherType,publisherId,publisherName,resourceGroupName,ResourceId,resourceLocation,location,effectivePrice,quantity,unitOfMeasure,chargeType,billingCurrency,pricingCurrency,costInBillingCurrency,costInPricingCurrency,costInUsd,paygCostInBillingCurrency,paygCostInUsd,exchangeRatePricingToBilling,exchangeRateDate,isAzureCreditEligible,serviceInfo1,serviceInfo2,additionalInfo,tags,PayGPrice,frequency,term,reservationId,reservationName,pricingModel,unitPrice,benefitId,benefitName\n" +
	`G0001,,ba:1_2019-05-31,Contoso,BP-1,Contoso Profile,IS-1,Engineering,Fabrikam Partner,cc-7,2026-09-30,2026-09-01,2026-09-30,2026-09-01,2026-09-16,Compute,po-1,D2 v3,Microsoft.Compute,m-1,D2 v3,Virtual Machines,Dv3 Series,EU West,DZH318Z0BQ4L,Virtual Machines Dv3 Series,sub-2,Sub Two,Azure,,Microsoft,rg-app,/subscriptions/sub-2/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1,westeurope,EU West,0.1234,24,1 Hour,Usage,EUR,USD,2.7141,2.9822,2.9822,3.2568,3.5787,0.9101,2026-09-01,True,,,"{""vCores"": 2}","{""team"": ""b""}",0.149,UsageBased,,,,OnDemand,0.12425,,` + "\n" +
	`G0001,,ba:1_2019-05-31,Contoso,BP-1,Contoso Profile,IS-1,Engineering,,cc-7,2026-09-30,2026-09-01,,,2026-09-02,Compute,sp-order,Compute savings plan,Microsoft.BillingBenefits,,Savings Plan,Savings Plan,,,SP01,Compute savings plan 3 years,sub-2,Sub Two,Azure,,Microsoft,,/providers/Microsoft.BillingBenefits/savingsPlanOrders/o/savingsPlans/p,,,,1,,Purchase,EUR,EUR,100,100,108.9,,,1,2026-09-01,False,,,,,0,OneTime,36,,,SavingsPlan,100,/providers/Microsoft.BillingBenefits/savingsPlanOrders/o/savingsPlans/p,sp-3y` + "\n" +
	`G0001,,ba:1_2019-05-31,Contoso,BP-1,Contoso Profile,IS-1,Engineering,,cc-7,2026-09-30,2026-09-01,,,2026-09-03,Compute,ri-order,Reserved VM,Microsoft.Capacity,,Reservation,Virtual Machines,,,RI01,Reserved VM Instance,sub-2,Sub Two,Azure,,Microsoft,,/providers/Microsoft.Capacity/reservationOrders/o1/reservations/r1,,,,1,,Refund,EUR,EUR,-40,-40,-43.56,,,1,2026-09-01,False,,,,,0,OneTime,12,/providers/Microsoft.Capacity/reservationOrders/o1/reservations/r1,ri-1,Reservation,-40,,` + "\n" +
	`G0001,,ba:1_2019-05-31,Contoso,BP-1,Contoso Profile,IS-1,Engineering,,cc-7,2026-09-30,2026-09-01,,,2026-09-30,,,,,,,Tax,,,,,sub-2,Sub Two,,,,,,,,,,,Tax,EUR,,7.5,,8.17,,,,,,,,,,,,,,,,,,` + "\n" +
	`G0001,,ba:1_2019-05-31,Contoso,BP-1,Contoso Profile,IS-1,Engineering,,cc-7,2026-09-30,2026-09-01,,,2026-09-30,,,,,,,Azure Credit,,,,,sub-2,Sub Two,,,,,,,,,,,Credit,EUR,,-3,,-3.27,,,,,,,,,,,,,,,,,,` + "\n"

// exportSample is one file the round trip covers.
type exportSample struct {
	name    string
	data    []byte
	dataset azurebilling.Dataset
	total   decimal.Decimal // independent BilledCost total, zero when none
}

func exportSamples(t *testing.T) []exportSample {
	return []exportSample{
		{"nise September (EA/MCA union)", readBytes(t, sepFile), azurebilling.ActualCost, sepTotal},
		{"nise October (EA/MCA union)", readBytes(t, octFile), azurebilling.ActualCost, octTotal},
		{"EA portal, actual cost", readBytes(t, "testdata/portal/ea-actual-cost.csv"), azurebilling.ActualCost, decimal.RequireFromString("8.5450077867419368")},
		{"EA portal, amortized cost", readBytes(t, "testdata/portal/ea-amortized-cost.csv"), azurebilling.AmortizedCost, decimal.Zero},
		{"MCA column set, prices in another currency", []byte(mcaSample), azurebilling.ActualCost, decimal.RequireFromString("67.2141")},
	}
}

// export writes items through an ExportWriter, resale(i) giving each
// item's resale amount.
func export(t *testing.T, items []billing.LineItem, opts azurebilling.ExportOptions, resale func(*billing.LineItem) billing.Number) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := azurebilling.NewExportWriter(&buf, opts)
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

// fieldDiffs lists the FOCUS fields in which a and b differ.
func fieldDiffs(a, b *billing.LineItem) []string {
	var out []string
	for _, f := range billing.Fields {
		var x, y string
		switch f.Kind {
		case billing.KindDecimal:
			x, y = string(*f.Num(a)), string(*f.Num(b))
		case billing.KindTime:
			x, y = f.Time(a).Format(time.RFC3339Nano), f.Time(b).Format(time.RFC3339Nano)
		default:
			x, y = *f.Str(a), *f.Str(b)
		}
		if x != y {
			out = append(out, fmt.Sprintf("%s: %q ≠ %q", f.Name, x, y))
		}
	}
	return out
}

// renamedExtras spells each extra by the written column it belongs to,
// the way a reader of the header would find it.
func renamedExtras(t *testing.T, header []string, extras map[string]string) map[string]string {
	t.Helper()
	col := make(map[string]string, len(header))
	for _, h := range header {
		col[strings.ToLower(h)] = h
	}
	col["resourcegroup"] = "ResourceGroupName"
	col["invoicesection"] = "InvoiceSectionName"
	out := make(map[string]string, len(extras))
	for k, v := range extras {
		name, ok := col[strings.ToLower(strings.TrimPrefix(k, "x_"))]
		if !ok {
			t.Errorf("extra %s has no column in the written file", k)
			continue
		}
		out["x_"+name] = v
	}
	return out
}

func TestExportReadsBackAsTheSameLineItems(t *testing.T) {
	for _, s := range exportSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			src, err := decodeAll(t, "source.csv", s.data, azurebilling.DecodeOptions{Dataset: s.dataset})
			if err != nil {
				t.Fatal(err)
			}
			out := export(t, src, azurebilling.ExportOptions{}, nil)
			back, err := decodeAll(t, "export.csv", out, azurebilling.DecodeOptions{Dataset: azurebilling.ActualCost})
			if err != nil {
				t.Fatal(err)
			}
			if len(back) != len(src) {
				t.Fatalf("%d rows read back, want %d", len(back), len(src))
			}
			if got, want := sumBilled(back), sumBilled(src); !got.Equal(want) {
				t.Errorf("BilledCost total read back %s, want %s", got, want)
			}
			if !s.total.IsZero() && !sumBilled(back).Equal(s.total) {
				t.Errorf("BilledCost total read back %s, want the independent total %s", sumBilled(back), s.total)
			}
			header := records(t, out)[0]
			amortizedCovered := 0
			for i := range src {
				a, b := &src[i], &back[i]
				diffs := fieldDiffs(a, b)
				// An actual-cost file shows commitment-covered usage at its
				// invoice cost: the amortized EffectiveCost has no column.
				if s.dataset == azurebilling.AmortizedCost && a.PricingCategory == "Committed" && a.ChargeCategory == "Usage" &&
					len(diffs) == 1 && strings.HasPrefix(diffs[0], "EffectiveCost:") && b.EffectiveCost == a.BilledCost {
					amortizedCovered++
					continue
				}
				if len(diffs) > 0 {
					t.Fatalf("row %d differs after the round trip:\n%s", i+1, strings.Join(diffs, "\n"))
				}
				if want := renamedExtras(t, header, a.Extras); !equalMaps(b.Extras, want) {
					t.Fatalf("row %d extras read back\n%v\nwant\n%v", i+1, b.Extras, want)
				}
			}
			if s.dataset == azurebilling.AmortizedCost && amortizedCovered == 0 {
				t.Error("the amortized sample has no commitment-covered usage; the exception above is untested")
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestExportKeepsMCAPricesAndExchangeRate(t *testing.T) {
	src, err := decodeAll(t, "mca.csv", []byte(mcaSample), azurebilling.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows := records(t, export(t, src, azurebilling.ExportOptions{}, nil))
	cell := func(row int, column string) string {
		for i, h := range rows[0] {
			if h == column {
				return rows[row][i]
			}
		}
		t.Fatalf("no column %s", column)
		return ""
	}
	checks := []struct{ column, want string }{
		{"CostInBillingCurrency", "2.7141"},
		{"BillingCurrency", "EUR"},
		{"pricingCurrency", "USD"},
		{"PayGPrice", "0.149"},
		{"UnitPrice", "0.12425"},
		{"costInPricingCurrency", "2.9822"},
		{"exchangeRatePricingToBilling", "0.9101"},
		{"paygCostInBillingCurrency", "3.2568"},
		{"costInUsd", "2.9822"},
		{"paygCostInUsd", "3.5787"},
		{"EffectivePrice", "0.1234"},
		{"BillingAccountId", "ba:1_2019-05-31"},
		{"BillingProfileId", ""}, // Decode keeps the billing account when a file has both
		{"resellerName", "Fabrikam Partner"},
		{"ResourceLocation", "West Europe"},
		{"Location", "EU West"},
		{"ChargeType", "Usage"},
		{"PricingModel", "OnDemand"},
		{"Frequency", "UsageBased"},
		{"BillingPeriodStartDate", "2026-09-01"},
		{"BillingPeriodEndDate", "2026-09-30"},
		{"Date", "2026-09-16"},
	}
	for _, c := range checks {
		if got := cell(1, c.column); got != c.want {
			t.Errorf("%s = %q, want %q", c.column, got, c.want)
		}
	}
	if got := cell(2, "PricingModel") + "/" + cell(2, "ChargeType"); got != "SavingsPlan/Purchase" {
		t.Errorf("savings plan purchase written as %s", got)
	}
	if got := cell(3, "ChargeType") + "/" + cell(3, "ReservationId"); got != "Refund//providers/Microsoft.Capacity/reservationOrders/o1/reservations/r1" {
		t.Errorf("reservation refund written as %s", got)
	}
}

func TestExportWritesFOCUSItemsIntoTheNativeColumns(t *testing.T) {
	sep := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	items := []billing.LineItem{{
		BillingPeriodStart: sep, BillingPeriodEnd: sep.AddDate(0, 1, 0),
		ChargePeriodStart: sep.AddDate(0, 0, 4), ChargePeriodEnd: sep.AddDate(0, 0, 5),
		BillingCurrency: "USD", BilledCost: "12.5", EffectiveCost: "12.5", ListCost: "15",
		ListUnitPrice: "0.15", ContractedUnitPrice: "0.125", ConsumedQuantity: "100", ConsumedUnit: "1 Hour",
		BillingAccountID: "BP-9", BillingAccountName: "Profile Nine", BillingAccountType: "Billing Profile",
		ChargeCategory: "Usage", ChargeFrequency: "Usage-Based", ChargeDescription: "D4 v5",
		PricingCategory: "Standard", ProviderName: "Microsoft", PublisherName: "Microsoft", InvoiceIssuerName: "Microsoft",
		RegionID: "eastus2", RegionName: "East US 2", ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web1",
		ResourceName: "web1", ServiceName: "Virtual Machines", ServiceCategory: "Compute", SkuID: "DZH318Z0BQ4L", SkuMeter: "D4 v5",
		SubAccountID: "sub-9", SubAccountName: "Sub Nine", SubAccountType: "Subscription", Tags: `{"env":"prod"}`,
		InvoiceID: "G123",
		Extras:    map[string]string{"x_ResourceGroupName": "rg", "x_SkuMeterId": "meter-9", "x_BilledCostInUsd": "12.5", "x_NotAColumn": "dropped"},
	}}
	out := export(t, items, azurebilling.ExportOptions{}, nil)
	rows := records(t, out)
	got := make(map[string]string)
	for i, h := range rows[0] {
		if rows[1][i] != "" {
			got[h] = rows[1][i]
		}
	}
	want := map[string]string{
		"SubscriptionId": "sub-9", "SubscriptionName": "Sub Nine", "ResourceGroupName": "rg", "ResourceLocation": "East US 2",
		"Date": "2026-09-05", "ProductName": "D4 v5", "MeterCategory": "Virtual Machines", "MeterId": "meter-9", "MeterName": "D4 v5",
		"UnitOfMeasure": "1 Hour", "Quantity": "100", "CostInBillingCurrency": "12.5", "ResourceId": items[0].ResourceID,
		"Tags": `{"env":"prod"}`, "ResourceName": "web1", "UnitPrice": "0.125", "PublisherName": "Microsoft", "ChargeType": "Usage",
		"Frequency": "UsageBased", "PricingModel": "OnDemand", "BillingCurrency": "USD", "BillingPeriodStartDate": "2026-09-01",
		"BillingPeriodEndDate": "2026-09-30", "BillingProfileId": "BP-9", "BillingProfileName": "Profile Nine", "PayGPrice": "0.15",
		"ServiceFamily": "Compute", "invoiceId": "G123", "ProductId": "DZH318Z0BQ4L", "costInUsd": "12.5", "paygCostInBillingCurrency": "15",
	}
	if !equalMaps(got, want) {
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
	back, err := decodeAll(t, "export.csv", out, azurebilling.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// SubAccountType and the rest of the FOCUS row come back as Decode
	// derives them; the columns above are what a FOCUS item maps to.
	if diffs := fieldDiffs(&items[0], &back[0]); len(diffs) > 0 {
		t.Errorf("FOCUS item read back differently:\n%s", strings.Join(diffs, "\n"))
	}
}

func TestExportWithoutRowsWritesTheHeader(t *testing.T) {
	out := export(t, nil, azurebilling.ExportOptions{}, nil)
	rows := records(t, out)
	if len(rows) != 1 || rows[0][0] != "InvoiceSectionName" || !azurebilling.IsCostDetailsHeader(rows[0]) {
		t.Fatalf("got %q, want one cost-details header row", rows)
	}
	w := azurebilling.NewExportWriter(&bytes.Buffer{}, azurebilling.ExportOptions{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&billing.LineItem{BilledCost: "1"}, ""); err == nil {
		t.Error("Write after Close succeeded")
	}
	if azurebilling.ExportFormat != "azure-cost-details" {
		t.Errorf("ExportFormat = %q", azurebilling.ExportFormat)
	}
}

// markup is the test's resale price: cost × 1.1713, exact.
func markup(l *billing.LineItem) billing.Number {
	return billing.Number(l.BilledCost.Decimal().Mul(decimal.RequireFromString("1.1713")).String())
}

// costTexts lists the amounts of an item that a resale file must not show:
// every FOCUS cost and price and every amount extra, where it differs from
// the resale amount. Zero is left out: it is every file's quantity, count
// and flag text and tells nothing about a price.
func costTexts(l *billing.LineItem, resale billing.Number, amountExtras []string) []string {
	vals := []billing.Number{l.BilledCost, l.EffectiveCost, l.ListCost, l.ContractedCost, l.ListUnitPrice, l.ContractedUnitPrice,
		l.PricingCurrencyContractedUnitPrice, l.PricingCurrencyEffectiveCost, l.PricingCurrencyListUnitPrice}
	for _, k := range amountExtras {
		if v, ok := l.Extras[k]; ok {
			vals = append(vals, billing.Number(v))
		}
	}
	var out []string
	for _, v := range vals {
		if !v.Valid() || v.Decimal().IsZero() || v.Decimal().Equal(resale.Decimal()) {
			continue
		}
		out = append(out, string(v))
	}
	return out
}

// textTokens splits written CSV (with JSON inside cells) into the words
// and numbers it shows, cut at delimiters, quotes and white space.
func textTokens(text []byte) map[string]bool {
	out := make(map[string]bool)
	for _, f := range bytes.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(",\"\n\r\t :;{}[]()", r) }) {
		out[string(f)] = true
	}
	return out
}

func TestExportAtResaleShowsNoCost(t *testing.T) {
	amountExtras := []string{"x_EffectivePrice", "x_effectivePrice", "x_costInUsd", "x_paygCostInUsd"}
	for _, s := range exportSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			src, err := decodeAll(t, "source.csv", s.data, azurebilling.DecodeOptions{Dataset: s.dataset})
			if err != nil {
				t.Fatal(err)
			}
			out := export(t, src, azurebilling.ExportOptions{Resale: true}, markup)
			tokens := textTokens(out)
			atCost := textTokens(export(t, src, azurebilling.ExportOptions{}, nil))
			checked, shownAtCost := 0, 0
			for i := range src {
				for _, v := range costTexts(&src[i], markup(&src[i]), amountExtras) {
					checked++
					if atCost[v] {
						shownAtCost++
					}
					if tokens[v] {
						t.Fatalf("row %d: the resale file shows the cost value %s", i+1, v)
					}
				}
			}
			// The search finds the values where they are written: the
			// at-cost file of the same items shows them.
			if checked == 0 || shownAtCost == 0 {
				t.Fatalf("%d cost values looked for, %d of them found in the at-cost file", checked, shownAtCost)
			}
			t.Logf("%d cost values looked for (%d shown in the at-cost file); none in the resale file", checked, shownAtCost)
			back, err := decodeAll(t, "resale.csv", out, azurebilling.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var want billing.Sum
			for i := range src {
				r := markup(&src[i])
				want.Add(r)
				if back[i].BilledCost != r {
					t.Fatalf("row %d: BilledCost read back %s, want the resale %s", i+1, back[i].BilledCost, r)
				}
			}
			if got := sumBilled(back); !got.Equal(want.Decimal()) {
				t.Errorf("resale total read back %s, want %s", got, want.Decimal())
			}
		})
	}
}

func TestExportUnpricedItemsAtResaleShowTheirBilledCost(t *testing.T) {
	src, err := decodeAll(t, "mca.csv", []byte(mcaSample), azurebilling.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := export(t, src, azurebilling.ExportOptions{Resale: true}, nil)
	back, err := decodeAll(t, "resale.csv", out, azurebilling.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range src {
		if back[i].BilledCost != src[i].BilledCost {
			t.Errorf("row %d: %s, want %s", i+1, back[i].BilledCost, src[i].BilledCost)
		}
		if back[i].ListCost.Valid() || back[i].ListUnitPrice.Valid() || back[i].ContractedUnitPrice.Valid() {
			t.Errorf("row %d: list or unit prices written at resale: %s %s %s", i+1, back[i].ListCost, back[i].ListUnitPrice, back[i].ContractedUnitPrice)
		}
	}
}

// BenchmarkExportWriter writes the September sample's 3,000 items, beside
// BenchmarkDecodeCostDetails reading them.
func BenchmarkExportWriter(b *testing.B) {
	var src []billing.LineItem
	data, err := os.ReadFile(sepFile)
	if err != nil {
		b.Fatal(err)
	}
	err = azurebilling.Decode(context.Background(), "sep.csv", bytes.NewReader(data), azurebilling.DecodeOptions{}, func(l *billing.LineItem) error {
		src = append(src, *l)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, resale := range []bool{false, true} {
		b.Run(fmt.Sprintf("resale=%t", resale), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := azurebilling.NewExportWriter(io.Discard, azurebilling.ExportOptions{Resale: resale})
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
		})
	}
}

func TestExportMemoryDoesNotGrowWithRows(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 60,000 rows")
	}
	items, err := decodeAll(t, "oct.csv", readBytes(t, octFile), azurebilling.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := azurebilling.NewExportWriter(io.Discard, azurebilling.ExportOptions{})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	write := func(from, n int) {
		for i := from; i < from+n; i++ {
			l := items[i%len(items)]
			l.ResourceID = fmt.Sprintf("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm%d", i)
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
		t.Errorf("heap grew by %d bytes over 50,000 rows", grew)
	}
}

package azurebilling_test

import (
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/domain/billing"
)

func TestDecodeMapsSampleToFOCUSWithExactAmounts(t *testing.T) {
	data := readBytes(t, sepFile)
	items, err := decodeAll(t, "sep.csv", data, azurebilling.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3000 {
		t.Fatalf("%d items, want 3000", len(items))
	}
	if got := sumBilled(items); !got.Equal(sepTotal) {
		t.Errorf("BilledCost total %s, want %s", got, sepTotal)
	}
	l := items[0]
	checks := []struct{ name, got, want string }{
		{"BilledCost", string(l.BilledCost), "0.22255356620000002"},
		{"EffectiveCost", string(l.EffectiveCost), "0.22255356620000002"},
		{"BillingCurrency", l.BillingCurrency, "USD"},
		{"BillingPeriodStart", l.BillingPeriodStart.Format(time.RFC3339), "2026-09-01T00:00:00Z"},
		{"BillingPeriodEnd", l.BillingPeriodEnd.Format(time.RFC3339), "2026-10-01T00:00:00Z"},
		{"ChargePeriodStart", l.ChargePeriodStart.Format(time.RFC3339), "2026-09-01T00:00:00Z"},
		{"ChargePeriodEnd", l.ChargePeriodEnd.Format(time.RFC3339), "2026-09-02T00:00:00Z"},
		{"ChargeCategory", l.ChargeCategory, "Usage"},
		{"ChargeFrequency", l.ChargeFrequency, "Usage-Based"},
		{"ProviderName", l.ProviderName, "Microsoft"},
		{"PublisherName", l.PublisherName, "Microsoft"},
		{"InvoiceIssuerName", l.InvoiceIssuerName, "Microsoft"},
		{"ServiceName", l.ServiceName, "Bandwidth"},
		{"ServiceCategory", l.ServiceCategory, "Networking"},
		{"RegionId", l.RegionID, "westus2"},
		{"RegionName", l.RegionName, "West US 2"},
		{"SubAccountId", l.SubAccountID, "6e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"},
		{"SubAccountName", l.SubAccountName, "Mclaughlin-Fox_Azure_Subscription"},
		{"BillingAccountId", l.BillingAccountID, "58043196"},
		{"BillingAccountName", l.BillingAccountName, "Mclaughlin-Fox"},
		{"SkuMeter", l.SkuMeter, "Data Transfer Out - Free"},
		{"ResourceName", l.ResourceName, "project"},
		{"ConsumedQuantity", string(l.ConsumedQuantity), "0.70762"},
		{"Tags", l.Tags, `{"environment": "teach-arrive", "version": "level-born", "app": "week-letter"}`},
		{"x_MeterId", l.Extras["x_MeterId"], "ec2532d7-cc0a-404b-9ef3-ac716c3ee6e5"},
		{"x_AdditionalInfo", l.Extras["x_AdditionalInfo"], `{"ConsumptionMeter": "22222222-3333-4444-5555-666666666666"}`},
		{"x_ResourceGroupName", l.Extras["x_ResourceGroupName"], "section"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if _, ok := l.Extras["x_CostInBillingCurrency"]; ok {
		t.Error("mapped column CostInBillingCurrency is also kept as an extra")
	}
	// Marketplace rows keep their publisher.
	var marketplace int
	for _, it := range items {
		if it.PublisherName == "Red Hat Enterprise Linux" {
			marketplace++
		}
	}
	if marketplace != 930 {
		t.Errorf("%d rows published by Red Hat Enterprise Linux, want 930", marketplace)
	}
}

func TestDecodeReadsEveryHeaderVariant(t *testing.T) {
	ea := "InvoiceSectionName,AccountName,AccountOwnerId,SubscriptionId,SubscriptionName,ResourceGroup,ResourceLocation,Date,ProductName,MeterCategory,MeterName,Quantity,EffectivePrice,CostInBillingCurrency,ResourceId,Tags,ChargeType,Frequency,PricingModel,BillingAccountId,BillingAccountName,BillingCurrencyCode,BillingPeriodStartDate,BillingPeriodEndDate\n" +
		`sec,acct,owner@example.com,sub-1,Sub One,rg,EU West,2026-09-15,VM D2,Virtual Machines,D2 v3,24,0.1,2.4000000000000004,/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1,"{""team"": ""a""}",Usage,UsageBased,OnDemand,8611537,Contoso,EUR,2026-09-01,2026-09-30` + "\n"
	mca := "billingAccountId,billingAccountName,billingPeriodStartDate,billingPeriodEndDate,billingProfileId,billingProfileName,invoiceSectionId,subscriptionId,subscriptionName,date,productName,meterCategory,meterName,quantity,costInBillingCurrency,billingCurrency,resourceLocation,resourceId,tags,chargeType,frequency,pricingModel,pricingCurrency,paygCostInBillingCurrency,PayGPrice,unitPrice,exchangeRatePricingToBilling,costInPricingCurrency,benefitId,benefitName\n" +
		`ba:1_2019-05-31,Contoso,2026-09-01,2026-09-30,BP-1,Profile,IS-1,sub-2,Sub Two,2026-09-16,Storage,Storage,LRS,3,1.5,EUR,westeurope,/subscriptions/sub-2/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1,"{""team"": ""b""}",Usage,UsageBased,OnDemand,USD,1.8,0.6,0.5,0.9,1.6666666666666667,,` + "\n"
	payg := "SubscriptionGuid,SubscriptionName,UsageDateTime,MeterCategory,PreTaxCost,Currency,InstanceId,Tags,ResourceLocation\n" +
		`sub-3,Sub Three,09/17/2026,Bandwidth,1.7e-05,USD,/subscriptions/sub-3/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/ip1,"""env"": ""prod"", ""cost-center"": ""42""",US East 2` + "\r\n"
	upper := strings.ToUpper(strings.SplitN(ea, "\n", 2)[0]) + "\n" + strings.SplitN(ea, "\n", 2)[1]

	tests := []struct {
		name, file, data                           string
		billed, currency, day, sub, tags, regionID string
		account                                    string
	}{
		{"EA column names", "ea.csv", ea, "2.4000000000000004", "EUR", "2026-09-15", "sub-1", `{"team": "a"}`, "westeurope", "8611537"},
		{"MCA camelCase names", "mca.csv", mca, "1.5", "EUR", "2026-09-16", "sub-2", `{"team": "b"}`, "westeurope", "ba:1_2019-05-31"},
		{"pay-as-you-go names, US dates, tags without braces, CRLF", "payg.csv", payg, "1.7e-05", "USD", "2026-09-17", "sub-3", `{"env": "prod", "cost-center": "42"}`, "eastus2", ""},
		{"upper-case header", "upper.csv", upper, "2.4000000000000004", "EUR", "2026-09-15", "sub-1", `{"team": "a"}`, "westeurope", "8611537"},
		{"byte-order mark", "bom.csv", "\uFEFF" + ea, "2.4000000000000004", "EUR", "2026-09-15", "sub-1", `{"team": "a"}`, "westeurope", "8611537"},
		{"gzipped", "ea.csv.gz", string(gzipped(t, []byte(ea))), "2.4000000000000004", "EUR", "2026-09-15", "sub-1", `{"team": "a"}`, "westeurope", "8611537"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := decodeAll(t, tc.file, []byte(tc.data), azurebilling.DecodeOptions{Period: sep()})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 {
				t.Fatalf("%d items, want 1", len(items))
			}
			l := items[0]
			got := []string{string(l.BilledCost), l.BillingCurrency, l.ChargePeriodStart.Format(time.DateOnly), l.SubAccountID, l.Tags, l.RegionID, l.BillingAccountID,
				l.BillingPeriodStart.Format(time.DateOnly), l.BillingPeriodEnd.Format(time.DateOnly)}
			want := []string{tc.billed, tc.currency, tc.day, tc.sub, tc.tags, tc.regionID, tc.account, "2026-09-01", "2026-10-01"}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("got %q, want %q (all: %q)", got[i], want[i], got)
				}
			}
		})
	}
}

func TestDecodeConvertsMCAPricesToTheBillingCurrency(t *testing.T) {
	mca := "date,costInBillingCurrency,billingCurrency,pricingCurrency,PayGPrice,unitPrice,exchangeRatePricingToBilling,costInPricingCurrency,paygCostInBillingCurrency\n" +
		"2026-09-16,1.5,EUR,USD,0.6,0.5,0.9,1.6666666666666667,1.8\n"
	items, err := decodeAll(t, "mca.csv", []byte(mca), azurebilling.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := items[0]
	got := []string{string(l.ListUnitPrice), string(l.ContractedUnitPrice), string(l.ListCost), l.PricingCurrency,
		string(l.PricingCurrencyListUnitPrice), string(l.PricingCurrencyContractedUnitPrice), string(l.PricingCurrencyEffectiveCost)}
	want := []string{"0.54", "0.45", "1.8", "USD", "0.6", "0.5", "1.6666666666666667"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %q, want %q", got, want)
			break
		}
	}
}

func TestDecodeClassifiesChargesLikeMicrosoftsFOCUSConversion(t *testing.T) {
	const header = "Date,CostInBillingCurrency,BillingCurrency,ChargeType,PricingModel,Frequency,ReservationId,ReservationName,Quantity,UnitOfMeasure\n"
	ri := "/providers/Microsoft.Capacity/reservationOrders/o1/reservations/r1"
	tests := []struct {
		name                                                  string
		dataset                                               azurebilling.Dataset
		row                                                   string
		category, class, billed, effective, status, frequency string
		pricing, cdType, quantity                             string
	}{
		{"usage on demand", azurebilling.ActualCost, "2026-09-02,5,USD,Usage,OnDemand,UsageBased,,,2,1 Hour", "Usage", "", "5", "5", "", "Usage-Based", "Standard", "", "2"},
		{"spot usage", azurebilling.ActualCost, "2026-09-02,1,USD,Usage,Spot,UsageBased,,,2,1 Hour", "Usage", "", "1", "1", "", "Usage-Based", "Dynamic", "", "2"},
		{"reservation purchase, actual", azurebilling.ActualCost, "2026-09-02,100,USD,Purchase,Reservation,OneTime," + ri + ",ri,1,", "Purchase", "", "100", "0", "", "One-Time", "Committed", "Reservation", ""},
		{"reservation refund, actual", azurebilling.ActualCost, "2026-09-02,-40,USD,Refund,Reservation,OneTime," + ri + ",ri,1,", "Purchase", "Correction", "-40", "0", "", "One-Time", "Committed", "Reservation", ""},
		{"marketplace purchase keeps its effective cost", azurebilling.ActualCost, "2026-09-02,30,USD,Purchase,OnDemand,Recurring,,,1,", "Purchase", "", "30", "30", "", "Recurring", "Standard", "", ""},
		{"covered usage, amortized", azurebilling.AmortizedCost, "2026-09-02,3.2,USD,Usage,Reservation,UsageBased," + ri + ",ri,4,1 Hour", "Usage", "", "0", "3.2", "Used", "Usage-Based", "Committed", "Reservation", "4"},
		{"unused reservation, amortized", azurebilling.AmortizedCost, "2026-09-02,0.8,USD,UnusedReservation,Reservation,UsageBased," + ri + ",ri,1,1 Hour", "Usage", "", "0", "0.8", "Unused", "Usage-Based", "Committed", "Reservation", ""},
		{"savings plan usage, amortized", azurebilling.AmortizedCost, "2026-09-02,2,USD,Usage,SavingsPlan,UsageBased,/providers/Microsoft.BillingBenefits/savingsPlanOrders/o/savingsPlans/p,sp,1,1 Hour", "Usage", "", "0", "2", "Used", "Usage-Based", "Committed", "Savings Plan", "1"},
		{"tax", azurebilling.ActualCost, "2026-09-30,7.5,USD,Tax,,,,,,", "Tax", "", "7.5", "7.5", "", "", "", "", ""},
		{"credit", azurebilling.ActualCost, "2026-09-30,-3,USD,Credit,,,,,,", "Credit", "", "-3", "-3", "", "", "", "", ""},
		{"rounding adjustment", azurebilling.ActualCost, "2026-09-30,0.01,USD,RoundingAdjustment,,,,,,", "Adjustment", "", "0.01", "0.01", "", "", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := decodeAll(t, "x.csv", []byte(header+tc.row+"\n"), azurebilling.DecodeOptions{Dataset: tc.dataset})
			if err != nil {
				t.Fatal(err)
			}
			l := items[0]
			got := []string{l.ChargeCategory, l.ChargeClass, string(l.BilledCost), string(l.EffectiveCost), l.CommitmentDiscountStatus, l.ChargeFrequency, l.PricingCategory, l.CommitmentDiscountType, string(l.ConsumedQuantity)}
			want := []string{tc.category, tc.class, tc.billed, tc.effective, tc.status, tc.frequency, tc.pricing, tc.cdType, tc.quantity}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("got  %q\nwant %q", got, want)
					break
				}
			}
		})
	}
}

func TestDecodeReadsFocusCostExports(t *testing.T) {
	focus := func(header string) string {
		return header + "\n" +
			"1.25,8611537,Contoso,Billing Profile,USD,2026-10-01T00:00:00Z,2026-09-01T00:00:00Z,Usage,,2026-09-03T00:00:00Z,2026-09-02T00:00:00Z,1.1,Microsoft,Microsoft,Virtual Machines,Compute,sub-1,\"{\"\"team\"\":\"\"a\"\"}\",BP-1\n"
	}
	const h10 = "BilledCost,BillingAccountId,BillingAccountName,BillingAccountType,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeClass,ChargePeriodEnd,ChargePeriodStart,EffectiveCost,ProviderName,PublisherName,ServiceName,ServiceCategory,SubAccountId,Tags,x_BillingProfileId"
	tests := []struct{ name, file, data string }{
		{"FocusCost 1.0 CSV", "focus.csv", focus(h10)},
		{"header casing re-saved by a tool, with a BOM", "focus-lower.csv", "\uFEFF" + focus(strings.ToLower(h10))},
		{"1.0-preview column names", "focus-preview.csv", focus(strings.Replace(strings.Replace(h10, "ChargeCategory", "ChargeType", 1), "EffectiveCost", "AmortizedCost", 1))},
		{"gzipped", "focus.csv.gz", string(gzipped(t, []byte(focus(h10))))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := decodeAll(t, tc.file, []byte(tc.data), azurebilling.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 {
				t.Fatalf("%d items", len(items))
			}
			l := items[0]
			got := []string{string(l.BilledCost), string(l.EffectiveCost), l.ChargeCategory, l.ProviderName, l.BillingPeriodStart.Format(time.RFC3339), l.Tags, l.Extras["x_billingprofileid"] + l.Extras["x_BillingProfileId"]}
			want := []string{"1.25", "1.1", "Usage", "Microsoft", "2026-09-01T00:00:00Z", `{"team":"a"}`, "BP-1"}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("got %q, want %q", got, want)
					break
				}
			}
		})
	}
}

func TestDecodeRejectsBadInputNamingFileLineAndColumn(t *testing.T) {
	sample := readBytes(t, sepFile)
	lines := strings.SplitAfter(string(sample), "\n")
	header, row := lines[0], lines[1]
	replaceCol := func(col, value string) string {
		rec := records(t, []byte(header+row))
		for i, h := range rec[0] {
			if h == col {
				rec[1][i] = value
			}
		}
		var b strings.Builder
		for _, r := range rec {
			for i, f := range r {
				if i > 0 {
					b.WriteByte(',')
				}
				if strings.ContainsAny(f, ",\"\n") {
					f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
				}
				b.WriteString(f)
			}
			b.WriteByte('\n')
		}
		return b.String()
	}
	truncatedGzip := gzipped(t, sample)
	truncatedGzip = truncatedGzip[:len(truncatedGzip)/2]
	tests := []struct {
		name, file, data string
		want             []string
	}{
		{"not cost details", "other.csv", "a,b,c\n1,2,3\n", []string{"other.csv: line 1:", "missing column(s) CostInBillingCurrency"}},
		{"empty file", "empty.csv", "", []string{"empty.csv: line 1:", "empty file"}},
		{"unparsable cost", "cost.csv", replaceCol("CostInBillingCurrency", "12,5"), []string{"cost.csv: line 2, column CostInBillingCurrency:", `"12,5" is not a number`}},
		{"empty cost", "nocost.csv", replaceCol("CostInBillingCurrency", ""), []string{"nocost.csv: line 2, column CostInBillingCurrency:", "must not be empty"}},
		{"unparsable date", "date.csv", replaceCol("Date", "31.09.2026"), []string{"date.csv: line 2, column Date:", "not a date"}},
		{"empty currency", "cur.csv", replaceCol("BillingCurrency", ""), []string{"cur.csv: line 2, column BillingCurrency:", "must not be empty"}},
		{"tags not JSON", "tags.csv", replaceCol("Tags", `{"env": prod}`), []string{"tags.csv: line 2, column Tags:", "not a JSON object"}},
		{"billing period ends before it starts", "period.csv", replaceCol("BillingPeriodEndDate", "2026-08-01"), []string{"period.csv: line 2, column BillingPeriodEndDate:", "not after"}},
		{"wrong number of fields", "fields.csv", header + row + "a,b\n", []string{"fields.csv: line 3:", "wrong number of fields"}},
		{"bare quote", "quote.csv", header + strings.Replace(row, "Acevedoton,", `Ace"vedoton,`, 1), []string{"quote.csv: line 2, column", "malformed CSV"}},
		{"broken gzip", "sep.csv.gz", string(truncatedGzip), []string{"sep.csv.gz: line", "broken compressed data"}},
		{"named .gz but plain", "plain.csv.gz", header + row, []string{"plain.csv.gz: line 1:", "not gzip-compressed"}},
		{"named .parquet but not Parquet", "x.parquet", header + row, []string{"x.parquet: line 1:", "not a Parquet file"}},
		{"broken Parquet", "broken.parquet", "PAR1 this is not parquet", []string{"broken.parquet: line 1:", "not a valid Parquet file"}},
		{"FOCUS file with a bad number", "focus.csv", "BilledCost,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,ChargePeriodEnd,ChargePeriodStart,EffectiveCost,ProviderName\nabc,USD,2026-10-01,2026-09-01,2026-09-02,2026-09-01,1,Microsoft\n", []string{"focus.csv: line 2, column BilledCost:", "not a number"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll(t, tc.file, []byte(tc.data), azurebilling.DecodeOptions{})
			if err == nil {
				t.Fatal("decoded without error")
			}
			if billingCode(err) != "invalid" {
				t.Errorf("error code %s, want invalid: %v", billingCode(err), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDecodeReportsRowErrorsOfTheCallerWithTheirLine(t *testing.T) {
	data := firstRows(t, readBytes(t, sepFile), 3)
	n := 0
	err := azurebilling.Decode(t.Context(), "sep.csv", strings.NewReader(string(data)), azurebilling.DecodeOptions{}, func(*billing.LineItem) error {
		if n++; n == 3 {
			return &billing.RowError{Column: "BillingPeriodStart", Message: "belongs elsewhere"}
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "sep.csv: line 4, column BillingPeriodStart: belongs elsewhere") {
		t.Errorf("error %v, want it located at line 4", err)
	}
}

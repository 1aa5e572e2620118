package awsbilling_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// legacyHeader is a legacy CUR header with the columns the mapping reads
// and a few it keeps as extras.
var legacyHeader = []string{
	"identity/LineItemId", "identity/TimeInterval", "bill/BillType", "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate",
	"bill/PayerAccountId", "lineItem/UsageAccountId", "lineItem/LineItemType", "lineItem/UsageStartDate", "lineItem/UsageEndDate",
	"lineItem/ProductCode", "lineItem/UsageType", "lineItem/UsageAmount", "lineItem/CurrencyCode", "lineItem/UnblendedRate",
	"lineItem/UnblendedCost", "lineItem/NetUnblendedCost", "lineItem/LineItemDescription", "lineItem/ResourceId",
	"product/ProductName", "product/regionCode", "product/location", "product/instanceType", "pricing/publicOnDemandCost",
	"pricing/publicOnDemandRate", "pricing/term", "pricing/unit", "reservation/EffectiveCost", "reservation/ReservationARN",
	"reservation/UnusedAmortizedUpfrontFeeForBillingPeriod", "reservation/UnusedRecurringFee",
	"savingsPlan/SavingsPlanARN", "savingsPlan/SavingsPlanEffectiveCost", "savingsPlan/TotalCommitmentToDate",
	"savingsPlan/UsedCommitment", "resourceTags/user:app", "resourceTags/aws:createdBy", "costCategory/team",
}

// legacyRow builds a row from column values; others are empty.
func legacyRow(values map[string]string) []string {
	base := map[string]string{
		"identity/LineItemId": "id1", "identity/TimeInterval": "2026-09-01T00:00:00Z/2026-09-01T01:00:00Z",
		"bill/BillType": "Anniversary", "bill/BillingPeriodStartDate": "2026-09-01T00:00:00Z",
		"bill/BillingPeriodEndDate": "2026-10-01T00:00:00Z", "bill/PayerAccountId": "123456789012",
		"lineItem/UsageAccountId": "210987654321", "lineItem/LineItemType": "Usage",
		"lineItem/UsageStartDate": "2026-09-01 00:00:00+00:00", "lineItem/UsageEndDate": "2026-09-01 01:00:00+00:00",
		"lineItem/ProductCode": "AmazonEC2", "lineItem/UsageAmount": "1", "lineItem/CurrencyCode": "USD",
		"lineItem/UnblendedCost": "0.096", "product/ProductName": "Amazon Elastic Compute Cloud",
		"pricing/term": "OnDemand", "pricing/unit": "Hrs",
	}
	for k, v := range values {
		base[k] = v
	}
	row := make([]string, len(legacyHeader))
	for i, h := range legacyHeader {
		row[i] = base[h]
	}
	return row
}

func decodeAll(t *testing.T, data []byte) ([]billing.LineItem, error) {
	t.Helper()
	var out []billing.LineItem
	err := awsbilling.DecodeCUR(context.Background(), "report.csv.gz", bytes.NewReader(data), func(l *billing.LineItem) error {
		out = append(out, *l)
		return nil
	})
	return out, err
}

func TestDecodeCURMapsLineItemTypesToFOCUS(t *testing.T) {
	tests := []struct {
		name                          string
		values                        map[string]string
		billed, effective             string
		category, class, commitmentID string
	}{
		{"on-demand usage", nil, "0.096", "0.096", "Usage", "", ""},
		{"net unblended wins", map[string]string{"lineItem/NetUnblendedCost": "0.09"}, "0.09", "0.09", "Usage", "", ""},
		{"savings plan covered usage", map[string]string{"lineItem/LineItemType": "SavingsPlanCoveredUsage",
			"savingsPlan/SavingsPlanEffectiveCost": "0.025", "savingsPlan/SavingsPlanARN": "arn:sp"}, "0.096", "0.025", "Usage", "", "arn:sp"},
		{"savings plan cell None", map[string]string{"lineItem/LineItemType": "SavingsPlanCoveredUsage",
			"savingsPlan/SavingsPlanEffectiveCost": "None"}, "0.096", "0.096", "Usage", "", ""},
		{"savings plan negation", map[string]string{"lineItem/LineItemType": "SavingsPlanNegation",
			"lineItem/UnblendedCost": "-0.071", "savingsPlan/SavingsPlanARN": "arn:sp"}, "-0.071", "0", "Usage", "", "arn:sp"},
		{"savings plan recurring fee", map[string]string{"lineItem/LineItemType": "SavingsPlanRecurringFee",
			"lineItem/UnblendedCost": "1.5", "savingsPlan/TotalCommitmentToDate": "1.5", "savingsPlan/UsedCommitment": "1.2"},
			"1.5", "0.3", "Purchase", "", ""},
		{"savings plan upfront fee", map[string]string{"lineItem/LineItemType": "SavingsPlanUpfrontFee",
			"lineItem/UnblendedCost": "8760"}, "8760", "0", "Purchase", "", ""},
		{"reserved instance usage", map[string]string{"lineItem/LineItemType": "DiscountedUsage", "lineItem/UnblendedCost": "0",
			"reservation/EffectiveCost": "0.061", "reservation/ReservationARN": "arn:ri"}, "0", "0.061", "Usage", "", "arn:ri"},
		{"reserved instance fee", map[string]string{"lineItem/LineItemType": "RIFee", "lineItem/UnblendedCost": "44.64",
			"reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "1.25", "reservation/UnusedRecurringFee": "2.5",
			"reservation/ReservationARN": "arn:ri"}, "44.64", "3.75", "Purchase", "", "arn:ri"},
		{"reservation upfront fee", map[string]string{"lineItem/LineItemType": "Fee", "lineItem/UnblendedCost": "500",
			"reservation/ReservationARN": "arn:ri"}, "500", "0", "Purchase", "", ""},
		{"support fee", map[string]string{"lineItem/LineItemType": "Fee", "lineItem/UnblendedCost": "29"}, "29", "29", "Purchase", "", ""},
		{"tax", map[string]string{"lineItem/LineItemType": "Tax", "lineItem/UnblendedCost": "1.7e-05"}, "1.7e-05", "1.7e-05", "Tax", "", ""},
		{"credit", map[string]string{"lineItem/LineItemType": "Credit", "lineItem/UnblendedCost": "-5"}, "-5", "-5", "Credit", "", ""},
		{"refund", map[string]string{"lineItem/LineItemType": "Refund", "lineItem/UnblendedCost": "-2"}, "-2", "-2", "Credit", "Correction", ""},
		{"enterprise discount", map[string]string{"lineItem/LineItemType": "EdpDiscount", "lineItem/UnblendedCost": "-0.003"}, "-0.003", "-0.003", "Usage", "", ""},
		{"unknown type", map[string]string{"lineItem/LineItemType": "SomethingNew", "lineItem/UnblendedCost": "1"}, "1", "1", "Adjustment", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := decodeAll(t, gzipCSV(t, [][]string{legacyHeader, legacyRow(tt.values)}))
			if err != nil {
				t.Fatal(err)
			}
			l := items[0]
			got := []string{string(l.BilledCost), string(l.EffectiveCost), l.ChargeCategory, l.ChargeClass, l.CommitmentDiscountID}
			want := []string{tt.billed, tt.effective, tt.category, tt.class, tt.commitmentID}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("billed|effective|category|class|commitment = %v, want %v", got, want)
			}
			if l.Extras["x_LineItemLineItemType"] == "" {
				t.Errorf("the line item type is not kept in extras: %v", l.Extras)
			}
		})
	}
}

func TestDecodeCURKeepsQuirkyValuesExact(t *testing.T) {
	row := legacyRow(map[string]string{
		"lineItem/LineItemDescription":         "$0.1 per GB-Month, snapshot",
		"lineItem/UnblendedCost":               "1.7e-05",
		"product/regionCode":                   "eu-west-1",
		"product/location":                     "Europe (Ireland)",
		"product/instanceType":                 "m5.large",
		"pricing/publicOnDemandCost":           "0.0000170",
		"resourceTags/user:app":                "web \"blue\"",
		"resourceTags/aws:createdBy":           "IAMUser:x",
		"costCategory/team":                    "platform",
		"savingsPlan/SavingsPlanEffectiveCost": "None",
	})
	items, err := decodeAll(t, gzipCSV(t, [][]string{legacyHeader, row}))
	if err != nil {
		t.Fatal(err)
	}
	l := items[0]
	checks := []struct{ name, got, want string }{
		{"ProviderName", l.ProviderName, "AWS"},
		{"PublisherName", l.PublisherName, "AWS"},
		{"InvoiceIssuerName", l.InvoiceIssuerName, "AWS"},
		{"BilledCost", string(l.BilledCost), "1.7e-05"},
		{"ListCost", string(l.ListCost), "0.0000170"},
		{"ChargePeriodStart", l.ChargePeriodStart.Format(time.RFC3339), "2026-09-01T00:00:00Z"},
		{"BillingPeriodStart", l.BillingPeriodStart.Format(time.RFC3339), "2026-09-01T00:00:00Z"},
		{"ChargeDescription", l.ChargeDescription, "$0.1 per GB-Month, snapshot"},
		{"RegionId", l.RegionID, "eu-west-1"},
		{"RegionName", l.RegionName, "Europe (Ireland)"},
		{"ServiceName", l.ServiceName, "Amazon Elastic Compute Cloud"},
		{"ServiceCategory", l.ServiceCategory, "Compute"},
		{"BillingAccountId", l.BillingAccountID, "123456789012"},
		{"SubAccountId", l.SubAccountID, "210987654321"},
		{"PricingCategory", l.PricingCategory, "Standard"},
		{"ConsumedUnit", l.ConsumedUnit, "Hrs"},
		{"Tags", l.Tags, `{"app":"web \"blue\"","aws:createdBy":"IAMUser:x"}`},
		{"x_CostCategories", l.Extras["x_CostCategories"], `{"team":"platform"}`},
		{"x_ProductInstanceType", l.Extras["x_ProductInstanceType"], "m5.large"},
		{"x_LineItemUsageType absent when empty", l.Extras["x_LineItemUsageType"], ""},
		{"savings plan None dropped", l.Extras["x_SavingsPlanSavingsPlanEffectiveCost"], ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestDecodeCURReadsTheSampleFileExactly(t *testing.T) {
	var sum billing.Sum
	var rows int
	f := readFileBytes(t, "testdata/bucket/"+septemberCSV)
	err := awsbilling.DecodeCUR(context.Background(), septemberCSV, bytes.NewReader(f), func(l *billing.LineItem) error {
		rows++
		sum.Add(l.BilledCost)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows != 4320 || !sum.Decimal().Equal(septemberTotal) {
		t.Errorf("decoded %d rows totalling %s, want 4320 totalling %s", rows, sum.Decimal(), septemberTotal)
	}
}

func TestDecodeCURRejectsBadInputNamingFileLineAndColumn(t *testing.T) {
	good := [][]string{legacyHeader, legacyRow(nil), legacyRow(nil)}
	with := func(values map[string]string) []byte {
		return gzipCSV(t, [][]string{legacyHeader, legacyRow(nil), legacyRow(values)})
	}
	full := gzipCSV(t, good)
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty file", gzipCSV(t, nil), []string{"report.csv.gz: line 1", "empty file"}},
		{"not gzip though named .gz", []byte("a,b\n1,2\n"), []string{"line 1", "not gzip-compressed"}},
		{"zip archive", []byte("PK\x03\x04rest"), []string{"report.csv.gz: line 1", "ZIP-compressed"}},
		{"truncated gzip", full[:len(full)/2], []string{"report.csv.gz: line ", "cannot read"}},
		{"missing columns", gzipCSV(t, [][]string{{"lineItem/UnblendedCost", "x"}, {"1", "2"}}), []string{"line 1", "missing column(s)", "bill_billing_period_start_date"}},
		{"duplicate column", gzipCSV(t, [][]string{append(legacyHeader, "lineItem/UnblendedCost")}), []string{"line 1", "column lineItem/UnblendedCost", "twice"}},
		{"a FOCUS file", gzipCSV(t, [][]string{{"BilledCost", "EffectiveCost"}}), []string{"line 1", "FOCUS file"}},
		{"wrong field count", gzipCSV(t, [][]string{legacyHeader, legacyRow(nil), {"a", "b"}}), []string{"line 3", "wrong number of fields"}},
		{"bad number", with(map[string]string{"lineItem/UnblendedCost": "12,5"}), []string{"line 3", "column lineItem/UnblendedCost", `"12,5" is not a number`}},
		{"empty cost", with(map[string]string{"lineItem/UnblendedCost": ""}), []string{"line 3", "column lineItem/UnblendedCost", "must not be empty"}},
		{"bad list cost", with(map[string]string{"pricing/publicOnDemandCost": "n/a"}), []string{"line 3", "column pricing/publicOnDemandCost"}},
		{"bad date", with(map[string]string{"lineItem/UsageStartDate": "01/09/2026"}), []string{"line 3", "column lineItem/UsageStartDate", "not a date-time"}},
		{"bad billing period", with(map[string]string{"bill/BillingPeriodStartDate": "2026-13-01T00:00:00Z"}), []string{"line 3", "column bill/BillingPeriodStartDate"}},
		{"no currency", with(map[string]string{"lineItem/CurrencyCode": ""}), []string{"line 3", "column lineItem/CurrencyCode", "must not be empty"}},
		{"no line item type", with(map[string]string{"lineItem/LineItemType": ""}), []string{"line 3", "column lineItem/LineItemType"}},
		{"invalid UTF-8", with(map[string]string{"lineItem/LineItemDescription": "caf\xe9"}), []string{"line 3", "column lineItem/LineItemDescription", "UTF-8"}},
		// A stray quote inside an unquoted field, which csv.Writer never writes.
		{"bad quoting", gzipBytes(t, strings.Join(legacyHeader, ",")+"\r\n"+`x"y`+strings.Repeat(",", len(legacyHeader)-1)+"\r\n"),
			[]string{"line 2", "malformed CSV"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(t, tt.data)
			if err == nil {
				t.Fatal("decoded without error")
			}
			if domain.ErrorCode(err) != domain.Invalid {
				t.Errorf("error code %s, want invalid: %v", domain.ErrorCode(err), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDecodeCURLocatesRowsTheCallerRejects(t *testing.T) {
	data := gzipCSV(t, [][]string{legacyHeader, legacyRow(nil), legacyRow(nil)})
	n := 0
	err := awsbilling.DecodeCUR(context.Background(), "r.csv.gz", bytes.NewReader(data), func(*billing.LineItem) error {
		if n++; n == 2 {
			return &billing.RowError{Column: "BillingPeriodStart", Message: "belongs to another period"}
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "r.csv.gz: line 3, column BillingPeriodStart: belongs to another period") {
		t.Errorf("got %v", err)
	}
}

func TestDecodeCURSumsAreExactDecimals(t *testing.T) {
	rows := [][]string{legacyHeader}
	for _, v := range []string{"0.1", "0.2", "1e-20", "-0.3"} {
		rows = append(rows, legacyRow(map[string]string{"lineItem/UnblendedCost": v}))
	}
	items, err := decodeAll(t, gzipCSV(t, rows))
	if err != nil {
		t.Fatal(err)
	}
	var sum billing.Sum
	for _, l := range items {
		sum.Add(l.BilledCost)
	}
	if want := decimal.RequireFromString("0.00000000000000000001"); !sum.Decimal().Equal(want) {
		t.Errorf("sum %s, want %s", sum.Decimal(), want)
	}
}

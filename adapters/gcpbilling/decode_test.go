package gcpbilling_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

func decode(t *testing.T, jsonl string) ([]billing.LineItem, error) {
	t.Helper()
	var items []billing.LineItem
	err := gcpbilling.DecodeJSONL(context.Background(), "extract.jsonl", strings.NewReader(jsonl), func(l *billing.LineItem) error {
		items = append(items, *l)
		return nil
	})
	return items, err
}

// row builds an export row as JSON, replacing `"KEY": …` defaults by the
// given fields (raw JSON text).
func row(fields map[string]string) string {
	def := []struct{ k, v string }{
		{"billing_account_id", `"01A2B3-C4D5E6-F7A8B9"`},
		{"service", `{"id": "6F81-5844-456A", "description": "Compute Engine"}`},
		{"sku", `{"id": "CF4E-A0C7-E3BF", "description": "Instance Core running in Americas"}`},
		{"usage_start_time", `"2026-09-01T00:00:00"`},
		{"usage_end_time", `"2026-09-01T01:00:00"`},
		{"project", `{"id": "web-123456", "name": "web", "number": "123456", "labels": [{"key": "team", "value": "web"}]}`},
		{"labels", `[{"key": "env", "value": "prod"}, {"key": "app", "value": "w<e>b"}]`},
		{"system_labels", `[]`},
		{"location", `{"location": "us-central1", "country": "US", "region": "us-central1", "zone": "us-central1-a"}`},
		{"export_time", `"2026-09-01T04:42:24"`},
		{"cost", `0.0335`},
		{"currency", `"USD"`},
		{"usage", `{"amount": 3600, "unit": "seconds", "amount_in_pricing_units": 1, "pricing_unit": "hour"}`},
		{"credits", `[]`},
		{"invoice", `{"month": "202609"}`},
		{"cost_type", `"regular"`},
	}
	var parts []string
	for _, d := range def {
		v, ok := fields[d.k]
		if !ok {
			v = d.v
		}
		if v != "-" {
			parts = append(parts, `"`+d.k+`": `+v)
		}
	}
	for k, v := range fields {
		if !strings.Contains(strings.Join(parts, ","), `"`+k+`":`) && v != "-" {
			parts = append(parts, `"`+k+`": `+v)
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func TestUsageRowMapsToFOCUS(t *testing.T) {
	items, err := decode(t, row(map[string]string{"resource": `{"name": "disk-1", "global_name": "//compute.googleapis.com/disk-1"}`})+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("got %d items, want 1", len(items))
	}
	l := items[0]
	checks := []struct{ name, got, want string }{
		{"BilledCost", l.BilledCost.String(), "0.0335"},
		{"EffectiveCost", l.EffectiveCost.String(), "0.0335"},
		{"ChargeCategory", l.ChargeCategory, "Usage"},
		{"ChargeFrequency", l.ChargeFrequency, "Usage-Based"},
		{"ProviderName", l.ProviderName, "Google Cloud"},
		{"PublisherName", l.PublisherName, "Google Cloud"},
		{"InvoiceIssuerName", l.InvoiceIssuerName, "Google Cloud"},
		{"ServiceName", l.ServiceName, "Compute Engine"},
		{"ServiceCategory", l.ServiceCategory, "Compute"},
		{"SkuId", l.SkuID, "CF4E-A0C7-E3BF"},
		{"ChargeDescription", l.ChargeDescription, "Instance Core running in Americas"},
		{"BillingAccountId", l.BillingAccountID, "01A2B3-C4D5E6-F7A8B9"},
		{"SubAccountId", l.SubAccountID, "web-123456"},
		{"SubAccountName", l.SubAccountName, "web"},
		{"RegionId", l.RegionID, "us-central1"},
		{"AvailabilityZone", l.AvailabilityZone, "us-central1-a"},
		{"ResourceId", l.ResourceID, "//compute.googleapis.com/disk-1"},
		{"ResourceName", l.ResourceName, "disk-1"},
		{"ConsumedQuantity", l.ConsumedQuantity.String(), "3600"},
		{"ConsumedUnit", l.ConsumedUnit, "seconds"},
		{"PricingQuantity", l.PricingQuantity.String(), "1"},
		{"PricingUnit", l.PricingUnit, "hour"},
		{"Tags", l.Tags, `{"app":"w<e>b","env":"prod"}`},
		{"x_ServiceId", l.Extras["x_ServiceId"], "6F81-5844-456A"},
		{"x_ProjectLabels", l.Extras["x_ProjectLabels"], `{"team":"web"}`},
		{"x_ProjectNumber", l.Extras["x_ProjectNumber"], "123456"},
		{"x_InvoiceMonth", l.Extras["x_InvoiceMonth"], "202609"},
		{"x_ExportTime", l.Extras["x_ExportTime"], "2026-09-01T04:42:24Z"},
		{"BillingPeriodStart", l.BillingPeriodStart.Format(time.RFC3339), "2026-09-01T00:00:00Z"},
		{"BillingPeriodEnd", l.BillingPeriodEnd.Format(time.RFC3339), "2026-10-01T00:00:00Z"},
		{"ChargePeriodStart", l.ChargePeriodStart.Format(time.RFC3339), "2026-09-01T00:00:00Z"},
		{"ChargePeriodEnd", l.ChargePeriodEnd.Format(time.RFC3339), "2026-09-01T01:00:00Z"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestCreditsBecomeCreditRowsThatNetToCostPlusCredits(t *testing.T) {
	credits := `[{"name": "FreeTrial", "amount": -0.005, "full_name": "Free trial credit", "id": "FreeTrial", "type": "PROMOTION"}, ` +
		`{"name": "Committed Usage Discount: CPU", "amount": -0.02, "full_name": "", "id": "CommittedUsageDiscount:CPU", "type": "COMMITTED_USAGE_DISCOUNT"}]`
	items, err := decode(t, row(map[string]string{"credits": credits}))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("got %d items, want the usage row and one row per credit", len(items))
	}
	want := []struct {
		category, billed, effective, description, creditType, commitmentCategory string
	}{
		{"Usage", "0.0335", "0.0135", "Instance Core running in Americas", "", "Usage"},
		{"Credit", "-0.005", "-0.005", "Free trial credit", "PROMOTION", ""},
		{"Credit", "-0.02", "0", "Committed Usage Discount: CPU", "COMMITTED_USAGE_DISCOUNT", "Usage"},
	}
	var billed, effective decimal.Decimal
	for i, w := range want {
		l := items[i]
		if l.ChargeCategory != w.category || l.BilledCost.String() != w.billed || l.EffectiveCost.String() != w.effective ||
			l.ChargeDescription != w.description || l.Extras["x_CreditType"] != w.creditType || l.CommitmentDiscountCategory != w.commitmentCategory {
			t.Errorf("item %d: got %s billed %s effective %s %q type %q commitment %q, want %+v", i, l.ChargeCategory, l.BilledCost,
				l.EffectiveCost, l.ChargeDescription, l.Extras["x_CreditType"], l.CommitmentDiscountCategory, w)
		}
		if l.ChargeCategory == "Credit" && (l.ConsumedQuantity.Valid() || l.PricingQuantity.Valid()) {
			t.Errorf("item %d: a credit row carries quantities %s/%s", i, l.ConsumedQuantity, l.PricingQuantity)
		}
		if l.Tags != items[0].Tags || l.SubAccountID != "web-123456" || !l.BillingPeriodStart.Equal(september) {
			t.Errorf("item %d does not share the usage row's tags, project and period", i)
		}
		billed = billed.Add(l.BilledCost.Decimal())
		effective = effective.Add(l.EffectiveCost.Decimal())
	}
	net := dec("0.0335").Add(dec("-0.005")).Add(dec("-0.02"))
	if !billed.Equal(net) || !effective.Equal(net) {
		t.Errorf("BilledCost sums to %s and EffectiveCost to %s, want cost + Σ credits = %s", billed, effective, net)
	}
	if items[0].CommitmentDiscountID != "CommittedUsageDiscount:CPU" || items[0].CommitmentDiscountStatus != "Used" {
		t.Errorf("usage row commitment %q status %q", items[0].CommitmentDiscountID, items[0].CommitmentDiscountStatus)
	}
	items[1].Extras["x_mark"] = "1"
	if _, shared := items[2].Extras["x_mark"]; shared {
		t.Error("line items share one Extras map")
	}
}

func TestCostTypeChoosesChargeCategory(t *testing.T) {
	tests := []struct{ costType, category, class string }{
		{`"regular"`, "Usage", ""},
		{`"tax"`, "Tax", ""},
		{`"adjustment"`, "Adjustment", "Correction"},
		{`"rounding_error"`, "Adjustment", ""},
		{`"-"`, "Usage", ""}, // absent in old exports
	}
	for _, tt := range tests {
		fields := map[string]string{"cost_type": tt.costType}
		if tt.costType == `"-"` {
			fields["cost_type"] = "-"
		}
		items, err := decode(t, row(fields))
		if err != nil {
			t.Fatalf("%s: %v", tt.costType, err)
		}
		if l := items[0]; l.ChargeCategory != tt.category || l.ChargeClass != tt.class {
			t.Errorf("cost_type %s: got %s/%s, want %s/%s", tt.costType, l.ChargeCategory, l.ChargeClass, tt.category, tt.class)
		}
		if tt.category != "Usage" && items[0].ConsumedQuantity.Valid() {
			t.Errorf("cost_type %s: a %s row carries ConsumedQuantity", tt.costType, tt.category)
		}
	}
}

func TestExtractVariantsDecodeExactly(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]string
		cost   string
		start  string
	}{
		{"float text kept as written", map[string]string{"cost": `0.0055555555999999996`}, "0.0055555555999999996", "2026-09-01T00:00:00Z"},
		{"NUMERIC written as a JSON string", map[string]string{"cost": `"12.345678901"`}, "12.345678901", "2026-09-01T00:00:00Z"},
		{"scientific notation", map[string]string{"cost": `1.7e-05`}, "1.7e-05", "2026-09-01T00:00:00Z"},
		{"bq extract timestamps", map[string]string{"usage_start_time": `"2026-09-01 02:00:00 UTC"`}, "0.0335", "2026-09-01T02:00:00Z"},
		{"RFC 3339 timestamps", map[string]string{"usage_start_time": `"2026-09-01T03:00:00Z"`}, "0.0335", "2026-09-01T03:00:00Z"},
		{"invoice month as a number", map[string]string{"invoice": `{"month": 202609}`}, "0.0335", "2026-09-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := decode(t, "\uFEFF"+row(tt.fields)+"\r\n\r\n")
			if err != nil {
				t.Fatal(err)
			}
			if got := items[0].BilledCost.String(); got != tt.cost {
				t.Errorf("BilledCost %q, want %q", got, tt.cost)
			}
			if got := items[0].ChargePeriodStart.Format(time.RFC3339); got != tt.start {
				t.Errorf("ChargePeriodStart %s, want %s", got, tt.start)
			}
		})
	}
}

func TestBadInputNamesFileLineAndColumn(t *testing.T) {
	good := row(nil)
	tests := []struct {
		name string
		line string
		want string
	}{
		{"bad JSON", `{"billing_account_id": "x", "cost": 0.1,,}`, "extract.jsonl: line 2, column 41: malformed JSON"},
		{"truncated JSON", `{"billing_account_id": "x"`, "extract.jsonl: line 2"},
		{"not an object", `[1, 2]`, "extract.jsonl: line 2: expected a JSON object"},
		{"missing invoice", row(map[string]string{"invoice": "-"}), "extract.jsonl: line 2, column invoice.month: missing"},
		{"malformed invoice month", row(map[string]string{"invoice": `{"month": "2026-09"}`}), "line 2, column invoice.month: \"2026-09\" is not an invoice month"},
		{"unparsable cost", row(map[string]string{"cost": `"12,50"`}), "extract.jsonl: line 2, column cost: \"12,50\" is not a number"},
		{"cost of the wrong type", row(map[string]string{"cost": `{"units": 1}`}), "line 2, column cost: {\"units\": 1} is not a number"},
		{"missing cost", row(map[string]string{"cost": "-"}), "line 2, column cost: missing"},
		{"unparsable credit", row(map[string]string{"credits": `[{"amount": "n/a", "type": "PROMOTION"}]`}), "line 2, column credits[0].amount: \"n/a\" is not a number"},
		{"unparsable time", row(map[string]string{"usage_end_time": `"yesterday"`}), "line 2, column usage_end_time: \"yesterday\" is not a date-time"},
		{"string field of the wrong type", row(map[string]string{"service": `{"id": 7}`}), "line 2, column service.id: expected a string"},
		{"unknown cost type", row(map[string]string{"cost_type": `"bonus"`}), "line 2, column cost_type: \"bonus\" is not a known cost type"},
		{"missing currency", row(map[string]string{"currency": "-"}), "line 2, column currency: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, good+"\n"+tt.line+"\n"+good+"\n")
			if err == nil {
				t.Fatal("decoded without error")
			}
			if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v (code %s), want an invalid-input error containing %q", err, domain.ErrorCode(err), tt.want)
			}
		})
	}
}

func TestInvoicePeriodIsTheUTCMonthStart(t *testing.T) {
	tests := []struct {
		month string
		want  time.Time
		ok    bool
	}{
		{"202609", september, true},
		{"202612", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"202613", time.Time{}, false},
		{"2026-09", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := gcpbilling.InvoicePeriod(tt.month)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("InvoicePeriod(%q) = %s, %v; want %s, ok=%v", tt.month, got, err, tt.want, tt.ok)
		}
	}
}

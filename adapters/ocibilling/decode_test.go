package ocibilling_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/domain/billing"
)

func decodeCost(t *testing.T, text string) []billing.LineItem {
	t.Helper()
	var items []billing.LineItem
	err := ocibilling.DecodeCostReport(context.Background(), "report.csv", strings.NewReader(text), func(l *billing.LineItem) error {
		items = append(items, *l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func TestDecodeCostReportMapsOCIColumnsToFOCUS(t *testing.T) {
	// The sample's header and its last September row (a correction whose
	// hour ends on the month boundary), with CRLF line ends as in the file.
	lines := strings.Split(string(read(t, sampleSep)), "\r\n")
	last := lines[len(lines)-2]
	items := decodeCost(t, "\uFEFF"+lines[0]+"\r\n"+last+"\r\n")
	if len(items) != 1 {
		t.Fatalf("got %d items, want 1", len(items))
	}
	l := items[0]
	for _, c := range []struct{ field, got, want string }{
		{"BilledCost", l.BilledCost.String(), "0.3226"},
		{"EffectiveCost", l.EffectiveCost.String(), "0.3226"},
		{"ListUnitPrice", l.ListUnitPrice.String(), "0.3226"},
		{"ContractedUnitPrice", l.ContractedUnitPrice.String(), "0.3226"},
		{"ConsumedQuantity", l.ConsumedQuantity.String(), "1"},
		{"PricingQuantity", l.PricingQuantity.String(), "1"},
		{"BillingCurrency", l.BillingCurrency, "USD"},
		{"BillingPeriodStart", l.BillingPeriodStart.Format(time.RFC3339), "2026-09-01T00:00:00Z"},
		{"BillingPeriodEnd", l.BillingPeriodEnd.Format(time.RFC3339), "2026-10-01T00:00:00Z"},
		{"ChargePeriodStart", l.ChargePeriodStart.Format(time.RFC3339), "2026-09-30T23:00:00Z"},
		{"ChargePeriodEnd", l.ChargePeriodEnd.Format(time.RFC3339), "2026-10-01T00:00:00Z"},
		{"ChargeCategory", l.ChargeCategory, "Usage"},
		{"ChargeClass", l.ChargeClass, "Correction"},
		{"ChargeDescription", l.ChargeDescription, "DBaaS - Attached Block Storage Volume"},
		{"ServiceName", l.ServiceName, "DATABASE"},
		{"ServiceCategory", l.ServiceCategory, "Databases"},
		{"RegionId", l.RegionID, "sa-saopaulo-1"},
		{"AvailabilityZone", l.AvailabilityZone, "zjFr:SA-SAOPAULO-1-AD-1"},
		{"SubAccountId", l.SubAccountID, "ocid1.tenancy.oc1..aaaabillingtesttenancy01"},
		{"SubAccountName", l.SubAccountName, "billingtest"},
		{"BillingAccountId", l.BillingAccountID, "ocid1.tenancy.oc1..aaaabillingtesttenancy01"},
		{"ResourceId", l.ResourceID, "ocid1.database.oci.iad.sa-saopaulo-1.GAYHgwmVHChReez"},
		{"SkuId", l.SkuID, "B53362"},
		{"PricingUnit", l.PricingUnit, "GB Months"},
		{"ProviderName", l.ProviderName, "Oracle"},
		{"PublisherName", l.PublisherName, "Oracle"},
		{"InvoiceIssuerName", l.InvoiceIssuerName, "Oracle"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	var tags map[string]string
	if err := json.Unmarshal([]byte(l.Tags), &tags); err != nil {
		t.Fatalf("Tags %q: %v", l.Tags, err)
	}
	wantTags := map[string]string{"Oracle-Tags.CreatedBy": "default/billingtest@yahoo.com", "free-form-tag": "db", "new-tags.tarnished-tags": "deal"}
	if !reflect.DeepEqual(tags, wantTags) {
		t.Errorf("Tags = %v, want %v (empty tag cells left out)", tags, wantTags)
	}
	wantExtras := map[string]string{
		"x_lineItem_referenceNo":     "V2.NiALubGjiPMlpCr+KbRvoPGnBxgeBx==",
		"x_lineItem_backreferenceNo": "V2.NiALubGjiPMlpCr+nbADeOdyOCM==",
		"x_cost_subscriptionId":      "12345678",
		"x_cost_unitPriceOverage":    "0.3226",
		"x_cost_myCostOverage":       "0.3226",
		"x_cost_billingUnitReadable": "ONE GiB HOURS",
		"x_cost_overageFlag":         "N",
	}
	if !reflect.DeepEqual(l.Extras, wantExtras) {
		t.Errorf("Extras = %v,\nwant %v", l.Extras, wantExtras)
	}
}

func TestDecodeCostReportAcceptsHeaderVariants(t *testing.T) {
	// OCI's documentation spells columns in varying case; numbers may be in
	// scientific notation; the correction flag may be upper-case.
	text := "lineItem/TenantId,lineItem/intervalUsageStart,lineItem/intervalUsageEnd,cost/MyCost,cost/currencyCode,lineItem/iscorrection,cost/unitPrice,Tags/team\n" +
		"ocid1.tenancy.oc1..t,2026-09-01T00:00:00Z,2026-09-01T01:00:00Z,1.7e-05,EUR,TRUE,3.49e-05,\"a \"\"b\"\"\"\n" +
		"ocid1.tenancy.oc1..t,2026-09-01T01:00Z,2026-09-01T02:00Z,-0.25,EUR,,,\n"
	items := decodeCost(t, text)
	if len(items) != 2 {
		t.Fatalf("got %d items, want 2", len(items))
	}
	if items[0].BilledCost != "1.7e-05" || items[0].ChargeClass != "Correction" || items[0].BillingCurrency != "EUR" {
		t.Errorf("row 1: cost %s class %q currency %s", items[0].BilledCost, items[0].ChargeClass, items[0].BillingCurrency)
	}
	if items[0].Tags != `{"team":"a \"b\""}` {
		t.Errorf("row 1 tags %s", items[0].Tags)
	}
	if items[1].BilledCost != "-0.25" || items[1].ChargeClass != "" || items[1].Tags != "" || items[1].ListUnitPrice.Valid() {
		t.Errorf("row 2: cost %s class %q tags %q unit price %q", items[1].BilledCost, items[1].ChargeClass, items[1].Tags, items[1].ListUnitPrice)
	}
}

func TestDecodeFOCUSReportReadsOCIPreviewColumnsAndExtras(t *testing.T) {
	data := focusReport(t,
		focusRow{start: "2026-09-14T10:00Z", cost: "1.10"},
		focusRow{start: "2026-09-14T11:00Z", cost: "-0.40", backRef: "V2.refA"})
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var items []billing.LineItem
	err = ocibilling.DecodeFOCUSReport(context.Background(), "FOCUS Reports/2026/09/14/r.csv.gz", zr, func(l *billing.LineItem) error {
		items = append(items, *l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("got %d items, want 2", len(items))
	}
	l := items[0]
	if l.ProviderName != "Oracle" || l.PublisherName != "Oracle" || l.InvoiceIssuerName != "Oracle" || l.RegionID != "us-ashburn-1" ||
		l.ConsumedQuantity != "10" || l.ConsumedUnit != "GB Months" || l.ResourceName != "data, volume" {
		t.Errorf("preview columns not read as FOCUS 1.2: %+v", l)
	}
	if l.Extras["oci_CompartmentName"] != "apps" || l.Extras["oci_ReferenceNumber"] != "V2.refA" || l.Extras["ChargeSubcategory"] != "On-Demand" {
		t.Errorf("extras %v, want the oci_* columns and ChargeSubcategory", l.Extras)
	}
	if l.ChargeClass != "" || items[1].ChargeClass != "Correction" {
		t.Errorf("charge classes %q, %q; want a Correction only for the row with oci_BackReferenceNumber", l.ChargeClass, items[1].ChargeClass)
	}
	if !l.BillingPeriodStart.Equal(month("2026-09")) || items[1].BilledCost != "-0.40" {
		t.Errorf("billing period %s, cost %s", l.BillingPeriodStart, items[1].BilledCost)
	}
}

package azurebilling

import (
	"encoding/csv"
	"io"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/domain/exports"
)

// CostDetailsLayout writes exports as Azure's cost details (actual cost)
// CSV, the Microsoft Customer Agreement column set, gzip-compressed:
//
//	PREFIX/[CUSTOMER/]azure-cost-details/yyyymmdd-yyyymmdd/ASSEMBLY/part_N.csv.gz
//	PREFIX/[CUSTOMER/]azure-cost-details/yyyymmdd-yyyymmdd/manifest.json
//
// Line items read from cost details carry the columns the mapping does not
// read as x_ extras; they are written back under their own names.
type CostDetailsLayout struct{}

var _ exports.Layout = CostDetailsLayout{}

// Name is exports.LayoutAzureCostDetails.
func (CostDetailsLayout) Name() string { return exports.LayoutAzureCostDetails }

// Paths names one write's files.
func (CostDetailsLayout) Paths(t exports.Target) exports.Paths {
	return exports.FolderPaths(t, "azure-cost-details", "part_")
}

// Manifest is the manifest's JSON.
func (CostDetailsLayout) Manifest(m exports.Manifest) ([]byte, error) { return exports.ManifestJSON(m) }

type azOut struct {
	name string
	get  func(it *exports.Item) string
}

func azDate(t time.Time) string { return t.UTC().Format("01/02/2006") }

// chargeType is the cost-details ChargeType of a FOCUS row.
func chargeType(it *exports.Item) string {
	switch it.ChargeCategory {
	case "Usage":
		if it.CommitmentDiscountStatus == "Unused" {
			if it.CommitmentDiscountType == "Savings Plan" {
				return "UnusedSavingsPlan"
			}
			return "UnusedReservation"
		}
		return "Usage"
	case "Purchase":
		if it.ChargeClass == "Correction" {
			return "Refund"
		}
		return "Purchase"
	case "Credit", "Tax":
		return it.ChargeCategory
	}
	return "Adjustment"
}

func pricingModel(it *exports.Item) string {
	switch {
	case it.CommitmentDiscountType == "Savings Plan":
		return "SavingsPlan"
	case it.CommitmentDiscountType == "Reservation":
		return "Reservation"
	case it.PricingCategory == "Dynamic":
		return "Spot"
	}
	return "OnDemand"
}

func frequency(it *exports.Item) string {
	switch it.ChargeFrequency {
	case "One-Time":
		return "OneTime"
	case "Recurring":
		return "Recurring"
	}
	return "UsageBased"
}

// costColumns are written for every row; the resale ones leave out the
// unit prices and pay-as-you-go amounts that would tell the cost.
var costColumns = []struct {
	azOut
	amount bool
}{
	{azOut{"BillingAccountId", func(it *exports.Item) string { return it.BillingAccountID }}, false},
	{azOut{"BillingAccountName", func(it *exports.Item) string { return it.BillingAccountName }}, false},
	{azOut{"BillingPeriodStartDate", func(it *exports.Item) string { return azDate(it.BillingPeriodStart) }}, false},
	{azOut{"BillingPeriodEndDate", func(it *exports.Item) string { return azDate(it.BillingPeriodEnd.AddDate(0, 0, -1)) }}, false},
	{azOut{"SubscriptionId", func(it *exports.Item) string { return it.SubAccountID }}, false},
	{azOut{"SubscriptionName", func(it *exports.Item) string { return it.SubAccountName }}, false},
	{azOut{"Date", func(it *exports.Item) string { return azDate(it.ChargePeriodStart) }}, false},
	{azOut{"ProductName", func(it *exports.Item) string { return it.ChargeDescription }}, false},
	{azOut{"ProductId", func(it *exports.Item) string { return it.SkuID }}, false},
	{azOut{"MeterName", func(it *exports.Item) string { return it.SkuMeter }}, false},
	{azOut{"ServiceName", func(it *exports.Item) string { return it.ServiceName }}, false},
	{azOut{"ResourceLocation", func(it *exports.Item) string { return it.RegionID }}, false},
	{azOut{"AvailabilityZone", func(it *exports.Item) string { return it.AvailabilityZone }}, false},
	{azOut{"ResourceId", func(it *exports.Item) string { return it.ResourceID }}, false},
	{azOut{"ResourceName", func(it *exports.Item) string { return it.ResourceName }}, false},
	{azOut{"ResourceType", func(it *exports.Item) string { return it.ResourceType }}, false},
	{azOut{"Quantity", func(it *exports.Item) string { return string(it.ConsumedQuantity) }}, false},
	{azOut{"UnitOfMeasure", func(it *exports.Item) string { return it.ConsumedUnit }}, false},
	{azOut{"UnitPrice", func(it *exports.Item) string { return string(it.ContractedUnitPrice) }}, true},
	{azOut{"PayGPrice", func(it *exports.Item) string { return string(it.ListUnitPrice) }}, true},
	{azOut{"CostInBillingCurrency", func(it *exports.Item) string { return string(it.BilledCost) }}, false},
	{azOut{"PaygCostInBillingCurrency", func(it *exports.Item) string { return string(it.ListCost) }}, true},
	{azOut{"BillingCurrencyCode", func(it *exports.Item) string { return it.BillingCurrency }}, false},
	{azOut{"ChargeType", chargeType}, false},
	{azOut{"Frequency", frequency}, false},
	{azOut{"PricingModel", pricingModel}, false},
	{azOut{"BenefitId", func(it *exports.Item) string { return it.CommitmentDiscountID }}, false},
	{azOut{"BenefitName", func(it *exports.Item) string { return it.CommitmentDiscountName }}, false},
	{azOut{"InvoiceId", func(it *exports.Item) string { return it.InvoiceID }}, false},
	{azOut{"PublisherName", func(it *exports.Item) string { return it.PublisherName }}, false},
	{azOut{"Tags", func(it *exports.Item) string { return it.Tags }}, false},
}

// NewWriter starts a cost-details data file: gzip, then the header row.
func (CostDetailsLayout) NewWriter(w io.Writer, h exports.Header) (exports.RowWriter, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	cw := &costWriter{zw: zw, csv: csv.NewWriter(zw)}
	written := map[string]bool{}
	for _, c := range costColumns {
		if c.amount && h.Basis == exports.AtResale {
			continue
		}
		cw.cols = append(cw.cols, c.azOut)
		written[strings.ToLower(c.name)] = true
	}
	for _, k := range h.Columns.Extras {
		name, ok := strings.CutPrefix(k, "x_")
		if !ok || written[strings.ToLower(name)] {
			continue
		}
		written[strings.ToLower(name)] = true
		key := k
		cw.cols = append(cw.cols, azOut{name, func(it *exports.Item) string { return it.Extras[key] }})
	}
	header := make([]string, len(cw.cols))
	for i, c := range cw.cols {
		header[i] = c.name
	}
	cw.rec = make([]string, len(cw.cols))
	return cw, cw.csv.Write(header)
}

type costWriter struct {
	zw   *gzip.Writer
	csv  *csv.Writer
	cols []azOut
	rec  []string
}

func (w *costWriter) Write(it *exports.Item) error {
	for i, c := range w.cols {
		w.rec[i] = c.get(it)
	}
	return w.csv.Write(w.rec)
}

func (w *costWriter) Close() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	return w.zw.Close()
}

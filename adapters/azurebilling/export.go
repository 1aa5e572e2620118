package azurebilling

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/truecost/truecost/domain/billing"
)

// ExportFormat names the layout ExportWriter writes.
const ExportFormat = "azure-cost-details"

// exportColumns is the cost-details layout ExportWriter writes: the actual
// cost (invoice view) column set that Cost Management's EA and MCA exports
// share since dataset version 2021-10-01, in the order the EA export writes
// it, with the MCA columns (billing profile, pricing currency, exchange
// rate, USD and pay-as-you-go amounts) after it. Columns a contract type
// does not use stay empty, as in Microsoft's own files.
var exportColumns = []string{
	"InvoiceSectionName", "AccountName", "AccountOwnerId", "SubscriptionId", "SubscriptionName",
	"ResourceGroupName", "ResourceLocation", "Date", "ProductName", "MeterCategory",
	"MeterSubCategory", "MeterId", "MeterName", "MeterRegion", "UnitOfMeasure",
	"Quantity", "EffectivePrice", "CostInBillingCurrency", "CostCenter", "ConsumedService",
	"ResourceId", "Tags", "OfferId", "AdditionalInfo", "ServiceInfo1",
	"ServiceInfo2", "ResourceName", "ReservationId", "ReservationName", "UnitPrice",
	"ProductOrderId", "ProductOrderName", "Term", "PublisherType", "PublisherName",
	"ChargeType", "Frequency", "PricingModel", "AvailabilityZone", "BillingAccountId",
	"BillingCurrency", "BillingAccountName", "BillingPeriodStartDate", "BillingPeriodEndDate", "BillingProfileId",
	"BillingProfileName", "InvoiceSectionId", "IsAzureCreditEligible", "PartNumber", "PayGPrice",
	"PlanName", "ServiceFamily", "CostAllocationRuleName", "benefitId", "benefitName",
	"invoiceId", "previousInvoiceId", "resellerName", "resellerMpnId", "servicePeriodEndDate",
	"servicePeriodStartDate", "ProductId", "publisherId", "Location", "pricingCurrency",
	"costInPricingCurrency", "costInUsd", "paygCostInBillingCurrency", "paygCostInUsd", "exchangeRatePricingToBilling",
	"exchangeRateDate",
}

// exportAliases maps other names of a column, lower-cased, to the column
// they fill: EA portal names (ResourceGroup, InvoiceSection) and the x_*
// columns of Microsoft's FocusCost dataset.
var exportAliases = map[string]string{
	"resourcegroup":       "ResourceGroupName",
	"invoicesection":      "InvoiceSectionName",
	"skumetercategory":    "MeterCategory",
	"skumetersubcategory": "MeterSubCategory",
	"skumeterid":          "MeterId",
	"skupartnumber":       "PartNumber",
	"skuofferid":          "OfferId",
	"skuterm":             "Term",
	"effectiveunitprice":  "EffectivePrice",
	"billedcostinusd":     "costInUsd",
}

// Column positions ExportWriter fills from FOCUS fields.
var (
	ecAccountName          = exportColumn("AccountName")
	ecAccountOwnerID       = exportColumn("AccountOwnerId")
	ecSubscriptionID       = exportColumn("SubscriptionId")
	ecSubscriptionName     = exportColumn("SubscriptionName")
	ecResourceLocation     = exportColumn("ResourceLocation")
	ecDate                 = exportColumn("Date")
	ecProductName          = exportColumn("ProductName")
	ecMeterCategory        = exportColumn("MeterCategory")
	ecMeterName            = exportColumn("MeterName")
	ecUnitOfMeasure        = exportColumn("UnitOfMeasure")
	ecQuantity             = exportColumn("Quantity")
	ecEffectivePrice       = exportColumn("EffectivePrice")
	ecCost                 = exportColumn("CostInBillingCurrency")
	ecResourceID           = exportColumn("ResourceId")
	ecTags                 = exportColumn("Tags")
	ecResourceName         = exportColumn("ResourceName")
	ecReservationID        = exportColumn("ReservationId")
	ecReservationName      = exportColumn("ReservationName")
	ecUnitPrice            = exportColumn("UnitPrice")
	ecPublisherName        = exportColumn("PublisherName")
	ecChargeType           = exportColumn("ChargeType")
	ecFrequency            = exportColumn("Frequency")
	ecPricingModel         = exportColumn("PricingModel")
	ecAvailabilityZone     = exportColumn("AvailabilityZone")
	ecBillingAccountID     = exportColumn("BillingAccountId")
	ecBillingCurrency      = exportColumn("BillingCurrency")
	ecBillingAccountName   = exportColumn("BillingAccountName")
	ecPeriodStart          = exportColumn("BillingPeriodStartDate")
	ecPeriodEnd            = exportColumn("BillingPeriodEndDate")
	ecBillingProfileID     = exportColumn("BillingProfileId")
	ecBillingProfileName   = exportColumn("BillingProfileName")
	ecPayGPrice            = exportColumn("PayGPrice")
	ecServiceFamily        = exportColumn("ServiceFamily")
	ecBenefitID            = exportColumn("benefitId")
	ecBenefitName          = exportColumn("benefitName")
	ecInvoiceID            = exportColumn("invoiceId")
	ecResellerName         = exportColumn("resellerName")
	ecProductID            = exportColumn("ProductId")
	ecPricingCurrency      = exportColumn("pricingCurrency")
	ecCostInPricing        = exportColumn("costInPricingCurrency")
	ecCostInUSD            = exportColumn("costInUsd")
	ecPayGCost             = exportColumn("paygCostInBillingCurrency")
	ecPayGCostInUSD        = exportColumn("paygCostInUsd")
	ecExchangeRate         = exportColumn("exchangeRatePricingToBilling")
	exportAmountColumns    = []int{ecEffectivePrice, ecCost, ecUnitPrice, ecPayGPrice, ecCostInPricing, ecCostInUSD, ecPayGCost, ecPayGCostInUSD, ecExchangeRate}
	exportExtraIndex       = newExportExtraIndex()
	exportIsAmount         = newExportIsAmount()
	exportFamilyByCategory = map[string]string{
		"AI and Machine Learning":   "AI + Machine Learning",
		"Analytics":                 "Analytics",
		"Compute":                   "Compute",
		"Databases":                 "Databases",
		"Developer Tools":           "Developer Tools",
		"Identity":                  "Identity",
		"Integration":               "Integration",
		"Internet of Things":        "Internet of Things",
		"Management and Governance": "Management and Governance",
		"Networking":                "Networking",
		"Security":                  "Security",
		"Storage":                   "Storage",
		"Web":                       "Web",
	}
)

func exportColumn(name string) int {
	for i, c := range exportColumns {
		if c == name {
			return i
		}
	}
	panic("azurebilling: no export column " + name)
}

// newExportExtraIndex maps each column's name, as written and lower-cased,
// and its aliases to its position, for finding an extra's column.
func newExportExtraIndex() map[string]int {
	m := make(map[string]int, 3*len(exportColumns))
	for i, c := range exportColumns {
		m[c] = i
		m[strings.ToLower(c)] = i
	}
	for alias, c := range exportAliases {
		m[alias] = exportColumn(c)
	}
	return m
}

func newExportIsAmount() []bool {
	is := make([]bool, len(exportColumns))
	for _, i := range exportAmountColumns {
		is[i] = true
	}
	return is
}

// ExportOptions says how ExportWriter prices the file.
type ExportOptions struct {
	// Resale writes a pro forma bill: the resale amount in every cost
	// column and no cost anywhere (see ExportWriter).
	Resale bool
}

// ExportWriter writes line items as an Azure cost-details CSV: the actual
// cost (invoice view) layout of EA and MCA exports (exportColumns), one row
// per line item, which Decode reads back as the same FOCUS line items.
//
// FOCUS fields go back to the columns Decode reads them from: BilledCost
// to CostInBillingCurrency, ListCost to paygCostInBillingCurrency, the
// pricing-currency prices and cost to PayGPrice, UnitPrice and
// costInPricingCurrency (with the exchange rate recovered from the
// billing-currency prices), ChargeCategory, ChargeClass and the commitment
// columns to ChargeType and PricingModel, the billing account to
// BillingAccountId, BillingProfileId or AccountOwnerId as its
// BillingAccountType says, RegionName to ResourceLocation, ServiceName to
// MeterCategory, ServiceCategory to ServiceFamily, the charge day to Date.
// The native columns Decode keeps as x_<Name> extras (MeterId,
// ResourceGroupName, AdditionalInfo, …) are written back under their own
// names, matched without regard to case; extras naming no column of the
// layout are left out. Line items from FOCUS files have few extras and
// fill only the columns their FOCUS fields map to.
//
// What the layout cannot hold: amortized costs (an actual-cost file shows
// commitment-covered usage at the cost the invoice shows, so the
// EffectiveCost of such rows from an amortized export reads back as their
// BilledCost), charge periods shorter than a day, and native columns that
// Decode folds into FOCUS fields without keeping them (ConsumedService,
// the ServiceFamily as written, a billing profile beside a billing
// account).
//
// Resale mode writes the resale amount to CostInBillingCurrency, to
// costInUsd when the billing currency is USD and to costInPricingCurrency
// when the pricing currency is the billing currency; it leaves empty the
// pay-as-you-go amounts (paygCostInBillingCurrency, paygCostInUsd), every
// unit price (EffectivePrice, UnitPrice, PayGPrice), the exchange rate
// (derived from the cost prices) and those USD and pricing-currency
// amounts otherwise, and writes no x_* extra into any of these columns.
//
// Memory does not grow with the file: each row is written as it comes.
// Write is not safe for concurrent use.
type ExportWriter struct {
	csv      *csv.Writer
	opts     ExportOptions
	rec      []string
	rows     int
	wroteHdr bool
	closed   bool
	err      error
}

// NewExportWriter writes an Azure cost-details CSV, header first, to w.
func NewExportWriter(w io.Writer, opts ExportOptions) *ExportWriter {
	return &ExportWriter{csv: csv.NewWriter(w), opts: opts, rec: make([]string, len(exportColumns))}
}

func (e *ExportWriter) header() error {
	if !e.wroteHdr {
		e.wroteHdr = true
		if err := e.csv.Write(exportColumns); err != nil {
			e.err = err
		}
	}
	return e.err
}

// Write writes one line item. resale is its resale amount; empty means
// not priced, which is its BilledCost. It returns the writer's error, and
// keeps returning it once one happened.
func (e *ExportWriter) Write(l *billing.LineItem, resale billing.Number) error {
	if e.closed {
		return errors.New("azure cost-details export: write after close")
	}
	if err := e.header(); err != nil {
		return err
	}
	if !resale.Valid() {
		resale = l.BilledCost
	}
	clear(e.rec)
	e.fill(l, resale)
	if err := e.csv.Write(e.rec); err != nil {
		e.err = err
		return err
	}
	e.rows++
	return nil
}

// Close writes the header if no row was written and flushes. It does not
// close the underlying writer.
func (e *ExportWriter) Close() error {
	e.closed = true
	if err := e.header(); err != nil {
		return err
	}
	e.csv.Flush()
	if err := e.csv.Error(); err != nil {
		e.err = err
	}
	return e.err
}

// Rows reports how many line items were written.
func (e *ExportWriter) Rows() int { return e.rows }

func exportDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// fill maps one line item onto the record.
func (e *ExportWriter) fill(l *billing.LineItem, resale billing.Number) {
	r := e.rec
	r[ecSubscriptionID], r[ecSubscriptionName] = l.SubAccountID, l.SubAccountName
	if l.RegionName != "" {
		r[ecResourceLocation] = l.RegionName
	} else {
		r[ecResourceLocation] = l.RegionID
	}
	r[ecDate] = exportDate(l.ChargePeriodStart)
	r[ecProductName] = l.ChargeDescription
	r[ecMeterCategory] = l.ServiceName
	r[ecServiceFamily] = exportFamilyByCategory[l.ServiceCategory]
	r[ecMeterName] = l.SkuMeter
	r[ecQuantity], r[ecUnitOfMeasure] = string(l.ConsumedQuantity), l.ConsumedUnit
	if r[ecQuantity] == "" {
		r[ecQuantity], r[ecUnitOfMeasure] = string(l.PricingQuantity), l.PricingUnit
	}
	r[ecResourceID], r[ecResourceName] = l.ResourceID, l.ResourceName
	r[ecTags] = l.Tags
	r[ecAvailabilityZone] = l.AvailabilityZone
	r[ecBillingCurrency] = l.BillingCurrency
	r[ecPeriodStart] = exportDate(l.BillingPeriodStart)
	if !l.BillingPeriodEnd.IsZero() {
		// The column holds the period's last day.
		r[ecPeriodEnd] = exportDate(l.BillingPeriodEnd.AddDate(0, 0, -1))
	}
	r[ecInvoiceID] = l.InvoiceID
	r[ecProductID] = l.SkuID
	r[ecPublisherName] = l.PublisherName
	if l.InvoiceIssuerName != "" && l.InvoiceIssuerName != "Microsoft" {
		r[ecResellerName] = l.InvoiceIssuerName
	}
	switch l.BillingAccountType {
	case "Billing Profile":
		r[ecBillingProfileID], r[ecBillingProfileName] = l.BillingAccountID, l.BillingAccountName
	case "":
		r[ecAccountOwnerID], r[ecAccountName] = l.BillingAccountID, l.BillingAccountName
	default:
		r[ecBillingAccountID], r[ecBillingAccountName] = l.BillingAccountID, l.BillingAccountName
	}
	r[ecChargeType] = chargeType(l)
	r[ecFrequency] = frequency(l.ChargeFrequency)
	r[ecPricingModel] = pricingModel(l)
	if l.CommitmentDiscountID != "" {
		r[ecBenefitID], r[ecBenefitName] = l.CommitmentDiscountID, l.CommitmentDiscountName
		if l.CommitmentDiscountType == "Reservation" {
			r[ecReservationID], r[ecReservationName] = l.CommitmentDiscountID, l.CommitmentDiscountName
		}
	}
	r[ecPricingCurrency] = l.PricingCurrency
	if e.opts.Resale {
		e.fillResale(l, resale)
	} else {
		e.fillCost(l)
	}
	e.fillExtras(l)
}

// fillCost writes the amounts at cost.
func (e *ExportWriter) fillCost(l *billing.LineItem) {
	r := e.rec
	r[ecCost] = string(l.BilledCost)
	r[ecPayGCost] = string(l.ListCost)
	if l.PricingCurrency == "" {
		r[ecPayGPrice], r[ecUnitPrice] = string(l.ListUnitPrice), string(l.ContractedUnitPrice)
		return
	}
	r[ecPayGPrice], r[ecUnitPrice] = string(l.PricingCurrencyListUnitPrice), string(l.PricingCurrencyContractedUnitPrice)
	r[ecCostInPricing] = string(l.PricingCurrencyEffectiveCost)
	if !strings.EqualFold(l.PricingCurrency, l.BillingCurrency) {
		r[ecExchangeRate] = exchangeRate(l)
	}
}

// fillResale writes the amounts of a pro forma bill.
func (e *ExportWriter) fillResale(l *billing.LineItem, resale billing.Number) {
	r := e.rec
	r[ecCost] = string(resale)
	if strings.EqualFold(l.BillingCurrency, "USD") {
		r[ecCostInUSD] = string(resale)
	}
	if l.PricingCurrency != "" && strings.EqualFold(l.PricingCurrency, l.BillingCurrency) {
		r[ecCostInPricing] = string(resale)
	}
}

// fillExtras writes the line item's x_* extras into the columns they
// name, where the FOCUS fields left the column empty; resale mode writes
// none into an amount column.
func (e *ExportWriter) fillExtras(l *billing.LineItem) {
	for k, v := range l.Extras {
		if len(k) < 3 || k[:2] != "x_" || v == "" {
			continue
		}
		name := k[2:]
		i, ok := exportExtraIndex[name]
		if !ok {
			if i, ok = exportExtraIndex[strings.ToLower(name)]; !ok {
				continue
			}
		}
		if e.rec[i] != "" || (e.opts.Resale && exportIsAmount[i]) {
			continue
		}
		e.rec[i] = v
	}
}

// exchangeRate recovers the pricing-to-billing exchange rate Decode
// multiplied the pricing-currency prices by, when the division is exact.
func exchangeRate(l *billing.LineItem) string {
	pairs := [][2]billing.Number{
		{l.ListUnitPrice, l.PricingCurrencyListUnitPrice},
		{l.ContractedUnitPrice, l.PricingCurrencyContractedUnitPrice},
	}
	for _, p := range pairs {
		if !p[0].Valid() || !p[1].Valid() {
			continue
		}
		billed, priced := p[0].Decimal(), p[1].Decimal()
		if priced.IsZero() {
			continue
		}
		rate := billed.DivRound(priced, 40)
		if rate.Mul(priced).Equal(billed) {
			return rate.String()
		}
	}
	return ""
}

// chargeType is the ChargeType Decode reads back as the item's
// ChargeCategory, ChargeClass and commitment status.
func chargeType(l *billing.LineItem) string {
	switch l.ChargeCategory {
	case "Usage":
		if l.CommitmentDiscountStatus == "Unused" {
			if l.CommitmentDiscountType == "Savings Plan" {
				return "UnusedSavingsPlan"
			}
			return "UnusedReservation"
		}
		return "Usage"
	case "Purchase":
		if l.ChargeClass == "Correction" {
			return "Refund"
		}
		return "Purchase"
	case "Credit":
		return "Credit"
	case "Tax":
		return "Tax"
	case "":
		return ""
	}
	return "Adjustment"
}

func frequency(f string) string {
	switch f {
	case "One-Time":
		return "OneTime"
	case "Recurring":
		return "Recurring"
	case "Usage-Based":
		return "UsageBased"
	case "":
		return ""
	}
	return "Other"
}

// pricingModel is the PricingModel for the item's PricingCategory and
// commitment type.
func pricingModel(l *billing.LineItem) string {
	switch l.PricingCategory {
	case "Standard":
		return "OnDemand"
	case "Dynamic":
		return "Spot"
	case "Committed":
		if l.CommitmentDiscountType == "Savings Plan" {
			return "SavingsPlan"
		}
		return "Reservation"
	}
	return ""
}

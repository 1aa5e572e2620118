package gcpbilling

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain/billing"
)

// ExportFormat names the layout ExportWriter writes.
const ExportFormat = "gcp-billing-export"

// exportColumns are the Cloud Billing export's columns (detailed usage
// cost, which adds resource and price to the standard export) flattened
// for CSV: a nested record's fields as dotted names, a repeated field
// (labels, system_labels, project.labels, credits) as the JSON text of
// its array, as BigQuery writes them to JSON.
var exportColumns = []string{
	"billing_account_id", "service.id", "service.description", "sku.id", "sku.description",
	"usage_start_time", "usage_end_time",
	"project.id", "project.number", "project.name", "project.labels", "project.ancestry_numbers",
	"labels", "system_labels",
	"location.location", "location.country", "location.region", "location.zone",
	"resource.name", "resource.global_name",
	"export_time", "cost", "currency", "currency_conversion_rate",
	"usage.amount", "usage.unit", "usage.amount_in_pricing_units", "usage.pricing_unit",
	"credits", "invoice.month", "cost_type",
	"adjustment_info.id", "adjustment_info.description", "adjustment_info.mode", "adjustment_info.type",
	"price.effective_price", "price.list_price", "price.tier_start_amount", "price.unit", "price.pricing_unit_quantity",
	"cost_at_list", "transaction_type", "seller_name",
}

// Column positions.
const (
	gcBillingAccount = iota
	gcServiceID
	gcServiceDescription
	gcSkuID
	gcSkuDescription
	gcUsageStart
	gcUsageEnd
	gcProjectID
	gcProjectNumber
	gcProjectName
	gcProjectLabels
	gcProjectAncestry
	gcLabels
	gcSystemLabels
	gcLocation
	gcCountry
	gcRegion
	gcZone
	gcResourceName
	gcResourceGlobalName
	gcExportTime
	gcCost
	gcCurrency
	gcConversionRate
	gcUsageAmount
	gcUsageUnit
	gcUsagePricingAmount
	gcUsagePricingUnit
	gcCredits
	gcInvoiceMonth
	gcCostType
	gcAdjustmentID
	gcAdjustmentDescription
	gcAdjustmentMode
	gcAdjustmentType
	gcPriceEffective
	gcPriceList
	gcPriceTierStart
	gcPriceUnit
	gcPricePricingUnitQty
	gcCostAtList
	gcTransactionType
	gcSellerName
	gcColumns
)

// gcIdentity are the columns a credit row shares with the cost row it
// came from (Row.LineItems copies them, extras included, to every credit).
var gcIdentity = []int{
	gcBillingAccount, gcServiceID, gcServiceDescription, gcSkuID, gcSkuDescription, gcUsageStart, gcUsageEnd,
	gcProjectID, gcProjectNumber, gcProjectName, gcProjectLabels, gcProjectAncestry, gcLabels, gcSystemLabels,
	gcLocation, gcCountry, gcRegion, gcZone, gcResourceName, gcResourceGlobalName, gcExportTime, gcCurrency,
	gcConversionRate, gcInvoiceMonth, gcCostType, gcAdjustmentID, gcAdjustmentDescription, gcAdjustmentMode,
	gcAdjustmentType, gcTransactionType, gcSellerName,
}

// gcExtras maps the extras Row.LineItems keeps to the column they came
// from.
var gcExtras = map[string]int{
	"x_ServiceId":                gcServiceID,
	"x_SkuDescription":           gcSkuDescription,
	"x_ProjectNumber":            gcProjectNumber,
	"x_ProjectAncestryNumbers":   gcProjectAncestry,
	"x_Location":                 gcLocation,
	"x_Country":                  gcCountry,
	"x_CurrencyConversionRate":   gcConversionRate,
	"x_PriceTierStartAmount":     gcPriceTierStart,
	"x_PriceUnit":                gcPriceUnit,
	"x_PricePricingUnitQuantity": gcPricePricingUnitQty,
	"x_AdjustmentId":             gcAdjustmentID,
	"x_AdjustmentDescription":    gcAdjustmentDescription,
	"x_AdjustmentMode":           gcAdjustmentMode,
	"x_AdjustmentType":           gcAdjustmentType,
	"x_TransactionType":          gcTransactionType,
	"x_SellerName":               gcSellerName,
}

// ExportOptions says how ExportWriter prices the file.
type ExportOptions struct {
	// Resale writes a pro forma bill: resale amounts in cost and the
	// credits, and no cost anywhere (see ExportWriter).
	Resale bool
}

// ExportWriter writes line items as a Cloud Billing export CSV
// (exportColumns): what BigQuery writes for the export table, nested
// records flattened to dotted columns and repeated fields as JSON arrays.
// Timestamps are written as BigQuery writes them to CSV
// (2026-09-01 04:42:24 UTC).
//
// Row.LineItems turns an export row into a cost item and one Credit item
// per credit; ExportWriter folds them back: a Credit item that follows
// the item of the row it came from (the same row columns, as an
// ingestion stores them) becomes an element of that row's credits, and
// any other Credit item becomes a row of its own with cost 0 and the
// credit in credits. Either way cost + Σ credits.amount over the file
// equals the items' BilledCost total, per currency. Each other item is
// one row: BilledCost in cost, ListCost in cost_at_list, the contracted
// and list unit prices in price.effective_price and price.list_price,
// quantities and units in usage, the charge period in usage_start_time
// and usage_end_time, the project, location, resource and service from
// their FOCUS fields, Tags as labels, and the export columns kept as
// x_* extras (service.id, sku.description, project.labels, system_labels,
// export_time, cost_type, invoice.month, price.unit, …) in their columns.
// location.region is written from RegionId except for a multi-region or
// global location, which the export gives no region. Items from FOCUS
// files fill the columns their FOCUS fields map to; invoice.month is then
// the billing period's month and cost_type follows ChargeCategory.
//
// Resale mode writes the resale amount to cost and, for credits, to
// their credits[].amount, and leaves empty cost_at_list,
// price.effective_price and price.list_price. Nothing else in the layout
// is money: currency_conversion_rate is a rate, price.tier_start_amount
// and price.pricing_unit_quantity are usage quantities, and they are kept.
//
// Memory does not grow with the file: only the row whose credits may
// still follow is held. Write is not safe for concurrent use.
type ExportWriter struct {
	csv  *csv.Writer
	opts ExportOptions
	rows int
	err  error

	wroteHeader bool
	closed      bool
	pending     bool
	rec         []string // the row being built, or held for its credits
	scratch     []string // a credit's row columns, to compare with rec
	credits     bytes.Buffer
	nCredits    int
	labels      [3]labelCache // labels, system_labels, project.labels
}

// labelCache keeps the last label object converted: consecutive rows of a
// resource carry the same labels.
type labelCache struct{ in, out string }

// NewExportWriter writes a Cloud Billing export CSV, header first, to w.
func NewExportWriter(w io.Writer, opts ExportOptions) *ExportWriter {
	return &ExportWriter{csv: csv.NewWriter(w), opts: opts, rec: make([]string, gcColumns), scratch: make([]string, gcColumns)}
}

// Write writes one line item. resale is its resale amount; empty means
// not priced, which is its BilledCost. A row is written once it is known
// that no more of its credits follow. Write returns the writer's error,
// and keeps returning it once one happened.
func (e *ExportWriter) Write(l *billing.LineItem, resale billing.Number) error {
	if e.closed {
		return errors.New("gcp billing export: write after close")
	}
	if e.err != nil {
		return e.err
	}
	if !e.wroteHeader {
		e.wroteHeader = true
		e.write(exportColumns)
	}
	amount := l.BilledCost
	if e.opts.Resale {
		amount = resale
		if !amount.Valid() {
			amount = l.BilledCost
		}
	}
	if l.ChargeCategory == "Credit" {
		e.fillRow(e.scratch, l)
		if e.pending && e.sameRow() {
			e.addCredit(l, amount)
			return e.err
		}
		e.flush()
		e.rec, e.scratch = e.scratch, e.rec
		e.rec[gcCost] = "0"
		e.pending = true
		e.addCredit(l, amount)
		return e.err
	}
	e.flush()
	e.fillRow(e.rec, l)
	e.rec[gcCost] = string(amount)
	if !e.opts.Resale {
		e.rec[gcCostAtList] = string(l.ListCost)
		e.rec[gcPriceEffective] = string(l.ContractedUnitPrice)
		e.rec[gcPriceList] = string(l.ListUnitPrice)
	}
	e.rec[gcUsageAmount], e.rec[gcUsageUnit] = string(l.ConsumedQuantity), l.ConsumedUnit
	e.rec[gcUsagePricingAmount], e.rec[gcUsagePricingUnit] = string(l.PricingQuantity), l.PricingUnit
	if e.rec[gcSkuDescription] == "" {
		e.rec[gcSkuDescription] = l.ChargeDescription
	}
	e.pending = true
	return e.err
}

// sameRow reports whether the credit's columns in scratch are those of
// the held row.
func (e *ExportWriter) sameRow() bool {
	for _, i := range gcIdentity {
		if e.scratch[i] != e.rec[i] {
			return false
		}
	}
	return true
}

// flush writes the held row, if any.
func (e *ExportWriter) flush() {
	if !e.pending {
		return
	}
	e.pending = false
	if e.nCredits == 0 {
		e.rec[gcCredits] = "[]"
	} else {
		e.credits.WriteByte(']')
		e.rec[gcCredits] = e.credits.String()
	}
	e.credits.Reset()
	e.nCredits = 0
	e.write(e.rec)
	e.rows++
}

func (e *ExportWriter) write(rec []string) {
	if e.err == nil {
		if err := e.csv.Write(rec); err != nil {
			e.err = err
		}
	}
}

// Close writes the last row (the header alone when there was none) and
// flushes. It does not close the underlying writer.
func (e *ExportWriter) Close() error {
	if e.closed {
		return e.err
	}
	e.closed = true
	if e.err != nil {
		return e.err
	}
	if !e.wroteHeader {
		e.wroteHeader = true
		e.write(exportColumns)
	}
	e.flush()
	e.csv.Flush()
	if err := e.csv.Error(); err != nil && e.err == nil {
		e.err = err
	}
	return e.err
}

// Rows reports how many rows the file holds below its header: fewer than
// the items written when credits were folded into their rows. It is final
// after Close, which writes the last row.
func (e *ExportWriter) Rows() int { return e.rows }

// bqTime writes a timestamp as BigQuery writes TIMESTAMP to CSV.
func bqTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.999999") + " UTC"
}

// fillRow writes the columns an item shares with the other items of its
// export row into rec, clearing the rest.
func (e *ExportWriter) fillRow(rec []string, l *billing.LineItem) {
	clear(rec)
	rec[gcBillingAccount] = l.BillingAccountID
	rec[gcServiceDescription] = l.ServiceName
	rec[gcSkuID] = l.SkuID
	rec[gcUsageStart], rec[gcUsageEnd] = bqTime(l.ChargePeriodStart), bqTime(l.ChargePeriodEnd)
	rec[gcProjectID], rec[gcProjectName] = l.SubAccountID, l.SubAccountName
	rec[gcLabels] = e.labels[0].array(l.Tags)
	rec[gcZone] = l.AvailabilityZone
	rec[gcResourceName], rec[gcResourceGlobalName] = l.ResourceName, l.ResourceID
	rec[gcCurrency] = l.BillingCurrency
	for k, v := range l.Extras {
		if i, ok := gcExtras[k]; ok {
			rec[i] = v
		}
	}
	rec[gcProjectLabels] = e.labels[2].array(l.Extras["x_ProjectLabels"])
	rec[gcSystemLabels] = e.labels[1].array(l.Extras["x_SystemLabels"])
	rec[gcRegion] = l.RegionID
	if loc := rec[gcLocation]; loc != "" && loc == l.RegionID && !strings.Contains(loc, "-") {
		rec[gcRegion] = "" // a multi-region (us, eu) or global: Row.LineItems took the region from the location
	}
	if t, err := focusfile.ParseTime(l.Extras["x_ExportTime"]); err == nil {
		rec[gcExportTime] = bqTime(t)
	} else {
		rec[gcExportTime] = l.Extras["x_ExportTime"]
	}
	if rec[gcInvoiceMonth] = l.Extras["x_InvoiceMonth"]; rec[gcInvoiceMonth] == "" && !l.BillingPeriodStart.IsZero() {
		rec[gcInvoiceMonth] = l.BillingPeriodStart.UTC().Format("200601")
	}
	if rec[gcCostType] = l.Extras["x_CostType"]; rec[gcCostType] == "" {
		rec[gcCostType] = costType(l)
	}
}

// costType is the cost_type Row.LineItems maps to the item's
// ChargeCategory and ChargeClass.
func costType(l *billing.LineItem) string {
	switch l.ChargeCategory {
	case "Tax":
		return "tax"
	case "Adjustment":
		if l.ChargeClass == "Correction" {
			return "adjustment"
		}
		return "rounding_error"
	}
	return "regular"
}

// addCredit appends a Credit item to the held row's credits.
func (e *ExportWriter) addCredit(l *billing.LineItem, amount billing.Number) {
	b := &e.credits
	if e.nCredits == 0 {
		b.WriteByte('[')
	} else {
		b.WriteByte(',')
	}
	e.nCredits++
	name, id, typ, full := l.Extras["x_CreditName"], l.Extras["x_CreditId"], l.Extras["x_CreditType"], l.Extras["x_CreditFullName"]
	if name == "" && id == "" && full == "" {
		// A credit from a FOCUS file: its description is all there is.
		name = l.ChargeDescription
	}
	if typ == "" {
		switch l.CommitmentDiscountType {
		case "Committed Use Discount":
			typ = "COMMITTED_USAGE_DISCOUNT"
		case "Spend-based Committed Use Discount":
			typ = "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE"
		}
	}
	b.WriteString(`{"name":`)
	writeJSONString(b, name)
	b.WriteString(`,"amount":`)
	writeJSONNumber(b, amount)
	b.WriteString(`,"full_name":`)
	writeJSONString(b, full)
	b.WriteString(`,"id":`)
	writeJSONString(b, id)
	b.WriteString(`,"type":`)
	writeJSONString(b, typ)
	b.WriteByte('}')
}

// writeJSONString writes s as a JSON string, leaving <, > and & as they
// are, as BigQuery does.
func writeJSONString(b *bytes.Buffer, s string) {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\'
	}
	if plain {
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

// writeJSONNumber writes a decimal as a JSON number when its text is one
// (".5" and "5." are Numbers but not JSON), else as a JSON string, which
// BigQuery's JSON also uses for NUMERIC.
func writeJSONNumber(b *bytes.Buffer, n billing.Number) {
	if !n.Valid() {
		b.WriteString("null")
		return
	}
	if json.Valid([]byte(n)) {
		b.WriteString(string(n))
		return
	}
	writeJSONString(b, string(n))
}

// array turns a label object ({"k":"v"}) into the export's repeated
// key/value record as JSON ([{"key":"k","value":"v"}]), keys sorted; a
// value that is not a string is given as its JSON text, null as "".
// Text that is not a JSON object is written as it is.
func (c *labelCache) array(obj string) string {
	if obj == c.in && c.out != "" {
		return c.out
	}
	out := "[]"
	if strings.TrimSpace(obj) != "" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(obj), &m); err != nil {
			out = obj
		} else {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var b bytes.Buffer
			b.WriteByte('[')
			for i, k := range keys {
				if i > 0 {
					b.WriteByte(',')
				}
				v := m[k]
				var s string
				switch {
				case string(v) == "null":
				case len(v) > 0 && v[0] == '"':
					_ = json.Unmarshal(v, &s) // valid: checked by the Unmarshal above
				default:
					s = string(v)
				}
				b.WriteString(`{"key":`)
				writeJSONString(&b, k)
				b.WriteString(`,"value":`)
				writeJSONString(&b, s)
				b.WriteByte('}')
			}
			b.WriteByte(']')
			out = b.String()
		}
	}
	c.in, c.out = obj, out
	return out
}

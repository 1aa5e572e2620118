package gcpbilling

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"sort"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/domain/exports"
)

// BillingExportLayout writes exports with the columns of Google Cloud's
// BigQuery billing export (the standard usage cost table), flattened for
// CSV: nested fields by their dotted path (service.description,
// usage.amount_in_pricing_units), repeated ones (labels, credits) as the
// JSON array BigQuery's JSON export writes. Truecost splits a row's credits
// into line items of their own; each is written back as a row of cost 0
// carrying that credit, so cost + Σ credits.amount stays the bill.
//
//	PREFIX/[CUSTOMER/]gcp-billing-export/yyyymmdd-yyyymmdd/ASSEMBLY/billing_export-N.csv.gz
//	PREFIX/[CUSTOMER/]gcp-billing-export/yyyymmdd-yyyymmdd/manifest.json
type BillingExportLayout struct{}

var _ exports.Layout = BillingExportLayout{}

// Name is exports.LayoutGCPBillingExport.
func (BillingExportLayout) Name() string { return exports.LayoutGCPBillingExport }

// Paths names one write's files.
func (BillingExportLayout) Paths(t exports.Target) exports.Paths {
	return exports.FolderPaths(t, "gcp-billing-export", "billing_export-")
}

// Manifest is the manifest's JSON.
func (BillingExportLayout) Manifest(m exports.Manifest) ([]byte, error) {
	return exports.ManifestJSON(m)
}

type bqOut struct {
	name   string
	get    func(it *exports.Item) string
	amount bool // left out of resale exports
}

func bqTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func ex(key string) func(it *exports.Item) string {
	return func(it *exports.Item) string { return it.Extras[key] }
}

func isCredit(it *exports.Item) bool { return it.ChargeCategory == "Credit" }

// labelArray turns a JSON object of labels into BigQuery's key/value array.
func labelArray(obj string) string {
	if obj == "" {
		return "[]"
	}
	var m map[string]string
	if json.Unmarshal([]byte(obj), &m) != nil {
		return "[]"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type kv struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	out := make([]kv, len(keys))
	for i, k := range keys {
		out[i] = kv{k, m[k]}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

var exportColumns = []bqOut{
	{"billing_account_id", func(it *exports.Item) string { return it.BillingAccountID }, false},
	{"service.id", ex("x_ServiceId"), false},
	{"service.description", func(it *exports.Item) string { return it.ServiceName }, false},
	{"sku.id", func(it *exports.Item) string { return it.SkuID }, false},
	{"sku.description", func(it *exports.Item) string { return firstOf(it.Extras["x_SkuDescription"], it.ChargeDescription) }, false},
	{"usage_start_time", func(it *exports.Item) string { return bqTime(it.ChargePeriodStart) }, false},
	{"usage_end_time", func(it *exports.Item) string { return bqTime(it.ChargePeriodEnd) }, false},
	{"project.id", func(it *exports.Item) string { return it.SubAccountID }, false},
	{"project.number", ex("x_ProjectNumber"), false},
	{"project.name", func(it *exports.Item) string { return it.SubAccountName }, false},
	{"project.ancestry_numbers", ex("x_ProjectAncestryNumbers"), false},
	{"project.labels", func(it *exports.Item) string { return labelArray(it.Extras["x_ProjectLabels"]) }, false},
	{"labels", func(it *exports.Item) string { return labelArray(it.Tags) }, false},
	{"system_labels", func(it *exports.Item) string { return labelArray(it.Extras["x_SystemLabels"]) }, false},
	{"location.location", ex("x_Location"), false},
	{"location.country", ex("x_Country"), false},
	{"location.region", func(it *exports.Item) string { return it.RegionID }, false},
	{"location.zone", func(it *exports.Item) string { return it.AvailabilityZone }, false},
	{"resource.name", func(it *exports.Item) string { return it.ResourceName }, false},
	{"resource.global_name", func(it *exports.Item) string { return it.ResourceID }, false},
	{"export_time", ex("x_ExportTime"), false},
	{"cost", func(it *exports.Item) string {
		if isCredit(it) {
			return "0"
		}
		return string(it.BilledCost)
	}, false},
	{"currency", func(it *exports.Item) string { return it.BillingCurrency }, false},
	{"currency_conversion_rate", ex("x_CurrencyConversionRate"), true},
	{"usage.amount", func(it *exports.Item) string { return string(it.ConsumedQuantity) }, false},
	{"usage.unit", func(it *exports.Item) string { return it.ConsumedUnit }, false},
	{"usage.amount_in_pricing_units", func(it *exports.Item) string { return string(it.PricingQuantity) }, false},
	{"usage.pricing_unit", func(it *exports.Item) string { return it.PricingUnit }, false},
	{"credits", func(it *exports.Item) string {
		if !isCredit(it) {
			return "[]"
		}
		b, _ := json.Marshal([]map[string]string{{"name": it.Extras["x_CreditName"], "amount": string(it.BilledCost),
			"full_name": it.Extras["x_CreditFullName"], "id": it.Extras["x_CreditId"], "type": it.Extras["x_CreditType"]}})
		return string(b)
	}, false},
	{"invoice.month", func(it *exports.Item) string {
		return firstOf(it.Extras["x_InvoiceMonth"], it.BillingPeriodStart.Format("200601"))
	}, false},
	{"cost_type", func(it *exports.Item) string {
		if t := it.Extras["x_CostType"]; t != "" {
			return t
		}
		switch it.ChargeCategory {
		case "Tax":
			return "tax"
		case "Adjustment":
			return "adjustment"
		}
		return "regular"
	}, false},
	{"adjustment_info.id", ex("x_AdjustmentId"), false},
	{"adjustment_info.description", ex("x_AdjustmentDescription"), false},
	{"adjustment_info.mode", ex("x_AdjustmentMode"), false},
	{"adjustment_info.type", ex("x_AdjustmentType"), false},
	{"price.effective_price", func(it *exports.Item) string { return string(it.ContractedUnitPrice) }, true},
	{"price.tier_start_amount", ex("x_PriceTierStartAmount"), true},
	{"price.unit", ex("x_PriceUnit"), false},
	{"price.pricing_unit_quantity", ex("x_PricePricingUnitQuantity"), false},
	{"cost_at_list", func(it *exports.Item) string { return string(it.ListCost) }, true},
	{"transaction_type", ex("x_TransactionType"), false},
	{"seller_name", ex("x_SellerName"), false},
}

// NewWriter starts a data file: gzip, then the header row.
func (BillingExportLayout) NewWriter(w io.Writer, h exports.Header) (exports.RowWriter, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	bw := &exportWriter{zw: zw, csv: csv.NewWriter(zw)}
	for _, c := range exportColumns {
		if c.amount && h.Basis == exports.AtResale {
			continue
		}
		bw.cols = append(bw.cols, c)
	}
	header := make([]string, len(bw.cols))
	for i, c := range bw.cols {
		header[i] = c.name
	}
	bw.rec = make([]string, len(bw.cols))
	return bw, bw.csv.Write(header)
}

type exportWriter struct {
	zw   *gzip.Writer
	csv  *csv.Writer
	cols []bqOut
	rec  []string
}

func (w *exportWriter) Write(it *exports.Item) error {
	for i, c := range w.cols {
		w.rec[i] = c.get(it)
	}
	return w.csv.Write(w.rec)
}

func (w *exportWriter) Close() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	return w.zw.Close()
}

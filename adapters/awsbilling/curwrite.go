package awsbilling

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/domain/exports"
)

// CURLayout writes exports as AWS writes a legacy Cost and Usage Report:
//
//	PREFIX/REPORT/yyyymmdd-yyyymmdd/ASSEMBLY/REPORT-N.csv.gz
//	PREFIX/REPORT/yyyymmdd-yyyymmdd/ASSEMBLY/REPORT-Manifest.json
//	PREFIX/REPORT/yyyymmdd-yyyymmdd/REPORT-Manifest.json   (written last)
//
// with the legacy column names. Line items read from a CUR carry their
// other CUR columns as x_ extras; these are written back under their CUR
// names, so a file round-trips through DecodeCUR to the same line items'
// costs. Each write is a new assembly and the top manifest, swapped last,
// names only its files, as AWS does on a refresh.
type CURLayout struct {
	// Report is the report name in paths and the manifest; "truecost" when
	// empty.
	Report string
}

var _ exports.Layout = CURLayout{}

func (l CURLayout) report() string {
	if l.Report == "" {
		return "truecost"
	}
	return l.Report
}

// Name is exports.LayoutAWSCUR.
func (CURLayout) Name() string { return exports.LayoutAWSCUR }

// Paths names one write's files.
func (l CURLayout) Paths(t exports.Target) exports.Paths {
	dir := exports.Join(t.Prefix, l.report(), t.Period())
	return exports.Paths{
		Data: func(n int) string {
			return exports.Join(dir, t.Assembly, l.report()+"-"+strconv.Itoa(n)+".csv.gz")
		},
		Manifests: []string{
			exports.Join(dir, t.Assembly, l.report()+"-Manifest.json"),
			exports.Join(dir, l.report()+"-Manifest.json"),
		},
	}
}

// curColumn is one written column: its legacy name and how a row fills it.
type curOut struct {
	name string
	get  func(it *exports.Item) string
}

func curTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// extra returns the row's x_ value for a CUR column, e.g. extra(it,
// "lineItem/UsageType"); the key is worked out once, not per row.
func extra(legacy string) func(it *exports.Item) string {
	key := extraKey(legacy)
	return func(it *exports.Item) string { return it.Extras[key] }
}

// extraOr is the row's x_ value for a CUR column, or def when it has none.
func extraOr(legacy string, def func(it *exports.Item) string) func(it *exports.Item) string {
	get := extra(legacy)
	return func(it *exports.Item) string { return firstOf(get(it), def(it)) }
}

var lineItemTypeOf = extra("lineItem/LineItemType")

// extraKey is the x_ key DecodeCUR gives a CUR column.
func extraKey(legacy string) string { return "x_" + pascal(canonical(legacy)) }

// fixedColumns are written for every row, FOCUS columns mapped back to
// their CUR names.
var fixedColumns = []curOut{
	{"identity/LineItemId", extra("identity/LineItemId")},
	{"identity/TimeInterval", func(it *exports.Item) string {
		return curTime(it.ChargePeriodStart) + "/" + curTime(it.ChargePeriodEnd)
	}},
	{"bill/InvoiceId", func(it *exports.Item) string { return it.InvoiceID }},
	{"bill/BillingEntity", extraOr("bill/BillingEntity", func(*exports.Item) string { return "AWS" })},
	{"bill/BillType", extraOr("bill/BillType", func(*exports.Item) string { return "Anniversary" })},
	{"bill/PayerAccountId", func(it *exports.Item) string { return it.BillingAccountID }},
	{"bill/BillingPeriodStartDate", func(it *exports.Item) string { return curTime(it.BillingPeriodStart) }},
	{"bill/BillingPeriodEndDate", func(it *exports.Item) string { return curTime(it.BillingPeriodEnd) }},
	{"lineItem/UsageAccountId", func(it *exports.Item) string { return it.SubAccountID }},
	{"lineItem/LineItemType", lineItemType},
	{"lineItem/UsageStartDate", func(it *exports.Item) string { return curTime(it.ChargePeriodStart) }},
	{"lineItem/UsageEndDate", func(it *exports.Item) string { return curTime(it.ChargePeriodEnd) }},
	{"lineItem/ProductCode", extraOr("lineItem/ProductCode", func(it *exports.Item) string { return it.ServiceName })},
	{"lineItem/UsageType", extra("lineItem/UsageType")},
	{"lineItem/Operation", extra("lineItem/Operation")},
	{"lineItem/AvailabilityZone", func(it *exports.Item) string { return it.AvailabilityZone }},
	{"lineItem/ResourceId", func(it *exports.Item) string { return it.ResourceID }},
	{"lineItem/UsageAmount", func(it *exports.Item) string { return string(it.PricingQuantity) }},
	{"lineItem/CurrencyCode", func(it *exports.Item) string { return it.BillingCurrency }},
	{"lineItem/UnblendedRate", func(it *exports.Item) string { return string(it.ContractedUnitPrice) }},
	// DecodeCUR reads the unblended cost into ContractedCost (and, without
	// a net column, BilledCost); a resale export has only BilledCost.
	{"lineItem/UnblendedCost", func(it *exports.Item) string {
		if it.ContractedCost.Valid() {
			return string(it.ContractedCost)
		}
		return string(it.BilledCost)
	}},
	{"lineItem/LineItemDescription", func(it *exports.Item) string { return it.ChargeDescription }},
	{"product/ProductName", func(it *exports.Item) string { return it.ServiceName }},
	{"product/regionCode", func(it *exports.Item) string { return it.RegionID }},
	{"product/location", func(it *exports.Item) string { return it.RegionName }},
	{"product/sku", func(it *exports.Item) string { return it.SkuID }},
	{"pricing/publicOnDemandCost", func(it *exports.Item) string { return string(it.ListCost) }},
	{"pricing/publicOnDemandRate", func(it *exports.Item) string { return string(it.ListUnitPrice) }},
	{"pricing/RateCode", func(it *exports.Item) string { return it.SkuPriceID }},
	{"pricing/unit", func(it *exports.Item) string { return it.PricingUnit }},
	{"reservation/ReservationARN", func(it *exports.Item) string {
		if it.CommitmentDiscountType == "Reserved Instance" {
			return it.CommitmentDiscountID
		}
		return ""
	}},
	{"savingsPlan/SavingsPlanARN", func(it *exports.Item) string {
		if it.CommitmentDiscountCategory == "Spend" {
			return it.CommitmentDiscountID
		}
		return ""
	}},
}

// resaleDropped are the fixed columns a resale export leaves out.
var resaleDropped = map[string]bool{
	"lineItem/UnblendedRate": true, "pricing/publicOnDemandCost": true, "pricing/publicOnDemandRate": true,
}

// lineItemType is the row's CUR line item type: its own, or one matching
// its FOCUS charge category (pricing's charges, FOCUS rows).
func lineItemType(it *exports.Item) string {
	if t := lineItemTypeOf(it); t != "" {
		return t
	}
	switch it.ChargeCategory {
	case "Usage":
		return "Usage"
	case "Purchase":
		return "Fee"
	case "Tax":
		return "Tax"
	case "Credit":
		if it.ChargeClass == "Correction" {
			return "Refund"
		}
		return "Credit"
	}
	return "Fee"
}

// curCategories are the CUR column categories of x_ extras, as DecodeCUR
// names them (by the pascal case of their CUR 2.0 form), with their legacy
// spelling; product and pricing attributes are lower camel case there.
var curCategories = []struct{ pascal, legacy string }{
	{"SavingsPlan", "savingsPlan"}, {"Reservation", "reservation"}, {"LineItem", "lineItem"},
	{"Identity", "identity"}, {"Bill", "bill"}, {"Product", "product"}, {"Pricing", "pricing"},
	{"Discount", "discount"}, {"SplitLineItem", "splitLineItem"},
}

// legacyName turns an x_ extra key back into its legacy CUR column name,
// or "" for extras that are no CUR column.
func legacyName(key string) string {
	rest, ok := strings.CutPrefix(key, "x_")
	if !ok || rest == "CostCategories" {
		return ""
	}
	for _, c := range curCategories {
		attr, ok := strings.CutPrefix(rest, c.pascal)
		if !ok || attr == "" || !unicode.IsUpper(rune(attr[0])) {
			continue
		}
		if c.legacy == "product" || c.legacy == "pricing" {
			attr = strings.ToLower(attr[:1]) + attr[1:]
		}
		return c.legacy + "/" + attr
	}
	return ""
}

// NewWriter starts a CUR data file: gzip, then the header row.
func (CURLayout) NewWriter(w io.Writer, h exports.Header) (exports.RowWriter, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	cw := &curWriter{zw: zw, csv: csv.NewWriter(zw)}
	for _, c := range fixedColumns {
		// A resale export keeps the resale amount in the unblended cost
		// alone, as a pro forma bill does; rates and public prices go.
		if h.Basis == exports.AtResale && resaleDropped[c.name] {
			continue
		}
		cw.cols = append(cw.cols, c)
	}
	written := map[string]bool{}
	for _, c := range fixedColumns {
		written[canonical(c.name)] = true
	}
	for _, k := range h.Columns.Extras {
		name := legacyName(k)
		if name == "" || written[canonical(name)] {
			continue
		}
		written[canonical(name)] = true
		key := k
		cw.cols = append(cw.cols, curOut{name, func(it *exports.Item) string { return it.Extras[key] }})
	}
	for _, k := range h.Columns.TagKeys {
		name := "resourceTags/user:" + k
		if strings.HasPrefix(k, "aws:") {
			name = "resourceTags/" + k
		}
		key := k
		cw.cols = append(cw.cols, curOut{name, func(it *exports.Item) string { return cw.tag(it, key) }})
	}
	header := make([]string, len(cw.cols))
	for i, c := range cw.cols {
		header[i] = c.name
	}
	cw.rec = make([]string, len(cw.cols))
	return cw, cw.csv.Write(header)
}

type curWriter struct {
	zw   *gzip.Writer
	csv  *csv.Writer
	cols []curOut
	rec  []string
	// tags of the current row, parsed once per distinct Tags text.
	tagsText string
	tags     map[string]string
}

func (w *curWriter) tag(it *exports.Item, key string) string {
	if it.Tags != w.tagsText {
		w.tagsText, w.tags = it.Tags, nil
		if it.Tags != "" {
			var m map[string]any
			if json.Unmarshal([]byte(it.Tags), &m) == nil {
				w.tags = make(map[string]string, len(m))
				for k, v := range m {
					if s, ok := v.(string); ok {
						w.tags[k] = s
					} else if b, err := json.Marshal(v); err == nil {
						w.tags[k] = string(b)
					}
				}
			}
		}
	}
	return w.tags[key]
}

func (w *curWriter) Write(it *exports.Item) error {
	for i, c := range w.cols {
		w.rec[i] = c.get(it)
	}
	return w.csv.Write(w.rec)
}

func (w *curWriter) Close() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	return w.zw.Close()
}

// curManifestDoc is the AWS manifest of a legacy CUR, with Truecost's
// own manifest (rows, totals, price basis, checksums, sources) beside it.
type curManifestDoc struct {
	AssemblyID             string              `json:"assemblyId"`
	Account                string              `json:"account"`
	Columns                []curManifestColumn `json:"columns"`
	Charset                string              `json:"charset"`
	Compression            string              `json:"compression"`
	ContentType            string              `json:"contentType"`
	ReportID               string              `json:"reportId"`
	ReportName             string              `json:"reportName"`
	BillingPeriod          exports.PeriodDoc   `json:"billingPeriod"`
	Bucket                 string              `json:"bucket"`
	ReportKeys             []string            `json:"reportKeys"`
	AdditionalArtifactKeys []string            `json:"additionalArtifactKeys"`
	Truecost               exports.ManifestDoc `json:"truecost"`
}

type curManifestColumn struct {
	Category string `json:"category"`
	Name     string `json:"name"`
	Type     string `json:"type,omitempty"`
}

// Manifest renders the AWS-shaped manifest naming the assembly's files.
func (l CURLayout) Manifest(m exports.Manifest) ([]byte, error) {
	d := curManifestDoc{AssemblyID: m.Assembly, Charset: "UTF-8", Compression: "GZIP", ContentType: "text/csv",
		ReportID: m.Assembly, ReportName: l.report(), Bucket: m.Bucket, ReportKeys: []string{},
		AdditionalArtifactKeys: []string{}, Truecost: m.Doc(),
		BillingPeriod: exports.PeriodDoc{Start: m.Month.Format("20060102T150405.000Z"), End: m.MonthEnd().Format("20060102T150405.000Z")}}
	for _, f := range m.Files {
		d.ReportKeys = append(d.ReportKeys, f.Key)
	}
	seen := map[string]bool{}
	add := func(name string) {
		cat, attr, _ := strings.Cut(name, "/")
		if !seen[name] {
			seen[name] = true
			d.Columns = append(d.Columns, curManifestColumn{Category: cat, Name: attr})
		}
	}
	for _, c := range fixedColumns {
		if m.Basis != exports.AtResale || !resaleDropped[c.name] {
			add(c.name)
		}
	}
	for _, k := range m.Columns.Extras {
		if n := legacyName(k); n != "" {
			add(n)
		}
	}
	for _, k := range m.Columns.TagKeys {
		if strings.HasPrefix(k, "aws:") {
			add("resourceTags/" + k)
		} else {
			add("resourceTags/user:" + k)
		}
	}
	return json.MarshalIndent(d, "", "  ")
}

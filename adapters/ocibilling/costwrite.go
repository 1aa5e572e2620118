package ocibilling

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/domain/exports"
)

// CostReportLayout writes exports with the columns of OCI's cost report,
// gzip-compressed:
//
//	PREFIX/[CUSTOMER/]oci-cost-report/yyyymmdd-yyyymmdd/ASSEMBLY/report_cost-N.csv.gz
//	PREFIX/[CUSTOMER/]oci-cost-report/yyyymmdd-yyyymmdd/manifest.json
//
// Line items read from cost reports keep their other columns as x_
// extras (lineItem/referenceNo as x_lineItem_referenceNo); they are
// written back under their own names, and tags as tags/KEY columns.
type CostReportLayout struct{}

var _ exports.Layout = CostReportLayout{}

// Name is exports.LayoutOCICostReport.
func (CostReportLayout) Name() string { return exports.LayoutOCICostReport }

// Paths names one write's files.
func (CostReportLayout) Paths(t exports.Target) exports.Paths {
	return exports.FolderPaths(t, "oci-cost-report", "report_cost-")
}

// Manifest is the manifest's JSON.
func (CostReportLayout) Manifest(m exports.Manifest) ([]byte, error) { return exports.ManifestJSON(m) }

type ociOut struct {
	name   string
	get    func(it *exports.Item) string
	amount bool // left out of resale exports
}

func ociTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }

var reportColumns = []ociOut{
	{"lineItem/tenantId", func(it *exports.Item) string { return it.BillingAccountID }, false},
	{"lineItem/intervalUsageStart", func(it *exports.Item) string { return ociTime(it.ChargePeriodStart) }, false},
	{"lineItem/intervalUsageEnd", func(it *exports.Item) string { return ociTime(it.ChargePeriodEnd) }, false},
	{"product/service", func(it *exports.Item) string { return it.ServiceName }, false},
	{"product/compartmentId", func(it *exports.Item) string { return it.SubAccountID }, false},
	{"product/compartmentName", func(it *exports.Item) string { return it.SubAccountName }, false},
	{"product/region", func(it *exports.Item) string { return it.RegionID }, false},
	{"product/availabilityDomain", func(it *exports.Item) string { return it.AvailabilityZone }, false},
	{"product/resourceId", func(it *exports.Item) string { return it.ResourceID }, false},
	{"usage/billedQuantity", func(it *exports.Item) string { return string(it.PricingQuantity) }, false},
	{"cost/productSku", func(it *exports.Item) string { return it.SkuID }, false},
	{"product/Description", func(it *exports.Item) string { return it.ChargeDescription }, false},
	{"cost/unitPrice", func(it *exports.Item) string { return string(it.ContractedUnitPrice) }, true},
	{"cost/myCost", func(it *exports.Item) string { return string(it.BilledCost) }, false},
	{"cost/currencyCode", func(it *exports.Item) string { return it.BillingCurrency }, false},
	{"cost/skuUnitDescription", func(it *exports.Item) string { return it.PricingUnit }, false},
	{"lineItem/isCorrection", func(it *exports.Item) string {
		return strconv.FormatBool(it.ChargeClass == "Correction")
	}, false},
}

// NewWriter starts a cost report data file: gzip, then the header row.
func (CostReportLayout) NewWriter(w io.Writer, h exports.Header) (exports.RowWriter, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	cw := &reportWriter{zw: zw, csv: csv.NewWriter(zw)}
	written := map[string]bool{}
	for _, c := range reportColumns {
		if c.amount && h.Basis == exports.AtResale {
			continue
		}
		cw.cols = append(cw.cols, c)
		written[strings.ToLower(c.name)] = true
	}
	for _, k := range h.Columns.Extras {
		rest, ok := strings.CutPrefix(k, "x_")
		cat, attr, found := strings.Cut(rest, "_")
		if !ok || !found || attr == "" {
			continue
		}
		name := cat + "/" + attr
		if written[strings.ToLower(name)] {
			continue
		}
		written[strings.ToLower(name)] = true
		key := k
		cw.cols = append(cw.cols, ociOut{name: name, get: func(it *exports.Item) string { return it.Extras[key] }})
	}
	for _, k := range h.Columns.TagKeys {
		key := k
		cw.cols = append(cw.cols, ociOut{name: "tags/" + k, get: func(it *exports.Item) string { return cw.tag(it, key) }})
	}
	header := make([]string, len(cw.cols))
	for i, c := range cw.cols {
		header[i] = c.name
	}
	cw.rec = make([]string, len(cw.cols))
	return cw, cw.csv.Write(header)
}

type reportWriter struct {
	zw       *gzip.Writer
	csv      *csv.Writer
	cols     []ociOut
	rec      []string
	tagsText string
	tags     map[string]string
}

func (w *reportWriter) tag(it *exports.Item, key string) string {
	if it.Tags != w.tagsText {
		w.tagsText, w.tags = it.Tags, nil
		if it.Tags != "" {
			var m map[string]any
			if json.Unmarshal([]byte(it.Tags), &m) == nil {
				w.tags = make(map[string]string, len(m))
				for k, v := range m {
					if s, ok := v.(string); ok {
						w.tags[k] = s
					}
				}
			}
		}
	}
	return w.tags[key]
}

func (w *reportWriter) Write(it *exports.Item) error {
	for i, c := range w.cols {
		w.rec[i] = c.get(it)
	}
	return w.csv.Write(w.rec)
}

func (w *reportWriter) Close() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	return w.zw.Close()
}

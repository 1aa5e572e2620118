package focusfile

import (
	"encoding/csv"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/exports"
)

// Layout writes exports as FOCUS 1.2 CSV, gzip-compressed:
//
//	PREFIX/focus/PROVIDER/yyyymmdd-yyyymmdd/ASSEMBLY/PROVIDER-focus-N.csv.gz
//	PREFIX/focus/PROVIDER/yyyymmdd-yyyymmdd/manifest.json
//
// Every FOCUS column is written, then x_ResaleCost, then the rows' x_
// extras. In a resale export the domain has already put the resale amount
// in every cost column.
type Layout struct{}

var _ exports.Layout = Layout{}

// Name is exports.LayoutFOCUS.
func (Layout) Name() string { return exports.LayoutFOCUS }

// Paths names one write's files.
func (Layout) Paths(t exports.Target) exports.Paths {
	return exports.FolderPaths(t, exports.Join("focus", string(t.Provider)), string(t.Provider)+"-focus-")
}

// Manifest is the manifest's JSON.
func (Layout) Manifest(m exports.Manifest) ([]byte, error) { return exports.ManifestJSON(m) }

// NewWriter starts a data file: gzip, then the header row.
func (Layout) NewWriter(w io.Writer, h exports.Header) (exports.RowWriter, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	fw := &focusWriter{zw: zw, csv: csv.NewWriter(zw), extras: h.Columns.Extras, resale: h.WithResale}
	header := make([]string, 0, len(billing.Fields)+1+len(fw.extras))
	for _, f := range billing.Fields {
		// A resale export's cost columns carry the resale amount; its unit
		// prices, which would tell the cost, are left out.
		if h.Basis == exports.AtResale && resaleDropped[f.Name] {
			continue
		}
		fw.fields = append(fw.fields, f)
		header = append(header, f.Name)
	}
	if fw.resale {
		header = append(header, "x_ResaleCost")
	}
	header = append(header, fw.extras...)
	fw.rec = make([]string, len(header))
	return fw, fw.csv.Write(header)
}

// resaleDropped are the FOCUS columns a resale export leaves out.
var resaleDropped = map[string]bool{
	"ListUnitPrice": true, "ContractedUnitPrice": true, "PricingCurrencyContractedUnitPrice": true,
	"PricingCurrencyEffectiveCost": true, "PricingCurrencyListUnitPrice": true,
}

type focusWriter struct {
	fields []billing.Field
	zw     *gzip.Writer
	csv    *csv.Writer
	extras []string
	resale bool
	rec    []string
}

// FormatTime writes a FOCUS timestamp.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (w *focusWriter) Write(it *exports.Item) error {
	i := 0
	for _, f := range w.fields {
		switch f.Kind {
		case billing.KindTime:
			w.rec[i] = FormatTime(*f.Time(&it.LineItem))
		case billing.KindDecimal:
			w.rec[i] = string(*f.Num(&it.LineItem))
		default:
			w.rec[i] = *f.Str(&it.LineItem)
		}
		i++
	}
	if w.resale {
		w.rec[i] = string(it.Resale())
		i++
	}
	for _, k := range w.extras {
		w.rec[i] = it.Extras[k]
		i++
	}
	return w.csv.Write(w.rec)
}

func (w *focusWriter) Close() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	return w.zw.Close()
}

package ocibilling

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain/billing"
)

// previewNames maps the FOCUS 1.0-preview column names that OCI's FOCUS
// reports use to the FOCUS 1.0+ names focusfile.Decode reads. A preview
// column is renamed only when its newer name is not in the header too.
// ChargeSubcategory has no newer equivalent and stays an extra.
var previewNames = map[string]string{
	"Provider":      "ProviderName",
	"Publisher":     "PublisherName",
	"InvoiceIssuer": "InvoiceIssuerName",
	"Region":        "RegionId",
	"UsageQuantity": "ConsumedQuantity",
	"UsageUnit":     "ConsumedUnit",
}

// backReferenceColumn names the line a correcting row corrects.
const backReferenceColumn = "oci_backreferencenumber"

// DecodeFOCUSReport reads one OCI FOCUS report (CSV, already decompressed)
// with focusfile.DecodeRecords and calls fn for each row. OCI's preview column
// names (Provider, Region, UsageQuantity, …) are read as their FOCUS 1.0+
// names; the oci_* columns land in Extras under their own names. A row with
// an oci_BackReferenceNumber corrects an earlier line and, when the report
// gives no ChargeClass, gets ChargeClass "Correction". Errors are
// domain.Invalid and give file, line and column.
func DecodeFOCUSReport(ctx context.Context, name string, r io.Reader, fn func(*billing.LineItem) error) error {
	rd, err := csvfile.Open(name, r, "a FOCUS header row")
	if err != nil {
		return err
	}
	header := slices.Clone(rd.Header())
	backRef := ""
	for i, h := range header {
		if newer, ok := previewNames[h]; ok && rd.Column(newer) < 0 {
			header[i] = newer
		}
		if strings.ToLower(h) == backReferenceColumn {
			backRef = h
		}
	}
	rd.SetHeader(header)
	return focusfile.DecodeRecords(ctx, rd, func(l *billing.LineItem) error {
		if l.ChargeClass == "" && backRef != "" && l.Extras[backRef] != "" {
			l.ChargeClass = "Correction"
		}
		return fn(l)
	})
}

package ocibilling

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"

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
// with focusfile.Decode and calls fn for each row. OCI's preview column
// names (Provider, Region, UsageQuantity, …) are read as their FOCUS 1.0+
// names; the oci_* columns land in Extras under their own names. A row with
// an oci_BackReferenceNumber corrects an earlier line and, when the report
// gives no ChargeClass, gets ChargeClass "Correction". Errors are
// domain.Invalid and give file, line and column.
func DecodeFOCUSReport(ctx context.Context, name string, r io.Reader, fn func(*billing.LineItem) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return csvError(name, 0, err)
	}
	if strings.TrimSpace(strings.TrimPrefix(first, "\uFEFF")) == "" {
		return billing.InputError(name, 1, "", "empty file: a FOCUS header row is required")
	}
	header, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(first, "\uFEFF"))).Read()
	if err != nil {
		return billing.InputError(name, 1, "", "malformed CSV header: %v", err)
	}
	has := make(map[string]bool, len(header))
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
		has[header[i]] = true
	}
	backRef := ""
	for i, h := range header {
		if newer, ok := previewNames[h]; ok && !has[newer] {
			header[i] = newer
		}
		if strings.ToLower(h) == backReferenceColumn {
			backRef = h
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(header)
	w.Flush()
	// The rewritten header is still one line, so focusfile.Decode's line numbers
	// stay those of the file.
	body := io.MultiReader(&buf, br)
	return focusfile.Decode(ctx, name, body, func(l *billing.LineItem) error {
		if l.ChargeClass == "" && backRef != "" && l.Extras[backRef] != "" {
			l.ChargeClass = "Correction"
		}
		return fn(l)
	})
}

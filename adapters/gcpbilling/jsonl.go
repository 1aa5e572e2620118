package gcpbilling

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain/billing"
)

// maxLine bounds one JSON line; export rows are a few kilobytes.
const maxLine = 64 << 20

// jsonNumber keeps a JSON value's text: a number literal as written, or a
// string's content (BigQuery's JSON extracts write NUMERIC and INT64 as
// strings). Validation happens later, where the column path is known.
type jsonNumber struct {
	text string
	bad  bool // not a number or string (object, array, boolean)
}

func (n *jsonNumber) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		*n = jsonNumber{}
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = jsonNumber{text: s}
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*n = jsonNumber{text: string(b)}
	default:
		*n = jsonNumber{text: string(b), bad: true}
	}
	return nil
}

type jsonLabel struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type jsonCredit struct {
	Name     string     `json:"name"`
	Amount   jsonNumber `json:"amount"`
	FullName string     `json:"full_name"`
	ID       string     `json:"id"`
	Type     string     `json:"type"`
}

// jsonRow is an export row as BigQuery writes it to newline-delimited JSON.
type jsonRow struct {
	BillingAccountID string `json:"billing_account_id"`
	Service          struct {
		ID          string `json:"id"`
		Description string `json:"description"`
	} `json:"service"`
	Sku struct {
		ID          string `json:"id"`
		Description string `json:"description"`
	} `json:"sku"`
	UsageStartTime string `json:"usage_start_time"`
	UsageEndTime   string `json:"usage_end_time"`
	Project        struct {
		ID              string      `json:"id"`
		Number          jsonNumber  `json:"number"`
		Name            string      `json:"name"`
		AncestryNumbers string      `json:"ancestry_numbers"`
		Labels          []jsonLabel `json:"labels"`
	} `json:"project"`
	Labels       []jsonLabel `json:"labels"`
	SystemLabels []jsonLabel `json:"system_labels"`
	Location     struct {
		Location string `json:"location"`
		Country  string `json:"country"`
		Region   string `json:"region"`
		Zone     string `json:"zone"`
	} `json:"location"`
	Resource struct {
		Name       string `json:"name"`
		GlobalName string `json:"global_name"`
	} `json:"resource"`
	ExportTime             string     `json:"export_time"`
	Cost                   jsonNumber `json:"cost"`
	Currency               string     `json:"currency"`
	CurrencyConversionRate jsonNumber `json:"currency_conversion_rate"`
	Usage                  struct {
		Amount               jsonNumber `json:"amount"`
		Unit                 string     `json:"unit"`
		AmountInPricingUnits jsonNumber `json:"amount_in_pricing_units"`
		PricingUnit          string     `json:"pricing_unit"`
	} `json:"usage"`
	Credits []jsonCredit `json:"credits"`
	Invoice *struct {
		Month jsonNumber `json:"month"`
	} `json:"invoice"`
	CostType   string     `json:"cost_type"`
	CostAtList jsonNumber `json:"cost_at_list"`
	Price      struct {
		EffectivePrice      jsonNumber `json:"effective_price"`
		ListPrice           jsonNumber `json:"list_price"`
		TierStartAmount     jsonNumber `json:"tier_start_amount"`
		Unit                string     `json:"unit"`
		PricingUnitQuantity jsonNumber `json:"pricing_unit_quantity"`
	} `json:"price"`
	AdjustmentInfo struct {
		ID          string `json:"id"`
		Description string `json:"description"`
		Mode        string `json:"mode"`
		Type        string `json:"type"`
	} `json:"adjustment_info"`
	TransactionType string `json:"transaction_type"`
	SellerName      string `json:"seller_name"`
}

// columnError is a value that cannot be read, by export column path.
func columnError(column, format string, args ...any) error {
	return &billing.RowError{Column: column, Message: fmt.Sprintf(format, args...)}
}

func (n jsonNumber) number(column string) (billing.Number, error) {
	if n.bad {
		return "", columnError(column, "%s is not a number", n.text)
	}
	if n.text == "" {
		return "", nil
	}
	v, err := billing.ParseNumber(n.text)
	if err != nil {
		return "", columnError(column, "%v", err)
	}
	return v, nil
}

// parseExportTime reads an export timestamp: RFC 3339, no zone (UTC), or
// BigQuery's "2026-09-01 04:42:24 UTC" form.
func parseExportTime(column, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := focusfile.ParseTime(strings.TrimSuffix(v, " UTC"))
	if err != nil {
		return time.Time{}, columnError(column, "%v", err)
	}
	return t, nil
}

func labels(in []jsonLabel) []Label {
	if len(in) == 0 {
		return nil
	}
	out := make([]Label, len(in))
	for i, l := range in {
		out[i] = Label(l)
	}
	return out
}

// row converts the decoded JSON to a Row, checking numbers and times.
func (j *jsonRow) row() (Row, error) {
	r := Row{
		BillingAccountID:       j.BillingAccountID,
		ServiceID:              j.Service.ID,
		ServiceDescription:     j.Service.Description,
		SkuID:                  j.Sku.ID,
		SkuDescription:         j.Sku.Description,
		ProjectID:              j.Project.ID,
		ProjectNumber:          j.Project.Number.text,
		ProjectName:            j.Project.Name,
		ProjectAncestryNumbers: j.Project.AncestryNumbers,
		ProjectLabels:          labels(j.Project.Labels),
		Labels:                 labels(j.Labels),
		SystemLabels:           labels(j.SystemLabels),
		Location:               j.Location.Location,
		Country:                j.Location.Country,
		Region:                 j.Location.Region,
		Zone:                   j.Location.Zone,
		ResourceName:           j.Resource.Name,
		ResourceGlobalName:     j.Resource.GlobalName,
		Currency:               j.Currency,
		UsageUnit:              j.Usage.Unit,
		UsagePricingUnit:       j.Usage.PricingUnit,
		CostType:               j.CostType,
		PriceUnit:              j.Price.Unit,
		AdjustmentID:           j.AdjustmentInfo.ID,
		AdjustmentDescription:  j.AdjustmentInfo.Description,
		AdjustmentMode:         j.AdjustmentInfo.Mode,
		AdjustmentType:         j.AdjustmentInfo.Type,
		TransactionType:        j.TransactionType,
		SellerName:             j.SellerName,
	}
	if j.Invoice != nil {
		if j.Invoice.Month.bad {
			return r, columnError("invoice.month", "%s is not an invoice month (want \"YYYYMM\")", j.Invoice.Month.text)
		}
		r.InvoiceMonth = j.Invoice.Month.text
	}
	var err error
	times := []struct {
		dst  *time.Time
		col  string
		text string
	}{
		{&r.UsageStartTime, "usage_start_time", j.UsageStartTime},
		{&r.UsageEndTime, "usage_end_time", j.UsageEndTime},
		{&r.ExportTime, "export_time", j.ExportTime},
	}
	for _, t := range times {
		if *t.dst, err = parseExportTime(t.col, t.text); err != nil {
			return r, err
		}
	}
	nums := []struct {
		dst *billing.Number
		col string
		src jsonNumber
	}{
		{&r.Cost, "cost", j.Cost},
		{&r.CurrencyConversionRate, "currency_conversion_rate", j.CurrencyConversionRate},
		{&r.UsageAmount, "usage.amount", j.Usage.Amount},
		{&r.UsageAmountInPricing, "usage.amount_in_pricing_units", j.Usage.AmountInPricingUnits},
		{&r.CostAtList, "cost_at_list", j.CostAtList},
		{&r.PriceEffective, "price.effective_price", j.Price.EffectivePrice},
		{&r.PriceList, "price.list_price", j.Price.ListPrice},
		{&r.PriceTierStartAmount, "price.tier_start_amount", j.Price.TierStartAmount},
		{&r.PricePricingUnitQty, "price.pricing_unit_quantity", j.Price.PricingUnitQuantity},
	}
	for _, n := range nums {
		if *n.dst, err = n.src.number(n.col); err != nil {
			return r, err
		}
	}
	if len(j.Credits) > 0 {
		r.Credits = make([]Credit, len(j.Credits))
		for i, c := range j.Credits {
			amount, err := c.Amount.number(fmt.Sprintf("credits[%d].amount", i))
			if err != nil {
				return r, err
			}
			r.Credits[i] = Credit{Name: c.Name, Amount: amount, FullName: c.FullName, ID: c.ID, Type: c.Type}
		}
	}
	return r, nil
}

// lineScanner reads a newline-delimited JSON stream line by line, keeping
// the line number, skipping blank lines and CRLF ends.
type lineScanner struct {
	sc   *bufio.Scanner
	line int
}

func newLineScanner(r io.Reader) *lineScanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &lineScanner{sc: sc}
}

// next returns the next non-blank line, or nil at the end.
func (s *lineScanner) next() []byte {
	for s.sc.Scan() {
		s.line++
		b := bytes.TrimSpace(s.sc.Bytes())
		if len(b) > 0 {
			return b
		}
	}
	return nil
}

func (s *lineScanner) err(name string) error {
	err := s.sc.Err()
	if err == nil {
		return nil
	}
	if errors.Is(err, bufio.ErrTooLong) {
		return billing.InputError(name, s.line+1, "", "line longer than %d bytes", maxLine)
	}
	return billing.InputError(name, s.line+1, "", "cannot read: %v", err)
}

// jsonError locates a JSON decoding error within its line.
func jsonError(name string, line int, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return billing.InputError(name, line, strconv.FormatInt(syn.Offset, 10), "malformed JSON: %v", syn)
	case errors.As(err, &typ) && typ.Field != "":
		return billing.InputError(name, line, typ.Field, "expected %s, found a JSON %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &typ):
		return billing.InputError(name, line, "", "expected a JSON object (one export row per line), found a JSON %s", typ.Value)
	}
	return billing.InputError(name, line, "", "malformed JSON: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "ptr":
		return "an object"
	}
	return "a " + goKind
}

// DecodeJSONL reads newline-delimited JSON export rows from r and passes
// each row's FOCUS line items to fn (see Row.LineItems). name is used in
// errors, which are domain.Invalid and give file, line and column (the
// export column path, e.g. credits[0].amount, or the byte offset of a
// JSON syntax error). A UTF-8 BOM, blank lines and CRLF ends are accepted.
func DecodeJSONL(ctx context.Context, name string, r io.Reader, fn func(*billing.LineItem) error) error {
	return decodeJSONL(ctx, name, r, "", fn)
}

// decodeJSONL is DecodeJSONL keeping only rows of one invoice month when
// month is set.
func decodeJSONL(ctx context.Context, name string, r io.Reader, month string, fn func(*billing.LineItem) error) error {
	sc := newLineScanner(r)
	for {
		b := sc.next()
		if b == nil {
			return sc.err(name)
		}
		if sc.line%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if sc.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\uFEFF"))
		}
		var j jsonRow
		if err := json.Unmarshal(b, &j); err != nil {
			return jsonError(name, sc.line, err)
		}
		if month != "" && (j.Invoice == nil || j.Invoice.Month.text != month) {
			continue
		}
		row, err := j.row()
		if err == nil {
			err = row.LineItems(fn)
		}
		if err != nil {
			return billing.LocateRowError(name, sc.line, err)
		}
	}
}

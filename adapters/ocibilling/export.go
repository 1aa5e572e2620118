package ocibilling

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/s2"

	"github.com/truecost/truecost/domain/billing"
)

// ExportFormat names the layout ExportWriter writes.
const ExportFormat = "oci-cost-report"

// exportColumns are the cost report's columns before its tags/… columns,
// in the order OCI writes them.
var exportColumns = []string{
	"lineItem/referenceNo", "lineItem/tenantId", "lineItem/intervalUsageStart", "lineItem/intervalUsageEnd",
	"product/service", "product/compartmentId", "product/compartmentName", "product/region",
	"product/availabilityDomain", "product/resourceId", "usage/billedQuantity", "usage/billedQuantityOverage",
	"cost/subscriptionId", "cost/productSku", "product/Description", "cost/unitPrice",
	"cost/unitPriceOverage", "cost/myCost", "cost/myCostOverage", "cost/currencyCode",
	"cost/billingUnitReadable", "cost/skuUnitDescription", "cost/overageFlag", "lineItem/isCorrection",
	"lineItem/backreferenceNo",
}

// Column positions ExportWriter fills from FOCUS fields.
const (
	ocReferenceNo = iota
	ocTenantID
	ocIntervalStart
	ocIntervalEnd
	ocService
	ocCompartmentID
	ocCompartmentName
	ocRegion
	ocAD
	ocResourceID
	ocBilledQty
	ocBilledQtyOverage
	ocSubscriptionID
	ocSKU
	ocDescription
	ocUnitPrice
	ocUnitPriceOverage
	ocMyCost
	ocMyCostOverage
	ocCurrency
	ocBillingUnit
	ocSKUUnit
	ocOverageFlag
	ocIsCorrection
	ocBackReference
	ocFixed // number of columns before the tags
)

// exportAmount marks the columns holding money.
var exportAmount = [ocFixed]bool{ocUnitPrice: true, ocUnitPriceOverage: true, ocMyCost: true, ocMyCostOverage: true}

// exportExtraIndex finds the column an extra belongs to: the x_* name
// DecodeCostReport gives each column (exact and lower-cased), and the
// oci_* columns of OCI's FOCUS reports.
var exportExtraIndex = func() map[string]int {
	m := make(map[string]int, 2*len(exportColumns)+8)
	for i, c := range exportColumns {
		m[extraName(c)] = i
		m[strings.ToLower(extraName(c))] = i
	}
	for k, i := range map[string]int{
		"oci_ReferenceNumber":       ocReferenceNo,
		"oci_BackReferenceNumber":   ocBackReference,
		"oci_OverageFlag":           ocOverageFlag,
		"oci_UnitPriceOverage":      ocUnitPriceOverage,
		"oci_BilledQuantityOverage": ocBilledQtyOverage,
		"oci_CostOverage":           ocMyCostOverage,
	} {
		m[k] = i
		m[strings.ToLower(k)] = i
	}
	return m
}()

// ExportOptions says how ExportWriter prices the file.
type ExportOptions struct {
	// Resale writes a pro forma bill: the resale amount in cost/myCost and
	// no cost anywhere (see ExportWriter).
	Resale bool
}

// ExportWriter writes line items as an OCI cost report CSV (the columns of
// reports/cost-csv/, tags as one tags/<key> column per tag key), which
// DecodeCostReport reads back as the same FOCUS line items.
//
// FOCUS fields go back to the columns DecodeCostReport reads them from:
// BilledCost to cost/myCost, the contracted (else list) unit price to
// cost/unitPrice, PricingQuantity (else ConsumedQuantity) to
// usage/billedQuantity, PricingUnit to cost/skuUnitDescription, the charge
// period to lineItem/intervalUsageStart and End, ChargeClass Correction to
// lineItem/isCorrection, the tenancy, compartment, region, availability
// domain, resource, service, SKU and description to their product/ and
// cost/ columns. The columns DecodeCostReport keeps as extras
// (x_lineItem_referenceNo, x_cost_myCostOverage, …) and the oci_* columns
// of OCI's FOCUS reports go back to their own columns; other extras are
// left out, as the x_ name does not say which column it came from. What a
// cost report cannot hold: charge categories other than usage (every row
// reads back as Usage) and a billing period other than the charge's month.
//
// Resale mode writes the resale amount to cost/myCost and leaves empty
// cost/myCostOverage (the share of the cost billed as overage, which has
// no resale counterpart), cost/unitPrice and cost/unitPriceOverage; no
// extra is written into these columns.
//
// The tag columns are known only once every row has been seen, so rows
// are spooled, compressed, to a temporary file (unlinked at once where the
// system allows) and the CSV is written to w by Close, header first. Only
// the set of tag keys — the header — is held in memory. Close must be
// called, also after an error, to release the file.
type ExportWriter struct {
	out  io.Writer
	opts ExportOptions

	spool  *os.File
	comp   *s2.Writer
	csv    *csv.Writer
	rec    []string
	tags   map[string]struct{}
	cache  tagCache
	rows   int
	err    error
	closed bool
}

// tagCache keeps the last tag object parsed: consecutive rows of a
// resource carry the same tags.
type tagCache struct {
	raw   string
	pairs []string // key, value, key, value…
}

// NewExportWriter writes an OCI cost report CSV, header first, to w; the
// output appears when Close is called.
func NewExportWriter(w io.Writer, opts ExportOptions) *ExportWriter {
	return &ExportWriter{out: w, opts: opts, tags: make(map[string]struct{}), rec: make([]string, 0, ocFixed+16)}
}

func (e *ExportWriter) open() error {
	if e.closed {
		return errors.New("oci cost report export: write after close")
	}
	if e.spool != nil || e.err != nil {
		return e.err
	}
	f, err := os.CreateTemp("", "truecost-oci-export-*")
	if err != nil {
		e.err = fmt.Errorf("oci cost report export: create spool file: %w", err)
		return e.err
	}
	_ = os.Remove(f.Name()) // unlinked: the space is freed when the file closes, even after a crash
	e.spool = f
	e.comp = s2.NewWriter(f)
	e.csv = csv.NewWriter(e.comp)
	return nil
}

// Write spools one line item. resale is its resale amount; empty means
// not priced, which is its BilledCost. It returns the writer's error, and
// keeps returning it once one happened.
func (e *ExportWriter) Write(l *billing.LineItem, resale billing.Number) error {
	if err := e.open(); err != nil {
		return err
	}
	if !resale.Valid() {
		resale = l.BilledCost
	}
	pairs, err := e.cache.parse(l.Tags)
	if err != nil {
		e.err = fmt.Errorf("oci cost report export: tags of line item %d: %w", e.rows+1, err)
		return e.err
	}
	r := e.rec[:ocFixed]
	clear(r)
	e.fill(r, l, resale)
	for i := 0; i < len(pairs); i += 2 {
		if _, ok := e.tags[pairs[i]]; !ok {
			e.tags[pairs[i]] = struct{}{}
		}
	}
	r = append(r, pairs...)
	e.rec = r
	if err := e.csv.Write(r); err != nil {
		e.err = fmt.Errorf("oci cost report export: spool: %w", err)
		return e.err
	}
	e.rows++
	return nil
}

// Close writes the CSV — header, then every row — to the writer given to
// NewExportWriter and releases the spool file. It does not close that
// writer.
func (e *ExportWriter) Close() error {
	if e.closed {
		return e.err
	}
	e.closed = true
	if e.spool != nil {
		defer func() {
			_ = e.spool.Close()
			_ = os.Remove(e.spool.Name()) // where the system kept it while open
		}()
	}
	if e.err != nil {
		return e.err
	}
	keys := make([]string, 0, len(e.tags))
	for k := range e.tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	header := make([]string, 0, ocFixed+len(keys))
	header = append(header, exportColumns...)
	at := make(map[string]int, len(keys))
	for i, k := range keys {
		header = append(header, tagPrefix+k)
		at[k] = ocFixed + i
	}
	bw := bufio.NewWriterSize(e.out, 256<<10)
	out := csv.NewWriter(bw)
	if err := out.Write(header); err != nil {
		return e.fail(err)
	}
	if e.spool != nil {
		if err := e.copyRows(out, at, len(header)); err != nil {
			return e.fail(err)
		}
	}
	out.Flush()
	if err := out.Error(); err != nil {
		return e.fail(err)
	}
	if err := bw.Flush(); err != nil {
		return e.fail(err)
	}
	return nil
}

func (e *ExportWriter) fail(err error) error {
	e.err = fmt.Errorf("oci cost report export: %w", err)
	return e.err
}

// copyRows reads the spool back and writes each row with its tags in
// their columns.
func (e *ExportWriter) copyRows(out *csv.Writer, at map[string]int, width int) error {
	e.csv.Flush()
	if err := e.csv.Error(); err != nil {
		return err
	}
	if err := e.comp.Close(); err != nil {
		return err
	}
	if _, err := e.spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	rd := csv.NewReader(s2.NewReader(bufio.NewReaderSize(e.spool, 256<<10)))
	rd.FieldsPerRecord = -1
	rd.ReuseRecord = true
	row := make([]string, width)
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read spool: %w", err)
		}
		clear(row)
		copy(row, rec[:ocFixed])
		for i := ocFixed; i+1 < len(rec); i += 2 {
			row[at[rec[i]]] = rec[i+1]
		}
		if err := out.Write(row); err != nil {
			return err
		}
	}
}

// Rows reports how many line items were written.
func (e *ExportWriter) Rows() int { return e.rows }

// reportTime writes a time as cost reports do (2026-09-01T00:00Z), with
// seconds only when it has them.
func reportTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04Z")
	}
	return t.Format(time.RFC3339Nano)
}

func firstNumber(ns ...billing.Number) string {
	for _, n := range ns {
		if n.Valid() {
			return string(n)
		}
	}
	return ""
}

func firstString(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// fill maps one line item onto the fixed columns.
func (e *ExportWriter) fill(r []string, l *billing.LineItem, resale billing.Number) {
	r[ocTenantID] = l.BillingAccountID
	r[ocIntervalStart], r[ocIntervalEnd] = reportTime(l.ChargePeriodStart), reportTime(l.ChargePeriodEnd)
	r[ocService] = l.ServiceName
	r[ocCompartmentID], r[ocCompartmentName] = l.SubAccountID, l.SubAccountName
	r[ocRegion], r[ocAD], r[ocResourceID] = l.RegionID, l.AvailabilityZone, l.ResourceID
	r[ocBilledQty] = firstNumber(l.PricingQuantity, l.ConsumedQuantity)
	r[ocSKU], r[ocDescription] = l.SkuID, l.ChargeDescription
	r[ocSKUUnit] = firstString(l.PricingUnit, l.ConsumedUnit)
	r[ocCurrency] = l.BillingCurrency
	r[ocIsCorrection] = "false"
	if l.ChargeClass == "Correction" {
		r[ocIsCorrection] = "true"
	}
	if e.opts.Resale {
		r[ocMyCost] = string(resale)
	} else {
		r[ocMyCost] = string(l.BilledCost)
		r[ocUnitPrice] = firstNumber(l.ContractedUnitPrice, l.ListUnitPrice)
	}
	for k, v := range l.Extras {
		if v == "" {
			continue
		}
		i, ok := exportExtraIndex[k]
		if !ok {
			if i, ok = exportExtraIndex[strings.ToLower(k)]; !ok {
				continue
			}
		}
		if r[i] != "" || (e.opts.Resale && exportAmount[i]) {
			continue
		}
		r[i] = v
	}
}

// parse reads a Tags JSON object as key, value pairs: a string value is
// its text, other values their JSON text; null and empty values are left
// out, as a cost report has no way to tell them from no tag.
func (c *tagCache) parse(raw string) ([]string, error) {
	if raw == c.raw {
		return c.pairs, nil
	}
	pairs, ok := scanPlainObject(raw, c.pairs[:0])
	if !ok {
		var err error
		if pairs, err = parseObject(raw); err != nil {
			c.raw, c.pairs = "", nil // the scan may have written over the kept pairs
			return nil, err
		}
	}
	c.raw, c.pairs = raw, pairs
	return pairs, nil
}

// parseObject reads any JSON object with encoding/json.
func parseObject(raw string) ([]string, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	pairs := make([]string, 0, 2*len(obj))
	for k, v := range obj {
		var s string
		switch {
		case string(v) == "null":
			continue
		case len(v) > 0 && v[0] == '"':
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, err
			}
		default:
			s = string(v)
		}
		if k != "" && s != "" {
			pairs = append(pairs, k, s)
		}
	}
	return pairs, nil
}

// scanPlainObject reads, without decoding, the tag objects
// DecodeCostReport and most exports write: string keys and string or null
// values with no escape or control character, no key twice. It reports
// false for anything else, which parseObject then reads.
func scanPlainObject(raw string, dst []string) ([]string, bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) {
		return dst, true
	}
	if raw[i] != '{' {
		return nil, false
	}
	if i = skipSpace(raw, i+1); i < len(raw) && raw[i] == '}' {
		return dst, skipSpace(raw, i+1) == len(raw)
	}
	for {
		key, j, ok := plainString(raw, i)
		if !ok {
			return nil, false
		}
		if i = skipSpace(raw, j); i == len(raw) || raw[i] != ':' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
		var val string
		if strings.HasPrefix(raw[i:], "null") {
			i += 4
		} else if val, i, ok = plainString(raw, i); !ok {
			return nil, false
		}
		for k := 0; k < len(dst); k += 2 {
			if dst[k] == key {
				return nil, false
			}
		}
		if key != "" && val != "" {
			dst = append(dst, key, val)
		}
		if i = skipSpace(raw, i); i == len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return dst, skipSpace(raw, i+1) == len(raw)
		default:
			return nil, false
		}
	}
}

// plainString reads the JSON string at raw[i] when it holds no escape or
// control character; it returns its text and the index past it.
func plainString(raw string, i int) (string, int, bool) {
	if i >= len(raw) || raw[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(raw); j++ {
		switch c := raw[j]; {
		case c == '"':
			s := raw[i+1 : j]
			return s, j + 1, utf8.ValidString(s)
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

package gcpbilling

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/truecost/truecost/domain/billing"
)

// scanSQL finds, per invoice month, the newest export_time and the row
// count over the whole month. Windowed, it keeps the months with rows
// exported since @since plus the newest month; the counts still cover the
// whole month, so a version only changes when the month's rows do, not as
// the window slides.
func scanSQL(table string, windowed bool) string {
	var b strings.Builder
	b.WriteString("SELECT invoice.month AS invoice_month, MAX(export_time) AS max_export_time, COUNT(*) AS row_count\nFROM ")
	b.WriteString(table)
	if windowed {
		b.WriteString("\nWHERE invoice.month IN (\n  SELECT DISTINCT invoice.month FROM ")
		b.WriteString(table)
		b.WriteString(" WHERE export_time >= @since\n  UNION DISTINCT\n  SELECT MAX(invoice.month) FROM ")
		b.WriteString(table)
		b.WriteString(")")
	}
	b.WriteString("\nGROUP BY invoice_month\nORDER BY invoice_month")
	return b.String()
}

// readColumns are the export columns Read selects when the table has them.
var readColumns = map[string]bool{
	"billing_account_id": true, "service": true, "sku": true,
	"usage_start_time": true, "usage_end_time": true, "project": true,
	"labels": true, "system_labels": true, "location": true, "resource": true,
	"export_time": true, "cost": true, "currency": true,
	"currency_conversion_rate": true, "usage": true, "credits": true,
	"invoice": true, "cost_type": true, "cost_at_list": true, "price": true,
	"adjustment_info": true, "transaction_type": true, "seller_name": true,
}

// readSQL selects one invoice month (@month) of the export. Decimal
// columns — FLOAT64 in the standard and detailed exports, NUMERIC or
// BIGNUMERIC elsewhere — are cast to STRING inside BigQuery, nested ones
// included (credits[].amount, usage.amount, price.*), so the values arrive
// as BigQuery's own decimal text, the same text its JSON extracts hold,
// and no float64 is summed or reformatted on the way. The projection is
// built from the table's schema, so optional columns (resource, price,
// cost_at_list…) are read when present.
func readSQL(table string, schema bigquery.Schema) string {
	var cols []string
	for _, f := range schema {
		if readColumns[f.Name] {
			cols = append(cols, projection(f.Name, f, 0)+" AS "+f.Name)
		}
	}
	return "SELECT " + strings.Join(cols, ",\n  ") + "\nFROM " + table + "\nWHERE invoice.month = @month"
}

func isDecimal(t bigquery.FieldType) bool {
	return t == bigquery.FloatFieldType || t == bigquery.NumericFieldType || t == bigquery.BigNumericFieldType
}

func hasDecimal(f *bigquery.FieldSchema) bool {
	if f.Type == bigquery.RecordFieldType {
		for _, sub := range f.Schema {
			if hasDecimal(sub) {
				return true
			}
		}
		return false
	}
	return isDecimal(f.Type)
}

// projection is the SQL reading field f at expr with its decimals as text.
func projection(expr string, f *bigquery.FieldSchema, depth int) string {
	if !hasDecimal(f) {
		return expr
	}
	if f.Repeated {
		elem, pos := fmt.Sprintf("elem%d", depth), fmt.Sprintf("pos%d", depth)
		if f.Type == bigquery.RecordFieldType {
			return fmt.Sprintf("ARRAY(SELECT AS STRUCT %s FROM UNNEST(%s) AS %s WITH OFFSET AS %s ORDER BY %s)",
				fieldList(elem, f.Schema, depth+1), expr, elem, pos, pos)
		}
		return fmt.Sprintf("ARRAY(SELECT CAST(%s AS STRING) FROM UNNEST(%s) AS %s WITH OFFSET AS %s ORDER BY %s)", elem, expr, elem, pos, pos)
	}
	if f.Type == bigquery.RecordFieldType {
		return fmt.Sprintf("IF(%s IS NULL, NULL, STRUCT(%s))", expr, fieldList(expr, f.Schema, depth))
	}
	return "CAST(" + expr + " AS STRING)"
}

func fieldList(expr string, schema bigquery.Schema, depth int) string {
	parts := make([]string, len(schema))
	for i, sub := range schema {
		parts[i] = projection(expr+"."+sub.Name, sub, depth) + " AS " + sub.Name
	}
	return strings.Join(parts, ", ")
}

func fieldOf(schema bigquery.Schema, name string) *bigquery.FieldSchema {
	for _, f := range schema {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// bqRow loads one result row of readSQL by column name.
type bqRow struct{ Row }

var _ bigquery.ValueLoader = (*bqRow)(nil)

// record is a RECORD value by field name.
type record map[string]bigquery.Value

func recordOf(v bigquery.Value, f *bigquery.FieldSchema) record {
	vals, ok := v.([]bigquery.Value)
	if !ok || f == nil {
		return nil
	}
	rec := make(record, len(vals))
	for i, sub := range f.Schema {
		if i < len(vals) {
			rec[sub.Name] = vals[i]
		}
	}
	return rec
}

// Load fills the row from one result row; a value of an unexpected type
// is a *billing.RowError naming its column.
func (r *bqRow) Load(vals []bigquery.Value, schema bigquery.Schema) error {
	r.Row = Row{}
	var l loader
	for i, f := range schema {
		if i >= len(vals) {
			break
		}
		v := vals[i]
		switch f.Name {
		case "billing_account_id":
			r.BillingAccountID = l.str(v, f.Name)
		case "service":
			rec := recordOf(v, f)
			r.ServiceID, r.ServiceDescription = l.str(rec["id"], "service.id"), l.str(rec["description"], "service.description")
		case "sku":
			rec := recordOf(v, f)
			r.SkuID, r.SkuDescription = l.str(rec["id"], "sku.id"), l.str(rec["description"], "sku.description")
		case "usage_start_time":
			r.UsageStartTime = l.time(v, f.Name)
		case "usage_end_time":
			r.UsageEndTime = l.time(v, f.Name)
		case "export_time":
			r.ExportTime = l.time(v, f.Name)
		case "project":
			rec := recordOf(v, f)
			r.ProjectID = l.str(rec["id"], "project.id")
			r.ProjectNumber = l.text(rec["number"], "project.number")
			r.ProjectName = l.str(rec["name"], "project.name")
			r.ProjectAncestryNumbers = l.str(rec["ancestry_numbers"], "project.ancestry_numbers")
			r.ProjectLabels = l.labels(rec["labels"], fieldOf(f.Schema, "labels"), "project.labels")
		case "labels":
			r.Labels = l.labels(v, f, f.Name)
		case "system_labels":
			r.SystemLabels = l.labels(v, f, f.Name)
		case "location":
			rec := recordOf(v, f)
			r.Location, r.Country = l.str(rec["location"], "location.location"), l.str(rec["country"], "location.country")
			r.Region, r.Zone = l.str(rec["region"], "location.region"), l.str(rec["zone"], "location.zone")
		case "resource":
			rec := recordOf(v, f)
			r.ResourceName, r.ResourceGlobalName = l.str(rec["name"], "resource.name"), l.str(rec["global_name"], "resource.global_name")
		case "cost":
			r.Cost = l.num(v, f.Name)
		case "currency":
			r.Currency = l.str(v, f.Name)
		case "currency_conversion_rate":
			r.CurrencyConversionRate = l.num(v, f.Name)
		case "usage":
			rec := recordOf(v, f)
			r.UsageAmount, r.UsageUnit = l.num(rec["amount"], "usage.amount"), l.str(rec["unit"], "usage.unit")
			r.UsageAmountInPricing = l.num(rec["amount_in_pricing_units"], "usage.amount_in_pricing_units")
			r.UsagePricingUnit = l.str(rec["pricing_unit"], "usage.pricing_unit")
		case "credits":
			r.Credits = l.credits(v, f)
		case "invoice":
			r.InvoiceMonth = l.str(recordOf(v, f)["month"], "invoice.month")
		case "cost_type":
			r.CostType = l.str(v, f.Name)
		case "cost_at_list":
			r.CostAtList = l.num(v, f.Name)
		case "price":
			rec := recordOf(v, f)
			r.PriceEffective, r.PriceList = l.num(rec["effective_price"], "price.effective_price"), l.num(rec["list_price"], "price.list_price")
			r.PriceTierStartAmount, r.PriceUnit = l.num(rec["tier_start_amount"], "price.tier_start_amount"), l.str(rec["unit"], "price.unit")
			r.PricePricingUnitQty = l.num(rec["pricing_unit_quantity"], "price.pricing_unit_quantity")
		case "adjustment_info":
			rec := recordOf(v, f)
			r.AdjustmentID, r.AdjustmentDescription = l.str(rec["id"], "adjustment_info.id"), l.str(rec["description"], "adjustment_info.description")
			r.AdjustmentMode, r.AdjustmentType = l.str(rec["mode"], "adjustment_info.mode"), l.str(rec["type"], "adjustment_info.type")
		case "transaction_type":
			r.TransactionType = l.str(v, f.Name)
		case "seller_name":
			r.SellerName = l.str(v, f.Name)
		}
	}
	return l.err
}

// loader converts values, keeping the first error.
type loader struct{ err error }

func (l *loader) fail(column, format string, args ...any) {
	if l.err == nil {
		l.err = columnError(column, format, args...)
	}
}

func (l *loader) str(v bigquery.Value, column string) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	l.fail(column, "expected a STRING, got %T", v)
	return ""
}

// text reads a value kept as text whatever its type (project.number is
// STRING in the export, INT64 in some copies of it).
func (l *loader) text(v bigquery.Value, column string) string {
	if i, ok := v.(int64); ok {
		return strconv.FormatInt(i, 10)
	}
	return l.str(v, column)
}

func (l *loader) time(v bigquery.Value, column string) time.Time {
	switch v := v.(type) {
	case nil:
		return time.Time{}
	case time.Time:
		return v.UTC()
	case string:
		t, err := parseExportTime(column, v)
		if err != nil && l.err == nil {
			l.err = err
		}
		return t
	}
	l.fail(column, "expected a TIMESTAMP, got %T", v)
	return time.Time{}
}

// num reads a decimal: text (what readSQL asks for) as is; a FLOAT64 that
// arrives uncast as its shortest round-trip text; NUMERIC exactly.
func (l *loader) num(v bigquery.Value, column string) billing.Number {
	var s string
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		s = v
	case int64:
		s = strconv.FormatInt(v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			l.fail(column, "%v is not a number", v)
			return ""
		}
		s = strconv.FormatFloat(v, 'g', -1, 64)
	case *big.Rat:
		s = ratText(v)
	default:
		l.fail(column, "expected a number, got %T", v)
		return ""
	}
	n, err := billing.ParseNumber(s)
	if err != nil {
		l.fail(column, "%v", err)
	}
	return n
}

// ratText writes a decimal fraction (a NUMERIC or BIGNUMERIC value, whose
// denominator divides a power of ten) exactly.
func ratText(r *big.Rat) string {
	d := new(big.Int).Set(r.Denom())
	digits := 0
	ten, zero, rem := big.NewInt(10), big.NewInt(0), new(big.Int)
	for digits < 80 {
		if rem.Mod(new(big.Int).Exp(ten, big.NewInt(int64(digits)), nil), d).Cmp(zero) == 0 {
			break
		}
		digits++
	}
	s := r.FloatString(digits)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func (l *loader) labels(v bigquery.Value, f *bigquery.FieldSchema, column string) []Label {
	elems, _ := v.([]bigquery.Value)
	if len(elems) == 0 {
		return nil
	}
	out := make([]Label, 0, len(elems))
	for i, e := range elems {
		rec := recordOf(e, f)
		at := fmt.Sprintf("%s[%d]", column, i)
		out = append(out, Label{Key: l.str(rec["key"], at+".key"), Value: l.str(rec["value"], at+".value")})
	}
	return out
}

func (l *loader) credits(v bigquery.Value, f *bigquery.FieldSchema) []Credit {
	elems, _ := v.([]bigquery.Value)
	if len(elems) == 0 {
		return nil
	}
	out := make([]Credit, 0, len(elems))
	for i, e := range elems {
		rec := recordOf(e, f)
		at := fmt.Sprintf("credits[%d]", i)
		out = append(out, Credit{
			Name:     l.str(rec["name"], at+".name"),
			Amount:   l.num(rec["amount"], at+".amount"),
			FullName: l.str(rec["full_name"], at+".full_name"),
			ID:       l.str(rec["id"], at+".id"),
			Type:     l.str(rec["type"], at+".type"),
		})
	}
	return out
}

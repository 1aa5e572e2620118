package gcpbilling

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/truecost/truecost/domain/billing"
)

// ProviderName is the FOCUS ProviderName, PublisherName and
// InvoiceIssuerName of every line item this package produces.
const ProviderName = "Google Cloud"

// Label is one key/value pair of a row's labels, system_labels or
// project.labels.
type Label struct {
	Key   string
	Value string
}

// Credit is one element of a row's credits[]: an amount (negative) that
// reduces the row's cost.
type Credit struct {
	Name     string
	Amount   billing.Number
	FullName string
	ID       string
	Type     string // PROMOTION, FREE_TIER, COMMITTED_USAGE_DISCOUNT, …
}

// Row is one row of the Cloud Billing export, with the columns this package
// maps. Field comments name the export column; empty strings and Numbers
// are null.
type Row struct {
	BillingAccountID       string // billing_account_id
	ServiceID              string // service.id
	ServiceDescription     string // service.description
	SkuID                  string // sku.id
	SkuDescription         string // sku.description
	UsageStartTime         time.Time
	UsageEndTime           time.Time
	ProjectID              string // project.id
	ProjectNumber          string // project.number
	ProjectName            string // project.name
	ProjectAncestryNumbers string // project.ancestry_numbers
	ProjectLabels          []Label
	Labels                 []Label
	SystemLabels           []Label
	Location               string // location.location
	Country                string // location.country
	Region                 string // location.region
	Zone                   string // location.zone
	ResourceName           string // resource.name (detailed export)
	ResourceGlobalName     string // resource.global_name (detailed export)
	ExportTime             time.Time
	Cost                   billing.Number
	Currency               string
	CurrencyConversionRate billing.Number
	UsageAmount            billing.Number // usage.amount
	UsageUnit              string         // usage.unit
	UsageAmountInPricing   billing.Number // usage.amount_in_pricing_units
	UsagePricingUnit       string         // usage.pricing_unit
	Credits                []Credit
	InvoiceMonth           string // invoice.month, YYYYMM
	CostType               string // regular, tax, adjustment, rounding_error
	CostAtList             billing.Number
	PriceEffective         billing.Number // price.effective_price (detailed export)
	PriceList              billing.Number // price.list_price
	PriceTierStartAmount   billing.Number // price.tier_start_amount
	PriceUnit              string         // price.unit
	PricePricingUnitQty    billing.Number // price.pricing_unit_quantity
	AdjustmentID           string         // adjustment_info.id
	AdjustmentDescription  string         // adjustment_info.description
	AdjustmentMode         string         // adjustment_info.mode
	AdjustmentType         string         // adjustment_info.type
	TransactionType        string         // transaction_type
	SellerName             string         // seller_name
}

// InvoicePeriod returns the billing period an invoice month ("202609")
// stands for.
//
// Google bills by invoice month in Pacific time; the period is nonetheless
// represented by the first instant of that month in UTC. The Ingester
// requires every row of a Part to carry exactly the Part's period, and the
// cost reports group BILLING_PERIOD by BillingPeriodStart formatted as
// YYYY-MM in UTC: a Pacific midnight (07:00 or 08:00 UTC) would still group
// right, but would make the period key depend on daylight saving and stop
// matching the month starts other providers use. The period is a label for
// "invoice month M", not a cut-off time — which rows belong to it is decided
// by invoice.month itself, so nothing is lost by the UTC representation.
func InvoicePeriod(month string) (time.Time, error) {
	if len(month) != 6 {
		return time.Time{}, fmt.Errorf("%q is not an invoice month (want YYYYMM, e.g. 202609)", month)
	}
	t, err := time.Parse("200601", month)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an invoice month (want YYYYMM, e.g. 202609)", month)
	}
	return t.UTC(), nil
}

// Commitment credits: the discount a committed use discount (CUD) gives.
// Their effect belongs in EffectiveCost, the amortised cost after
// commitments, so it is folded into the charge they reduce.
var commitmentCredits = map[string]struct{ category, kind string }{
	"COMMITTED_USAGE_DISCOUNT":             {"Usage", "Committed Use Discount"},
	"COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE": {"Spend", "Spend-based Committed Use Discount"},
	"FEE_UTILIZATION_OFFSET":               {"Spend", "Spend-based Committed Use Discount"},
}

// LineItems maps the row to FOCUS line items and passes each to emit: one
// for the row's cost, then one per credit. The items are fresh for each
// call (emit may keep them).
//
// The cost row is ChargeCategory Usage for cost_type regular (or empty),
// Tax for tax, Adjustment (ChargeClass Correction) for adjustment, and
// Adjustment for rounding_error. Each credit row has ChargeCategory Credit
// and BilledCost equal to the credit amount, so summing BilledCost over a
// row's items gives cost + Σ credits.
//
// EffectiveCost follows the FOCUS convention for Google Cloud, whose
// converter sets it to cost plus credits: commitment credits
// (COMMITTED_USAGE_DISCOUNT, COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE,
// FEE_UTILIZATION_OFFSET) are folded into the cost row's EffectiveCost and
// their own credit rows carry EffectiveCost 0; every other credit (promotions,
// free tier, sustained use and other discounts) keeps EffectiveCost equal to
// its amount on its own row. Either way the EffectiveCost of a row's items
// sums to cost + Σ credits, the same as BilledCost.
//
// SubAccountId is the project, ServiceName the service description,
// RegionId location.region (location.location for multi-regional and
// global charges), Tags the row's labels as a JSON object; export columns
// FOCUS lacks go to Extras as x_* values (x_ServiceId, x_ProjectLabels,
// x_SystemLabels, x_ExportTime, x_CostType, x_InvoiceMonth, and on credit
// rows x_CreditId, x_CreditName, x_CreditFullName, x_CreditType).
//
// A missing or malformed required value is a *billing.RowError naming the
// export column.
func (r *Row) LineItems(emit func(*billing.LineItem) error) error {
	period, err := InvoicePeriod(r.InvoiceMonth)
	if err != nil {
		if r.InvoiceMonth == "" {
			return &billing.RowError{Column: "invoice.month", Message: "missing: every billing export row needs its invoice month"}
		}
		return &billing.RowError{Column: "invoice.month", Message: err.Error()}
	}
	switch {
	case r.UsageStartTime.IsZero():
		return &billing.RowError{Column: "usage_start_time", Message: "missing"}
	case r.UsageEndTime.IsZero():
		return &billing.RowError{Column: "usage_end_time", Message: "missing"}
	case !r.Cost.Valid():
		return &billing.RowError{Column: "cost", Message: "missing"}
	case r.Currency == "":
		return &billing.RowError{Column: "currency", Message: "missing"}
	}
	category, class, frequency, ok := chargeKind(r.CostType)
	if !ok {
		return &billing.RowError{Column: "cost_type", Message: fmt.Sprintf("%q is not a known cost type (want regular, tax, adjustment or rounding_error)", r.CostType)}
	}

	base := billing.LineItem{
		BillingPeriodStart: period,
		BillingPeriodEnd:   period.AddDate(0, 1, 0),
		ChargePeriodStart:  r.UsageStartTime.UTC(),
		ChargePeriodEnd:    r.UsageEndTime.UTC(),
		BillingCurrency:    r.Currency,
		BillingAccountID:   r.BillingAccountID,
		ChargeCategory:     category,
		ChargeClass:        class,
		ChargeFrequency:    frequency,
		ProviderName:       ProviderName,
		PublisherName:      ProviderName,
		InvoiceIssuerName:  ProviderName,
		ServiceName:        r.ServiceDescription,
		ServiceCategory:    serviceCategory(r.ServiceDescription),
		SkuID:              r.SkuID,
		SubAccountID:       r.ProjectID,
		SubAccountName:     r.ProjectName,
		RegionID:           r.Region,
		AvailabilityZone:   r.Zone,
		ResourceID:         r.ResourceGlobalName,
		ResourceName:       r.ResourceName,
		Tags:               labelsJSON(r.Labels),
	}
	if base.RegionID == "" {
		base.RegionID = r.Location // multi-regions and "global" have no region
	}
	if r.BillingAccountID != "" {
		base.BillingAccountType = "Billing Account"
	}
	if r.ProjectID != "" {
		base.SubAccountType = "Project"
	}
	extras := r.extras()

	item := base
	item.BilledCost = r.Cost
	item.EffectiveCost = r.Cost
	item.ListCost = r.CostAtList
	item.ListUnitPrice = r.PriceList
	item.ContractedUnitPrice = r.PriceEffective
	item.ChargeDescription = r.SkuDescription
	if category == "Usage" {
		item.ConsumedQuantity = r.UsageAmount
		item.ConsumedUnit = r.UsageUnit
		item.PricingQuantity = r.UsageAmountInPricing
		item.PricingUnit = r.UsagePricingUnit
	}
	var folded []billing.Number
	for i, c := range r.Credits {
		if !c.Amount.Valid() {
			return &billing.RowError{Column: fmt.Sprintf("credits[%d].amount", i), Message: "missing"}
		}
		if cd, ok := commitmentCredits[c.Type]; ok {
			folded = append(folded, c.Amount)
			if item.CommitmentDiscountID == "" {
				item.CommitmentDiscountID = c.ID
				item.CommitmentDiscountName = firstOf(c.FullName, c.Name)
				item.CommitmentDiscountCategory = cd.category
				item.CommitmentDiscountType = cd.kind
				if category == "Usage" {
					item.CommitmentDiscountStatus = "Used"
				}
			}
		}
	}
	if len(folded) > 0 {
		var s billing.Sum
		s.Add(r.Cost)
		for _, n := range folded {
			s.Add(n)
		}
		item.EffectiveCost = billing.Number(s.Decimal().String())
	}
	item.Extras = extras
	if err := emit(&item); err != nil {
		return err
	}

	for _, c := range r.Credits {
		credit := base
		credit.ChargeCategory = "Credit"
		credit.BilledCost = c.Amount
		credit.EffectiveCost = c.Amount
		credit.ChargeDescription = firstOf(c.FullName, c.Name, c.ID)
		if cd, ok := commitmentCredits[c.Type]; ok {
			credit.EffectiveCost = "0"
			credit.CommitmentDiscountID = c.ID
			credit.CommitmentDiscountName = firstOf(c.FullName, c.Name)
			credit.CommitmentDiscountCategory = cd.category
			credit.CommitmentDiscountType = cd.kind
		}
		credit.Extras = make(map[string]string, len(extras)+4)
		for k, v := range extras {
			credit.Extras[k] = v
		}
		setExtra(credit.Extras, "x_CreditId", c.ID)
		setExtra(credit.Extras, "x_CreditName", c.Name)
		setExtra(credit.Extras, "x_CreditFullName", c.FullName)
		setExtra(credit.Extras, "x_CreditType", c.Type)
		if err := emit(&credit); err != nil {
			return err
		}
	}
	return nil
}

// chargeKind maps cost_type to FOCUS ChargeCategory, ChargeClass and
// ChargeFrequency.
func chargeKind(costType string) (category, class, frequency string, ok bool) {
	switch costType {
	case "", "regular":
		return "Usage", "", "Usage-Based", true
	case "tax":
		return "Tax", "", "One-Time", true
	case "adjustment":
		return "Adjustment", "Correction", "One-Time", true
	case "rounding_error", "rounding error":
		return "Adjustment", "", "One-Time", true
	}
	return "", "", "", false
}

// extras returns the export columns FOCUS has no place for, as x_* values.
func (r *Row) extras() map[string]string {
	m := make(map[string]string, 16)
	setExtra(m, "x_ServiceId", r.ServiceID)
	setExtra(m, "x_SkuDescription", r.SkuDescription)
	setExtra(m, "x_ProjectNumber", r.ProjectNumber)
	setExtra(m, "x_ProjectAncestryNumbers", r.ProjectAncestryNumbers)
	setExtra(m, "x_ProjectLabels", labelsJSON(r.ProjectLabels))
	setExtra(m, "x_SystemLabels", labelsJSON(r.SystemLabels))
	setExtra(m, "x_Location", r.Location)
	setExtra(m, "x_Country", r.Country)
	if !r.ExportTime.IsZero() {
		m["x_ExportTime"] = r.ExportTime.UTC().Format(time.RFC3339Nano)
	}
	setExtra(m, "x_CostType", r.CostType)
	setExtra(m, "x_InvoiceMonth", r.InvoiceMonth)
	setExtra(m, "x_CurrencyConversionRate", string(r.CurrencyConversionRate))
	setExtra(m, "x_PriceTierStartAmount", string(r.PriceTierStartAmount))
	setExtra(m, "x_PriceUnit", r.PriceUnit)
	setExtra(m, "x_PricePricingUnitQuantity", string(r.PricePricingUnitQty))
	setExtra(m, "x_AdjustmentId", r.AdjustmentID)
	setExtra(m, "x_AdjustmentDescription", r.AdjustmentDescription)
	setExtra(m, "x_AdjustmentMode", r.AdjustmentMode)
	setExtra(m, "x_AdjustmentType", r.AdjustmentType)
	setExtra(m, "x_TransactionType", r.TransactionType)
	setExtra(m, "x_SellerName", r.SellerName)
	return m
}

func setExtra(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// labelsJSON renders labels as a JSON object with sorted keys (a repeated
// key keeps its last value), or "" when there are none.
func labelsJSON(labels []Label) string {
	if len(labels) == 0 {
		return ""
	}
	m := make(map[string]string, len(labels))
	keys := make([]string, 0, len(labels))
	for _, l := range labels {
		if _, seen := m[l.Key]; !seen {
			keys = append(keys, l.Key)
		}
		m[l.Key] = l.Value
	}
	sort.Strings(keys)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		_ = enc.Encode(k) // strings always encode
		b.Truncate(b.Len() - 1)
		b.WriteByte(':')
		_ = enc.Encode(m[k])
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.String()
}

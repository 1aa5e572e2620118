package billing

import "time"

// LineItem is one FOCUS 1.2 cost-and-usage row (with the FOCUS 1.3 additions
// kept when present). Strings and Numbers are empty when the source has no
// value. Times are UTC. JSON columns hold the source's JSON object text.
type LineItem struct {
	BillingPeriodStart time.Time
	BillingPeriodEnd   time.Time
	ChargePeriodStart  time.Time
	ChargePeriodEnd    time.Time

	BillingCurrency string
	BilledCost      Number // never null
	EffectiveCost   Number // never null
	ListCost        Number
	ContractedCost  Number

	ListUnitPrice                      Number
	ContractedUnitPrice                Number
	PricingQuantity                    Number
	ConsumedQuantity                   Number
	CommitmentDiscountQuantity         Number
	PricingCurrencyContractedUnitPrice Number
	PricingCurrencyEffectiveCost       Number
	PricingCurrencyListUnitPrice       Number

	AvailabilityZone           string
	BillingAccountID           string
	BillingAccountName         string
	BillingAccountType         string
	CapacityReservationID      string
	CapacityReservationStatus  string
	ChargeCategory             string
	ChargeClass                string
	ChargeDescription          string
	ChargeFrequency            string
	CommitmentDiscountCategory string
	CommitmentDiscountID       string
	CommitmentDiscountName     string
	CommitmentDiscountStatus   string
	CommitmentDiscountType     string
	CommitmentDiscountUnit     string
	ConsumedUnit               string
	InvoiceID                  string
	InvoiceIssuerName          string
	PricingCategory            string
	PricingCurrency            string
	PricingUnit                string
	ProviderName               string
	PublisherName              string
	RegionID                   string
	RegionName                 string
	ResourceID                 string
	ResourceName               string
	ResourceType               string
	ServiceCategory            string
	ServiceName                string
	ServiceSubcategory         string
	SkuID                      string
	SkuMeter                   string
	SkuPriceID                 string
	SubAccountID               string
	SubAccountName             string
	SubAccountType             string
	// FOCUS 1.3
	ServiceProviderName   string
	HostProviderName      string
	AllocatedMethodID     string
	AllocatedResourceID   string
	AllocatedResourceName string

	// JSON object columns.
	Tags                   string
	SkuPriceDetails        string
	ContractApplied        string
	AllocatedMethodDetails string
	AllocatedTags          string

	// Extras holds provider-specific x_* columns (and any other column the
	// FOCUS version read does not define), by source column name.
	Extras map[string]string
	// ExtrasJSON, when not empty, is the extras already encoded as stores
	// keep them (see AppendJSONString): one JSON object of strings, keys
	// sorted, escaped as encoding/json escapes them. A reader whose rows
	// only go to a store may fill it instead of Extras, which is then nil;
	// stores write it as it is.
	ExtrasJSON string
}

// Kind is the type of a FOCUS column.
type Kind int

// Column kinds.
const (
	KindString Kind = iota
	KindDecimal
	KindTime
	KindJSON
)

// Field describes one FOCUS column of LineItem: its FOCUS name, its storage
// column name and how to reach it.
type Field struct {
	Name   string // FOCUS column name, e.g. "BilledCost"
	Column string // storage column name, e.g. "billed_cost"
	Kind   Kind
	// Exactly one accessor is set, matching Kind (KindJSON uses Str).
	Str  func(*LineItem) *string
	Num  func(*LineItem) *Number
	Time func(*LineItem) *time.Time
	// Required columns must be present in a FOCUS header and non-null.
	Required bool
}

func str(name, col string, f func(*LineItem) *string) Field {
	return Field{Name: name, Column: col, Kind: KindString, Str: f}
}
func js(name, col string, f func(*LineItem) *string) Field {
	return Field{Name: name, Column: col, Kind: KindJSON, Str: f}
}
func num(name, col string, f func(*LineItem) *Number) Field {
	return Field{Name: name, Column: col, Kind: KindDecimal, Num: f}
}
func reqNum(name, col string, f func(*LineItem) *Number) Field {
	return Field{Name: name, Column: col, Kind: KindDecimal, Num: f, Required: true}
}
func tm(name, col string, f func(*LineItem) *time.Time) Field {
	return Field{Name: name, Column: col, Kind: KindTime, Time: f, Required: true}
}

// Fields lists every FOCUS column of LineItem in storage order. Storage
// adapters and readers iterate it instead of naming columns one by one.
var Fields = []Field{
	tm("BillingPeriodStart", "billing_period_start", func(l *LineItem) *time.Time { return &l.BillingPeriodStart }),
	tm("BillingPeriodEnd", "billing_period_end", func(l *LineItem) *time.Time { return &l.BillingPeriodEnd }),
	tm("ChargePeriodStart", "charge_period_start", func(l *LineItem) *time.Time { return &l.ChargePeriodStart }),
	tm("ChargePeriodEnd", "charge_period_end", func(l *LineItem) *time.Time { return &l.ChargePeriodEnd }),
	{Name: "BillingCurrency", Column: "billing_currency", Kind: KindString, Required: true, Str: func(l *LineItem) *string { return &l.BillingCurrency }},
	reqNum("BilledCost", "billed_cost", func(l *LineItem) *Number { return &l.BilledCost }),
	reqNum("EffectiveCost", "effective_cost", func(l *LineItem) *Number { return &l.EffectiveCost }),
	num("ListCost", "list_cost", func(l *LineItem) *Number { return &l.ListCost }),
	num("ContractedCost", "contracted_cost", func(l *LineItem) *Number { return &l.ContractedCost }),
	num("ListUnitPrice", "list_unit_price", func(l *LineItem) *Number { return &l.ListUnitPrice }),
	num("ContractedUnitPrice", "contracted_unit_price", func(l *LineItem) *Number { return &l.ContractedUnitPrice }),
	num("PricingQuantity", "pricing_quantity", func(l *LineItem) *Number { return &l.PricingQuantity }),
	num("ConsumedQuantity", "consumed_quantity", func(l *LineItem) *Number { return &l.ConsumedQuantity }),
	num("CommitmentDiscountQuantity", "commitment_discount_quantity", func(l *LineItem) *Number { return &l.CommitmentDiscountQuantity }),
	num("PricingCurrencyContractedUnitPrice", "pricing_currency_contracted_unit_price", func(l *LineItem) *Number { return &l.PricingCurrencyContractedUnitPrice }),
	num("PricingCurrencyEffectiveCost", "pricing_currency_effective_cost", func(l *LineItem) *Number { return &l.PricingCurrencyEffectiveCost }),
	num("PricingCurrencyListUnitPrice", "pricing_currency_list_unit_price", func(l *LineItem) *Number { return &l.PricingCurrencyListUnitPrice }),
	str("AvailabilityZone", "availability_zone", func(l *LineItem) *string { return &l.AvailabilityZone }),
	str("BillingAccountId", "billing_account_id", func(l *LineItem) *string { return &l.BillingAccountID }),
	str("BillingAccountName", "billing_account_name", func(l *LineItem) *string { return &l.BillingAccountName }),
	str("BillingAccountType", "billing_account_type", func(l *LineItem) *string { return &l.BillingAccountType }),
	str("CapacityReservationId", "capacity_reservation_id", func(l *LineItem) *string { return &l.CapacityReservationID }),
	str("CapacityReservationStatus", "capacity_reservation_status", func(l *LineItem) *string { return &l.CapacityReservationStatus }),
	str("ChargeCategory", "charge_category", func(l *LineItem) *string { return &l.ChargeCategory }),
	str("ChargeClass", "charge_class", func(l *LineItem) *string { return &l.ChargeClass }),
	str("ChargeDescription", "charge_description", func(l *LineItem) *string { return &l.ChargeDescription }),
	str("ChargeFrequency", "charge_frequency", func(l *LineItem) *string { return &l.ChargeFrequency }),
	str("CommitmentDiscountCategory", "commitment_discount_category", func(l *LineItem) *string { return &l.CommitmentDiscountCategory }),
	str("CommitmentDiscountId", "commitment_discount_id", func(l *LineItem) *string { return &l.CommitmentDiscountID }),
	str("CommitmentDiscountName", "commitment_discount_name", func(l *LineItem) *string { return &l.CommitmentDiscountName }),
	str("CommitmentDiscountStatus", "commitment_discount_status", func(l *LineItem) *string { return &l.CommitmentDiscountStatus }),
	str("CommitmentDiscountType", "commitment_discount_type", func(l *LineItem) *string { return &l.CommitmentDiscountType }),
	str("CommitmentDiscountUnit", "commitment_discount_unit", func(l *LineItem) *string { return &l.CommitmentDiscountUnit }),
	str("ConsumedUnit", "consumed_unit", func(l *LineItem) *string { return &l.ConsumedUnit }),
	str("InvoiceId", "invoice_id", func(l *LineItem) *string { return &l.InvoiceID }),
	str("InvoiceIssuerName", "invoice_issuer_name", func(l *LineItem) *string { return &l.InvoiceIssuerName }),
	str("PricingCategory", "pricing_category", func(l *LineItem) *string { return &l.PricingCategory }),
	str("PricingCurrency", "pricing_currency", func(l *LineItem) *string { return &l.PricingCurrency }),
	str("PricingUnit", "pricing_unit", func(l *LineItem) *string { return &l.PricingUnit }),
	str("ProviderName", "provider_name", func(l *LineItem) *string { return &l.ProviderName }),
	str("PublisherName", "publisher_name", func(l *LineItem) *string { return &l.PublisherName }),
	str("RegionId", "region_id", func(l *LineItem) *string { return &l.RegionID }),
	str("RegionName", "region_name", func(l *LineItem) *string { return &l.RegionName }),
	str("ResourceId", "resource_id", func(l *LineItem) *string { return &l.ResourceID }),
	str("ResourceName", "resource_name", func(l *LineItem) *string { return &l.ResourceName }),
	str("ResourceType", "resource_type", func(l *LineItem) *string { return &l.ResourceType }),
	str("ServiceCategory", "service_category", func(l *LineItem) *string { return &l.ServiceCategory }),
	str("ServiceName", "service_name", func(l *LineItem) *string { return &l.ServiceName }),
	str("ServiceSubcategory", "service_subcategory", func(l *LineItem) *string { return &l.ServiceSubcategory }),
	str("SkuId", "sku_id", func(l *LineItem) *string { return &l.SkuID }),
	str("SkuMeter", "sku_meter", func(l *LineItem) *string { return &l.SkuMeter }),
	str("SkuPriceId", "sku_price_id", func(l *LineItem) *string { return &l.SkuPriceID }),
	str("SubAccountId", "sub_account_id", func(l *LineItem) *string { return &l.SubAccountID }),
	str("SubAccountName", "sub_account_name", func(l *LineItem) *string { return &l.SubAccountName }),
	str("SubAccountType", "sub_account_type", func(l *LineItem) *string { return &l.SubAccountType }),
	str("ServiceProviderName", "service_provider_name", func(l *LineItem) *string { return &l.ServiceProviderName }),
	str("HostProviderName", "host_provider_name", func(l *LineItem) *string { return &l.HostProviderName }),
	str("AllocatedMethodId", "allocated_method_id", func(l *LineItem) *string { return &l.AllocatedMethodID }),
	str("AllocatedResourceId", "allocated_resource_id", func(l *LineItem) *string { return &l.AllocatedResourceID }),
	str("AllocatedResourceName", "allocated_resource_name", func(l *LineItem) *string { return &l.AllocatedResourceName }),
	js("Tags", "tags", func(l *LineItem) *string { return &l.Tags }),
	js("SkuPriceDetails", "sku_price_details", func(l *LineItem) *string { return &l.SkuPriceDetails }),
	js("ContractApplied", "contract_applied", func(l *LineItem) *string { return &l.ContractApplied }),
	js("AllocatedMethodDetails", "allocated_method_details", func(l *LineItem) *string { return &l.AllocatedMethodDetails }),
	js("AllocatedTags", "allocated_tags", func(l *LineItem) *string { return &l.AllocatedTags }),
}

// FieldByName finds a FOCUS column by its exact FOCUS name.
func FieldByName(name string) (Field, bool) {
	f, ok := fieldIndex[name]
	return f, ok
}

var fieldIndex = func() map[string]Field {
	m := make(map[string]Field, len(Fields))
	for _, f := range Fields {
		m[f.Name] = f
	}
	return m
}()

// Provider returns the provider a line item is attributed to: ProviderName,
// or FOCUS 1.3's ServiceProviderName when only that is set.
func (l *LineItem) Provider() string {
	if l.ProviderName != "" {
		return l.ProviderName
	}
	return l.ServiceProviderName
}

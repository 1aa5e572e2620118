package awsbilling

// The CUR columns the FOCUS mapping reads, by canonical name.
const (
	colBillingPeriodStart = iota
	colBillingPeriodEnd
	colPayerAccount
	colPayerAccountName
	colInvoiceID
	colBillingEntity
	colUsageAccount
	colUsageAccountName
	colCurrency
	colUsageStart
	colUsageEnd
	colTimeInterval
	colLineItemType
	colUnblendedCost
	colUnblendedRate
	colNetUnblendedCost
	colUsageAmount
	colProductCode
	colResourceID
	colAvailabilityZone
	colDescription
	colLegalEntity
	colProductName
	colRegionCode
	colRegion
	colLocation
	colSKU
	colPublicCost
	colPublicRate
	colPricingUnit
	colPricingTerm
	colRateCode
	colSPEffective
	colSPNetEffective
	colSPArn
	colSPTotalCommitment
	colSPUsedCommitment
	colSPOfferingType
	colRIEffective
	colRINetEffective
	colRIArn
	colRIUnusedUpfront
	colRIUnusedRecurring
	colRINetUnusedUpfront
	colRINetUnusedRecurring
	colProductMap
	colTagsMap
	colCostCategoryMap
	numCols
)

// curColumn describes one known column: its canonical name, and whether its
// value is stored in a FOCUS column as is (so it is not repeated in Extras).
var curColumns = [numCols]struct {
	name  string
	focus bool
}{
	colBillingPeriodStart:   {"bill_billing_period_start_date", true},
	colBillingPeriodEnd:     {"bill_billing_period_end_date", true},
	colPayerAccount:         {"bill_payer_account_id", true},
	colPayerAccountName:     {"bill_payer_account_name", true},
	colInvoiceID:            {"bill_invoice_id", true},
	colBillingEntity:        {"bill_billing_entity", false},
	colUsageAccount:         {"line_item_usage_account_id", true},
	colUsageAccountName:     {"line_item_usage_account_name", true},
	colCurrency:             {"line_item_currency_code", true},
	colUsageStart:           {"line_item_usage_start_date", true},
	colUsageEnd:             {"line_item_usage_end_date", true},
	colTimeInterval:         {"identity_time_interval", true},
	colLineItemType:         {"line_item_line_item_type", false},
	colUnblendedCost:        {"line_item_unblended_cost", true},
	colUnblendedRate:        {"line_item_unblended_rate", true},
	colNetUnblendedCost:     {"line_item_net_unblended_cost", false},
	colUsageAmount:          {"line_item_usage_amount", true},
	colProductCode:          {"line_item_product_code", false},
	colResourceID:           {"line_item_resource_id", true},
	colAvailabilityZone:     {"line_item_availability_zone", true},
	colDescription:          {"line_item_line_item_description", true},
	colLegalEntity:          {"line_item_legal_entity", false},
	colProductName:          {"product_product_name", true},
	colRegionCode:           {"product_region_code", true},
	colRegion:               {"product_region", true},
	colLocation:             {"product_location", true},
	colSKU:                  {"product_sku", true},
	colPublicCost:           {"pricing_public_on_demand_cost", true},
	colPublicRate:           {"pricing_public_on_demand_rate", true},
	colPricingUnit:          {"pricing_unit", true},
	colPricingTerm:          {"pricing_term", false},
	colRateCode:             {"pricing_rate_code", true},
	colSPEffective:          {"savings_plan_savings_plan_effective_cost", false},
	colSPNetEffective:       {"savings_plan_net_savings_plan_effective_cost", false},
	colSPArn:                {"savings_plan_savings_plan_arn", true},
	colSPTotalCommitment:    {"savings_plan_total_commitment_to_date", false},
	colSPUsedCommitment:     {"savings_plan_used_commitment", false},
	colSPOfferingType:       {"savings_plan_offering_type", false},
	colRIEffective:          {"reservation_effective_cost", false},
	colRINetEffective:       {"reservation_net_effective_cost", false},
	colRIArn:                {"reservation_reservation_arn", true},
	colRIUnusedUpfront:      {"reservation_unused_amortized_upfront_fee_for_billing_period", false},
	colRIUnusedRecurring:    {"reservation_unused_recurring_fee", false},
	colRINetUnusedUpfront:   {"reservation_net_unused_amortized_upfront_fee_for_billing_period", false},
	colRINetUnusedRecurring: {"reservation_net_unused_recurring_fee", false},
	colProductMap:           {"product", true},
	colTagsMap:              {"resource_tags", true},
	colCostCategoryMap:      {"cost_category", true},
}

// required are the columns without which no FOCUS row can be made.
var required = []int{colBillingPeriodStart, colBillingPeriodEnd, colCurrency, colLineItemType, colUnblendedCost}

package azurebilling

import (
	"strings"

	"github.com/truecost/truecost/domain/billing"
)

// field is a cost-details column the mapping reads, whatever the column set
// calls it.
type field int

const (
	fCost field = iota
	fCurrency
	fDate
	fPeriodStart
	fPeriodEnd
	fSubscriptionID
	fSubscriptionName
	fBillingAccountID
	fBillingAccountName
	fBillingProfileID
	fBillingProfileName
	fAccountOwnerID
	fAccountName
	fChargeType
	fPricingModel
	fFrequency
	fServiceName
	fMeterCategory
	fConsumedService
	fServiceFamily
	fMeterName
	fLocation
	fZone
	fResourceID
	fResourceName
	fResourceType
	fProductName
	fProductID
	fQuantity
	fUnit
	fUnitPrice
	fPayGPrice
	fPayGCost
	fExchangeRate
	fPricingCurrency
	fCostInPricingCurrency
	fBenefitID
	fBenefitName
	fReservationID
	fReservationName
	fTags
	fInvoiceID
	fPartnerName
	fResellerName
	fPublisherName
	numFields
)

// aliases lists, per field, the lower-cased header names the EA, MCA and
// pay-as-you-go column sets use for it, preferred first.
var aliases = [numFields][]string{
	fCost:                  {"costinbillingcurrency", "pretaxcost", "cost"},
	fCurrency:              {"billingcurrencycode", "billingcurrency", "currency"},
	fDate:                  {"date", "usagedatetime", "usagedate"},
	fPeriodStart:           {"billingperiodstartdate"},
	fPeriodEnd:             {"billingperiodenddate"},
	fSubscriptionID:        {"subscriptionid", "subscriptionguid"},
	fSubscriptionName:      {"subscriptionname"},
	fBillingAccountID:      {"billingaccountid"},
	fBillingAccountName:    {"billingaccountname"},
	fBillingProfileID:      {"billingprofileid"},
	fBillingProfileName:    {"billingprofilename"},
	fAccountOwnerID:        {"accountownerid"},
	fAccountName:           {"accountname"},
	fChargeType:            {"chargetype"},
	fPricingModel:          {"pricingmodel"},
	fFrequency:             {"frequency"},
	fServiceName:           {"servicename"},
	fMeterCategory:         {"metercategory"},
	fConsumedService:       {"consumedservice"},
	fServiceFamily:         {"servicefamily"},
	fMeterName:             {"metername"},
	fLocation:              {"resourcelocation", "location"},
	fZone:                  {"availabilityzone"},
	fResourceID:            {"resourceid", "instanceid"},
	fResourceName:          {"resourcename"},
	fResourceType:          {"resourcetype"},
	fProductName:           {"productname", "product"},
	fProductID:             {"productid"},
	fQuantity:              {"quantity", "usagequantity"},
	fUnit:                  {"unitofmeasure"},
	fUnitPrice:             {"unitprice"},
	fPayGPrice:             {"paygprice"},
	fPayGCost:              {"paygcostinbillingcurrency"},
	fExchangeRate:          {"exchangeratepricingtobilling"},
	fPricingCurrency:       {"pricingcurrency", "pricingcurrencycode"},
	fCostInPricingCurrency: {"costinpricingcurrency"},
	fBenefitID:             {"benefitid"},
	fBenefitName:           {"benefitname"},
	fReservationID:         {"reservationid"},
	fReservationName:       {"reservationname"},
	fTags:                  {"tags"},
	fInvoiceID:             {"invoiceid"},
	fPartnerName:           {"partnername"},
	fResellerName:          {"resellername"},
	fPublisherName:         {"publishername"},
}

// layout says where each field sits in a cost-details header.
type layout struct {
	names []string       // header as written, BOM and spaces trimmed
	at    [numFields]int // column index per field, -1 when absent
	extra []bool         // columns kept as x_<name> extras
}

// cleanHeader strips a byte-order mark and surrounding spaces from each
// column name.
func cleanHeader(h []string) []string {
	out := make([]string, len(h))
	for i, name := range h {
		if i == 0 {
			name = strings.TrimPrefix(name, "\uFEFF")
		}
		out[i] = strings.TrimSpace(name)
	}
	return out
}

// newLayout resolves a cleaned cost-details header. It returns the FOCUS
// names the file lacks when it is not a cost-details header.
func newLayout(names []string) (*layout, []string) {
	l := &layout{names: names, extra: make([]bool, len(names))}
	pos := make(map[string]int, len(names))
	for i, n := range names {
		k := strings.ToLower(n)
		if _, dup := pos[k]; !dup {
			pos[k] = i
		}
		l.extra[i] = true
	}
	for f := range numFields {
		l.at[f] = -1
		for _, a := range aliases[f] {
			if i, ok := pos[a]; ok {
				l.at[f] = i
				l.extra[i] = false
				break
			}
		}
	}
	var missing []string
	if l.at[fCost] < 0 {
		missing = append(missing, "CostInBillingCurrency (or Cost, PreTaxCost)")
	}
	if l.at[fCurrency] < 0 {
		missing = append(missing, "BillingCurrency (or BillingCurrencyCode)")
	}
	if l.at[fDate] < 0 {
		missing = append(missing, "Date")
	}
	return l, missing
}

// focusNames maps lower-cased FOCUS column names to their spelling, plus the
// names FOCUS 1.0-preview used for columns renamed since.
var focusNames = func() map[string]string {
	m := make(map[string]string, len(billing.Fields)+4)
	for _, f := range billing.Fields {
		m[strings.ToLower(f.Name)] = f.Name
	}
	return m
}()

var previewRenames = map[string]string{
	"chargetype":    "ChargeCategory",
	"amortizedcost": "EffectiveCost",
}

// normalizeFOCUSHeader spells a header's FOCUS columns the way the
// specification does (Microsoft's files are FOCUS-cased, but headers
// re-saved by tools are not always) and renames 1.0-preview columns when
// their successor is absent. Other columns are kept as written.
func normalizeFOCUSHeader(names []string) []string {
	out := make([]string, len(names))
	have := make(map[string]bool, len(names))
	for i, n := range names {
		if f, ok := focusNames[strings.ToLower(n)]; ok {
			n = f
		}
		out[i] = n
		have[n] = true
	}
	for i, n := range out {
		if to, ok := previewRenames[strings.ToLower(n)]; ok && !have[to] {
			out[i] = to
			have[to] = true
		}
	}
	return out
}

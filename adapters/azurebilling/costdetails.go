package azurebilling

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain/billing"
)

// costMapper turns cost-details records into FOCUS line items, following
// Microsoft's published conversion of cost details to FOCUS.
type costMapper struct {
	lay     *layout
	dataset Dataset
	// period is the billing period the file belongs to, used when the file
	// has no billing-period columns; zero means the month of each row.
	period time.Time
	// purchasesOnly keeps only commitment purchases and refunds: what an
	// ActualCost file adds to an AmortizedCost file of the same month.
	purchasesOnly bool

	dates map[string]time.Time // parsed date texts, bounded
	tags  struct{ in, out string }
}

// mapError is bad input in one column of a row.
type mapError struct {
	column string
	err    error
}

func (e *mapError) Error() string { return e.column + ": " + e.err.Error() }

func newCostMapper(lay *layout, o readOptions) *costMapper {
	return &costMapper{lay: lay, dataset: o.dataset, period: o.period, purchasesOnly: o.purchasesOnly, dates: make(map[string]time.Time)}
}

func (m *costMapper) get(rec []string, f field) string {
	i := m.lay.at[f]
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func (m *costMapper) bad(f field, format string, args ...any) error {
	return &mapError{column: m.lay.names[m.lay.at[f]], err: fmt.Errorf(format, args...)}
}

func (m *costMapper) number(rec []string, f field) (billing.Number, error) {
	v := m.get(rec, f)
	if v == "" {
		return "", nil
	}
	n, err := billing.ParseNumber(v)
	if err != nil {
		return "", &mapError{column: m.lay.names[m.lay.at[f]], err: err}
	}
	return n, nil
}

func (m *costMapper) date(rec []string, f field) (time.Time, error) {
	v := m.get(rec, f)
	if t, ok := m.dates[v]; ok {
		return t, nil
	}
	t, err := parseDate(v)
	if err != nil {
		return time.Time{}, &mapError{column: m.lay.names[m.lay.at[f]], err: err}
	}
	if len(m.dates) < 4096 {
		m.dates[v] = t
	}
	return t, nil
}

// parseDate reads the dates cost details use: 2024-09-01, 09/01/2024
// (month first, as US-formatted exports write it), or a timestamp.
func parseDate(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, errors.New("must not be empty (want a date such as 2024-09-01)")
	}
	if strings.Contains(v, "/") {
		if t, err := time.Parse("1/2/2006", v); err == nil {
			return t, nil
		}
		if t, err := time.Parse("1/2/2006 15:04:05", v); err == nil {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("%q is not a date (want 2024-09-01 or 09/01/2024)", v)
	}
	t, err := focusfile.ParseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (want 2024-09-01 or 09/01/2024)", v)
	}
	return t, nil
}

// normalizeTags turns the Tags cell into a JSON object: cost details write
// it as an object, or as its members without braces ("k": "v").
func (m *costMapper) normalizeTags(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if v == m.tags.in {
		return m.tags.out, nil
	}
	out := v
	if !strings.HasPrefix(out, "{") {
		out = "{" + out + "}"
	}
	if !json.Valid([]byte(out)) {
		return "", fmt.Errorf("%q is not a JSON object of tags", truncate(v, 80))
	}
	m.tags.in, m.tags.out = v, out
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// mapRow fills item from one record. It returns false for a row the
// mapper leaves out.
func (m *costMapper) mapRow(rec []string, item *billing.LineItem) (bool, error) {
	chargeType := m.get(rec, fChargeType)
	ct := strings.ToLower(chargeType)
	pm := strings.ToLower(strings.ReplaceAll(m.get(rec, fPricingModel), " ", ""))
	commitment := pm == "reservation" || pm == "savingsplan"
	purchase := ct == "purchase" || ct == "refund"
	if m.purchasesOnly && !(purchase && commitment) {
		return false, nil
	}

	*item = billing.LineItem{ProviderName: "Microsoft", InvoiceIssuerName: "Microsoft", PublisherName: "Microsoft"}
	cost, err := m.number(rec, fCost)
	if err != nil {
		return false, err
	}
	if cost == "" {
		return false, m.bad(fCost, "must not be empty (want the cost in the billing currency)")
	}
	if item.BillingCurrency = m.get(rec, fCurrency); item.BillingCurrency == "" {
		return false, m.bad(fCurrency, "must not be empty (want a currency code such as USD)")
	}
	day, err := m.date(rec, fDate)
	if err != nil {
		return false, err
	}
	item.ChargePeriodStart, item.ChargePeriodEnd = day, day.AddDate(0, 0, 1)
	if err := m.billingPeriod(rec, day, item); err != nil {
		return false, err
	}

	// Charge classification.
	switch ct {
	case "", "usage", "unusedreservation", "unusedsavingsplan":
		item.ChargeCategory = "Usage"
	case "purchase":
		item.ChargeCategory = "Purchase"
	case "refund":
		item.ChargeCategory, item.ChargeClass = "Purchase", "Correction"
	case "credit":
		item.ChargeCategory = "Credit"
	case "tax":
		item.ChargeCategory = "Tax"
	default:
		item.ChargeCategory = "Adjustment"
	}
	unused := ct == "unusedreservation" || ct == "unusedsavingsplan"

	// Costs: the invoice sees commitment purchases when bought; the
	// amortized view spreads them over the usage they cover.
	item.BilledCost, item.EffectiveCost = cost, cost
	switch m.dataset {
	case AmortizedCost:
		if commitment && item.ChargeCategory == "Usage" {
			item.BilledCost = "0"
		}
	default:
		if commitment && purchase {
			item.EffectiveCost = "0"
		}
	}
	if item.ListCost, err = m.number(rec, fPayGCost); err != nil {
		return false, err
	}

	switch strings.ToLower(m.get(rec, fFrequency)) {
	case "onetime", "one-time":
		item.ChargeFrequency = "One-Time"
	case "recurring":
		item.ChargeFrequency = "Recurring"
	case "usagebased", "usage-based":
		item.ChargeFrequency = "Usage-Based"
	case "":
		if item.ChargeCategory == "Usage" {
			item.ChargeFrequency = "Usage-Based"
		} else if item.ChargeCategory == "Purchase" {
			item.ChargeFrequency = "One-Time"
		}
	default:
		item.ChargeFrequency = "Other"
	}
	switch pm {
	case "ondemand":
		item.PricingCategory = "Standard"
	case "spot":
		item.PricingCategory = "Dynamic"
	case "reservation", "savingsplan":
		item.PricingCategory = "Committed"
	}
	m.commitment(rec, pm, unused, item)

	if err := m.prices(rec, item); err != nil {
		return false, err
	}
	if item.ChargeCategory == "Usage" && !unused {
		if item.ConsumedQuantity, err = m.number(rec, fQuantity); err != nil {
			return false, err
		}
		if item.ConsumedQuantity != "" {
			item.ConsumedUnit = m.get(rec, fUnit)
		}
	}

	m.accounts(rec, item)
	m.service(rec, item)
	item.RegionID, item.RegionName = region(m.get(rec, fLocation))
	item.AvailabilityZone = m.get(rec, fZone)
	item.ResourceID = m.get(rec, fResourceID)
	item.ResourceName = m.get(rec, fResourceName)
	if item.ResourceName == "" && item.ResourceID != "" {
		item.ResourceName = item.ResourceID[strings.LastIndex(item.ResourceID, "/")+1:]
	}
	item.ResourceType = m.get(rec, fResourceType)
	item.ChargeDescription = m.get(rec, fProductName)
	item.SkuID = m.get(rec, fProductID)
	item.SkuMeter = m.get(rec, fMeterName)
	item.InvoiceID = m.get(rec, fInvoiceID)
	if p := m.get(rec, fPublisherName); p != "" {
		item.PublisherName = p
	}
	if p := m.get(rec, fPartnerName); p != "" {
		item.InvoiceIssuerName = p
	} else if p := m.get(rec, fResellerName); p != "" {
		item.InvoiceIssuerName = p
	}
	if i := m.lay.at[fTags]; i >= 0 {
		if item.Tags, err = m.normalizeTags(rec[i]); err != nil {
			return false, &mapError{column: m.lay.names[i], err: err}
		}
	}
	for i, keep := range m.lay.extra {
		if keep && rec[i] != "" {
			if item.Extras == nil {
				item.Extras = make(map[string]string)
			}
			item.Extras["x_"+m.lay.names[i]] = rec[i]
		}
	}
	return true, nil
}

// billingPeriod sets the billing period from BillingPeriodStartDate and the
// inclusive BillingPeriodEndDate, else from the file's period or the row's
// month.
func (m *costMapper) billingPeriod(rec []string, day time.Time, item *billing.LineItem) error {
	var start time.Time
	switch {
	case m.get(rec, fPeriodStart) != "":
		t, err := m.date(rec, fPeriodStart)
		if err != nil {
			return err
		}
		start = t
	case !m.period.IsZero():
		start = m.period
	default:
		start = billing.MonthStart(day)
	}
	end := start.AddDate(0, 1, 0)
	if m.get(rec, fPeriodEnd) != "" {
		t, err := m.date(rec, fPeriodEnd)
		if err != nil {
			return err
		}
		if !t.After(start) {
			return m.bad(fPeriodEnd, "is %s, not after the billing period start %s", t.Format(time.DateOnly), start.Format(time.DateOnly))
		}
		// The column holds the last day; an exclusive end is taken as is.
		if !t.Equal(end) {
			end = t.AddDate(0, 0, 1)
		}
	}
	item.BillingPeriodStart, item.BillingPeriodEnd = start, end
	return nil
}

// commitment fills the commitment-discount columns from the benefit (MCA)
// or reservation (EA) columns.
func (m *costMapper) commitment(rec []string, pm string, unused bool, item *billing.LineItem) {
	id, name := m.get(rec, fBenefitID), m.get(rec, fBenefitName)
	if id == "" {
		id, name = m.get(rec, fReservationID), m.get(rec, fReservationName)
	}
	if id == "" {
		return
	}
	item.CommitmentDiscountID, item.CommitmentDiscountName = id, name
	lid := strings.ToLower(id)
	switch {
	case strings.Contains(lid, "/microsoft.capacity/"), !strings.Contains(lid, "/microsoft.billingbenefits/") && pm == "reservation":
		item.CommitmentDiscountCategory, item.CommitmentDiscountType = "Usage", "Reservation"
	case strings.Contains(lid, "/microsoft.billingbenefits/"), pm == "savingsplan":
		item.CommitmentDiscountCategory, item.CommitmentDiscountType = "Spend", "Savings Plan"
	}
	switch {
	case unused:
		item.CommitmentDiscountStatus = "Unused"
	case item.ChargeCategory == "Usage" && (pm == "reservation" || pm == "savingsplan"):
		item.CommitmentDiscountStatus = "Used"
	}
}

// prices fills unit prices. MCA files give prices in the pricing currency
// with an exchange rate to the billing currency; the billing-currency price
// is their exact product.
func (m *costMapper) prices(rec []string, item *billing.LineItem) error {
	payg, err := m.number(rec, fPayGPrice)
	if err != nil {
		return err
	}
	unit, err := m.number(rec, fUnitPrice)
	if err != nil {
		return err
	}
	rate, err := m.number(rec, fExchangeRate)
	if err != nil {
		return err
	}
	pc := m.get(rec, fPricingCurrency)
	if pc != "" {
		item.PricingCurrency = pc
		item.PricingCurrencyListUnitPrice, item.PricingCurrencyContractedUnitPrice = payg, unit
		if item.PricingCurrencyEffectiveCost, err = m.number(rec, fCostInPricingCurrency); err != nil {
			return err
		}
	}
	convert := func(n billing.Number) billing.Number {
		if n == "" || pc == "" || strings.EqualFold(pc, item.BillingCurrency) || rate == "" {
			return n
		}
		return billing.Number(n.Decimal().Mul(rate.Decimal()).String())
	}
	item.ListUnitPrice, item.ContractedUnitPrice = convert(payg), convert(unit)
	return nil
}

// accounts fills the billing account (EA billing account, else MCA billing
// profile, else the pay-as-you-go account owner) and the subscription.
func (m *costMapper) accounts(rec []string, item *billing.LineItem) {
	switch {
	case m.get(rec, fBillingAccountID) != "":
		item.BillingAccountID, item.BillingAccountName = m.get(rec, fBillingAccountID), m.get(rec, fBillingAccountName)
		item.BillingAccountType = "Billing Account"
	case m.get(rec, fBillingProfileID) != "":
		item.BillingAccountID, item.BillingAccountName = m.get(rec, fBillingProfileID), m.get(rec, fBillingProfileName)
		item.BillingAccountType = "Billing Profile"
	default:
		item.BillingAccountID, item.BillingAccountName = m.get(rec, fAccountOwnerID), m.get(rec, fAccountName)
	}
	if item.SubAccountID = m.get(rec, fSubscriptionID); item.SubAccountID != "" {
		item.SubAccountName = m.get(rec, fSubscriptionName)
		item.SubAccountType = "Subscription"
	}
}

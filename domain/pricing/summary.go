package pricing

import (
	"context"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

// OrgTotal is one organization's month in one currency: what it cost the
// reseller and what it is billed.
type OrgTotal struct {
	OrgID    string
	Currency string
	Cost     decimal.Decimal
	Resale   decimal.Decimal
}

// TotalsStore sums organizations' months.
type TotalsStore interface {
	// MonthTotals sums each organization's month per currency, charges
	// included; organizations without data have no total.
	MonthTotals(ctx context.Context, orgIDs []string, month time.Time) ([]OrgTotal, error)
}

// CustomerSummary is a reseller's customer's month in one currency; a
// customer without data has one summary with no currency and zeros.
type CustomerSummary struct {
	Org      tenancy.Organization
	Currency string
	Cost     decimal.Decimal
	Resale   decimal.Decimal
	Margin   decimal.Decimal
}

// CustomerSummaries lists the caller's reseller's customers with their
// month's cost, resale and margin, by name, with one database query for
// all of them.
func (s *Service) CustomerSummaries(ctx context.Context, p tenancy.Principal, month time.Time) ([]CustomerSummary, error) {
	if p.IsSystem() || p.Org.Kind != tenancy.Reseller {
		return nil, domain.Errorf(domain.Forbidden, "only resellers have customers")
	}
	customers, err := s.orgs.CustomersOf(ctx, p.Org.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(customers))
	for i, c := range customers {
		ids[i] = c.ID
	}
	var totals []OrgTotal
	if len(ids) > 0 {
		if totals, err = s.store.MonthTotals(ctx, ids, billing.MonthStart(month)); err != nil {
			return nil, err
		}
	}
	byOrg := map[string][]OrgTotal{}
	for _, t := range totals {
		byOrg[t.OrgID] = append(byOrg[t.OrgID], t)
	}
	var out []CustomerSummary
	for _, c := range customers {
		ts := byOrg[c.ID]
		if len(ts) == 0 {
			out = append(out, CustomerSummary{Org: c})
			continue
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i].Currency < ts[j].Currency })
		for _, t := range ts {
			out = append(out, CustomerSummary{Org: c, Currency: t.Currency, Cost: t.Cost, Resale: t.Resale, Margin: t.Resale.Sub(t.Cost)})
		}
	}
	return out, nil
}

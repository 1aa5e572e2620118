package billing

import (
	"time"

	"github.com/shopspring/decimal"
)

// RollupKey is the grain of the daily aggregates the cost report reads: one
// charge day of one billing period, by the common FOCUS dimensions. Tags is
// the line item's tag JSON as written, parsed only when a report asks.
type RollupKey struct {
	Day                time.Time
	BillingPeriodStart time.Time
	ProviderName       string
	ServiceName        string
	ServiceCategory    string
	RegionID           string
	RegionName         string
	BillingAccountID   string
	BillingAccountName string
	SubAccountID       string
	SubAccountName     string
	ChargeCategory     string
	ChargeClass        string
	Currency           string
	Tags               string
}

// Rollup is the sum of the line items of one RollupKey. ListCost and
// ContractedCost count nulls as zero.
type Rollup struct {
	RollupKey
	OrgID          string
	BilledCost     decimal.Decimal
	EffectiveCost  decimal.Decimal
	ListCost       decimal.Decimal
	ContractedCost decimal.Decimal
	Rows           int64
}

func rollupKeyOf(l *LineItem) RollupKey {
	return RollupKey{
		Day:                Day(l.ChargePeriodStart),
		BillingPeriodStart: l.BillingPeriodStart,
		ProviderName:       l.Provider(),
		ServiceName:        l.ServiceName,
		ServiceCategory:    l.ServiceCategory,
		RegionID:           l.RegionID,
		RegionName:         l.RegionName,
		BillingAccountID:   l.BillingAccountID,
		BillingAccountName: l.BillingAccountName,
		SubAccountID:       l.SubAccountID,
		SubAccountName:     l.SubAccountName,
		ChargeCategory:     l.ChargeCategory,
		ChargeClass:        l.ChargeClass,
		Currency:           l.BillingCurrency,
		Tags:               l.Tags,
	}
}

// rollupBuilder aggregates line items as they stream past; its memory grows
// with the number of distinct keys, not with the number of rows.
type rollupBuilder struct {
	sums map[RollupKey]*Rollup
}

func newRollupBuilder() *rollupBuilder {
	return &rollupBuilder{sums: make(map[RollupKey]*Rollup)}
}

func (b *rollupBuilder) add(l *LineItem) {
	k := rollupKeyOf(l)
	r := b.sums[k]
	if r == nil {
		r = &Rollup{RollupKey: k}
		b.sums[k] = r
	}
	r.BilledCost = r.BilledCost.Add(l.BilledCost)
	r.EffectiveCost = r.EffectiveCost.Add(l.EffectiveCost)
	if l.ListCost.Valid {
		r.ListCost = r.ListCost.Add(l.ListCost.Decimal)
	}
	if l.ContractedCost.Valid {
		r.ContractedCost = r.ContractedCost.Add(l.ContractedCost.Decimal)
	}
	r.Rows++
}

func (b *rollupBuilder) rollups(orgID string) []Rollup {
	out := make([]Rollup, 0, len(b.sums))
	for _, r := range b.sums {
		r.OrgID = orgID
		out = append(out, *r)
	}
	return out
}

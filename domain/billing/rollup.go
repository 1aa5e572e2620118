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
	sums map[RollupKey]*rollupSums
}

type rollupSums struct {
	billed, effective, list, contracted Sum
	rows                                int64
}

func newRollupBuilder() *rollupBuilder {
	return &rollupBuilder{sums: make(map[RollupKey]*rollupSums)}
}

func (b *rollupBuilder) add(l *LineItem) {
	k := rollupKeyOf(l)
	r := b.sums[k]
	if r == nil {
		r = &rollupSums{}
		b.sums[k] = r
	}
	r.billed.Add(l.BilledCost)
	r.effective.Add(l.EffectiveCost)
	r.list.Add(l.ListCost)
	r.contracted.Add(l.ContractedCost)
	r.rows++
}

func (b *rollupBuilder) rollups(orgID string) []Rollup {
	out := make([]Rollup, 0, len(b.sums))
	for k, r := range b.sums {
		out = append(out, Rollup{RollupKey: k, OrgID: orgID, BilledCost: r.billed.Decimal(),
			EffectiveCost: r.effective.Decimal(), ListCost: r.list.Decimal(), ContractedCost: r.contracted.Decimal(), Rows: r.rows})
	}
	return out
}

package billing

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Money is an exact amount in one currency.
type Money struct {
	Amount   decimal.Decimal
	Currency string
}

// Totals sums amounts per currency. The zero value is not usable; use
// make(Totals).
type Totals map[string]decimal.Decimal

// Add adds amount to currency's total.
func (t Totals) Add(currency string, amount decimal.Decimal) {
	t[currency] = t[currency].Add(amount)
}

// Money returns one Money per currency, sorted by currency code.
func (t Totals) Money() []Money {
	out := make([]Money, 0, len(t))
	for c, a := range t {
		out = append(out, Money{Amount: a, Currency: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// MonthStart returns the first instant of t's month in UTC.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Day returns the UTC midnight starting t's day.
func Day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

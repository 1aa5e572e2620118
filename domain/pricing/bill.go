package pricing

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// LineKind tells a bill's usage lines from the charges pricing adds.
type LineKind string

// Bill line kinds: usage of a provider's service, or one of the charges.
const (
	Usage LineKind = "USAGE"
)

// BillLine is one line of a bill: a provider's service in one currency at
// resale, or a charge pricing added (support, discount or uplift, credit).
// Cost is what the reseller pays for it (zero for charges) and Margin is
// Resale − Cost.
type BillLine struct {
	Kind        LineKind // Usage or a ChargeKind
	Provider    string
	Service     string
	Description string
	Currency    string
	Cost        decimal.Decimal
	Resale      decimal.Decimal
	Margin      decimal.Decimal
	// RestatedMonth is, on a Restatement line, the closed month whose
	// restatement it carries; zero otherwise.
	RestatedMonth time.Time
}

// BillTotal sums a bill's lines of one currency.
type BillTotal struct {
	Currency string
	Cost     decimal.Decimal
	Resale   decimal.Decimal
	Margin   decimal.Decimal
}

// Bill is what a customer is billed for a month (its billing period), one
// total per currency: the lines add up to the totals exactly.
type Bill struct {
	OrgID  string
	Month  time.Time
	Lines  []BillLine
	Totals []BillTotal
	// Closed is set on the snapshot of a closed month, closed at
	// ClosedAt.
	Closed   bool
	ClosedAt time.Time
}

// NewBill orders the lines (usage first, by currency, provider and
// service; then the charges in the order they apply) and sums them.
func NewBill(orgID string, month time.Time, lines []BillLine) Bill {
	rank := map[LineKind]int{Usage: 0, LineKind(Adjustment): 1, LineKind(Support): 2, LineKind(CreditKind): 3, LineKind(Restatement): 4}
	sort.SliceStable(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if rank[a.Kind] != rank[b.Kind] {
			return rank[a.Kind] < rank[b.Kind]
		}
		if a.Currency != b.Currency {
			return a.Currency < b.Currency
		}
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return a.Service < b.Service
	})
	byCur := map[string]*BillTotal{}
	var order []string
	for i := range lines {
		l := &lines[i]
		l.Margin = l.Resale.Sub(l.Cost)
		t := byCur[l.Currency]
		if t == nil {
			t = &BillTotal{Currency: l.Currency}
			byCur[l.Currency] = t
			order = append(order, l.Currency)
		}
		t.Cost = t.Cost.Add(l.Cost)
		t.Resale = t.Resale.Add(l.Resale)
		t.Margin = t.Margin.Add(l.Margin)
	}
	sort.Strings(order)
	b := Bill{OrgID: orgID, Month: month, Lines: lines}
	for _, c := range order {
		b.Totals = append(b.Totals, *byCur[c])
	}
	return b
}

// Rows are the bill as a table, as its CSV download writes it: a header,
// one row per line, then one total row per currency. withCost adds the
// cost and margin columns, for the reseller only.
func (b Bill) Rows(withCost bool) [][]string {
	head := []string{"month", "kind", "provider", "service", "description", "currency", "amount"}
	if withCost {
		head = append(head, "cost", "margin")
	}
	rows := [][]string{head}
	month := b.Month.Format("2006-01")
	for _, l := range b.Lines {
		row := []string{month, string(l.Kind), l.Provider, l.Service, l.Description, l.Currency, l.Resale.String()}
		if withCost {
			row = append(row, l.Cost.String(), l.Margin.String())
		}
		rows = append(rows, row)
	}
	for _, t := range b.Totals {
		row := []string{month, "TOTAL", "", "", "", t.Currency, t.Resale.String()}
		if withCost {
			row = append(row, t.Cost.String(), t.Margin.String())
		}
		rows = append(rows, row)
	}
	return rows
}

package pricing_test

import (
	"testing"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
)

func TestClosedErrorNamesTheMonthAndTheCustomer(t *testing.T) {
	t.Parallel()
	oct := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		org  tenancy.Organization
		want string
	}{
		{tenancy.Organization{Name: "Acme", Slug: "acme"}, "October 2026 is closed for Acme"},
		{tenancy.Organization{Slug: "acme"}, "October 2026 is closed for acme"},
	}
	for _, tt := range tests {
		err := pricing.ClosedError(oct, tt.org)
		if domain.ErrorCode(err) != domain.Conflict || domain.ErrorMessage(err) != tt.want {
			t.Errorf("got %v (%s), want conflict %q", err, domain.ErrorCode(err), tt.want)
		}
	}
}

func TestBillListsRestatementsAfterTheCharges(t *testing.T) {
	t.Parallel()
	b := pricing.NewBill("o", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), []pricing.BillLine{
		{Kind: pricing.LineKind(pricing.Restatement), Currency: "USD", Resale: d("33")},
		{Kind: pricing.LineKind(pricing.Support), Currency: "USD", Resale: d("6")},
		{Kind: pricing.Usage, Currency: "USD", Cost: d("200"), Resale: d("220")},
	})
	var kinds []pricing.LineKind
	for _, l := range b.Lines {
		kinds = append(kinds, l.Kind)
	}
	if len(kinds) != 3 || kinds[0] != pricing.Usage || kinds[2] != pricing.LineKind(pricing.Restatement) {
		t.Errorf("line order %v, want usage first and the restatement last", kinds)
	}
	if len(b.Totals) != 1 || !b.Totals[0].Resale.Equal(d("259")) || !b.Totals[0].Margin.Equal(d("59")) {
		t.Errorf("totals %+v, want resale 259, margin 59", b.Totals)
	}
}

package billing_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

func TestLocateRowErrorPlacesRowErrorsAndPassesOthersThrough(t *testing.T) {
	rowErr := fmt.Errorf("check: %w", &billing.RowError{Column: "BillingPeriodStart", Message: "belongs to another period"})
	err := billing.LocateRowError("sep.csv", 7, rowErr)
	if want := "sep.csv: line 7, column BillingPeriodStart: belongs to another period"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if domain.ErrorCode(err) != domain.Invalid {
		t.Errorf("code %s, want invalid", domain.ErrorCode(err))
	}
	other := errors.New("store down")
	if got := billing.LocateRowError("sep.csv", 7, other); got != other {
		t.Errorf("got %v, want the error unchanged", got)
	}
}

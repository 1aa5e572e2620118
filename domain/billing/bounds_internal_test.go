package billing

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckNumberBoundsMagnitudeAndScale(t *testing.T) {
	for _, tc := range []struct {
		n    Number
		want string // "" for accepted
	}{
		{"0", ""},
		{"-0.000", ""},
		{"0e9999", ""},
		{"1.25", ""},
		{"1.7e-05", ""},
		{"99999999999999999999", ""},             // 20 digits
		{"-99999999999999999999.5", ""},          // 20 digits and a fraction
		{"100000000000000000000", "too large"},   // 21 digits
		{"1e19", ""},                             // 20 digits
		{"1e20", "too large"},                    // 21 digits
		{"1e400", "too large"},                   // the example
		{"0000000000000000000000000001.5", ""},   // leading zeros do not count
		{"0.123456789012345678901234567890", ""}, // 30 decimals
		{"0.1234567890123456789012345678901", "too many decimals"},
		{"1.5000000000000000000000000000000000", ""}, // trailing zeros do not count
		{"1e-30", ""},
		{"1e-31", "too many decimals"},
		{"12.5e-30", "too many decimals"}, // 1.25e-29: 31 decimals
	} {
		err := checkNumber(tc.n)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.n, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.n, err, tc.want)
		}
	}
}

func TestISOCurrencyUpperCasesKnownCodes(t *testing.T) {
	for in, want := range map[string]string{"USD": "USD", "usd": "USD", "eUr": "EUR", "JPY": "JPY",
		"US Dollars $$": "", "US": "", "USDD": "", "XYZ": "", "": "", "U$D": ""} {
		got, ok := ISOCurrency(in)
		if (want == "") == ok || got != want {
			t.Errorf("ISOCurrency(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestCheckBoundsFindsANULInPreEncodedExtras(t *testing.T) {
	l := LineItem{BillingCurrency: "USD", BilledCost: "1", EffectiveCost: "1",
		BillingPeriodStart: EarliestTime, BillingPeriodEnd: EarliestTime, ChargePeriodStart: EarliestTime, ChargePeriodEnd: EarliestTime}
	for _, tc := range []struct{ extras, column string }{
		{`{"x_A":"1","x_B":"a\u0000b"}`, "x_B"},
		{`{"x_A":"a\\u0000b"}`, ""}, // a backslash, then text
		{`{"x_A":"plain"}`, ""},
	} {
		l.ExtrasJSON = tc.extras
		err := checkBounds(&l)
		var rowErr *RowError
		switch {
		case tc.column == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.extras, err)
		case tc.column != "" && (!errors.As(err, &rowErr) || rowErr.Column != tc.column || !strings.Contains(rowErr.Message, "NUL")):
			t.Errorf("%s: %v, want a NUL byte in %s", tc.extras, err, tc.column)
		}
	}
}

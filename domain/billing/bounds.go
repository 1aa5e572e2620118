package billing

import (
	"fmt"
	"strings"
	"time"
)

// Bounds on the values a line item may hold. They are checked before
// anything reaches the store, so every reader and both databases refuse
// the same values with the same error.
const (
	// MaxIntegerDigits is how many digits a number may have before its
	// decimal point: 10^20 is far past any bill, quantity or price.
	MaxIntegerDigits = 20
	// MaxFractionDigits is how many significant digits a number may have
	// after its decimal point, enough for prices per byte and the shortest
	// text of any double a provider writes.
	MaxFractionDigits = 30
)

// EarliestTime and LatestTime bound every period start and end: a cost
// outside them is a mistake in the source, not a bill.
var (
	EarliestTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	LatestTime   = time.Date(2101, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkBounds refuses values no bill can hold: numbers past the bounds,
// times outside [EarliestTime, LatestTime], periods that end before they
// start, a billing currency that is not an ISO 4217 code (the code is
// upper-cased in place) and text holding NUL bytes.
func checkBounds(l *LineItem) error {
	cur, ok := ISOCurrency(l.BillingCurrency)
	if !ok {
		return &RowError{Column: "BillingCurrency", Message: fmt.Sprintf("%q is not an ISO 4217 currency code (three letters, e.g. USD)", l.BillingCurrency)}
	}
	l.BillingCurrency = cur
	for i := range Fields {
		f := &Fields[i]
		switch f.Kind {
		case KindDecimal:
			if n := *f.Num(l); n != "" {
				if err := checkNumber(n); err != nil {
					return &RowError{Column: f.Name, Message: err.Error()}
				}
			}
		case KindTime:
			t := *f.Time(l)
			if t.Before(EarliestTime) || t.After(LatestTime) {
				return &RowError{Column: f.Name, Message: fmt.Sprintf("%s is outside the plausible range %s to %s",
					t.Format(time.RFC3339), EarliestTime.Format(time.DateOnly), LatestTime.Format(time.DateOnly))}
			}
		case KindJSON:
			// JSON may also spell NUL as an escape, which jsonb refuses.
			if v := *f.Str(l); strings.IndexByte(v, 0) >= 0 || strings.Contains(v, `\u0000`) {
				return &RowError{Column: f.Name, Message: "holds a NUL byte"}
			}
		default:
			if strings.IndexByte(*f.Str(l), 0) >= 0 {
				return &RowError{Column: f.Name, Message: "holds a NUL byte"}
			}
		}
	}
	for k, v := range l.Extras {
		if strings.IndexByte(v, 0) >= 0 || strings.IndexByte(k, 0) >= 0 {
			return &RowError{Column: k, Message: "holds a NUL byte"}
		}
	}
	if k, ok := extrasNUL(l.ExtrasJSON); ok {
		return &RowError{Column: k, Message: "holds a NUL byte"}
	}
	if l.BillingPeriodEnd.Before(l.BillingPeriodStart) {
		return &RowError{Column: "BillingPeriodEnd", Message: fmt.Sprintf("%s is before BillingPeriodStart %s",
			l.BillingPeriodEnd.Format(time.RFC3339), l.BillingPeriodStart.Format(time.RFC3339))}
	}
	if l.ChargePeriodEnd.Before(l.ChargePeriodStart) {
		return &RowError{Column: "ChargePeriodEnd", Message: fmt.Sprintf("%s is before ChargePeriodStart %s",
			l.ChargePeriodEnd.Format(time.RFC3339), l.ChargePeriodStart.Format(time.RFC3339))}
	}
	return nil
}

// checkNumber checks a Number's magnitude and scale against
// MaxIntegerDigits and MaxFractionDigits, reading its text: leading zeros
// of the integer part and trailing zeros of the fraction do not count.
func checkNumber(n Number) error {
	s := string(n)
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	// The significant digits, and where the decimal point falls among them.
	first, last := -1, -1 // positions of the first and last non-zero digit, counted in digits
	point, digits := -1, 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			point = digits
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if c != '0' {
			if first < 0 {
				first = digits
			}
			last = digits
		}
		digits++
	}
	if point < 0 {
		point = digits
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			neg = s[i] == '-'
			i++
		}
		for ; i < len(s) && exp < 1e6; i++ {
			exp = exp*10 + int(s[i]-'0')
		}
		if neg {
			exp = -exp
		}
	}
	if first < 0 {
		return nil // zero
	}
	point += exp
	if intDigits := point - first; intDigits > MaxIntegerDigits {
		return fmt.Errorf("%s is too large: at most %d digits before the decimal point", s, MaxIntegerDigits)
	}
	if scale := last + 1 - point; scale > MaxFractionDigits {
		return fmt.Errorf("%s has too many decimals: at most %d significant digits after the decimal point", s, MaxFractionDigits)
	}
	return nil
}

// ISOCurrency returns code upper-cased when it is an ISO 4217 currency
// code ("usd" gives "USD"), and false otherwise.
func ISOCurrency(code string) (string, bool) {
	if len(code) != 3 {
		return "", false
	}
	var b [3]byte
	for i := 0; i < 3; i++ {
		c := code[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			return "", false
		}
		b[i] = c
	}
	up := string(b[:])
	if !isoCurrencies[up] {
		return "", false
	}
	return up, true
}

// isoCurrencies are ISO 4217's alphabetic codes: the current ones, the
// fund and precious-metal codes, and a few recently withdrawn that old
// bills still carry.
var isoCurrencies = func() map[string]bool {
	const list = `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN
BYR BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP
LKR LRD LSL LTL LVL LYD MAD MDL MGA MKD MMK MNT MOP MRO MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB
PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STD STN SVC SYP SZL THB TJS
TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VEF VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG
XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMK ZMW ZWG ZWL`
	m := make(map[string]bool, 200)
	for _, c := range strings.Fields(list) {
		m[c] = true
	}
	return m
}()

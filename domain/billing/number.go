package billing

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Number is an exact decimal kept as the text the source wrote, after
// checking it is a number ("12.5", "-3", "1.7e-05"). Keeping the text means
// nothing is lost or reformatted on the way to storage; the empty Number is
// null.
type Number string

// ParseNumber validates s as a decimal number in plain or scientific
// notation.
func ParseNumber(s string) (Number, error) {
	if !isNumber(s) {
		return "", fmt.Errorf("%q is not a number", s)
	}
	return Number(s), nil
}

func isNumber(s string) bool {
	i, n := 0, len(s)
	if i < n && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < n && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < n && s[i] == '.' {
		i++
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 || exp > 4 {
			return false
		}
	}
	return i == n
}

// Valid reports whether the Number holds a value (is not null).
func (n Number) Valid() bool { return n != "" }

// Decimal returns the value; null is zero.
func (n Number) Decimal() decimal.Decimal {
	if n == "" {
		return decimal.Zero
	}
	return decimal.RequireFromString(string(n))
}

func (n Number) String() string { return string(n) }

// Sum adds Numbers exactly. Most billing amounts fit an int64 mantissa, so
// it adds those without allocating and moves to arbitrary precision only
// when a value or the running sum would overflow. The zero value is an empty
// sum.
type Sum struct {
	mant int64
	exp  int32
	big  decimal.Decimal
}

// Add adds n; null adds nothing.
func (s *Sum) Add(n Number) {
	a := readAmount(n)
	s.addAmount(&a)
}

// amount is a Number read once, to be added to several sums.
type amount struct {
	n      Number
	mant   int64
	exp    int32
	small  bool // mant·10^exp is n
	parsed bool
	dec    decimal.Decimal
}

func readAmount(n Number) amount {
	m, e, ok := smallDecimal(string(n))
	return amount{n: n, mant: m, exp: e, small: ok}
}

// decimal returns the amount's value, parsed on first use.
func (a *amount) decimal() decimal.Decimal {
	if !a.parsed {
		a.dec, a.parsed = a.n.Decimal(), true
	}
	return a.dec
}

// addAmount adds a; null adds nothing.
func (s *Sum) addAmount(a *amount) {
	if a.n == "" {
		return
	}
	if !a.small {
		s.big = s.big.Add(a.decimal())
		return
	}
	if !addSmall(&s.mant, &s.exp, a.mant, a.exp) {
		// The int64 part is full (amounts with many decimals fill it after
		// a few rows): it moves to the arbitrary-precision part, and a
		// starts it again, so most amounts still add without allocating.
		s.big = s.big.Add(decimal.New(s.mant, s.exp))
		s.mant, s.exp = a.mant, a.exp
	}
}

// AddSum adds another sum.
func (s *Sum) AddSum(o Sum) {
	if !addSmall(&s.mant, &s.exp, o.mant, o.exp) {
		s.big = s.big.Add(decimal.New(o.mant, o.exp))
	}
	if !o.big.IsZero() {
		s.big = s.big.Add(o.big)
	}
}

// Decimal returns the exact total.
func (s Sum) Decimal() decimal.Decimal {
	return s.big.Add(decimal.New(s.mant, s.exp))
}

const maxSmall = 1 << 62 // headroom so one addition cannot overflow int64

var pow10 = func() [19]int64 {
	var p [19]int64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// addSmall adds m·10^e to a Sum's int64 part, *mant·10^*exp, aligning
// exponents; it returns false (changing nothing) when that would overflow.
func addSmall(mant *int64, exp *int32, m int64, e int32) bool {
	if *mant == 0 {
		*mant, *exp = m, e
		return true
	}
	if m == 0 {
		return true
	}
	sm, se := *mant, *exp
	switch {
	case e < se:
		d := se - e
		if d > 18 || abs64(sm) > maxSmall/pow10[d] {
			return false
		}
		sm *= pow10[d]
		se = e
	case e > se:
		d := e - se
		if d > 18 || abs64(m) > maxSmall/pow10[d] {
			return false
		}
		m *= pow10[d]
	}
	if abs64(sm) > maxSmall || abs64(m) > maxSmall {
		return false
	}
	*mant, *exp = sm+m, se
	return true
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// smallDecimal reads a plain decimal ("-12.3400") of at most 18
// significant digits as mantissa and exponent; scientific notation and
// longer numbers report false.
func smallDecimal(s string) (int64, int32, bool) {
	i, n := 0, len(s)
	neg := false
	if i < n && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var m int64
	var exp int32
	digits, seenDot, seenDigit := 0, false, false
	for ; i < n; i++ {
		c := s[i]
		if c == '.' && !seenDot {
			seenDot = true
			continue
		}
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		seenDigit = true
		if m != 0 || c != '0' {
			if digits++; digits > 18 {
				return 0, 0, false
			}
		}
		m = m*10 + int64(c-'0')
		if seenDot {
			exp--
		}
	}
	if !seenDigit {
		return 0, 0, false
	}
	if neg {
		m = -m
	}
	return m, exp, true
}

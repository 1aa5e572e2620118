package layout

import (
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

var currencySymbols = map[string]string{
	"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹",
	"AUD": "A$", "CAD": "C$", "NZD": "NZ$", "BRL": "R$", "KRW": "₩", "CHF": "CHF ",
}

// CurrencySymbol returns the symbol shown before amounts in currency, or the
// code and a space when the currency has no well-known symbol.
func CurrencySymbol(currency string) string {
	if s, ok := currencySymbols[currency]; ok {
		return s
	}
	return currency + " "
}

// FormatMoney renders an amount for reading, rounded to cents and grouped by
// thousands: "$409,294.57", "-€12.00". The exact amount belongs in a title
// or data attribute next to it.
func FormatMoney(amount decimal.Decimal, currency string) string {
	places := int32(2)
	if currency == "JPY" || currency == "KRW" {
		places = 0
	}
	s := amount.StringFixed(places)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
		if strings.Trim(s, "0.") == "" {
			sign = ""
		}
	}
	whole, frac, _ := strings.Cut(s, ".")
	out := sign + CurrencySymbol(currency) + groupDigits(whole)
	if frac != "" {
		out += "." + frac
	}
	return out
}

// FormatCompact renders an amount briefly for chart axes: "$0", "$850",
// "$12.5k", "$1.2M".
func FormatCompact(amount decimal.Decimal, currency string) string {
	sign := ""
	if amount.IsNegative() {
		sign, amount = "-", amount.Neg()
	}
	units := []struct {
		suffix string
		size   decimal.Decimal
	}{
		{"B", decimal.New(1, 9)},
		{"M", decimal.New(1, 6)},
		{"k", decimal.New(1, 3)},
	}
	for _, u := range units {
		if amount.GreaterThanOrEqual(u.size) {
			v := amount.Div(u.size)
			places := int32(1)
			if v.GreaterThanOrEqual(decimal.NewFromInt(100)) {
				places = 0
			}
			return sign + CurrencySymbol(currency) + trimZeros(v.StringFixed(places)) + u.suffix
		}
	}
	places := int32(0)
	if amount.LessThan(decimal.NewFromInt(10)) && !amount.IsZero() {
		places = 2
	}
	return sign + CurrencySymbol(currency) + trimZeros(amount.StringFixed(places))
}

// FormatCount renders a count grouped by thousands: "1,000".
func FormatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + groupDigits(s[1:])
	}
	return groupDigits(s)
}

// FormatPercent renders part/whole as a percentage with one decimal, or an
// empty string when whole is not positive.
func FormatPercent(part, whole decimal.Decimal) string {
	if !whole.IsPositive() {
		return ""
	}
	return part.Div(whole).Mul(decimal.NewFromInt(100)).StringFixed(1) + "%"
}

// FormatMonth renders the month of t: "September 2024".
func FormatMonth(t time.Time) string { return t.UTC().Format("January 2006") }

// FormatTime renders an instant in UTC to the minute: "2024-09-10 13:05 UTC".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// FormatDuration renders how long something took: "850ms", "4.2s", "3m 05s".
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return strconv.Itoa(int(d/time.Minute)) + "m " + twoDigits(int(d%time.Minute/time.Second)) + "s"
	default:
		d = d.Round(time.Minute)
		return strconv.Itoa(int(d/time.Hour)) + "h " + twoDigits(int(d%time.Hour/time.Minute)) + "m"
	}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func groupDigits(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	first := len(s) % 3
	if first > 0 {
		b.WriteString(s[:first])
	}
	for i := first; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// FormatAgo renders how long before now t was, for reading at a glance:
// "just now", "5 minutes ago", "3 hours ago", "2 days ago", then the date
// ("Sep 3, 2024"). The exact instant belongs in a title next to it. A zero
// t is "never".
func FormatAgo(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return agoUnit(int64(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return agoUnit(int64(d/time.Hour), "hour")
	case d < 30*24*time.Hour:
		return agoUnit(int64(d/(24*time.Hour)), "day")
	}
	return t.UTC().Format("Jan 2, 2006")
}

func agoUnit(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit + " ago"
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s ago"
}

// FormatBytes renders a size in binary units with one decimal: "512 B",
// "1.5 KiB", "12.0 MiB".
func FormatBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 || unit == "TiB" {
			return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
		}
	}
	return ""
}

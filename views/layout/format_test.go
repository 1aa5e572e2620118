package layout_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/views/layout"
)

func TestFormatMoneyRoundsAndGroups(t *testing.T) {
	t.Parallel()
	tests := []struct{ amount, currency, want string }{
		{"409294.570856199999819", "USD", "$409,294.57"},
		{"-12", "EUR", "-€12.00"},
		{"-0.001", "USD", "$0.00"},
		{"999.995", "GBP", "£1,000.00"},
		{"1234567.5", "JPY", "¥1,234,568"},
		{"12.3", "SEK", "SEK 12.30"},
		{"0", "USD", "$0.00"},
	}
	for _, tt := range tests {
		if got := layout.FormatMoney(decimal.RequireFromString(tt.amount), tt.currency); got != tt.want {
			t.Errorf("FormatMoney(%s %s) = %q, want %q", tt.amount, tt.currency, got, tt.want)
		}
	}
}

func TestFormatCompactShortensAxisLabels(t *testing.T) {
	t.Parallel()
	tests := []struct{ amount, want string }{
		{"0", "$0"},
		{"5", "$5"},
		{"2.5", "$2.5"},
		{"850", "$850"},
		{"10000", "$10k"},
		{"12500", "$12.5k"},
		{"250000", "$250k"},
		{"1200000", "$1.2M"},
		{"-25", "-$25"},
	}
	for _, tt := range tests {
		if got := layout.FormatCompact(decimal.RequireFromString(tt.amount), "USD"); got != tt.want {
			t.Errorf("FormatCompact(%s) = %q, want %q", tt.amount, got, tt.want)
		}
	}
}

func TestFormatDurationAndCount(t *testing.T) {
	t.Parallel()
	durations := []struct {
		d    time.Duration
		want string
	}{
		{0, "—"},
		{850 * time.Millisecond, "850ms"},
		{1500 * time.Millisecond, "1.5s"},
		{3*time.Minute + 5*time.Second, "3m 05s"},
		{2*time.Hour + 7*time.Minute, "2h 07m"},
	}
	for _, tt := range durations {
		if got := layout.FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	counts := []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567, "1,234,567"}, {-4200, "-4,200"}}
	for _, tt := range counts {
		if got := layout.FormatCount(tt.n); got != tt.want {
			t.Errorf("FormatCount(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

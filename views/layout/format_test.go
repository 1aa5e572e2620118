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

func TestFormatAgoReadsRelativeToNow(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 10, 15, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(-20 * time.Second), "just now"},
		{now.Add(time.Minute), "just now"},
		{now.Add(-time.Minute), "1 minute ago"},
		{now.Add(-59 * time.Minute), "59 minutes ago"},
		{now.Add(-3 * time.Hour), "3 hours ago"},
		{now.Add(-25 * time.Hour), "1 day ago"},
		{now.Add(-29 * 24 * time.Hour), "29 days ago"},
		{now.AddDate(0, -2, 0), "Aug 15, 2024"},
	}
	for _, tt := range tests {
		if got := layout.FormatAgo(tt.at, now); got != tt.want {
			t.Errorf("FormatAgo(%v) = %q, want %q", tt.at, got, tt.want)
		}
	}
}

func TestFormatBytesUsesBinaryUnits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1536, "1.5 KiB"},
		{12 << 20, "12.0 MiB"},
		{3 << 40, "3.0 TiB"},
		{5 << 50, "5120.0 TiB"},
	}
	for _, tt := range tests {
		if got := layout.FormatBytes(tt.n); got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

package dashboardpage

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestNiceStepIsRound(t *testing.T) {
	t.Parallel()
	tests := []struct{ span, want string }{
		{"24765.11", "10000"},
		{"100", "25"},
		{"7.5", "2"},
		{"0.03", "0.01"},
		{"0", "1"},
		{"400", "100"},
		{"1000", "250"},
	}
	for _, tt := range tests {
		if got := niceStep(decimal.RequireFromString(tt.span)); !got.Equal(decimal.RequireFromString(tt.want)) {
			t.Errorf("niceStep(%s) = %s, want %s", tt.span, got, tt.want)
		}
	}
}

func TestBuildChartStacksPositivesUpAndNegativesDown(t *testing.T) {
	t.Parallel()
	d1 := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	series := []Series{
		{Name: "AWS", Color: "#f90", Points: map[time.Time]decimal.Decimal{d1: decimal.NewFromInt(60), d2: decimal.NewFromInt(-20)}},
		{Name: "Oracle", Color: "#c00", Points: map[time.Time]decimal.Decimal{d1: decimal.NewFromInt(40)}},
	}
	c := buildChart("USD", "test", []time.Time{d1, d2}, series)

	if len(c.Days) != 2 {
		t.Fatalf("%d day columns, want 2", len(c.Days))
	}
	up := c.Days[0].Bars
	if len(up) != 2 {
		t.Fatalf("day 1 has %d bars, want 2", len(up))
	}
	// AWS sits on the zero line, Oracle on top of AWS.
	if !near(up[0].Y+up[0].Height, c.ZeroY) || !near(up[1].Y+up[1].Height, up[0].Y) {
		t.Errorf("day 1 bars not stacked from zero: %+v (zero at %.1f)", up, c.ZeroY)
	}
	if !near(up[0].Height/up[1].Height, 1.5) {
		t.Errorf("bar heights %.1f and %.1f, want the ratio 60:40", up[0].Height, up[1].Height)
	}
	down := c.Days[1].Bars
	if len(down) != 1 || !near(down[0].Y, c.ZeroY) {
		t.Errorf("day 2 credit not drawn downward from zero: %+v (zero at %.1f)", down, c.ZeroY)
	}
	if first, last := c.YTicks[0].Label, c.YTicks[len(c.YTicks)-1].Label; first != "-$50" || last != "$100" {
		t.Errorf("axis from %s to %s, want -$50 to $100", first, last)
	}
	if c.ZeroY >= c.PlotBottom || c.ZeroY <= c.PlotTop {
		t.Errorf("zero line at %.1f, want it inside the plot (%.1f–%.1f)", c.ZeroY, c.PlotTop, c.PlotBottom)
	}
}

func TestBuildChartWithoutCostsDrawsAnAxis(t *testing.T) {
	t.Parallel()
	d := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	c := buildChart("EUR", "empty", []time.Time{d}, nil)
	if len(c.YTicks) < 2 || len(c.Days) != 1 || len(c.Days[0].Bars) != 0 {
		t.Errorf("got %d ticks, %d days, want an axis and one empty day", len(c.YTicks), len(c.Days))
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 0.01 && d > -0.01
}

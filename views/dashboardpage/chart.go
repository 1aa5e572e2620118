package dashboardpage

import (
	"math"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/views/layout"
)

// Chart geometry, in SVG user units. The SVG scales to its container's
// width, so these set proportions rather than pixels.
const (
	chartWidth     = 960
	chartHeight    = 300
	chartLeft      = 64
	chartRight     = 12
	chartTop       = 14
	chartBottom    = 30
	barFill        = 0.72 // share of a day's slot its bar fills
	minLabelStride = 56   // least room between two date labels
)

// Series is one provider's daily amounts in one currency.
type Series struct {
	Name   string
	Color  string
	Points map[time.Time]decimal.Decimal // by UTC day
}

// Chart is the view model of a daily stacked bar chart: everything is
// already placed, so the template only draws.
type Chart struct {
	Currency    string
	Description string
	Width       int
	Height      int
	PlotLeft    float64
	PlotRight   float64
	PlotTop     float64
	PlotBottom  float64
	ZeroY       float64
	YTicks      []Tick
	XTicks      []Tick
	Days        []DayColumn
	Legend      []LegendItem
}

// Tick is an axis label and where it sits (Y for amounts, X for dates).
type Tick struct {
	Pos   float64
	Label string
}

// DayColumn is one day: its stacked bars, and a hover area that names the
// day's total.
type DayColumn struct {
	X, Width float64
	Title    string
	Bars     []Bar
}

// Bar is one provider's segment of a day's stack.
type Bar struct {
	X, Y, Width, Height float64
	Color               string
	Title               string
}

// LegendItem names a series' color and its total over the period.
type LegendItem struct {
	Name  string
	Color string
	Total string
}

// buildChart lays out one bar per day of days, stacking the series' amounts:
// positive amounts upward from zero, negative ones (credits, refunds)
// downward. Amounts are summed as decimals; only the resulting proportions
// become floating-point coordinates.
func buildChart(currency, description string, days []time.Time, series []Series) Chart {
	c := Chart{
		Currency:    currency,
		Description: description,
		Width:       chartWidth,
		Height:      chartHeight,
		PlotLeft:    chartLeft,
		PlotRight:   chartWidth - chartRight,
		PlotTop:     chartTop,
		PlotBottom:  chartHeight - chartBottom,
	}

	maxPos, minNeg := decimal.Zero, decimal.Zero
	for _, d := range days {
		pos, neg := decimal.Zero, decimal.Zero
		for _, s := range series {
			a := s.Points[d]
			if a.IsNegative() {
				neg = neg.Add(a)
			} else {
				pos = pos.Add(a)
			}
		}
		maxPos = decimal.Max(maxPos, pos)
		minNeg = decimal.Min(minNeg, neg)
	}
	step := niceStep(maxPos.Sub(minNeg))
	top := ceilTo(maxPos, step)
	bottom := ceilTo(minNeg.Neg(), step).Neg()
	if top.Equal(bottom) {
		top = bottom.Add(step)
	}
	span := top.Sub(bottom)
	plotHeight := c.PlotBottom - c.PlotTop
	y := func(v decimal.Decimal) float64 {
		return c.PlotBottom - v.Sub(bottom).Div(span).InexactFloat64()*plotHeight
	}
	c.ZeroY = y(decimal.Zero)
	for v := bottom; v.LessThanOrEqual(top); v = v.Add(step) {
		c.YTicks = append(c.YTicks, Tick{Pos: y(v), Label: layout.FormatCompact(v, currency)})
	}

	if len(days) == 0 {
		return c
	}
	slot := (c.PlotRight - c.PlotLeft) / float64(len(days))
	barWidth := math.Max(1, slot*barFill)
	stride := int(math.Ceil(minLabelStride / slot))
	for i, d := range days {
		x := c.PlotLeft + float64(i)*slot
		col := DayColumn{X: x, Width: slot}
		dayTotal := decimal.Zero
		up, down := decimal.Zero, decimal.Zero
		for _, s := range series {
			a, ok := s.Points[d]
			if !ok || a.IsZero() {
				continue
			}
			dayTotal = dayTotal.Add(a)
			var from, to decimal.Decimal
			if a.IsNegative() {
				from, to = down, down.Add(a)
				down = to
			} else {
				from, to = up, up.Add(a)
				up = to
			}
			y0, y1 := y(from), y(to)
			col.Bars = append(col.Bars, Bar{
				X:      x + (slot-barWidth)/2,
				Y:      math.Min(y0, y1),
				Width:  barWidth,
				Height: math.Abs(y0 - y1),
				Color:  s.Color,
				Title:  d.Format("Mon, Jan 2 2006") + " · " + s.Name + ": " + layout.FormatMoney(a, currency),
			})
		}
		col.Title = d.Format("Mon, Jan 2 2006") + " · total " + layout.FormatMoney(dayTotal, currency)
		c.Days = append(c.Days, col)
		if i%stride == 0 {
			c.XTicks = append(c.XTicks, Tick{Pos: x + slot/2, Label: d.Format("Jan 2")})
		}
	}
	return c
}

// niceStep returns a round tick interval (1, 2, 2.5 or 5 times a power of
// ten) that splits span into about four parts.
func niceStep(span decimal.Decimal) decimal.Decimal {
	if !span.IsPositive() {
		return decimal.NewFromInt(1)
	}
	raw := span.Div(decimal.NewFromInt(4)).InexactFloat64()
	exp := int32(math.Floor(math.Log10(raw)))
	frac := raw / math.Pow(10, float64(exp))
	switch {
	case frac <= 1:
		return decimal.New(1, exp)
	case frac <= 2:
		return decimal.New(2, exp)
	case frac <= 2.5:
		return decimal.New(25, exp-1)
	case frac <= 5:
		return decimal.New(5, exp)
	default:
		return decimal.New(1, exp+1)
	}
}

// ceilTo rounds v (not negative) up to a multiple of step.
func ceilTo(v, step decimal.Decimal) decimal.Decimal {
	return v.Div(step).Ceil().Mul(step)
}

// num renders an SVG coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

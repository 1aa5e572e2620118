package dashboardpage

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/layout"
)

// Model is the view model of the dashboard page.
type Model struct {
	Filters Filters
	Report  ReportView
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
}

// Filters is the view model of the filter form.
type Filters struct {
	ShowOrgPicker bool
	Orgs          []Option
	Org           string
	Period        string // YYYY-MM
	Metric        string
	Metrics       []Option
}

// ReportView is the report region: what the filters select.
type ReportView struct {
	PeriodLabel string
	ScopeLabel  string
	MetricLabel string
	Empty       bool
	Summaries   []Summary
	Charts      []Chart
	Providers   []Row
	Categories  []Row
	Services    []Row
	MultiCcy    bool
}

// Summary is the headline figures of one currency.
type Summary struct {
	Currency      string
	Exact         string
	Display       string
	ProviderCount int
	ActiveDays    int
	DailyAverage  string
	PeakDay       string
	PeakAmount    string
	TopProvider   string
	TopAmount     string
	TopShare      string
}

// Row is a line of the provider, category or service table.
type Row struct {
	Name        string
	Provider    string
	Color       string
	Currency    string
	Exact       string
	Display     string
	Share       string
	BarWidth    float64 // 0–100: the amount against the table's largest
	IsRemainder bool

	amount decimal.Decimal
}

var metricLabels = []struct {
	metric billing.Metric
	label  string
}{
	{billing.BilledCost, "Billed cost"},
	{billing.EffectiveCost, "Effective cost"},
	{billing.ListCost, "List cost"},
	{billing.ContractedCost, "Contracted cost"},
	{billing.ResaleCost, "Resale price"},
	{billing.Margin, "Margin"},
}

func metricLabel(m billing.Metric) string {
	for _, l := range metricLabels {
		if l.metric == m {
			return l.label
		}
	}
	return ""
}

// providerColors are the providers' own brand colours, so a reader knows
// the series without the legend.
var providerColors = map[string]string{
	"AWS":                         "#ff9900",
	"Amazon Web Services":         "#ff9900",
	"Microsoft":                   "#0078d4",
	"Azure":                       "#0078d4",
	"Google":                      "#34a853",
	"Google Cloud":                "#34a853",
	"Oracle":                      "#c74634",
	"Oracle Cloud":                "#c74634",
	"Oracle Cloud Infrastructure": "#c74634",
}

var otherColors = []string{"#7c3aed", "#0d9488", "#db2777", "#64748b", "#ca8a04", "#2563eb", "#9333ea", "#059669"}

// palette hands out one colour per provider for the whole page.
type palette struct {
	assigned map[string]string
	next     int
}

func (p *palette) color(provider string) string {
	if c, ok := p.assigned[provider]; ok {
		return c
	}
	c, ok := providerColors[provider]
	if !ok {
		c = otherColors[p.next%len(otherColors)]
		p.next++
	}
	p.assigned[provider] = c
	return c
}

func filterView(p tenancy.Principal, orgs []tenancy.Organization, f filters, period time.Time) Filters {
	v := Filters{
		ShowOrgPicker: p.Org.Kind == tenancy.Reseller,
		Org:           f.orgID,
		Period:        period.Format("2006-01"),
		Metric:        string(f.metric),
	}
	for _, l := range metricLabels {
		// Offer only what the caller may ask: resale alone to a resold
		// customer, the margin to resellers.
		if _, err := billing.MetricFor(p, l.metric); err != nil {
			continue
		}
		v.Metrics = append(v.Metrics, Option{Value: string(l.metric), Label: l.label})
	}
	if v.ShowOrgPicker {
		v.Orgs = append(v.Orgs, Option{Value: "", Label: "All customers"})
		customers := make([]tenancy.Organization, 0, len(orgs))
		for _, o := range orgs {
			if o.ID == p.Org.ID {
				continue
			}
			customers = append(customers, o)
		}
		sort.Slice(customers, func(i, j int) bool { return customers[i].Name < customers[j].Name })
		v.Orgs = append(v.Orgs, Option{Value: p.Org.ID, Label: p.Org.Name + " (own account)"})
		for _, o := range customers {
			v.Orgs = append(v.Orgs, Option{Value: o.ID, Label: o.Name})
		}
	}
	return v
}

func scopeLabel(p tenancy.Principal, orgs []tenancy.Organization, orgID string) string {
	if orgID == "" {
		if p.Org.Kind == tenancy.Reseller {
			return "All customers"
		}
		return p.Org.Name
	}
	for _, o := range orgs {
		if o.ID == orgID {
			return o.Name
		}
	}
	return ""
}

func groupValue(g billing.CostGroup, i int) string {
	if i < len(g.Keys) && g.Keys[i].Value != nil {
		return *g.Keys[i].Value
	}
	return ""
}

func orUnknown(s, unknown string) string {
	if s == "" {
		return unknown
	}
	return s
}

// buildReport turns the daily-by-provider, by-service and by-category
// reports of [from, to) into the report region's view model.
func buildReport(from, to time.Time, scope string, metric billing.Metric, daily, services, categories billing.CostReport) ReportView {
	v := ReportView{
		PeriodLabel: layout.FormatMonth(from),
		ScopeLabel:  scope,
		MetricLabel: metricLabel(metric),
		Empty:       len(daily.Totals) == 0,
		MultiCcy:    len(daily.Totals) > 1,
	}
	pal := &palette{assigned: make(map[string]string)}
	totals := make(map[string]decimal.Decimal, len(daily.Totals))
	for _, t := range daily.Totals {
		totals[t.Currency] = t.Amount
	}
	var days []time.Time
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}

	// Provider rows and chart series, in report order: by currency, then
	// largest first.
	series := make(map[string][]Series)
	for _, g := range daily.Groups {
		name := orUnknown(groupValue(g, 0), "Unknown provider")
		color := pal.color(name)
		v.Providers = append(v.Providers, row(name, "", color, g.Currency, g.Total, totals[g.Currency]))
		pts := make(map[time.Time]decimal.Decimal, len(g.Points))
		for _, p := range g.Points {
			day := billing.Day(p.Date)
			pts[day] = pts[day].Add(p.Amount)
		}
		series[g.Currency] = append(series[g.Currency], Series{Name: name, Color: color, Points: pts})
	}
	scaleBars(v.Providers)

	for _, t := range daily.Totals {
		v.Summaries = append(v.Summaries, summarize(t, series[t.Currency]))
		desc := "Daily " + lower(v.MetricLabel) + " in " + t.Currency + " by provider, " + v.PeriodLabel
		chart := buildChart(t.Currency, desc, days, series[t.Currency])
		for _, s := range series[t.Currency] {
			chart.Legend = append(chart.Legend, LegendItem{Name: s.Name, Color: s.Color, Total: layout.FormatMoney(sum(s.Points), t.Currency)})
		}
		v.Charts = append(v.Charts, chart)
	}

	for _, g := range categories.Groups {
		name := orUnknown(groupValue(g, 0), "Uncategorised")
		v.Categories = append(v.Categories, row(name, "", "", g.Currency, g.Total, totals[g.Currency]))
	}
	scaleBars(v.Categories)

	// Service rows: the largest services of each currency, then the rest
	// summed in one line.
	shown := make(map[string]int)
	rest := make(map[string]decimal.Decimal)
	restCount := make(map[string]int)
	var order []string
	for _, g := range services.Groups {
		if _, seen := shown[g.Currency]; !seen {
			order = append(order, g.Currency)
		}
		if shown[g.Currency] >= topServices {
			rest[g.Currency] = rest[g.Currency].Add(g.Total)
			restCount[g.Currency]++
			continue
		}
		shown[g.Currency]++
		provider := orUnknown(groupValue(g, 1), "Unknown provider")
		name := orUnknown(groupValue(g, 0), "Unnamed service")
		v.Services = append(v.Services, row(name, provider, pal.color(provider), g.Currency, g.Total, totals[g.Currency]))
	}
	scaleBars(v.Services)
	for _, ccy := range order {
		if restCount[ccy] == 0 {
			continue
		}
		r := row(plural(restCount[ccy], "other service", "other services"), "", "", ccy, rest[ccy], totals[ccy])
		r.IsRemainder = true
		v.Services = insertAfterCurrency(v.Services, ccy, r)
	}
	return v
}

// summarize computes the headline figures of one currency from its total
// and its providers' daily series.
func summarize(total billing.Money, series []Series) Summary {
	ccy := total.Currency
	s := Summary{
		Currency:      ccy,
		Exact:         total.Amount.String(),
		Display:       layout.FormatMoney(total.Amount, ccy),
		ProviderCount: len(series),
	}
	byDay := make(map[time.Time]decimal.Decimal)
	for _, se := range series {
		for d, a := range se.Points {
			byDay[d] = byDay[d].Add(a)
		}
	}
	var peakDay time.Time
	for d, a := range byDay {
		if a.IsZero() {
			continue
		}
		s.ActiveDays++
		if peakDay.IsZero() || a.GreaterThan(byDay[peakDay]) || a.Equal(byDay[peakDay]) && d.Before(peakDay) {
			peakDay = d
		}
	}
	if s.ActiveDays > 0 {
		s.DailyAverage = layout.FormatMoney(total.Amount.Div(decimal.NewFromInt(int64(s.ActiveDays))), ccy)
		s.PeakDay = peakDay.Format("Mon, Jan 2")
		s.PeakAmount = layout.FormatMoney(byDay[peakDay], ccy)
	}
	if len(series) > 0 {
		top := sum(series[0].Points)
		s.TopProvider = series[0].Name
		s.TopAmount = layout.FormatMoney(top, ccy)
		s.TopShare = layout.FormatPercent(top, total.Amount)
	}
	return s
}

func sum(points map[time.Time]decimal.Decimal) decimal.Decimal {
	total := decimal.Zero
	for _, a := range points {
		total = total.Add(a)
	}
	return total
}

func row(name, provider, color, currency string, amount, total decimal.Decimal) Row {
	return Row{
		Name:     name,
		Provider: provider,
		Color:    color,
		Currency: currency,
		Exact:    amount.String(),
		Display:  layout.FormatMoney(amount, currency),
		Share:    layout.FormatPercent(amount, total),
		amount:   amount,
	}
}

// scaleBars sizes each row's bar against the largest row of its currency,
// so the table reads as a bar chart; the share column keeps the percentage
// of the total.
func scaleBars(rows []Row) {
	largest := make(map[string]decimal.Decimal)
	for _, r := range rows {
		if r.amount.GreaterThan(largest[r.Currency]) {
			largest[r.Currency] = r.amount
		}
	}
	for i, r := range rows {
		if top := largest[r.Currency]; top.IsPositive() && r.amount.IsPositive() {
			rows[i].BarWidth = r.amount.Div(top).Mul(decimal.NewFromInt(100)).InexactFloat64()
		}
	}
}

// insertAfterCurrency places r after the last row of its currency.
func insertAfterCurrency(rows []Row, currency string, r Row) []Row {
	at := len(rows)
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Currency == currency {
			at = i + 1
			break
		}
	}
	return append(rows[:at], append([]Row{r}, rows[at:]...)...)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return layout.FormatCount(int64(n)) + " " + many
}

func lower(s string) string {
	b := []byte(s)
	if len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

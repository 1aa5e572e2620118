package billing

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
)

// Dimension is a way to group or filter costs.
type Dimension string

// Dimensions of the cost report. Tag dimensions are written "tag:KEY".
const (
	DimProvider        Dimension = "PROVIDER"
	DimServiceName     Dimension = "SERVICE_NAME"
	DimServiceCategory Dimension = "SERVICE_CATEGORY"
	DimRegion          Dimension = "REGION"
	DimBillingAccount  Dimension = "BILLING_ACCOUNT"
	DimSubAccount      Dimension = "SUB_ACCOUNT"
	DimChargeCategory  Dimension = "CHARGE_CATEGORY"
	DimChargeClass     Dimension = "CHARGE_CLASS"
	DimBillingPeriod   Dimension = "BILLING_PERIOD"
	DimCurrency        Dimension = "CURRENCY"
)

// Dimensions lists the built-in dimensions in display order.
var Dimensions = []Dimension{DimProvider, DimServiceName, DimServiceCategory, DimRegion, DimBillingAccount, DimSubAccount, DimChargeCategory, DimChargeClass, DimBillingPeriod, DimCurrency}

// TagDimension returns the dimension grouping by a tag key.
func TagDimension(key string) Dimension { return Dimension("tag:" + key) }

// Metric is the cost column a report sums.
type Metric string

// Metrics. ResaleCost is what a customer is billed: BilledCost until a
// reseller's pricing applies.
const (
	BilledCost     Metric = "BILLED_COST"
	EffectiveCost  Metric = "EFFECTIVE_COST"
	ListCost       Metric = "LIST_COST"
	ContractedCost Metric = "CONTRACTED_COST"
	ResaleCost     Metric = "RESALE_COST"
)

// DateBasis chooses which date places a cost in the report's range.
type DateBasis string

// Date bases: the charge's own day, or the start of its billing period.
const (
	ChargePeriod  DateBasis = "CHARGE_PERIOD"
	BillingPeriod DateBasis = "BILLING_PERIOD"
)

// Granularity is the time resolution of a report's points.
type Granularity string

// Granularities.
const (
	Total   Granularity = "TOTAL"
	Daily   Granularity = "DAILY"
	Monthly Granularity = "MONTHLY"
)

// TagFilter keeps costs whose tag Key has one of Values.
type TagFilter struct {
	Key    string
	Values []string
}

// CostFilter keeps costs matching every listed dimension (any of its values)
// and every tag filter. An empty string value matches an absent value.
type CostFilter struct {
	Values map[Dimension][]string
	Tags   []TagFilter
}

// CostQuery asks for costs over [From, To) of one organization, or with
// OrgID empty of every organization the caller may read (a reseller and
// all its customers together).
type CostQuery struct {
	OrgID       string
	From, To    time.Time
	DateBasis   DateBasis
	Metric      Metric
	GroupBy     []Dimension
	TagKeys     []string
	Granularity Granularity
	Filter      CostFilter
}

// DimensionValue is one key of a group. Value is nil when the costs have no
// value for the dimension; Label is a human name where one exists (account
// names, region names).
type DimensionValue struct {
	Dimension Dimension
	Value     *string
	Label     string
}

// CostPoint is the amount of one day or month.
type CostPoint struct {
	Date   time.Time
	Amount decimal.Decimal
}

// CostGroup is the cost of one combination of dimension values, in one
// currency.
type CostGroup struct {
	Keys     []DimensionValue
	Currency string
	Total    decimal.Decimal
	Points   []CostPoint
}

// CostReport answers a CostQuery. Totals has one Money per currency; groups
// never mix currencies.
type CostReport struct {
	Totals []Money
	Groups []CostGroup
}

// RollupScan selects the active rollups of some organizations whose date,
// by DateBasis, lies in [From, To).
type RollupScan struct {
	OrgIDs    []string
	From, To  time.Time
	DateBasis DateBasis
}

// RollupReader reads the daily aggregates the report is built from.
type RollupReader interface {
	ScanRollups(ctx context.Context, scan RollupScan, fn func(Rollup) error) error
	// LatestCostDay returns the last charge day with data for the
	// organizations, or a domain.NotFound error when they have none.
	LatestCostDay(ctx context.Context, orgIDs []string) (time.Time, error)
}

// RunLister lists ingestion runs; RunStore implementations have it.
type RunLister interface {
	// ListRuns returns the newest runs of the organizations, newest first.
	ListRuns(ctx context.Context, orgIDs []string, limit int) ([]IngestionRun, error)
}

// Reporter answers what was ingested and what it cost: cost reports from
// the rollups and the ingestion runs, each read checked against the
// caller's rights.
type Reporter struct {
	rollups RollupReader
	runs    RunLister
	rights  *tenancy.Rights
}

// NewReporter returns a Reporter reading rollups and runs. runs may be nil
// for uses that only report costs.
func NewReporter(rollups RollupReader, runs RunLister, rights *tenancy.Rights) *Reporter {
	return &Reporter{rollups: rollups, runs: runs, rights: rights}
}

// Bounds of a Runs listing's limit.
const (
	DefaultRunLimit = 50
	MaxRunLimit     = 500
)

// Runs returns the newest ingestion runs of orgID, or with orgID empty of
// every organization the caller may read, newest first; limit is 1 to
// MaxRunLimit.
func (rp *Reporter) Runs(ctx context.Context, caller tenancy.Principal, orgID string, limit int) ([]IngestionRun, error) {
	if limit < 1 || limit > MaxRunLimit {
		return nil, domain.Errorf(domain.Invalid, "limit must be between 1 and %d", MaxRunLimit)
	}
	orgIDs, err := rp.rights.Read(ctx, caller, orgID)
	if err != nil {
		return nil, err
	}
	if rp.runs == nil {
		return nil, domain.Errorf(domain.Unavailable, "ingestion runs are not available")
	}
	return rp.runs.ListRuns(ctx, orgIDs, limit)
}

// maxRange bounds a report's period so one query cannot scan years of data.
const maxRange = 366 * 3 * 24 * time.Hour

// Validate checks a query and fills in defaults.
func (q *CostQuery) Validate() error {
	if q.From.IsZero() || q.To.IsZero() {
		return domain.Errorf(domain.Invalid, "from and to are required")
	}
	if !q.To.After(q.From) {
		return domain.Errorf(domain.Invalid, "to (%s) must be after from (%s)", q.To.Format(time.DateOnly), q.From.Format(time.DateOnly))
	}
	if q.To.Sub(q.From) > maxRange {
		return domain.Errorf(domain.Invalid, "a report covers at most three years")
	}
	if q.DateBasis == "" {
		q.DateBasis = ChargePeriod
	}
	if q.Metric == "" {
		q.Metric = BilledCost
	}
	if q.Granularity == "" {
		q.Granularity = Total
	}
	switch q.DateBasis {
	case ChargePeriod, BillingPeriod:
	default:
		return domain.Errorf(domain.Invalid, "unknown date basis %q", q.DateBasis)
	}
	switch q.Metric {
	case BilledCost, EffectiveCost, ListCost, ContractedCost, ResaleCost:
	default:
		return domain.Errorf(domain.Invalid, "unknown metric %q", q.Metric)
	}
	switch q.Granularity {
	case Total, Daily, Monthly:
	default:
		return domain.Errorf(domain.Invalid, "unknown granularity %q", q.Granularity)
	}
	for _, d := range q.GroupBy {
		if _, ok := dimensionValue(d); !ok {
			return domain.Errorf(domain.Invalid, "unknown dimension %q", d)
		}
	}
	for d := range q.Filter.Values {
		if _, ok := dimensionValue(d); !ok {
			return domain.Errorf(domain.Invalid, "unknown filter dimension %q", d)
		}
	}
	for _, k := range q.TagKeys {
		if strings.TrimSpace(k) == "" {
			return domain.Errorf(domain.Invalid, "tag keys must not be empty")
		}
	}
	return nil
}

type valueFunc func(r *Rollup) (value, label string)

func dimensionValue(d Dimension) (valueFunc, bool) {
	switch d {
	case DimProvider:
		return func(r *Rollup) (string, string) { return r.ProviderName, "" }, true
	case DimServiceName:
		return func(r *Rollup) (string, string) { return r.ServiceName, "" }, true
	case DimServiceCategory:
		return func(r *Rollup) (string, string) { return r.ServiceCategory, "" }, true
	case DimRegion:
		return func(r *Rollup) (string, string) {
			if r.RegionID == "" {
				return r.RegionName, r.RegionName
			}
			return r.RegionID, r.RegionName
		}, true
	case DimBillingAccount:
		return func(r *Rollup) (string, string) { return r.BillingAccountID, r.BillingAccountName }, true
	case DimSubAccount:
		return func(r *Rollup) (string, string) { return r.SubAccountID, r.SubAccountName }, true
	case DimChargeCategory:
		return func(r *Rollup) (string, string) { return r.ChargeCategory, "" }, true
	case DimChargeClass:
		return func(r *Rollup) (string, string) { return r.ChargeClass, "" }, true
	case DimBillingPeriod:
		return func(r *Rollup) (string, string) { return r.BillingPeriodStart.Format("2006-01"), "" }, true
	case DimCurrency:
		return func(r *Rollup) (string, string) { return r.Currency, "" }, true
	}
	return nil, false
}

func (m Metric) of(r *Rollup) decimal.Decimal {
	switch m {
	case EffectiveCost:
		return r.EffectiveCost
	case ListCost:
		return r.ListCost
	case ContractedCost:
		return r.ContractedCost
	default: // BilledCost, ResaleCost
		return r.BilledCost
	}
}

type groupAcc struct {
	keys     []DimensionValue
	currency string
	total    decimal.Decimal
	points   map[time.Time]decimal.Decimal
}

// Report computes the costs a query asks for, exactly, from the rollups
// of the organizations the caller may read.
func (rp *Reporter) Report(ctx context.Context, caller tenancy.Principal, q CostQuery) (CostReport, error) {
	if err := q.Validate(); err != nil {
		return CostReport{}, err
	}
	orgIDs, err := rp.rights.Read(ctx, caller, q.OrgID)
	if err != nil {
		return CostReport{}, err
	}
	type dim struct {
		d   Dimension
		val valueFunc
		tag string
	}
	var dims []dim
	for _, d := range q.GroupBy {
		f, _ := dimensionValue(d)
		dims = append(dims, dim{d: d, val: f})
	}
	for _, k := range q.TagKeys {
		dims = append(dims, dim{d: TagDimension(k), tag: k})
	}
	type filter struct {
		val  valueFunc
		want map[string]bool
	}
	var filters []filter
	for d, vals := range q.Filter.Values {
		f, _ := dimensionValue(d)
		want := make(map[string]bool, len(vals))
		for _, v := range vals {
			want[v] = true
		}
		filters = append(filters, filter{val: f, want: want})
	}
	needTags := len(q.TagKeys) > 0 || len(q.Filter.Tags) > 0
	tagCache := make(map[string]map[string]string)

	totals := make(Totals)
	groups := make(map[string]*groupAcc)
	var keyBuf strings.Builder
	scan := RollupScan{OrgIDs: orgIDs, From: q.From, To: q.To, DateBasis: q.DateBasis}
	err = rp.rollups.ScanRollups(ctx, scan, func(r Rollup) error {
		for _, f := range filters {
			if v, _ := f.val(&r); !f.want[v] {
				return nil
			}
		}
		var tags map[string]string
		if needTags {
			tags = parseTags(r.Tags, tagCache)
			for _, tf := range q.Filter.Tags {
				if !contains(tf.Values, tags[tf.Key]) {
					return nil
				}
			}
		}
		amount := q.Metric.of(&r)
		totals.Add(r.Currency, amount)

		keyBuf.Reset()
		keyBuf.WriteString(r.Currency)
		vals := make([]DimensionValue, len(dims))
		for i, d := range dims {
			var v, label string
			present := false
			if d.val != nil {
				v, label = d.val(&r)
				present = v != ""
			} else {
				v, present = tags[d.tag]
			}
			vals[i] = DimensionValue{Dimension: d.d, Label: label}
			keyBuf.WriteByte(0)
			if present {
				vals[i].Value = &v
				keyBuf.WriteByte(1)
				keyBuf.WriteString(v)
			}
		}
		g := groups[keyBuf.String()]
		if g == nil {
			g = &groupAcc{keys: vals, currency: r.Currency, points: make(map[time.Time]decimal.Decimal)}
			groups[keyBuf.String()] = g
		}
		g.total = g.total.Add(amount)
		if q.Granularity != Total {
			date := r.Day
			if q.Granularity == Monthly {
				date = MonthStart(r.Day)
				if q.DateBasis == BillingPeriod {
					date = MonthStart(r.BillingPeriodStart)
				}
			}
			g.points[date] = g.points[date].Add(amount)
		}
		return nil
	})
	if err != nil {
		return CostReport{}, err
	}

	rep := CostReport{Totals: totals.Money(), Groups: make([]CostGroup, 0, len(groups))}
	for _, g := range groups {
		cg := CostGroup{Keys: g.keys, Currency: g.currency, Total: g.total, Points: make([]CostPoint, 0, len(g.points))}
		for d, a := range g.points {
			cg.Points = append(cg.Points, CostPoint{Date: d, Amount: a})
		}
		sort.Slice(cg.Points, func(i, j int) bool { return cg.Points[i].Date.Before(cg.Points[j].Date) })
		rep.Groups = append(rep.Groups, cg)
	}
	sort.Slice(rep.Groups, func(i, j int) bool {
		a, b := rep.Groups[i], rep.Groups[j]
		if a.Currency != b.Currency {
			return a.Currency < b.Currency
		}
		if c := a.Total.Cmp(b.Total); c != 0 {
			return c > 0
		}
		return groupKey(a) < groupKey(b)
	})
	return rep, nil
}

func groupKey(g CostGroup) string {
	var b strings.Builder
	for _, k := range g.Keys {
		if k.Value != nil {
			b.WriteString(*k.Value)
		}
		b.WriteByte(0)
	}
	return b.String()
}

func contains(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

// parseTags reads a tag JSON object into strings; non-string values keep
// their JSON text. Unparsable tags read as none (ingestion rejects them).
func parseTags(raw string, cache map[string]map[string]string) map[string]string {
	if raw == "" {
		return nil
	}
	if t, ok := cache[raw]; ok {
		return t
	}
	var obj map[string]json.RawMessage
	_ = json.Unmarshal([]byte(raw), &obj)
	tags := make(map[string]string, len(obj))
	for k, v := range obj {
		var s string
		if json.Unmarshal(v, &s) == nil {
			tags[k] = s
		} else {
			tags[k] = string(v)
		}
	}
	cache[raw] = tags
	return tags
}

// DefaultPeriod returns the month a cost view of orgID (empty: every
// organization the caller may read) opens on: the current month, or the
// latest month with data when the current one has none.
func (rp *Reporter) DefaultPeriod(ctx context.Context, caller tenancy.Principal, orgID string, now time.Time) (from, to time.Time, err error) {
	orgIDs, err := rp.rights.Read(ctx, caller, orgID)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	from = MonthStart(now)
	last, err := rp.rollups.LatestCostDay(ctx, orgIDs)
	if err != nil && !domain.IsNotFound(err) {
		return time.Time{}, time.Time{}, err
	}
	if err == nil && last.Before(from) {
		from = MonthStart(last)
	}
	return from, from.AddDate(0, 1, 0), nil
}

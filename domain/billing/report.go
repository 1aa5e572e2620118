package billing

import (
	"context"
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
	// DimCloud is the provider normalised to AWS, AZURE, GCP, OCI or
	// OTHER, so that "Google" and "Google Cloud" group together.
	DimCloud Dimension = "CLOUD"
	// DimOrganization is the organization the costs belong to: a
	// reseller's breakdown by customer.
	DimOrganization Dimension = "ORGANIZATION"
	// DimSKU and DimResource drill down to a SKU or a resource; no rollup
	// keeps them, so reports with them read the line items.
	DimSKU      Dimension = "SKU_ID"
	DimResource Dimension = "RESOURCE_ID"
)

// Dimensions lists the built-in dimensions in display order.
var Dimensions = []Dimension{DimProvider, DimCloud, DimServiceName, DimServiceCategory, DimRegion, DimBillingAccount,
	DimSubAccount, DimChargeCategory, DimChargeClass, DimBillingPeriod, DimCurrency, DimOrganization, DimSKU, DimResource}

// Clouds are the values of DimCloud.
const (
	CloudAWS   = "AWS"
	CloudAzure = "AZURE"
	CloudGCP   = "GCP"
	CloudOCI   = "OCI"
	CloudOther = "OTHER"
)

// labelled reports whether a dimension's groups carry a human label
// beside the value (region and account names).
func labelled(d Dimension) bool {
	return d == DimRegion || d == DimBillingAccount || d == DimSubAccount || d == DimResource
}

func knownDimension(d Dimension) bool {
	for _, k := range Dimensions {
		if k == d {
			return true
		}
	}
	return false
}

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
	// Margin is ResaleCost − BilledCost: what a reseller earns, shown to
	// resellers only.
	Margin Metric = "MARGIN"
)

// MetricFor applies what the caller may see to a query's metric. A resold
// customer (one with a reseller) sees only what it is billed: no metric
// means RESALE_COST and any other is forbidden. MARGIN is for resellers
// (and the system) only. Everyone else asking no metric gets BILLED_COST.
func MetricFor(caller tenancy.Principal, m Metric) (Metric, error) {
	resold := !caller.IsSystem() && caller.Org.Kind != tenancy.Reseller && caller.Org.ResellerID != ""
	if resold {
		if m == "" || m == ResaleCost {
			return ResaleCost, nil
		}
		return "", domain.Errorf(domain.Forbidden, "costs are shown at the price you are billed: use RESALE_COST")
	}
	if m == Margin && !caller.IsSystem() && caller.Org.Kind != tenancy.Reseller {
		return "", domain.Errorf(domain.Forbidden, "the margin is for resellers only")
	}
	if m == "" {
		return BilledCost, nil
	}
	return m, nil
}

// SeesCost reports whether the caller may see costs (not only resale):
// everyone but a resold customer's users.
func SeesCost(caller tenancy.Principal) bool {
	return caller.IsSystem() || caller.Org.Kind == tenancy.Reseller || caller.Org.ResellerID == ""
}

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
	// Limit, when positive, keeps only the first Limit groups in the
	// report's order (by currency, then largest total first); Totals stay
	// complete and Others holds the rest.
	Limit int
}

// MaxGroupLimit bounds a CostQuery's Limit.
const MaxGroupLimit = 10_000

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
	// Others is, per currency, what the groups a Limit left out add up
	// to; empty when every group is there.
	Others []Money
}

// CostAggregate asks storage for the grouped sums of one report over the
// active data of some organizations: the costs whose date by DateBasis
// lies in [From, To), kept by Filter, summed by Metric and grouped by
// GroupBy, then TagKeys, then currency, then the day or month of
// Granularity.
type CostAggregate struct {
	OrgIDs      []string
	From, To    time.Time
	DateBasis   DateBasis
	Metric      Metric
	GroupBy     []Dimension
	TagKeys     []string
	Granularity Granularity
	Filter      CostFilter
	// Limit, when positive with Total granularity, asks for only the first
	// Limit rows by currency, then largest amount first.
	Limit int
}

// CostRow is one grouped sum of a CostAggregate. Values holds one value per
// GroupBy dimension then per tag key, nil where the costs have none; Labels
// one human name per GroupBy dimension (empty where there is none). Date is
// the day (Daily) or month (Monthly) and zero for Total.
type CostRow struct {
	Values   []*string
	Labels   []string
	Currency string
	Date     time.Time
	Amount   decimal.Decimal
}

// CostAggregator answers aggregates in storage: only the grouped rows leave
// the database. It chooses what to read — the dimension rollups, the tag
// rollups or the line items themselves — so that every shape is answered
// exactly.
type CostAggregator interface {
	AggregateCosts(ctx context.Context, a CostAggregate, fn func(CostRow) error) error
	// LatestCostDay returns the last charge day with data for the
	// organizations, or a domain.NotFound error when they have none.
	LatestCostDay(ctx context.Context, orgIDs []string) (time.Time, error)
	// DataVersion returns a value that changes whenever the active data of
	// the organizations changes (a period swapped in), so that answers can
	// be cached until then.
	DataVersion(ctx context.Context, orgIDs []string) (string, error)
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
	costs  CostAggregator
	runs   RunLister
	rights *tenancy.Rights
	cache  *reportCache
}

// NewReporter returns a Reporter reading costs and runs. runs may be nil
// for uses that only report costs.
func NewReporter(costs CostAggregator, runs RunLister, rights *tenancy.Rights) *Reporter {
	return &Reporter{costs: costs, runs: runs, rights: rights, cache: newReportCache(reportCacheSize)}
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
	runs, err := rp.runs.ListRuns(ctx, orgIDs, limit)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		if !SeesCost(caller) {
			// A run's totals are cost; a resold customer sees resale only.
			runs[i].Totals = nil
		}
		for j, f := range runs[i].Files {
			runs[i].Files[j] = caller.ServerPath(f)
		}
	}
	return runs, nil
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
	case BilledCost, EffectiveCost, ListCost, ContractedCost, ResaleCost, Margin:
	default:
		return domain.Errorf(domain.Invalid, "unknown metric %q", q.Metric)
	}
	switch q.Granularity {
	case Total, Daily, Monthly:
	default:
		return domain.Errorf(domain.Invalid, "unknown granularity %q", q.Granularity)
	}
	if q.Limit < 0 || q.Limit > MaxGroupLimit {
		return domain.Errorf(domain.Invalid, "limit must be between 1 and %d, or 0 for every group", MaxGroupLimit)
	}
	for _, d := range q.GroupBy {
		if !knownDimension(d) {
			return domain.Errorf(domain.Invalid, "unknown dimension %q", d)
		}
	}
	for d := range q.Filter.Values {
		if !knownDimension(d) {
			return domain.Errorf(domain.Invalid, "unknown filter dimension %q", d)
		}
	}
	for _, k := range q.TagKeys {
		if strings.TrimSpace(k) == "" {
			return domain.Errorf(domain.Invalid, "tag keys must not be empty")
		}
	}
	for _, tf := range q.Filter.Tags {
		if strings.TrimSpace(tf.Key) == "" {
			return domain.Errorf(domain.Invalid, "tag filter keys must not be empty")
		}
	}
	return nil
}

type groupAcc struct {
	keys     []DimensionValue
	currency string
	total    decimal.Decimal
	points   map[time.Time]decimal.Decimal
}

// Report computes the costs a query asks for, exactly, in the database,
// over the organizations the caller may read.
func (rp *Reporter) Report(ctx context.Context, caller tenancy.Principal, q CostQuery) (CostReport, error) {
	if q.Metric != "" {
		if err := q.Validate(); err != nil {
			return CostReport{}, err
		}
	}
	m, err := MetricFor(caller, q.Metric)
	if err != nil {
		return CostReport{}, err
	}
	q.Metric = m
	if err := q.Validate(); err != nil {
		return CostReport{}, err
	}
	orgIDs, err := rp.rights.Read(ctx, caller, q.OrgID)
	if err != nil {
		return CostReport{}, err
	}
	agg := CostAggregate{OrgIDs: orgIDs, From: q.From, To: q.To, DateBasis: q.DateBasis, Metric: q.Metric,
		GroupBy: q.GroupBy, TagKeys: q.TagKeys, Granularity: q.Granularity, Filter: q.Filter, Limit: q.Limit}
	version, err := rp.costs.DataVersion(ctx, orgIDs)
	if err != nil {
		return CostReport{}, err
	}
	if rp.cache == nil {
		return rp.aggregate(ctx, q, agg)
	}
	return rp.cache.do(agg.cacheKey(), version, func() (CostReport, error) {
		// The answer is shared by everyone asking: it must not be cut
		// short by the first asker's cancelled request.
		return rp.aggregate(context.WithoutCancel(ctx), q, agg)
	})
}

// Uncached returns a Reporter over the same stores that computes every
// answer afresh: for measuring the database path.
func (rp *Reporter) Uncached() *Reporter {
	c := *rp
	c.cache = nil
	return &c
}

// aggregate asks storage for the grouped sums and assembles the report.
func (rp *Reporter) aggregate(ctx context.Context, q CostQuery, agg CostAggregate) (CostReport, error) {
	totals := make(Totals)
	groups := make(map[string]*groupAcc)
	var order []string
	var keyBuf strings.Builder
	err := rp.costs.AggregateCosts(ctx, agg, func(r CostRow) error {
		totals.Add(r.Currency, r.Amount)
		keyBuf.Reset()
		keyBuf.WriteString(r.Currency)
		for _, v := range r.Values {
			keyBuf.WriteByte(0)
			if v != nil {
				keyBuf.WriteByte(1)
				keyBuf.WriteString(*v)
			}
		}
		g := groups[keyBuf.String()]
		if g == nil {
			keys := make([]DimensionValue, 0, len(r.Values))
			for i, d := range q.GroupBy {
				dv := DimensionValue{Dimension: d, Value: r.Values[i]}
				if labelled(d) && i < len(r.Labels) {
					dv.Label = r.Labels[i]
				}
				keys = append(keys, dv)
			}
			for i, k := range q.TagKeys {
				keys = append(keys, DimensionValue{Dimension: TagDimension(k), Value: r.Values[len(q.GroupBy)+i]})
			}
			g = &groupAcc{keys: keys, currency: r.Currency, points: make(map[time.Time]decimal.Decimal)}
			groups[keyBuf.String()] = g
			order = append(order, keyBuf.String())
		}
		g.total = g.total.Add(r.Amount)
		if q.Granularity != Total {
			g.points[r.Date] = g.points[r.Date].Add(r.Amount)
		}
		return nil
	})
	if err != nil {
		return CostReport{}, err
	}

	rep := CostReport{Totals: totals.Money(), Groups: make([]CostGroup, 0, len(groups))}
	for _, k := range order {
		g := groups[k]
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
	if q.Limit > 0 {
		return rp.limit(ctx, rep, agg)
	}
	return rep, nil
}

// limit keeps the first agg.Limit groups of rep and accounts for the rest
// in Others. When storage cut the groups short (Total granularity), the
// totals come from a second, ungrouped aggregate.
func (rp *Reporter) limit(ctx context.Context, rep CostReport, agg CostAggregate) (CostReport, error) {
	if len(rep.Groups) > agg.Limit {
		rep.Groups = rep.Groups[:agg.Limit]
	}
	if agg.Granularity == Total && len(rep.Groups) == agg.Limit {
		whole := agg
		whole.GroupBy, whole.TagKeys, whole.Limit = nil, nil, 0
		totals := make(Totals)
		err := rp.costs.AggregateCosts(ctx, whole, func(r CostRow) error {
			totals.Add(r.Currency, r.Amount)
			return nil
		})
		if err != nil {
			return CostReport{}, err
		}
		rep.Totals = totals.Money()
	}
	others := make(Totals)
	for _, t := range rep.Totals {
		others.Add(t.Currency, t.Amount)
	}
	for _, g := range rep.Groups {
		others.Add(g.Currency, g.Total.Neg())
	}
	for _, m := range others.Money() {
		if !m.Amount.IsZero() {
			rep.Others = append(rep.Others, m)
		}
	}
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

// DefaultPeriod returns the month a cost view of orgID (empty: every
// organization the caller may read) opens on: the current month, or the
// latest month with data when the current one has none.
func (rp *Reporter) DefaultPeriod(ctx context.Context, caller tenancy.Principal, orgID string, now time.Time) (from, to time.Time, err error) {
	orgIDs, err := rp.rights.Read(ctx, caller, orgID)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	from = MonthStart(now)
	last, err := rp.costs.LatestCostDay(ctx, orgIDs)
	if err != nil && !domain.IsNotFound(err) {
		return time.Time{}, time.Time{}, err
	}
	if err == nil && last.Before(from) {
		from = MonthStart(last)
	}
	return from, from.AddDate(0, 1, 0), nil
}

// CloudNames maps the provider names sources write, lower-cased, to their
// cloud; any other provider is CloudOther. Stores normalising in SQL use
// the same list.
var CloudNames = map[string]string{
	"aws": CloudAWS, "amazon web services": CloudAWS, "amazon": CloudAWS, "amazon web services, inc.": CloudAWS,
	"microsoft": CloudAzure, "azure": CloudAzure, "microsoft azure": CloudAzure, "microsoft corporation": CloudAzure,
	"google cloud": CloudGCP, "google": CloudGCP, "gcp": CloudGCP, "google cloud platform": CloudGCP,
	"oracle": CloudOCI, "oci": CloudOCI, "oracle cloud": CloudOCI, "oracle cloud infrastructure": CloudOCI,
}

// CloudOf normalises a provider name to the CLOUD dimension.
func CloudOf(provider string) string {
	if c, ok := CloudNames[strings.ToLower(provider)]; ok {
		return c
	}
	return CloudOther
}

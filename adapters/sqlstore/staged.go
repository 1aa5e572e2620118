package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/truecost/truecost/domain/billing"
)

var dimRollupColumns = []string{"org_id", "connector_id", "run_id", "billing_period_start", "day", "cloud", "provider_name",
	"service_name", "service_category", "region_id", "region_name", "billing_account_id", "billing_account_name",
	"sub_account_id", "sub_account_name", "charge_category", "charge_class", "currency",
	"billed_cost", "effective_cost", "list_cost", "contracted_cost", "resale_cost", "row_count"}

var tagRollupColumns = []string{"org_id", "connector_id", "run_id", "billing_period_start", "day", "tag_key", "tag_value",
	"cloud", "provider_name", "service_name", "currency",
	"billed_cost", "effective_cost", "list_cost", "contracted_cost", "resale_cost", "row_count"}

// writeRollups writes the rollups the ingester built for a run into the
// rollup tables, inside the publishing transaction open on conn.
func (s *Store) writeRollups(ctx context.Context, conn *sql.Conn, run billing.IngestionRun, r *billing.Rollups) error {
	enc := rollupEncoder{run: &run}
	if s.dialect == SQLite {
		sortRollups(r)
	}
	const chunk = 4096
	var dims, tags []rowSet
	for i := 0; i < len(r.Dims); i += chunk {
		dims = append(dims, dimRows{enc, r.Dims[i:min(i+chunk, len(r.Dims))]})
	}
	for i := 0; i < len(r.Tags); i += chunk {
		tags = append(tags, tagRows{enc, r.Tags[i:min(i+chunk, len(r.Tags))]})
	}
	if err := s.bulkLoadInTx(ctx, conn, "cost_dim_rollups", dimRollupColumns, each(dims)); err != nil {
		return err
	}
	return s.bulkLoadInTx(ctx, conn, "cost_tag_rollups", tagRollupColumns, each(tags))
}

var serviceRollupColumns = []string{"org_id", "connector_id", "run_id", "billing_period_start", "day", "cloud", "provider_name",
	"service_name", "service_category", "charge_category", "charge_class", "currency",
	"billed_cost", "effective_cost", "list_cost", "contracted_cost", "resale_cost", "row_count"}

// writeServiceRollups writes the service rollup and the month rollup of
// a run, derived from the dimension rollup the ingester built, inside the
// publishing transaction open on conn: what buildRollups' GROUP BYs of the
// dimension rollup insert, with the same exact sums.
func (s *Store) writeServiceRollups(ctx context.Context, conn *sql.Conn, run billing.IngestionRun, r *billing.Rollups) error {
	type key struct {
		period, day                                                          time.Time
		provider, service, serviceCategory, chargeCategory, chargeClass, cur string
	}
	byDay, byMonth := map[key]int{}, map[key]int{}
	var days, months []serviceRollup
	add := func(index map[key]int, rows *[]serviceRollup, k key, sums *billing.RollupSums) {
		i, ok := index[k]
		if !ok {
			i = len(*rows)
			index[k] = i
			*rows = append(*rows, serviceRollup{period: k.period, day: k.day, dims: []string{billing.CloudOf(k.provider), k.provider,
				k.service, k.serviceCategory, k.chargeCategory, k.chargeClass, k.cur}})
		}
		t := &(*rows)[i].sums
		t.BilledCost.AddSum(sums.BilledCost)
		t.EffectiveCost.AddSum(sums.EffectiveCost)
		t.ListCost.AddSum(sums.ListCost)
		t.ContractedCost.AddSum(sums.ContractedCost)
		t.ResaleCost.AddSum(sums.ResaleCost)
		t.Rows += sums.Rows
	}
	for i := range r.Dims {
		d := &r.Dims[i]
		k := key{d.BillingPeriodStart.UTC(), d.Day.UTC(), d.ProviderName, d.ServiceName, d.ServiceCategory, d.ChargeCategory, d.ChargeClass, d.Currency}
		add(byDay, &days, k, &d.Sums)
		k.day = time.Date(k.day.Year(), k.day.Month(), 1, 0, 0, 0, 0, time.UTC)
		add(byMonth, &months, k, &d.Sums)
	}
	enc := rollupEncoder{run: &run}
	for _, t := range []struct {
		table string
		rows  []serviceRollup
	}{{"cost_service_rollups", days}, {"cost_month_rollups", months}} {
		slices.SortFunc(t.rows, func(a, b serviceRollup) int {
			return cmp.Or(a.period.Compare(b.period), a.day.Compare(b.day))
		})
		if err := s.bulkLoadInTx(ctx, conn, t.table, serviceRollupColumns, each([]rowSet{serviceRows{enc, t.rows}})); err != nil {
			return err
		}
	}
	return nil
}

// serviceRollup is a row of the service or the month rollup.
type serviceRollup struct {
	period, day time.Time
	dims        []string // cloud, provider, service, service category, charge category and class, currency
	sums        billing.RollupSums
}

type serviceRows struct {
	enc  rollupEncoder
	rows []serviceRollup
}

func (r serviceRows) Len() int        { return len(r.rows) }
func (r serviceRows) SharedArgs() int { return 3 }

func (r serviceRows) AppendArgs(args []any, i int) []any {
	row := &r.rows[i]
	return r.enc.appendArgs(args, row.period, row.day, row.dims, &row.sums)
}

// sortRollups orders the rollups by the keys of their tables' indexes
// (period and day; tag key, period and day), which the ingester built in
// no particular order: each row then goes after the last one of every
// index, which SQLite appends without searching the index from its root.
func sortRollups(r *billing.Rollups) {
	slices.SortFunc(r.Dims, func(a, b billing.DimRollup) int {
		return cmp.Or(a.BillingPeriodStart.Compare(b.BillingPeriodStart), a.Day.Compare(b.Day))
	})
	slices.SortFunc(r.Tags, func(a, b billing.TagRollup) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), a.BillingPeriodStart.Compare(b.BillingPeriodStart), a.Day.Compare(b.Day))
	})
}

// each hands a bulk load the sets one by one.
func each(sets []rowSet) func() (rowSet, bool) {
	return func() (rowSet, bool) {
		if len(sets) == 0 {
			return nil, false
		}
		r := sets[0]
		sets = sets[1:]
		return r, true
	}
}

// rollupEncoder writes the values rollup rows share: as SQLite arguments,
// or as Postgres's binary COPY tuples.
type rollupEncoder struct {
	run *billing.IngestionRun
}

// appendArgs appends a row's SQLite arguments: the run's keys, the period
// and the day as SQLite keeps them, the given dimensions, then the sums.
func (e rollupEncoder) appendArgs(args []any, period, day time.Time, dims []string, sums *billing.RollupSums) []any {
	args = append(args, e.run.OrgID, e.run.ConnectorID, e.run.ID, period.UTC().Format(timeLayout),
		day.UTC().Format(time.DateOnly)+" 00:00:00+00:00")
	for _, d := range dims {
		args = append(args, d)
	}
	return append(args, sums.BilledCost.Decimal().String(), sums.EffectiveCost.Decimal().String(),
		sums.ListCost.Decimal().String(), sums.ContractedCost.Decimal().String(), sums.ResaleCost.Decimal().String(),
		strconv.FormatInt(sums.Rows, 10))
}

type dimRows struct {
	enc  rollupEncoder
	rows []billing.DimRollup
}

func (r dimRows) Len() int        { return len(r.rows) }
func (r dimRows) SharedArgs() int { return 3 }

// row returns row i's period, day, dimensions and sums.
func (r dimRows) row(i int) (time.Time, time.Time, []string, *billing.RollupSums) {
	d := &r.rows[i]
	return d.BillingPeriodStart, d.Day, []string{billing.CloudOf(d.ProviderName), d.ProviderName,
		d.ServiceName, d.ServiceCategory, d.RegionID, d.RegionName, d.BillingAccountID, d.BillingAccountName,
		d.SubAccountID, d.SubAccountName, d.ChargeCategory, d.ChargeClass, d.Currency}, &d.Sums
}

func (r dimRows) AppendArgs(args []any, i int) []any {
	period, day, dims, sums := r.row(i)
	return r.enc.appendArgs(args, period, day, dims, sums)
}

func (r dimRows) AppendCopyBinary(buf []byte, i int) ([]byte, error) {
	period, day, dims, sums := r.row(i)
	return r.enc.appendBinary(buf, period, day, dims, sums)
}

type tagRows struct {
	enc  rollupEncoder
	rows []billing.TagRollup
}

func (r tagRows) Len() int        { return len(r.rows) }
func (r tagRows) SharedArgs() int { return 3 }

// row returns row i's period, day, dimensions and sums.
func (r tagRows) row(i int) (time.Time, time.Time, []string, *billing.RollupSums) {
	t := &r.rows[i]
	return t.BillingPeriodStart, t.Day, []string{t.Key, t.Value, billing.CloudOf(t.ProviderName),
		t.ProviderName, t.ServiceName, t.Currency}, &t.Sums
}

func (r tagRows) AppendArgs(args []any, i int) []any {
	period, day, dims, sums := r.row(i)
	return r.enc.appendArgs(args, period, day, dims, sums)
}

func (r tagRows) AppendCopyBinary(buf []byte, i int) ([]byte, error) {
	period, day, dims, sums := r.row(i)
	return r.enc.appendBinary(buf, period, day, dims, sums)
}

// appendBinary appends a rollup row as a binary COPY tuple: the run's
// keys, the period and the day, the given dimensions (never null: the
// rollups keep absent text as the empty string), then the sums.
func (e rollupEncoder) appendBinary(buf []byte, period, day time.Time, dims []string, sums *billing.RollupSums) ([]byte, error) {
	buf = appendInt16(buf, int16(5+len(dims)+6))
	buf = appendBinaryText(buf, e.run.OrgID)
	buf = appendBinaryText(buf, e.run.ConnectorID)
	buf = appendBinaryText(buf, e.run.ID)
	var err error
	if buf, err = appendBinaryTime(buf, period); err != nil {
		return buf, err
	}
	buf = appendBinaryDate(buf, day)
	for _, d := range dims {
		buf = appendInt32(buf, int32(len(d)))
		buf = append(buf, d...)
	}
	for _, sum := range []billing.Sum{sums.BilledCost, sums.EffectiveCost, sums.ListCost, sums.ContractedCost, sums.ResaleCost} {
		if buf, _, err = appendBinaryNumeric(buf, billing.Number(sum.Decimal().String()), nil); err != nil {
			return buf, err
		}
	}
	buf = appendInt32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(sums.Rows)), nil
}

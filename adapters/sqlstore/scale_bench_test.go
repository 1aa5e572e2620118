package sqlstore_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

// BenchmarkScale measures Truecost at a reseller's size with data shaped
// like real exports, generated deterministically:
//
//   - one customer-month (BENCH_ROWS line items, default 500,000: 10 sub
//     accounts, 40 services, 30 regions, 2,000 SKUs, 20,000 resources; tags
//     team 8 values, env 3, cost_center 40, project 200, user 500, Name one
//     per resource, SessionID about one per five rows) ingested by the
//     truecost binary into Postgres and SQLite, beside psql's \copy and the
//     sqlite3 shell's .import of the same rows;
//
//   - the reports a console asks for over the big month (BENCH_CUSTOMERS
//     customers, default 20, one month each) and one customer's year
//     (BENCH_MONTHS months, default 12), each timed 20 times beside the
//     same GROUP BY over the raw line items.
//
//     make bench   # or:
//     BENCH_ROWS=100000 BENCH_CUSTOMERS=4 BENCH_MONTHS=3 go test -run '^$' -bench BenchmarkScale -benchtime 1x -timeout 3h ./adapters/sqlstore/
func BenchmarkScale(b *testing.B) {
	rows, customers, months := envInt("BENCH_ROWS", 500_000), envInt("BENCH_CUSTOMERS", 20), envInt("BENCH_MONTHS", 12)
	pgURL, ok := sqltest.PostgresURL(b)
	if !ok {
		return
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "truecost")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/truecost/truecost").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	sep := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < b.N; i++ {
		// Ingest: one customer-month through the binary.
		plain, gz := filepath.Join(dir, "month.csv"), filepath.Join(dir, "month.csv.gz")
		if err := generateScaleMonth(plain, gz, rows, 0, sep); err != nil {
			b.Fatal(err)
		}
		copyWall := psqlCopy(b, pgURL, plain)
		// Both read the CSV file the references read.
		pg := ingestWithBinary(b, bin, pgURL, plain)
		lite := ingestWithBinary(b, bin, "sqlite://"+filepath.Join(dir, fmt.Sprintf("ingest-%d.db", i)), plain)
		importWall, imported := sqliteImport(b, filepath.Join(dir, fmt.Sprintf("import-%d.db", i)), plain)
		fmt.Printf("\n%-34s %10s %12s %10s %14s\n", fmt.Sprintf("ingest of %d rows", rows), "wall (s)", "rows/s", "peak RSS", "÷ reference")
		fmt.Printf("%-34s %10.2f %12.0f %10s %14s\n", "psql \\copy (typed table, no index)", copyWall.Seconds(), float64(rows)/copyWall.Seconds(), "-", "1.00")
		fmt.Printf("%-34s %10.2f %12.0f %6d MiB %14.2f\n", "truecost → Postgres", pg.wall.Seconds(), float64(rows)/pg.wall.Seconds(),
			pg.maxRSS>>20, pg.wall.Seconds()/copyWall.Seconds())
		if imported {
			fmt.Printf("%-34s %10.2f %12.0f %10s %14s\n", "sqlite3 .import", importWall.Seconds(), float64(rows)/importWall.Seconds(), "-", "1.00")
		}
		ratio := "-"
		if imported {
			ratio = fmt.Sprintf("%.2f", lite.wall.Seconds()/importWall.Seconds())
		}
		fmt.Printf("%-34s %10.2f %12.0f %6d MiB %14s\n", "truecost → SQLite", lite.wall.Seconds(), float64(rows)/lite.wall.Seconds(),
			lite.maxRSS>>20, ratio)
		b.ReportMetric(pg.wall.Seconds()/copyWall.Seconds(), "pg-ratio")
		b.ReportMetric(float64(pg.maxRSS>>20), "pg-MiB")
		b.ReportMetric(float64(lite.maxRSS>>20), "sqlite-MiB")

		if os.Getenv("BENCH_REPORTS") == "0" {
			continue
		}
		// Reports: the big month and one customer's year.
		pgStore := sqltest.Postgres(b)
		w := loadScaleWorld(b, pgStore, dir, rows, customers, months, sep)
		fmt.Printf("\nreports over %d line items on Postgres (20 runs each, the raw GROUP BY %d)\n", w.rows, rawRuns)
		w.reportTable(b, pgStore, true)
		w.underLoad(b, pgStore, 50, 100, 20*time.Second)

		liteStore := sqltest.SQLite(b)
		lw := loadScaleWorld(b, liteStore, dir, rows, 1, 1, sep)
		fmt.Printf("\nreports over %d line items on SQLite (20 runs each, the raw GROUP BY %d)\n", lw.rows, rawRuns)
		lw.reportTable(b, liteStore, false)
	}
}

// rawRuns is how often each raw GROUP BY reference runs: each takes
// seconds at a reseller's size (BENCH_RAW_RUNS, default 5).
var rawRuns = envInt("BENCH_RAW_RUNS", 5)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// scaleWorld is a reseller with customers whose months were ingested.
type scaleWorld struct {
	reporter  *billing.Reporter
	reseller  tenancy.Principal
	customers []tenancy.Organization
	months    int
	from      time.Time
	rows      int
}

// loadScaleWorld ingests customers × one month, plus months-1 more months
// for the first customer, through the ingester.
func loadScaleWorld(b *testing.B, s *sqlstore.Store, dir string, rows, customers, months int, from time.Time) scaleWorld {
	b.Helper()
	ctx := context.Background()
	rights := tenancy.NewRights(s)
	ten := tenancy.NewService(s, rights)
	w := scaleWorld{reporter: billing.NewReporter(s, s, rights), months: months, from: from}
	reseller, err := ten.CreateOrganization(ctx, system, "reseller", "Reseller", tenancy.Reseller, "")
	if err != nil {
		b.Fatal(err)
	}
	admin, err := ten.CreateUser(ctx, system, "admin@reseller.test", "reseller", tenancy.Admin, "")
	if err != nil {
		b.Fatal(err)
	}
	w.reseller = tenancy.Principal{User: admin, Org: reseller}
	timing := &buildTimes{took: map[string]time.Duration{}}
	ingester := billing.NewIngester(s.WithQueryHook(timing), tenancy.NewID)
	e := newEnv(s)
	start := time.Now()
	for c := range customers {
		org, err := ten.CreateOrganization(ctx, system, fmt.Sprintf("customer-%02d", c), "", tenancy.Customer, "reseller")
		if err != nil {
			b.Fatal(err)
		}
		w.customers = append(w.customers, org)
		n := 1
		if c == 0 {
			n = months
		}
		for m := range n {
			plain := filepath.Join(dir, fmt.Sprintf("c%d-m%d.csv", c, m))
			gz := plain + ".gz"
			if err := generateScaleMonth("", gz, rows, c, from.AddDate(0, m, 0)); err != nil {
				b.Fatal(err)
			}
			src, err := localfiles.New(gz, "focus")
			if err != nil {
				b.Fatal(err)
			}
			conn := e.localConnector(b, org, gz)
			if _, err := ingester.Ingest(ctx, billing.IngestRequest{OrgID: org.ID, ConnectorID: conn.ID, Source: src}); err != nil {
				b.Fatal(err)
			}
			os.Remove(gz)
			w.rows += rows
		}
	}
	fmt.Printf("\nloaded %d line items (%d customers, %d months for the first) in %.0fs; building rollups took %s\n",
		w.rows, customers, months, time.Since(start).Seconds(), timing)
	return w
}

// buildTimes sums how long the rollup-building statements take.
type buildTimes struct {
	mu   sync.Mutex
	took map[string]time.Duration
}

func (h *buildTimes) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h *buildTimes) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	for _, t := range []string{"cost_dim_rollups", "cost_service_rollups", "cost_tag_rollups"} {
		// Postgres groups the dimension rollup into a temporary table first.
		if strings.HasPrefix(e.Query, "INSERT INTO "+t) || strings.HasPrefix(e.Query, "CREATE TEMPORARY TABLE "+t+"_build") ||
			(t == "cost_tag_rollups" && strings.Contains(e.Query, "INSERT INTO "+t)) {
			h.mu.Lock()
			h.took[t] += time.Since(e.StartTime)
			h.mu.Unlock()
		}
	}
}

func (h *buildTimes) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprintf("dimension %.1fs, service %.1fs, tag %.1fs", h.took["cost_dim_rollups"].Seconds(),
		h.took["cost_service_rollups"].Seconds(), h.took["cost_tag_rollups"].Seconds())
}

// shape is one report and the same question asked of the raw line items.
type shape struct {
	name  string
	query billing.CostQuery
	raw   string
	args  []any
}

func (w scaleWorld) shapes(postgres bool) []shape {
	c0 := w.customers[0].ID
	month, next := w.from, w.from.AddDate(0, 1, 0)
	all := make([]string, len(w.customers))
	for i, c := range w.customers {
		all[i] = c.ID
	}
	day, monthOf, tag := "date(charge_period_start)", "substr(charge_period_start, 1, 7)", func(k string) string {
		return "json_extract(tags, '$." + k + "')"
	}
	if postgres {
		day, monthOf = "(charge_period_start AT TIME ZONE 'UTC')::date", "date_trunc('month', charge_period_start AT TIME ZONE 'UTC')"
		tag = func(k string) string { return "tags->>'" + k + "'" }
	}
	// SQLite's SUM reads the decimal text as floating point, which is not
	// the answer a bill needs: its reference sums exactly, as reports do.
	sum := "decsum(billed_cost)"
	if postgres {
		sum = "SUM(billed_cost)"
	}
	raw := func(sel, where, group string) string {
		return "SELECT " + sel + ", billing_currency, " + sum + " FROM cost_line_items WHERE org_id IN (?) AND " +
			"charge_period_start >= ? AND charge_period_start < ?" + where + " GROUP BY " + group
	}
	return []shape{
		{"year by service, monthly", billing.CostQuery{OrgID: c0, From: w.from, To: w.from.AddDate(0, w.months, 0),
			GroupBy: []billing.Dimension{billing.DimServiceName}, Granularity: billing.Monthly},
			raw("service_name, "+monthOf, "", "1, 2, 3"), []any{bun.In([]string{c0}), w.from, w.from.AddDate(0, w.months, 0)}},
		{"big month by customer, daily", billing.CostQuery{From: month, To: next, GroupBy: []billing.Dimension{billing.DimOrganization},
			Granularity: billing.Daily}, raw("org_id, "+day, "", "1, 2, 3"), []any{bun.In(all), month, next}},
		{"big month by cloud, daily", billing.CostQuery{From: month, To: next, GroupBy: []billing.Dimension{billing.DimCloud},
			Granularity: billing.Daily}, raw("provider_name, "+day, "", "1, 2, 3"), []any{bun.In(all), month, next}},
		{"team by day, one customer-month", billing.CostQuery{OrgID: c0, From: month, To: next, TagKeys: []string{"team"},
			Granularity: billing.Daily}, raw(tag("team")+", "+day, "", "1, 2, 3"), []any{bun.In([]string{c0}), month, next}},
		{"top 20 SessionIDs, one customer-month", billing.CostQuery{OrgID: c0, From: month, To: next, TagKeys: []string{"SessionID"}, Limit: 20},
			raw(tag("SessionID"), "", "1, 2") + " ORDER BY 3 DESC LIMIT 20", []any{bun.In([]string{c0}), month, next}},
		{"team=t3 by region (fallback)", billing.CostQuery{OrgID: c0, From: month, To: next, GroupBy: []billing.Dimension{billing.DimRegion},
			Filter: billing.CostFilter{Tags: []billing.TagFilter{{Key: "team", Values: []string{"t3"}}}}},
			raw("region_id", " AND "+tag("team")+" = 't3'", "1, 2"), []any{bun.In([]string{c0}), month, next}},
		{"SKU drill-down of a service (fallback)", billing.CostQuery{OrgID: c0, From: month, To: next, GroupBy: []billing.Dimension{billing.DimSKU},
			Filter: billing.CostFilter{Values: map[billing.Dimension][]string{billing.DimServiceName: {"Service 07"}}}},
			raw("sku_id", " AND service_name = 'Service 07'", "1, 2"), []any{bun.In([]string{c0}), month, next}},
	}
}

func (w scaleWorld) reportTable(b *testing.B, s *sqlstore.Store, postgres bool) {
	b.Helper()
	ctx := context.Background()
	db := s.DB()
	last := &lastQuery{}
	// Each run computes its answer: the table measures the database path,
	// not the cache.
	w.reporter = billing.NewReporter(s.WithQueryHook(last), s, tenancy.NewRights(s)).Uncached()
	fmt.Printf("%-40s %10s %10s %10s %10s %9s %8s\n", "shape", "median", "p99", "raw median", "raw p99", "speed-up", "groups")
	for _, sh := range w.shapes(postgres) {
		if sh.query.OrgID == "" && len(w.customers) == 1 {
			sh.query.OrgID = w.customers[0].ID
		}
		var groups int
		ours := timeRuns(20, func() {
			rep, err := w.reporter.Report(ctx, w.reseller, sh.query)
			if err != nil {
				b.Fatal(err)
			}
			groups = len(rep.Groups)
		})
		ourSQL := last.get()
		raw := timeRuns(rawRuns, func() {
			rows, err := db.QueryContext(ctx, sh.raw, sh.args...)
			if err != nil {
				b.Fatalf("%s: %v", sh.name, err)
			}
			// Read every value, as a client of the answer would.
			cols, _ := rows.Columns()
			vals := make([]sql.RawBytes, len(cols))
			dest := make([]any, len(cols))
			for i := range vals {
				dest[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(dest...); err != nil {
					b.Fatal(err)
				}
			}
			rows.Close()
		})
		fmt.Printf("%-40s %10s %10s %10s %10s %8.0f× %8d\n", sh.name, ms(ours.median), ms(ours.p99), ms(raw.median), ms(raw.p99),
			float64(raw.median)/float64(ours.median), groups)
		if os.Getenv("BENCH_EXPLAIN") != "" && postgres {
			explain(b, db, "report "+sh.name, ourSQL)
			explain(b, db, "raw "+sh.name, db.QueryGen().FormatQuery(sh.raw, sh.args...))
		}
	}
}

// lastQuery remembers the last cost report statement a store sent.
type lastQuery struct {
	mu  sync.Mutex
	sql string
}

func (l *lastQuery) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if strings.Contains(e.Query, "GROUP BY") {
		l.mu.Lock()
		l.sql = e.Query
		l.mu.Unlock()
	}
	return ctx
}

func (l *lastQuery) AfterQuery(context.Context, *bun.QueryEvent) {}

func (l *lastQuery) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sql
}

// underLoad sends the report shapes from clients goroutines at a fixed rate
// of rps requests a second in all, through one Reporter (and so its cache),
// and prints the latency percentiles.
func (w scaleWorld) underLoad(b *testing.B, s *sqlstore.Store, clients, rps int, d time.Duration) {
	b.Helper()
	ctx := context.Background()
	reporter := billing.NewReporter(s, s, tenancy.NewRights(s))
	shapes := w.shapes(true)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	// The console asks these all day: measure the steady state, after each
	// answer was computed once.
	for _, sh := range shapes {
		if _, err := reporter.Report(ctx, w.reseller, sh.query); err != nil {
			b.Fatal(err)
		}
	}
	interval := time.Duration(clients) * time.Second / time.Duration(rps)
	stop := time.Now().Add(d)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the clients over the interval so the rate is even.
			next := time.Now().Add(time.Duration(c) * interval / time.Duration(clients))
			for i := c; time.Now().Before(stop); i++ {
				time.Sleep(time.Until(next))
				next = next.Add(interval)
				q := shapes[i%len(shapes)].query
				start := time.Now()
				if _, err := reporter.Report(ctx, w.reseller, q); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	n := len(lat)
	fmt.Printf("\nunder load (cache warm): %d clients at %d requests/s in all for %s over the shapes above: %d requests, p50 %s, p99 %s, max %s\n",
		clients, rps, d, n, ms(lat[n/2]), ms(lat[n*99/100]), ms(lat[n-1]))
}

type runTimes struct{ median, p99 time.Duration }

func timeRuns(n int, fn func()) runTimes {
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		fn()
		d[i] = time.Since(start)
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return runTimes{median: d[n/2], p99: d[(n*99+99)/100-1]}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// explain prints the plan of a statement as Postgres ran it.
func explain(b *testing.B, db *bun.DB, name, query string) {
	rows, err := db.DB.QueryContext(context.Background(), "EXPLAIN (ANALYZE, COSTS OFF) "+query)
	if err != nil {
		b.Fatalf("explain %s: %v", name, err)
	}
	defer rows.Close()
	fmt.Printf("\nEXPLAIN ANALYZE %s\n", name)
	for rows.Next() {
		var line string
		_ = rows.Scan(&line)
		fmt.Println("  " + line)
	}
}

// sqliteImport times the sqlite3 shell importing the CSV into a table of
// text columns; false when there is no sqlite3 shell.
func sqliteImport(b *testing.B, dbPath, csvPath string) (time.Duration, bool) {
	b.Helper()
	if _, err := exec.LookPath("sqlite3"); err != nil {
		return 0, false
	}
	start := time.Now()
	cmd := exec.Command("sqlite3", dbPath, ".mode csv", ".import "+csvPath+" imported")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("sqlite3 import: %v\n%s", err, out)
	}
	return time.Since(start), true
}

var scaleHeader = []string{"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "BillingCurrency",
	"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "PricingUnit", "ProviderName", "ServiceName",
	"ServiceCategory", "RegionId", "RegionName", "BillingAccountId", "BillingAccountName", "SubAccountId", "SubAccountName",
	"SkuId", "ResourceId", "ResourceName", "ChargeCategory", "ChargeClass", "ChargeDescription", "Tags"}

var scaleProviders = []string{"AWS", "Microsoft", "Google Cloud", "Oracle"}

// generateScaleMonth writes n line items of one customer's month to gzPath
// (and, when plainPath is set, uncompressed there too). Resources are
// fixed per customer: each has one provider, service, region, SKU and sub
// account, and hourly rows repeat them through the month.
func generateScaleMonth(plainPath, gzPath string, n, customer int, month time.Time) error {
	var outs []io.Writer
	var closers []func() error
	gf, err := os.Create(gzPath)
	if err != nil {
		return err
	}
	gzw, _ := gzip.NewWriterLevel(gf, gzip.BestSpeed)
	outs = append(outs, gzw)
	closers = append(closers, gzw.Close, gf.Close)
	if plainPath != "" {
		pf, err := os.Create(plainPath)
		if err != nil {
			return err
		}
		outs = append(outs, pf)
		closers = append(closers, pf.Close)
	}
	w := bufio.NewWriterSize(io.MultiWriter(outs...), 1<<20)
	w.WriteString(strings.Join(scaleHeader, ",") + "\n")
	rng := rand.New(rand.NewPCG(uint64(customer+1), uint64(month.Unix())))
	hours := int(month.AddDate(0, 1, 0).Sub(month).Hours())
	next := month.AddDate(0, 1, 0).Format(time.RFC3339)
	for i := 0; i < n; i++ {
		res := rng.IntN(20_000)
		p := res % len(scaleProviders)
		svc := (res / 4) % 40
		hour := month.Add(time.Duration(rng.IntN(hours)) * time.Hour)
		qty := rng.IntN(100_000)
		price := 1 + rng.IntN(50_000)
		// cost = qty/100 × price/100000, written exactly with 7 decimals.
		cost := fmt.Sprintf("%d.%07d", qty*price/10_000_000, (qty*price)%10_000_000)
		list := fmt.Sprintf("%d.%07d", qty*price*12/100_000_000, (qty*price*12/10)%10_000_000)
		category := "Usage"
		if i%97 == 0 {
			category = "Tax"
		}
		tags := fmt.Sprintf(`"{""team"":""t%d"",""env"":""%s"",""cost_center"":""cc%02d"",""project"":""p%03d"",""user"":""u%03d"",""Name"":""host-%05d"",""SessionID"":""%s-%06d""}"`,
			res%8, []string{"prod", "stage", "dev"}[res%3], res%40, res%200, rng.IntN(500), res,
			month.Format("0601"), rng.IntN(n/5+1))
		fmt.Fprintf(w, "%s,%s,%s,%s,USD,%s,%s,%s,%s,%.2f,Hours,%s,Service %02d,Category %d,region-%02d,Region %02d,payer-%d-%d,Payer %d,sub-%d-%d,Account %d,SKU%04d,res-%d-%05d,host-%05d,%s,,usage of service %d,%s\n",
			month.Format(time.RFC3339), next, hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339),
			cost, cost, list, cost, float64(qty)/100, scaleProviders[p], svc, svc%8, res%30, res%30,
			customer, p, p, customer, res%10, res%10, res%2000, customer, res, res, category, svc, tags)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, c := range closers {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

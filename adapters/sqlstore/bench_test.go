package sqlstore_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
)

// BenchmarkIngest times the truecost binary ingesting a generated FOCUS
// CSV.gz (BENCH_ROWS rows, default 1,000,000) into Postgres and SQLite, and
// psql's \copy of the same rows, uncompressed, into an unindexed table with
// the same typed columns. It prints rows/s, peak RSS and the wall-time ratio.
//
//	go test -run '^$' -bench BenchmarkIngest -benchtime 1x ./adapters/sqlstore/
func BenchmarkIngest(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("BENCH_ROWS"); v != "" {
		rows, _ = strconv.Atoi(v)
	}
	dir := b.TempDir()
	plain, gz := filepath.Join(dir, "focus.csv"), filepath.Join(dir, "focus.csv.gz")
	genStart := time.Now()
	if err := generateFOCUS(plain, gz, rows); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d rows in %.1fs", rows, time.Since(genStart).Seconds())
	bin := filepath.Join(dir, "truecost")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/truecost/truecost").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	pgURL, ok := sqltest.PostgresURL(b)
	if !ok {
		return
	}
	copyURL, _ := sqltest.PostgresURL(b)
	for i := 0; i < b.N; i++ {
		copyWall := psqlCopy(b, copyURL, plain)
		pg := ingestWithBinary(b, bin, pgURL, gz)
		lite := ingestWithBinary(b, bin, "sqlite://"+filepath.Join(dir, fmt.Sprintf("bench-%d.db", i)), gz)
		fmt.Printf("\n%-28s %12s %12s %12s %14s\n", "ingest of "+strconv.Itoa(rows)+" rows", "wall (s)", "rows/s", "peak RSS", "÷ psql \\copy")
		fmt.Printf("%-28s %12.2f %12.0f %12s %14s\n", "psql \\copy (csv, no index)", copyWall.Seconds(), float64(rows)/copyWall.Seconds(), "-", "1.00")
		for _, r := range []struct {
			name string
			res  ingestResult
		}{{"truecost → Postgres (gz)", pg}, {"truecost → SQLite (gz)", lite}} {
			fmt.Printf("%-28s %12.2f %12.0f %9d MiB %14.2f\n", r.name, r.res.wall.Seconds(), float64(rows)/r.res.wall.Seconds(),
				r.res.maxRSS>>20, r.res.wall.Seconds()/copyWall.Seconds())
		}
		b.ReportMetric(pg.wall.Seconds()/copyWall.Seconds(), "pg-ratio")
		b.ReportMetric(float64(pg.maxRSS>>20), "pg-MiB")
		b.ReportMetric(float64(lite.maxRSS>>20), "sqlite-MiB")
	}
}

type ingestResult struct {
	wall   time.Duration
	maxRSS int64
}

func ingestWithBinary(b *testing.B, bin, dbURL, source string) ingestResult {
	b.Helper()
	env := append(os.Environ(), "TRUECOST_DATABASE_URL="+dbURL)
	work := b.TempDir()
	for _, args := range [][]string{{"migrate"}, {"orgs", "create", "bench"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Dir = env, work
		if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "already exists") {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	cmd := exec.Command(bin, "ingest", "--org", "bench", "--source", source, "--format", "focus")
	cmd.Env, cmd.Dir = env, work
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("ingest: %v\n%s", err, out)
	}
	b.Logf("%s", strings.TrimSpace(string(out)))
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ingestResult{wall: wall, maxRSS: ru.Maxrss << 10}
}

// psqlCopy creates an unindexed table with the line items' typed FOCUS
// columns and times psql's \copy of the plain CSV into it.
func psqlCopy(b *testing.B, dbURL, csvPath string) time.Duration {
	b.Helper()
	var cols, names []string
	for _, f := range billing.Fields {
		typ := map[billing.Kind]string{billing.KindString: "TEXT", billing.KindDecimal: "NUMERIC",
			billing.KindTime: "TIMESTAMPTZ", billing.KindJSON: "JSONB"}[f.Kind]
		cols = append(cols, f.Column+" "+typ)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		b.Fatal(err)
	}
	header, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	for _, h := range strings.Split(strings.TrimSpace(header), ",") {
		field, _ := billing.FieldByName(h)
		names = append(names, field.Column)
	}
	ddl := "CREATE TABLE copy_target (" + strings.Join(cols, ", ") + ")"
	if out, err := exec.Command("psql", dbURL, "-v", "ON_ERROR_STOP=1", "-c", ddl).CombinedOutput(); err != nil {
		b.Fatalf("create table: %v\n%s", err, out)
	}
	copyCmd := fmt.Sprintf(`\copy copy_target (%s) FROM '%s' WITH (FORMAT csv, HEADER true, NULL 'NULL')`, strings.Join(names, ", "), csvPath)
	start := time.Now()
	if out, err := exec.Command("psql", dbURL, "-v", "ON_ERROR_STOP=1", "-c", copyCmd).CombinedOutput(); err != nil {
		b.Fatalf("psql copy: %v\n%s", err, out)
	}
	return time.Since(start)
}

// generateFOCUS writes n FOCUS 1.2 rows shaped like a mid-size multi-cloud
// month (a few hundred resources, hourly charges, tags, nulls) as CSV and
// CSV.gz.
func generateFOCUS(plainPath, gzPath string, n int) error {
	pf, err := os.Create(plainPath)
	if err != nil {
		return err
	}
	defer pf.Close()
	gf, err := os.Create(gzPath)
	if err != nil {
		return err
	}
	defer gf.Close()
	gzw, _ := gzip.NewWriterLevel(gf, gzip.BestSpeed)
	w := bufio.NewWriterSize(io.MultiWriter(pf, gzw), 1<<20)

	header := []string{"BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType", "BillingCurrency",
		"BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
		"ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountId", "ConsumedQuantity", "ConsumedUnit",
		"ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice",
		"PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName",
		"ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId",
		"SubAccountId", "SubAccountName", "Tags", "InvoiceId"}
	w.WriteString(strings.Join(header, ",") + "\n")
	providers := []string{"AWS", "Microsoft", "Google Cloud", "Oracle"}
	services := []struct{ name, cat string }{{"Amazon Elastic Compute Cloud", "Compute"}, {"Amazon Simple Storage Service", "Storage"},
		{"Azure Virtual Machines", "Compute"}, {"Azure SQL Database", "Databases"}, {"Compute Engine", "Compute"},
		{"BigQuery", "Analytics"}, {"OCI Compute", "Compute"}, {"OCI Object Storage", "Storage"}}
	regions := []string{"us-east-1", "eu-west-1", "westeurope", "us-central1", "eu-frankfurt-1", "ap-southeast-2"}
	teams := []string{"growth", "platform", "data", "security", "web"}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		// Each resource belongs to one provider, service and region, as in
		// real exports; hourly rows repeat it through the month.
		res := rng.IntN(2000)
		p := res % len(providers)
		svc := services[2*p+(res/4)%2]
		hour := start.Add(time.Duration(i%720) * time.Hour)
		qty := float64(rng.IntN(100000)) / 100
		price := 0.0001 + float64(rng.IntN(50000))/100000
		cost := strconv.FormatFloat(qty*price, 'f', 10, 64)
		list := strconv.FormatFloat(qty*price*1.2, 'f', 10, 64)
		category, class := "Usage", "NULL"
		if i%97 == 0 {
			category = "Tax"
		}
		if i%211 == 0 {
			class = "Correction"
		}
		tags := fmt.Sprintf(`"{""team"": ""%s"", ""env"": ""%s""}"`, teams[res%len(teams)], []string{"prod", "dev"}[res%2])
		fmt.Fprintf(w, "%s,%d,Account %d,BillingAccount,USD,2026-10-01T00:00:00Z,2026-09-01T00:00:00Z,%s,%s,\"%s usage in %s\",Usage-Based,%s,%s,NULL,%.2f,Hours,%s,%.6f,%s,%s,%s,%.6f,Standard,%.2f,Hours,%s,%s,%s,%s,res-%d,resource-%d,Virtual Machine,%s,%s,SKU%d,PRICE%d,sub-%d,Project %d,%s,INV-202609-%d\n",
			cost, 100000000+p, p, category, class, svc.name, regions[res%len(regions)],
			hour.Add(time.Hour).Format(time.RFC3339), hour.Format(time.RFC3339), qty, cost, price, cost,
			providers[p], list, price*1.2, qty, providers[p], providers[p], regions[res%len(regions)], regions[res%len(regions)],
			res, res, svc.cat, svc.name, res%50, res%80, res%20, res%20, tags, p)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return gzw.Close()
}

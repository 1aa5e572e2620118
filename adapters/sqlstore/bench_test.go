package sqlstore_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
)

// BenchmarkIngest times the truecost binary ingesting one big month into
// Postgres — BENCH_BIG_ROWS line items (default 10,000,000) generated like a
// customer's export (see generateScaleMonth), from the same CSV file psql
// reads and from its CSV.gz — beside psql's \copy of the CSV into an
// unindexed table with the same typed columns. It prints rows/s, peak RSS
// and the wall-time ratio.
//
//	BENCH_BIG_ROWS=2000000 go test -run '^$' -bench BenchmarkIngest -benchtime 1x ./adapters/sqlstore/
func BenchmarkIngest(b *testing.B) {
	rows := envInt("BENCH_BIG_ROWS", 10_000_000)
	pgURL, ok := sqltest.PostgresURL(b)
	if !ok {
		return
	}
	dir := b.TempDir()
	plain, gz := filepath.Join(dir, "month.csv"), filepath.Join(dir, "month.csv.gz")
	genStart := time.Now()
	if err := generateScaleMonth(plain, gz, rows, 0, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d rows in %.1fs", rows, time.Since(genStart).Seconds())
	bin := filepath.Join(dir, "truecost")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/truecost/truecost").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	for i := 0; i < b.N; i++ {
		copyWall := psqlCopy(b, pgURL, plain)
		pg := ingestWithBinary(b, bin, pgURL, gz)
		pgPlain := ingestWithBinary(b, bin, pgURL, plain)
		fmt.Printf("\n%-34s %10s %12s %10s %14s\n", fmt.Sprintf("ingest of %d rows", rows), "wall (s)", "rows/s", "peak RSS", "÷ reference")
		fmt.Printf("%-34s %10.2f %12.0f %10s %14s\n", "psql \\copy (typed table, no index)", copyWall.Seconds(), float64(rows)/copyWall.Seconds(), "-", "1.00")
		fmt.Printf("%-34s %10.2f %12.0f %6d MiB %14.2f\n", "truecost → Postgres (the same CSV)", pgPlain.wall.Seconds(), float64(rows)/pgPlain.wall.Seconds(),
			pgPlain.maxRSS>>20, pgPlain.wall.Seconds()/copyWall.Seconds())
		fmt.Printf("%-34s %10.2f %12.0f %6d MiB %14.2f\n", "truecost → Postgres (CSV.gz)", pg.wall.Seconds(), float64(rows)/pg.wall.Seconds(),
			pg.maxRSS>>20, pg.wall.Seconds()/copyWall.Seconds())
		b.ReportMetric(pgPlain.wall.Seconds()/copyWall.Seconds(), "pg-ratio")
		b.ReportMetric(pg.wall.Seconds()/copyWall.Seconds(), "pg-gz-ratio")
		b.ReportMetric(float64(max(pg.maxRSS, pgPlain.maxRSS)>>20), "pg-MiB")
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
	out, peak, err := sqltest.CombinedOutputPeak(cmd)
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("ingest: %v\n%s", err, out)
	}
	b.Logf("%s", strings.TrimSpace(string(out)))
	return ingestResult{wall: wall, maxRSS: peak}
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

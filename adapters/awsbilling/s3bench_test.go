package awsbilling_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

const (
	benchPeriod   = "cur-prefix/cur-daily/20260901-20261001"
	benchAssembly = benchPeriod + "/7b349f95-bd1e-46ed-a116-229417e08def"
	benchReport   = benchAssembly + "/September-2026-cur-daily.csv.gz"
)

// BenchmarkIngestCURFromS3 serves a legacy CUR month of BENCH_ROWS rows
// (default 1,000,000: the September sample's rows repeated) from an
// in-process S3 emulator and ingests it into Postgres in a child process,
// then times psql's \copy of the same rows, uncompressed, into an unindexed
// table of text columns. It prints rows/s, the child's peak RSS (its own
// VmHWM), the wall-time ratio and the child's CPU time (user+sys).
// BENCH_CPUPROFILE=FILE writes the ingesting process's CPU
// profile there; BENCH_CHILD_LOG=FILE its output (with GODEBUG=gctrace=1,
// its collections).
//
//	go test -run '^$' -bench BenchmarkIngestCURFromS3 -benchtime 1x ./adapters/awsbilling/
func BenchmarkIngestCURFromS3(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("BENCH_ROWS"); v != "" {
		rows, _ = strconv.Atoi(v)
	}
	dir := b.TempDir()
	plain := filepath.Join(dir, "cur.csv")
	gz, header, err := buildCUR(plain, rows)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer ts.Close()
	cfg := awsbilling.Config{Region: "us-east-1", Endpoint: ts.URL, AccessKeyID: "AKIABENCH", SecretAccessKey: "bench"}
	client, err := awsbilling.NewS3Client(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	uploads := map[string]string{
		benchPeriod + "/cur-daily-Manifest.json":   "testdata/bucket/" + benchPeriod + "/cur-daily-Manifest.json",
		benchAssembly + "/cur-daily-Manifest.json": "testdata/bucket/" + benchAssembly + "/cur-daily-Manifest.json",
		benchReport: gz,
	}
	for key, file := range uploads {
		body, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			b.Fatal(err)
		}
	}
	pgURL, ok := sqltest.PostgresURL(b)
	if !ok {
		return
	}
	copyURL, _ := sqltest.PostgresURL(b)
	for i := 0; i < b.N; i++ {
		copyWall := psqlCopyText(b, copyURL, plain, header)
		args := []string{"-test.run=^TestCURIngestChild$", "-test.count=1"}
		if prof := os.Getenv("BENCH_CPUPROFILE"); prof != "" {
			args = append(args, "-test.cpuprofile="+prof)
		}
		child := exec.Command(os.Args[0], args...)
		child.Env = append(os.Environ(), "BENCH_CHILD_S3="+ts.URL, "BENCH_CHILD_DB="+pgURL)
		start := time.Now()
		out, rss, err := sqltest.CombinedOutputPeak(child)
		wall := time.Since(start)
		if err != nil {
			b.Fatalf("ingest child: %v\n%s", err, out)
		}
		if log := os.Getenv("BENCH_CHILD_LOG"); log != "" {
			if err := os.WriteFile(log, out, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		ru := child.ProcessState.SysUsage().(*syscall.Rusage)
		// The peak is the child's own VmHWM, not ru.Maxrss (see
		// sqltest.CombinedOutputPeak).
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Printf("\n%-34s %10s %10s %10s %13s\n", fmt.Sprintf("CUR month of %d rows", rows), "wall (s)", "rows/s", "peak RSS", "÷ psql \\copy")
		fmt.Printf("%-34s %10.2f %10.0f %10s %13s\n", "psql \\copy (csv, text columns)", copyWall.Seconds(), float64(rows)/copyWall.Seconds(), "-", "1.00")
		fmt.Printf("%-34s %10.2f %10.0f %6d MiB %13.2f\n", "S3 emulator → truecost → Postgres", wall.Seconds(), float64(rows)/wall.Seconds(), rss>>20, wall.Seconds()/copyWall.Seconds())
		var self syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
		fmt.Printf("%-34s %d MiB (what the child's ru_maxrss says: %d MiB)\n", "peak RSS of this benchmark process", self.Maxrss>>10, ru.Maxrss>>10)
		fmt.Printf("%-34s %10.2f (user %.2f, sys %.2f)\n", "truecost CPU (s)", cpu.Seconds(), time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds())
		b.ReportMetric(wall.Seconds()/copyWall.Seconds(), "ratio")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(float64(rss>>20), "MiB")
	}
}

// TestCURIngestChild is BenchmarkIngestCURFromS3's ingesting process; it
// does nothing unless started by the benchmark.
func TestCURIngestChild(t *testing.T) {
	endpoint, dbURL := os.Getenv("BENCH_CHILD_S3"), os.Getenv("BENCH_CHILD_DB")
	if endpoint == "" {
		return
	}
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org, err := tenancy.NewService(store, tenancy.NewRights(store)).CreateOrganization(ctx, system, "bench", "", tenancy.Customer, "")
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := awsbilling.OpenS3Bucket(ctx, awsbilling.Config{Region: "us-east-1", Endpoint: endpoint, AccessKeyID: "AKIABENCH", SecretAccessKey: "bench"}, "bench")
	if err != nil {
		t.Fatal(err)
	}
	run, err := billing.NewIngester(store, tenancy.NewID).Ingest(ctx, billing.IngestRequest{OrgID: org.ID, ConnectorID: "bench-s3",
		Source: awsbilling.NewSource(bucket, "cur-prefix", awsbilling.KindCUR)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ingested %d rows, %v", run.Rows, run.Totals)
}

// buildCUR repeats the September sample's rows into a plain CSV and a
// CSV.gz, returning the gzip path and the header.
func buildCUR(plainPath string, rows int) (string, []string, error) {
	f, err := os.Open("testdata/bucket/" + benchReport)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", nil, err
	}
	sample, err := io.ReadAll(zr)
	if err != nil {
		return "", nil, err
	}
	text := strings.ReplaceAll(string(sample), "\r\n", "\n")
	header, body, _ := strings.Cut(text, "\n")
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	pf, err := os.Create(plainPath)
	if err != nil {
		return "", nil, err
	}
	defer pf.Close()
	gzPath := plainPath + ".gz"
	gf, err := os.Create(gzPath)
	if err != nil {
		return "", nil, err
	}
	defer gf.Close()
	zw, _ := gzip.NewWriterLevel(gf, gzip.BestSpeed)
	w := bufio.NewWriterSize(io.MultiWriter(pf, zw), 1<<20)
	w.WriteString(header + "\n")
	for i := 0; i < rows; i++ {
		w.WriteString(lines[i%len(lines)])
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return "", nil, err
	}
	return gzPath, strings.Split(header, ","), zw.Close()
}

func psqlCopyText(b *testing.B, dbURL, csvPath string, header []string) time.Duration {
	b.Helper()
	cols := make([]string, len(header))
	for i := range header {
		cols[i] = fmt.Sprintf("c%d text", i)
	}
	ddl := "CREATE TABLE cur_copy (" + strings.Join(cols, ", ") + ")"
	if out, err := exec.Command("psql", dbURL, "-v", "ON_ERROR_STOP=1", "-c", ddl).CombinedOutput(); err != nil {
		b.Fatalf("create table: %v\n%s", err, out)
	}
	start := time.Now()
	cmd := fmt.Sprintf(`\copy cur_copy FROM '%s' WITH (FORMAT csv, HEADER true)`, csvPath)
	if out, err := exec.Command("psql", dbURL, "-v", "ON_ERROR_STOP=1", "-c", cmd).CombinedOutput(); err != nil {
		b.Fatalf("psql copy: %v\n%s", err, out)
	}
	return time.Since(start)
}

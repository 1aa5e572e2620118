package awsbilling_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/tenancy"
)

// BenchmarkExportCURToS3 ingests a legacy CUR month of BENCH_ROWS rows
// (default 1,000,000) from an S3 emulator, then exports the month back to
// the emulator as the CUR layout (CSV.gz, multipart upload), each in a
// child process so that the peak RSS measured is Truecost's alone (the
// emulator runs in this process). It prints rows/s and peak RSS of both.
// For looking closer: BENCH_CHILD_PHASES=1 also times the export's key
// scan and a bare read, BENCH_CHILD_PROFILE=FILE writes the export's CPU
// profile, BENCH_KEEP_DB=URL loads into that (empty) database and leaves
// it there.
//
//	go test -run '^$' -bench BenchmarkExportCURToS3 -benchtime 1x ./adapters/awsbilling/
func BenchmarkExportCURToS3(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("BENCH_ROWS"); v != "" {
		rows, _ = strconv.Atoi(v)
	}
	dir := b.TempDir()
	gz, _, err := buildCUR(filepath.Join(dir, "cur.csv"), rows)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer ts.Close()
	client, err := awsbilling.NewS3Client(context.Background(), awsbilling.Config{Region: "us-east-1", Endpoint: ts.URL, AccessKeyID: "AKIABENCH", SecretAccessKey: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, bucket := range []string{"bench", "bench-exports"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			b.Fatal(err)
		}
	}
	for key, file := range map[string]string{
		benchPeriod + "/cur-daily-Manifest.json":   "testdata/bucket/" + benchPeriod + "/cur-daily-Manifest.json",
		benchAssembly + "/cur-daily-Manifest.json": "testdata/bucket/" + benchAssembly + "/cur-daily-Manifest.json",
		benchReport: gz,
	} {
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
	if keep := os.Getenv("BENCH_KEEP_DB"); keep != "" {
		pgURL = keep // an empty database the run leaves behind, for looking at its plans
	}
	child := func(step string) (time.Duration, int64) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestExportBenchChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "BENCH_CHILD_S3="+ts.URL, "BENCH_CHILD_DB="+pgURL, "BENCH_CHILD_STEP="+step)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		wall := time.Since(start)
		if err != nil {
			b.Fatalf("%s child: %v\n%s", step, err, out)
		}
		if os.Getenv("BENCH_CHILD_PHASES") != "" {
			b.Logf("%s child:\n%s", step, out)
		}
		// The child's own peak, not ru_maxrss, which carries this
		// process's over exec (see BenchmarkIngestCURFromS3).
		rss, err := childPeakRSS(out)
		if err != nil {
			b.Fatalf("%s child: %v\n%s", step, err, out)
		}
		return wall, rss
	}
	for i := 0; i < b.N; i++ {
		ingestWall, ingestRSS := child("ingest")
		exportWall, exportRSS := child("export")
		fmt.Printf("\n%-40s %10s %10s %10s\n", fmt.Sprintf("CUR month of %d rows", rows), "wall (s)", "rows/s", "peak RSS")
		fmt.Printf("%-40s %10.2f %10.0f %6d MiB\n", "ingest: S3 → truecost → Postgres", ingestWall.Seconds(), float64(rows)/ingestWall.Seconds(), ingestRSS>>20)
		fmt.Printf("%-40s %10.2f %10.0f %6d MiB\n", "export: Postgres → truecost → S3 CUR", exportWall.Seconds(), float64(rows)/exportWall.Seconds(), exportRSS>>20)
		b.ReportMetric(float64(rows)/exportWall.Seconds(), "export-rows/s")
		b.ReportMetric(float64(rows)/ingestWall.Seconds(), "ingest-rows/s")
		b.ReportMetric(float64(exportRSS>>20), "export-MiB")
	}
}

// TestExportBenchChild is BenchmarkExportCURToS3's process: it ingests
// the emulator's CUR, or exports the month it ingested; it does nothing
// unless started by the benchmark.
func TestExportBenchChild(t *testing.T) {
	endpoint, dbURL, step := os.Getenv("BENCH_CHILD_S3"), os.Getenv("BENCH_CHILD_DB"), os.Getenv("BENCH_CHILD_STEP")
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
	rights := tenancy.NewRights(store)
	ten := tenancy.NewService(store, rights)
	sealer, err := connectors.NewAESSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if step == "ingest" {
		org, err := ten.CreateOrganization(ctx, system, "bench", "", tenancy.Customer, "")
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
		printPeakRSS(t)
		return
	}
	if path := os.Getenv("BENCH_CHILD_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	org, err := ten.OrganizationBySlug(ctx, system, "bench")
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := connectors.SealSecret(sealer, connectors.Secret{"access_key_id": "AKIABENCH", "secret_access_key": "bench"})
	acct := accounts.Account{ID: "bench-acct", OrgID: org.ID, Provider: connectors.AWS, Name: "bench", ProviderAccountID: "123456789012",
		Status: accounts.Unprovisioned, CreatedAt: time.Now().UTC()}
	if err := store.CreateAccount(ctx, acct, sealed); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := store.SaveConfig(ctx, exports.Config{ID: "bench", OrgID: org.ID, Enabled: true, Providers: []connectors.Provider{connectors.AWS},
		Basis: exports.AtCost, Format: exports.Native, Destination: exports.Destination{Kind: exports.S3, Bucket: "bench-exports", AccountID: acct.ID},
		VerifiedAt: now, CreatedAt: now, UpdatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	svc := exports.NewService(exports.Deps{Store: store, Orgs: store, Rights: rights, Accounts: store, Connectors: store, Sealer: sealer,
		Sinks:   exports.SinksByKind{exports.S3: awsbilling.NewSinks(awsbilling.SinkConfig{Endpoint: endpoint})},
		Formats: exports.Layouts{focusfile.Layout{}, awsbilling.CURLayout{}}, NewID: tenancy.NewID})
	if _, err := svc.Queue(ctx, system, org.ID, connectors.AWS, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), "bench"); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("BENCH_CHILD_PHASES") != "" {
		sc := exports.Scope{OrgID: org.ID, Month: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), ProviderNames: exports.ProviderNames(connectors.AWS)}
		start := time.Now()
		cols, err := store.ExportColumns(ctx, sc)
		fmt.Printf("columns: %d extras %d tags in %v (%v)\n", len(cols.Extras), len(cols.TagKeys), time.Since(start), err)
		start = time.Now()
		n := 0
		err = store.ExportLineItems(ctx, sc, func(*exports.Item) error { n++; return nil })
		fmt.Printf("read %d rows in %v (%v)\n", n, time.Since(start), err)
	}
	start := time.Now()
	if _, err := svc.WriteQueued(ctx, system, 1); err != nil {
		t.Fatal(err)
	}
	runs, err := svc.Runs(ctx, system, org.ID, 1)
	if err != nil || len(runs) != 1 || runs[0].Status != exports.RunSucceeded {
		t.Fatalf("export: %+v %v", runs, err)
	}
	t.Logf("exported %d rows in %d file(s) in %v, %v", runs[0].Rows, len(runs[0].Files), time.Since(start), runs[0].Totals)
	printPeakRSS(t)
}

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/outbound"
	"github.com/truecost/truecost/domain/billing"
)

// exportS3 is gofakes3 behind a router answering as S3 does for a
// PutObject its bucket policy denies; it holds the customer's CUR bucket
// and the export buckets. It returns its URL and a client.
func exportS3(t *testing.T) (string, *s3.Client) {
	t.Helper()
	h := gofakes3.New(s3mem.New()).Server()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/denied-bucket/") && r.Method == http.MethodPut {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := awsbilling.NewS3Client(context.Background(), awsbilling.Config{Endpoint: ts.URL, AccessKeyID: "AKIAE2E", SecretAccessKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, b := range []string{"cur-bucket", "reseller-exports", "acme-exports", "denied-bucket"} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join("adapters", "awsbilling", "testdata", "bucket")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		if err == nil {
			_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cur-bucket"), Key: aws.String(filepath.ToSlash(rel)), Body: bytes.NewReader(b)})
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ts.URL, c
}

type e2eRun struct {
	ID, Status, Month, Basis, Layout, Error, ConfigID, Provider, Reason string
	Rows                                                                int
	Files                                                               []struct{ Key string }
	Totals                                                              []e2eMoney
}

func TestExportsAreWrittenAfterASyncThroughTheBinary(t *testing.T) {
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		root, _ := os.Getwd() // cmd moves into dir
		s3URL, client := exportS3(t)
		t.Setenv(outbound.EnvAllow, "127.0.0.1")
		t.Setenv("TRUECOST_AWS_ENDPOINT_URL", s3URL)
		t.Setenv("TRUECOST_EXPORT_INTERVAL", "1s")
		t.Setenv("TRUECOST_SECRET_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)))
		mustCmds(t, dir, dbURL,
			[]string{"migrate"},
			[]string{"orgs", "create", "northwind", "--kind", "reseller"},
			[]string{"orgs", "create", "acme", "--reseller", "northwind"})
		reseller := userToken(t, dir, dbURL, "ops@northwind.example", "northwind")
		url := serve(t, dir, dbURL)
		var orgs struct{ Organizations []struct{ ID, Slug string } }
		graphqlData(t, url, reseller, `{ organizations { id slug } }`, nil, &orgs)
		acme := ""
		for _, o := range orgs.Organizations {
			if o.Slug == "acme" {
				acme = o.ID
			}
		}
		account := func(org string) string {
			var out struct{ CreateCloudAccount struct{ ID string } }
			graphqlData(t, url, reseller, `mutation($org: ID) { createCloudAccount(organizationId: $org, input: {provider: AWS, name: "Payer",
				providerAccountId: "123456789012", credentials: {accessKeyId: "AKIAE2E", secretAccessKey: "s"}}) { id } }`,
				map[string]any{"org": org}, &out)
			return out.CreateCloudAccount.ID
		}
		resAcct, acmeAcct := account(""), account(acme)
		var conn struct{ CreateConnector struct{ ID string } }
		graphqlData(t, url, reseller, `mutation($org: ID, $in: ConnectorInput!) { createConnector(organizationId: $org, input: $in) { id } }`,
			map[string]any{"org": acme, "in": map[string]any{"provider": "AWS", "name": "Acme CUR", "config": map[string]any{
				"awsAccountId": "123456789012", "bucket": "cur-bucket", "path": "cur-prefix", "fileType": "cur", "endpoint": s3URL},
				"secret": map[string]any{"accessKeyId": "AKIAE2E", "secretAccessKey": "s"}}}, &conn)

		// The reseller prices acme at cost + 12.5%.
		var pb struct{ CreatePricebook struct{ ID string } }
		graphqlData(t, url, reseller, `mutation { createPricebook(name: "Standard") { id } }`, nil, &pb)
		graphqlData(t, url, reseller, `mutation($pb: ID!) { putPricingRule(pricebookId: $pb, rule: {scope: ALL, type: MARKUP, percent: "12.5"}) { version } }`,
			map[string]any{"pb": pb.CreatePricebook.ID}, nil)
		graphqlData(t, url, reseller, `mutation($org: ID!, $pb: ID) { assignPricebook(organizationId: $org, pricebookId: $pb, effectiveMonth: "2026-01") { adjustmentPercent } }`,
			map[string]any{"org": acme, "pb": pb.CreatePricebook.ID}, nil)

		in := func(basis, format, bucket, prefix, acct string) map[string]any {
			return map[string]any{"enabled": true, "providers": []string{"aws"}, "basis": basis, "format": format,
				"kind": "S3", "bucket": bucket, "prefix": prefix, "accountId": acct}
		}
		type verification struct {
			Ok      bool
			Problem *string
			Message string
			Policy  string
			Overlap *struct{ Message string }
		}
		verify := `mutation($org: ID, $in: ExportConfigInput!) { verifyExport(organizationId: $org, input: $in) { ok problem message policy overlap { message } } }`
		for _, c := range []struct{ bucket, problem, says string }{
			{"missing-bucket", "BUCKET_MISSING", "does not exist"},
			{"denied-bucket", "ACCESS_DENIED", "Access denied"},
		} {
			var v struct{ VerifyExport verification }
			graphqlData(t, url, reseller, verify, map[string]any{"in": in("COST", "NATIVE", c.bucket, "", resAcct)}, &v)
			got := v.VerifyExport
			if got.Ok || got.Problem == nil || *got.Problem != c.problem || !strings.Contains(got.Message, c.says) ||
				!strings.Contains(got.Policy, "arn:aws:s3:::"+c.bucket+"/*") {
				t.Errorf("verify %s: %+v", c.bucket, got)
			}
		}
		save := `mutation($org: ID, $in: ExportConfigInput!) { saveExport(organizationId: $org, input: $in) { config { id } verification { ok } } }`
		if errs, _ := gql(t, url, reseller, save, map[string]any{"org": acme, "in": in("RESALE", "NATIVE", "cur-bucket", "", acmeAcct)}, nil); len(errs) == 0 ||
			errs[0].Extensions.Code != "conflict" || !strings.Contains(errs[0].Message, "Acme CUR") {
			t.Errorf("overwrite guard on the connector's bucket: %+v", errs)
		}
		for _, c := range []struct {
			org string
			in  map[string]any
		}{
			{"", in("COST", "NATIVE", "reseller-exports", "cost", resAcct)},
			{"", in("RESALE", "FOCUS", "reseller-exports", "resale", resAcct)},
			{acme, in("RESALE", "NATIVE", "acme-exports", "", acmeAcct)},
		} {
			graphqlData(t, url, reseller, save, map[string]any{"org": c.org, "in": c.in}, nil)
		}

		var synced struct{ SyncConnector struct{ Status string } }
		jobData(t, url, reseller, `mutation($org: ID, $id: ID!) { syncConnector(organizationId: $org, id: $id) { id } }`,
			map[string]any{"org": acme, "id": conn.CreateConnector.ID}, `ingestionRun { status }`, &synced)
		runs := waitExports(t, url, reseller, 10)

		// costs is a month's total of one export stream: AWS's data, or
		// the bill's own charges ("reseller").
		costs := func(month, metric, provider string) decimal.Decimal {
			var data struct {
				Costs struct{ Totals []e2eMoney }
			}
			name := map[string]string{"aws": "AWS", "reseller": "Reseller"}[provider]
			from, _ := time.Parse("2006-01", month)
			graphqlData(t, url, reseller, `query($org: ID, $from: Date!, $to: Date!, $p: [String!]) { costs(query: {from: $from, to: $to,
				dateBasis: BILLING_PERIOD, organizationId: $org, metric: `+metric+`, filter: {providers: $p}}) { totals { amount } } }`,
				map[string]any{"org": acme, "from": from.Format(time.DateOnly), "to": from.AddDate(0, 1, 0).Format(time.DateOnly), "p": []string{name}}, &data)
			return moneySum(data.Costs.Totals)
		}
		if costs("2026-09", "RESALE_COST", "aws").Equal(costs("2026-09", "BILLED_COST", "aws")) {
			t.Fatal("pricing did not apply")
		}
		for _, r := range runs {
			metric := "RESALE_COST"
			if r.Basis == "COST" {
				metric = "BILLED_COST"
			}
			want := costs(r.Month, metric, r.Provider)
			if got := moneySum(r.Totals); len(r.Totals) > 1 || !got.Equal(want) {
				t.Errorf("run %s %s %s %s: totals %+v, costs says %s", r.Month, r.Provider, r.Basis, r.Layout, r.Totals, want)
			}
			if r.Layout != "aws-cur" {
				continue
			}
			bucket := "acme-exports"
			if r.Basis == "COST" {
				bucket = "reseller-exports"
			}
			sum := decimal.Zero
			for _, f := range r.Files {
				out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(f.Key)})
				if err != nil {
					t.Fatal(err)
				}
				err = awsbilling.DecodeCUR(context.Background(), f.Key, out.Body, func(l *billing.LineItem) error {
					sum = sum.Add(l.BilledCost.Decimal())
					return nil
				})
				out.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			if !sum.Equal(want) {
				t.Errorf("%s %s read back by the CUR reader: %s, costs says %s", r.Month, r.Basis, sum, want)
			}
			if r.Basis == "COST" && !strings.HasPrefix(r.Files[0].Key, "cost/acme/truecost/") {
				t.Errorf("reseller export key %s is not under the customer's folder", r.Files[0].Key)
			}
		}

		// AWS restates September: the next sync rewrites its exports under
		// a new assembly, and the manifest names only the new files.
		manifest := func() (string, []string) {
			out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("reseller-exports"),
				Key: aws.String("cost/acme/truecost/20260901-20261001/truecost-Manifest.json")})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			var m struct {
				AssemblyID string
				ReportKeys []string
			}
			if err := json.NewDecoder(out.Body).Decode(&m); err != nil {
				t.Fatal(err)
			}
			return m.AssemblyID, m.ReportKeys
		}
		oldAssembly, oldKeys := manifest()
		restateSeptember(t, client, root, 1000, "5f0c2a9e-1111-4222-8333-444455556666")
		jobData(t, url, reseller, `mutation($org: ID, $id: ID!) { syncConnector(organizationId: $org, id: $id) { id } }`,
			map[string]any{"org": acme, "id": conn.CreateConnector.ID}, `ingestionRun { status }`, &synced)
		waitExports(t, url, reseller, 15)
		assembly, keys := manifest()
		if assembly == oldAssembly || len(keys) != 1 || !strings.Contains(keys[0], "/"+assembly+"/") || slices.Contains(keys, oldKeys[0]) {
			t.Errorf("restated September: assembly %s keys %v, before %s %v", assembly, keys, oldAssembly, oldKeys)
		}

		// The reseller closes September: its two resale exports are
		// written once more, queued by the close.
		graphqlData(t, url, reseller, `mutation($org: ID!) { closeBillingCycle(organizationId: $org, month: "2026-09") { state } }`,
			map[string]any{"org": acme}, nil)
		closed := 0
		for _, r := range waitExports(t, url, reseller, 19) {
			if r.Reason == "close" {
				closed++
				if r.Month != "2026-09" || r.Basis != "RESALE" || (r.Provider != "aws" && r.Provider != "reseller") {
					t.Errorf("run queued at close: %+v", r)
				}
			}
		}
		if closed != 4 {
			t.Errorf("%d export runs queued by the close, want 4 (AWS and the charges of the 2 resale configurations)", closed)
		}

		// AWS restates the closed September: its resale files stay as
		// closed, and the month the difference is carried into has its
		// resale exports written again, adjustment included.
		restateSeptember(t, client, root, 500, "6a1d3b0f-2222-4333-8444-555566667777")
		jobData(t, url, reseller, `mutation($org: ID, $id: ID!) { syncConnector(organizationId: $org, id: $id) { id } }`,
			map[string]any{"org": acme, "id": conn.CreateConnector.ID}, `ingestionRun { status }`, &synced)
		deadline := time.Now().Add(60 * time.Second)
		for {
			var carried []e2eRun
			for _, r := range waitExports(t, url, reseller, 20) {
				if r.Reason == "restatement" && r.Status == "SUCCEEDED" {
					carried = append(carried, r)
				}
			}
			if len(carried) == 4 {
				for _, r := range carried {
					if want := costs(r.Month, "RESALE_COST", r.Provider); r.Month != "2026-10" || !moneySum(r.Totals).Equal(want) {
						t.Errorf("export of the month carrying the restatement: %+v, costs says %s", r, want)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d resale exports rewritten for the restatement's month after 60s, want 4 (AWS and the charges, two configurations)", len(carried))
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// e2eMoney is a Money of the GraphQL answers.
type e2eMoney struct{ Amount, Currency string }

// moneySum adds amounts of one currency (none: zero).
func moneySum(ms []e2eMoney) decimal.Decimal {
	sum := decimal.Zero
	for _, m := range ms {
		sum = sum.Add(decimal.RequireFromString(m.Amount))
	}
	return sum
}

// restateSeptember puts a new September assembly (the first rows of the
// sample) and a manifest naming it into the CUR bucket, as AWS does when it
// refreshes a month.
func restateSeptember(t *testing.T, c *s3.Client, root string, rows int, assembly string) {
	t.Helper()
	ctx := context.Background()
	dir := "cur-prefix/cur-daily/20260901-20261001"
	raw, err := os.ReadFile(filepath.Join(root, "adapters", "awsbilling", "testdata", "bucket", dir, "7b349f95-bd1e-46ed-a116-229417e08def", "September-2026-cur-daily.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(text), "\n")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, strings.Join(lines[:rows+1], ""))
	zw.Close()
	key := dir + "/" + assembly + "/September-2026-cur-daily.csv.gz"
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cur-bucket"), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	mb, err := os.ReadFile(filepath.Join(root, "adapters", "awsbilling", "testdata", "bucket", dir, "cur-daily-Manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	m["assemblyId"], m["reportKeys"] = assembly, []string{key}
	mb, _ = json.Marshal(m)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cur-bucket"), Key: aws.String(dir + "/cur-daily-Manifest.json"), Body: bytes.NewReader(mb)}); err != nil {
		t.Fatal(err)
	}
}

// waitExports polls exportRuns until n runs have succeeded and none is
// waiting or running.
func waitExports(t *testing.T, url, token string, n int) []e2eRun {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var data struct{ ExportRuns []e2eRun }
		graphqlData(t, url, token, `{ exportRuns(limit: 100) { id status month basis layout error configId provider reason rows files { key } totals { amount currency } } }`, nil, &data)
		done, pending := 0, 0
		for _, r := range data.ExportRuns {
			switch r.Status {
			case "SUCCEEDED":
				done++
			case "FAILED":
				t.Fatalf("export run failed: %+v", r)
			default:
				pending++
			}
		}
		if done >= n && pending == 0 {
			return data.ExportRuns
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(data.ExportRuns)
			t.Fatalf("%d of %d export runs succeeded after 60s: %s", done, n, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

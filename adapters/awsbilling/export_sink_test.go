package awsbilling_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/klauspost/compress/gzip"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
)

// exportS3 is gofakes3 behind a router that answers as S3 does for a
// bucket in another region and for a PutObject the bucket policy denies.
func exportS3(t *testing.T) (string, *s3.Client) {
	t.Helper()
	h := gofakes3.New(s3mem.New()).Server()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/denied-bucket/") && r.Method == http.MethodPut:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		case strings.HasPrefix(r.URL.Path, "/eu-bucket/"):
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("X-Amz-Bucket-Region", "eu-west-1")
			w.WriteHeader(http.StatusMovedPermanently)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := awsbilling.NewS3Client(context.Background(), awsbilling.Config{Endpoint: ts.URL, AccessKeyID: "AKIAEXPORT", SecretAccessKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"reseller-bucket", "acme-bucket", "denied-bucket", testBucket} {
		if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	return ts.URL, c
}

type exportWorld struct {
	store           *sqlstore.Store
	svc             *exports.Service
	reporter        *billing.Reporter
	ingester        *billing.Ingester
	reseller, acme  tenancy.Organization
	resAdmin, acAdm tenancy.Principal
	resAcct, acAcct string
	connector       connectors.Connector
	src             *awsbilling.Source
	srcClient       *s3.Client
	dst             *s3.Client
	dstURL          string
}

func newExportWorld(t *testing.T, s *sqlstore.Store) *exportWorld {
	t.Helper()
	ctx := context.Background()
	w := &exportWorld{store: s}
	rights := tenancy.NewRights(s)
	ten := tenancy.NewService(s, rights)
	var err error
	if w.reseller, err = ten.CreateOrganization(ctx, system, "resco", "", tenancy.Reseller, ""); err != nil {
		t.Fatal(err)
	}
	if w.acme, err = ten.CreateOrganization(ctx, system, "acme", "", tenancy.Customer, "resco"); err != nil {
		t.Fatal(err)
	}
	w.resAdmin = tenancy.Principal{Org: w.reseller, User: tenancy.User{ID: "r", OrgID: w.reseller.ID, Role: tenancy.Admin}}
	w.acAdm = tenancy.Principal{Org: w.acme, User: tenancy.User{ID: "a", OrgID: w.acme.ID, Role: tenancy.Admin}}
	sealer, err := connectors.NewAESSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := connectors.SealSecret(sealer, connectors.Secret{"access_key_id": "AKIAEXPORT", "secret_access_key": "s"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*struct {
		org string
		id  *string
	}{{w.reseller.ID, &w.resAcct}, {w.acme.ID, &w.acAcct}} {
		*a.id = tenancy.NewID()
		if err := s.CreateAccount(ctx, accounts.Account{ID: *a.id, OrgID: a.org, Provider: connectors.AWS, Name: "payer",
			ProviderAccountID: "123456789012", ExternalID: "truecost-ext", Status: accounts.Unprovisioned, CreatedAt: time.Now().UTC()}, sealed); err != nil {
			t.Fatal(err)
		}
	}
	w.dstURL, w.dst = exportS3(t)
	w.svc = exports.NewService(exports.Deps{Store: s, Orgs: s, Rights: rights, Accounts: s, Connectors: s, Sealer: sealer,
		Sinks:   exports.SinksByKind{exports.S3: awsbilling.NewSinks(awsbilling.SinkConfig{Endpoint: w.dstURL})},
		Formats: exports.Layouts{focusfile.Layout{}, awsbilling.CURLayout{}}, NewID: tenancy.NewID})

	// The customer's CUR arrives through an AWS connector reading its bucket.
	fake := newFakeS3(t)
	w.srcClient = fake.client(t)
	uploadSample(t, w.srcClient)
	bucket, err := awsbilling.OpenS3Bucket(ctx, fake.config(), testBucket)
	if err != nil {
		t.Fatal(err)
	}
	w.src = awsbilling.NewSource(bucket, "cur-prefix", awsbilling.KindCUR)
	w.connector = connectors.Connector{ID: tenancy.NewID(), OrgID: w.acme.ID, Provider: connectors.AWS, Name: "AWS CUR",
		Location: "s3://" + testBucket + "/cur-prefix", Format: "aws-cur", Enabled: true, Status: connectors.StatusNew,
		Config: connectors.Config{Bucket: testBucket, Path: "cur-prefix"}, CreatedAt: time.Now().UTC()}
	if err := s.CreateConnector(ctx, w.connector, nil); err != nil {
		t.Fatal(err)
	}
	w.ingester = billing.NewIngester(s, tenancy.NewID).Observe(w.svc)
	w.reporter = billing.NewReporter(s, s, rights)

	// The reseller prices acme at cost + 13.7%.
	pr := pricing.NewService(s, s, tenancy.NewID)
	pb, err := pr.CreatePricebook(ctx, w.resAdmin, "Standard")
	if err == nil {
		_, err = pr.PutRule(ctx, w.resAdmin, pb.ID, pricing.Rule{Scope: pricing.ScopeAll, Type: pricing.Markup, Percent: decimal.RequireFromString("13.7")})
	}
	if err == nil {
		_, err = pr.Assign(ctx, w.resAdmin, w.acme.ID, pb.ID, date("2026-01-01"))
	}
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *exportWorld) ingest(t *testing.T) billing.IngestionRun {
	t.Helper()
	run, err := w.ingester.Ingest(context.Background(), billing.IngestRequest{OrgID: w.acme.ID, ConnectorID: w.connector.ID, Source: w.src})
	if err != nil || run.Status != billing.RunSucceeded {
		t.Fatalf("ingest: %s, %v", run.Status, err)
	}
	return run
}

// costs is the costs report of acme's month in a metric, by currency.
func (w *exportWorld) costs(t *testing.T, month string, m billing.Metric) decimal.Decimal {
	t.Helper()
	from := date(month)
	rep, err := w.reporter.Report(context.Background(), system, billing.CostQuery{OrgID: w.acme.ID, From: from,
		To: from.AddDate(0, 1, 0), DateBasis: billing.BillingPeriod, Metric: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Totals) != 1 || rep.Totals[0].Currency != "USD" {
		t.Fatalf("totals %+v", rep.Totals)
	}
	return rep.Totals[0].Amount
}

func (w *exportWorld) get(t *testing.T, bucket, key string) []byte {
	t.Helper()
	out, err := w.dst.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// curManifest reads a top-level CUR manifest of the export.
func (w *exportWorld) curManifest(t *testing.T, bucket, key string) (assembly string, keys []string, doc exports.ManifestDoc) {
	t.Helper()
	var m struct {
		AssemblyID string              `json:"assemblyId"`
		ReportKeys []string            `json:"reportKeys"`
		Truecost   exports.ManifestDoc `json:"truecost"`
	}
	if err := json.Unmarshal(w.get(t, bucket, key), &m); err != nil {
		t.Fatal(err)
	}
	return m.AssemblyID, m.ReportKeys, m.Truecost
}

// sumCUR decodes files with Truecost's CUR reader and sums BilledCost.
func (w *exportWorld) sumCUR(t *testing.T, bucket string, keys []string) decimal.Decimal {
	t.Helper()
	sum := decimal.Zero
	for _, k := range keys {
		err := awsbilling.DecodeCUR(context.Background(), k, bytes.NewReader(w.get(t, bucket, k)), func(l *billing.LineItem) error {
			sum = sum.Add(l.BilledCost.Decimal())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return sum
}

// cells returns every field of a gzipped CSV object, header first.
func (w *exportWorld) cells(t *testing.T, bucket, key string) [][]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(w.get(t, bucket, key)))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// sourceCosts are the amounts of the sample CUR's cost columns that no
// other numeric column of it holds: a resale export must not contain one.
func sourceCosts(t *testing.T) map[string]bool {
	t.Helper()
	costs, other := map[string]bool{}, map[string]bool{}
	for _, f := range []string{septemberCSV, octoberCSV} {
		rows := readCSV(t, "testdata/bucket/"+f)
		for _, r := range rows[1:] {
			for i, h := range rows[0] {
				v := r[i]
				if _, err := decimal.NewFromString(v); err != nil || decimal.RequireFromString(v).IsZero() {
					continue
				}
				if strings.Contains(h, "Cost") || strings.Contains(h, "Rate") || strings.Contains(h, "Fee") {
					costs[v] = true
				} else {
					other[v] = true
				}
			}
		}
	}
	for v := range other {
		delete(costs, v)
	}
	if len(costs) < 10 {
		t.Fatalf("only %d distinct source costs to look for", len(costs))
	}
	return costs
}

func assertNoCost(t *testing.T, name string, rows [][]string, costs map[string]bool) {
	t.Helper()
	for _, h := range rows[0] {
		l := strings.ToLower(h)
		if strings.HasSuffix(l, "rate") || strings.Contains(l, "publicondemand") || strings.Contains(l, "netunblended") ||
			l == "lineitem/blendedcost" || strings.Contains(l, "unitprice") || (strings.HasPrefix(l, "pricingcurrency") && l != "pricingcurrency") {
			t.Errorf("%s: resale export has cost column %s", name, h)
		}
	}
	for i, r := range rows[1:] {
		for j, v := range r {
			if costs[v] {
				t.Fatalf("%s: row %d column %s holds the source cost %s", name, i+2, rows[0][j], v)
			}
		}
	}
}

func TestExportsWriteTheThreeConfigurationsAfterASync(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newExportWorld(t, s)
		aws3 := func(bucket, prefix, acct string) exports.Destination {
			return exports.Destination{Kind: exports.S3, Bucket: bucket, Prefix: prefix, AccountID: acct}
		}
		in := func(basis exports.Basis, f exports.Format, d exports.Destination) exports.Input {
			return exports.Input{Enabled: true, Providers: []connectors.Provider{connectors.AWS}, Basis: basis, Format: f, Destination: d}
		}

		// Verify names each problem, with the policy filled in.
		for _, c := range []struct {
			bucket string
			want   exports.Problem
			says   string
		}{
			{"missing-bucket", exports.BucketMissing, "does not exist"},
			{"denied-bucket", exports.AccessDenied, "Access denied"},
			{"eu-bucket", exports.WrongRegion, "eu-west-1"},
		} {
			v, err := w.svc.Verify(ctx, w.resAdmin, w.reseller.ID, in(exports.AtCost, exports.Native, aws3(c.bucket, "x", w.resAcct)))
			if err != nil {
				t.Fatal(err)
			}
			if v.OK || v.Problem != c.want || !strings.Contains(v.Message, c.says) ||
				!strings.Contains(v.Policy, `"arn:aws:s3:::`+c.bucket+`/x/*"`) || !strings.Contains(v.Policy, `"s3:PutObject"`) {
				t.Errorf("%s: got %+v, want %s saying %q with the policy", c.bucket, v, c.want, c.says)
			}
		}
		if _, _, err := w.svc.Save(ctx, w.resAdmin, w.reseller.ID, in(exports.AtCost, exports.Native, aws3("denied-bucket", "", w.resAcct))); domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("saving an export that does not verify: %v, want invalid", err)
		}
		// The customer's own CUR bucket: the guard fires, and confirming saves.
		guarded := in(exports.AtResale, exports.Native, aws3(testBucket, "", w.acAcct))
		_, v, err := w.svc.Save(ctx, w.acAdm, w.acme.ID, guarded)
		if domain.ErrorCode(err) != domain.Conflict || v.Overlap == nil || !strings.Contains(v.Overlap.Message, "AWS CUR") {
			t.Fatalf("overwrite guard: %v, %+v", err, v.Overlap)
		}
		guarded.ConfirmOverwrite, guarded.Enabled = true, false
		c, _, err := w.svc.Save(ctx, w.acAdm, w.acme.ID, guarded)
		if err != nil || !c.OverwriteConfirmed {
			t.Fatalf("confirmed save: %+v, %v", c, err)
		}
		if err := w.svc.Delete(ctx, w.acAdm, w.acme.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		// A resold customer cannot export at cost.
		if _, _, err := w.svc.Save(ctx, w.acAdm, w.acme.ID, in(exports.AtCost, exports.Native, aws3("acme-bucket", "", w.acAcct))); domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("customer at cost: %v, want invalid", err)
		}

		// 1: reseller at cost (CUR); 2: reseller at resale (FOCUS); 3: the customer's own bucket at resale (CUR).
		for _, c := range []struct {
			p   tenancy.Principal
			org string
			in  exports.Input
		}{
			{w.resAdmin, w.reseller.ID, in(exports.AtCost, exports.Native, aws3("reseller-bucket", "cost", w.resAcct))},
			{w.resAdmin, w.reseller.ID, in(exports.AtResale, exports.FOCUS, aws3("reseller-bucket", "resale", w.resAcct))},
			{w.resAdmin, w.acme.ID, in(exports.AtResale, exports.Native, aws3("acme-bucket", "billing", w.acAcct))},
		} {
			if _, v, err := w.svc.Save(ctx, c.p, c.org, c.in); err != nil || !v.OK {
				t.Fatalf("save %+v: %v %+v", c.in.Destination, err, v)
			}
		}

		w.ingest(t)
		n, err := w.svc.WriteQueued(ctx, system, 100)
		if err != nil || n != 10 {
			t.Fatalf("wrote %d exports (%v), want 3 configurations x 2 months, and the bill's charges of the 2 resale ones", n, err)
		}
		runs, err := w.svc.Runs(ctx, w.resAdmin, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			// The customer's bill has no charges of its own here.
			if r.Status != exports.RunSucceeded || len(r.Files) != 1 || (r.Rows == 0) != (r.Provider == exports.Charges) {
				t.Errorf("run %+v", r)
			}
		}
		costs := sourceCosts(t)
		for _, m := range []struct{ month, period string }{{"2026-09-01", "20260901-20261001"}, {"2026-10-01", "20261001-20261101"}} {
			atCost, atResale := w.costs(t, m.month, billing.BilledCost), w.costs(t, m.month, billing.ResaleCost)
			if atCost.Equal(atResale) {
				t.Fatal("pricing did not apply")
			}
			// 1: the reseller's CUR, read back by the CUR reader.
			_, keys, doc := w.curManifest(t, "reseller-bucket", "cost/acme/truecost/"+m.period+"/truecost-Manifest.json")
			if got := w.sumCUR(t, "reseller-bucket", keys); !got.Equal(atCost) {
				t.Errorf("%s at cost: CUR sums %s, costs says %s", m.month, got, atCost)
			}
			if doc.PriceBasis != exports.AtCost || doc.Totals[0].Amount != atCost.String() || doc.Files[0].SHA256 == "" {
				t.Errorf("%s at cost manifest: %+v", m.month, doc)
			}
			// 3: the customer's CUR at resale, without a cost anywhere.
			_, keys, doc = w.curManifest(t, "acme-bucket", "billing/truecost/"+m.period+"/truecost-Manifest.json")
			if got := w.sumCUR(t, "acme-bucket", keys); !got.Equal(atResale) {
				t.Errorf("%s customer resale: CUR sums %s, costs says %s", m.month, got, atResale)
			}
			if doc.PriceBasis != exports.AtResale || doc.Totals[0].Amount != atResale.String() {
				t.Errorf("%s resale manifest: %+v", m.month, doc)
			}
			for _, k := range keys {
				assertNoCost(t, k, w.cells(t, "acme-bucket", k), costs)
			}
			// 2: the reseller's FOCUS at resale.
			var fdoc exports.ManifestDoc
			if err := json.Unmarshal(w.get(t, "reseller-bucket", "resale/acme/focus/aws/"+m.period+"/manifest.json"), &fdoc); err != nil {
				t.Fatal(err)
			}
			sum := decimal.Zero
			for _, f := range fdoc.Files {
				rows := w.cells(t, "reseller-bucket", f.Key)
				assertNoCost(t, f.Key, rows, costs)
				col := slices.Index(rows[0], "BilledCost")
				for _, r := range rows[1:] {
					sum = sum.Add(decimal.RequireFromString(r[col]))
				}
			}
			if !sum.Equal(atResale) || fdoc.Format != exports.LayoutFOCUS {
				t.Errorf("%s FOCUS resale sums %s, costs says %s (%s)", m.month, sum, atResale, fdoc.Format)
			}
		}

		// The reseller's CUR export reads back as a CUR source: same totals.
		dstBucket, err := awsbilling.OpenS3Bucket(ctx, awsbilling.Config{Endpoint: w.dstURL, AccessKeyID: "AKIAEXPORT", SecretAccessKey: "s"}, "reseller-bucket")
		if err != nil {
			t.Fatal(err)
		}
		back := newEnv2(t, s, "readback")
		run, err := back.ingester.Ingest(ctx, billing.IngestRequest{OrgID: back.org.ID, ConnectorID: back.connector.ID,
			Source: awsbilling.NewSource(dstBucket, "cost/acme", awsbilling.KindCUR)})
		if err != nil || run.Status != billing.RunSucceeded {
			t.Fatalf("read back: %v %s", err, run.Status)
		}
		assertTotals(t, back.report(t, billing.BilledCost, billing.DimBillingPeriod), map[string]decimal.Decimal{
			"2026-09 USD": septemberTotal, "2026-10 USD": octoberTotal,
		})

		// A restated September is rewritten under a new assembly, and the
		// manifest names only the new files.
		oldAssembly, oldKeys, _ := w.curManifest(t, "reseller-bucket", "cost/acme/truecost/20260901-20261001/truecost-Manifest.json")
		rows := readCSV(t, "testdata/bucket/"+septemberCSV)[:1001]
		newKey := septemberDir + "/5f0c2a9e-1111-4222-8333-444455556666/September-2026-cur-daily.csv.gz"
		put(t, w.srcClient, newKey, gzipCSV(t, rows))
		var manifest map[string]any
		if err := json.Unmarshal(readFileBytes(t, "testdata/bucket/"+septemberDir+"/cur-daily-Manifest.json"), &manifest); err != nil {
			t.Fatal(err)
		}
		manifest["assemblyId"], manifest["reportKeys"] = "5f0c2a9e-1111-4222-8333-444455556666", []string{newKey}
		b, _ := json.Marshal(manifest)
		put(t, w.srcClient, septemberDir+"/cur-daily-Manifest.json", b)
		w.ingest(t)
		if n, err := w.svc.WriteQueued(ctx, system, 100); err != nil || n != 5 {
			t.Fatalf("restatement wrote %d exports (%v), want 3, and the bill's charges of the 2 resale configurations", n, err)
		}
		assembly, keys, _ := w.curManifest(t, "reseller-bucket", "cost/acme/truecost/20260901-20261001/truecost-Manifest.json")
		if assembly == oldAssembly || len(keys) != 1 || !strings.Contains(keys[0], "/"+assembly+"/") || slices.Contains(keys, oldKeys[0]) {
			t.Errorf("restated manifest: assembly %s keys %v (old %s %v)", assembly, keys, oldAssembly, oldKeys)
		}
		if got, want := w.sumCUR(t, "reseller-bucket", keys), sumColumn(t, rows, "lineItem/UnblendedCost"); !got.Equal(want) {
			t.Errorf("restated September sums %s, want %s", got, want)
		}
	})
}

// newEnv2 is newEnv for a second organization of the same store.
func newEnv2(t *testing.T, s *sqlstore.Store, slug string) env {
	t.Helper()
	ctx := context.Background()
	rights := tenancy.NewRights(s)
	org, err := tenancy.NewService(s, rights).CreateOrganization(ctx, system, slug, "", tenancy.Customer, "")
	if err != nil {
		t.Fatal(err)
	}
	c := connectors.Connector{ID: tenancy.NewID(), OrgID: org.ID, Provider: connectors.Local, Name: slug,
		Location: "s3://reseller-bucket/cost/acme", Format: "aws-cur", Enabled: true, Status: connectors.StatusNew, CreatedAt: time.Now().UTC()}
	if err := s.CreateConnector(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	return env{store: s, ingester: billing.NewIngester(s, tenancy.NewID), reporter: billing.NewReporter(s, s, rights), org: org, connector: c}
}

func TestS3SinkStreamsLargeObjectsInParts(t *testing.T) {
	url, client := exportS3(t)
	sinks := awsbilling.NewSinks(awsbilling.SinkConfig{Endpoint: url, PartSize: 5 << 20})
	sink, err := sinks.Open(context.Background(), exports.Destination{Kind: exports.S3, Bucket: "acme-bucket"},
		exports.Access{Credentials: connectors.Secret{"access_key_id": "AKIAEXPORT", "secret_access_key": "s"}})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := sink.Create(context.Background(), "big/object.bin", "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	chunk := make([]byte, 1<<20)
	for i := range 12 {
		for j := range chunk {
			chunk[j] = byte(i*31 + j)
		}
		want.Write(chunk)
		if _, err := obj.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := obj.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("acme-bucket"), Key: aws.String("big/object.bin")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read back %d bytes, want the %d written", len(got), want.Len())
	}
}

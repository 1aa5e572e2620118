package awsbilling_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
)

const testBucket = "billing-exports"

// fakeS3 runs gofakes3 in process, recording the access key each request
// was signed with.
type fakeS3 struct {
	url   string
	mu    sync.Mutex
	keys  map[string]bool
	lists int // ListObjectsV2 requests
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	f := &fakeS3{keys: map[string]bool{}}
	h := gofakes3.New(s3mem.New()).Server()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
			f.keys[strings.SplitN(cred, "/", 2)[0]] = true
		}
		if r.URL.Query().Get("list-type") == "2" {
			f.lists++
		}
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

func (f *fakeS3) signedWith(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[key]
}

func (f *fakeS3) config() awsbilling.Config {
	return awsbilling.Config{Region: "eu-west-1", Endpoint: f.url, AccessKeyID: "AKIATESTKEY", SecretAccessKey: "test-secret"}
}

func (f *fakeS3) client(t *testing.T) *s3.Client {
	t.Helper()
	c, err := awsbilling.NewS3Client(context.Background(), f.config())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func put(t *testing.T, c *s3.Client, key string, body []byte) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// uploadSample creates the bucket and copies testdata/bucket into it.
func uploadSample(t *testing.T, c *s3.Client) {
	t.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir("testdata/bucket", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("testdata/bucket", p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		put(t, c, filepath.ToSlash(rel), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestS3SourceIngestsRestatesAndSkipsUnchanged(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		fake := newFakeS3(t)
		client := fake.client(t)
		uploadSample(t, client)
		e := newEnv(t, s, "s3://"+testBucket+"/cur-prefix")
		bucket, err := awsbilling.OpenS3Bucket(context.Background(), fake.config(), testBucket)
		if err != nil {
			t.Fatal(err)
		}
		src := awsbilling.NewSource(bucket, "cur-prefix", awsbilling.KindCUR)

		e.mustIngest(t, src, billing.RunSucceeded)
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimBillingPeriod), map[string]decimal.Decimal{
			"2026-09 USD": septemberTotal, "2026-10 USD": octoberTotal,
		})
		e.mustIngest(t, src, billing.RunUnchanged)

		// Restate September under a new assembly; the old one stays.
		rows := readCSV(t, "testdata/bucket/"+septemberCSV)[:1001]
		newKey := septemberDir + "/5f0c2a9e-1111-4222-8333-444455556666/September-2026-cur-daily.csv.gz"
		put(t, client, newKey, gzipCSV(t, rows))
		var manifest map[string]any
		if err := json.Unmarshal(readFileBytes(t, "testdata/bucket/"+septemberDir+"/cur-daily-Manifest.json"), &manifest); err != nil {
			t.Fatal(err)
		}
		manifest["assemblyId"] = "5f0c2a9e-1111-4222-8333-444455556666"
		manifest["reportKeys"] = []string{newKey}
		b, _ := json.Marshal(manifest)
		put(t, client, septemberDir+"/cur-daily-Manifest.json", b)

		run := e.mustIngest(t, src, billing.RunSucceeded)
		if len(run.Files) != 1 || run.Files[0] != newKey || run.Rows != 1000 {
			t.Errorf("restatement read %v (%d rows), want only %s (1000 rows)", run.Files, run.Rows, newKey)
		}
		assertTotals(t, e.report(t, billing.BilledCost, billing.DimBillingPeriod), map[string]decimal.Decimal{
			"2026-09 USD": sumColumn(t, rows, "lineItem/UnblendedCost"), "2026-10 USD": octoberTotal,
		})
		e.mustIngest(t, src, billing.RunUnchanged)
		if !fake.signedWith("AKIATESTKEY") {
			t.Error("requests were not signed with the configured key")
		}
	})
}

func TestS3BucketListsEveryPageInKeyOrder(t *testing.T) {
	fake := newFakeS3(t)
	client := fake.client(t)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	const n = 1205 // more than one ListObjectsV2 page of 1000
	for i := range n {
		put(t, client, "p/"+strings.Repeat("x", i%3)+"/"+decimal.NewFromInt(int64(i)).String(), []byte("x"))
	}
	put(t, client, "other/file", []byte("y"))
	objs, err := awsbilling.NewS3Bucket(client, testBucket).List(context.Background(), "p/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != n || fake.lists < 2 {
		t.Fatalf("listed %d objects in %d requests, want %d in several pages", len(objs), fake.lists, n)
	}
	for i := 1; i < len(objs); i++ {
		if objs[i-1].Key >= objs[i].Key {
			t.Fatalf("keys out of order: %s before %s", objs[i-1].Key, objs[i].Key)
		}
	}
	if objs[0].ETag == "" || objs[0].Size != 1 || objs[0].Modified.IsZero() {
		t.Errorf("object metadata missing: %+v", objs[0])
	}
}

func TestS3BucketReportsMissingObjectsAsNotFound(t *testing.T) {
	fake := newFakeS3(t)
	client := fake.client(t)
	b := awsbilling.NewS3Bucket(client, "no-such-bucket")
	if _, err := b.List(context.Background(), ""); domain.ErrorCode(err) != domain.NotFound {
		t.Errorf("list of a missing bucket: %v, want not found", err)
	}
	uploadSample(t, client)
	b = awsbilling.NewS3Bucket(client, testBucket)
	if _, err := b.Open(context.Background(), "cur-prefix/none.csv.gz"); domain.ErrorCode(err) != domain.NotFound || !strings.Contains(err.Error(), "s3://billing-exports/cur-prefix/none.csv.gz") {
		t.Errorf("open of a missing key: %v, want not found naming the key", err)
	}
}

func TestS3ClientAssumesRoleWithExternalID(t *testing.T) {
	fake := newFakeS3(t)
	uploadSample(t, fake.client(t))

	var stsForm map[string]string
	var stsKey string
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		stsForm = map[string]string{}
		for k := range r.PostForm {
			stsForm[k] = r.PostForm.Get(k)
		}
		_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
		stsKey = strings.SplitN(cred, "/", 2)[0]
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIATEMPORARY</AccessKeyId><SecretAccessKey>temp-secret</SecretAccessKey>
<SessionToken>temp-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/billing/truecost</Arn><AssumedRoleId>AROA1:truecost</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleResponse>`))
	}))
	defer sts.Close()

	cfg := fake.config()
	cfg.AccessKeyID = "AKIATRUECOST"
	cfg.STSEndpoint = sts.URL
	cfg.RoleARN = "arn:aws:iam::123456789012:role/billing"
	cfg.ExternalID = "truecost-0123"
	bucket, err := awsbilling.OpenS3Bucket(context.Background(), cfg, testBucket)
	if err != nil {
		t.Fatal(err)
	}
	m, err := awsbilling.NewSource(bucket, "", awsbilling.KindAuto).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Parts) != 2 {
		t.Errorf("found %d periods, want 2", len(m.Parts))
	}
	if stsForm["Action"] != "AssumeRole" || stsForm["RoleArn"] != cfg.RoleARN || stsForm["ExternalId"] != "truecost-0123" || stsForm["RoleSessionName"] != "truecost" {
		t.Errorf("STS request %v, want AssumeRole of the role with the external ID", stsForm)
	}
	if stsKey != "AKIATRUECOST" || !fake.signedWith("ASIATEMPORARY") {
		t.Errorf("STS signed with %q, S3 with the role's key: %v", stsKey, fake.signedWith("ASIATEMPORARY"))
	}
}

func TestConfigStringHidesSecrets(t *testing.T) {
	cfg := awsbilling.Config{AccessKeyID: "AKIAEXAMPLEKEY", SecretAccessKey: "wJalrXUtnFEMI", SessionToken: "tok", RoleARN: "arn:aws:iam::1:role/x", ExternalID: "ext"}
	for _, s := range []string{cfg.String(), cfg.GoString()} {
		for _, secret := range []string{"wJalrXUtnFEMI", "AKIAEXAMPLEKEY", "tok"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %q", s, secret)
			}
		}
	}
	if _, err := awsbilling.NewS3Client(context.Background(), awsbilling.Config{AccessKeyID: "AKIA"}); domain.ErrorCode(err) != domain.Invalid {
		t.Errorf("an access key without its secret: %v, want invalid", err)
	}
}

func TestConnectorSourceReadsTheConfiguredBucketAndPath(t *testing.T) {
	fake := newFakeS3(t)
	uploadSample(t, fake.client(t))
	c := connectors.Connector{
		Provider:   connectors.AWS,
		ExternalID: "truecost-abc",
		Config:     connectors.Config{Bucket: testBucket, Path: "cur-prefix", FileType: "cur", Region: "eu-west-1", Endpoint: fake.url},
	}
	secret := connectors.Secret{"access_key_id": "AKIACONNECTOR", "secret_access_key": "s"}
	src, err := awsbilling.NewConnectorSource(context.Background(), c, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := src.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != awsbilling.FormatCUR || len(m.Parts) != 2 || !fake.signedWith("AKIACONNECTOR") {
		t.Errorf("scanned %s with %d parts (signed with the connector's key: %v)", m.Format, len(m.Parts), fake.signedWith("AKIACONNECTOR"))
	}
	role := awsbilling.ConfigFor(c, connectors.Secret{"role_arn": "arn:aws:iam::123456789012:role/billing"})
	if role.ExternalID != "truecost-abc" {
		t.Errorf("assumed role without the connector's external ID: %q", role.ExternalID)
	}
}

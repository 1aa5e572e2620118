package ocibilling_test

import (
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"

	"github.com/shopspring/decimal"
)

const (
	tenancyOCID = "ocid1.tenancy.oc1..aaaabillingtesttenancy01"
	userOCID    = "ocid1.user.oc1..aaaareportreader"
)

// apiKey is a throwaway API signing key and its OCI fingerprint.
type apiKey struct {
	key         *rsa.PrivateKey
	pem         string
	fingerprint string
}

func newAPIKey(t *testing.T) apiKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	return apiKey{key: k, pem: string(p), fingerprint: strings.Join(parts, ":")}
}

type fakeObject struct {
	data     []byte
	etag     string
	modified time.Time
}

// objectStorage speaks the Object Storage REST API for one bucket of the
// "bling" namespace, checks every request's signature, and records what it
// was asked.
type objectStorage struct {
	t        *testing.T
	key      apiKey
	bucket   string
	pageSize int

	mu       sync.Mutex
	objects  map[string]fakeObject
	requests []string // "GET path?query" as received
}

func (f *objectStorage) put(name string, data []byte, modified time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := sha256.Sum256(data)
	f.objects[name] = fakeObject{data: data, etag: base64.RawURLEncoding.EncodeToString(sum[:9]), modified: modified}
}

func (f *objectStorage) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func fail(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("opc-request-id", "fake/"+code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": message})
}

// verify checks the request's HTTP signature against the API key.
func (f *objectStorage) verify(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Signature ") {
		return fmt.Errorf("no signature")
	}
	params := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(auth, "Signature "), ",") {
		k, v, _ := strings.Cut(kv, "=")
		params[k] = strings.Trim(v, `"`)
	}
	if want := tenancyOCID + "/" + userOCID + "/" + f.key.fingerprint; params["keyId"] != want {
		return fmt.Errorf("keyId %q, want %q", params["keyId"], want)
	}
	var lines []string
	for _, h := range strings.Fields(params["headers"]) {
		switch h {
		case "(request-target)":
			lines = append(lines, h+": "+strings.ToLower(r.Method)+" "+r.RequestURI)
		case "host":
			lines = append(lines, "host: "+r.Host)
		default:
			lines = append(lines, h+": "+r.Header.Get(h))
		}
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return rsa.VerifyPKCS1v15(&f.key.key.PublicKey, crypto.SHA256, digest[:], sig)
}

func (f *objectStorage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	if err := f.verify(r); err != nil {
		fail(w, http.StatusUnauthorized, "NotAuthenticated", "The required information to complete authentication was not provided or was incorrect.")
		return
	}
	base := "/n/bling/b/" + f.bucket + "/o"
	path := r.URL.EscapedPath()
	switch {
	case r.Method != http.MethodGet:
		fail(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is served")
	case path == base:
		f.list(w, r.URL.Query())
	case strings.HasPrefix(path, base+"/"):
		name, err := url.PathUnescape(strings.TrimPrefix(path, base+"/"))
		if err != nil {
			fail(w, http.StatusBadRequest, "InvalidParameter", err.Error())
			return
		}
		f.mu.Lock()
		o, ok := f.objects[name]
		f.mu.Unlock()
		if !ok {
			fail(w, http.StatusNotFound, "ObjectNotFound", fmt.Sprintf("The object '%s' was not found in the bucket '%s'", name, f.bucket))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
		w.Header().Set("ETag", o.etag)
		w.Header().Set("Last-Modified", o.modified.Format(http.TimeFormat))
		w.Write(o.data)
	default:
		fail(w, http.StatusNotFound, "BucketNotFound", fmt.Sprintf("Either the bucket named '%s' does not exist in the namespace 'bling' or you are not authorized to access it", strings.Split(path, "/")[4]))
	}
}

func (f *objectStorage) list(w http.ResponseWriter, q url.Values) {
	if q.Get("fields") != "name,size,etag,timeModified" {
		fail(w, http.StatusBadRequest, "InvalidParameter", "unexpected fields "+q.Get("fields"))
		return
	}
	f.mu.Lock()
	var names []string
	for n := range f.objects {
		if strings.HasPrefix(n, q.Get("prefix")) && n >= q.Get("start") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	type summary struct {
		Name         string `json:"name"`
		Size         int    `json:"size"`
		ETag         string `json:"etag"`
		TimeModified string `json:"timeModified"`
	}
	resp := struct {
		Objects       []summary `json:"objects"`
		NextStartWith string    `json:"nextStartWith,omitempty"`
	}{Objects: []summary{}}
	for i, n := range names {
		if i == f.pageSize {
			resp.NextStartWith = n
			break
		}
		o := f.objects[n]
		resp.Objects = append(resp.Objects, summary{n, len(o.data), o.etag, o.modified.Format("2006-01-02T15:04:05.000Z07:00")})
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// newObjectStorage serves the samples as OCI writes them: gzipped cost
// reports dated by when they were written, usage reports, and a FOCUS
// report under its day folder.
func newObjectStorage(t *testing.T) (*objectStorage, string) {
	t.Helper()
	f := &objectStorage{t: t, key: newAPIKey(t), bucket: tenancyOCID, pageSize: 2, objects: map[string]fakeObject{}}
	f.put("reports/cost-csv/0001000000000001.csv.gz", gz(t, read(t, sampleSep)), time.Date(2026, 9, 30, 18, 5, 0, 0, time.UTC))
	f.put("reports/cost-csv/0001000000000002.csv.gz", gz(t, read(t, sampleOct)), time.Date(2026, 10, 3, 6, 5, 0, 0, time.UTC))
	f.put("reports/usage-csv/0001000000000001.csv.gz", gz(t, read(t, usageOct)), time.Date(2026, 10, 3, 6, 5, 0, 0, time.UTC))
	f.put("FOCUS Reports/2026/09/15/0001000000000003.csv.gz", focusReport(t,
		focusRow{start: "2026-09-15T01:00Z", cost: "1.25"}, focusRow{start: "2026-09-15T02:00Z", cost: "0.75"}), time.Date(2026, 9, 15, 8, 0, 0, 0, time.UTC))
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	return f, ts.URL
}

func config(key apiKey, endpoint string) ocibilling.Config {
	return ocibilling.Config{
		TenancyOCID: tenancyOCID, UserOCID: userOCID, Fingerprint: key.fingerprint, PrivateKey: key.pem,
		Region: "us-ashburn-1", Endpoint: endpoint,
	}
}

func TestObjectStorageBucketEndToEnd(t *testing.T) {
	t.Parallel()
	fake, endpoint := newObjectStorage(t)
	bucket, err := ocibilling.NewBucket(config(fake.key, endpoint))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		fake.mu.Lock()
		fake.requests = nil
		fake.mu.Unlock()
		run, err := e.ingest(t, ocibilling.New(bucket, "reports/", ocibilling.Options{Layout: ocibilling.LayoutCost}))
		if err != nil {
			t.Fatal(err)
		}
		if run.Rows != 3168 {
			t.Errorf("%d rows, want 3168", run.Rows)
		}
		assertTotals(t, e.totals(t, billing.DimBillingPeriod), map[string]decimal.Decimal{"2026-09 USD": wantSep, "2026-10 USD": wantOct})
		assertTotals(t, e.totals(t, billing.DimProvider), map[string]decimal.Decimal{"Oracle USD": wantTotal})

		base := "/n/bling/b/" + tenancyOCID + "/o"
		want := []string{
			// The listing, in two pages of two.
			"GET " + base + "?fields=name%2Csize%2Cetag%2CtimeModified&limit=1000&prefix=reports%2F",
			"GET " + base + "?fields=name%2Csize%2Cetag%2CtimeModified&limit=1000&prefix=reports%2F&start=reports%2Fusage-csv%2F0001000000000001.csv.gz",
			// September's part: its own file and the one of October 3rd.
			"GET " + base + "/reports/cost-csv/0001000000000001.csv.gz?",
			"GET " + base + "/reports/cost-csv/0001000000000002.csv.gz?",
			// October's part.
			"GET " + base + "/reports/cost-csv/0001000000000002.csv.gz?",
		}
		if got := fake.log(); !reflect.DeepEqual(got, want) {
			t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		again, err := e.ingest(t, ocibilling.New(bucket, "reports/", ocibilling.Options{Layout: ocibilling.LayoutCost}))
		if err != nil || again.Status != billing.RunUnchanged {
			t.Errorf("second run %s, %v; want unchanged", again.Status, err)
		}
	})
}

func TestObjectStorageFOCUSReportWithSpaceInName(t *testing.T) {
	fake, endpoint := newObjectStorage(t)
	bucket, err := ocibilling.NewBucket(config(fake.key, endpoint))
	if err != nil {
		t.Fatal(err)
	}
	ok, err := ocibilling.Detect(context.Background(), bucket, "")
	if err != nil || !ok {
		t.Fatalf("Detect = %v, %v; want true", ok, err)
	}
	src := ocibilling.New(bucket, "", ocibilling.Options{})
	m, err := src.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Parts) != 1 || len(m.Parts[0].Files) != 1 || m.Parts[0].Files[0].Name != "FOCUS Reports/2026/09/15/0001000000000003.csv.gz" {
		t.Fatalf("parts %+v, want the FOCUS report alone", m.Parts)
	}
	var sum billing.Sum
	if err := src.Read(context.Background(), m.Parts[0], func(l *billing.LineItem) error { sum.Add(l.BilledCost); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if !sum.Decimal().Equal(decimal.RequireFromString("2.00")) {
		t.Errorf("FOCUS total %s, want 2.00", sum.Decimal())
	}
	log := fake.log()
	if last := log[len(log)-1]; !strings.Contains(last, "/o/FOCUS%20Reports/2026/09/15/0001000000000003.csv.gz") {
		t.Errorf("object fetched as %s", last)
	}
}

func TestObjectStorageErrorsCarryDomainCodes(t *testing.T) {
	fake, endpoint := newObjectStorage(t)
	wrongBucket := config(fake.key, endpoint)
	wrongBucket.Bucket = "not-the-reports-bucket"
	otherKey := config(newAPIKey(t), endpoint)
	otherKey.Fingerprint = fake.key.fingerprint
	for _, c := range []struct {
		name string
		cfg  ocibilling.Config
		key  string
		code domain.Code
		want string
	}{
		{"unknown bucket", wrongBucket, "", domain.NotFound, "bling/not-the-reports-bucket: list objects"},
		{"key the server does not know", otherKey, "", domain.Unauthorized, "NotAuthenticated"},
		{"missing object", config(fake.key, endpoint), "reports/cost-csv/none.csv.gz", domain.NotFound, "ObjectNotFound"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := ocibilling.NewBucket(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if c.key == "" {
				_, err = b.List(context.Background(), "reports/")
			} else {
				_, err = b.Open(context.Background(), c.key)
			}
			if domain.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v (code %s), want code %s mentioning %q", err, domain.ErrorCode(err), c.code, c.want)
			}
		})
	}
}

func TestConfigIsValidatedAndNeverShowsTheKey(t *testing.T) {
	key := newAPIKey(t)
	good := config(key, "")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if s := good.String(); strings.Contains(s, "PRIVATE KEY") || !strings.Contains(s, "oci://bling/"+tenancyOCID) {
		t.Errorf("String() = %q", s)
	}
	noRegion := good
	noRegion.Region, noRegion.UserOCID = "", ""
	badPEM := good
	badPEM.PrivateKey = "-----BEGIN RSA PRIVATE KEY-----\nnot base64\n-----END RSA PRIVATE KEY-----\n"
	for _, c := range []struct {
		name string
		cfg  ocibilling.Config
		want string
	}{
		{"missing fields", noRegion, "lacks user OCID, region"},
		{"unreadable key", badPEM, "private key cannot be read"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ocibilling.NewBucket(c.cfg)
			if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "not base64") {
				t.Errorf("error %v, want invalid mentioning %q", err, c.want)
			}
		})
	}
}

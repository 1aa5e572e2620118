package ocibilling_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/adapters/ocibilling/ocifake"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

const (
	tenancyOCID = "ocid1.tenancy.oc1..aaaabillingtesttenancy01"
	userOCID    = "ocid1.user.oc1..aaaareportreader"
)

// newObjectStorage serves the samples as OCI writes them: gzipped cost
// reports dated by when they were written, usage reports, and a FOCUS
// report under its day folder; listings come in pages of two.
func newObjectStorage(t *testing.T) *ocifake.Server {
	t.Helper()
	f := ocifake.New(t, tenancyOCID, userOCID)
	f.SetPageSize(2)
	f.Put("reports/cost-csv/0001000000000001.csv.gz", gz(t, read(t, sampleSep)), time.Date(2026, 9, 30, 18, 5, 0, 0, time.UTC))
	f.Put("reports/cost-csv/0001000000000002.csv.gz", gz(t, read(t, sampleOct)), time.Date(2026, 10, 3, 6, 5, 0, 0, time.UTC))
	f.Put("reports/usage-csv/0001000000000001.csv.gz", gz(t, read(t, usageOct)), time.Date(2026, 10, 3, 6, 5, 0, 0, time.UTC))
	f.Put("FOCUS Reports/2026/09/15/0001000000000003.csv.gz", focusReport(t,
		focusRow{start: "2026-09-15T01:00Z", cost: "1.25"}, focusRow{start: "2026-09-15T02:00Z", cost: "0.75"}), time.Date(2026, 9, 15, 8, 0, 0, 0, time.UTC))
	return f
}

func config(key ocifake.Key, endpoint string) ocibilling.Config {
	return ocibilling.Config{
		TenancyOCID: tenancyOCID, UserOCID: userOCID, Fingerprint: key.Fingerprint, PrivateKey: key.PEM,
		Region: "us-ashburn-1", Endpoint: endpoint,
	}
}

func TestObjectStorageBucketEndToEnd(t *testing.T) {
	t.Parallel()
	fake := newObjectStorage(t)
	bucket, err := ocibilling.NewBucket(config(fake.Key, fake.URL))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(t, s)
		fake.ResetRequests()
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
		if got := fake.Requests(); !reflect.DeepEqual(got, want) {
			t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		again, err := e.ingest(t, ocibilling.New(bucket, "reports/", ocibilling.Options{Layout: ocibilling.LayoutCost}))
		if err != nil || again.Status != billing.RunUnchanged {
			t.Errorf("second run %s, %v; want unchanged", again.Status, err)
		}
	})
}

func TestObjectStorageFOCUSReportWithSpaceInName(t *testing.T) {
	fake := newObjectStorage(t)
	bucket, err := ocibilling.NewBucket(config(fake.Key, fake.URL))
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
	log := fake.Requests()
	if last := log[len(log)-1]; !strings.Contains(last, "/o/FOCUS%20Reports/2026/09/15/0001000000000003.csv.gz") {
		t.Errorf("object fetched as %s", last)
	}
}

func TestObjectStorageErrorsCarryDomainCodes(t *testing.T) {
	fake := newObjectStorage(t)
	wrongBucket := config(fake.Key, fake.URL)
	wrongBucket.Bucket = "not-the-reports-bucket"
	otherKey := config(ocifake.NewKey(t), fake.URL)
	otherKey.Fingerprint = fake.Key.Fingerprint
	for _, c := range []struct {
		name string
		cfg  ocibilling.Config
		key  string
		code domain.Code
		want string
	}{
		{"unknown bucket", wrongBucket, "", domain.NotFound, "bling/not-the-reports-bucket: list objects"},
		{"key the server does not know", otherKey, "", domain.Unauthorized, "NotAuthenticated"},
		{"missing object", config(fake.Key, fake.URL), "reports/cost-csv/none.csv.gz", domain.NotFound, "ObjectNotFound"},
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
	good := config(ocifake.NewKey(t), "")
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

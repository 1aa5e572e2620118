package gcpbilling_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/shopspring/decimal"
	"google.golang.org/api/option"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/tenancy"
)

const testKey = `{"type":"service_account","client_email":"exporter@acme-billing.iam.gserviceaccount.com"}`

// fakeGCS is fake-gcs-server behind a router that answers as Cloud
// Storage does for a service account without objectCreator on a bucket.
func fakeGCS(t *testing.T) (*gcpbilling.Sinks, *storage.Client) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, Scheme: "http", PublicHost: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.HTTPHandler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/b/denied-bucket/") && r.Method == http.MethodPost {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"error":{"code":403,"message":"exporter@acme-billing.iam.gserviceaccount.com does not have storage.objects.create access","errors":[{"reason":"forbidden","message":"denied"}]}}`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	for _, b := range []string{"acme-exports", "denied-bucket"} {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	opts := []option.ClientOption{option.WithoutAuthentication()}
	client, err := storage.NewClient(context.Background(), append(opts, option.WithEndpoint(ts.URL+"/storage/v1/"))...)
	if err != nil {
		t.Fatal(err)
	}
	return gcpbilling.NewSinks(gcpbilling.SinkConfig{Endpoint: ts.URL + "/storage/v1/", Options: opts, ChunkSize: 256 << 10}), client
}

func read(t *testing.T, c *storage.Client, bucket, key string) []byte {
	t.Helper()
	r, err := c.Bucket(bucket).Object(key).NewReader(context.Background())
	if err != nil {
		t.Fatalf("read gs://%s/%s: %v", bucket, key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGCSSinkVerifiesAndStreamsObjects(t *testing.T) {
	sinks, client := fakeGCS(t)
	ctx := context.Background()
	for _, c := range []struct {
		bucket string
		want   exports.Problem
	}{{"acme-exports", ""}, {"missing-bucket", exports.BucketMissing}, {"denied-bucket", exports.AccessDenied}} {
		sink, err := sinks.Open(ctx, exports.Destination{Kind: exports.GCS, Bucket: c.bucket}, exports.Access{KeyJSON: []byte(testKey)})
		if err != nil {
			t.Fatal(err)
		}
		v := sink.Verify(ctx, "exports/truecost-verify.txt")
		if v.OK != (c.want == "") || v.Problem != c.want || (!v.OK && !strings.Contains(v.Message, c.bucket)) {
			t.Errorf("%s: %+v, want %q", c.bucket, v, c.want)
		}
	}
	sink, _ := sinks.Open(ctx, exports.Destination{Kind: exports.GCS, Bucket: "acme-exports"}, exports.Access{KeyJSON: []byte(testKey)})
	obj, err := sink.Create(ctx, "big.bin", "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("truecost "), 200_000) // several chunks
	for i := 0; i < len(want); i += 70_000 {
		if _, err := obj.Write(want[i:min(i+70_000, len(want))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := obj.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, client, "acme-exports", "big.bin"); !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, want %d", len(got), len(want))
	}
}

func TestCustomerExportToGCSEqualsCosts(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		sinks, client := fakeGCS(t)
		rights := tenancy.NewRights(s)
		ten := tenancy.NewService(s, rights)
		org, err := ten.CreateOrganization(ctx, system, "acme", "", tenancy.Customer, "")
		if err != nil {
			t.Fatal(err)
		}
		admin := tenancy.Principal{Org: org, User: tenancy.User{ID: "a", OrgID: org.ID, Role: tenancy.Admin}}
		sealer, _ := connectors.NewAESSealer(bytes.Repeat([]byte{5}, 32))
		svc := exports.NewService(exports.Deps{Store: s, Orgs: s, Rights: rights, Accounts: s, Connectors: s, Sealer: sealer,
			Sinks:   exports.SinksByKind{exports.GCS: sinks},
			Formats: exports.Layouts{focusfile.Layout{}, awsbilling.CURLayout{}}, NewID: tenancy.NewID})
		in := exports.Input{Enabled: true, Providers: []connectors.Provider{connectors.GCP}, ServiceAccountKey: testKey,
			Destination: exports.Destination{Kind: exports.GCS, Bucket: "acme-exports", Prefix: "billing"}}
		v, err := svc.Verify(ctx, admin, org.ID, in)
		if err != nil || !v.OK || !strings.Contains(v.Policy, "gs://acme-exports") ||
			!strings.Contains(v.Policy, "serviceAccount:exporter@acme-billing.iam.gserviceaccount.com") || !strings.Contains(v.Policy, "roles/storage.objectCreator") {
			t.Fatalf("verify: %+v %v", v, err)
		}
		c, _, err := svc.Save(ctx, admin, org.ID, in)
		if err != nil || !c.HasKey || c.Basis != exports.AtCost {
			t.Fatalf("save: %+v %v", c, err)
		}
		// The key is sealed and used again: no key in the update.
		in.ID, in.ServiceAccountKey = c.ID, ""
		if _, _, err := svc.Save(ctx, admin, org.ID, in); err != nil {
			t.Fatalf("save without the key again: %v", err)
		}

		path, _ := filepath.Abs(filepath.Join("..", "sqlstore", "testdata", "focus-1.2-sample.csv"))
		conn := connectors.Connector{ID: tenancy.NewID(), OrgID: org.ID, Provider: connectors.Local, Name: "sample", Location: path,
			Format: "focus", Enabled: true, Status: connectors.StatusNew, CreatedAt: time.Now().UTC()}
		if err := s.CreateConnector(ctx, conn, nil); err != nil {
			t.Fatal(err)
		}
		src, err := localfiles.New(path, "focus")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := billing.NewIngester(s, tenancy.NewID).Observe(svc).Ingest(ctx, billing.IngestRequest{OrgID: org.ID, ConnectorID: conn.ID, Source: src}); err != nil {
			t.Fatal(err)
		}
		if n, err := svc.WriteQueued(ctx, system, 10); err != nil || n != 1 {
			t.Fatalf("wrote %d (%v)", n, err)
		}
		var m exports.ManifestDoc
		if err := json.Unmarshal(read(t, client, "acme-exports", "billing/focus/gcp/20240901-20241001/manifest.json"), &m); err != nil {
			t.Fatal(err)
		}
		rep, err := billing.NewReporter(s, s, rights).Report(ctx, system, billing.CostQuery{OrgID: org.ID, From: time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC),
			To: time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC), DateBasis: billing.BillingPeriod, Metric: billing.BilledCost,
			Filter: billing.CostFilter{Values: map[billing.Dimension][]string{billing.DimProvider: {"Google"}}}})
		if err != nil {
			t.Fatal(err)
		}
		sum := decimal.Zero
		for _, f := range m.Files {
			zr, err := gzip.NewReader(bytes.NewReader(read(t, client, "acme-exports", f.Key)))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(zr).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			col := slices.Index(rows[0], "BilledCost")
			for _, r := range rows[1:] {
				sum = sum.Add(decimal.RequireFromString(r[col]))
			}
		}
		if len(rep.Totals) != 1 || !sum.Equal(rep.Totals[0].Amount) || m.Totals[0].Amount != rep.Totals[0].Amount.String() {
			t.Errorf("GCS export sums %s, manifest %+v, costs %+v", sum, m.Totals, rep.Totals)
		}
	})
}

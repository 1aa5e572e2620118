package main

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/outbound"
	"github.com/truecost/truecost/domain/exports"
)

// gcsWithToken is fake-gcs-server with the token endpoint a service-account
// key exchanges its signed assertion at; it returns the server, the
// storage endpoint and a key whose token_uri points at it.
func gcsWithToken(t *testing.T) (*fakestorage.Server, string, string) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, Scheme: "http", PublicHost: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "acme-billing-exports"})
	h := srv.HTTPHandler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"ya29.test","token_type":"Bearer","expires_in":3600}`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "acme-billing", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "exporter@acme-billing.iam.gserviceaccount.com", "client_id": "1", "token_uri": ts.URL + "/token"})
	return srv, ts.URL + "/storage/v1/", string(key)
}

func TestCustomerExportToGCSAfterALocalIngestThroughTheBinary(t *testing.T) {
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		src, _ := filepath.Abs(filepath.Join("adapters", "sqlstore", "testdata", "focus-1.2-sample.csv"))
		gcs, endpoint, key := gcsWithToken(t)
		t.Setenv(outbound.EnvAllow, "127.0.0.1")
		t.Setenv("TRUECOST_GCP_STORAGE_ENDPOINT", endpoint)
		t.Setenv("TRUECOST_EXPORT_INTERVAL", "1s")
		t.Setenv("TRUECOST_SECRET_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{4}, 32)))
		mustCmds(t, dir, dbURL,
			[]string{"migrate"},
			[]string{"orgs", "create", "northwind", "--kind", "reseller"},
			[]string{"orgs", "create", "acme", "--reseller", "northwind"})
		token := userToken(t, dir, dbURL, "finance@acme.example", "acme")
		url := serve(t, dir, dbURL)

		// The customer's admin sets up its own export (configuration 3).
		in := map[string]any{"enabled": true, "providers": []string{"gcp"}, "format": "FOCUS", "kind": "GCS",
			"bucket": "acme-billing-exports", "prefix": "truecost", "serviceAccountKey": key}
		var v struct {
			VerifyExport struct {
				Ok     bool
				Policy string
			}
		}
		body := graphqlData(t, url, token, `mutation($in: ExportConfigInput!) { verifyExport(input: $in) { ok policy } }`, map[string]any{"in": in}, &v)
		if !v.VerifyExport.Ok || !strings.Contains(v.VerifyExport.Policy, "serviceAccount:exporter@acme-billing.iam.gserviceaccount.com") {
			t.Fatalf("verify: %s", body)
		}
		var saved struct {
			SaveExport struct{ Config struct{ HasKey bool } }
		}
		body = graphqlData(t, url, token, `mutation($in: ExportConfigInput!) { saveExport(input: $in) { config { hasKey } } }`, map[string]any{"in": in}, &saved)
		if !saved.SaveExport.Config.HasKey || strings.Contains(string(body), "PRIVATE KEY") {
			t.Fatalf("save: %s", body)
		}
		if _, err := gcs.GetObject("acme-billing-exports", "truecost/truecost-verify.txt"); err != nil {
			t.Errorf("verify wrote nothing: %v", err)
		}

		if out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", src, "--format", "focus"); code != 0 {
			t.Fatalf("ingest: %d %s", code, out)
		}
		// The customer's Google data, and beside it the file of its bill's
		// own charges (none here).
		runs := waitExports(t, url, token, 2)
		runs = slices.DeleteFunc(runs, func(r e2eRun) bool { return r.Provider != "gcp" })
		var costs struct {
			Costs struct{ Totals []struct{ Amount string } }
		}
		graphqlData(t, url, token, `{ costs(query: {from: "2024-09-01", to: "2024-10-01", dateBasis: BILLING_PERIOD,
			filter: {providers: ["Google"]}}) { totals { amount } } }`, nil, &costs)
		want := decimal.RequireFromString(costs.Costs.Totals[0].Amount)
		if len(runs) != 1 {
			t.Fatalf("Google export runs: %+v", runs)
		}
		r := runs[0]
		if r.Basis != "RESALE" || r.Layout != exports.LayoutFOCUS || !decimal.RequireFromString(r.Totals[0].Amount).Equal(want) {
			t.Fatalf("run %+v, costs says %s", r, want)
		}
		obj, err := gcs.GetObject("acme-billing-exports", r.Files[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(obj.Content))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(zr).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col, sum := slices.Index(rows[0], "BilledCost"), decimal.Zero
		for _, row := range rows[1:] {
			sum = sum.Add(decimal.RequireFromString(row[col]))
		}
		if !sum.Equal(want) || !strings.HasPrefix(r.Files[0].Key, "truecost/focus/gcp/20240901-20241001/") {
			t.Errorf("%s sums %s, costs says %s", r.Files[0].Key, sum, want)
		}
		if _, err := gcs.GetObject("acme-billing-exports", "truecost/focus/gcp/20240901-20241001/manifest.json"); err != nil {
			t.Errorf("no manifest: %v", err)
		}
	})
}

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/azurebilling/azurite"
	"github.com/truecost/truecost/adapters/gcpbilling/bqfake"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/ocibilling/ocifake"
)

// Each test below runs a cloud connector the way a user does: it is
// created over GraphQL with its endpoint pointing at an emulator holding
// the bundled demo export, tested, synced through the binary's own source
// factory, and the costs are read back. The expected sums are computed here
// from the demo files themselves.

func TestAzureConnectorSyncsThroughTheBinary(t *testing.T) {
	allowLocalEmulators(t)
	endpoint := azurite.Start(t)
	dir := t.TempDir()
	demo := writeDemo(t, dir)
	connString := azurite.ConnectionString(endpoint)

	// The export as Cost Management writes it into the customer's container.
	ctx := context.Background()
	cl, err := container.NewClientFromConnectionString(connString, "billing", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(demo, "acme", "azure", "container")
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, p)
		_, err = cl.NewBlockBlobClient(filepath.ToSlash(rel)).UploadBuffer(ctx, data, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, byPeriod := csvCosts(t, files, "BillingPeriodStartDate", "CostInBillingCurrency", "BillingCurrency")

	dbURL := "sqlite://var/truecost.db"
	token := adminToken(t, dir, dbURL, "acme")
	url := serve(t, dir, dbURL)
	runConnector(t, url, token, map[string]any{
		"provider": "AZURE", "name": "Cost export",
		"config": map[string]any{"storageAccount": azurite.Account, "container": "billing", "path": "exports", "endpoint": endpoint},
		"secret": map[string]any{"connectionString": connString},
	}, connectorWant{
		secrets: []string{azurite.Key},
		format:  "azure",
		files:   map[string]int{"2026-09-01": 1, "2026-10-01": 1},
		rows:    rows, byPeriod: byPeriod, lastPeriod: "2026-10-01",
	})
}

func TestGCPConnectorSyncsThroughTheBinary(t *testing.T) {
	allowLocalEmulators(t)
	dir := t.TempDir()
	demo := writeDemo(t, dir)
	lines := jsonLines(t, filepath.Join(demo, "globex", "gcp", "202609_8f2d6c1e-bq-export_2026-09-01_2026-10-04.jsonl.gz"))
	const account = "01A2B3-C4D5E6-F7A8B9"
	table := "gcp_billing_export_resource_v1_" + strings.ReplaceAll(account, "-", "_")
	bq := bqfake.New(t, lines, table)
	key := bq.ServiceAccountKey(t)

	// cost + Σ credits per invoice month, straight from the JSON; each credit
	// is a line item of its own.
	rows, byPeriod := 0, map[string]decimal.Decimal{}
	for _, line := range lines {
		var r struct {
			Cost     json.Number
			Currency string
			Credits  []struct{ Amount json.Number }
			Invoice  struct{ Month string }
		}
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&r); err != nil {
			t.Fatal(err)
		}
		k := r.Invoice.Month[:4] + "-" + r.Invoice.Month[4:] + " " + r.Currency
		byPeriod[k] = byPeriod[k].Add(decimal.RequireFromString(r.Cost.String()))
		for _, c := range r.Credits {
			byPeriod[k] = byPeriod[k].Add(decimal.RequireFromString(c.Amount.String()))
		}
		rows += 1 + len(r.Credits)
	}

	dbURL := "sqlite://var/truecost.db"
	token := adminToken(t, dir, dbURL, "globex")
	url := serve(t, dir, dbURL)
	runConnector(t, url, token, map[string]any{
		"provider": "GCP", "name": "BigQuery billing export",
		"config": map[string]any{"billingAccountId": account, "projectId": bqfake.Project, "dataset": bqfake.Dataset,
			"table": table, "endpoint": bq.URL},
		"secret": map[string]any{"serviceAccountJson": string(key)},
	}, connectorWant{
		secrets: []string{"PRIVATE KEY"},
		format:  "gcp-bigquery",
		files:   map[string]int{"2026-09-01": 1, "2026-10-01": 1},
		rows:    rows, byPeriod: byPeriod, lastPeriod: "2026-10-01",
	})
	// Every API call was authorised with the token the key was exchanged for.
	headers := bq.AuthHeaders()
	if len(headers) == 0 {
		t.Fatal("no request reached BigQuery")
	}
	for _, h := range headers {
		if h != "Bearer fake-token" {
			t.Fatalf("a BigQuery request was authorised with %q", h)
		}
	}
	for _, q := range bq.Queries() {
		if !strings.Contains(q.SQL, "`"+bqfake.Project+"."+bqfake.Dataset+"."+table+"`") {
			t.Errorf("query on another table:\n%s", q.SQL)
		}
	}
}

func TestOCIConnectorSyncsThroughTheBinary(t *testing.T) {
	allowLocalEmulators(t)
	const (
		tenancyOCID = "ocid1.tenancy.oc1..aaaaglobextenancy"
		userOCID    = "ocid1.user.oc1..aaaaglobexreportreader"
	)
	dir := t.TempDir()
	demo := writeDemo(t, dir)
	oci := ocifake.New(t, tenancyOCID, userOCID)
	oci.SetPageSize(1) // the listing comes in pages
	// OCI writes cost reports to reports/cost-csv/ in the reporting bucket,
	// named by sequence number and dated by when they were written: the
	// October file, written on October 3rd, may still hold late September
	// rows, so September's part reads it too.
	sep := filepath.Join(demo, "globex", "oci", "report_cost-1950_2026-09.csv.gz")
	oct := filepath.Join(demo, "globex", "oci", "report_cost-7576_2026-10.csv.gz")
	for _, f := range []struct {
		name, path string
		written    time.Time
	}{
		{"reports/cost-csv/0001000000001950.csv.gz", sep, time.Date(2026, 9, 30, 18, 5, 0, 0, time.UTC)},
		{"reports/cost-csv/0001000000007576.csv.gz", oct, time.Date(2026, 10, 3, 6, 5, 0, 0, time.UTC)},
	} {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		oci.Put(f.name, data, f.written)
	}
	rows, byPeriod := csvCosts(t, []string{sep, oct}, "lineItem/intervalUsageStart", "cost/myCost", "cost/currencyCode")

	dbURL := "sqlite://var/truecost.db"
	token := adminToken(t, dir, dbURL, "globex")
	url := serve(t, dir, dbURL)
	runConnector(t, url, token, map[string]any{
		"provider": "OCI", "name": "Cost reports",
		"config": map[string]any{"tenancyOcid": tenancyOCID, "userOcid": userOCID, "fingerprint": oci.Key.Fingerprint,
			"region": "us-ashburn-1", "endpoint": oci.URL},
		"secret": map[string]any{"privateKey": oci.Key.PEM},
	}, connectorWant{
		secrets: []string{"PRIVATE KEY"},
		format:  "oci",
		files:   map[string]int{"2026-09-01": 2, "2026-10-01": 1},
		rows:    rows, byPeriod: byPeriod, lastPeriod: "2026-10-01",
	})
	var gets int
	for _, r := range oci.Requests() {
		if strings.HasPrefix(r, "GET /n/bling/b/"+tenancyOCID+"/o/reports/cost-csv/") {
			gets++
		}
	}
	if gets == 0 {
		t.Errorf("no report was fetched from the bucket; requests:\n%s", strings.Join(oci.Requests(), "\n"))
	}
}

// connectorWant is what a connector's test, sync and report must show.
type connectorWant struct {
	secrets    []string       // never to be seen in a response
	format     string         // of the test's manifest
	files      map[string]int // files per part, by period
	rows       int
	byPeriod   map[string]decimal.Decimal // "YYYY-MM CUR"
	lastPeriod string
}

// runConnector creates the connector in over GraphQL, tests and syncs it,
// and checks the outcome, the costs by billing period and the connector's
// status against want.
func runConnector(t *testing.T, url, token string, in map[string]any, want connectorWant) {
	t.Helper()
	seen := func(body []byte) {
		t.Helper()
		for _, s := range want.secrets {
			if bytes.Contains(body, []byte(s)) {
				t.Fatalf("a secret came back: %s", body)
			}
		}
	}
	var created struct {
		CreateConnector struct {
			ID        string
			HasSecret bool
		}
	}
	seen(graphqlData(t, url, token, `mutation($in: ConnectorInput!) { createConnector(input: $in) { id hasSecret } }`,
		map[string]any{"in": in}, &created))
	id := created.CreateConnector.ID
	if id == "" || !created.CreateConnector.HasSecret {
		t.Fatalf("created %+v", created.CreateConnector)
	}
	vars := map[string]any{"id": id}

	var tested struct {
		TestConnector struct {
			Format    string
			FileCount int
			Parts     []struct {
				Period string
				Files  []struct{ Name string }
			}
		}
	}
	seen(jobData(t, url, token, `mutation($id: ID!) { testConnector(id: $id) { id } }`, vars, `connectorTest { format fileCount parts { period files { name } } }`, &tested))
	got, total := map[string]int{}, 0
	for _, p := range tested.TestConnector.Parts {
		got[p.Period] = len(p.Files)
	}
	for _, n := range want.files {
		total += n
	}
	if tested.TestConnector.Format != want.format || fmt.Sprint(got) != fmt.Sprint(want.files) || tested.TestConnector.FileCount != total {
		t.Errorf("test connection: %+v, want format %s with files per period %v", tested.TestConnector, want.format, want.files)
	}

	var synced struct {
		SyncConnector struct {
			Status  string
			Rows    int
			Periods []string
			Error   *string
		}
	}
	seen(jobData(t, url, token, `mutation($id: ID!) { syncConnector(id: $id) { id } }`, vars, `ingestionRun { status rows periods error }`, &synced))
	run := synced.SyncConnector
	sort.Strings(run.Periods)
	if run.Status != "SUCCEEDED" || run.Rows != want.rows || strings.Join(run.Periods, ",") != strings.Join(sortedKeys(want.files), ",") {
		t.Fatalf("sync: %+v, want SUCCEEDED with %d rows for %v", run, want.rows, sortedKeys(want.files))
	}

	var rep struct {
		Costs struct {
			Groups []struct {
				Keys  []struct{ Value string }
				Total struct{ Amount, Currency string }
			}
		}
	}
	graphqlData(t, url, token, `{ costs(query: {from: "2026-08-01", to: "2026-12-01", dateBasis: BILLING_PERIOD, groupBy: [BILLING_PERIOD]}) { groups { keys { value } total { amount currency } } } }`, nil, &rep)
	if len(rep.Costs.Groups) != len(want.byPeriod) {
		t.Errorf("cost groups %+v, want %v", rep.Costs.Groups, want.byPeriod)
	}
	for _, g := range rep.Costs.Groups {
		k := g.Keys[0].Value + " " + g.Total.Currency
		if w, ok := want.byPeriod[k]; !ok || !decimal.RequireFromString(g.Total.Amount).Equal(w) {
			t.Errorf("%s: %s, want %s", k, g.Total.Amount, w)
		}
	}

	var listed struct {
		Connectors []struct {
			ID, Status string
			LastRows   int
			LastPeriod string
			LastError  *string
		}
	}
	graphqlData(t, url, token, `{ connectors { id status lastRows lastPeriod lastError } }`, nil, &listed)
	if len(listed.Connectors) != 1 {
		t.Fatalf("connectors %+v", listed.Connectors)
	}
	if c := listed.Connectors[0]; c.ID != id || c.Status != "OK" || c.LastRows != want.rows || c.LastPeriod != want.lastPeriod || c.LastError != nil {
		t.Errorf("connector after sync: %+v, want OK with %d rows up to %s", c, want.rows, want.lastPeriod)
	}

	// Nothing changed at the source: a second sync loads nothing.
	seen(jobData(t, url, token, `mutation($id: ID!) { syncConnector(id: $id) { id } }`, vars, `ingestionRun { status rows periods error }`, &synced))
	if synced.SyncConnector.Status != "UNCHANGED" {
		t.Errorf("second sync: %+v, want UNCHANGED", synced.SyncConnector)
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// adminToken creates an organization with an admin and returns the admin's
// API token.
func adminToken(t *testing.T, dir, dbURL, slug string) string {
	t.Helper()
	if out, code := cmd(t, dir, dbURL, "", "orgs", "create", slug); code != 0 {
		t.Fatalf("orgs create: %d %s", code, out)
	}
	return userToken(t, dir, dbURL, "ops@"+slug+".example", slug)
}

func writeDemo(t *testing.T, dir string) string {
	t.Helper()
	demo := filepath.Join(dir, "demo")
	if _, err := localfiles.WriteDemo(demo); err != nil {
		t.Fatal(err)
	}
	return demo
}

// readExport reads a file, gunzipping a .gz one.
func readExport(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return data
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	data, err = io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func jsonLines(t *testing.T, path string) []string {
	t.Helper()
	return strings.Split(strings.TrimRight(string(readExport(t, path)), "\n"), "\n")
}

// csvCosts counts the data rows of CSV files and sums their cost column
// by the month of the period column and the currency, keyed "YYYY-MM CUR".
func csvCosts(t *testing.T, paths []string, periodCol, costCol, currencyCol string) (int, map[string]decimal.Decimal) {
	t.Helper()
	rows, sums := 0, map[string]decimal.Decimal{}
	for _, p := range paths {
		recs, err := csv.NewReader(bytes.NewReader(readExport(t, p))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		idx := map[string]int{}
		for i, h := range recs[0] {
			idx[strings.TrimPrefix(h, "\ufeff")] = i
		}
		for _, c := range []string{periodCol, costCol, currencyCol} {
			if _, ok := idx[c]; !ok {
				t.Fatalf("%s has no column %s", p, c)
			}
		}
		for _, r := range recs[1:] {
			k := r[idx[periodCol]][:7] + " " + r[idx[currencyCol]]
			sums[k] = sums[k].Add(decimal.RequireFromString(r[idx[costCol]]))
			rows++
		}
	}
	return rows, sums
}

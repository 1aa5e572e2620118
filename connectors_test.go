package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/localfiles"
)

// TestAWSConnectorSyncsThroughTheBinary creates an AWS connector over
// GraphQL pointing at an S3 emulator holding the CUR sample, tests and syncs
// it through the binary's own source factory, and reads the totals back.
func TestAWSConnectorSyncsThroughTheBinary(t *testing.T) {
	allowLocalEmulators(t)
	dir := t.TempDir()
	dbURL := "sqlite://var/truecost.db"
	if _, err := localfiles.WriteDemo(filepath.Join(dir, "demo")); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer ts.Close()
	client, err := awsbilling.NewS3Client(context.Background(), awsbilling.Config{Region: "us-east-1", Endpoint: ts.URL, AccessKeyID: "AKIAE2E", SecretAccessKey: "e2e-secret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("acme-billing")}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "demo", "acme", "aws", "bucket")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("acme-billing"), Key: aws.String(filepath.ToSlash(rel)), Body: bytes.NewReader(body)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	cmd(t, dir, dbURL, "", "orgs", "create", "acme")
	out, _ := cmd(t, dir, dbURL, "", "users", "create", "ops@acme.example", "--org", "acme", "--role", "admin", "--token")
	token := strings.Fields(out)[len(strings.Fields(out))-1]
	url := serve(t, dir, dbURL)

	var created struct {
		Data struct {
			CreateConnector struct{ ID, AwsTrustPolicy string }
		}
	}
	q := `mutation { createConnector(input: {provider: AWS, name: "Payer CUR", config: {awsAccountId: "123456789012", bucket: "acme-billing", path: "cur-prefix", fileType: "cur", endpoint: "` + ts.URL + `"}, secret: {accessKeyId: "AKIAE2E", secretAccessKey: "e2e-secret"}}) { id awsTrustPolicy } }`
	body := graphql(t, url, token, q)
	if err := json.Unmarshal(body, &created); err != nil || created.Data.CreateConnector.ID == "" {
		t.Fatalf("create: %v %s", err, body)
	}
	if bytes.Contains(body, []byte("e2e-secret")) {
		t.Error("the secret came back")
	}
	id := created.Data.CreateConnector.ID
	_, _, body = runJob(t, url, token, `mutation { testConnector(id: "`+id+`") { id } }`, nil, `connectorTest { fileCount parts { period } }`, nil)
	if !bytes.Contains(body, []byte(`"fileCount":2`)) {
		t.Errorf("test connection: %s", body)
	}
	_, _, body = runJob(t, url, token, `mutation { syncConnector(id: "`+id+`") { id } }`, nil, `ingestionRun { status rows }`, nil)
	if !bytes.Contains(body, []byte(`"status":"SUCCEEDED","rows":4752`)) {
		t.Fatalf("sync: %s", body)
	}
	var rep struct {
		Data struct {
			Costs struct {
				Totals []struct{ Amount, Currency string }
			}
		}
	}
	body = graphql(t, url, token, `{ costs(query: {from: "2026-09-01", to: "2026-11-01"}) { totals { amount currency } } }`)
	if err := json.Unmarshal(body, &rep); err != nil || len(rep.Data.Costs.Totals) != 1 ||
		!decimal.RequireFromString(rep.Data.Costs.Totals[0].Amount).Equal(decimal.RequireFromString("206.88371224384391290550")) {
		t.Errorf("costs: %s", body)
	}
	body = graphql(t, url, token, `{ connectors { status lastRows lastPeriod } }`)
	if !bytes.Contains(body, []byte(`"status":"OK","lastRows":4752,"lastPeriod":"2026-10-01"`)) {
		t.Errorf("connector after sync: %s", body)
	}
}

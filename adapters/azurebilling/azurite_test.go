package azurebilling_test

import (
	"context"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/adapters/azurebilling/azurite"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
)

// uploadDir copies a local tree into the container, keys relative to dir.
func uploadDir(t *testing.T, cl *container.Client, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = cl.NewBlockBlobClient(filepath.ToSlash(rel)).UploadBuffer(context.Background(), data, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBlobContainerServesExportsEndToEnd(t *testing.T) {
	endpoint := azurite.Start(t)
	ctx := context.Background()
	connString := azurite.ConnectionString(endpoint)
	admin, err := container.NewClientFromConnectionString(connString, "billing", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// September as a partitioned export with an older run still present,
	// October in the older layout.
	local := t.TempDir()
	sepData := readBytes(t, sepFile)
	writeRun(t, filepath.Join(local, "exports"), "cost-export", "20260901-20260930", "run-old", time.Date(2026, 9, 29, 6, 0, 0, 0, time.UTC), "ActualCost",
		blob{"part_0_0001.csv", firstRows(t, sepData, 10), 10})
	writeRun(t, filepath.Join(local, "exports"), "cost-export", "20260901-20260930", "run-new", time.Date(2026, 9, 30, 6, 0, 0, 0, time.UTC), "ActualCost",
		blob{"part_0_0001.csv.gz", gzipped(t, sepData), 3000})
	writeFile(t, filepath.Join(local, "exports", "cost-export", "20261001-20261031", "costreport.csv"), readBytes(t, octFile))
	uploadDir(t, admin, local)

	sasURL, err := admin.GetSASURL(sas.ContainerPermissions{Read: true, List: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(sasURL)
	accountSAS := *u
	accountSAS.Path = "/" + azurite.Account

	creds := []struct {
		name string
		cfg  azurebilling.Config
	}{
		{"a connection string", azurebilling.Config{Container: "billing", Credentials: azurebilling.Credentials{ConnectionString: connString}}},
		{"an account key", azurebilling.Config{StorageAccount: azurite.Account, Container: "billing", Endpoint: endpoint, Credentials: azurebilling.Credentials{AccountKey: azurite.Key}}},
		{"a container SAS URL", azurebilling.Config{Container: "billing", Credentials: azurebilling.Credentials{SASURL: sasURL}}},
		{"a SAS URL of the account", azurebilling.Config{Container: "billing", Credentials: azurebilling.Credentials{SASURL: accountSAS.String()}}},
		{"a SAS token", azurebilling.Config{StorageAccount: azurite.Account, Container: "billing", Endpoint: endpoint, Credentials: azurebilling.Credentials{SASToken: "?" + u.RawQuery}}},
	}
	for _, c := range creds {
		t.Run("reads with "+c.name, func(t *testing.T) {
			bucket, err := azurebilling.NewBucket(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ok, err := azurebilling.Detect(ctx, bucket, "exports")
			if err != nil || !ok {
				t.Fatalf("Detect = %v, %v; want true", ok, err)
			}
			objs, err := bucket.List(ctx, "exports/")
			if err != nil || len(objs) != 5 {
				t.Fatalf("listed %d objects (%v), want 5", len(objs), err)
			}
			if objs[0].ETag == "" || objs[0].Modified.IsZero() || objs[0].Size == 0 {
				t.Errorf("object %+v lacks its ETag, time or size", objs[0])
			}
		})
	}

	t.Run("ingests the newest runs with the README totals", func(t *testing.T) {
		// One store suffices here (the other tests run both): Postgres when
		// configured, being the quicker under the race detector.
		store := func(t *testing.T) *sqlstore.Store {
			if os.Getenv(sqltest.PostgresEnv) != "" {
				return sqltest.Postgres(t)
			}
			return sqltest.SQLite(t)
		}
		func(t *testing.T, s *sqlstore.Store) {
			e := newEnv(t, s)
			src := azurebilling.NewSource(azurebilling.NewBlobBucket(admin), "exports", azurebilling.Options{})
			run, err := e.ingest(t, src)
			if err != nil {
				t.Fatal(err)
			}
			if run.Rows != 3300 {
				t.Errorf("%d rows, want 3300 (the old September run is not read)", run.Rows)
			}
			assertTotals(t, e.totals(t), sampleTotals())
			again, err := e.ingest(t, src)
			if err != nil || again.Status != billing.RunUnchanged {
				t.Errorf("second run: %s, %v; want unchanged", again.Status, err)
			}
		}(t, store(t))
	})

	t.Run("names what is wrong when access fails", func(t *testing.T) {
		tests := []struct {
			name string
			cfg  azurebilling.Config
			code string
		}{
			{"a missing container", azurebilling.Config{Container: "nothere", Credentials: azurebilling.Credentials{ConnectionString: connString}}, "not_found"},
			{"a wrong account key", azurebilling.Config{StorageAccount: azurite.Account, Container: "billing", Endpoint: endpoint,
				Credentials: azurebilling.Credentials{AccountKey: "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXk="}}, "forbidden"},
		}
		for _, tc := range tests {
			bucket, err := azurebilling.NewBucket(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = bucket.List(ctx, "")
			if billingCode(err) != tc.code {
				t.Errorf("%s: error %v (code %s), want %s", tc.name, err, billingCode(err), tc.code)
			}
		}
		bucket, _ := azurebilling.NewBucket(creds[0].cfg)
		if _, err := bucket.Open(ctx, "exports/none.csv"); billingCode(err) != "not_found" {
			t.Errorf("opening a missing blob: %v, want not_found", err)
		}
	})
}

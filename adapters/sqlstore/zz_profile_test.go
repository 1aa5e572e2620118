package sqlstore_test

import (
	"time"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/domain/tenancy"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
)

func TestZZProfile(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	dir := t.TempDir()
	plain, gz := filepath.Join(dir, "f.csv"), filepath.Join(dir, "f.csv.gz")
	if err := generateFOCUS(plain, gz, 200000); err != nil {
		t.Fatal(err)
	}
	var s = sqltest.Postgres(t)
	if os.Getenv("ZZ") == "sqlite" {
		s = sqltest.SQLite(t)
	}
	e := newEnv(s)
	ts := &timedStore{Store: s, t: t}
	e.ingester = billing.NewIngester(ts, tenancy.NewID)
	org := e.org(t, "acme")
	c, _ := e.conns.EnsureLocal(context.Background(), org.ID, gz, "focus")
	src, _ := localfiles.New(gz, "focus")
	st := time.Now()
	defer func() { t.Logf("ingest total %v", time.Since(st)) }()
	if _, err := e.ingester.Ingest(context.Background(), billing.IngestRequest{OrgID: org.ID, ConnectorID: c.ID, Source: src}); err != nil {
		t.Fatal(err)
	}
}

type timedStore struct {
	*sqlstore.Store
	t *testing.T
}

func (s *timedStore) WriteLineItems(ctx context.Context, run billing.IngestionRun, b <-chan []billing.LineItem) error {
	start := time.Now()
	defer func() { s.t.Logf("write line items %v", time.Since(start)) }()
	return s.Store.WriteLineItems(ctx, run, b)
}
func (s *timedStore) PublishRun(ctx context.Context, run billing.IngestionRun, r []billing.Rollup) error {
	start := time.Now()
	defer func() { s.t.Logf("publish %d rollups %v", len(r), time.Since(start)) }()
	return s.Store.PublishRun(ctx, run, r)
}

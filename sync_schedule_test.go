package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/jonboulle/clockwork"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/jobs"
)

// syncWatch passes each scheduled pass to the connector service and
// reports what it did.
type syncWatch struct {
	jobs.ConnectorSyncer
	done chan connectors.SyncReport
}

func (w syncWatch) SyncAll(ctx context.Context, caller tenancy.Principal, interval time.Duration) (connectors.SyncReport, error) {
	rep, err := w.ConnectorSyncer.SyncAll(ctx, caller, interval)
	if err == nil {
		w.done <- rep
	}
	return rep, err
}

// TestScheduledSyncLoadsAConnector wires the application as the binary
// does, adds an AWS connector reading the demo CUR from an S3 emulator, and
// lets the scheduler's connector sync run at its first slot on a fake
// clock: the connector is synced without anyone asking.
func TestScheduledSyncLoadsAConnector(t *testing.T) {
	allowLocalEmulators(t)
	ctx := context.Background()
	dir := t.TempDir()
	demo := writeDemo(t, dir)
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer ts.Close()
	s3c, err := awsbilling.NewS3Client(ctx, awsbilling.Config{Region: "us-east-1", Endpoint: ts.URL, AccessKeyID: "AKIASCHED", SecretAccessKey: "sched-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("acme-billing")}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(demo, "acme", "aws", "bucket")
	var curFiles []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".csv.gz") {
			curFiles = append(curFiles, p)
		}
		_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("acme-billing"), Key: aws.String(filepath.ToSlash(rel)), Body: bytes.NewReader(body)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, byPeriod := csvCosts(t, curFiles, "bill/BillingPeriodStartDate", "lineItem/UnblendedCost", "lineItem/CurrencyCode")

	t.Chdir(dir) // the SQLite database and its generated secret key live under var/
	a, err := openApp(ctx, &Globals{DatabaseURL: "sqlite://var/truecost.db"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	org, err := a.tenancy.CreateOrganization(ctx, system, "acme", "Acme Corp", tenancy.Customer, "")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := a.tenancy.CreateUser(ctx, system, "ops@acme.example", "acme", tenancy.Admin, "")
	if err != nil {
		t.Fatal(err)
	}
	token, err := a.tenancy.IssueToken(ctx, system, admin, "setup")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.tenancy.TokenPrincipal(ctx, token, "")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := a.connectors.Create(ctx, p, org.ID, connectors.Input{Provider: connectors.AWS, Name: "Payer CUR", Enabled: true,
		Config: connectors.Config{AWSAccountID: "123456789012", Bucket: "acme-billing", Path: "cur-prefix", FileType: "cur", Endpoint: ts.URL},
		Secret: connectors.Secret{"access_key_id": "AKIASCHED", "secret_access_key": "sched-secret"}})
	if err != nil {
		t.Fatal(err)
	}

	// Mid-slot, so the first hourly slot is at 11:00.
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 22, 10, 17, 23, 0, time.UTC))
	watch := syncWatch{ConnectorSyncer: a.connectors, done: make(chan connectors.SyncReport, 4)}
	sched, err := jobs.New(jobs.Deps{Housekeeper: a.store, Locks: a.store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Connectors: watch, SyncInterval: time.Hour, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	sched.Start()
	defer func() {
		if err := sched.Shutdown(); err != nil {
			t.Error(err)
		}
	}()

	// Both hourly jobs wait for their first slot; nothing has run.
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if c, _, err := a.store.Connector(ctx, org.ID, conn.ID); err != nil || c.Status != connectors.StatusNew {
		t.Fatalf("before the slot: %+v, %v; want a new connector", c, err)
	}
	clock.Advance(time.Hour)
	var rep connectors.SyncReport
	select {
	case rep = <-watch.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the scheduled connector sync did not finish within 2 minutes of its slot")
	}
	if rep != (connectors.SyncReport{Synced: 1}) {
		t.Errorf("sync pass %+v, want one connector synced", rep)
	}

	c, _, err := a.store.Connector(ctx, org.ID, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != connectors.StatusOK || c.LastRows != int64(rows) || c.LastError != "" ||
		!c.LastPeriod.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) || c.LastSyncAt.IsZero() {
		t.Errorf("connector after the scheduled sync: status %s, rows %d, last period %s, error %q; want ok with %d rows up to 2026-10",
			c.Status, c.LastRows, c.LastPeriod, c.LastError, rows)
	}
	got, err := a.reporter.Report(ctx, p, billing.CostQuery{OrgID: org.ID,
		From: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		DateBasis: billing.BillingPeriod, Metric: billing.BilledCost, GroupBy: []billing.Dimension{billing.DimBillingPeriod}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Groups) != len(byPeriod) {
		t.Errorf("cost groups %+v, want %v", got.Groups, byPeriod)
	}
	for _, g := range got.Groups {
		k := "<none>"
		if g.Keys[0].Value != nil {
			k = *g.Keys[0].Value
		}
		k += " " + g.Currency
		if w, ok := byPeriod[k]; !ok || !g.Total.Equal(w) {
			t.Errorf("%s: %s, want %s", k, g.Total, w)
		}
	}
	var sum decimal.Decimal
	for _, v := range byPeriod {
		sum = sum.Add(v)
	}
	if want := decimal.RequireFromString("206.88371224384391290550"); !sum.Equal(want) {
		t.Errorf("the CUR files sum to %s, the demo README says %s", sum, want)
	}
}

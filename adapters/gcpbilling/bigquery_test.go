package gcpbilling_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/gcpbilling/bqfake"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

const (
	account       = "01A2B3-C4D5E6-F7A8B9"
	detailedTable = "gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9"
	standardTable = "gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
)

func newBigQuerySource(t *testing.T, f *bqfake.Server, cfg gcpbilling.Config) *gcpbilling.BigQuerySource {
	t.Helper()
	if cfg.ProjectID == "" {
		cfg.ProjectID = bqfake.Project
	}
	if cfg.Dataset == "" {
		cfg.Dataset = bqfake.Dataset
	}
	cfg.Location = "US"
	src, err := gcpbilling.NewBigQuerySource(context.Background(), cfg, option.WithEndpoint(f.URL), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func at(s string) func() time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return t }
}

// The whole sample through BigQuery, the Ingester and a store: Postgres
// (SQLite under the race detector would take minutes for these rows; the
// SQLite store is covered by the extract reconciliation and the restatement
// tests below).
func TestBigQuerySourceReconcilesWithTheSample(t *testing.T) {
	t.Parallel()
	lines := sampleLines(t)
	func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		f := bqfake.New(t, lines, "other_table", standardTable, detailedTable)
		src := newBigQuerySource(t, f, gcpbilling.Config{BillingAccountID: account, AllMonths: true})
		org, conn := e.connector(t, "gcp-bq", "bigquery://billing-proj/billing_export")
		run, err := e.ingest(t, org, conn, src)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != billing.RunSucceeded || run.Format != gcpbilling.FormatBigQuery || len(run.Periods) != 2 {
			t.Fatalf("run %s format %q periods %v, want succeeded gcp-bigquery with 2 periods", run.Status, run.Format, run.Periods)
		}
		if want := int64(sampleRows + 3168); run.Rows != want {
			t.Errorf("%d line items, want %d", run.Rows, want)
		}
		assertTotals(t, e.byPeriod(t, org), readmeByPeriod())
		if len(run.Totals) != 1 || !run.Totals[0].Amount.Equal(dec(readmeTotal)) {
			t.Errorf("run totals %v, want USD %s", run.Totals, readmeTotal)
		}
		wantFile := "bigquery://billing-proj/billing_export/" + detailedTable + "?invoice_month=202609"
		if len(run.Files) != 2 || run.Files[0] != wantFile {
			t.Errorf("files %v, want one per invoice month of the detailed table (%s first)", run.Files, wantFile)
		}
		if f.PageFetches() == 0 {
			t.Error("the months' results were never paged through getQueryResults")
		}
		for _, q := range f.Queries() {
			if !strings.Contains(q.SQL, "`billing-proj.billing_export."+detailedTable+"`") {
				t.Errorf("query on another table than the detailed export:\n%s", q.SQL)
			}
			if strings.Contains(q.SQL, "@since") {
				t.Errorf("AllMonths scan used the window:\n%s", q.SQL)
			}
		}
	}(t, sqltest.Postgres(t))
}

func TestBigQueryReadsTheSameLineItemsAsTheExtract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, lines := writeSmall(t)
	f := bqfake.New(t, lines, detailedTable)
	f.SetPageSize(40)
	bq := newBigQuerySource(t, f, gcpbilling.Config{BillingAccountID: account, AllMonths: true})
	jsonl := gcpbilling.NewSource(localfiles.Dir(dir), "")
	read := func(src billing.Source) map[string][]billing.LineItem {
		m, err := src.Scan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]billing.LineItem{}
		for _, p := range m.Parts {
			key := p.Period.Format("2006-01") + " USD"
			err := src.Read(ctx, p, func(l *billing.LineItem) error { out[key] = append(out[key], *l); return nil }, nil)
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	fromBQ, fromExtract := read(bq), read(jsonl)
	want := netByPeriod(t, lines)
	if len(fromBQ) != len(want) {
		t.Errorf("BigQuery gave periods %d, want %d", len(fromBQ), len(want))
	}
	for period, total := range want {
		var sum billing.Sum
		for _, l := range fromBQ[period] {
			sum.Add(l.BilledCost)
		}
		if !sum.Decimal().Equal(total) {
			t.Errorf("%s: BigQuery rows total %s, want %s", period, sum.Decimal(), total)
		}
		if !reflect.DeepEqual(fromBQ[period], fromExtract[period]) {
			t.Errorf("%s: BigQuery gave %d line items, the extract %d, and they differ", period, len(fromBQ[period]), len(fromExtract[period]))
		}
	}
	if f.PageFetches() == 0 {
		t.Error("the results were never paged through getQueryResults")
	}
}

func TestBigQueryLateRowsReloadOnlyTheirInvoiceMonth(t *testing.T) {
	t.Parallel()
	lines := smallLines(t)
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		ctx := context.Background()
		f := bqfake.New(t, lines, detailedTable)
		org, conn := e.connector(t, "gcp-bq-late", "bigquery://billing-proj/billing_export")
		sync := func(now string) billing.IngestionRun {
			t.Helper()
			src := newBigQuerySource(t, f, gcpbilling.Config{BillingAccountID: account, Now: at(now)})
			run, err := e.ingest(t, org, conn, src)
			if err != nil {
				t.Fatal(err)
			}
			return run
		}

		if run := sync("2026-10-05T00:00:00Z"); run.Status != billing.RunSucceeded || len(run.Periods) != 2 {
			t.Fatalf("first sync: %s %v, want both invoice months", run.Status, run.Periods)
		}
		if run := sync("2026-10-05T06:00:00Z"); run.Status != billing.RunUnchanged {
			t.Errorf("sync without new rows: %s, want unchanged", run.Status)
		}
		before, err := s.PartitionVersions(ctx, org, conn)
		if err != nil {
			t.Fatal(err)
		}

		f.Add(lateRow) // a September row exported after October's rows
		run := sync("2026-10-07T00:00:00Z")
		if run.Status != billing.RunSucceeded || len(run.Periods) != 1 || !run.Periods[0].Equal(september) {
			t.Fatalf("sync after late rows: %s %v, want 2026-09 only", run.Status, run.Periods)
		}
		after, err := s.PartitionVersions(ctx, org, conn)
		if err != nil {
			t.Fatal(err)
		}
		if after[october] != before[october] || after[september] == before[september] {
			t.Errorf("versions went from %v to %v: want September replaced and October untouched", before, after)
		}
		assertTotals(t, e.byPeriod(t, org), netByPeriod(t, append(lines, lateRow)))

		// Weeks later nothing was exported within the window: only the newest
		// month is listed, unchanged, and September stays as loaded.
		if run := sync("2026-10-30T00:00:00Z"); run.Status != billing.RunUnchanged {
			t.Errorf("quiet sync: %s, want unchanged", run.Status)
		}
		qs := f.Queries()
		last := qs[len(qs)-1]
		if got := last.Params["since:TIMESTAMP"]; !strings.HasPrefix(got, "2026-10-20 00:00:00") {
			t.Errorf("quiet sync scanned since %q, want the 10-day window from 2026-10-20", got)
		}
	})
}

func TestBigQueryScanListsMonthsExportedWithinTheWindow(t *testing.T) {
	f := bqfake.New(t, sampleLines(t), detailedTable)
	tests := []struct {
		name   string
		cfg    gcpbilling.Config
		months []time.Time
	}{
		{"both months exported in the last 10 days", gcpbilling.Config{Now: at("2026-10-05T00:00:00Z")}, []time.Time{september, october}},
		{"September's last export left the window", gcpbilling.Config{Now: at("2026-10-12T00:00:00Z")}, []time.Time{october}},
		{"a wider window", gcpbilling.Config{Now: at("2026-10-12T00:00:00Z"), Window: 15 * 24 * time.Hour}, []time.Time{september, october}},
		{"nothing recent still lists the newest month", gcpbilling.Config{Now: at("2027-01-01T00:00:00Z")}, []time.Time{october}},
		{"backfill lists every month", gcpbilling.Config{Now: at("2027-01-01T00:00:00Z"), AllMonths: true}, []time.Time{september, october}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Table = detailedTable
			m, err := newBigQuerySource(t, f, tt.cfg).Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Time
			for _, p := range m.Parts {
				got = append(got, p.Period)
				if !strings.Contains(p.Version, "max_export_time=") || len(p.Files) != 1 {
					t.Errorf("part %s: version %q files %v", p.Period, p.Version, p.Files)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.months) {
				t.Errorf("months %v, want %v", got, tt.months)
			}
		})
	}
}

func TestBigQueryFindsTheExportTable(t *testing.T) {
	tests := []struct {
		name    string
		tables  []string
		cfg     gcpbilling.Config
		want    string
		errCode domain.Code
	}{
		{"detailed table preferred", []string{standardTable, detailedTable}, gcpbilling.Config{BillingAccountID: account}, detailedTable, ""},
		{"standard table when there is no detailed one", []string{"notes", standardTable}, gcpbilling.Config{BillingAccountID: strings.ToLower(account)}, standardTable, ""},
		{"the only export table without an account", []string{"notes", standardTable}, gcpbilling.Config{}, standardTable, ""},
		{"configured table", []string{"my_view", detailedTable}, gcpbilling.Config{Table: "my_view"}, "my_view", ""},
		{"another account's tables", []string{"gcp_billing_export_v1_999999_999999_999999"}, gcpbilling.Config{BillingAccountID: account}, "", domain.NotFound},
		{"two accounts and none configured", []string{standardTable, "gcp_billing_export_v1_999999_999999_999999"}, gcpbilling.Config{}, "", domain.Invalid},
		{"missing dataset", []string{detailedTable}, gcpbilling.Config{Dataset: "nope"}, "", domain.NotFound},
		{"configured table missing", []string{detailedTable}, gcpbilling.Config{Table: "gone"}, "", domain.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := bqfake.New(t, []string{lateRow}, tt.tables...)
			m, err := newBigQuerySource(t, f, tt.cfg).Scan(context.Background())
			if tt.errCode != "" {
				if domain.ErrorCode(err) != tt.errCode {
					t.Errorf("got %v (%s), want a %s error", err, domain.ErrorCode(err), tt.errCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Parts) != 1 || !strings.Contains(m.Parts[0].Files[0].Name, "/"+tt.want+"?") {
				t.Errorf("parts %+v, want them read from %s", m.Parts, tt.want)
			}
		})
	}
}

func TestBigQueryReadCastsDecimalsToText(t *testing.T) {
	precise := strings.Replace(lateRow, `"cost": 1.25`, `"cost": 0.10000000000000001`, 1)
	tests := []struct {
		name        string
		ignoreCasts bool
		want        string
	}{
		{"cast to STRING in BigQuery: its text as is", false, "0.10000000000000001"},
		{"FLOAT64 arriving uncast: shortest round-trip text", true, "0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := bqfake.New(t, []string{precise}, detailedTable)
			f.IgnoreCasts(tt.ignoreCasts)
			src := newBigQuerySource(t, f, gcpbilling.Config{Table: detailedTable, AllMonths: true})
			m, err := src.Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var items []billing.LineItem
			err = src.Read(context.Background(), m.Parts[0], func(l *billing.LineItem) error { items = append(items, *l); return nil }, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 2 || items[0].BilledCost.String() != tt.want || items[1].BilledCost.String() != "-0.25" {
				t.Fatalf("items %d, BilledCost %q then %q; want %q then -0.25", len(items), items[0].BilledCost, items[1].BilledCost, tt.want)
			}
			if items[0].ConsumedQuantity.String() != "3600" || items[0].ChargePeriodStart != time.Date(2026, 9, 30, 22, 0, 0, 0, time.UTC) {
				t.Errorf("usage %s from %s", items[0].ConsumedQuantity, items[0].ChargePeriodStart)
			}
		})
	}
}

func TestBigQueryBadValueNamesMonthRowAndColumn(t *testing.T) {
	bad := strings.Replace(lateRow, `"amount": -0.25`, `"amount": "n/a"`, 1)
	f := bqfake.New(t, []string{lateRow, bad}, detailedTable)
	src := newBigQuerySource(t, f, gcpbilling.Config{Table: detailedTable, AllMonths: true})
	m, err := src.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err = src.Read(context.Background(), m.Parts[0], func(*billing.LineItem) error { return nil }, nil)
	want := "bigquery://billing-proj/billing_export/" + detailedTable + "?invoice_month=202609: line 2, column credits[0].amount: \"n/a\" is not a number"
	if domain.ErrorCode(err) != domain.Invalid || err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an invalid-input error containing %q", err, want)
	}
}

func TestBigQueryAuthenticatesWithTheServiceAccountKey(t *testing.T) {
	f := bqfake.New(t, []string{lateRow}, detailedTable)
	key := f.ServiceAccountKey(t)
	cfg := gcpbilling.Config{ProjectID: bqfake.Project, Dataset: bqfake.Dataset, Table: detailedTable, CredentialsJSON: key, Endpoint: f.URL, AllMonths: true}
	src, err := gcpbilling.NewBigQuerySource(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	headers := f.AuthHeaders()
	if len(headers) == 0 {
		t.Fatal("no API request reached the server")
	}
	for _, h := range headers {
		if h != "Bearer fake-token" {
			t.Errorf("request authorised with %q, want the token the key was exchanged for", h)
		}
	}
}

func TestConfigNeverShowsTheKey(t *testing.T) {
	cfg := gcpbilling.Config{ProjectID: "billing-proj", Dataset: "billing_export", CredentialsJSON: []byte(`{"private_key": "SECRET-KEY-MATERIAL"}`)}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("sync", "config", cfg)
	for _, out := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(&cfg), logged.String()} {
		if strings.Contains(out, "SECRET") {
			t.Errorf("the key shows in %q", out)
		}
	}
}

func TestNewBigQuerySourceRejectsBadNames(t *testing.T) {
	tests := []gcpbilling.Config{
		{ProjectID: "", Dataset: "billing"},
		{ProjectID: "Bad Project", Dataset: "billing"},
		{ProjectID: "billing-proj", Dataset: "billing`; DROP"},
		{ProjectID: "billing-proj", Dataset: "billing", Table: "t-1"},
		{ProjectID: "billing-proj", Dataset: "billing", Window: -time.Hour},
	}
	for _, cfg := range tests {
		_, err := gcpbilling.NewBigQuerySource(context.Background(), cfg, option.WithoutAuthentication())
		if domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("%v: got %v, want an invalid-config error", cfg, err)
		}
	}
}

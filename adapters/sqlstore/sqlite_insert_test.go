package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/domain/billing"
)

func openSQLite(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "truecost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// patternedItems returns n line items whose optional columns are set or
// left empty by the bits of their index, so that they fall into many
// patterns of null columns.
func patternedItems(n int) []billing.LineItem {
	period := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	items := make([]billing.LineItem, n)
	for i := range items {
		l := &items[i]
		l.BillingPeriodStart, l.BillingPeriodEnd = period, period.AddDate(0, 1, 0)
		l.ChargePeriodStart = period.Add(time.Duration(i%1500) * time.Hour)
		l.ChargePeriodEnd = l.ChargePeriodStart.Add(time.Hour)
		l.BillingCurrency, l.ProviderName = "USD", "AWS"
		l.BilledCost, l.EffectiveCost = billing.Number(fmt.Sprintf("%d.0000001", i)), "0.10"
		optional := []*string{&l.ServiceName, &l.RegionID, &l.ChargeClass, &l.Tags, &l.SkuID, &l.ResourceName, &l.InvoiceID}
		for b, p := range optional {
			if i&(1<<b) != 0 {
				*p = fmt.Sprintf("v%d 'quoted' \"%d\"", b, i)
			}
		}
		if i&(1<<len(optional)) != 0 {
			l.ListCost = "1e-7"
		}
		if i%5 == 0 {
			l.Extras = map[string]string{"x_Note": fmt.Sprint(i)}
		}
	}
	return items
}

// storedRows reads back the line items of a run in load order.
func storedRows(t *testing.T, s *Store, runID string) [][]any {
	t.Helper()
	rows, err := s.db.QueryContext(context.Background(), "SELECT "+strings.Join(lineItemColumns, ", ")+
		" FROM cost_line_items WHERE run_id = ? ORDER BY rowid", runID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]sql.NullString, len(lineItemColumns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sendBatches(items []billing.LineItem, size int) <-chan []billing.LineItem {
	ch := make(chan []billing.LineItem)
	go func() {
		defer close(ch)
		for i := 0; i < len(items); i += size {
			ch <- items[i:min(i+size, len(items))]
		}
	}()
	return ch
}

func TestSQLiteLoadStoresEveryValueAsBound(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	// More patterns of null columns than the load prepares statements for.
	items := patternedItems(700)
	runs := []billing.IngestionRun{
		{ID: "run-1", OrgID: "org-1", ConnectorID: "conn-1"},
		{ID: "run-2", OrgID: "org-'2'", ConnectorID: "conn-2"},
	}
	for _, run := range runs {
		if err := s.WriteLineItems(ctx, run, sendBatches(items, 128)); err != nil {
			t.Fatal(err)
		}
	}
	for _, run := range runs {
		got := storedRows(t, s, run.ID)
		if len(got) != len(items) {
			t.Fatalf("run %s: %d rows, want %d", run.ID, len(got), len(items))
		}
		want := lineItemRows{run: &run, items: items, times: new(timeTexts)}
		for i := range items {
			if w := want.AppendArgs(nil, i); !reflect.DeepEqual(got[i], w) {
				t.Fatalf("run %s row %d:\n got %q\nwant %q", run.ID, i, got[i], w)
			}
		}
	}
}

func TestSQLiteLoadRollsBackAFailedSet(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	run := billing.IngestionRun{ID: "run-1", OrgID: "org-1", ConnectorID: "conn-1"}
	items := patternedItems(300)
	items[250].BilledCost = "" // NOT NULL
	err := s.WriteLineItems(ctx, run, sendBatches(items, 100))
	if err == nil || !strings.Contains(err.Error(), "NOT NULL") {
		t.Fatalf("err = %v, want a NOT NULL failure", err)
	}
	if got := storedRows(t, s, run.ID); len(got) != 200 {
		t.Fatalf("%d rows kept, want the 200 of the sets before the failed one", len(got))
	}
	// No connection was left inside the failed transaction.
	for range 10 {
		if err := s.WriteLineItems(ctx, billing.IngestionRun{ID: "run-2", OrgID: "org-1", ConnectorID: "conn-1"},
			sendBatches(patternedItems(10), 10)); err != nil {
			t.Fatal(err)
		}
	}
	if got := storedRows(t, s, "run-2"); len(got) != 100 {
		t.Fatalf("%d rows of run-2, want 100", len(got))
	}
}

func TestSQLiteLoadStopsWhenCancelled(t *testing.T) {
	s := openSQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	items := patternedItems(300)
	batches := make(chan []billing.LineItem)
	done := make(chan error, 1)
	go func() {
		done <- s.WriteLineItems(ctx, billing.IngestionRun{ID: "run-1", OrgID: "org-1", ConnectorID: "conn-1"}, batches)
	}()
	batches <- items[:100]
	batches <- items[100:200]
	cancel()
	select {
	case batches <- items[200:]:
	case <-time.After(100 * time.Millisecond):
	}
	close(batches)
	if err := <-done; err != context.Canceled && !strings.Contains(fmt.Sprint(err), context.Canceled.Error()) {
		t.Fatalf("err = %v, want cancellation", err)
	}
}

// TestSQLiteLoadWritesRunsOfAPatternTogether: consecutive rows of one
// pattern of null columns go into multi-row statements, with the rows left
// over one by one; every row is stored as bound, in order, and a failing
// row inside a multi-row statement fails its whole set.
func TestSQLiteLoadWritesRunsOfAPatternTogether(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	var items []billing.LineItem
	for i, l := range patternedItems(60) {
		for k := range 1 + i%(2*sqliteRowsPerStatement+1) {
			l.BilledCost = billing.Number(fmt.Sprintf("%d.%d", i, k))
			items = append(items, l)
		}
	}
	run := billing.IngestionRun{ID: "run-1", OrgID: "org-1", ConnectorID: "conn-1"}
	if err := s.WriteLineItems(ctx, run, sendBatches(items, 37)); err != nil {
		t.Fatal(err)
	}
	got := storedRows(t, s, run.ID)
	if len(got) != len(items) {
		t.Fatalf("%d rows, want %d", len(got), len(items))
	}
	want := lineItemRows{run: &run, items: items, times: new(timeTexts)}
	for i := range items {
		if w := want.AppendArgs(nil, i); !reflect.DeepEqual(got[i], w) {
			t.Fatalf("row %d:\n got %q\nwant %q", i, got[i], w)
		}
	}

	bad := slices.Clone(items[:40])
	for i := range bad {
		bad[i] = items[100]
	}
	for i := 24; i < len(bad); i++ {
		bad[i].BilledCost = "" // NOT NULL: fails a statement of several rows
	}
	run2 := billing.IngestionRun{ID: "run-2", OrgID: "org-1", ConnectorID: "conn-1"}
	err := s.WriteLineItems(ctx, run2, sendBatches(bad, 20))
	if err == nil || !strings.Contains(err.Error(), "NOT NULL") {
		t.Fatalf("err = %v, want a NOT NULL failure", err)
	}
	if got := storedRows(t, s, run2.ID); len(got) != 20 {
		t.Fatalf("%d rows kept, want the 20 of the set before the failed one", len(got))
	}
}

// TestSQLiteLoadRestoresAutomaticCheckpoints: a line item load moves the
// WAL checkpoints off its connection while it runs, also with a pool of a
// single connection, and gives the connection back with SQLite's default.
func TestSQLiteLoadRestoresAutomaticCheckpoints(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "truecost.db"), WithMaxConns(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	batches := make(chan []billing.LineItem)
	run := billing.IngestionRun{ID: "run-1", OrgID: "org-1", ConnectorID: "conn-1"}
	done := make(chan error, 1)
	go func() { done <- s.WriteLineItems(ctx, run, batches) }()
	items := patternedItems(100)
	batches <- items
	time.Sleep(3 * checkpointInterval) // checkpoints wait for the only connection
	batches <- items
	close(batches)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := s.db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages != sqliteAutoCheckpoint {
		t.Fatalf("wal_autocheckpoint = %d after the load, want %d", pages, sqliteAutoCheckpoint)
	}
	if got := storedRows(t, s, run.ID); len(got) != 200 {
		t.Fatalf("%d rows, want 200", len(got))
	}
}

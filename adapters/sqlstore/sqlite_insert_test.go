package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
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

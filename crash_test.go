package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/sqlstore"
)

// crashRows is the size of the export the crash test starts with on each
// database, and the most it grows to: the test grows the export until a
// whole child ingest takes crashRunTarget, so that the kills spread over a
// run of a few seconds however fast the machine is at the time.
func crashRows(dbURL string) (start, most int) {
	if strings.HasPrefix(dbURL, "sqlite://") {
		return 30_000, 150_000
	}
	return 80_000, 400_000
}

// crashRunTarget is how long a whole ingest of the crash test's export
// should take.
const crashRunTarget = 3 * time.Second

// TestKilledIngestIsReapedByTheNextCommand kills a child `truecost ingest`
// with SIGKILL at ten points spread over its run (reading and copying, then
// publishing), runs the next command, and checks that the database holds
// exactly one whole version: no run left running, the line items and totals
// of the active version only, and nothing of the dead runs (on Postgres no
// table of theirs, on SQLite none of their rows).
func TestKilledIngestIsReapedByTheNextCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child ingests; skipped with -short")
	}
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		mustRun(t, dir, dbURL, "migrate")
		mustRun(t, dir, dbURL, "orgs", "create", "acme")
		rows, most := crashRows(dbURL)
		src := filepath.Join(dir, "export", "focus.csv")
		ingest := []string{"ingest", "--org", "acme", "--source", src, "--format", "focus"}

		// Two whole ingests tell how long one takes (the faster counts);
		// the export grows until that is crashRunTarget.
		totals := map[int]decimal.Decimal{}
		var full time.Duration
		version := 0
		for attempt := 0; ; attempt++ {
			full = 0
			for range 2 {
				totals[version] = writeExport(t, src, rows, version)
				start := time.Now()
				out := mustRun(t, dir, dbURL, ingest...)
				if took := time.Since(start); full == 0 || took < full {
					full = took
				}
				t.Logf("whole ingest of version %d: %s", version, strings.TrimSpace(out))
				version++
			}
			if full >= crashRunTarget*4/5 || rows >= most || attempt == 2 {
				break
			}
			rows = min(most, int(float64(rows)*float64(crashRunTarget)/float64(full)))
		}
		check := func(t *testing.T, candidates ...int) int {
			t.Helper()
			return checkOneVersion(t, dbURL, rows, totals, candidates)
		}
		active := check(t, version-1)
		first := version

		rng := rand.New(rand.NewPCG(14, 6))
		const kills = 10
		published := 0
		for i := range kills {
			version := first + i
			totals[version] = writeExport(t, src, rows, version)
			// The i-th kill lands in the i-th tenth of a whole run,
			// stretched a little so that the last ones meet publishing
			// and the removal of the superseded version.
			at := time.Duration((float64(i) + rng.Float64()) / kills * 1.05 * float64(full))
			c := child(t, dir, dbURL, ingest...)
			childOut := startChild(t, c)
			time.Sleep(at)
			_ = c.Process.Signal(syscall.SIGKILL)
			err := c.Wait()
			finished := err == nil
			if finished {
				t.Logf("ingest %d ended before its kill: %s", version, strings.TrimSpace(childOut.String()))
			}
			next := mustRun(t, dir, dbURL, "orgs", "create", "probe-"+string(rune('a'+i)))
			active = check(t, active, version)
			if active == version {
				published++
			}
			t.Logf("kill %d at %.2fs: ingest finished before the kill: %v; version %d active; %s",
				i+1, at.Seconds(), finished, active, strings.TrimSpace(next))
		}
		if published == kills {
			t.Errorf("every kill landed after publishing; the kills must interrupt ingests")
		}
	})
}

// checkOneVersion checks that the database holds exactly one version of
// the export, one of candidates, whole, and nothing of any other run, and
// returns that version.
func checkOneVersion(t *testing.T, dbURL string, want int, totals map[int]decimal.Decimal, candidates []int) int {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.DB()
	var running int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ingestion_runs WHERE status = 'running'").Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Errorf("%d runs still running after the next command, want 0", running)
	}
	var activeRuns []string
	if err := db.NewSelect().ColumnExpr("DISTINCT run_id").TableExpr("billing_partitions").Scan(ctx, &activeRuns); err != nil {
		t.Fatal(err)
	}
	if len(activeRuns) != 1 {
		t.Fatalf("active runs %v, want one run holding both months", activeRuns)
	}
	activeRun := activeRuns[0]

	// Every line item left is the active run's, and they add up. Postgres
	// sums exactly itself; SQLite holds the amounts as text.
	var n, foreign int
	sum := decimal.Zero
	if s.Dialect() == sqlstore.Postgres {
		var total string
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FILTER (WHERE run_id = ?), COUNT(*) FILTER (WHERE run_id <> ?),"+
			" COALESCE(SUM(billed_cost) FILTER (WHERE run_id = ?), 0)::text FROM cost_line_items",
			activeRun, activeRun, activeRun).Scan(&n, &foreign, &total); err != nil {
			t.Fatal(err)
		}
		sum = decimal.RequireFromString(total)
	} else {
		rows, err := db.QueryContext(ctx, "SELECT run_id, billed_cost FROM cost_line_items")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var run, cost string
			if err := rows.Scan(&run, &cost); err != nil {
				t.Fatal(err)
			}
			if run != activeRun {
				foreign++
				continue
			}
			n++
			sum = sum.Add(decimal.RequireFromString(cost))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if foreign != 0 {
		t.Errorf("%d line items of runs other than the active one", foreign)
	}
	if n != want {
		t.Errorf("%d line items of the active run, want %d", n, want)
	}
	version := -1
	for _, v := range candidates {
		if totals[v].Equal(sum) {
			version = v
		}
	}
	if version < 0 {
		t.Fatalf("line items add up to %s, which is none of versions %v", sum, candidates)
	}
	var recorded string
	if err := db.QueryRowContext(ctx, "SELECT totals FROM ingestion_runs WHERE id = ?", activeRun).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	var money []struct{ Amount decimal.Decimal }
	if err := json.Unmarshal([]byte(recorded), &money); err != nil || len(money) != 1 || !money[0].Amount.Equal(sum) {
		t.Errorf("active run records totals %s, want USD %s", recorded, sum)
	}

	for _, table := range []string{"cost_dim_rollups", "cost_service_rollups", "cost_month_rollups", "cost_tag_rollups"} {
		var left int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE run_id <> ?", activeRun).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%s holds %d rows of dead or superseded runs", table, left)
		}
	}
	if s.Dialect() == sqlstore.Postgres {
		var recordedTables int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM cost_line_item_tables WHERE run_id <> ?", activeRun).Scan(&recordedTables); err != nil {
			t.Fatal(err)
		}
		if recordedTables != 0 {
			t.Errorf("cost_line_item_tables lists %d tables of other runs", recordedTables)
		}
		var names []string
		if err := db.NewSelect().ColumnExpr("relname").TableExpr("pg_class").
			Where("relkind = 'r' AND relname LIKE 'cost\\_line\\_items\\_%'").Scan(ctx, &names); err != nil {
			t.Fatal(err)
		}
		runTable := regexp.MustCompile(`^cost_line_items_\d{6}_[0-9a-f]+$`)
		var runTables []string
		for _, name := range names {
			if runTable.MatchString(name) {
				runTables = append(runTables, name)
			}
		}
		if len(runTables) != 2 {
			t.Errorf("run tables %v, want the active run's two months only", runTables)
		}
	} else {
		path := strings.TrimPrefix(dbURL, "sqlite://") + ".locks"
		files, _ := filepath.Glob(filepath.Join(path, "run-*"))
		if len(files) > 0 {
			t.Errorf("run lock files left: %v", files)
		}
	}
	return version
}

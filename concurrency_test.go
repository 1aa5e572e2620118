package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
)

// TestSecondIngestOfASourceSaysAlreadyRunning starts two `truecost
// ingest` of one source at once: while the first runs, the second ends at
// once with a conflict naming the first run, and the first completes.
func TestSecondIngestOfASourceSaysAlreadyRunning(t *testing.T) {
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		mustRun(t, dir, dbURL, "migrate")
		mustRun(t, dir, dbURL, "orgs", "create", "acme")
		src := filepath.Join(dir, "export", "focus.csv")
		// Long enough for the second to start while the first runs: a
		// Postgres ingest takes about a second for 150,000 rows.
		rows := 400_000
		if strings.HasPrefix(dbURL, "sqlite://") {
			rows = 30_000
		}
		writeExport(t, src, rows, 0)
		ingest := []string{"ingest", "--org", "acme", "--source", src, "--format", "focus"}

		first := child(t, dir, dbURL, ingest...)
		firstOut := startChild(t, first)
		runID := waitForRunningRun(t, dbURL)
		out, code := runChild(t, dir, dbURL, ingest...)
		if code != 1 || !strings.Contains(out, "already running (run "+runID+")") {
			t.Errorf("second ingest: exit %d, want 1 and a conflict naming run %s:\n%s", code, runID, out)
		}
		if err := first.Wait(); err != nil {
			t.Fatalf("first ingest: %v\n%s", err, firstOut)
		}
		if !strings.Contains(firstOut.String(), fmt.Sprintf("ingested %d rows", rows)) || !strings.Contains(firstOut.String(), runID) {
			t.Errorf("first ingest: %s", firstOut)
		}
	})
}

// waitForRunningRun waits for a run to be running in the database and
// returns its ID.
func waitForRunningRun(t *testing.T, dbURL string) string {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var ids []string
		err := s.DB().NewSelect().Column("id").TableExpr("ingestion_runs").Where("status = 'running'").Scan(ctx, &ids)
		if err == nil && len(ids) == 1 {
			return ids[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no run started within 30s")
	return ""
}

// TestConcurrentMigratesAllSucceed starts 20 `truecost migrate` at once
// on a fresh database: they take turns, and every one exits 0.
func TestConcurrentMigratesAllSucceed(t *testing.T) {
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		if strings.HasPrefix(dbURL, "sqlite://") {
			// The file and its page size come first; the schema is what
			// the processes race for.
			s, err := sqlstore.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
		const n = 20
		var wg sync.WaitGroup
		outs := make([]string, n)
		codes := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], codes[i] = runChild(t, dir, dbURL, "migrate")
			}()
		}
		wg.Wait()
		applied := regexp.MustCompile(`applied (\d+) migration`)
		firsts := 0
		for i := range n {
			if codes[i] != 0 {
				t.Errorf("migrate %d: exit %d\n%s", i, codes[i], outs[i])
				continue
			}
			if m := applied.FindStringSubmatch(outs[i]); m != nil && m[1] != "0" {
				firsts++
			}
		}
		if firsts != 1 {
			t.Errorf("%d of %d migrates applied migrations, want exactly one", firsts, n)
		}
	})
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/localfiles"
)

// TestCancelledRequestsDoNotHurtOthers sends many concurrent GraphQL
// requests through a small connection pool, cancelling every other one
// mid-flight: each request that is not cancelled gets its whole answer.
func TestCancelledRequestsDoNotHurtOthers(t *testing.T) {
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		if out, code := cmd(t, dir, dbURL, "", "orgs", "create", "acme"); code != 0 {
			t.Fatal(out)
		}
		out, code := cmd(t, dir, dbURL, "", "users", "create", "ops@acme.example", "--org", "acme", "--role", "admin", "--token")
		if code != 0 {
			t.Fatal(out)
		}
		token := strings.Fields(out)[len(strings.Fields(out))-1]
		if _, err := localfiles.WriteDemo(filepath.Join(dir, "demo")); err != nil {
			t.Fatal(err)
		}
		if out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", filepath.Join(dir, "demo", "acme", "focus")); code != 0 {
			t.Fatal(out)
		}
		logs := new(logBuffer)
		base := serveLogging(t, dir, dbURL, logs, "--db-max-conns", "8")

		const requests, workers = 400, 32
		query, _ := json.Marshal(map[string]any{"query": `{ costs(query: {from: "2024-09-01", to: "2024-10-01", groupBy: [PROVIDER, SERVICE_NAME], granularity: DAILY}) { totals { amount currency } groups { keys { value } total { amount } points { date amount } } } }`})
		type result struct {
			status int
			body   string
			err    error
			took   time.Duration
		}
		results := make([]result, requests)
		jobs := make(chan int)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(9, uint64(w)))
				for i := range jobs {
					ctx, cancel := context.WithCancel(context.Background())
					if i%2 == 1 {
						// Cancelled somewhere between sending and the answer.
						time.AfterFunc(time.Duration(rng.IntN(200))*time.Millisecond, cancel)
					}
					req, _ := http.NewRequestWithContext(ctx, "POST", base+"/graphql", bytes.NewReader(query))
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/json")
					start := time.Now()
					res, err := http.DefaultClient.Do(req)
					r := result{err: err}
					if err == nil {
						b, rerr := io.ReadAll(res.Body)
						res.Body.Close()
						r.status, r.body, r.err = res.StatusCode, string(b), rerr
					}
					r.took = time.Since(start)
					results[i] = r
					cancel()
				}
			}()
		}
		for i := range requests {
			jobs <- i
		}
		close(jobs)
		wg.Wait()

		var took []time.Duration
		failed := 0
		for i := 0; i < requests; i += 2 {
			r := results[i]
			if r.err != nil || r.status != 200 || strings.Contains(r.body, `"errors"`) || !strings.Contains(r.body, `"totals"`) {
				failed++
				if failed <= 3 {
					t.Errorf("request %d (not cancelled): %d %v %.300s", i, r.status, r.err, r.body)
				}
				continue
			}
			took = append(took, r.took)
		}
		if failed > 0 {
			t.Errorf("%d of %d requests that were not cancelled failed", failed, requests/2)
		}
		for _, bad := range []string{"bad connection", "level=ERROR"} {
			if strings.Contains(logs.String(), bad) {
				t.Errorf("the server logged %q:\n%.2000s", bad, logs.String())
			}
		}
		if len(took) > 0 {
			slices.Sort(took)
			t.Logf("%d answered beside %d cancelled: p50 %s, p99 %s", len(took), requests/2,
				took[len(took)/2].Round(time.Millisecond), took[len(took)*99/100].Round(time.Millisecond))
		}
	})
}

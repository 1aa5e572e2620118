package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
)

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// TestOperationsEndpoints: /metrics speaks the Prometheus text format with
// ingestion, HTTP and pool figures, /readyz follows the database's
// migrations, and every request leaves one JSON log record without its
// query string.
func TestOperationsEndpoints(t *testing.T) {
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		t.Chdir(dir)
		logs := new(logBuffer)
		base := serveLogging(t, dir, dbURL, logs, "--demo", "--demo-dir", filepath.Join(dir, "demo"), "--log-format", "json")

		if status, body := get(t, base+"/healthz?token=supersecret"); status != 200 || body != "ok\n" {
			t.Errorf("/healthz: %d %q", status, body)
		}
		if status, body := get(t, base+"/readyz"); status != 200 || body != "ready\n" {
			t.Errorf("/readyz: %d %q", status, body)
		}
		status, metrics := get(t, base+"/metrics")
		if status != 200 {
			t.Fatalf("/metrics: %d", status)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^truecost_ingest_runs_total\{connector="[^"]+",status="succeeded"\} [1-9]`),
			regexp.MustCompile(`(?m)^truecost_ingest_rows_total\{connector="[^"]+",format="[a-z0-9-]+"\} [1-9]`),
			regexp.MustCompile(`(?m)^truecost_ingest_duration_seconds_count\{status="succeeded"\} [1-9]`),
			regexp.MustCompile(`(?m)^truecost_http_request_duration_seconds_count\{method="GET",route="GET /healthz",status="200"\} 1$`),
			regexp.MustCompile(`(?m)^go_sql_max_open_connections\{db_name="truecost"\} 16$`),
		} {
			if !want.MatchString(metrics) {
				t.Errorf("/metrics lacks %s", want)
			}
		}

		var found bool
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Errorf("log line is not JSON: %s", sc.Text())
				continue
			}
			if rec["msg"] == "http request" && rec["route"] == "GET /healthz" {
				found = true
				if rec["method"] != "GET" || rec["status"] != float64(200) || rec["path"] != "/healthz" || rec["duration"] == nil {
					t.Errorf("request record %v", rec)
				}
			}
		}
		if !found {
			t.Errorf("no request record for /healthz in:\n%.3000s", logs.String())
		}
		if strings.Contains(logs.String(), "supersecret") {
			t.Error("the log holds a query string")
		}

		// A newer binary's migration applied by nobody yet: not ready.
		s, err := sqlstore.Open(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.DB().ExecContext(context.Background(),
			"DELETE FROM bun_migrations WHERE id = (SELECT MAX(id) FROM bun_migrations)"); err != nil {
			t.Fatal(err)
		}
		if status, body := get(t, base+"/readyz"); status != 503 || body != "not ready: 1 migration(s) not applied yet\n" {
			t.Errorf("/readyz with a migration missing: %d %q", status, body)
		}
	})
}

// TestServeStopsCleanlyOnSIGTERM: the binary, told to stop, finishes and
// exits 0.
func TestServeStopsCleanlyOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "var", "truecost.db")
	c := child(t, dir, dbURL, "serve", "--addr", "127.0.0.1:0", "--shutdown-timeout", "5s")
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := new(logBuffer)
	c.Stderr = logs
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	urlRE := regexp.MustCompile(`console at (http://[^/ ]+)/`)
	var base string
	for sc.Scan() {
		if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		c.Process.Kill()
		t.Fatalf("serve did not start: %s", logs)
	}
	go io.Copy(io.Discard, stdout)
	if status, _ := get(t, base+"/readyz"); status != 200 {
		t.Errorf("/readyz: %d", status)
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM:\n%s", err, logs)
		}
	case <-time.After(20 * time.Second):
		c.Process.Kill()
		t.Fatalf("serve still running 20s after SIGTERM:\n%s", logs)
	}
	for _, want := range []string{"shutting down", "job scheduler stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

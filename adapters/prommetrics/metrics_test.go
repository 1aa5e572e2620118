package prommetrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/prommetrics"
	"github.com/truecost/truecost/domain/billing"
)

func TestMetricsAreServedInThePrometheusTextFormat(t *testing.T) {
	m := prommetrics.New()
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	m.IngestFinished(billing.IngestionRun{ConnectorID: "c-1", Format: "focus", Status: billing.RunSucceeded, Rows: 1000,
		StartedAt: start, FinishedAt: start.Add(2 * time.Second)})
	m.IngestFinished(billing.IngestionRun{ConnectorID: "c-1", Status: billing.RunFailed, StartedAt: start, FinishedAt: start})
	m.JobRan("connector-sync", "ok", 3*time.Second)
	m.HTTPRequest("POST /graphql", "POST", 200, 40*time.Millisecond)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`truecost_ingest_runs_total{connector="c-1",status="succeeded"} 1`,
		`truecost_ingest_runs_total{connector="c-1",status="failed"} 1`,
		`truecost_ingest_rows_total{connector="c-1",format="focus"} 1000`,
		`truecost_ingest_duration_seconds_sum{status="succeeded"} 2`,
		`truecost_job_runs_total{job="connector-sync",outcome="ok"} 1`,
		`truecost_job_duration_seconds_sum{job="connector-sync"} 3`,
		`truecost_http_request_duration_seconds_count{method="POST",route="POST /graphql",status="200"} 1`,
		`# TYPE go_goroutines gauge`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

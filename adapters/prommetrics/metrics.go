// Package prommetrics is Truecost's Prometheus adapter: the counters and
// histograms of ingestions, connector syncs, jobs, HTTP requests and the
// database pool, registered on a registry of their own and served in the
// Prometheus text format at /metrics. The domain and the drivers report to
// it through the small observer ports they declare.
package prommetrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/truecost/truecost/domain/billing"
)

const namespace = "truecost"

// Metrics holds Truecost's metrics.
type Metrics struct {
	reg            *prometheus.Registry
	ingestRuns     *prometheus.CounterVec
	ingestRows     *prometheus.CounterVec
	ingestDuration *prometheus.HistogramVec
	jobRuns        *prometheus.CounterVec
	jobDuration    *prometheus.HistogramVec
	httpRequests   *prometheus.HistogramVec
}

var _ billing.IngestObserver = (*Metrics)(nil)

// New returns the metrics, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		ingestRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "ingest_runs_total",
			Help: "Ingestion runs (CLI ingests and connector syncs) by connector and outcome: succeeded, unchanged or failed."},
			[]string{"connector", "status"}),
		ingestRows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "ingest_rows_total",
			Help: "Line items loaded by succeeded ingestion runs, by connector and source format."},
			[]string{"connector", "format"}),
		ingestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "ingest_duration_seconds",
			Help:    "How long ingestion runs took, by outcome.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600}},
			[]string{"status"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "job_runs_total",
			Help: "Background job runs by job and outcome: ok, failed, timeout or canceled."},
			[]string{"job", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "job_duration_seconds",
			Help:    "How long background job runs took.",
			Buckets: []float64{0.1, 1, 10, 60, 300, 900, 3600}},
			[]string{"job"}),
		httpRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "HTTP requests by route pattern, method and status, with their latency.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}},
			[]string{"route", "method", "status"}),
	}
	m.reg.MustRegister(m.ingestRuns, m.ingestRows, m.ingestDuration, m.jobRuns, m.jobDuration, m.httpRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchDB adds the statistics of a database pool (go_sql_*: open, in use
// and idle connections, waits for one) with db_name="truecost".
func (m *Metrics) WatchDB(db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, "truecost"))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// IngestFinished counts a finished ingestion run.
func (m *Metrics) IngestFinished(run billing.IngestionRun) {
	m.ingestRuns.WithLabelValues(run.ConnectorID, string(run.Status)).Inc()
	if run.Status == billing.RunSucceeded {
		m.ingestRows.WithLabelValues(run.ConnectorID, run.Format).Add(float64(run.Rows))
	}
	m.ingestDuration.WithLabelValues(string(run.Status)).Observe(run.Duration().Seconds())
}

// JobRan counts a run of a background job.
func (m *Metrics) JobRan(job, outcome string, took time.Duration) {
	m.jobRuns.WithLabelValues(job, outcome).Inc()
	m.jobDuration.WithLabelValues(job).Observe(took.Seconds())
}

// HTTPRequest records a served request. route is the pattern that matched
// (never the raw path, which would make a series per URL).
func (m *Metrics) HTTPRequest(route, method string, status int, took time.Duration) {
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(took.Seconds())
}

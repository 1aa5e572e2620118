// Package background runs the slow use cases a user starts (testing a
// connector, syncing it, provisioning billing, checking billing status) as
// jobs outside the request: starting one checks the caller's rights and
// returns a queued Job at once; the job's state, progress and outcome are
// kept in the store, so any replica answers for it and a restart shows it
// failed rather than lost.
//
// Its Store port is implemented by adapters/sqlstore; its Runner port by
// the bounded worker pool of package jobs, wired in main.
package background

import (
	"context"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
)

// Kind is what a job does.
type Kind string

// Job kinds.
const (
	TestConnector      Kind = "test_connector"
	SyncConnector      Kind = "sync_connector"
	ProvisionBilling   Kind = "provision_billing"
	CheckBillingStatus Kind = "check_billing_status"
)

// Label is the kind as the console names it.
func (k Kind) Label() string {
	switch k {
	case TestConnector:
		return "Test connection"
	case SyncConnector:
		return "Sync"
	case ProvisionBilling:
		return "Provision billing"
	case CheckBillingStatus:
		return "Check billing status"
	}
	return string(k)
}

// State is where a job stands.
type State string

// Job states. Succeeded and Failed are final.
const (
	Queued    State = "queued"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
)

// Job is one run of a slow use case for one organization.
type Job struct {
	ID    string
	OrgID string
	Kind  Kind
	// SubjectID is the connector (test, sync) or cloud account (provision)
	// the job works on; empty for a status check.
	SubjectID string
	// CreatedBy is the user who started it.
	CreatedBy string
	State     State
	// Progress is the fraction done, from 0 to 1, when the job can tell;
	// HasProgress says whether it can.
	Progress    float64
	HasProgress bool
	// Message says what the job is doing now, e.g. "read 12 MB of 40 MB".
	Message string
	// Result is what a succeeded job found.
	Result Result
	// Error is the safe message of a failed job, ErrorCode its code.
	Error     string
	ErrorCode domain.Code

	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// HeartbeatAt is when the process running (or holding) the job last
	// said it was alive; a job not done whose heartbeat is older than
	// Abandoned was lost with its process.
	HeartbeatAt time.Time
}

// Done reports whether the job has finished, one way or the other.
func (j Job) Done() bool { return j.State == Succeeded || j.State == Failed }

// Result is a job's outcome: a summary and, by kind, what it found.
type Result struct {
	Summary string `json:"summary"`
	// Test is what a connector test found.
	Test *connectors.TestResult `json:"test,omitempty"`
	// Run is the ingestion run of a sync.
	Run *billing.IngestionRun `json:"run,omitempty"`
	// Provider is the provider whose billing a provisioning set up.
	Provider connectors.Provider `json:"provider,omitempty"`
	// Accounts is how many accounts a status check checked.
	Accounts int `json:"accounts,omitempty"`
}

// Store keeps jobs, always within one organization.
type Store interface {
	// CreateJob stores a new job.
	CreateJob(ctx context.Context, j Job) error
	// SaveJob stores a job's state, progress, outcome and times.
	SaveJob(ctx context.Context, j Job) error
	// Job returns the job id of one of orgIDs, or NotFound.
	Job(ctx context.Context, orgIDs []string, id string) (Job, error)
	// TouchJobs moves the heartbeat of the jobs ids (unfinished ones only)
	// to at.
	TouchJobs(ctx context.Context, ids []string, at time.Time) error
	// AbandonJobs fails every unfinished job whose heartbeat is before
	// staleBefore with message (code unavailable) at at, and says how many.
	AbandonJobs(ctx context.Context, staleBefore time.Time, message string, at time.Time) (int, error)
}

// Runner runs work in the background with bounded concurrency. Go
// queues fn and returns at once; when the queue is full it returns a
// domain.Unavailable error and never runs fn. fn's context is cancelled
// when the runner shuts down.
type Runner interface {
	Go(fn func(ctx context.Context)) error
}

// Heartbeat is how often the jobs a process holds say they are alive;
// Abandoned how long a silent unfinished job is trusted.
const (
	Heartbeat = 30 * time.Second
	Abandoned = 2 * time.Minute
)

// Deadlines of each kind of job, on top of the deadline of each call to a
// cloud.
var deadlines = map[Kind]time.Duration{
	TestConnector:      5 * time.Minute,
	SyncConnector:      3 * time.Hour,
	ProvisionBilling:   30 * time.Minute,
	CheckBillingStatus: 3 * time.Hour,
}

// abandonedMessage is the error of a job lost with its process.
const abandonedMessage = "abandoned: the server running this job stopped before it finished; start it again"

package graph_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// goRunner runs each job on its own goroutine: the tests' background.Runner.
type goRunner struct{}

func (goRunner) Go(fn func(context.Context)) error {
	go fn(context.Background())
	return nil
}

// awaitedJob is a mutation that starts a job, with the job result field
// (and its selection) that tells the outcome the tests check.
type awaitedJob struct {
	field     string // the mutation's field, e.g. testConnector
	selection string // what to read of JobResult, e.g. connectorTest { format }
}

// jobQueries are the job mutations the world tests send; do follows each
// job to its end and answers as the operation did when it ran in the
// request: the result's data under the mutation's field, or the job's
// error as the one GraphQL error.
var jobQueries = map[string]awaitedJob{}

func asJob(query, field, selection string) string {
	jobQueries[query] = awaitedJob{field: field, selection: selection}
	return query
}

const jobFields = `id organizationId kind subjectId state progress message error errorCode createdAt startedAt finishedAt`

// apiJob is a Job as a client decodes it.
type apiJob struct {
	ID             string          `json:"id"`
	OrganizationID string          `json:"organizationId"`
	Kind           string          `json:"kind"`
	SubjectID      *string         `json:"subjectId"`
	State          string          `json:"state"`
	Progress       *float64        `json:"progress"`
	Message        *string         `json:"message"`
	Error          *string         `json:"error"`
	ErrorCode      *string         `json:"errorCode"`
	CreatedAt      string          `json:"createdAt"`
	StartedAt      *string         `json:"startedAt"`
	FinishedAt     *string         `json:"finishedAt"`
	Result         json.RawMessage `json:"result"`
}

// pollJob asks for job id (with selection of its result) until it is done.
func (w *apiWorld) pollJob(t *testing.T, token, id, selection string) (apiJob, gqlResponse, string) {
	t.Helper()
	q := `query($id: ID!) { job(id: $id) { ` + jobFields + ` result { summary ` + selection + ` } } }`
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, resp, raw := post(t, w.url, q, map[string]any{"id": id}, bearer(token))
		if len(resp.Errors) > 0 {
			return apiJob{}, resp, raw
		}
		var out struct{ Job apiJob }
		if err := json.Unmarshal(resp.Data, &out); err != nil {
			t.Fatalf("decode %s: %v", resp.Data, err)
		}
		if out.Job.State == "SUCCEEDED" || out.Job.State == "FAILED" {
			return out.Job, resp, raw
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 90s", id, out.Job.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitJob follows the job a mutation started and answers in the shape of
// the operation's outcome.
func (w *apiWorld) awaitJob(t *testing.T, token string, aj awaitedJob, started gqlResponse) (gqlResponse, string) {
	t.Helper()
	var data map[string]struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(started.Data, &data); err != nil || data[aj.field].ID == "" {
		t.Fatalf("%s answered %s, want a job", aj.field, started.Data)
	}
	job, resp, raw := w.pollJob(t, token, data[aj.field].ID, aj.selection)
	if len(resp.Errors) > 0 {
		return resp, raw
	}
	var out gqlResponse
	if job.State == "FAILED" {
		out.Data = json.RawMessage(`{"` + aj.field + `":null}`)
		out.Errors = append(out.Errors, struct {
			Message    string         `json:"message"`
			Path       []any          `json:"path"`
			Extensions map[string]any `json:"extensions"`
		}{Message: *job.Error, Path: []any{aj.field}, Extensions: map[string]any{"code": *job.ErrorCode}})
		return out, raw
	}
	var result map[string]json.RawMessage
	if err := json.Unmarshal(job.Result, &result); err != nil {
		t.Fatalf("decode result %s: %v", job.Result, err)
	}
	key := strings.TrimSpace(aj.selection[:strings.IndexAny(aj.selection, " {")])
	out.Data = json.RawMessage(`{"` + aj.field + `":` + string(result[key]) + `}`)
	return out, raw
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/localfiles"
)

// cmd runs one truecost command in dir and returns its output.
func cmd(t *testing.T, dir, dbURL, stdin string, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	t.Chdir(dir)
	code := run(context.Background(), append([]string{"--database-url", dbURL}, args...), strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), code
}

// mustCmds runs truecost commands in turn, failing the test at the first
// that fails.
func mustCmds(t *testing.T, dir, dbURL string, cmds ...[]string) {
	t.Helper()
	for _, c := range cmds {
		if out, code := cmd(t, dir, dbURL, "", c...); code != 0 {
			t.Fatalf("%v: %d %s", c, code, out)
		}
	}
}

// userToken creates an admin of org and returns its API token.
func userToken(t *testing.T, dir, dbURL, email, org string) string {
	t.Helper()
	out, code := cmd(t, dir, dbURL, "", "users", "create", email, "--org", org, "--role", "admin", "--token")
	if code != 0 {
		t.Fatalf("users create: %d %s", code, out)
	}
	return strings.Fields(out)[len(strings.Fields(out))-1]
}

func TestCLIEndToEnd(t *testing.T) {
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		if out, code := cmd(t, dir, dbURL, "", "migrate"); code != 0 || !strings.Contains(out, "applied") {
			t.Fatalf("migrate: %d %s", code, out)
		}
		steps := [][]string{
			{"orgs", "create", "northwind", "--name", "Northwind Cloud", "--kind", "reseller"},
			{"orgs", "create", "acme", "--reseller", "northwind"},
			{"orgs", "create", "globex"},
		}
		for _, s := range steps {
			if out, code := cmd(t, dir, dbURL, "", s...); code != 0 {
				t.Fatalf("%v: %d %s", s, code, out)
			}
		}
		out, code := cmd(t, dir, dbURL, "secret-password\n", "users", "create", "Ops@Northwind.example", "--org", "northwind", "--role", "admin", "--password-stdin", "--token")
		if code != 0 {
			t.Fatalf("users create: %d %s", code, out)
		}
		fields := strings.Fields(out)
		token := fields[len(fields)-1]
		if !strings.HasPrefix(token, "tc_") {
			t.Fatalf("last word %q is not a token:\n%s", token, out)
		}
		// The bundled demo export for acme: the FOCUS 1.2 sample, gzipped.
		folders, err := localfiles.WriteDemo(filepath.Join(dir, "demo"))
		if err != nil {
			t.Fatal(err)
		}
		src := filepath.Join(dir, "demo", "acme", "focus")
		_ = folders
		out, code = cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", src, "--format", "focus")
		if code != 0 || !strings.Contains(out, "ingested 1000 rows") || !strings.Contains(out, "USD 409294.570856199999819") {
			t.Fatalf("ingest: %d %s", code, out)
		}
		out, code = cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", src)
		if code != 0 || !strings.Contains(out, "source unchanged") {
			t.Errorf("second ingest: %d %s", code, out)
		}
		out, code = cmd(t, dir, dbURL, "", "ingest", "--org", "nobody", "--source", src)
		if code == 0 || !strings.Contains(out, "organization nobody not found") {
			t.Errorf("unknown org: %d %s", code, out)
		}
		out, code = cmd(t, dir, dbURL, "", "orgs", "create", "Bad Slug")
		if code != 2 || !strings.Contains(out, "must be 2-63 lowercase") {
			t.Errorf("bad slug: %d %s", code, out)
		}

		url := serve(t, dir, dbURL)
		body := graphql(t, url, token, `{ costs(query: {from: "2024-09-01", to: "2024-10-01", groupBy: [PROVIDER]}) { totals { amount currency } groups { keys { value } total { amount } } } }`)
		var resp struct {
			Data struct {
				Costs struct {
					Totals []struct{ Amount, Currency string }
					Groups []struct {
						Keys  []struct{ Value string }
						Total struct{ Amount string }
					}
				}
			}
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		want := map[string]string{"AWS": "93672.998281940000073", "Microsoft": "111643.501602049999716",
			"Google": "93468.59701118999982", "Oracle": "110509.47396102000021"}
		if len(resp.Data.Costs.Groups) != 4 {
			t.Fatalf("groups: %s", body)
		}
		for _, g := range resp.Data.Costs.Groups {
			if !decimal.RequireFromString(g.Total.Amount).Equal(decimal.RequireFromString(want[g.Keys[0].Value])) {
				t.Errorf("%s: %s, want %s", g.Keys[0].Value, g.Total.Amount, want[g.Keys[0].Value])
			}
		}
		if tot := resp.Data.Costs.Totals; len(tot) != 1 || tot[0].Currency != "USD" ||
			!decimal.RequireFromString(tot[0].Amount).Equal(decimal.RequireFromString("409294.570856199999819")) {
			t.Errorf("totals %+v", tot)
		}
	})
}

// serve starts `truecost serve` on a free port and returns its base URL.
func serve(t *testing.T, dir, dbURL string, flags ...string) string {
	t.Helper()
	return serveLogging(t, dir, dbURL, io.Discard, flags...)
}

// serveLogging is serve with the server's log going to logs.
func serveLogging(t *testing.T, dir, dbURL string, logs io.Writer, flags ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		args := append([]string{"--database-url", dbURL, "serve", "--addr", "127.0.0.1:0"}, flags...)
		done <- run(ctx, args, strings.NewReader(""), pw, logs)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s")
		}
	})
	urlRE := regexp.MustCompile(`console at (http://[^/ ]+)/`)
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, pr)
			return m[1]
		}
	}
	t.Fatal("serve ended before printing its URL")
	return ""
}

// logBuffer collects a server's log lines as they are written.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// gqlError is one error of a GraphQL answer.
type gqlError struct {
	Message    string
	Extensions struct{ Code string }
}

// postGraphQL posts query (with vars unless nil) to the API at base as the
// user of token and returns the status and body of the answer.
func postGraphQL(t *testing.T, base, token, query string, vars map[string]any) (int, []byte) {
	t.Helper()
	op := map[string]any{"query": query}
	if vars != nil {
		op["variables"] = vars
	}
	payload, err := json.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/graphql", bytes.NewReader(payload))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

// graphql posts query and returns the body of the answer, failing the
// test unless it is 200 OK.
func graphql(t *testing.T, base, token, query string) []byte {
	t.Helper()
	status, body := postGraphQL(t, base, token, query, nil)
	if status != 200 {
		t.Fatalf("graphql: %d %s", status, body)
	}
	return body
}

// gql posts a query with variables and returns its data and errors as
// they came, failing only when the answer is not GraphQL.
func gql(t *testing.T, base, token, query string, vars map[string]any, data any) ([]gqlError, []byte) {
	t.Helper()
	status, body := postGraphQL(t, base, token, query, vars)
	var resp struct {
		Data   json.RawMessage
		Errors []gqlError
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("not a GraphQL answer: %d %s", status, body)
	}
	if data != nil && len(resp.Data) > 0 && string(resp.Data) != "null" {
		if err := json.Unmarshal(resp.Data, data); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
	}
	return resp.Errors, body
}

// graphqlData posts query with vars as the user of token, fails the test
// on any GraphQL error, decodes the data into data and returns the body.
func graphqlData(t *testing.T, base, token, query string, vars map[string]any, data any) []byte {
	t.Helper()
	errs, body := gql(t, base, token, query, vars, data)
	if len(errs) > 0 {
		t.Fatalf("graphql %s: %s", strings.Fields(query)[0], body)
	}
	return body
}

// rootJob is a background job as a client reads it.
type rootJob struct {
	ID, Kind, State string
	Progress        *float64
	Error           *string
	ErrorCode       *string
	Result          json.RawMessage
}

// runJob starts a job with mutation (whose one field selects the job's
// id), follows it with job(id) until it is done, and decodes the selection
// of its result into result when it succeeded. The start's errors come
// back as they are, with a zero job.
func runJob(t *testing.T, base, token, mutation string, vars map[string]any, selection string, result any) (rootJob, []gqlError, []byte) {
	t.Helper()
	var started map[string]struct{ ID string }
	errs, body := gql(t, base, token, mutation, vars, &started)
	if len(errs) > 0 {
		return rootJob{}, errs, body
	}
	var id string
	for _, j := range started {
		id = j.ID
	}
	if id == "" {
		t.Fatalf("no job started: %s", body)
	}
	q := `query($id: ID!) { job(id: $id) { id kind state progress error errorCode result { summary ` + selection + ` } } }`
	deadline := time.Now().Add(90 * time.Second)
	for {
		var out struct{ Job rootJob }
		if errs, body := gql(t, base, token, q, map[string]any{"id": id}, &out); len(errs) > 0 {
			t.Fatalf("job(id): %s", body)
		}
		switch out.Job.State {
		case "SUCCEEDED":
			if result != nil {
				if err := json.Unmarshal(out.Job.Result, result); err != nil {
					t.Fatalf("decode job result %s: %v", out.Job.Result, err)
				}
			}
			return out.Job, nil, out.Job.Result
		case "FAILED":
			return out.Job, nil, []byte(*out.Job.Error)
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 90s", id, out.Job.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jobData is runJob for jobs that must succeed: it decodes the result the
// selection names as the data of the mutation that started the job (as
// the operation answered when it ran in the request) and returns the body.
func jobData(t *testing.T, base, token, mutation string, vars map[string]any, selection string, data any) []byte {
	t.Helper()
	var result map[string]json.RawMessage
	job, errs, body := runJob(t, base, token, mutation, vars, selection, &result)
	if len(errs) > 0 || job.State != "SUCCEEDED" {
		t.Fatalf("job %s: %+v %s", strings.Fields(mutation)[0], job, body)
	}
	key := selection[:strings.IndexAny(selection, " {")]
	field := map[string]string{"connectorTest": "testConnector", "ingestionRun": "syncConnector",
		"infrastructure": "provisionBilling", "accounts": "checkBillingStatus"}[key]
	if err := json.Unmarshal([]byte(`{"`+field+`":`+string(result[key])+`}`), data); err != nil {
		t.Fatalf("decode %s: %v", result[key], err)
	}
	return body
}

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/truecost/truecost/adapters/outbound"
)

// allowLocalEmulators lets the binary reach the emulators the tests run on
// 127.0.0.1, as the operator of a private cloud allows its own endpoints.
func allowLocalEmulators(t *testing.T) {
	t.Helper()
	t.Setenv(outbound.EnvAllow, "127.0.0.1")
}

func TestConnectorEndpointOnAPrivateAddressIsRefused(t *testing.T) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusForbidden)
	}))
	defer ts.Close()
	port := ts.URL[strings.LastIndex(ts.URL, ":")+1:]

	dir := t.TempDir()
	const dbURL = "sqlite://var/truecost.db"
	token := adminToken(t, dir, dbURL, "acme")
	url := serve(t, dir, dbURL)
	for i, tc := range []struct{ endpoint, want string }{
		{ts.URL, "endpoint 127.0.0.1 is a private address (loopback); allow it with TRUECOST_OUTBOUND_ALLOW"},
		{"http://localhost:" + port, "endpoint localhost (127.0.0.1) is a private address (loopback); allow it with TRUECOST_OUTBOUND_ALLOW"},
		{"http://169.254.169.254", "endpoint 169.254.169.254 is a private address (link-local)"},
		{"http://10.1.2.3:9000", "endpoint 10.1.2.3 is a private address (private)"},
		{"http://[::1]:" + port, "endpoint ::1 is a private address (loopback)"},
	} {
		var created struct {
			CreateConnector struct{ ID string }
		}
		graphqlData(t, url, token, `mutation($in: ConnectorInput!) { createConnector(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"provider": "AWS", "name": "internal " + tc.endpoint,
			"config": map[string]any{"awsAccountId": "123456789012", "bucket": "acme-billing", "path": fmt.Sprintf("cur-%d", i), "fileType": "cur", "endpoint": tc.endpoint},
			"secret": map[string]any{"accessKeyId": "AKIAE2E", "secretAccessKey": "e2e-secret"},
		}}, &created)
		// Testing and syncing run as jobs: each ends FAILED with the refusal.
		for _, op := range []struct{ mutation, selection string }{
			{"testConnector", "connectorTest { format }"},
			{"syncConnector", "ingestionRun { status }"},
		} {
			job, errs, body := runJob(t, url, token, `mutation($id: ID!) { `+op.mutation+`(id: $id) { id } }`,
				map[string]any{"id": created.CreateConnector.ID}, op.selection, nil)
			if len(errs) > 0 || job.State != "FAILED" || job.ErrorCode == nil || *job.ErrorCode != "invalid" ||
				job.Error == nil || !strings.Contains(*job.Error, tc.want) {
				t.Errorf("%s %s: job %+v: %s\nwant FAILED with code invalid and %q", op.mutation, tc.endpoint, job, body, tc.want)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d request(s) reached the internal server", n)
	}
}

package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"
)

// repeatViewer returns an operation of n identical viewer selections: the
// shape whose validation grows with the square of n.
func repeatViewer(n int) string {
	return "{" + strings.Repeat(" viewer { user { id } }", n) + " }"
}

func TestHandlerRefusesHostileOperationsBeforeValidating(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	costs := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, ` c%d: costs(query: {from: "2024-09-01", to: "2024-10-01"}) { totals { amount } }`, i)
		}
		b.WriteString(" }")
		return b.String()
	}
	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantCode   string
	}{
		{"2,500 repeated fields (60 KiB)", repeatViewer(2500), http.StatusOK, "invalid"},
		{"a body over 64 KiB", repeatViewer(50_000), http.StatusRequestEntityTooLarge, "invalid"},
		{"deep nesting", strings.Repeat("{ viewer ", 30) + strings.Repeat("}", 30), http.StatusOK, "invalid"},
		{"10 aliased costs reports", costs(10), http.StatusOK, "COMPLEXITY_LIMIT_EXCEEDED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			status, resp, raw := post(t, api.server.URL, tt.query, nil, bearer(fakeToken))
			if status != tt.wantStatus || len(resp.Errors) != 1 || resp.codes()[0] != tt.wantCode {
				t.Fatalf("status %d, body %.300s; want %d with code %s", status, raw, tt.wantStatus, tt.wantCode)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refused after %v; want well under a second", d)
			}
		})
	}
	// Introspection stays allowed, and so do a few costs reports in one
	// operation.
	if status, resp, raw := post(t, api.server.URL, introspection.Query, nil, bearer(fakeToken)); status != http.StatusOK || len(resp.Errors) != 0 {
		t.Errorf("introspection: status %d, body %.300s", status, raw)
	}
	if status, resp, raw := post(t, api.server.URL, costs(3), nil, bearer(fakeToken)); status != http.StatusOK || len(resp.Errors) != 0 {
		t.Errorf("3 costs reports: status %d, body %.300s", status, raw)
	}
}

// BenchmarkHostileOperation times the refusal of a member's 1 MiB operation
// of repeated fields (sent without a Content-Length, so that the body limit
// and the token limit both have to work) and of a 60 KiB one.
func BenchmarkHostileOperation(b *testing.B) {
	api := newFakeAPI(b)
	for _, size := range []int{60 << 10, 1 << 20} {
		query := repeatViewer(size / len(" viewer { user { id } }"))
		body, _ := json.Marshal(map[string]any{"query": query})
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/graphql", struct{ *bytes.Reader }{bytes.NewReader(body)})
				req.ContentLength = -1
				req.Header.Set("Content-Type", "application/json")
				bearer(fakeToken)(req)
				rec := httptest.NewRecorder()
				api.server.Config.Handler.ServeHTTP(rec, req)
				if !strings.Contains(rec.Body.String(), `"code":"invalid"`) && rec.Code != http.StatusRequestEntityTooLarge {
					b.Fatalf("status %d, body %.300s", rec.Code, rec.Body)
				}
			}
		})
	}
}

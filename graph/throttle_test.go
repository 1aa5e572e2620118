package graph_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/tenancy"
)

func TestBadTokensFromOneAddressAreRateLimited(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newWorld(t, store)
		for i := range tenancy.AddressBackoff.Free + 1 {
			if status, _, raw := post(t, w.url, `{ viewer { user { id } } }`, nil, bearer("tc_guess")); status != http.StatusUnauthorized {
				t.Fatalf("bad token %d: status %d, body %s", i+1, status, raw)
			}
		}
		// Now even a good token from the same address waits.
		req, _ := http.NewRequest(http.MethodPost, w.url, strings.NewReader(`{"query":"{ viewer { user { id } } }"}`))
		req.Header.Set("Content-Type", "application/json")
		bearer(w.acmeToken)(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body gqlResponse
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || retry < 1 || len(body.Errors) != 1 || body.codes()[0] != "rate_limited" {
			t.Fatalf("status %d, Retry-After %q, errors %+v; want 429 rate_limited with a Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body.Errors)
		}
		if !strings.Contains(body.Errors[0].Message, "try again in") {
			t.Errorf("message %q does not say when to try again", body.Errors[0].Message)
		}
	})
}

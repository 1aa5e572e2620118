package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/localfiles"
)

// TestNativeExportsReconcileThroughGraphQL ingests each provider's native
// sample with --format auto and reads the totals back through the costs
// query: by provider, and for Google Cloud per invoice month.
func TestNativeExportsReconcileThroughGraphQL(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite://var/truecost.db"
	if _, err := localfiles.WriteDemo(filepath.Join(dir, "demo")); err != nil {
		t.Fatal(err)
	}
	cmd(t, dir, dbURL, "", "orgs", "create", "acme")
	out, code := cmd(t, dir, dbURL, "", "users", "create", "ops@acme.example", "--org", "acme", "--role", "admin", "--token")
	if code != 0 {
		t.Fatal(out)
	}
	token := strings.Fields(out)[len(strings.Fields(out))-1]
	for _, src := range []string{"acme/aws", "acme/azure", "globex/gcp", "globex/oci"} {
		out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", filepath.Join(dir, "demo", src))
		if code != 0 || !strings.Contains(out, "ingested") {
			t.Fatalf("ingest %s: %d %s", src, code, out)
		}
	}
	url := serve(t, dir, dbURL)
	type report struct {
		Data struct {
			Costs struct {
				Groups []struct {
					Keys  []struct{ Value string }
					Total struct{ Amount, Currency string }
				}
			}
		}
	}
	query := func(q string) map[string]decimal.Decimal {
		var r report
		body := graphql(t, url, token, q)
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		out := map[string]decimal.Decimal{}
		for _, g := range r.Data.Costs.Groups {
			var keys []string
			for _, k := range g.Keys {
				keys = append(keys, k.Value)
			}
			out[strings.Join(keys, " ")+" "+g.Total.Currency] = decimal.RequireFromString(g.Total.Amount)
		}
		return out
	}
	check := func(got map[string]decimal.Decimal, want map[string]string) {
		t.Helper()
		for k, w := range want {
			if g, ok := got[k]; !ok || !g.Equal(decimal.RequireFromString(w)) {
				t.Errorf("%s: got %s, want %s (all: %v)", k, g, w, got)
			}
		}
	}
	check(query(`{ costs(query: {from: "2026-09-01", to: "2026-11-01", groupBy: [PROVIDER]}) { groups { keys { value } total { amount currency } } } }`),
		map[string]string{"AWS USD": "206.88371224384391290550", "Microsoft USD": "493.3098186521002073969",
			"Google Cloud USD": "95.1021935999999994240", "Oracle USD": "365.18328"})
	check(query(`{ costs(query: {from: "2026-09-01", to: "2026-11-01", dateBasis: BILLING_PERIOD, groupBy: [PROVIDER, BILLING_PERIOD], filter: {providers: ["Google Cloud"]}}) { groups { keys { value } total { amount currency } } } }`),
		map[string]string{"Google Cloud 2026-09 USD": "85.1120000639999994240", "Google Cloud 2026-10 USD": "9.990193536"})
}

package graph_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
)

func TestMembersDoNotSeeServerPaths(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newWorld(t, store)
		q := `{ ingestionRuns { files } connectors { location } }`
		paths := func(token string) []string {
			t.Helper()
			status, resp, raw := post(t, w.url, q, nil, bearer(token))
			if status != http.StatusOK || len(resp.Errors) > 0 {
				t.Fatalf("status %d, body %s", status, raw)
			}
			var got struct {
				IngestionRuns []struct{ Files []string }
				Connectors    []struct{ Location string }
			}
			if err := json.Unmarshal(resp.Data, &got); err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range got.IngestionRuns {
				out = append(out, r.Files...)
			}
			for _, c := range got.Connectors {
				out = append(out, c.Location)
			}
			return out
		}
		member := paths(w.acmeToken)
		if len(member) < 4 {
			t.Fatalf("member sees %q; want two runs' files and two connectors", member)
		}
		for _, p := range member {
			if filepath.IsAbs(p) || filepath.Base(p) != p {
				t.Errorf("member sees server path %q; want only its last element", p)
			}
		}
		for _, p := range paths(w.acmeAdminToken) {
			if !filepath.IsAbs(p) {
				t.Errorf("admin sees %q; want the absolute path", p)
			}
		}
	})
}

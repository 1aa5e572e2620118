package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReingestedFOCUSFileReplacesItsPeriodsWholeThroughTheBinary(t *testing.T) {
	eachDB(t, func(t *testing.T, dir, dbURL string) {
		if out, code := cmd(t, dir, dbURL, "", "orgs", "create", "acme"); code != 0 {
			t.Fatal(out)
		}
		out, code := cmd(t, dir, dbURL, "", "users", "create", "ops@acme.example", "--org", "acme", "--role", "admin", "--token")
		if code != 0 {
			t.Fatal(out)
		}
		token := strings.Fields(out)[len(strings.Fields(out))-1]
		row := func(period, end, cost string) string {
			return period + "T00:00:00Z," + end + "T00:00:00Z," + period[:8] + "10T00:00:00Z," + period[:8] + "11T00:00:00Z,USD," + cost + "," + cost + ",AWS\n"
		}
		path := filepath.Join(dir, "focus.csv")
		write := func(text string) {
			if err := os.WriteFile(path, []byte(focusHeader+text), 0o644); err != nil {
				t.Fatal(err)
			}
			later := time.Now().Add(time.Minute)
			_ = os.Chtimes(path, later, later)
		}
		write(row("2024-08-01", "2024-09-01", "3090.42") + row("2024-09-01", "2024-10-01", "20000.00"))
		if out, code := cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", path); code != 0 {
			t.Fatal(out)
		}
		write(row("2024-09-01", "2024-10-01", "20581.89"))
		out, code = cmd(t, dir, dbURL, "", "ingest", "--org", "acme", "--source", path)
		if code != 0 || !strings.Contains(out, "retired 1 period(s) the source no longer holds [2024-08]") {
			t.Fatalf("re-ingest: %d %s", code, out)
		}

		url := serve(t, dir, dbURL)
		var data struct {
			Costs struct {
				Totals []struct{ Amount, Currency string }
			}
			IngestionRuns []struct {
				Periods, RetiredPeriods []string
			}
		}
		body := graphqlData(t, url, token, `{ costs(query: {from: "2024-08-01", to: "2024-10-01"}) { totals { amount currency } }
			ingestionRuns(limit: 1) { periods retiredPeriods } }`, nil, &data)
		if tot := data.Costs.Totals; len(tot) != 1 || tot[0].Amount != "20581.89" {
			t.Errorf("totals %+v, want only the new September's 20581.89:\n%s", tot, body)
		}
		runs, _ := json.Marshal(data.IngestionRuns)
		if string(runs) != `[{"Periods":["2024-09-01"],"RetiredPeriods":["2024-08-01"]}]` {
			t.Errorf("runs %s", runs)
		}
	})
}

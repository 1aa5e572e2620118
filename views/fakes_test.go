package views_test

import (
	"context"
	"sort"

	"github.com/truecost/truecost/domain/billing"
)

// memRuns lists canned ingestion runs, so that the runs page tests can name
// runs, row counts, totals, durations and errors that a real ingestion of the
// fixture's files would not produce.
type memRuns struct {
	runs []billing.IngestionRun
}

func (m *memRuns) ListRuns(_ context.Context, orgIDs []string, limit int) ([]billing.IngestionRun, error) {
	var out []billing.IngestionRun
	for _, r := range m.runs {
		if containsString(orgIDs, r.OrgID) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

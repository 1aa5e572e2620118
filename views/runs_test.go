package views_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func TestRunsPageListsRunsOfScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		user     string
		wantRuns []string
	}{
		{"admin@acme.test", []string{"run-initech", "run-globex"}},
		{"ops@globex.test", []string{"run-globex"}},
		{"it@umbrella.test", []string{"run-umbrella"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			c, _ := f.signIn(tt.user)
			doc := f.getDoc(c, "/runs", nil, http.StatusOK)
			var got []string
			doc.Find(testID("run-row")).Each(func(_ int, s *goquery.Selection) {
				got = append(got, s.AttrOr("data-run-id", ""))
			})
			if strings.Join(got, ",") != strings.Join(tt.wantRuns, ",") {
				t.Errorf("runs %v, want %v (newest first)", got, tt.wantRuns)
			}
		})
	}
}

func TestRunsPageShowsStatusTotalsAndFullError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("admin@acme.test")
	doc := f.getDoc(c, "/runs", nil, http.StatusOK)

	failed := doc.Find(`[data-run-id="run-initech"]`)
	if got := failed.Find(testID("run-status")).Text(); got != "Failed" {
		t.Errorf("failed run status %q", got)
	}
	wantErr := `focus_sample.csv: line 12, column BilledCost: "abc" is not a decimal number`
	if got := failed.Find(testID("run-error")).Text(); !strings.Contains(got, wantErr) {
		t.Errorf("error shown %q, want the full message %q", got, wantErr)
	}

	ok := doc.Find(`[data-run-id="run-globex"]`)
	text := strings.Join(strings.Fields(ok.Text()), " ")
	for _, want := range []string{"Succeeded", "Globex", "focus", "1,234", "Sep 2024", "$3,754.50", "1.5s"} {
		if !strings.Contains(text, want) {
			t.Errorf("run row %q lacks %q", text, want)
		}
	}
	if ok.Find(testID("run-error")).Length() != 0 {
		t.Error("a succeeded run shows an error")
	}
}

package views_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/truecost/truecost/domain"
)

func TestTestConnectionListsWhatWouldBeLoadedWithoutLoading(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	conn := cc.add(cc.resellerAdmin, cc.customer.ID, awsInput("Contoso payer"))
	c, csrf := cc.signIn("admin@northwind.test")

	doc := parseRow(t, cc.post(c, csrf, "/connectors/"+conn.ID+"/test", url.Values{"from": {"list"}}, htmx))
	row := doc.Find(`tbody[data-connector-id="` + conn.ID + `"]`)
	if row.Length() != 1 || doc.Find("html header").Length() != 0 {
		t.Fatal("Test connection from the list did not answer with the connector's row")
	}
	if got := row.Find(testID("outcome-title")).Text(); got != "Connection works" {
		t.Errorf("outcome %q, want Connection works", got)
	}
	summary := row.Find(testID("outcome-summary")).Text()
	if !strings.Contains(summary, "focus") || !strings.Contains(summary, "1 file") {
		t.Errorf("summary %q, want the format and the file count", summary)
	}
	if got := row.Find(testID("test-part")).Text(); !strings.Contains(got, "focus_sample.csv") || !strings.Contains(got, "KiB") {
		t.Errorf("parts %q, want the file with its size", got)
	}
	runs, err := cc.store.ListRuns(context.Background(), []string{cc.customer.ID}, 10)
	if err != nil || len(runs) != 0 {
		t.Errorf("testing made %d ingestion runs (%v), want none", len(runs), err)
	}
	if got := row.Find(testID("connector-status")).Text(); got != "New" {
		t.Errorf("status after a test %q, want still New", got)
	}

	// A failing source is shown with its message, on the connector's page:
	// the safe message an adapter gives a cloud's refusal.
	cc.sources.failWith(domain.WrapError(domain.Forbidden, errors.New("api error AccessDenied: not authorized to perform sts:AssumeRole"),
		"assume role: access denied (AccessDenied); check the role or keys and the bucket policy"))
	doc, _ = parse(t, cc.post(c, csrf, "/connectors/"+conn.ID+"/test", url.Values{"from": {"detail"}}, htmx))
	if doc.Find(testID("connector-live")).Length() != 1 {
		t.Fatal("Test connection from the connector's page did not answer with its live region")
	}
	if got := doc.Find(testID("outcome-title")).Text(); got != "Connection failed" {
		t.Errorf("failed outcome %q", got)
	}
	if got := doc.Find(testID("outcome-error")).Text(); !strings.Contains(got, "AccessDenied") {
		t.Errorf("error shown %q, want the source's message", got)
	}

	// An unexpected failure shows its safe message, never the raw chain.
	cc.sources.failWith(domain.WrapError(domain.Internal, errors.New("dial tcp 10.0.0.7:443: connection reset"), "assume role"))
	doc, body := parse(t, cc.post(c, csrf, "/connectors/"+conn.ID+"/test", url.Values{"from": {"detail"}}, htmx))
	if got := doc.Find(testID("outcome-error")).Text(); !strings.Contains(got, "assume role") {
		t.Errorf("unexpected failure shown as %q, want its safe message", got)
	}
	if strings.Contains(body, "10.0.0.7") {
		t.Error("the page shows an unexpected failure's raw error chain")
	}
}

func TestSyncNowLoadsTheSourceAndUpdatesTheStatus(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	conn := cc.add(cc.resellerAdmin, cc.customer.ID, awsInput("Contoso payer"))
	c, csrf := cc.signIn("admin@northwind.test")

	doc := parseRow(t, cc.post(c, csrf, "/connectors/"+conn.ID+"/sync", url.Values{"from": {"list"}, "scope": {cc.customer.ID}}, htmx))
	row := doc.Find(`tbody[data-connector-id="` + conn.ID + `"]`)
	checks := []struct{ testid, want string }{
		{"outcome-title", "Sync succeeded"},
		{"run-status", "Succeeded"},
		{"run-rows", "1,000"},
		{"run-periods", "Sep 2024"},
		{"connector-status", "OK"},
		{"connector-rows", "1,000"},
		{"connector-period", "Sep 2024"},
		{"connector-last-sync", "just now"},
	}
	for _, ch := range checks {
		if got := strings.TrimSpace(row.Find(testID(ch.testid)).Text()); got != ch.want {
			t.Errorf("%s = %q, want %q", ch.testid, got, ch.want)
		}
	}
	if got := row.Find(testID("run-totals")+" [data-exact]").AttrOr("data-exact", ""); got != sampleTotal+" USD" {
		t.Errorf("run total %q, want %q", got, sampleTotal+" USD")
	}
	if row.Find(testID("connector-org")).Length() != 0 {
		t.Error("the row of a list narrowed to one organization shows the organization column")
	}

	// Again: nothing changed.
	doc, _ = parse(t, cc.post(c, csrf, "/connectors/"+conn.ID+"/sync", url.Values{"from": {"detail"}}, htmx))
	if got := doc.Find(testID("outcome-title")).Text(); got != "Already up to date" {
		t.Errorf("second sync %q, want Already up to date", got)
	}

	// A failure marks the connector failed, with the full error, and a
	// plain form post gets the whole page.
	cc.sources.failWith(domain.Errorf(domain.Invalid, "s3://contoso-billing/cur2/contoso holds no billing export"))
	resp := cc.post(c, csrf, "/connectors/"+conn.ID+"/sync", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("failed sync: status %d, want 200 with the outcome", resp.StatusCode)
	}
	doc, _ = parse(t, resp)
	if doc.Find(testID("connector-title")).Length() != 1 {
		t.Error("a plain form post did not get the connector's page")
	}
	if got := doc.Find(testID("connector-status")).Text(); got != "Failed" {
		t.Errorf("status after a failed sync %q, want Failed", got)
	}
	if got := doc.Find(testID("outcome-error")).Text(); !strings.Contains(got, "holds no billing export") {
		t.Errorf("sync error %q", got)
	}
	list := cc.getDoc(c, "/connectors", nil, http.StatusOK)
	if got := list.Find(testID("connector-error")).Text(); !strings.Contains(got, "holds no billing export") {
		t.Errorf("list's last error %q", got)
	}
}

func TestDeleteConnectorRemovesItFromTheList(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	keep := cc.add(cc.resellerAdmin, cc.reseller.ID, azureInput("Northwind EA"))
	gone := cc.add(cc.resellerAdmin, cc.customer.ID, awsInput("Contoso payer"))
	c, csrf := cc.signIn("admin@northwind.test")

	del := cc.getDoc(c, "/connectors", nil, http.StatusOK).Find(`[data-connector-id="` + gone.ID + `"] ` + testID("delete-connector")).Parent()
	if confirm := del.AttrOr("hx-confirm", ""); !strings.Contains(confirm, "Contoso payer") {
		t.Errorf("delete asks %q, want a confirmation naming the connector", confirm)
	}
	doc, _ := parse(t, cc.post(c, csrf, "/connectors/"+gone.ID+"/delete", url.Values{"from": {"list"}}, htmx))
	if doc.Find(testID("connector-row")).Length() != 1 || doc.Find(`[data-connector-id="`+keep.ID+`"]`).Length() != 1 {
		t.Error("the list fragment after delete does not hold just the other connector")
	}
	if got := doc.Find(testID("notice")).Text(); !strings.Contains(got, "Contoso payer") {
		t.Errorf("notice %q", got)
	}

	resp := cc.post(c, csrf, "/connectors/"+keep.ID+"/delete", url.Values{"from": {"detail"}}, htmx)
	readAll(t, resp)
	if resp.Header.Get("HX-Redirect") != "/connectors?deleted=1" {
		t.Errorf("delete from the connector's page: HX-Redirect %q", resp.Header.Get("HX-Redirect"))
	}
	if list, _ := cc.store.ListConnectors(context.Background(), []string{cc.reseller.ID, cc.customer.ID}); len(list) != 0 {
		t.Errorf("connectors left: %v", list)
	}
	if resp := cc.get(c, "/connectors/"+keep.ID, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted connector's page: status %d", resp.StatusCode)
	}
	empty := cc.getDoc(c, "/connectors?deleted=1", nil, http.StatusOK)
	if empty.Find(testID("connectors-empty")).Length() != 1 || empty.Find(testID("notice")).Length() != 1 {
		t.Error("the list after deleting everything lacks the empty state or the notice")
	}
}

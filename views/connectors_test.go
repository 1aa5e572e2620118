package views_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

func TestConnectorsListShowsScopeStatusAndLastSync(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	ctx := context.Background()
	aws := cc.add(cc.resellerAdmin, cc.customer.ID, awsInput("Contoso payer"))
	azure := cc.add(cc.resellerAdmin, cc.reseller.ID, azureInput("Northwind EA"))
	cc.add(cc.foreignAdmin, cc.foreign.ID, awsInput("Fabrikam payer"))
	synced := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	if err := cc.store.RecordSync(ctx, aws.OrgID, aws.ID, connectors.SyncResult{
		Status: connectors.StatusOK, At: synced, Rows: 4320, LastPeriod: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
	}); err != nil {
		t.Fatal(err)
	}
	longErr := "operation error S3: ListObjectsV2, https response error StatusCode: 403, RequestID: 8F2A, api error AccessDenied: User: arn:aws:sts::123456789012:assumed-role/TruecostRead/truecost is not authorized to perform: s3:ListBucket on resource: \"arn:aws:s3:::northwind\""
	if err := cc.store.RecordSync(ctx, azure.OrgID, azure.ID, connectors.SyncResult{
		Status: connectors.StatusFailed, At: synced, Error: longErr,
	}); err != nil {
		t.Fatal(err)
	}

	c, _ := cc.signIn("admin@northwind.test")
	doc := cc.getDoc(c, "/connectors", nil, http.StatusOK)
	rows := doc.Find(testID("connector-row"))
	if rows.Length() != 2 {
		t.Fatalf("reseller sees %d connectors, want its own and its customer's 2", rows.Length())
	}
	if doc.Find(testID("org-picker")).Length() != 1 {
		t.Error("a reseller's list has no organization picker")
	}
	row := doc.Find(`[data-connector-id="` + aws.ID + `"]`)
	checks := []struct{ testid, want string }{
		{"connector-name", "Contoso payer"},
		{"connector-location", "s3://contoso-billing/cur2/contoso"},
		{"connector-org", "Contoso Ltd"},
		{"connector-status", "OK"},
		{"connector-last-sync", "3 hours ago"},
		{"connector-rows", "4,320"},
		{"connector-period", "Sep 2026"},
	}
	for _, c := range checks {
		if got := strings.TrimSpace(row.Find(testID(c.testid)).Text()); got != c.want {
			t.Errorf("%s = %q, want %q", c.testid, got, c.want)
		}
	}
	if got := row.Find(testID("connector-last-sync")+" time").AttrOr("title", ""); got != synced.Format("2006-01-02 15:04 UTC") {
		t.Errorf("last sync title %q, want the exact time", got)
	}
	if got := row.Find(testID("provider-mark")).Text(); got != "AWS" {
		t.Errorf("provider mark %q, want AWS", got)
	}
	failed := doc.Find(`[data-connector-id="` + azure.ID + `"]`)
	if got := failed.Find(testID("connector-status")).Text(); got != "Failed" {
		t.Errorf("failed connector status %q", got)
	}
	if got := failed.Find(testID("connector-error")).Text(); !strings.Contains(got, longErr) {
		t.Errorf("last error %q, want the full text", got)
	}
	for _, action := range []string{"test-connector", "sync-connector", "edit-connector", "delete-connector"} {
		if n := doc.Find(testID(action)).Length(); n != 2 {
			t.Errorf("admin sees %d %s buttons, want one per connector", n, action)
		}
	}

	// The picker narrows the list, through htmx too.
	narrowed := cc.getDoc(c, "/connectors?org="+cc.customer.ID, htmx, http.StatusOK)
	if n := narrowed.Find(testID("connector-row")).Length(); n != 1 || narrowed.Find("header, "+testID("add-connector")).Length() != 0 {
		t.Errorf("narrowed fragment lists %d connectors, want 1 and only the list region", n)
	}

	// Fabrikam sees only its own.
	c2, _ := cc.signIn("admin@fabrikam.test")
	doc = cc.getDoc(c2, "/connectors", nil, http.StatusOK)
	if got := doc.Find(testID("connector-name")).Text(); got != "Fabrikam payer" {
		t.Errorf("Fabrikam sees %q, want only its own connector", got)
	}
	if doc.Find(testID("org-picker")).Length() != 0 {
		t.Error("a direct customer's list has an organization picker")
	}
}

func TestConnectorsListIsEmptyWithAnInvitation(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	c, _ := cc.signIn("admin@fabrikam.test")
	doc := cc.getDoc(c, "/connectors", nil, http.StatusOK)
	if doc.Find(testID("connectors-empty")).Length() != 1 {
		t.Error("no empty state without connectors")
	}
	if href := doc.Find(testID("add-connector")).AttrOr("href", ""); href != "/connectors/new" {
		t.Errorf("Add connector links to %q", href)
	}
	if got := doc.Find(`a.nav-link.is-active`).Text(); got != "Billing connectors" {
		t.Errorf("active navigation %q, want Billing connectors", got)
	}
}

func TestMembersSeeConnectorsReadOnlyAndCannotChangeThem(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	conn := cc.add(cc.resellerAdmin, cc.customer.ID, awsInput("Contoso payer"))
	c, csrf := cc.signIn("viewer@northwind.test")

	doc := cc.getDoc(c, "/connectors", nil, http.StatusOK)
	if doc.Find(testID("connector-row")).Length() != 1 {
		t.Fatal("a member does not see the organization's connectors")
	}
	for _, action := range []string{"add-connector", "test-connector", "sync-connector", "edit-connector", "delete-connector"} {
		if doc.Find(testID(action)).Length() != 0 {
			t.Errorf("a member sees %s", action)
		}
	}
	detail := cc.getDoc(c, "/connectors/"+conn.ID, nil, http.StatusOK)
	if detail.Find("form[method=post][action^='/connectors/']").Length() != 0 {
		t.Error("a member's connector page has action forms")
	}
	for _, path := range []string{"/connectors/new", "/connectors/" + conn.ID + "/edit"} {
		if resp := cc.get(c, path, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("member GET %s: status %d, want 403", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/connectors", "/connectors/" + conn.ID + "/edit", "/connectors/" + conn.ID + "/test",
		"/connectors/" + conn.ID + "/sync", "/connectors/" + conn.ID + "/delete"} {
		form := url.Values{}
		for k, v := range createCases()[0].form {
			form[k] = v
		}
		resp := cc.post(c, csrf, path, form, nil)
		readAll(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("member POST %s: status %d, want 403", path, resp.StatusCode)
		}
	}
	if list, _ := cc.store.ListConnectors(context.Background(), []string{cc.reseller.ID, cc.customer.ID}); len(list) != 1 || list[0].Status != connectors.StatusNew {
		t.Errorf("after a member's posts the connectors are %v, want the one untouched", list)
	}
}

func TestConnectorsOfOtherOrganizationsAreNotFound(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	conn := cc.add(cc.resellerAdmin, cc.customer.ID, awsInput("Contoso payer"))
	c, csrf := cc.signIn("admin@fabrikam.test")
	for _, path := range []string{"/connectors/" + conn.ID, "/connectors/" + conn.ID + "/edit", "/connectors?org=" + cc.customer.ID,
		"/connectors/new?org=" + cc.customer.ID} {
		resp := cc.get(c, path, nil)
		body := readAll(t, resp)
		if path == "/connectors/new?org="+cc.customer.ID {
			// The form itself opens; saving into that organization fails below.
			continue
		}
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "Contoso payer") {
			t.Errorf("GET %s: status %d, want 404 without the connector", path, resp.StatusCode)
		}
	}
	for _, action := range []string{"edit", "test", "sync", "delete"} {
		resp := cc.post(c, csrf, "/connectors/"+conn.ID+"/"+action, url.Values{"name": {"taken"}}, nil)
		readAll(t, resp)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s of another organization's connector: status %d, want 404", action, resp.StatusCode)
		}
	}
	form := url.Values{"org": {cc.customer.ID}}
	for k, v := range createCases()[0].form {
		form[k] = v
	}
	resp := cc.post(c, csrf, "/connectors", form, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("create in another organization: status %d, want 404", resp.StatusCode)
	}
	list, _ := cc.store.ListConnectors(context.Background(), []string{cc.customer.ID})
	if len(list) != 1 || list[0].Name != "Contoso payer" || list[0].Status != connectors.StatusNew {
		t.Errorf("Contoso's connectors changed: %v", list)
	}
}

func TestConnectorPostsWithoutCSRFTokenAreRefused(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	conn := cc.add(cc.resellerAdmin, cc.customer.ID, awsInput("Contoso payer"))
	c, _ := cc.signIn("admin@northwind.test")
	for _, path := range []string{"/connectors", "/connectors/" + conn.ID + "/edit", "/connectors/" + conn.ID + "/test",
		"/connectors/" + conn.ID + "/sync", "/connectors/" + conn.ID + "/delete"} {
		resp := cc.postForm(c, path, createCases()[1].form, nil)
		readAll(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without token: status %d, want 403", path, resp.StatusCode)
		}
		resp = cc.postForm(c, path, url.Values{tenancy.CSRFFormField: {"forged"}}, htmx)
		readAll(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong token: status %d, want 403", path, resp.StatusCode)
		}
	}
	list, _ := cc.store.ListConnectors(context.Background(), []string{cc.reseller.ID, cc.customer.ID})
	if len(list) != 1 || list[0].Status != connectors.StatusNew {
		t.Errorf("connectors after refused posts: %v", list)
	}
}

func TestConnectorPagesWithoutManagerSayNotConfigured(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("admin@acme.test")
	doc := f.getDoc(c, "/connectors", nil, http.StatusServiceUnavailable)
	if got := doc.Find(testID("error-message")).Text(); !strings.Contains(got, "not configured") {
		t.Errorf("message %q", got)
	}
}

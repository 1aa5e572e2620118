package views_test

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

func TestAccountsListShowsStatusInfrastructureAndLastCheck(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	ctx := context.Background()
	aws := ac.add(ac.resellerAdmin, ac.reseller.ID, awsAccount("Northwind payer"))
	azure := ac.add(ac.resellerAdmin, ac.reseller.ID, azureAccount("Northwind production"))
	ac.add(ac.resellerAdmin, ac.reseller.ID, ociAccount("Northwind tenancy"))
	ac.add(ac.resellerAdmin, ac.customer.ID, gcpAccount("Contoso analytics"))
	if _, err := ac.service.Provision(ctx, ac.resellerAdmin, ac.reseller.ID, aws.ID, accounts.Settings{Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}

	c, _ := ac.signIn("admin@northwind.test")
	doc := ac.getDoc(c, "/accounts", nil, http.StatusOK)
	if got := doc.Find(`a.nav-link.is-active`).Text(); got != "Cloud Accounts" {
		t.Errorf("active navigation %q, want Cloud Accounts", got)
	}
	if n := doc.Find(testID("account-row")).Length(); n != 3 {
		t.Fatalf("the reseller's own list has %d accounts, want its 3", n)
	}
	row := doc.Find(`[data-account-id="` + aws.ID + `"]`)
	checks := []struct{ testid, want string }{
		{"account-name", "Northwind payer"},
		{"account-provider-id", "663626350770"},
		{"account-status", "Checking"},
		{"account-last-checked", "just now"},
		{"provider-mark", "AWS"},
	}
	for _, ch := range checks {
		if got := strings.TrimSpace(row.Find(testID(ch.testid)).Text()); got != ch.want {
			t.Errorf("AWS row %s = %q, want %q", ch.testid, got, ch.want)
		}
	}
	if got := row.Find(testID("account-status-detail")).Text(); !strings.Contains(got, "first delivery pending") {
		t.Errorf("AWS status detail %q, want the pending first delivery", got)
	}
	if got := row.Find(testID("account-last-checked")+" time").AttrOr("title", ""); !strings.HasSuffix(got, " UTC") {
		t.Errorf("last checked title %q, want the exact time", got)
	}
	az := doc.Find(`[data-account-id="` + azure.ID + `"]`)
	if got := az.Find(testID("account-status")).Text(); got != "Unprovisioned" {
		t.Errorf("Azure status %q, want Unprovisioned", got)
	}
	if got := az.Find(testID("account-status-detail")).Text(); !strings.Contains(got, "provision billing from one Azure account") {
		t.Errorf("Azure status detail %q", got)
	}

	cards := map[string]*goquery.Selection{}
	doc.Find(testID("infra-card")).Each(func(_ int, s *goquery.Selection) { cards[s.AttrOr("data-provider", "")] = s })
	if len(cards) != 3 || cards["gcp"] != nil {
		t.Fatalf("infrastructure cards for %v, want aws, azure and oci (the providers with accounts)", slices.Sorted(maps.Keys(cards)))
	}
	if got := cards["aws"].Find(testID("infra-state")).Text(); got != "Provisioned" {
		t.Errorf("AWS card state %q", got)
	}
	if got := cards["aws"].Find(testID("infra-region")).Text(); got != "eu-west-1" {
		t.Errorf("AWS card region %q", got)
	}
	if got := squash(cards["aws"].Find(testID("infra-provisioned-by")).Text()); got != "Northwind payer" {
		t.Errorf("AWS card provisioned by %q", got)
	}
	if href := cards["aws"].Find(testID("deprovision-billing-link")).AttrOr("href", ""); href != "/accounts/"+aws.ID+"/deprovision" {
		t.Errorf("AWS card Deprovision Billing leads to %q", href)
	}
	if got := cards["azure"].Find(testID("infra-state")).Text(); got != "Not provisioned" {
		t.Errorf("Azure card state %q", got)
	}
	if href := cards["azure"].Find(testID("provision-billing-link")).AttrOr("href", ""); href != "/accounts/"+azure.ID+"#billing" {
		t.Errorf("Azure card Provision Billing leads to %q", href)
	}
	if cards["oci"].Find(testID("infra-state")).Length() != 0 || !strings.Contains(cards["oci"].Text(), "Nothing to provision") {
		t.Errorf("OCI card %q, want nothing to provision", squash(cards["oci"].Text()))
	}
	for _, id := range []string{"add-account", "check-now"} {
		if doc.Find(testID(id)).Length() != 1 {
			t.Errorf("an admin's list has no %s", id)
		}
	}
	for _, id := range []string{"edit-account", "delete-account"} {
		if n := doc.Find(testID(id)).Length(); n != 3 {
			t.Errorf("admin sees %d %s buttons, want one per account", n, id)
		}
	}

	// The picker switches to a customer, through htmx too.
	if doc.Find(testID("org-picker")).Length() != 1 {
		t.Fatal("a reseller's list has no organization picker")
	}
	narrowed := ac.getDoc(c, "/accounts?org="+ac.customer.ID, htmx, http.StatusOK)
	if got := squash(narrowed.Find(testID("account-name")).Text()); got != "Contoso analytics" || narrowed.Find("header").Length() != 0 {
		t.Errorf("customer fragment lists %q, want only Contoso's account and only the list region", got)
	}
	if href := ac.getDoc(c, "/accounts?org="+ac.customer.ID, nil, http.StatusOK).Find(testID("add-account")).AttrOr("href", ""); href != "/accounts/new?org="+ac.customer.ID {
		t.Errorf("Add account for the customer leads to %q", href)
	}
}

func TestAccountsListIsEmptyWithAnInvitation(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	c, _ := ac.signIn("admin@fabrikam.test")
	doc := ac.getDoc(c, "/accounts", nil, http.StatusOK)
	if doc.Find(testID("accounts-empty")).Length() != 1 || doc.Find(testID("infra-card")).Length() != 0 {
		t.Error("no empty state without accounts")
	}
	if doc.Find(testID("org-picker")).Length() != 0 {
		t.Error("a direct customer's list has an organization picker")
	}
	if href := doc.Find(testID("add-account")).AttrOr("href", ""); href != "/accounts/new" {
		t.Errorf("Add account links to %q", href)
	}
}

// accountCase is one account added through the form.
type accountCase struct {
	name      string
	form      url.Values
	want      connectors.Secret
	secrets   []string // never rendered back
	toAccount bool     // lands on the account's page rather than the list
}

func accountCases() []accountCase {
	return []accountCase{
		{
			name: "aws role",
			form: url.Values{"provider": {"aws"}, "name": {"Contoso payer"}, "provider_account_id": {"6636-2635-0770"}, "access": {"role"},
				"role_arn": {testRoleARN}, "access_key_id": {"AKIAIGNOREDBECAUSEROLE"}, "secret_access_key": {"ignored-because-role"}},
			want:      connectors.Secret{"role_arn": testRoleARN},
			secrets:   []string{"AKIAIGNOREDBECAUSEROLE", "ignored-because-role"},
			toAccount: true,
		},
		{
			name: "aws keys",
			form: url.Values{"provider": {"aws"}, "name": {"Contoso sandbox"}, "provider_account_id": {"438839167390"}, "access": {"keys"},
				"role_arn": {testRoleARN}, "access_key_id": {"AKIAEXAMPLEKEYID01"}, "secret_access_key": {testAWSSecret}},
			want:      connectors.Secret{"access_key_id": "AKIAEXAMPLEKEYID01", "secret_access_key": testAWSSecret},
			secrets:   []string{"AKIAEXAMPLEKEYID01", testAWSSecret},
			toAccount: true,
		},
		{
			name: "azure",
			form: url.Values{"provider": {"azure"}, "name": {"Contoso production"}, "provider_account_id": {"5F1C2D3E-4A5B-4C6D-8E7F-9A0B1C2D3E4F"},
				"tenant_id": {"11111111-2222-3333-4444-555555555555"}, "client_id": {"66666666-7777-8888-9999-000000000000"}, "client_secret": {testAzureSecret}},
			want: connectors.Secret{"tenant_id": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000",
				"client_secret": testAzureSecret},
			secrets: []string{testAzureSecret},
		},
		{
			name: "gcp",
			form: url.Values{"provider": {"gcp"}, "name": {"Contoso analytics"}, "provider_account_id": {"contoso-analytics"},
				"billing_account_id": {"012345-6789ab-cdef01"}, "service_account_json": {testGCPKey}},
			want:    connectors.Secret{"service_account_json": testGCPKey},
			secrets: []string{"GCP-PRIVATE-KEY-never-shown"},
		},
		{
			name: "oci with a key",
			form: url.Values{"provider": {"oci"}, "name": {"Contoso tenancy"}, "provider_account_id": {"ocid1.tenancy.oc1..aaaacontoso"},
				"user_ocid": {"ocid1.user.oc1..aaaabilling"}, "fingerprint": {"12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef"},
				"region": {"eu-frankfurt-1"}, "private_key": {testOCIKey}},
			want: connectors.Secret{"user_ocid": "ocid1.user.oc1..aaaabilling", "fingerprint": "12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef",
				"region": "eu-frankfurt-1", "private_key": testOCIKey},
			secrets: []string{"OCI-PRIVATE-KEY-never-shown"},
		},
		{
			name: "oci without a key",
			form: url.Values{"provider": {"oci"}, "name": {"Contoso second tenancy"}, "provider_account_id": {"ocid1.tenancy.oc1..aaaasecond"}},
		},
	}
}

func TestAddAccountForEachProviderSealsCredentialsAndNeverShowsThem(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	c, csrf := ac.signIn("admin@northwind.test")

	// The add form follows the provider picker.
	for _, p := range []string{"aws", "azure", "gcp", "oci"} {
		doc := ac.getDoc(c, "/accounts/new?provider="+p, nil, http.StatusOK)
		if doc.Find(testID("fields-"+p)).Length() != 1 || doc.Find(testID("provider-"+p)).AttrOr("checked", "no") == "no" {
			t.Errorf("the add form for %s does not show its fields checked", p)
		}
		fields := ac.getDoc(c, "/accounts/fields?provider="+p, htmx, http.StatusOK)
		if fields.Find(testID("fields-"+p)).Length() != 1 || fields.Find("header").Length() != 0 {
			t.Errorf("the %s fields fragment is not just the fields", p)
		}
	}
	preview := ac.getDoc(c, "/accounts/new", nil, http.StatusOK).Find(testID("trust-policy-preview")).Text()
	if !strings.Contains(preview, testAWSPrincipal) {
		t.Errorf("the AWS form's trust policy preview %q does not name %s", preview, testAWSPrincipal)
	}

	for _, tc := range accountCases() {
		form := url.Values{"org": {ac.customer.ID}}
		maps.Copy(form, tc.form)
		resp := ac.post(c, csrf, "/accounts", form, nil)
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: status %d, want 303; %.400s", tc.name, resp.StatusCode, body)
		}
		list, err := ac.service.List(context.Background(), ac.resellerAdmin, ac.customer.ID)
		if err != nil {
			t.Fatal(err)
		}
		var a accounts.Account
		for _, x := range list {
			if x.Name == tc.form.Get("name") {
				a = x
			}
		}
		if a.ID == "" {
			t.Fatalf("%s: not stored in Contoso", tc.name)
		}
		wantTo := "/accounts?org=" + ac.customer.ID + "&created=" + a.ID
		if tc.toAccount {
			wantTo = "/accounts/" + a.ID + "?created=1"
		}
		if got := resp.Header.Get("Location"); got != wantTo {
			t.Errorf("%s: redirected to %q, want %q", tc.name, got, wantTo)
		}
		if got := ac.credentials(a.OrgID, a.ID); !maps.Equal(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
			t.Errorf("%s: stored credentials %v, want %v", tc.name, got, tc.want)
		}
		if a.HasCredentials != (len(tc.want) > 0) {
			t.Errorf("%s: HasCredentials %v", tc.name, a.HasCredentials)
		}

		pages := map[string]string{}
		for _, path := range []string{"/accounts/" + a.ID, "/accounts/" + a.ID + "/edit", "/accounts?org=" + ac.customer.ID, wantTo} {
			resp := ac.get(c, path, nil)
			pages[path] = readAll(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: GET %s status %d", tc.name, path, resp.StatusCode)
			}
			for _, s := range tc.secrets {
				if strings.Contains(pages[path], s) {
					t.Errorf("%s: GET %s shows the credential %q", tc.name, path, s)
				}
			}
		}
		edit, _ := goquery.NewDocumentFromReader(strings.NewReader(pages["/accounts/"+a.ID+"/edit"]))
		stored := strings.Contains(edit.Text(), "Stored — leave empty to keep")
		if stored != a.HasCredentials {
			t.Errorf("%s: edit form says stored %v, want %v", tc.name, stored, a.HasCredentials)
		}
		edit.Find(`input[type=password], textarea`).Each(func(_ int, s *goquery.Selection) {
			if v := s.AttrOr("value", "") + s.Text(); v != "" {
				t.Errorf("%s: credential field %s is filled with %q", tc.name, s.AttrOr("name", ""), v)
			}
		})
		if tc.toAccount {
			page, _ := goquery.NewDocumentFromReader(strings.NewReader(pages[wantTo]))
			ext := page.Find(testID("external-id")).Text()
			policy := page.Find(testID("trust-policy-json")).Text()
			if ext == "" || ext != a.ExternalID || !strings.Contains(policy, ext) || !strings.Contains(policy, testAWSPrincipal) {
				t.Errorf("%s: external ID %q and trust policy %q, want the account's %q trusted for %s", tc.name, ext, policy, a.ExternalID, testAWSPrincipal)
			}
			if got := page.Find(testID("notice")).Text(); !strings.Contains(got, "trust policy") {
				t.Errorf("%s: notice %q", tc.name, got)
			}
		}
	}
	list := ac.getDoc(c, "/accounts?org="+ac.customer.ID, nil, http.StatusOK)
	if got := list.Find(`[data-account-id] ` + testID("account-provider-id")).Text(); !strings.Contains(got, "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f") {
		t.Errorf("provider IDs %q, want the Azure subscription normalized", got)
	}
}

func TestAccountFormShowsErrorsNextToTheirFields(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	c, csrf := ac.signIn("admin@northwind.test")
	cases := []struct {
		name, field, want string
		form              url.Values
		kept              map[string]string // identifiers refilled
	}{
		{"aws id", "provider_account_id", "12 digits",
			url.Values{"provider": {"aws"}, "name": {"Payer"}, "provider_account_id": {"12345"}, "access": {"role"}, "role_arn": {testRoleARN}},
			map[string]string{"role_arn": testRoleARN}},
		{"aws role", "role_arn", "IAM role ARN",
			url.Values{"provider": {"aws"}, "name": {"Payer"}, "provider_account_id": {"663626350770"}, "access": {"role"}, "role_arn": {"arn:aws:iam::663626350770:user/alice"}}, nil},
		{"aws keys", "access_key_id", "both",
			url.Values{"provider": {"aws"}, "name": {"Payer"}, "provider_account_id": {"663626350770"}, "access": {"keys"}, "secret_access_key": {testAWSSecret}}, nil},
		{"azure subscription", "provider_account_id", "GUID",
			url.Values{"provider": {"azure"}, "name": {"Prod"}, "provider_account_id": {"not-a-guid"}, "tenant_id": {"11111111-2222-3333-4444-555555555555"},
				"client_id": {"66666666-7777-8888-9999-000000000000"}, "client_secret": {testAzureSecret}},
			map[string]string{"tenant_id": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000"}},
		{"azure principal", "tenant_id", "together",
			url.Values{"provider": {"azure"}, "name": {"Prod"}, "provider_account_id": {"5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"}, "client_secret": {testAzureSecret}}, nil},
		{"gcp billing account", "billing_account_id", "012345-6789AB-CDEF01",
			url.Values{"provider": {"gcp"}, "name": {"Analytics"}, "provider_account_id": {"contoso-analytics"}, "billing_account_id": {"123"}}, nil},
		{"gcp key", "service_account_json", "JSON",
			url.Values{"provider": {"gcp"}, "name": {"Analytics"}, "provider_account_id": {"contoso-analytics"}, "service_account_json": {"not json"}}, nil},
		{"oci tenancy", "provider_account_id", "ocid1.tenancy",
			url.Values{"provider": {"oci"}, "name": {"Tenancy"}, "provider_account_id": {"ocid1.user.oc1..aaaa"}}, nil},
		{"name", "name", "1 to 100",
			url.Values{"provider": {"oci"}, "name": {" "}, "provider_account_id": {"ocid1.tenancy.oc1..aaaa"}}, nil},
	}
	for _, tc := range cases {
		resp := ac.post(c, csrf, "/accounts", tc.form, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", tc.name, resp.StatusCode)
		}
		doc, body := parse(t, resp)
		if got := doc.Find(testID("error-" + tc.field)).Text(); !strings.Contains(got, tc.want) {
			t.Errorf("%s: error next to %s is %q, want it to say %q (form error %q)", tc.name, tc.field, got, tc.want, doc.Find(testID("form-error")).Text())
		}
		if doc.Find(testID("form-error")).Length() != 1 {
			t.Errorf("%s: no message above the form", tc.name)
		}
		if got := doc.Find(`input[name=provider_account_id]`).AttrOr("value", ""); got != tc.form.Get("provider_account_id") {
			t.Errorf("%s: account ID refilled as %q", tc.name, got)
		}
		for k, v := range tc.kept {
			if got := doc.Find(`input[name=`+k+`]`).AttrOr("value", ""); got != v {
				t.Errorf("%s: %s refilled as %q, want %q", tc.name, k, got, v)
			}
		}
		for _, s := range []string{testAzureSecret, testAWSSecret} {
			if strings.Contains(body, s) {
				t.Errorf("%s: the rejected form shows a secret back", tc.name)
			}
		}
	}
	if list, _ := ac.service.List(context.Background(), ac.resellerAdmin, ac.reseller.ID); len(list) != 0 {
		t.Errorf("rejected forms stored %d accounts", len(list))
	}
}

func TestEditingAnAccountKeepsCredentialsLeftEmpty(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	a := ac.add(ac.resellerAdmin, ac.reseller.ID, azureAccount("Northwind production"))
	c, csrf := ac.signIn("admin@northwind.test")

	doc := ac.getDoc(c, "/accounts/"+a.ID+"/edit", nil, http.StatusOK)
	if got := doc.Find(`input[name=client_secret]`).AttrOr("placeholder", ""); got != "Stored — leave empty to keep" {
		t.Errorf("client secret placeholder %q", got)
	}
	if got := doc.Find(`input[name=provider_account_id]`).AttrOr("value", ""); got != a.ProviderAccountID {
		t.Errorf("subscription ID %q", got)
	}
	if doc.Find(testID("provider-aws")).Length() != 0 {
		t.Error("the edit form offers to change the provider")
	}

	resp := ac.post(c, csrf, "/accounts/"+a.ID+"/edit", url.Values{"provider": {"azure"}, "name": {"Northwind prod (EA)"},
		"provider_account_id": {a.ProviderAccountID}, "tenant_id": {""}, "client_id": {""}, "client_secret": {""}}, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/accounts/"+a.ID+"?saved=1" {
		t.Fatalf("save: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := ac.credentials(a.OrgID, a.ID); !maps.Equal(got, azureAccount("").Credentials) {
		t.Errorf("credentials after saving without them %v, want the stored ones kept", got)
	}
	got, _ := ac.service.Get(context.Background(), ac.resellerAdmin, a.OrgID, a.ID)
	if got.Name != "Northwind prod (EA)" {
		t.Errorf("name %q after saving", got.Name)
	}
	page := ac.getDoc(c, "/accounts/"+a.ID+"?saved=1", nil, http.StatusOK)
	if page.Find(testID("notice")).Text() != "Changes saved." {
		t.Error("no notice after saving")
	}

	// A new secret alone replaces only the secret.
	resp = ac.post(c, csrf, "/accounts/"+a.ID+"/edit", url.Values{"name": {"Northwind prod (EA)"}, "provider_account_id": {a.ProviderAccountID},
		"client_secret": {"rotated-secret"}}, nil)
	readAll(t, resp)
	want := maps.Clone(azureAccount("").Credentials)
	want["client_secret"] = "rotated-secret"
	if creds := ac.credentials(a.OrgID, a.ID); !maps.Equal(creds, want) {
		t.Errorf("credentials after rotating the secret %v, want %v", creds, want)
	}
}

func TestMembersSeeAccountsReadOnlyAndCannotChangeThem(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	ctx := context.Background()
	aws := ac.add(ac.resellerAdmin, ac.reseller.ID, awsAccount("Northwind payer"))
	azure := ac.add(ac.resellerAdmin, ac.reseller.ID, azureAccount("Northwind production"))
	if _, err := ac.service.Provision(ctx, ac.resellerAdmin, ac.reseller.ID, aws.ID, accounts.Settings{}); err != nil {
		t.Fatal(err)
	}
	c, csrf := ac.signIn("viewer@northwind.test")

	doc := ac.getDoc(c, "/accounts", nil, http.StatusOK)
	if doc.Find(testID("account-row")).Length() != 2 || doc.Find(testID("infra-card")).Length() != 2 {
		t.Fatal("a member does not see the organization's accounts and infrastructure")
	}
	for _, id := range []string{"add-account", "check-now", "edit-account", "delete-account", "provision-billing-link", "deprovision-billing-link"} {
		if doc.Find(testID(id)).Length() != 0 {
			t.Errorf("a member's list has %s", id)
		}
	}
	page := ac.getDoc(c, "/accounts/"+aws.ID, nil, http.StatusOK)
	if n := page.Find(testID("ledger-row")).Length(); n != 4 {
		t.Errorf("a member sees %d ledger rows, want 4", n)
	}
	if page.Find("form[method=post][action^='/accounts/']").Length() != 0 || page.Find(testID("deprovision-billing")).Length() != 0 {
		t.Error("a member's account page has action forms")
	}
	azPage := ac.getDoc(c, "/accounts/"+azure.ID, nil, http.StatusOK)
	if azPage.Find(testID("provision-form")).Length() != 0 || azPage.Find(testID("not-provisioned")).Length() != 1 {
		t.Error("a member is offered the Provision Billing form")
	}
	for _, path := range []string{"/accounts/new", "/accounts/" + aws.ID + "/edit", "/accounts/" + aws.ID + "/deprovision"} {
		resp := ac.get(c, path, nil)
		readAll(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("member GET %s: status %d, want 403", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/accounts", "/accounts/check", "/accounts/" + azure.ID + "/edit", "/accounts/" + azure.ID + "/delete",
		"/accounts/" + azure.ID + "/check", "/accounts/" + azure.ID + "/provision", "/accounts/" + aws.ID + "/deprovision"} {
		form := url.Values{"confirm": {"1"}, "region": {"eastus"}}
		maps.Copy(form, accountCases()[2].form)
		resp := ac.post(c, csrf, path, form, htmx)
		readAll(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("member POST %s: status %d, want 403", path, resp.StatusCode)
		}
	}
	if list, _ := ac.service.List(ctx, ac.resellerAdmin, ac.reseller.ID); len(list) != 2 {
		t.Errorf("after a member's posts there are %d accounts, want 2", len(list))
	}
	if inf := ac.infra(ac.reseller.ID, connectors.AWS); inf.State != accounts.StateProvisioned {
		t.Errorf("AWS billing %s after a member's posts, want still provisioned", inf.State)
	}
	if _, err := ac.store.Infrastructure(ctx, ac.reseller.ID, connectors.Azure); !domain.IsNotFound(err) {
		t.Errorf("a member's post provisioned Azure billing (%v)", err)
	}
}

func TestAccountsOfOtherOrganizationsAreNotFound(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	a := ac.add(ac.resellerAdmin, ac.customer.ID, awsAccount("Contoso payer"))
	if _, err := ac.service.Provision(context.Background(), ac.resellerAdmin, ac.customer.ID, a.ID, accounts.Settings{}); err != nil {
		t.Fatal(err)
	}
	c, csrf := ac.signIn("admin@fabrikam.test")
	for _, path := range []string{"/accounts/" + a.ID, "/accounts/" + a.ID + "/edit", "/accounts/" + a.ID + "/deprovision", "/accounts?org=" + ac.customer.ID} {
		resp := ac.get(c, path, nil)
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "Contoso payer") {
			t.Errorf("GET %s: status %d, want 404 without the account", path, resp.StatusCode)
		}
	}
	for _, action := range []string{"edit", "delete", "check", "provision", "deprovision"} {
		resp := ac.post(c, csrf, "/accounts/"+a.ID+"/"+action, url.Values{"name": {"taken"}, "confirm": {"1"}}, nil)
		readAll(t, resp)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s of another organization's account: status %d, want 404", action, resp.StatusCode)
		}
	}
	for _, path := range []string{"/accounts", "/accounts/check"} {
		form := url.Values{"org": {ac.customer.ID}}
		maps.Copy(form, accountCases()[2].form)
		resp := ac.post(c, csrf, path, form, nil)
		readAll(t, resp)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s into another organization: status %d, want 404", path, resp.StatusCode)
		}
	}
	list, _ := ac.service.List(context.Background(), ac.resellerAdmin, ac.customer.ID)
	if len(list) != 1 || list[0].Name != "Contoso payer" {
		t.Errorf("Contoso's accounts changed: %v", list)
	}
	if inf := ac.infra(ac.customer.ID, connectors.AWS); inf.State != accounts.StateProvisioned {
		t.Errorf("Contoso's AWS billing %s, want still provisioned", inf.State)
	}
}

func TestAccountPostsWithoutCSRFTokenAreRefused(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	a := ac.add(ac.resellerAdmin, ac.reseller.ID, awsAccount("Northwind payer"))
	c, _ := ac.signIn("admin@northwind.test")
	for _, path := range []string{"/accounts", "/accounts/check", "/accounts/" + a.ID + "/edit", "/accounts/" + a.ID + "/delete",
		"/accounts/" + a.ID + "/check", "/accounts/" + a.ID + "/provision", "/accounts/" + a.ID + "/deprovision"} {
		resp := ac.postForm(c, path, accountCases()[1].form, nil)
		readAll(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without token: status %d, want 403", path, resp.StatusCode)
		}
		resp = ac.postForm(c, path, url.Values{tenancy.CSRFFormField: {"forged"}, "region": {"us-east-1"}}, htmx)
		readAll(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong token: status %d, want 403", path, resp.StatusCode)
		}
	}
	if list, _ := ac.service.List(context.Background(), ac.resellerAdmin, ac.reseller.ID); len(list) != 1 || list[0].Name != "Northwind payer" {
		t.Errorf("accounts after refused posts: %v", list)
	}
	if ran, _, _ := ac.aws.record(); len(ran) != 0 {
		t.Errorf("refused posts ran provisioning steps %v", ran)
	}
}

func TestProvisionBillingShowsTheLedgerAndTheStatusChecking(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	ctx := context.Background()
	a := ac.add(ac.resellerAdmin, ac.customer.ID, awsAccount("Contoso payer"))
	c, csrf := ac.signIn("admin@northwind.test")

	page := ac.getDoc(c, "/accounts/"+a.ID, nil, http.StatusOK)
	form := page.Find(testID("provision-form"))
	if form.Length() != 1 {
		t.Fatal("no Provision Billing form on an unprovisioned AWS account")
	}
	if got := form.Find(`select[name=region] option[selected]`).AttrOr("value", ""); got != "us-east-1" {
		t.Errorf("default region %q, want us-east-1", got)
	}
	if _, checked := form.Find(testID("export-cur2")).Attr("checked"); !checked {
		t.Error("CUR 2.0 is not the default export")
	}
	if got := form.Find(testID("provision-billing") + " .btn-busy").Text(); !strings.Contains(got, "this can take a minute") {
		t.Errorf("the button's busy text %q", got)
	}

	resp := ac.post(c, csrf, "/accounts/"+a.ID+"/provision", url.Values{"from": {"detail"}, "region": {"eu-central-1"}, "export_type": {"cur2"}}, htmx)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("provision: status %d", resp.StatusCode)
	}
	live, _ := parse(t, resp)
	if live.Find(testID("account-live")).Length() != 1 || live.Find("header").Length() != 0 {
		t.Fatal("provisioning through htmx did not answer with the account's live region")
	}
	if got := live.Find(testID("billing-notice")).Text(); !strings.Contains(got, "AWS billing provisioned") {
		t.Errorf("notice %q", got)
	}
	if got := live.Find(`#billing ` + testID("infra-state")).Text(); got != "Provisioned" {
		t.Errorf("infrastructure state %q, want Provisioned", got)
	}
	var steps, states []string
	live.Find(testID("ledger-row")).Each(func(_ int, s *goquery.Selection) {
		steps = append(steps, s.Find(testID("ledger-step")).Text())
		states = append(states, s.Find(testID("ledger-state")).Text())
	})
	if strings.Join(steps, ",") != "bucket,bucket-policy,export,tags" || strings.Join(states, ",") != "Created,Created,Created,Kept" {
		t.Errorf("ledger steps %v states %v", steps, states)
	}
	inf := ac.infra(ac.customer.ID, connectors.AWS)
	if got := live.Find(`[data-step="bucket"] ` + testID("ledger-id")).Text(); got != inf.Ledger[0].ID {
		t.Errorf("bucket resource %q, want %q", got, inf.Ledger[0].ID)
	}
	if got := live.Find(`[data-name="SessionID"] ` + testID("item-state")).Text(); got != "NotPermitted" {
		t.Errorf("SessionID tag state %q", got)
	}
	if got := live.Find(testID("item-group") + `:has([data-name="SessionID"]) ` + testID("item-note")).Text(); !strings.Contains(got, "Billing console") {
		t.Errorf("SessionID tag note %q, want the console steps", got)
	}
	if n := live.Find(testID("item-group")).Length(); n != 2 {
		t.Errorf("%d tag groups, want the active ones and the one not permitted", n)
	}
	if got := live.Find(testID("account-status")).First().Text(); got != "Checking" {
		t.Errorf("status after provisioning %q, want Checking", got)
	}
	if got := live.Find(testID("account-status-detail")).Text(); !strings.Contains(got, "export created") || !strings.Contains(got, "first delivery pending") {
		t.Errorf("status detail %q", got)
	}
	if got := live.Find(testID("history-row")).First().Find(testID("history-to")).Text(); got != "Checking" {
		t.Errorf("newest status change to %q, want Checking", got)
	}
	if live.Find(testID("provision-form")).Length() != 0 || live.Find(testID("deprovision-billing")).Length() != 1 {
		t.Error("after provisioning the page still offers the form, or no Deprovision Billing")
	}
	if _, _, settings := ac.aws.record(); len(settings) != 1 || settings[0].Region != "eu-central-1" || settings[0].ExportType != "cur2" {
		t.Errorf("provisioned with %+v, want eu-central-1 and CUR 2.0", settings)
	}
	conns, _ := ac.store.ListConnectors(ctx, []string{ac.customer.ID})
	if len(conns) != 1 || conns[0].ID != inf.ConnectorID || !conns[0].Enabled {
		t.Errorf("connectors after provisioning %v, want the enabled one reading the export", conns)
	}

	// Check now syncs that connector; the account's costs are in its data.
	resp = ac.post(c, csrf, "/accounts/"+a.ID+"/check", url.Values{"from": {"detail"}}, htmx)
	live, _ = parse(t, resp)
	if got := live.Find(testID("account-status")).First().Text(); got != "Provisioned" {
		t.Errorf("status after Check now %q, want Provisioned", got)
	}
	if got := live.Find(testID("account-status-detail")).Text(); !strings.Contains(got, "billing data found") {
		t.Errorf("status detail after Check now %q", got)
	}
	if got := live.Find(testID("notice")).Text(); got != "Checked 1 account." {
		t.Errorf("Check now notice %q", got)
	}

	// The list shows it too, and its Check now answers with the list region.
	list := ac.getDoc(c, "/accounts?org="+ac.customer.ID, nil, http.StatusOK)
	if got := list.Find(`[data-provider="aws"] ` + testID("infra-state")).Text(); got != "Provisioned" {
		t.Errorf("list card state %q", got)
	}
	region, _ := parse(t, ac.post(c, csrf, "/accounts/check", url.Values{"org": {ac.customer.ID}, "from": {"list"}}, htmx))
	if region.Find(testID("accounts-table")).Length() != 1 || region.Find("header").Length() != 0 ||
		region.Find(testID("account-status")).Text() != "Provisioned" {
		t.Error("Check now from the list did not answer with the list region")
	}
}

func TestFailedProvisioningShowsTheErrorAndRetryContinuesWhereItStopped(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	a := ac.add(ac.resellerAdmin, ac.reseller.ID, awsAccount("Northwind payer"))
	c, csrf := ac.signIn("admin@northwind.test")
	ac.aws.failNext("export", domain.Errorf(domain.Forbidden, "access denied to Data Exports: not authorized to perform bcm-data-exports:CreateExport"))

	// A plain form post gets the whole page.
	resp := ac.post(c, csrf, "/accounts/"+a.ID+"/provision", url.Values{"region": {"us-west-2"}, "export_type": {"cur"}}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("failed provisioning: status %d, want 200 with the outcome", resp.StatusCode)
	}
	doc, _ := parse(t, resp)
	if doc.Find(testID("account-title")).Length() != 1 {
		t.Fatal("a plain form post did not get the account's page")
	}
	if got := doc.Find(testID("billing-error")).Text(); !strings.Contains(got, "access denied to Data Exports") || !strings.Contains(got, "try again") {
		t.Errorf("billing error %q", got)
	}
	if got := doc.Find(`#billing ` + testID("infra-state")).Text(); got != "Provisioning failed" {
		t.Errorf("state %q, want Provisioning failed", got)
	}
	if got := doc.Find(testID("infra-error")).Text(); !strings.Contains(got, "access denied to Data Exports") {
		t.Errorf("recorded error %q", got)
	}
	if doc.Find(testID("retry-provisioning")).Length() != 1 {
		t.Fatal("no Retry provisioning button")
	}
	if n := doc.Find(testID("ledger-row")).Length(); n != 2 {
		t.Errorf("%d ledger rows after failing at the third step, want 2", n)
	}
	if got := doc.Find(testID("account-status")).First().Text(); got != "Unprovisioned" {
		t.Errorf("status %q", got)
	}
	if got := doc.Find(testID("account-status-detail")).Text(); !strings.Contains(got, "provisioning stopped at") {
		t.Errorf("status detail %q", got)
	}
	list := ac.getDoc(c, "/accounts", nil, http.StatusOK)
	card := list.Find(`[data-testid="infra-card"][data-provider="aws"]`)
	if card.Find(testID("infra-state")).Text() != "Provisioning failed" || !strings.Contains(card.Find(testID("infra-error")).Text(), "access denied") ||
		card.Find(testID("retry-billing-link")).AttrOr("href", "") != "/accounts/"+a.ID+"#billing" {
		t.Errorf("list card %q, want the failure and a retry link", squash(card.Text()))
	}

	// Retry: the button posts nothing but the token; provisioning continues.
	resp = ac.post(c, csrf, "/accounts/"+a.ID+"/provision", url.Values{"from": {"detail"}}, htmx)
	live, _ := parse(t, resp)
	if got := live.Find(`#billing ` + testID("infra-state")).Text(); got != "Provisioned" {
		t.Errorf("state after retrying %q, want Provisioned", got)
	}
	if n := live.Find(testID("ledger-row")).Length(); n != 4 || live.Find(testID("infra-error")).Length() != 0 {
		t.Errorf("%d ledger rows after retrying, want 4 and no error", n)
	}
	ran, _, settings := ac.aws.record()
	if strings.Join(ran, ",") != "bucket,bucket-policy,export,export,tags" {
		t.Errorf("steps run %v, want the failed one again and the finished ones once", ran)
	}
	if inf := ac.infra(ac.reseller.ID, connectors.AWS); inf.Settings.ExportType != "cur" || inf.Settings.Region != "us-west-2" || len(settings) != 1 {
		t.Errorf("settings %+v after retrying, want the first attempt's", inf.Settings)
	}
}

func TestRefusedProvisionSettingsStayInTheForm(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	a := ac.add(ac.resellerAdmin, ac.reseller.ID, awsAccount("Northwind payer"))
	c, csrf := ac.signIn("admin@northwind.test")
	resp := ac.post(c, csrf, "/accounts/"+a.ID+"/provision", url.Values{"from": {"detail"}, "region": {"nowhere"}, "export_type": {"cur"}}, htmx)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("refused settings: status %d, want 422", resp.StatusCode)
	}
	doc, _ := parse(t, resp)
	if got := doc.Find(testID("error-region")).Text(); !strings.Contains(got, "not a region") {
		t.Errorf("region error %q", got)
	}
	if got := doc.Find(`select[name=region] option[selected]`).AttrOr("value", ""); got != "nowhere" {
		t.Errorf("region refilled as %q", got)
	}
	if _, checked := doc.Find(testID("export-cur")).Attr("checked"); !checked {
		t.Error("the chosen export type was not kept")
	}
	if _, err := ac.store.Infrastructure(context.Background(), ac.reseller.ID, connectors.AWS); !domain.IsNotFound(err) {
		t.Errorf("refused settings left infrastructure (%v)", err)
	}
}

func TestDeprovisionWarnsFirstThenRemovesWhatProvisioningCreated(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	ctx := context.Background()
	payer := ac.add(ac.resellerAdmin, ac.reseller.ID, awsAccount("Northwind payer"))
	sandboxIn := awsAccount("Northwind sandbox")
	sandboxIn.ProviderAccountID = "438839167390"
	sandbox := ac.add(ac.resellerAdmin, ac.reseller.ID, sandboxIn)
	if _, err := ac.service.Provision(ctx, ac.resellerAdmin, ac.reseller.ID, payer.ID, accounts.Settings{}); err != nil {
		t.Fatal(err)
	}
	c, csrf := ac.signIn("admin@northwind.test")

	// From the other AWS account's page: the warning names both accounts.
	link := ac.getDoc(c, "/accounts/"+sandbox.ID, nil, http.StatusOK).Find(testID("deprovision-billing")).AttrOr("href", "")
	if link != "/accounts/"+sandbox.ID+"/deprovision" {
		t.Fatalf("Deprovision Billing leads to %q", link)
	}
	confirm := ac.getDoc(c, link, nil, http.StatusOK)
	want, err := ac.service.DeprovisionWarning(ctx, ac.resellerAdmin, ac.reseller.ID, connectors.AWS)
	if err != nil {
		t.Fatal(err)
	}
	if got := squash(confirm.Find(testID("deprovision-warning")).Text()); !strings.Contains(got, want) ||
		!strings.Contains(got, "Northwind payer") || !strings.Contains(got, "Northwind sandbox") {
		t.Errorf("warning %q, want %q", got, want)
	}
	var kinds []string
	confirm.Find(testID("remove-row") + " td:first-child").Each(func(_ int, s *goquery.Selection) { kinds = append(kinds, s.Text()) })
	if strings.Join(kinds, ",") != "CUR 2.0 export,S3 bucket policy,S3 bucket" {
		t.Errorf("the confirmation lists removing %v, want the created resources newest first", kinds)
	}
	if got := confirm.Find(`form input[name=confirm]`).AttrOr("value", ""); got != "1" {
		t.Errorf("the Confirm form posts confirm=%q", got)
	}

	// Without confirm=1 nothing happens: the warning again.
	resp := ac.post(c, csrf, link, url.Values{"from": {"detail"}}, nil)
	doc, _ := parse(t, resp)
	if resp.StatusCode != http.StatusOK || doc.Find(testID("deprovision-warning")).Length() != 1 {
		t.Errorf("unconfirmed deprovision: status %d, want the warning again", resp.StatusCode)
	}
	if _, removed, _ := ac.aws.record(); len(removed) != 0 {
		t.Fatalf("an unconfirmed deprovision removed %v", removed)
	}

	// A removal that fails stops it; through htmx the browser is sent to
	// the account's page, which says where it stopped.
	ac.aws.failNext("remove bucket", domain.Errorf(domain.Conflict, "bucket truecost-bucket is not empty"))
	resp = ac.post(c, csrf, link, url.Values{"confirm": {"1"}}, htmx)
	readAll(t, resp)
	if got := resp.Header.Get("HX-Redirect"); got != "/accounts/"+sandbox.ID+"#billing" {
		t.Errorf("failed deprovision sends htmx to %q", got)
	}
	page := ac.getDoc(c, "/accounts/"+sandbox.ID, nil, http.StatusOK)
	if got := page.Find(`#billing ` + testID("infra-state")).Text(); got != "Deprovisioning failed" {
		t.Errorf("state %q, want Deprovisioning failed", got)
	}
	if got := page.Find(testID("infra-error")).Text(); !strings.Contains(got, "is not empty") {
		t.Errorf("recorded error %q", got)
	}
	if got := strings.TrimSpace(page.Find(testID("deprovision-billing")).Text()); got != "Retry deprovisioning" {
		t.Errorf("button %q, want Retry deprovisioning", got)
	}

	// Confirmed again, it finishes.
	resp = ac.post(c, csrf, link, url.Values{"confirm": {"1"}}, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/accounts/"+sandbox.ID+"?deprovisioned=1#billing" {
		t.Fatalf("confirmed deprovision: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, removed, _ := ac.aws.record(); strings.Join(removed, ",") != "export,bucket-policy,bucket" {
		t.Errorf("removed %v, want only what was created, newest first", removed)
	}
	inf := ac.infra(ac.reseller.ID, connectors.AWS)
	if inf.State != accounts.StateDeprovisioned {
		t.Errorf("state %s, want deprovisioned", inf.State)
	}
	conns, _ := ac.store.ListConnectors(ctx, []string{ac.reseller.ID})
	if len(conns) != 1 || conns[0].Enabled {
		t.Errorf("connectors after deprovisioning %v, want the export's disabled", conns)
	}
	page = ac.getDoc(c, "/accounts/"+sandbox.ID+"?deprovisioned=1", nil, http.StatusOK)
	if got := page.Find(testID("notice")).Text(); !strings.Contains(got, "AWS billing deprovisioned") {
		t.Errorf("notice %q", got)
	}
	var states []string
	page.Find(testID("ledger-state")).Each(func(_ int, s *goquery.Selection) { states = append(states, s.Text()) })
	if strings.Join(states, ",") != "Deleted,Deleted,Deleted,Kept" {
		t.Errorf("ledger states %v after deprovisioning", states)
	}
	if page.Find(testID("provision-form")).Length() != 1 {
		t.Error("no Provision Billing form after deprovisioning")
	}
	if got := page.Find(testID("account-status-detail")).Text(); !strings.Contains(got, "deprovisioned") {
		t.Errorf("status detail %q", got)
	}
	resp = ac.get(c, link, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the confirmation of deprovisioned billing: status %d, want 404", resp.StatusCode)
	}
}

func TestEachProviderShowsItsOwnBillingSection(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	oci := ac.add(ac.resellerAdmin, ac.reseller.ID, ociAccount("Northwind tenancy"))
	azure := ac.add(ac.resellerAdmin, ac.reseller.ID, azureAccount("Northwind production"))
	gcp := ac.add(ac.resellerAdmin, ac.reseller.ID, gcpAccount("Northwind analytics"))
	bare := awsAccount("Northwind without credentials")
	bare.Credentials = nil
	noCreds := ac.add(ac.resellerAdmin, ac.reseller.ID, bare)
	c, csrf := ac.signIn("admin@northwind.test")

	// OCI: the policy statements, with the group filled in on request.
	doc := ac.getDoc(c, "/accounts/"+oci.ID, nil, http.StatusOK)
	policy := doc.Find(testID("oci-policy")).Text()
	for _, want := range accounts.OCIPolicyStatements("") {
		if !strings.Contains(policy, want) {
			t.Errorf("OCI policy %q lacks %q", policy, want)
		}
	}
	if doc.Find(testID("provision-form")).Length() != 0 {
		t.Error("an OCI account offers to provision billing")
	}
	doc = ac.getDoc(c, "/accounts/"+oci.ID+"?group=BillingReaders", nil, http.StatusOK)
	if got := doc.Find(testID("oci-policy")).Text(); !strings.Contains(got, "endorse group BillingReaders to read objects in tenancy usage-report") {
		t.Errorf("OCI policy for a group %q", got)
	}

	// An account without credentials cannot provision.
	doc = ac.getDoc(c, "/accounts/"+noCreds.ID, nil, http.StatusOK)
	if doc.Find(testID("needs-credentials")).Length() != 1 || doc.Find(testID("provision-form")).Length() != 0 {
		t.Error("an account without credentials offers the Provision Billing form")
	}

	// Azure: the Cost Management Export toggle, on by default.
	doc = ac.getDoc(c, "/accounts/"+azure.ID, nil, http.StatusOK)
	if _, on := doc.Find(testID("register-export-provider")).Attr("checked"); !on {
		t.Error("the Cost Management Export toggle is not on by default")
	}
	if got := doc.Find(`select[name=region] option[selected]`).AttrOr("value", ""); got != "eastus" {
		t.Errorf("Azure default region %q", got)
	}
	live, _ := parse(t, ac.post(c, csrf, "/accounts/"+azure.ID+"/provision", url.Values{"region": {"westeurope"}}, htmx))
	if _, _, settings := ac.azure.record(); len(settings) != 1 || settings[0].RegisterExportProvider || settings[0].Region != "westeurope" {
		t.Errorf("Azure provisioned with %+v, want westeurope without registering the provider", settings)
	}
	if got := live.Find(`[data-step="register"] ` + testID("ledger-note")).Text(); !strings.Contains(got, "registered already") {
		t.Errorf("register step note %q", got)
	}

	// Google Cloud: the project defaults to the account's; the manual steps follow.
	doc = ac.getDoc(c, "/accounts/"+gcp.ID, nil, http.StatusOK)
	if got := doc.Find(`input[name=project_id]`).AttrOr("value", ""); got != "contoso-analytics" {
		t.Errorf("GCP project %q, want the account's", got)
	}
	live, _ = parse(t, ac.post(c, csrf, "/accounts/"+gcp.ID+"/provision",
		url.Values{"region": {"EU"}, "project_id": {"contoso-billing"}, "dataset": {""}}, htmx))
	if n := live.Find(testID("manual-step")).Length(); n != 2 {
		t.Errorf("%d manual steps shown, want 2", n)
	}
	if got := live.Find(testID("billing-notice")).Text(); !strings.Contains(got, "manual steps") {
		t.Errorf("GCP notice %q", got)
	}
	if got := live.Find(testID("account-status-detail")).Text(); !strings.Contains(got, "BigQuery billing export") {
		t.Errorf("GCP status detail %q", got)
	}
	if got := live.Find(testID("infra-settings")).Text(); !strings.Contains(got, "contoso-billing") || !strings.Contains(got, "truecost_billing_export") {
		t.Errorf("GCP settings %q, want the project and the default dataset", squash(got))
	}
}

func TestDeleteAccountRefusesTheOneThatProvisionedBilling(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	payer := ac.add(ac.resellerAdmin, ac.reseller.ID, awsAccount("Northwind payer"))
	azure := ac.add(ac.resellerAdmin, ac.reseller.ID, azureAccount("Northwind production"))
	if _, err := ac.service.Provision(context.Background(), ac.resellerAdmin, ac.reseller.ID, payer.ID, accounts.Settings{}); err != nil {
		t.Fatal(err)
	}
	c, csrf := ac.signIn("admin@northwind.test")

	region, _ := parse(t, ac.post(c, csrf, "/accounts/"+azure.ID+"/delete", url.Values{"from": {"list"}}, htmx))
	if got := region.Find(testID("notice")).Text(); !strings.Contains(got, "Northwind production") || region.Find(testID("account-row")).Length() != 1 {
		t.Errorf("deleting from the list: notice %q, %d rows left", got, region.Find(testID("account-row")).Length())
	}
	resp := ac.post(c, csrf, "/accounts/"+payer.ID+"/delete", url.Values{"from": {"detail"}}, nil)
	doc, _ := parse(t, resp)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(doc.Find(testID("page-error")).Text(), "deprovision billing before removing it") {
		t.Errorf("deleting the provisioning account: status %d, error %q", resp.StatusCode, doc.Find(testID("page-error")).Text())
	}
	if list, _ := ac.service.List(context.Background(), ac.resellerAdmin, ac.reseller.ID); len(list) != 1 || list[0].ID != payer.ID {
		t.Errorf("accounts left %v", list)
	}
}

func TestAccountPagesWithoutServiceSayNotConfigured(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, _ := f.signIn("admin@acme.test")
	doc := f.getDoc(c, "/accounts", nil, http.StatusServiceUnavailable)
	if got := doc.Find(testID("error-message")).Text(); !strings.Contains(got, "not configured") {
		t.Errorf("message %q", got)
	}
}

func TestInfraCardTellsTheStoryOfTheAccountRows(t *testing.T) {
	t.Parallel()
	ac := newAccountConsole(t)
	ctx := context.Background()
	// The sample export bills everything to the AWS payer 123456789012; it
	// arrives through a local connector, not one provisioning created.
	payer := accounts.Input{Provider: connectors.AWS, Name: "Sunbird payer", ProviderAccountID: "123456789012",
		Credentials: connectors.Secret{"role_arn": testRoleARN}}
	a := ac.add(ac.resellerAdmin, ac.reseller.ID, payer)
	if _, err := ac.conns.IngestLocal(ctx, system, ac.reseller.ID, "testdata/focus_sample.csv", "focus", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.service.CheckNow(ctx, ac.resellerAdmin, ac.reseller.ID); err != nil {
		t.Fatal(err)
	}
	c, _ := ac.signIn("admin@northwind.test")
	check := func(when, state, note string) {
		t.Helper()
		doc := ac.getDoc(c, "/accounts", nil, http.StatusOK)
		row := doc.Find(`[data-account-id="` + a.ID + `"]`)
		if got := row.Find(testID("account-status")).Text(); got != "Provisioned" {
			t.Errorf("%s: row status %q, want Provisioned", when, got)
		}
		card := doc.Find(testID("infra-card") + `[data-provider="aws"]`)
		if got := card.Find(testID("infra-state")).Text(); got != state {
			t.Errorf("%s: card state %q above a Provisioned row, want %q", when, got, state)
		}
		if got := card.Find(testID("infra-receiving")).Text(); got != "1 of 1" {
			t.Errorf("%s: card receiving %q, want 1 of 1", when, got)
		}
		if got := card.Find(testID("infra-note")).Text(); !strings.Contains(got, note) {
			t.Errorf("%s: card note %q, want it to say %q", when, got, note)
		}
	}
	check("nothing provisioned", "Receiving data", "connectors added by hand")

	ac.aws.failNext("bucket", domain.Errorf(domain.Forbidden, "access denied to s3:CreateBucket"))
	if _, err := ac.service.Provision(ctx, ac.resellerAdmin, ac.reseller.ID, a.ID, accounts.Settings{}); domain.ErrorCode(err) != domain.Forbidden {
		t.Fatalf("provisioning failing at its first step: %v", err)
	}
	check("provisioning failed at its first step", "Receiving data", "Provisioning did not finish")
	if _, err := ac.service.Deprovision(ctx, ac.resellerAdmin, ac.reseller.ID, connectors.AWS, true); err != nil {
		t.Fatal(err)
	}
	check("deprovisioned", "Receiving data", "export was deprovisioned")
}

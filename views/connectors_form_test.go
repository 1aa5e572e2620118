package views_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/truecost/truecost/domain/connectors"
)

// providerFields are the inputs each provider's form must have.
var providerFields = map[string][]string{
	"aws":   {"aws_account_id", "bucket", "path", "file_type", "region", "access", "role_arn", "access_key_id", "secret_access_key"},
	"azure": {"azure_cloud", "storage_account", "container", "path", "access", "connection_string", "sas_url", "tenant_id", "client_id", "client_secret"},
	"gcp": {"service_account_json", "billing_account_id", "project_id", "region", "dataset", "table",
		"result_project", "result_region", "result_dataset", "result_bucket"},
	"oci": {"tenancy_ocid", "user_ocid", "fingerprint", "private_key", "passphrase", "region"},
}

func TestAddConnectorFormFieldsFollowTheProvider(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	c, _ := cc.signIn("admin@northwind.test")
	for provider, fields := range providerFields {
		t.Run(provider, func(t *testing.T) {
			page := cc.getDoc(c, "/connectors/new?provider="+provider, nil, http.StatusOK)
			if got := page.Find(`input[name=provider]:checked`).AttrOr("value", ""); got != provider {
				t.Errorf("checked provider %q, want %q", got, provider)
			}
			if got := strings.Join(strings.Fields(page.Find(testID("connector-type")).Text()), " "); !strings.Contains(got, "Billing Connector FOCUS") {
				t.Errorf("type %q, want Billing Connector FOCUS", got)
			}
			if page.Find(`[name=name]`).Length() != 1 || page.Find(`select[name=org]`).Length() != 1 {
				t.Error("the form lacks the name or, for a reseller, the organization")
			}
			hx := page.Find(`input[name=provider][value=`+provider+`]`).AttrOr("hx-get", "")
			if hx != "/connectors/fields" {
				t.Errorf("provider radio hx-get %q, want the fields fragment", hx)
			}
			fragment := cc.getDoc(c, "/connectors/fields?provider="+provider, htmx, http.StatusOK)
			for _, doc := range []*goquery.Document{page, fragment} {
				for _, name := range fields {
					if doc.Find(`[name="`+name+`"]`).Length() == 0 {
						t.Errorf("no %s field", name)
					}
				}
				for other, otherFields := range providerFields {
					if other == provider {
						continue
					}
					for _, name := range otherFields {
						if !contains(fields, name) && doc.Find(`[name="`+name+`"]`).Length() > 0 {
							t.Errorf("%s field of %s shown for %s", name, other, provider)
						}
					}
				}
			}
			if fragment.Find("header, nav, "+testID("connector-form")).Length() != 0 {
				t.Error("the fields fragment is a whole page")
			}
		})
	}
	if resp := cc.get(c, "/connectors/fields?provider=ibm", htmx); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown provider: status %d, want 400", resp.StatusCode)
	}
}

func TestAddAWSConnectorFormExplainsTheTrustPolicy(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	c, _ := cc.signIn("admin@northwind.test")
	doc := cc.getDoc(c, "/connectors/new", nil, http.StatusOK)
	preview := doc.Find(testID("trust-policy-preview")).Text()
	if !strings.Contains(preview, testAWSPrincipal) || !strings.Contains(preview, "sts:ExternalId") {
		t.Errorf("trust policy preview %q lacks the principal or the external ID condition", preview)
	}
	if got := doc.Find(`input[name=access][value=role]`).AttrOr("checked", "none"); got == "none" {
		t.Error("IAM role is not the preselected access method")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// createCase is a valid form for one provider, with the credentials it
// carries that must never be shown again.
type createCase struct {
	name     string
	form     url.Values
	secrets  []string
	wantSec  connectors.Secret
	location string
}

func createCases() []createCase {
	return []createCase{
		{
			name: "aws role",
			form: url.Values{"provider": {"aws"}, "name": {"Contoso payer"}, "aws_account_id": {"1234-5678-9012"}, "bucket": {"contoso-billing"},
				"path": {"/cur2/contoso/"}, "file_type": {"cur2"}, "region": {"eu-west-1"}, "access": {"role"},
				"role_arn": {"arn:aws:iam::123456789012:role/TruecostRead"}, "access_key_id": {"AKIAIGNOREDBECAUSEROLE"}},
			secrets:  []string{"AKIAIGNOREDBECAUSEROLE"},
			wantSec:  connectors.Secret{"role_arn": "arn:aws:iam::123456789012:role/TruecostRead"},
			location: "s3://contoso-billing/cur2/contoso",
		},
		{
			name: "aws keys",
			form: url.Values{"provider": {"aws"}, "name": {"Contoso keys"}, "aws_account_id": {"123456789012"}, "bucket": {"contoso-billing"},
				"file_type": {"focus"}, "region": {"us-east-1"}, "access": {"keys"},
				"access_key_id": {"AKIAEXAMPLESECRET01"}, "secret_access_key": {"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
			secrets:  []string{"AKIAEXAMPLESECRET01", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
			wantSec:  connectors.Secret{"access_key_id": "AKIAEXAMPLESECRET01", "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
			location: "s3://contoso-billing/",
		},
		{
			name: "azure connection string",
			form: url.Values{"provider": {"azure"}, "name": {"Contoso EA"}, "azure_cloud": {"china"}, "storage_account": {"contosocosts"},
				"container": {"cost-exports"}, "path": {"focus"}, "access": {"connection_string"},
				"connection_string": {"DefaultEndpointsProtocol=https;AccountName=contosocosts;AccountKey=QUNDT1VOVC1LRVktU0VDUkVU;EndpointSuffix=core.chinacloudapi.cn"},
				"client_secret":     {"not-sent-with-connection-string"}},
			secrets:  []string{"QUNDT1VOVC1LRVktU0VDUkVU", "not-sent-with-connection-string"},
			wantSec:  connectors.Secret{"connection_string": "DefaultEndpointsProtocol=https;AccountName=contosocosts;AccountKey=QUNDT1VOVC1LRVktU0VDUkVU;EndpointSuffix=core.chinacloudapi.cn"},
			location: "azure://contosocosts/cost-exports/focus",
		},
		{
			name: "azure service principal",
			form: url.Values{"provider": {"azure"}, "name": {"Contoso SP"}, "storage_account": {"contosocosts"}, "container": {"cost-exports"},
				"access": {"service_principal"}, "tenant_id": {"2f5d3c1a-0000-4000-8000-00000000aaaa"}, "client_id": {"7c9e6679-7425-40de-944b-e07fc1f90ae7"},
				"client_secret": {"SP-CLIENT-SECRET-VALUE"}},
			secrets: []string{"SP-CLIENT-SECRET-VALUE"},
			wantSec: connectors.Secret{"tenant_id": "2f5d3c1a-0000-4000-8000-00000000aaaa", "client_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
				"client_secret": "SP-CLIENT-SECRET-VALUE"},
			location: "azure://contosocosts/cost-exports/",
		},
		{
			name: "gcp",
			form: url.Values{"provider": {"gcp"}, "name": {"Contoso GCP"}, "billing_account_id": {"012345-6789ab-cdef01"}, "project_id": {"contoso-billing"},
				"region": {"EU"}, "dataset": {"billing_export"}, "result_project": {"contoso-staging"}, "result_region": {"EU"},
				"result_dataset": {"truecost_tmp"}, "result_bucket": {"contoso-truecost-tmp"},
				"service_account_json": {`{"type":"service_account","private_key":"GCP-PRIVATE-KEY-MATERIAL"}`}},
			secrets:  []string{"GCP-PRIVATE-KEY-MATERIAL"},
			wantSec:  connectors.Secret{"service_account_json": `{"type":"service_account","private_key":"GCP-PRIVATE-KEY-MATERIAL"}`},
			location: "bigquery://contoso-billing/billing_export/",
		},
		{
			name: "oci",
			form: url.Values{"provider": {"oci"}, "name": {"Contoso OCI"}, "tenancy_ocid": {"ocid1.tenancy.oc1..aaaaaaaacontoso"},
				"user_ocid": {"ocid1.user.oc1..aaaaaaaabilling"}, "fingerprint": {"12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef"},
				"region": {"eu-frankfurt-1"}, "private_key": {"-----BEGIN PRIVATE KEY-----\nOCI-KEY-MATERIAL\n-----END PRIVATE KEY-----"},
				"passphrase": {"OCI-PASSPHRASE"}},
			secrets: []string{"OCI-KEY-MATERIAL", "OCI-PASSPHRASE"},
			wantSec: connectors.Secret{"private_key": "-----BEGIN PRIVATE KEY-----\nOCI-KEY-MATERIAL\n-----END PRIVATE KEY-----",
				"passphrase": "OCI-PASSPHRASE"},
			location: "oci://bling/ocid1.tenancy.oc1..aaaaaaaacontoso",
		},
	}
}

func TestCreateConnectorPerProviderStoresSealedCredentials(t *testing.T) {
	t.Parallel()
	for _, tt := range createCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := newConnectorConsole(t)
			c, csrf := cc.signIn("admin@northwind.test")
			form := url.Values{"org": {cc.customer.ID}}
			for k, v := range tt.form {
				form[k] = v
			}
			resp := cc.post(c, csrf, "/connectors", form, nil)
			readAll(t, resp)
			list, err := cc.store.ListConnectors(context.Background(), []string{cc.customer.ID})
			if err != nil || len(list) != 1 {
				t.Fatalf("connectors of Contoso after create: %v, %v (status %d)", list, err, resp.StatusCode)
			}
			made := list[0]
			wantTo := "/connectors?created=" + made.ID
			if made.Provider == connectors.AWS {
				wantTo = "/connectors/" + made.ID + "?created=1"
			}
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != wantTo {
				t.Errorf("create answered %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), wantTo)
			}
			if made.Location != tt.location || made.Name != tt.form.Get("name") || !made.HasSecret {
				t.Errorf("stored %q at %q (secret %v), want %q at %q with a secret", made.Name, made.Location, made.HasSecret, tt.form.Get("name"), tt.location)
			}

			// The credentials reach the source as entered.
			readAll(t, cc.post(c, csrf, "/connectors/"+made.ID+"/test", nil, nil))
			if got := cc.sources.secret(made.ID); !equalSecrets(got, tt.wantSec) {
				t.Errorf("source opened with %v, want %v", keys(got), keys(tt.wantSec))
			}

			// No page shows them.
			pages := []string{wantTo, "/connectors", "/connectors/" + made.ID, "/connectors/" + made.ID + "/edit"}
			for _, path := range pages {
				body := readAll(t, cc.get(c, path, nil))
				for _, s := range tt.secrets {
					if strings.Contains(body, s) {
						t.Errorf("GET %s shows the credential %q", path, s)
					}
				}
			}
		})
	}
}

func equalSecrets(a, b connectors.Secret) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func keys(s connectors.Secret) []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	return out
}

func TestCreateConnectorShowsValidationNextToTheFieldWithoutCredentials(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	c, csrf := cc.signIn("admin@fabrikam.test")
	base := createCases()
	tests := []struct {
		name      string
		from      int // index in createCases
		change    url.Values
		wantField string
		wantText  string
		keep      map[string]string // non-secret values shown again
	}{
		{"aws account", 1, url.Values{"aws_account_id": {"12345"}}, "aws_account_id", "Must be 12 digits",
			map[string]string{"bucket": "contoso-billing", "name": "Contoso keys"}},
		{"aws role arn", 0, url.Values{"role_arn": {"arn:aws:iam::123:role/x"}}, "role_arn", "is not an IAM role ARN",
			map[string]string{"role_arn": "arn:aws:iam::123:role/x", "aws_account_id": "123456789012"}},
		{"aws nothing to sign in with", 1, url.Values{"access_key_id": {""}, "secret_access_key": {""}}, "access", "give the role ARN", nil},
		{"aws half a key pair", 1, url.Values{"access_key_id": {""}}, "access_key_id", "give both", nil},
		{"name", 2, url.Values{"name": {"  "}}, "name", "1 to 100 characters", map[string]string{"storage_account": "contosocosts"}},
		{"azure container", 2, url.Values{"container": {"X"}}, "container", "lowercase", map[string]string{"container": "X"}},
		{"azure service principal", 3, url.Values{"tenant_id": {""}}, "tenant_id", "tenant ID and client ID",
			map[string]string{"client_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}},
		{"gcp billing account", 4, url.Values{"billing_account_id": {"nope"}}, "billing_account_id", "012345-6789AB-CDEF01",
			map[string]string{"billing_account_id": "nope", "result_bucket": "contoso-truecost-tmp"}},
		{"gcp key is not json", 4, url.Values{"service_account_json": {"GCP-PRIVATE-KEY-MATERIAL not json"}}, "service_account_json", "not valid JSON", nil},
		{"oci user", 5, url.Values{"user_ocid": {"user"}}, "user_ocid", "ocid1.user", map[string]string{"tenancy_ocid": "ocid1.tenancy.oc1..aaaaaaaacontoso"}},
		{"oci key", 5, url.Values{"private_key": {"OCI-KEY-MATERIAL"}}, "private_key", "PEM", map[string]string{"fingerprint": "12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range base[tt.from].form {
				form[k] = v
			}
			for k, v := range tt.change {
				form[k] = v
			}
			doc, body := parse(t, cc.post(c, csrf, "/connectors", form, nil))
			if doc.Find(testID("connector-form")).Length() != 1 {
				t.Fatalf("rejected create did not show the form again: %s", doc.Find(testID("error-message")).Text())
			}
			msg := doc.Find(testID("error-" + tt.wantField))
			if !strings.Contains(strings.ToLower(msg.Text()), strings.ToLower(tt.wantText)) {
				t.Errorf("message next to %s = %q, want it to mention %q (form says %q)", tt.wantField, msg.Text(), tt.wantText, doc.Find(testID("form-error")).Text())
			}
			if got := doc.Find(`input[name=provider]:checked`).AttrOr("value", ""); got != base[tt.from].form.Get("provider") {
				t.Errorf("provider %q not kept", got)
			}
			for name, want := range tt.keep {
				if got := doc.Find(`input[name="`+name+`"]`).AttrOr("value", ""); got != want {
					t.Errorf("field %s shows %q, want the entered %q", name, got, want)
				}
			}
			for _, s := range append(base[tt.from].secrets, "GCP-PRIVATE-KEY-MATERIAL", "OCI-KEY-MATERIAL") {
				if strings.Contains(body, s) {
					t.Errorf("the rejected form shows the credential %q", s)
				}
			}
		})
	}
	if list, _ := cc.store.ListConnectors(context.Background(), []string{cc.foreign.ID}); len(list) != 0 {
		t.Errorf("rejected forms created %d connectors", len(list))
	}
	resp := cc.post(c, csrf, "/connectors", base[0].form, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("valid form after rejected ones: status %d", resp.StatusCode)
	}
}

func TestAWSConnectorPageShowsTrustPolicyWithItsExternalID(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	c, csrf := cc.signIn("admin@northwind.test")
	resp := cc.post(c, csrf, "/connectors", createCases()[0].form, nil)
	readAll(t, resp)
	to := resp.Header.Get("Location")
	if !strings.HasSuffix(to, "?created=1") {
		t.Fatalf("AWS create redirected to %q, want the connector's page", to)
	}
	doc := cc.getDoc(c, to, nil, http.StatusOK)
	list, _ := cc.store.ListConnectors(context.Background(), []string{cc.reseller.ID})
	if len(list) != 1 || list[0].ExternalID == "" {
		t.Fatalf("created connectors %v", list)
	}
	ext := list[0].ExternalID
	if got := doc.Find(testID("external-id")).Text(); got != ext {
		t.Errorf("external ID shown %q, want %q", got, ext)
	}
	policy := doc.Find(testID("trust-policy-json")).Text()
	if policy != connectors.AWSTrustPolicy(ext, testAWSPrincipal) {
		t.Errorf("trust policy shown:\n%s\nwant the connector's", policy)
	}
	if got := doc.Find(testID("read-policy-json")).Text(); !strings.Contains(got, "arn:aws:s3:::contoso-billing/cur2/contoso/*") {
		t.Errorf("read policy %q, want the export's objects", got)
	}
	if got := doc.Find(testID("notice")).Text(); !strings.Contains(got, "trust policy") {
		t.Errorf("notice %q, want the next step", got)
	}
	edit := cc.getDoc(c, "/connectors/"+list[0].ID+"/edit", nil, http.StatusOK)
	if edit.Find(testID("external-id")).Text() != ext {
		t.Error("the edit form does not show the external ID")
	}
}

func TestEditConnectorKeepsStoredCredentialsWhenLeftEmpty(t *testing.T) {
	t.Parallel()
	cc := newConnectorConsole(t)
	conn := cc.add(cc.resellerAdmin, cc.reseller.ID, azureInput("Northwind EA"))
	c, csrf := cc.signIn("admin@northwind.test")

	doc := cc.getDoc(c, "/connectors/"+conn.ID+"/edit", nil, http.StatusOK)
	if got := doc.Find(`input[name=storage_account]`).AttrOr("value", ""); got != "northwindcosts" {
		t.Errorf("edit form storage account %q", got)
	}
	if got := doc.Find(`input[name=sas_url]`).AttrOr("placeholder", ""); got != "Leave empty to keep the stored secret" {
		t.Errorf("secret field placeholder %q", got)
	}
	if doc.Find(`input[name=provider][type=radio]`).Length() != 0 {
		t.Error("the edit form offers to change the provider")
	}

	form := url.Values{"provider": {"azure"}, "name": {"Northwind EA (China)"}, "azure_cloud": {"china"}, "storage_account": {"northwindcosts"},
		"container": {"exports"}, "access": {"sas_url"}, "sas_url": {""}}
	resp := cc.post(c, csrf, "/connectors/"+conn.ID+"/edit", form, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connectors/"+conn.ID+"?saved=1" {
		t.Fatalf("edit answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	got, err := cc.conns.Get(context.Background(), cc.resellerAdmin, conn.OrgID, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Northwind EA (China)" || got.Config.AzureCloud != "china" || got.Enabled {
		t.Errorf("after edit: %q cloud %q enabled %v, want the new name, china, and paused (box unticked)", got.Name, got.Config.AzureCloud, got.Enabled)
	}
	readAll(t, cc.post(c, csrf, "/connectors/"+conn.ID+"/test", nil, nil))
	if sec := cc.sources.secret(conn.ID); sec["sas_url"] != azureInput("").Secret["sas_url"] {
		t.Errorf("stored secret after an edit leaving it empty: %v", keys(sec))
	}

	form.Set("sas_url", "https://northwindcosts.blob.core.chinacloudapi.cn/exports?sig=NEW-SAS")
	form.Set("enabled", "on")
	resp = cc.post(c, csrf, "/connectors/"+conn.ID+"/edit", form, nil)
	readAll(t, resp)
	readAll(t, cc.post(c, csrf, "/connectors/"+conn.ID+"/test", nil, nil))
	if sec := cc.sources.secret(conn.ID); !strings.Contains(sec["sas_url"], "NEW-SAS") {
		t.Error("a new secret entered in the edit form was not stored")
	}

	// A bad value shows the form again, with the saved name in the title.
	form.Set("container", "Bad_Container")
	doc, body := parse(t, cc.post(c, csrf, "/connectors/"+conn.ID+"/edit", form, nil))
	if !strings.Contains(doc.Find(testID("error-container")).Text(), "lowercase") || !strings.Contains(doc.Find("h1").Text(), "Northwind EA (China)") {
		t.Errorf("rejected edit: error %q, title %q", doc.Find(testID("error-container")).Text(), doc.Find("h1").Text())
	}
	if strings.Contains(body, "NEW-SAS") {
		t.Error("the rejected edit form shows the credential")
	}
}

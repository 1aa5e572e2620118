package graph_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
)

// These tests drive cloud accounts, billing provisioning and billing status
// through the API with the real account service over a real store; see
// accountWorld. Every answer is searched for the credentials sent.

func TestCloudAccountsCreateListUpdateDelete(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		aws := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Production", acmeAWSAccount))
		azure := w.create(t, w.acmeAdmin, w.acme.ID, azureAccountInput("Acme Azure"))
		gcp := w.create(t, w.acmeAdmin, "", gcpAccountInput("Acme Analytics"))
		oci := w.create(t, w.acmeAdmin, "", ociAccountInput("Acme Oracle"))

		for _, a := range []apiAccount{aws, azure, gcp, oci} {
			if a.ID == "" || a.OrganizationID != w.acme.ID || !a.HasCredentials || a.CreatedAt == "" {
				t.Errorf("created %+v", a)
			}
			if a.BillingStatus != "UNPROVISIONED" || a.StatusDetail == "" || a.LastCheckedAt == nil {
				t.Errorf("%s: status %s %q checked %v, want a checked UNPROVISIONED status", a.Name, a.BillingStatus, a.StatusDetail, deref(a.LastCheckedAt))
			}
			if a.Infrastructure != nil || len(a.StatusHistory) != 0 {
				t.Errorf("%s: infrastructure %+v, history %+v; want none", a.Name, a.Infrastructure, a.StatusHistory)
			}
		}
		if aws.Provider != "AWS" || aws.ProviderAccountID != acmeAWSAccount || aws.BillingAccountID != nil {
			t.Errorf("AWS account = %+v", aws)
		}
		if azure.Provider != "AZURE" || azure.ProviderAccountID != acmeSubscription {
			t.Errorf("Azure account = %+v, want the subscription ID in lower case", azure)
		}
		if gcp.Provider != "GCP" || gcp.ProviderAccountID != acmeProject || deref(gcp.BillingAccountID) != "01A2B3-C4D5E6-F7A8B9" {
			t.Errorf("GCP account = %+v, want the billing account in upper case", gcp)
		}
		if oci.Provider != "OCI" || oci.ProviderAccountID != acmeTenancy || !strings.Contains(oci.StatusDetail, "policy statements") {
			t.Errorf("OCI account = %+v", oci)
		}

		// The list is by name and reads as the single account does. (Each
		// create checks every account of the organization again.)
		list := w.list(t, w.acmeAdmin, "")
		var names []string
		for _, a := range list {
			names = append(names, a.Name)
		}
		if want := []string{"Acme Analytics", "Acme Azure", "Acme Oracle", "Acme Production"}; !reflect.DeepEqual(names, want) {
			t.Errorf("names = %v, want %v", names, want)
		}
		if got := w.get(t, w.acmeAdmin, "", aws.ID); !reflect.DeepEqual(got, list[3]) {
			t.Errorf("cloudAccount = %+v\nwant as listed %+v", got, list[3])
		}
		if got := list[3]; got.StatusSince != aws.StatusSince || got.CreatedAt != aws.CreatedAt || deref(got.AWSTrustPolicy) != deref(aws.AWSTrustPolicy) {
			t.Errorf("listed %+v\ncreated %+v", got, aws)
		}

		// An update without credentials keeps them; the external ID stays.
		in := awsAccountInput("Acme Prod", acmeAWSAccount)
		delete(in, "credentials")
		var upd struct {
			UpdateCloudAccount apiAccount `json:"updateCloudAccount"`
		}
		w.must(t, w.acmeAdmin, updateAccount, map[string]any{"id": aws.ID, "in": in}, &upd)
		u := upd.UpdateCloudAccount
		if u.ID != aws.ID || u.Name != "Acme Prod" || !u.HasCredentials || deref(u.AWSExternalID) != deref(aws.AWSExternalID) || u.CreatedAt != aws.CreatedAt {
			t.Errorf("updated = %+v\nfrom %+v", u, aws)
		}
		if got := w.get(t, w.acmeAdmin, "", aws.ID); got.Name != "Acme Prod" {
			t.Errorf("stored name %q after update", got.Name)
		}
		in["provider"] = "GCP"
		in["providerAccountId"] = acmeProject
		if msg := refused(t, w.do(t, w.acmeAdmin, updateAccount, map[string]any{"id": aws.ID, "in": in}, nil), "invalid"); !strings.Contains(msg, "provider cannot change") {
			t.Errorf("provider change: %q", msg)
		}

		// Bad input names the field; a second account with the same ID is
		// a conflict.
		for _, tt := range []struct {
			in   map[string]any
			code string
			want string
		}{
			{awsAccountInput("Short", "12345"), "invalid", "AWS account ID"},
			{awsAccountInput("  ", acmeAWSAccount2), "invalid", "name"},
			{map[string]any{"provider": "AWS", "name": "Keys", "providerAccountId": acmeAWSAccount2, "credentials": map[string]any{"accessKeyId": accessKeyID}}, "invalid", "access keys"},
			{map[string]any{"provider": "AZURE", "name": "Sub", "providerAccountId": "not-a-guid"}, "invalid", "subscription ID"},
			{awsAccountInput("Again", acmeAWSAccount), "conflict", acmeAWSAccount},
		} {
			msg := refused(t, w.do(t, w.acmeAdmin, createAccount, map[string]any{"in": tt.in}, nil), tt.code)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("create %v: message %q, want it to name %q", tt.in, msg, tt.want)
			}
		}

		var del struct {
			DeleteCloudAccount bool `json:"deleteCloudAccount"`
		}
		w.must(t, w.acmeAdmin, deleteAccount, map[string]any{"id": azure.ID}, &del)
		if !del.DeleteCloudAccount {
			t.Error("deleteCloudAccount = false")
		}
		if got := w.list(t, w.acmeAdmin, w.acme.ID); len(got) != 3 {
			t.Errorf("%d accounts after a delete, want 3", len(got))
		}
		refused(t, w.do(t, w.acmeAdmin, getAccount, map[string]any{"id": azure.ID}, nil), "not_found")
		refused(t, w.do(t, w.acmeAdmin, deleteAccount, map[string]any{"id": azure.ID}, nil), "not_found")
	})
}

func TestCloudAccountTrustPolicyAndOCIPolicyStatements(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		aws := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Production", acmeAWSAccount))
		oci := w.create(t, w.acmeAdmin, "", ociAccountInput("Acme Oracle"))

		if aws.AWSExternalID == nil || !strings.HasPrefix(*aws.AWSExternalID, "truecost-") || aws.AWSTrustPolicy == nil {
			t.Fatalf("external ID %v, trust policy %v; want both for the admin", deref(aws.AWSExternalID), deref(aws.AWSTrustPolicy))
		}
		var policy struct {
			Statement []struct {
				Effect    string
				Principal struct{ AWS string }
				Action    string
				Condition struct{ StringEquals map[string]string }
			}
		}
		if err := json.Unmarshal([]byte(*aws.AWSTrustPolicy), &policy); err != nil || len(policy.Statement) != 1 {
			t.Fatalf("trust policy is not one statement of JSON (%v): %s", err, *aws.AWSTrustPolicy)
		}
		st := policy.Statement[0]
		if st.Effect != "Allow" || st.Principal.AWS != awsPrincipal || st.Action != "sts:AssumeRole" ||
			st.Condition.StringEquals["sts:ExternalId"] != *aws.AWSExternalID {
			t.Errorf("trust policy = %s, want %s may assume with external ID %s", *aws.AWSTrustPolicy, awsPrincipal, *aws.AWSExternalID)
		}
		if len(aws.OCIPolicy) != 0 {
			t.Errorf("AWS account has OCI statements %v", aws.OCIPolicy)
		}

		// Members read accounts without the external ID and trust policy.
		for _, a := range w.list(t, w.acmeMember, "") {
			if a.AWSExternalID != nil || a.AWSTrustPolicy != nil {
				t.Errorf("member sees %s's external ID %v and policy %v", a.Name, deref(a.AWSExternalID), deref(a.AWSTrustPolicy))
			}
		}
		if oci.AWSExternalID != nil || oci.AWSTrustPolicy != nil {
			t.Errorf("OCI account has AWS fields: %+v", oci)
		}

		wantDefine := "define tenancy usage-report as ocid1.tenancy.oc1..aaaaaaaaned4fkpkisbwjlr56u7cj63lf3wffbilvqknstgtvzub7vhqkggq"
		if want := []string{wantDefine, "endorse group <your group> to read objects in tenancy usage-report"}; !reflect.DeepEqual(oci.OCIPolicy, want) {
			t.Errorf("OCI statements = %q\nwant %q", oci.OCIPolicy, want)
		}
		var named struct {
			CloudAccount struct {
				OCIPolicy []string `json:"ociPolicyStatements"`
			} `json:"cloudAccount"`
		}
		w.must(t, w.acmeMember, `query($id: ID!) { cloudAccount(id: $id) { ociPolicyStatements(group: "TruecostReaders") } }`, map[string]any{"id": oci.ID}, &named)
		if want := []string{wantDefine, "endorse group TruecostReaders to read objects in tenancy usage-report"}; !reflect.DeepEqual(named.CloudAccount.OCIPolicy, want) {
			t.Errorf("OCI statements for a group = %q\nwant %q", named.CloudAccount.OCIPolicy, want)
		}

		// OCI has nothing to provision.
		msg := refused(t, w.do(t, w.acmeAdmin, provision, map[string]any{"account": oci.ID, "in": map[string]any{}}, nil), "invalid")
		if !strings.Contains(msg, "nothing to provision") {
			t.Errorf("OCI provisioning: %q", msg)
		}
	})
}

func TestCloudAccountChangesAreForbiddenToMembers(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		a := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Production", acmeAWSAccount))
		for name, op := range map[string]struct {
			query string
			vars  map[string]any
		}{
			"createCloudAccount": {createAccount, map[string]any{"in": awsAccountInput("Member's", acmeAWSAccount2)}},
			"updateCloudAccount": {updateAccount, map[string]any{"id": a.ID, "in": awsAccountInput("Renamed", acmeAWSAccount)}},
			"deleteCloudAccount": {deleteAccount, map[string]any{"id": a.ID}},
			"provisionBilling":   {provision, map[string]any{"account": a.ID, "in": map[string]any{"region": "eu-west-1"}}},
			"deprovisionBilling": {deprovision, map[string]any{"provider": "AWS", "confirm": true}},
			"checkBillingStatus": {checkStatus, nil},
		} {
			t.Run(name, func(t *testing.T) {
				msg := refused(t, w.do(t, w.acmeMember, op.query, op.vars, nil), "forbidden")
				if !strings.Contains(msg, "admins") {
					t.Errorf("message = %q", msg)
				}
			})
		}
		got := w.get(t, w.acmeAdmin, "", a.ID)
		if got.Name != a.Name || got.BillingStatus != "UNPROVISIONED" || got.Infrastructure != nil || len(w.list(t, w.acmeMember, "")) != 1 {
			t.Errorf("after refused changes: %+v", got)
		}
		if ran, _ := w.aws.calls(); len(ran) != 0 || len(w.infra(t, w.acmeMember, "")) != 0 {
			t.Errorf("refused provisioning ran %v", ran)
		}
	})
}

func TestCloudAccountsOfOtherOrganizations(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		a := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Production", acmeAWSAccount))
		g := w.create(t, w.globexAdmin, "", gcpAccountInput("Globex Analytics"))

		// Globex can neither see nor touch acme's account, by ID alone or
		// naming acme.
		refused(t, w.do(t, w.globexAdmin, getAccount, map[string]any{"id": a.ID}, nil), "not_found")
		for name, op := range map[string]struct {
			query string
			vars  map[string]any
		}{
			"cloudAccount":          {getAccount, map[string]any{"org": w.acme.ID, "id": a.ID}},
			"cloudAccounts":         {listAccounts, map[string]any{"org": w.acme.ID}},
			"billingInfrastructure": {listInfra, map[string]any{"org": w.acme.ID}},
			"createCloudAccount":    {createAccount, map[string]any{"org": w.acme.ID, "in": awsAccountInput("Intruder", acmeAWSAccount2)}},
			"updateCloudAccount":    {updateAccount, map[string]any{"org": w.acme.ID, "id": a.ID, "in": awsAccountInput("Renamed", acmeAWSAccount)}},
			"deleteCloudAccount":    {deleteAccount, map[string]any{"org": w.acme.ID, "id": a.ID}},
			"provisionBilling":      {provision, map[string]any{"org": w.acme.ID, "account": a.ID, "in": map[string]any{}}},
			"deprovisionBilling":    {deprovision, map[string]any{"org": w.acme.ID, "provider": "AWS", "confirm": true}},
			"checkBillingStatus":    {checkStatus, map[string]any{"org": w.acme.ID}},
		} {
			t.Run(name, func(t *testing.T) {
				refused(t, w.do(t, w.globexAdmin, op.query, op.vars, nil), "not_found")
			})
		}
		refused(t, w.do(t, w.globexAdmin, updateAccount, map[string]any{"id": a.ID, "in": awsAccountInput("Renamed", acmeAWSAccount)}, nil), "not_found")
		refused(t, w.do(t, w.globexAdmin, deleteAccount, map[string]any{"id": a.ID}, nil), "not_found")
		refused(t, w.do(t, w.globexAdmin, provision, map[string]any{"account": a.ID, "in": map[string]any{}}, nil), "not_found")
		if got := w.list(t, w.globexMember, ""); len(got) != 1 || got[0].ID != g.ID {
			t.Errorf("globex lists %+v, want only its own account", got)
		}
		if got := w.get(t, w.acmeAdmin, "", a.ID); got.Name != "Acme Production" {
			t.Errorf("acme's account became %+v", got)
		}

		// The reseller reads and manages its customer's accounts.
		var ids []string
		for _, x := range w.list(t, w.northAdmin, "") {
			ids = append(ids, x.ID)
		}
		if !reflect.DeepEqual(ids, []string{a.ID}) {
			t.Errorf("north lists %v, want acme's %s", ids, a.ID)
		}
		if got := w.get(t, w.northAdmin, w.acme.ID, a.ID); got.ID != a.ID {
			t.Errorf("north reads %+v", got)
		}
		refused(t, w.do(t, w.northAdmin, getAccount, map[string]any{"org": w.globex.ID, "id": g.ID}, nil), "not_found")
	})
}

func TestProvisionBillingRecordsLedgerAndConnector(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		a := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Production", acmeAWSAccount))
		inf := w.provision(t, a.ID, map[string]any{"region": "eu-west-1", "exportType": "CUR2"})

		if inf.State != "PROVISIONED" || inf.Error != nil || inf.Provider != "AWS" || inf.AccountID != a.ID || inf.OrganizationID != w.acme.ID {
			t.Errorf("infrastructure = %+v", inf)
		}
		if deref(inf.Region) != "eu-west-1" || deref(inf.ExportType) != "CUR2" || inf.RegisterExportProvider || inf.ProjectID != nil || inf.Dataset != nil {
			t.Errorf("settings: region %v export %v register %v project %v dataset %v", deref(inf.Region), deref(inf.ExportType),
				inf.RegisterExportProvider, deref(inf.ProjectID), deref(inf.Dataset))
		}
		if inf.ProvisionedAt == nil || inf.CreatedAt == "" || inf.UpdatedAt == "" {
			t.Errorf("times: created %q updated %q provisioned %v", inf.CreatedAt, inf.UpdatedAt, deref(inf.ProvisionedAt))
		}
		if want := []string{"bucket:CREATED", "bucket-policy:CREATED", "export:CREATED", "tags:KEPT"}; !reflect.DeepEqual(inf.steps(), want) {
			t.Errorf("ledger = %v, want %v", inf.steps(), want)
		}
		bucket := inf.Ledger[0]
		if bucket.Kind != "S3 bucket" || !strings.HasPrefix(bucket.ResourceID, "truecost-billing-") || deref(bucket.Region) != "eu-west-1" ||
			bucket.At == "" || bucket.DeletedAt != nil || bucket.Note != nil || len(bucket.Items) != 0 {
			t.Errorf("bucket entry = %+v", bucket)
		}
		tags := inf.Ledger[3]
		if deref(tags.Note) != "one tag needs the Billing console" || len(tags.Items) != 2 ||
			tags.Items[0].Name != "Project" || tags.Items[0].State != "Active" || tags.Items[0].Note != nil ||
			tags.Items[1].Name != "User" || tags.Items[1].State != "NotPermitted" || !strings.Contains(deref(tags.Items[1].Note), "Cost allocation tags") {
			t.Errorf("tags entry = %+v", tags)
		}
		if len(inf.ManualSteps) != 0 {
			t.Errorf("AWS manual steps = %v", inf.ManualSteps)
		}
		if !strings.Contains(inf.DeprovisionWarning, "Acme Production is the only provisioned AWS account") {
			t.Errorf("deprovision warning = %q", inf.DeprovisionWarning)
		}
		if ran, removed := w.aws.calls(); !reflect.DeepEqual(ran, []string{"bucket", "bucket-policy", "export", "tags"}) || len(removed) != 0 {
			t.Errorf("ran %v removed %v", ran, removed)
		}

		// The connector reading the export exists, enabled, in acme.
		if inf.ConnectorID == nil {
			t.Fatal("connectorId is null after provisioning")
		}
		var conn struct {
			Connector apiConnector `json:"connector"`
		}
		w.must(t, w.acmeAdmin, getConnector, map[string]any{"id": *inf.ConnectorID}, &conn)
		if c := conn.Connector; c.Provider != "AWS" || !c.Enabled || !c.HasSecret || c.Location != "s3://"+bucket.ResourceID+"/exports" ||
			deref(c.Config["region"]) != "eu-west-1" || deref(c.Config["awsAccountId"]) != acmeAWSAccount {
			t.Errorf("connector = %+v", c)
		}

		// The account reads the same infrastructure, and waits for data.
		got := w.get(t, w.acmeMember, "", a.ID)
		if got.Infrastructure == nil || !reflect.DeepEqual(*got.Infrastructure, inf) {
			t.Errorf("account infrastructure = %+v\nwant %+v", got.Infrastructure, inf)
		}
		if got.BillingStatus != "CHECKING" || !strings.Contains(got.StatusDetail, "first delivery pending") {
			t.Errorf("status %s %q, want CHECKING waiting for the first delivery", got.BillingStatus, got.StatusDetail)
		}
		if len(got.StatusHistory) != 1 || got.StatusHistory[0].From != "UNPROVISIONED" || got.StatusHistory[0].To != "CHECKING" ||
			got.StatusHistory[0].Detail != got.StatusDetail || got.StatusHistory[0].At != got.StatusSince {
			t.Errorf("history = %+v (since %s)", got.StatusHistory, got.StatusSince)
		}
		if list := w.infra(t, w.acmeMember, ""); len(list) != 1 || !reflect.DeepEqual(list[0], inf) {
			t.Errorf("billingInfrastructure = %+v", list)
		}

		// Once is enough.
		if msg := refused(t, w.do(t, w.acmeAdmin, provision, map[string]any{"account": a.ID, "in": map[string]any{}}, nil), "conflict"); !strings.Contains(msg, "already provisioned") {
			t.Errorf("second provisioning: %q", msg)
		}
	})
}

func TestProvisionBillingFailureThenRetryContinuesAtTheFailedStep(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		a := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Production", acmeAWSAccount))
		w.aws.failOnce("export", domain.Errorf(domain.Forbidden, "access denied to the CUR 2.0 export truecost-x"))

		resp := w.do(t, w.acmeAdmin, provision, map[string]any{"account": a.ID, "in": map[string]any{"region": "eu-west-1"}}, nil)
		msg := refused(t, resp, "forbidden")
		for _, want := range []string{"stopped at", "access denied to the CUR 2.0 export truecost-x", "try again"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
		if ran, _ := w.aws.calls(); !reflect.DeepEqual(ran, []string{"bucket", "bucket-policy", "export"}) {
			t.Errorf("ran %v, want up to the failed export", ran)
		}

		// What was done is readable, with the error.
		list := w.infra(t, w.acmeAdmin, "")
		if len(list) != 1 {
			t.Fatalf("billingInfrastructure = %+v, want the failed one", list)
		}
		failed := list[0]
		if failed.State != "FAILED" || !strings.Contains(deref(failed.Error), "access denied to the CUR 2.0 export") || failed.ConnectorID != nil || failed.ProvisionedAt != nil {
			t.Errorf("failed infrastructure = %+v", failed)
		}
		if want := []string{"bucket:CREATED", "bucket-policy:CREATED"}; !reflect.DeepEqual(failed.steps(), want) {
			t.Errorf("ledger = %v, want %v", failed.steps(), want)
		}
		var check struct {
			CheckBillingStatus []apiAccount `json:"checkBillingStatus"`
		}
		w.must(t, w.acmeAdmin, checkStatus, nil, &check)
		if got := check.CheckBillingStatus; len(got) != 1 || got[0].BillingStatus != "UNPROVISIONED" || !strings.Contains(got[0].StatusDetail, "provisioning stopped at") ||
			got[0].Infrastructure == nil || got[0].Infrastructure.State != "FAILED" {
			t.Errorf("checked after the failure: %+v", got)
		}

		// Asking again continues at the export, with the same resources.
		inf := w.provision(t, a.ID, map[string]any{"region": "eu-west-1"})
		if ran, _ := w.aws.calls(); !reflect.DeepEqual(ran, []string{"export", "tags"}) {
			t.Errorf("retry ran %v, want export and tags only", ran)
		}
		if inf.State != "PROVISIONED" || inf.Error != nil || inf.ID != failed.ID || inf.ConnectorID == nil {
			t.Errorf("retried infrastructure = %+v", inf)
		}
		if want := []string{"bucket:CREATED", "bucket-policy:CREATED", "export:CREATED", "tags:KEPT"}; !reflect.DeepEqual(inf.steps(), want) {
			t.Errorf("ledger = %v, want %v", inf.steps(), want)
		}
		if !reflect.DeepEqual(inf.Ledger[:2], failed.Ledger) {
			t.Errorf("retry changed the earlier entries: %+v\nwas %+v", inf.Ledger[:2], failed.Ledger)
		}
	})
}

func TestDeprovisionBillingNeedsConfirmAndRemovesWhatWasCreated(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		a := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Production", acmeAWSAccount))
		w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Staging", acmeAWSAccount2))
		inf := w.provision(t, a.ID, map[string]any{"exportType": "CUR"})
		if deref(inf.ExportType) != "CUR" || deref(inf.Region) != "us-east-1" {
			t.Errorf("export %v region %v, want CUR in the default region", deref(inf.ExportType), deref(inf.Region))
		}
		w.aws.calls()

		want := "Every AWS account of this organization (2: Acme Production, Acme Staging) will stop receiving billing data."
		if !strings.Contains(inf.DeprovisionWarning, want) {
			t.Errorf("warning = %q, want it to say %q", inf.DeprovisionWarning, want)
		}
		for _, vars := range []map[string]any{{"provider": "AWS", "confirm": false}, {"provider": "AWS"}} {
			q := deprovision
			if _, ok := vars["confirm"]; !ok {
				q = `mutation($provider: CloudProvider!) { deprovisionBilling(provider: $provider) { id } }`
			}
			msg := refused(t, w.do(t, w.acmeAdmin, q, vars, nil), "conflict")
			if !strings.Contains(msg, want) || !strings.Contains(msg, "Confirm") {
				t.Errorf("unconfirmed deprovisioning: %q", msg)
			}
		}
		if _, removed := w.aws.calls(); len(removed) != 0 {
			t.Errorf("unconfirmed deprovisioning removed %v", removed)
		}
		if list := w.infra(t, w.acmeAdmin, ""); len(list) != 1 || list[0].State != "PROVISIONED" {
			t.Errorf("after an unconfirmed deprovisioning: %+v", list)
		}
		msg := refused(t, w.do(t, w.acmeAdmin, deleteAccount, map[string]any{"id": a.ID}, nil), "conflict")
		if !strings.Contains(msg, "deprovision billing before removing it") {
			t.Errorf("deleting the provisioning account: %q", msg)
		}

		// A failure stops it; asking again continues.
		w.aws.failRemoveOnce("bucket-policy", domain.Errorf(domain.Unavailable, "S3 is throttling requests"))
		msg = refused(t, w.do(t, w.acmeAdmin, deprovision, map[string]any{"provider": "AWS", "confirm": true}, nil), "unavailable")
		if !strings.Contains(msg, "deprovisioning AWS billing stopped at") || !strings.Contains(msg, "throttling") {
			t.Errorf("failed deprovisioning: %q", msg)
		}
		if _, removed := w.aws.calls(); !reflect.DeepEqual(removed, []string{"export", "bucket-policy"}) {
			t.Errorf("removed %v before the failure", removed)
		}
		half := w.infra(t, w.acmeAdmin, "")[0]
		if half.State != "DEPROVISION_FAILED" || !reflect.DeepEqual(half.steps(), []string{"bucket:CREATED", "bucket-policy:CREATED", "export:DELETED", "tags:KEPT"}) {
			t.Errorf("after the failure: %s %v", half.State, half.steps())
		}

		var out struct {
			DeprovisionBilling apiInfra `json:"deprovisionBilling"`
		}
		w.must(t, w.acmeAdmin, deprovision, map[string]any{"provider": "AWS", "confirm": true}, &out)
		done := out.DeprovisionBilling
		if _, removed := w.aws.calls(); !reflect.DeepEqual(removed, []string{"bucket-policy", "bucket"}) {
			t.Errorf("retry removed %v, want the policy then the bucket", removed)
		}
		if done.State != "DEPROVISIONED" || done.Error != nil || !reflect.DeepEqual(done.steps(), []string{"bucket:DELETED", "bucket-policy:DELETED", "export:DELETED", "tags:KEPT"}) {
			t.Errorf("deprovisioned: %s %v", done.State, done.steps())
		}
		for _, e := range done.Ledger {
			if (e.State == "DELETED") != (e.DeletedAt != nil) {
				t.Errorf("entry %s is %s with deletedAt %v", e.Step, e.State, deref(e.DeletedAt))
			}
		}
		if len(done.ManualSteps) != 0 {
			t.Errorf("manual steps after deprovisioning: %v", done.ManualSteps)
		}

		// The connector is kept but disabled; the accounts are back to
		// unprovisioned, and the account may go now.
		var conn struct {
			Connector apiConnector `json:"connector"`
		}
		w.must(t, w.acmeAdmin, getConnector, map[string]any{"id": deref(done.ConnectorID)}, &conn)
		if conn.Connector.ID == "" || conn.Connector.Enabled {
			t.Errorf("connector after deprovisioning = %+v, want it disabled", conn.Connector)
		}
		for _, acc := range w.list(t, w.acmeAdmin, "") {
			if acc.BillingStatus != "UNPROVISIONED" || !strings.Contains(acc.StatusDetail, "deprovisioned") {
				t.Errorf("%s: %s %q", acc.Name, acc.BillingStatus, acc.StatusDetail)
			}
		}
		refused(t, w.do(t, w.acmeAdmin, deprovision, map[string]any{"provider": "AWS", "confirm": true}, nil), "not_found")
		w.must(t, w.acmeAdmin, deleteAccount, map[string]any{"id": a.ID}, nil)
	})
}

func TestCheckBillingStatusFindsTheAccountsData(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		a := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Production", acmeAWSAccount))
		other := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Staging", acmeAWSAccount2))
		w.provision(t, a.ID, map[string]any{})

		var out struct {
			CheckBillingStatus []apiAccount `json:"checkBillingStatus"`
		}
		w.must(t, w.acmeAdmin, checkStatus, nil, &out)
		byName := map[string]apiAccount{}
		for _, acc := range out.CheckBillingStatus {
			byName[acc.Name] = acc
		}
		if len(byName) != 2 {
			t.Fatalf("checkBillingStatus answered %+v", out.CheckBillingStatus)
		}
		got := byName["Acme Production"]
		if got.ID != a.ID || got.BillingStatus != "PROVISIONED" || got.StatusDetail != "billing data found, latest charge day 2026-10-02" {
			t.Errorf("provisioning account: %s %q", got.BillingStatus, got.StatusDetail)
		}
		var hist []string
		for _, c := range got.StatusHistory {
			hist = append(hist, c.From+">"+c.To)
		}
		if want := []string{"CHECKING>PROVISIONED", "UNPROVISIONED>CHECKING"}; !reflect.DeepEqual(hist, want) {
			t.Errorf("history = %v, want %v (newest first)", hist, want)
		}
		if got.LastCheckedAt == nil || got.StatusSince != got.StatusHistory[0].At || *got.LastCheckedAt < got.StatusSince {
			t.Errorf("since %s, last checked %v, history %+v", got.StatusSince, deref(got.LastCheckedAt), got.StatusHistory)
		}
		if s := byName["Acme Staging"]; s.ID != other.ID || s.BillingStatus != "CHECKING" || !strings.Contains(s.StatusDetail, "first delivery pending") {
			t.Errorf("account without data: %s %q", s.BillingStatus, s.StatusDetail)
		}

		// The stored status is what the check answered; limit bounds the
		// history.
		var one struct {
			CloudAccount struct {
				BillingStatus string            `json:"billingStatus"`
				StatusHistory []apiStatusChange `json:"statusHistory"`
			} `json:"cloudAccount"`
		}
		w.must(t, w.acmeMember, `query($id: ID!) { cloudAccount(id: $id) { billingStatus statusHistory(limit: 1) { from to detail at } } }`,
			map[string]any{"id": a.ID}, &one)
		if one.CloudAccount.BillingStatus != "PROVISIONED" || len(one.CloudAccount.StatusHistory) != 1 ||
			!reflect.DeepEqual(one.CloudAccount.StatusHistory[0], got.StatusHistory[0]) {
			t.Errorf("stored %+v", one.CloudAccount)
		}
	})
}

func TestProvisionGoogleCloudBillingListsTheManualSteps(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		a := w.create(t, w.acmeAdmin, "", gcpAccountInput("Acme Analytics"))
		inf := w.provision(t, a.ID, map[string]any{"region": "EU", "dataset": "billing_export"})
		if inf.Provider != "GCP" || inf.State != "PROVISIONED" || deref(inf.Region) != "EU" || deref(inf.ProjectID) != acmeProject ||
			deref(inf.Dataset) != "billing_export" || inf.ExportType != nil {
			t.Errorf("infrastructure = %+v", inf)
		}
		if want := []string{"dataset:CREATED", "transfer-api:KEPT"}; !reflect.DeepEqual(inf.steps(), want) {
			t.Errorf("ledger = %v, want %v", inf.steps(), want)
		}
		if !slices.Equal(inf.ManualSteps, w.gcp.manual) {
			t.Errorf("manual steps = %q, want %q", inf.ManualSteps, w.gcp.manual)
		}
		got := w.get(t, w.acmeAdmin, "", a.ID)
		if got.BillingStatus != "CHECKING" || !strings.Contains(got.StatusDetail, "BigQuery billing export") {
			t.Errorf("status %s %q", got.BillingStatus, got.StatusDetail)
		}
		// AWS is not provisioned: the other infrastructure stays apart.
		if list := w.infra(t, w.acmeAdmin, w.acme.ID); len(list) != 1 || list[0].Provider != "GCP" {
			t.Errorf("billingInfrastructure = %+v", list)
		}
		refused(t, w.do(t, w.acmeAdmin, deprovision, map[string]any{"provider": "AWS", "confirm": true}, nil), "not_found")
	})
}

func TestCloudAccountsAreUnavailableWithoutTheService(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	for _, op := range []struct {
		query string
		vars  map[string]any
	}{
		{listAccounts, nil},
		{getAccount, map[string]any{"id": "a-1"}},
		{listInfra, nil},
		{createAccount, map[string]any{"in": awsAccountInput("Acme", acmeAWSAccount)}},
		{provision, map[string]any{"account": "a-1", "in": map[string]any{}}},
		{checkStatus, nil},
	} {
		_, resp, _ := post(t, api.server.URL, op.query, op.vars, bearer(fakeToken))
		refused(t, resp, "unavailable")
	}
}

package awsprovision_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/awsprovision"
	"github.com/truecost/truecost/adapters/awsprovision/awsfake"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

const acct = awsfake.AccountID

// expectedPolicy is the bucket policy AWS documents for CUR and Data
// Exports delivery, scoped to this account's exports.
func expectedPolicy(t *testing.T, bucket string) string {
	services := []string{"billingreports.amazonaws.com", "bcm-data-exports.amazonaws.com"}
	cond := map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": acct},
		"ArnLike": map[string]any{"aws:SourceArn": []string{
			"arn:aws:cur:us-east-1:" + acct + ":definition/*",
			"arn:aws:bcm-data-exports:us-east-1:" + acct + ":export/*",
		}},
	}
	return jsonBody(t, map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{"Sid": "BillingExportCheckBucket", "Effect": "Allow", "Principal": map[string]any{"Service": services},
				"Action": []string{"s3:GetBucketAcl", "s3:GetBucketPolicy"}, "Resource": "arn:aws:s3:::" + bucket, "Condition": cond},
			map[string]any{"Sid": "BillingExportDeliver", "Effect": "Allow", "Principal": map[string]any{"Service": services},
				"Action": []string{"s3:PutObject"}, "Resource": "arn:aws:s3:::" + bucket + "/*", "Condition": cond},
		},
	})
}

func createExportBody(t *testing.T, e *env) string {
	return jsonBody(t, map[string]any{
		"Export": map[string]any{
			"Name":        e.names.Export,
			"Description": "Daily CUR 2.0 read by Truecost",
			"DataQuery": map[string]any{
				"QueryStatement": awsprovision.CUR2Query(),
				"TableConfigurations": map[string]any{"COST_AND_USAGE_REPORT": map[string]string{
					"TIME_GRANULARITY": "DAILY", "INCLUDE_RESOURCES": "TRUE",
					"INCLUDE_SPLIT_COST_ALLOCATION_DATA": "FALSE", "INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY": "FALSE",
				}},
			},
			"DestinationConfigurations": map[string]any{"S3Destination": map[string]any{
				"S3Bucket": e.names.Bucket, "S3Prefix": "truecost", "S3Region": e.req.Infra.Settings.Region,
				"S3OutputConfigurations": map[string]string{
					"Compression": "GZIP", "Format": "TEXT_OR_CSV", "OutputType": "CUSTOM", "Overwrite": "OVERWRITE_REPORT",
				},
			}},
			"RefreshCadence": map[string]string{"Frequency": "SYNCHRONOUS"},
		},
		"ResourceTags": []map[string]string{{"Key": "truecost:infrastructure", "Value": e.req.Infra.ID}},
	})
}

const (
	targetExports = "AWSBillingAndCostManagementDataExports."
	targetCUR     = "AWSOrigamiServiceGatewayService."
	targetCE      = "AWSInsightsIndexService."
)

func listTagsBody(t *testing.T) string {
	return jsonBody(t, map[string]any{"TagKeys": awsprovision.CostAllocationTags, "Type": "UserDefined"})
}

func TestProvisionCUR2CreatesBucketPolicyExportAndTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t, accounts.Settings{Region: "eu-west-1"}, staticKeys)
	if e.req.Infra.Settings.ExportType != "cur2" {
		t.Fatalf("default export type %q, want cur2", e.req.Infra.Settings.ExportType)
	}
	if err := e.provision(); err != nil {
		t.Fatal(err)
	}
	b := e.names.Bucket
	assertCalls(t, e.fake.Requests(), []want{
		{awsfake.CreateBucket, "PUT /" + b + ` <CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`, "eu-west-1"},
		{awsfake.PutBucketPolicy, "PUT /" + b + "?policy " + expectedPolicy(t, b), "eu-west-1"},
		{awsfake.ListExports, "POST / " + targetExports + "ListExports {}", "us-east-1"},
		{awsfake.CreateExport, "POST / " + targetExports + "CreateExport " + createExportBody(t, e), "us-east-1"},
		{awsfake.ListCostAllocationTags, "POST / " + targetCE + "ListCostAllocationTags " + listTagsBody(t), "us-east-1"},
		{awsfake.UpdateCostAllocationTagsStatus, "POST / " + targetCE + "UpdateCostAllocationTagsStatus " + tagEntries(t, "Active", awsprovision.CostAllocationTags...), "us-east-1"},
	})
	for _, c := range e.fake.Requests() {
		if c.AccessKeyID != "AKIAPROVISIONING" {
			t.Errorf("%s signed by %q, want the account's key", c.Op, c.AccessKeyID)
		}
	}

	arn := e.fake.Exports()[e.names.Export]
	if arn == "" {
		t.Fatalf("no export named %s in %v", e.names.Export, e.fake.Exports())
	}
	wantLedger := []struct {
		step, kind, id, region string
		state                  accounts.ResourceState
	}{
		{"s3-bucket", "S3 bucket", b, "eu-west-1", accounts.Created},
		{"bucket-policy", "bucket policy", b, "eu-west-1", accounts.Created},
		{"cost-export", "CUR 2.0 export", arn, "us-east-1", accounts.Created},
		{"cost-allocation-tags", "cost allocation tags", strings.Join(awsprovision.CostAllocationTags, ","), "us-east-1", accounts.Created},
	}
	if len(e.req.Infra.Ledger) != len(wantLedger) {
		t.Fatalf("ledger has %d entries, want %d", len(e.req.Infra.Ledger), len(wantLedger))
	}
	for i, w := range wantLedger {
		r := e.req.Infra.Ledger[i]
		if r.Step != w.step || r.Kind != w.kind || r.ID != w.id || r.Region != w.region || r.State != w.state {
			t.Errorf("ledger[%d] = %s %q %s %s %s, want %s %q %s %s %s", i, r.Step, r.Kind, r.ID, r.Region, r.State,
				w.step, w.kind, w.id, w.region, w.state)
		}
	}
	tags := e.resource(awsprovision.StepTags)
	for _, it := range tags.Items {
		if it.State != awsprovision.TagActive || it.Note != "activated by Truecost" {
			t.Errorf("tag %s: %s (%s), want Active, activated by Truecost", it.Name, it.State, it.Note)
		}
	}
	for k, st := range e.fake.Tags() {
		if st != "Active" {
			t.Errorf("AWS has tag %s %s, want Active", k, st)
		}
	}
	if m := e.prov.Manual(e.req.Infra); m != nil {
		t.Errorf("manual steps %q after full provisioning, want none", m)
	}
	if e.fake.Policy(b) == "" {
		t.Error("the bucket has no policy")
	}
}

func TestCUR2QuerySelectsWhatTheBillingReaderNeeds(t *testing.T) {
	t.Parallel()
	q := awsprovision.CUR2Query()
	if !strings.HasPrefix(q, "SELECT bill_bill_type, ") || !strings.HasSuffix(q, " FROM COST_AND_USAGE_REPORT") {
		t.Fatalf("query %q", q)
	}
	cols := map[string]bool{}
	for _, c := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(q, "SELECT "), " FROM COST_AND_USAGE_REPORT"), ", ") {
		if cols[c] {
			t.Errorf("column %s selected twice", c)
		}
		cols[c] = true
	}
	for _, c := range []string{
		"bill_billing_period_start_date", "bill_billing_period_end_date", "bill_payer_account_id", "bill_payer_account_name",
		"bill_invoice_id", "bill_billing_entity", "line_item_usage_account_id", "line_item_usage_account_name",
		"line_item_currency_code", "line_item_usage_start_date", "line_item_usage_end_date", "identity_time_interval",
		"line_item_line_item_type", "line_item_unblended_cost", "line_item_unblended_rate", "line_item_net_unblended_cost",
		"line_item_usage_amount", "line_item_product_code", "line_item_resource_id", "line_item_availability_zone",
		"line_item_line_item_description", "line_item_legal_entity", "product", "product_location", "product_region_code",
		"product_sku", "pricing_public_on_demand_cost", "pricing_public_on_demand_rate", "pricing_unit", "pricing_term",
		"pricing_rate_code", "savings_plan_savings_plan_effective_cost", "savings_plan_net_savings_plan_effective_cost",
		"savings_plan_savings_plan_a_r_n", "savings_plan_total_commitment_to_date", "savings_plan_used_commitment",
		"savings_plan_offering_type", "reservation_effective_cost", "reservation_net_effective_cost",
		"reservation_reservation_a_r_n", "reservation_unused_amortized_upfront_fee_for_billing_period",
		"reservation_unused_recurring_fee", "reservation_net_unused_amortized_upfront_fee_for_billing_period",
		"reservation_net_unused_recurring_fee", "resource_tags", "cost_category",
	} {
		if !cols[c] {
			t.Errorf("the export does not select %s, which the billing reader maps", c)
		}
	}
	for c := range cols {
		if strings.HasPrefix(c, "split_line_item_") {
			t.Errorf("selects %s, which exists only with split cost allocation data", c)
		}
	}
}

func TestProvisionLegacyCURPutsReportDefinition(t *testing.T) {
	t.Parallel()
	e := newEnv(t, accounts.Settings{Region: "us-east-1", ExportType: "cur"}, staticKeys)
	if err := e.provision(); err != nil {
		t.Fatal(err)
	}
	b := e.names.Bucket
	def := jsonBody(t, map[string]any{
		"ReportDefinition": map[string]any{
			"ReportName": e.names.Export, "TimeUnit": "DAILY", "Format": "textORcsv", "Compression": "GZIP",
			"AdditionalSchemaElements": []string{"RESOURCES"}, "S3Bucket": b, "S3Prefix": "truecost", "S3Region": "us-east-1",
			"RefreshClosedReports": true, "ReportVersioning": "OVERWRITE_REPORT",
		},
		"Tags": []map[string]string{{"Key": "truecost:infrastructure", "Value": e.req.Infra.ID}},
	})
	assertCalls(t, e.fake.Requests(), []want{
		// us-east-1 takes no location constraint.
		{awsfake.CreateBucket, "PUT /" + b, "us-east-1"},
		{awsfake.PutBucketPolicy, "PUT /" + b + "?policy " + expectedPolicy(t, b), "us-east-1"},
		{awsfake.PutReportDefinition, "POST / " + targetCUR + "PutReportDefinition " + def, "us-east-1"},
		{awsfake.ListCostAllocationTags, "POST / " + targetCE + "ListCostAllocationTags " + listTagsBody(t), "us-east-1"},
		{awsfake.UpdateCostAllocationTagsStatus, "POST / " + targetCE + "UpdateCostAllocationTagsStatus " + tagEntries(t, "Active", awsprovision.CostAllocationTags...), "us-east-1"},
	})
	r := e.resource(awsprovision.StepExport)
	if r.Kind != "Cost and Usage Report" || r.ID != e.names.Export || r.State != accounts.Created {
		t.Errorf("export entry %+v", r)
	}
	if got := e.fake.Reports(); len(got) != 1 || got[0] != e.names.Export {
		t.Errorf("report definitions %v", got)
	}

	n := e.mark()
	if err := e.deprovision(); err != nil {
		t.Fatal(err)
	}
	if ops := opsOf(e.since(n)); ops != "UpdateCostAllocationTagsStatus DeleteReportDefinition DeleteBucketPolicy ListObjectsV2 DeleteBucket" {
		t.Errorf("deprovision ran %s", ops)
	}
	if got := e.fake.Reports(); len(got) != 0 {
		t.Errorf("report definitions left: %v", got)
	}
}

func TestRetryAfterExportFailureContinuesAtTheExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, accounts.Settings{Region: "eu-central-1"}, staticKeys)
	e.fake.FailOnce(awsfake.CreateExport, http.StatusBadRequest, "ServiceQuotaExceededException", "You have reached the maximum number of exports")
	err := e.provision()
	if domain.ErrorCode(err) != domain.Conflict || !strings.Contains(err.Error(), "You have reached the maximum number of exports") {
		t.Fatalf("provision error %v (%s), want a conflict carrying AWS's message", err, domain.ErrorCode(err))
	}
	if ops := opsOf(e.fake.Requests()); ops != "CreateBucket PutBucketPolicy ListExports CreateExport" {
		t.Fatalf("first attempt ran %s", ops)
	}
	if len(e.req.Infra.Ledger) != 2 {
		t.Fatalf("ledger after the failure: %+v", e.req.Infra.Ledger)
	}

	n := e.mark()
	if err := e.provision(); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, e.since(n), []want{
		{awsfake.ListExports, "POST / " + targetExports + "ListExports {}", "us-east-1"},
		{awsfake.CreateExport, "POST / " + targetExports + "CreateExport " + createExportBody(t, e), "us-east-1"},
		{awsfake.ListCostAllocationTags, "POST / " + targetCE + "ListCostAllocationTags " + listTagsBody(t), "us-east-1"},
		{awsfake.UpdateCostAllocationTagsStatus, "POST / " + targetCE + "UpdateCostAllocationTagsStatus " + tagEntries(t, "Active", awsprovision.CostAllocationTags...), "us-east-1"},
	})
	if len(e.req.Infra.Ledger) != 4 {
		t.Errorf("ledger has %d entries after the retry, want 4", len(e.req.Infra.Ledger))
	}
}

// An attempt that created the bucket and the export but stopped before
// recording them is retried with an empty ledger: the same names find them.
func TestRetryFindsResourcesAnUnrecordedAttemptCreated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, accounts.Settings{Region: "ap-southeast-2"}, staticKeys)
	if err := e.provision(); err != nil {
		t.Fatal(err)
	}
	first := e.req.Infra.Ledger
	e.req.Infra.Ledger = nil
	if err := e.provision(); err != nil {
		t.Fatal(err)
	}
	if got := len(e.fake.Exports()); got != 1 {
		t.Errorf("%d exports after the retry, want 1", got)
	}
	bucket, export := e.resource(awsprovision.StepBucket), e.resource(awsprovision.StepExport)
	if bucket.State != accounts.Created || !strings.HasPrefix(bucket.Note, "created by an earlier attempt") {
		t.Errorf("bucket entry %+v", bucket)
	}
	if export.ID != first[2].ID || export.State != accounts.Created || !strings.HasPrefix(export.Note, "created by an earlier attempt") {
		t.Errorf("export entry %+v, want the ARN %s found again", export, first[2].ID)
	}
	// The tags are active now; nothing more to activate, nothing to undo.
	tags := e.resource(awsprovision.StepTags)
	if tags.State != accounts.Kept {
		t.Errorf("tags entry %+v, want kept", tags)
	}
}

func TestTagsNotPermittedKeepsTheStepWithConsoleSteps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, accounts.Settings{Region: "eu-west-1"}, staticKeys)
	e.fake.DenyTags(true)
	if err := e.provision(); err != nil {
		t.Fatalf("refused tag activation failed provisioning: %v", err)
	}
	if ops := opsOf(e.fake.Requests()); ops != "CreateBucket PutBucketPolicy ListExports CreateExport ListCostAllocationTags" {
		t.Errorf("ran %s", ops)
	}
	r := e.resource(awsprovision.StepTags)
	if r.State != accounts.Kept {
		t.Errorf("tags entry is %s, want kept", r.State)
	}
	for _, s := range []string{"AccessDeniedException", "Billing and Cost Management → Cost allocation tags", "Activate"} {
		if !strings.Contains(r.Note, s) {
			t.Errorf("note %q does not mention %q", r.Note, s)
		}
	}
	if len(r.Items) != len(awsprovision.CostAllocationTags) {
		t.Fatalf("%d tag items, want %d", len(r.Items), len(awsprovision.CostAllocationTags))
	}
	for i, it := range r.Items {
		if it.Name != awsprovision.CostAllocationTags[i] || it.State != awsprovision.TagNotPermitted {
			t.Errorf("item %d: %s %s, want %s NotPermitted", i, it.Name, it.State, awsprovision.CostAllocationTags[i])
		}
	}
	manual := e.prov.Manual(e.req.Infra)
	if len(manual) == 0 || !strings.Contains(strings.Join(manual, " "), "Select Date, GroupID, Name, OrganizationID, Pool, Project, Session, SessionID, User.") {
		t.Errorf("manual steps %q", manual)
	}

	// Deprovisioning leaves the tags alone: Truecost activated none.
	n := e.mark()
	if err := e.deprovision(); err != nil {
		t.Fatal(err)
	}
	if ops := opsOf(e.since(n)); ops != "DeleteExport DeleteBucketPolicy ListObjectsV2 DeleteBucket" {
		t.Errorf("deprovision ran %s", ops)
	}
}

func TestTagStatesActiveUnseenAndActivated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, accounts.Settings{Region: "eu-west-1"}, staticKeys)
	e.fake.SetTag("Name", "Active") // activated by someone else
	e.fake.SetTag("Session", "")    // never seen by AWS
	e.fake.SetTag("SessionID", "")  // never seen by AWS
	if err := e.provision(); err != nil {
		t.Fatal(err)
	}
	calls := e.fake.Requests()
	last := calls[len(calls)-1]
	if want := tagEntries(t, "Active", "Date", "GroupID", "OrganizationID", "Pool", "Project", "Session", "SessionID", "User"); last.Body != want {
		t.Errorf("activation body\n got %s\nwant %s", last.Body, want)
	}
	r := e.resource(awsprovision.StepTags)
	got := map[string]string{}
	for _, it := range r.Items {
		got[it.Name] = it.State
	}
	want := map[string]string{"Date": "Active", "GroupID": "Active", "Name": "Active", "OrganizationID": "Active", "Pool": "Active",
		"Project": "Active", "Session": "NotFound", "SessionID": "NotFound", "User": "Active"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("tag %s is %s, want %s", k, got[k], w)
		}
	}
	if r.State != accounts.Created || r.ID != "Date,GroupID,OrganizationID,Pool,Project,User" {
		t.Errorf("tags entry %s %q, want created listing the activated tags", r.State, r.ID)
	}
	if m := e.prov.Manual(e.req.Infra); m != nil {
		t.Errorf("manual steps %q, want none", m)
	}

	n := e.mark()
	if err := e.prov.Remove(e.ctx, e.req, r); err != nil {
		t.Fatal(err)
	}
	if calls := e.since(n); len(calls) != 1 || calls[0].Body != tagEntries(t, "Inactive", "Date", "GroupID", "OrganizationID", "Pool", "Project", "User") {
		t.Errorf("deactivation sent %v", calls)
	}
	if st := e.fake.Tags()["Name"]; st != "Active" {
		t.Errorf("tag Name, active before Truecost, is %s after deprovisioning", st)
	}
}

func TestDeprovisionRemovesInReverseOrderOnlyWhatWasCreated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, accounts.Settings{Region: "eu-west-1"}, staticKeys)
	if err := e.provision(); err != nil {
		t.Fatal(err)
	}
	b := e.names.Bucket
	for _, k := range []string{"truecost/" + e.names.Export + "/data/BILLING_PERIOD=2026-11/a-00001.csv.gz",
		"truecost/" + e.names.Export + "/metadata/BILLING_PERIOD=2026-11/a-Manifest.json"} {
		if err := e.fake.PutObject(b, k, []byte("delivered")); err != nil {
			t.Fatal(err)
		}
	}
	arn := e.resource(awsprovision.StepExport).ID
	n := e.mark()
	if err := e.deprovision(); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, e.since(n), []want{
		{awsfake.UpdateCostAllocationTagsStatus, "POST / " + targetCE + "UpdateCostAllocationTagsStatus " + tagEntries(t, "Inactive", awsprovision.CostAllocationTags...), "us-east-1"},
		{awsfake.DeleteExport, "POST / " + targetExports + "DeleteExport " + jsonBody(t, map[string]string{"ExportArn": arn}), "us-east-1"},
		{awsfake.DeleteBucketPolicy, "DELETE /" + b + "?policy", "eu-west-1"},
		{awsfake.ListObjectsV2, "GET /" + b + "?list-type=2", "eu-west-1"},
		{awsfake.DeleteObjects, "POST /" + b + `?delete <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>truecost/` + e.names.Export +
			`/data/BILLING_PERIOD=2026-11/a-00001.csv.gz</Key></Object><Object><Key>truecost/` + e.names.Export +
			`/metadata/BILLING_PERIOD=2026-11/a-Manifest.json</Key></Object><Quiet>true</Quiet></Delete>`, "eu-west-1"},
		{awsfake.DeleteBucket, "DELETE /" + b, "eu-west-1"},
	})
	if got := e.fake.Buckets(); len(got) != 0 {
		t.Errorf("buckets left: %v", got)
	}
	if got := e.fake.Exports(); len(got) != 0 {
		t.Errorf("exports left: %v", got)
	}
	for k, st := range e.fake.Tags() {
		if st != "Inactive" {
			t.Errorf("tag %s is %s after deprovisioning", k, st)
		}
	}

	// Removing again finds everything gone and succeeds.
	for i := range e.req.Infra.Ledger {
		e.req.Infra.Ledger[i].State = accounts.Created
	}
	if err := e.deprovision(); err != nil {
		t.Errorf("second deprovision: %v", err)
	}
}

func TestDeprovisionFailureResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, accounts.Settings{Region: "eu-west-1"}, staticKeys)
	if err := e.provision(); err != nil {
		t.Fatal(err)
	}
	e.fake.FailOnce(awsfake.DeleteBucketPolicy, http.StatusForbidden, "AccessDenied", "Access Denied")
	n := e.mark()
	err := e.deprovision()
	if domain.ErrorCode(err) != domain.Forbidden || !strings.Contains(domain.ErrorMessage(err), "access denied to the policy of bucket "+e.names.Bucket) {
		t.Fatalf("error %v (%s)", err, domain.ErrorCode(err))
	}
	if ops := opsOf(e.since(n)); ops != "UpdateCostAllocationTagsStatus DeleteExport DeleteBucketPolicy" {
		t.Errorf("first deprovision ran %s", ops)
	}
	n = e.mark()
	if err := e.deprovision(); err != nil {
		t.Fatal(err)
	}
	if ops := opsOf(e.since(n)); ops != "DeleteBucketPolicy ListObjectsV2 DeleteBucket" {
		t.Errorf("second deprovision ran %s", ops)
	}
}

func TestAssumesTheAccountRoleWithItsExternalID(t *testing.T) {
	t.Parallel()
	role := "arn:aws:iam::" + acct + ":role/TruecostProvisioning"
	e := newEnv(t, accounts.Settings{Region: "eu-west-1"}, connectors.Secret{"role_arn": role,
		"access_key_id": "AKIATRUECOST", "secret_access_key": "truecost-secret"})
	if err := e.provision(); err != nil {
		t.Fatal(err)
	}
	calls := e.fake.Requests()
	if calls[0].Op != awsfake.AssumeRole || calls[0].AccessKeyID != "AKIATRUECOST" {
		t.Fatalf("first request %s signed by %s, want AssumeRole by the account's keys", calls[0].Op, calls[0].AccessKeyID)
	}
	for _, s := range []string{"RoleArn=" + strings.ReplaceAll(strings.ReplaceAll(role, ":", "%3A"), "/", "%2F"), "ExternalId=tc-external-0001", "RoleSessionName=truecost-provisioning"} {
		if !strings.Contains(calls[0].Body, s) {
			t.Errorf("AssumeRole body %q lacks %s", calls[0].Body, s)
		}
	}
	for _, c := range calls[1:] {
		if c.Op == awsfake.AssumeRole {
			t.Errorf("role assumed again for a later step")
		}
		if c.AccessKeyID != "ASIAFAKEASSUMED" {
			t.Errorf("%s signed by %s, want the assumed role's credentials", c.Op, c.AccessKeyID)
		}
	}
}

func TestCloudErrorsBecomeDomainErrors(t *testing.T) {
	t.Parallel()
	role := "arn:aws:iam::" + acct + ":role/TruecostProvisioning"
	for _, tc := range []struct {
		name  string
		creds connectors.Secret
		setup func(*awsfake.Fake, awsprovision.Names)
		code  domain.Code
		msg   string
	}{
		{"bucket access denied", staticKeys, func(f *awsfake.Fake, n awsprovision.Names) {
			f.FailOnce(awsfake.CreateBucket, http.StatusForbidden, "AccessDenied", "Access Denied")
		}, domain.Forbidden, "access denied to bucket truecost-billing-" + acct + "-"},
		{"bucket name taken", staticKeys, func(f *awsfake.Fake, n awsprovision.Names) { f.ForeignBucket(n.Bucket) },
			domain.Conflict, "the name belongs to another AWS account"},
		{"role not assumable", connectors.Secret{"role_arn": role, "access_key_id": "AKIATRUECOST", "secret_access_key": "s"},
			func(f *awsfake.Fake, n awsprovision.Names) {
				f.FailOnce(awsfake.AssumeRole, http.StatusForbidden, "AccessDenied", "User is not authorized to perform: sts:AssumeRole")
			}, domain.Forbidden, "cannot assume role " + role + " with external ID tc-external-0001: User is not authorized to perform: sts:AssumeRole (AccessDenied)"},
		{"export invalid", staticKeys, func(f *awsfake.Fake, n awsprovision.Names) {
			f.FailOnce(awsfake.CreateExport, http.StatusBadRequest, "ValidationException", "Invalid column")
		}, domain.Invalid, "Data Exports export truecost-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, accounts.Settings{Region: "eu-west-1"}, tc.creds)
			tc.setup(e.fake, e.names)
			err := e.provision()
			if domain.ErrorCode(err) != tc.code || !strings.Contains(domain.ErrorMessage(err), tc.msg) {
				t.Errorf("error %q (%s), want %s containing %q", domain.ErrorMessage(err), domain.ErrorCode(err), tc.code, tc.msg)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	p := awsprovision.New(awsprovision.Config{})
	a := accounts.Account{ProviderAccountID: acct}
	for _, tc := range []struct {
		in      accounts.Settings
		want    accounts.Settings
		problem string
	}{
		{in: accounts.Settings{Region: " EU-West-1 "}, want: accounts.Settings{Region: "eu-west-1", ExportType: "cur2"}},
		{in: accounts.Settings{Region: "us-east-1", ExportType: "CUR", ProjectID: "x", Dataset: "y", RegisterExportProvider: true},
			want: accounts.Settings{Region: "us-east-1", ExportType: "cur"}},
		{in: accounts.Settings{Region: "ap-southeast-5", ExportType: "cur2"}, want: accounts.Settings{Region: "ap-southeast-5", ExportType: "cur2"}},
		{in: accounts.Settings{}, problem: "region: choose the AWS region"},
		{in: accounts.Settings{Region: "mars-north-1"}, problem: `"mars-north-1" is not an AWS commercial region`},
		{in: accounts.Settings{Region: "cn-north-1"}, problem: "not an AWS commercial region"},
		{in: accounts.Settings{Region: "ap-southeast-5", ExportType: "cur"}, problem: "legacy Cost and Usage Report cannot deliver to ap-southeast-5"},
		{in: accounts.Settings{Region: "eu-west-1", ExportType: "focus"}, problem: "export type: must be cur2"},
	} {
		s := tc.in
		err := p.Validate(&s, a)
		switch {
		case tc.problem != "":
			if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("Validate(%+v) = %v, want invalid: %s", tc.in, err, tc.problem)
			}
		case err != nil:
			t.Errorf("Validate(%+v): %v", tc.in, err)
		case s != tc.want:
			t.Errorf("Validate(%+v) gave %+v, want %+v", tc.in, s, tc.want)
		}
	}
}

// TestProvisionWithoutCredentialsNeverActsAsTruecost: an account with
// neither a role nor keys is refused before any call, rather than
// provisioned with Truecost's own identity.
func TestProvisionWithoutCredentialsNeverActsAsTruecost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, accounts.Settings{Region: "eu-west-1"}, connectors.Secret{})
	err := e.provision()
	if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(domain.ErrorMessage(err), "has no AWS credentials") {
		t.Fatalf("provision: %v (code %s), want invalid: no AWS credentials", err, domain.ErrorCode(err))
	}
	if calls := e.fake.Requests(); len(calls) != 0 {
		t.Errorf("%d calls made, want none", len(calls))
	}
}

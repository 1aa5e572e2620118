package azureprovision_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/truecost/truecost/adapters/azureprovision"
	"github.com/truecost/truecost/adapters/azureprovision/azurefake"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

const (
	sub     = "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f"
	infraID = "0194f7a2-3b4c-7d5e-8f60-718293a4b5c6"
	region  = "westeurope"
)

var (
	rg      = azureprovision.ResourceGroupName(infraID)
	sa      = azureprovision.StorageAccountName(infraID)
	export  = azureprovision.ExportName(infraID)
	now     = time.Date(2026, 11, 20, 10, 30, 15, 0, time.UTC)
	groupP  = "/subscriptions/" + sub + "/resourcegroups/" + rg
	storeID = "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Storage/storageAccounts/" + sa
	expP    = "/subscriptions/" + sub + "/providers/Microsoft.CostManagement/exports/" + export
	provP   = "/subscriptions/" + sub + "/providers/Microsoft.CostManagementExports"
)

// env is a fake Azure, optionally an Azurite for the blob container, and
// a provisioning request for one subscription.
type env struct {
	az  *azurefake.Server
	cfg azureprovision.Config
	p   *azureprovision.Provisioner
	req accounts.Request
	blb azurite
}

// newEnv sets up the fake; withAzurite puts the container in Azurite,
// otherwise in the fake's blob service.
func newEnv(t *testing.T, withAzurite bool, set accounts.Settings) *env {
	t.Helper()
	az := azurefake.New(t)
	e := &env{az: az}
	blob := az.BlobEndpoint()
	if withAzurite {
		e.blb = startAzurite(t, sa)
		blob = e.blb.endpoint
	}
	e.cfg = azureprovision.Config{ARMEndpoint: az.URL, AuthorityHost: az.URL, BlobEndpoint: blob,
		HTTPClient: az.Client(), PollInterval: time.Millisecond, Now: func() time.Time { return now }}
	e.p = azureprovision.New(e.cfg)
	acct := accounts.Account{ID: "acct-1", Provider: connectors.Azure, Name: "Production", ProviderAccountID: sub}
	if err := e.p.Validate(&set, acct); err != nil {
		t.Fatal(err)
	}
	e.req = accounts.Request{Infra: accounts.Infrastructure{ID: infraID, Provider: connectors.Azure, AccountID: acct.ID, Settings: set},
		Account: acct, Credentials: az.Credentials()}
	return e
}

// provision runs the steps the way accounts.Service does: steps in the
// ledger are skipped, the first failure stops.
func (e *env) provision(ctx context.Context) error {
	for _, st := range e.p.Steps(e.req) {
		if _, done := e.req.Infra.Resource(st.Name); done {
			continue
		}
		r, err := st.Run(ctx)
		if err != nil {
			return err
		}
		r.Step = st.Name
		e.req.Infra.Ledger = append(e.req.Infra.Ledger, r)
	}
	return nil
}

// deprovision removes the created resources in reverse order.
func (e *env) deprovision(ctx context.Context) error {
	l := e.req.Infra.Ledger
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].State != accounts.Created {
			continue
		}
		if err := e.p.Remove(ctx, e.req, l[i]); err != nil {
			return err
		}
		l[i].State = accounts.Deleted
	}
	return nil
}

func (e *env) states() string {
	var parts []string
	for _, r := range e.req.Infra.Ledger {
		parts = append(parts, r.Step+"="+string(r.State))
	}
	return strings.Join(parts, " ")
}

func (e *env) resource(t *testing.T, step string) accounts.Resource {
	t.Helper()
	r, ok := e.req.Infra.Resource(step)
	if !ok {
		t.Fatalf("no ledger entry for %s in %s", step, e.states())
	}
	return r
}

// canon re-encodes JSON with sorted keys, as the fake records bodies.
func canon(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON in test: %v\n%s", err, s)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func assertCalls(t *testing.T, got []azurefake.Call, want []string) {
	t.Helper()
	var g []string
	for _, c := range got {
		g = append(g, c.String())
	}
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n got:\n  %s\nwant:\n  %s", strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

var tagsJSON = `{"managed-by":"truecost","truecost-infrastructure":"` + infraID + `"}`

func groupPut(t *testing.T) string {
	return "PUT " + groupP + "?api-version=2021-04-01 " + canon(t, `{"location":"`+region+`","tags":`+tagsJSON+`}`)
}

func storagePut(t *testing.T) string {
	return "PUT " + storeID + "?api-version=2024-01-01 " + canon(t, `{"kind":"StorageV2","location":"`+region+`",
		"properties":{"allowBlobPublicAccess":false,"minimumTlsVersion":"TLS1_2","supportsHttpsTrafficOnly":true},
		"sku":{"name":"Standard_LRS"},"tags":`+tagsJSON+`}`)
}

func rolePut(t *testing.T, path string) string {
	return "PUT " + path + "?api-version=2022-04-01 " + canon(t, `{"properties":{
		"principalId":"`+azurefake.PrincipalID+`","principalType":"ServicePrincipal",
		"roleDefinitionId":"/subscriptions/`+sub+`/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"}}`)
}

func exportPut(t *testing.T) string {
	return "PUT " + expP + "?api-version=2024-08-01 " + canon(t, `{"properties":{
		"exportDescription":"Daily actual costs for Truecost",
		"schedule":{"status":"Active","recurrence":"Daily","recurrencePeriod":{"from":"2026-11-20T10:31:00Z","to":"2036-11-20T10:31:00Z"}},
		"format":"Csv","compressionMode":"gzip","dataOverwriteBehavior":"OverwritePreviousReport","partitionData":true,
		"deliveryInfo":{"destination":{"type":"AzureBlob","resourceId":"`+storeID+`","container":"cost-exports","rootFolderPath":"exports"}},
		"definition":{"type":"ActualCost","timeframe":"MonthToDate","dataSet":{"granularity":"Daily","configuration":{"dataVersion":"2021-10-01"}}}}}`)
}

func TestProvisionRegistersProviderThenDeprovisionRemovesAllInReverse(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true, accounts.Settings{Region: "West Europe", RegisterExportProvider: true})
	e.az.SetRegistrationPolls(1)
	e.az.SetOperationPolls(1)

	if err := e.provision(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := e.states(), "export-provider=created resource-group=created storage-account=created container=created blob-reader-role=created cost-export=created"; got != want {
		t.Fatalf("ledger: %s\nwant %s", got, want)
	}
	role := e.resource(t, azureprovision.StepReaderRole).ID
	assertCalls(t, e.az.Calls(), []string{
		"GET " + provP + "?api-version=2021-04-01",
		"POST " + provP + "/register?api-version=2021-04-01",
		"GET " + provP + "?api-version=2021-04-01",
		"GET " + provP + "?api-version=2021-04-01",
		"GET " + groupP + "?api-version=2021-04-01",
		groupPut(t),
		"GET " + storeID + "?api-version=2024-01-01",
		storagePut(t),
		"GET /subscriptions/" + sub + "/providers/Microsoft.Storage/locations/" + region + "/asyncoperations/op0001?api-version=2024-01-01",
		"GET /subscriptions/" + sub + "/providers/Microsoft.Storage/locations/" + region + "/asyncoperations/op0001?api-version=2024-01-01",
		"POST " + storeID + "/listKeys?api-version=2024-01-01",
		rolePut(t, role),
		"GET " + expP + "?api-version=2024-08-01",
		exportPut(t),
		"POST " + expP + "/run?api-version=2024-08-01",
	})
	if !e.blb.containerExists(t, azureprovision.Container) {
		t.Error("the container was not created in the storage account")
	}
	if p := e.resource(t, azureprovision.StepExportProvider); p.Note != "registered by Truecost" || p.ID != azureprovision.ExportProvider {
		t.Errorf("provider entry %+v", p)
	}
	if g := e.resource(t, azureprovision.StepResourceGroup); g.ID != "/subscriptions/"+sub+"/resourceGroups/"+rg || g.Region != region {
		t.Errorf("resource group entry %+v", g)
	}
	if !strings.HasPrefix(role, storeID+"/providers/Microsoft.Authorization/roleAssignments/") {
		t.Errorf("role assignment ID %s", role)
	}
	if m := e.p.Manual(e.req.Infra); m != nil {
		t.Errorf("Manual = %q, want nothing once the role is assigned", m)
	}

	in := e.p.Connector(e.req)
	want := connectors.Input{Provider: connectors.Azure, Name: azureprovision.ConnectorName,
		Config: connectors.Config{AzureCloud: "default", StorageAccount: sa, Container: "cost-exports", Path: "exports",
			Endpoint: strings.ReplaceAll(e.blb.endpoint, "{account}", sa)},
		Secret: connectors.Secret{"tenant_id": azurefake.TenantID, "client_id": azurefake.ClientID, "client_secret": azurefake.ClientSecret}}
	if fmt.Sprint(in) != fmt.Sprint(want) {
		t.Errorf("connector:\n got %+v\nwant %+v", in, want)
	}

	e.az.ClearCalls()
	if err := e.deprovision(ctx); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, e.az.Calls(), []string{
		"DELETE " + expP + "?api-version=2024-08-01",
		"DELETE " + role + "?api-version=2022-04-01",
		"POST " + storeID + "/listKeys?api-version=2024-01-01",
		"DELETE " + storeID + "?api-version=2024-01-01",
		"DELETE " + groupP + "?api-version=2021-04-01",
		"GET /subscriptions/" + sub + "/operationresults/op0002?api-version=2021-04-01",
		"GET /subscriptions/" + sub + "/operationresults/op0002?api-version=2021-04-01",
		"POST " + provP + "/unregister?api-version=2021-04-01",
	})
	if left := e.az.Resources(); len(left) != 0 {
		t.Errorf("left in Azure: %q", left)
	}
	if e.blb.containerExists(t, azureprovision.Container) {
		t.Error("the container is still there")
	}
}

func TestProvisionLeavesRegisteredProviderAlone(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false, accounts.Settings{Region: region, RegisterExportProvider: true})
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registered")

	if err := e.provision(ctx); err != nil {
		t.Fatal(err)
	}
	p := e.resource(t, azureprovision.StepExportProvider)
	if p.State != accounts.Kept || p.Note != "already registered; nothing to do" {
		t.Errorf("provider entry %+v, want kept with a note", p)
	}
	calls := e.az.Calls()
	if len(calls) == 0 || calls[0].String() != "GET "+provP+"?api-version=2021-04-01" {
		t.Fatalf("first request %v, want the registration state read", calls)
	}
	for _, c := range calls {
		if strings.Contains(c.Path, "/register") {
			t.Errorf("registered again: %s", c)
		}
	}

	e.az.ClearCalls()
	if err := e.deprovision(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.az.Calls() {
		if strings.Contains(c.Path, "/unregister") {
			t.Errorf("unregistered a provider Truecost did not register: %s", c)
		}
	}
	if got := e.az.ProviderState(sub, azureprovision.ExportProvider); got != "Registered" {
		t.Errorf("provider state %s after deprovisioning, want Registered", got)
	}
}

func TestRegistrationUnderWayIsAwaitedAndKept(t *testing.T) {
	e := newEnv(t, false, accounts.Settings{Region: region})
	e.az.SetRegistrationPolls(2)
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registering")
	if err := e.provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := e.resource(t, azureprovision.StepExportProvider); p.State != accounts.Kept || !strings.Contains(p.Note, "already under way") {
		t.Errorf("provider entry %+v, want kept", p)
	}
	var reads int
	for _, c := range e.az.Calls() {
		if c.String() == "GET "+provP+"?api-version=2021-04-01" {
			reads++
		}
	}
	if reads != 3 {
		t.Errorf("%d reads of the registration state, want 3 (first look, once more while registering, registered)", reads)
	}
}

func TestSlowRegistrationIsCreatedWithANote(t *testing.T) {
	e := newEnv(t, false, accounts.Settings{Region: region, RegisterExportProvider: true})
	e.az.SetRegistrationPolls(1 << 30)
	e.cfg.RegistrationTimeout = 20 * time.Millisecond
	e.p = azureprovision.New(e.cfg)
	err := e.provision(context.Background())
	if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(domain.ErrorMessage(err), "not registered to use namespace 'Microsoft.CostManagementExports'") {
		t.Fatalf("error %v, want the export refused while the provider registers", err)
	}
	if p := e.resource(t, azureprovision.StepExportProvider); p.State != accounts.Created || !strings.Contains(p.Note, "had not finished") {
		t.Errorf("provider entry %+v, want created with a note", p)
	}
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registered")
	if err := e.provision(context.Background()); err != nil {
		t.Fatalf("retry once registered: %v", err)
	}
}

func TestProvisionWithoutRegistrationExplainsHowToRegister(t *testing.T) {
	e := newEnv(t, false, accounts.Settings{Region: region})
	err := e.provision(context.Background())
	if domain.ErrorCode(err) != domain.Invalid {
		t.Fatalf("error %v, want invalid", err)
	}
	msg := domain.ErrorMessage(err)
	for _, want := range []string{"Microsoft.CostManagementExports", "not registered", sub, "Resource providers", "az provider register --namespace Microsoft.CostManagementExports"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	assertCalls(t, e.az.Calls(), []string{"GET " + provP + "?api-version=2021-04-01"})
	if len(e.req.Infra.Ledger) != 0 {
		t.Errorf("ledger %s, want empty", e.states())
	}
}

func TestRetryContinuesAtTheStepThatFailed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true, accounts.Settings{Region: region, RegisterExportProvider: true})
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registered")
	e.az.FailOnce(azurefake.StoragePut)

	err := e.provision(ctx)
	if domain.ErrorCode(err) != domain.Forbidden || !strings.Contains(domain.ErrorMessage(err), "access denied to storage account "+sa) ||
		!strings.Contains(domain.ErrorMessage(err), "does not have authorization") {
		t.Fatalf("error %v, want forbidden naming the storage account with Azure's message", err)
	}
	if got := e.states(); got != "export-provider=kept resource-group=created" {
		t.Fatalf("ledger after the failure: %s", got)
	}

	e.az.ClearCalls()
	if err := e.provision(ctx); err != nil {
		t.Fatal(err)
	}
	calls := e.az.Calls()
	want := []string{"GET " + storeID + "?api-version=2024-01-01", storagePut(t)}
	if len(calls) < 2 {
		t.Fatalf("retry sent %v", calls)
	}
	assertCalls(t, calls[:2], want)
	for _, c := range calls {
		if strings.Contains(c.Path, "/resourcegroups/"+rg) && !strings.Contains(c.Path, "/storageAccounts") || strings.HasSuffix(c.Path, "Microsoft.CostManagementExports") {
			t.Errorf("retry redid an earlier step: %s", c)
		}
	}
	if got := e.states(); got != "export-provider=kept resource-group=created storage-account=created container=created blob-reader-role=created cost-export=created" {
		t.Errorf("ledger after the retry: %s", got)
	}
	if !e.blb.containerExists(t, azureprovision.Container) {
		t.Error("no container after the retry")
	}
}

func TestRetryAfterLostAnswersReusesWhatExists(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false, accounts.Settings{Region: region})
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registered")
	// The export fails once its resources exist, so the storage account,
	// container and role are there when provisioning runs again on a
	// ledger that lost them.
	e.az.FailOnce(azurefake.ExportGet)
	if err := e.provision(ctx); err == nil {
		t.Fatal("want the injected failure")
	}
	e.req.Infra.Ledger = e.req.Infra.Ledger[:2]
	if err := e.provision(ctx); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{azureprovision.StepStorageAccount, azureprovision.StepContainer} {
		if r := e.resource(t, step); r.State != accounts.Created || r.Note != "created by an earlier attempt" {
			t.Errorf("%s: %+v, want created by an earlier attempt", step, r)
		}
	}
	if r := e.resource(t, azureprovision.StepReaderRole); r.State != accounts.Created {
		t.Errorf("role: %+v, want created (the same assignment again)", r)
	}
}

func TestRoleSomeoneElseAssignedIsKept(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false, accounts.Settings{Region: region})
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registered")
	e.az.Fail(azurefake.RoleAssignmentPut, 1, 400, "InvalidRoleAssignmentRequest", "injected")
	if err := e.provision(ctx); domain.ErrorCode(err) != domain.Invalid {
		t.Fatalf("error %v, want the injected failure", err)
	}
	e.az.AddRoleAssignment(storeID, "11111111-2222-4333-8444-555555555555", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", azurefake.PrincipalID)
	if err := e.provision(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.resource(t, azureprovision.StepReaderRole); r.State != accounts.Kept || r.ID != storeID {
		t.Errorf("role: %+v, want kept on the storage account", r)
	}
}

func TestExistingResourceGroupIsUsedAndKept(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false, accounts.Settings{Region: region})
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registered")
	e.az.AddResourceGroup(sub, rg, region, map[string]string{"owner": "finance"})

	if err := e.provision(ctx); err != nil {
		t.Fatal(err)
	}
	if g := e.resource(t, azureprovision.StepResourceGroup); g.State != accounts.Kept {
		t.Errorf("resource group %+v, want kept", g)
	}
	for _, c := range e.az.Calls() {
		if c.Method == "PUT" && strings.HasSuffix(c.Path, "/resourcegroups/"+rg) {
			t.Errorf("changed the existing resource group: %s", c)
		}
	}
	if err := e.deprovision(ctx); err != nil {
		t.Fatal(err)
	}
	if left := e.az.Resources(); fmt.Sprint(left) != fmt.Sprint([]string{"/subscriptions/" + sub + "/resourceGroups/" + rg}) {
		t.Errorf("left in Azure %q, want only the resource group that was there", left)
	}
}

func TestRoleLeftToUserWhenPrincipalMayNotAssignRoles(t *testing.T) {
	e := newEnv(t, false, accounts.Settings{Region: region})
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registered")
	e.az.Fail(azurefake.RoleAssignmentPut, -1, 403, "AuthorizationFailed", "does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write'")

	if err := e.provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.resource(t, azureprovision.StepReaderRole)
	if r.State != accounts.Kept || len(r.Items) != 1 || r.Items[0].State != "manual" {
		t.Errorf("role entry %+v, want kept with a manual item", r)
	}
	e.req.Infra.State = accounts.StateProvisioned
	m := strings.Join(e.p.Manual(e.req.Infra), "\n")
	for _, want := range []string{"Storage Blob Data Reader", sa, "az role assignment create", "--scope " + storeID} {
		if !strings.Contains(m, want) {
			t.Errorf("manual steps do not say %q:\n%s", want, m)
		}
	}
	if e.resource(t, azureprovision.StepCostExport).State != accounts.Created {
		t.Error("the export was not created after the role step")
	}
}

func TestWrongSecretIsUnauthorized(t *testing.T) {
	e := newEnv(t, false, accounts.Settings{Region: region, RegisterExportProvider: true})
	e.req.Credentials["client_secret"] = "wrong"
	err := e.provision(context.Background())
	if domain.ErrorCode(err) != domain.Unauthorized || !strings.Contains(domain.ErrorMessage(err), "AADSTS7000215") {
		t.Fatalf("error %v, want unauthorized with Entra ID's reason", err)
	}
	if strings.Contains(domain.ErrorMessage(err), "wrong") {
		t.Errorf("message %q shows the secret", domain.ErrorMessage(err))
	}
	if n := len(e.az.Calls()); n != 0 {
		t.Errorf("%d Resource Manager requests without a token", n)
	}
}

func TestMissingServicePrincipalIsInvalid(t *testing.T) {
	e := newEnv(t, false, accounts.Settings{Region: region})
	e.req.Credentials = connectors.Secret{"tenant_id": azurefake.TenantID}
	if err := e.provision(context.Background()); domain.ErrorCode(err) != domain.Invalid {
		t.Fatalf("error %v, want invalid", err)
	}
}

func TestFailedFirstRunIsANoteNotAFailure(t *testing.T) {
	e := newEnv(t, false, accounts.Settings{Region: region})
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registered")
	e.az.FailOnce(azurefake.ExportRun)
	if err := e.provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.resource(t, azureprovision.StepCostExport)
	if r.State != accounts.Created || !strings.Contains(r.Note, "starting the first run now failed") {
		t.Errorf("export entry %+v, want created with a note on the first run", r)
	}
}

func TestExportOfTheSameNameWritingElsewhereIsAConflict(t *testing.T) {
	e := newEnv(t, false, accounts.Settings{Region: region})
	e.az.SetProviderState(sub, azureprovision.ExportProvider, "Registered")
	e.az.AddExport(sub, export, "/subscriptions/"+sub+"/resourceGroups/finance/providers/Microsoft.Storage/storageAccounts/finance")
	err := e.provision(context.Background())
	if domain.ErrorCode(err) != domain.Conflict || !strings.Contains(domain.ErrorMessage(err), "finance") {
		t.Fatalf("error %v, want a conflict naming where the export writes", err)
	}
	if got := e.states(); got != "export-provider=kept resource-group=created storage-account=created container=created blob-reader-role=created" {
		t.Errorf("ledger %s", got)
	}
}

func TestValidateFillsTheRegion(t *testing.T) {
	p := azureprovision.New(azureprovision.Config{})
	acct := accounts.Account{Name: "Prod", Provider: connectors.Azure, ProviderAccountID: sub}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "eastus", true},
		{"West Europe", "westeurope", true},
		{"SOUTHEASTASIA", "southeastasia", true},
		{"europe-west1", "", false},
		{"mars", "", false},
	}
	for _, tc := range tests {
		s := accounts.Settings{Region: tc.in, ExportType: "cur", ProjectID: "p", Dataset: "d", RegisterExportProvider: true}
		err := p.Validate(&s, acct)
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil {
			if domain.ErrorCode(err) != domain.Invalid {
				t.Errorf("Validate(%q): %v, want invalid", tc.in, err)
			}
			continue
		}
		if s.Region != tc.want || s.ExportType != "" || s.ProjectID != "" || s.Dataset != "" || !s.RegisterExportProvider {
			t.Errorf("Validate(%q) = %+v, want region %s and only Azure settings", tc.in, s, tc.want)
		}
	}
	if err := p.Validate(&accounts.Settings{}, accounts.Account{Provider: connectors.AWS}); domain.ErrorCode(err) != domain.Invalid {
		t.Errorf("an AWS account: %v, want invalid", err)
	}
}

func TestNamesAreStableAndValid(t *testing.T) {
	if azureprovision.StorageAccountName(infraID) != sa || len(sa) != 24 || strings.Trim(sa, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("storage account name %q", sa)
	}
	if azureprovision.StorageAccountName("other") == sa || azureprovision.ResourceGroupName("other") == rg {
		t.Error("two infrastructures share names")
	}
	if !strings.HasPrefix(rg, "truecost-billing-") || !strings.HasPrefix(export, "truecost-billing-") {
		t.Errorf("names %s, %s", rg, export)
	}
}

// staticToken is a credential that always gives one token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestCredentialOverrideSignsRequests(t *testing.T) {
	e := newEnv(t, false, accounts.Settings{Region: region, RegisterExportProvider: true})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.az.CertificatePEM()) {
		t.Fatal("the fake's certificate is not PEM")
	}
	e.cfg.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	e.cfg.Credential = staticToken("not-a-token-the-fake-issued")
	e.p = azureprovision.New(e.cfg)
	e.req.Credentials = nil
	err := e.provision(context.Background())
	if domain.ErrorCode(err) != domain.Unauthorized || !strings.Contains(domain.ErrorMessage(err), "The access token is invalid") {
		t.Fatalf("error %v, want unauthorized with Azure's message", err)
	}
	if e.az.TokenRequests() != 0 {
		t.Error("signed in with the account's secret despite the credential given")
	}
}

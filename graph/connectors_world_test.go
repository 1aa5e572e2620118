package graph_test

import (
	"errors"

	"context"
	"crypto/rand"
	"encoding/json"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/background"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph"
)

// awsPrincipal is the identity the API is told Truecost reads AWS as.
const awsPrincipal = "arn:aws:iam::999999999999:role/truecost-reader"

// Credentials given to connectors in these tests; no answer may hold them.
const (
	roleARN         = "arn:aws:iam::123456789012:role/TruecostBillingRead"
	accessKeyID     = "AKIAEXAMPLEKEYID0001"
	secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var secretValues = []string{roleARN, accessKeyID, secretAccessKey}

// apiWorld is Truecost with the real connector service over a real store
// and a real AES sealer, reached through HTTP. Reseller "north" has
// customer "acme"; "globex" is a direct customer. acme and globex each have
// an admin and a member; north has an admin.
type apiWorld struct {
	url                       string
	north, acme, globex       tenancy.Organization
	acmeAdmin, acmeMember     string
	globexAdmin, globexMember string
	northAdmin                string
	// secrets are the credentials the tests send; no answer may hold one.
	secrets []string

	store  *sqlstore.Store
	rights *tenancy.Rights
	tn     *tenancy.Service
	sealer connectors.Sealer
	conns  *connectors.Service
}

// newAPIWorld creates the organizations and users, and the connector
// service reading sources; serve then starts the API.
func newAPIWorld(t *testing.T, store *sqlstore.Store, sources connectors.SourceFactory, secrets []string) *apiWorld {
	t.Helper()
	rights := tenancy.NewRights(store)
	tn := tenancy.NewService(store, rights)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := connectors.NewAESSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	conns := connectors.NewService(connectors.Deps{Store: store, Rights: rights, Sealer: sealer, Sources: sources,
		Ingester: billing.NewIngester(store, tenancy.NewID), NewID: tenancy.NewID})
	w := &apiWorld{secrets: secrets, store: store, rights: rights, tn: tn, sealer: sealer, conns: conns}
	w.north, w.acme, w.globex = createOrgs(t, tn)
	w.acmeAdmin = roleToken(t, tn, "ada@acme.test", "acme", tenancy.Admin)
	w.acmeMember = roleToken(t, tn, "max@acme.test", "acme", tenancy.Member)
	w.globexAdmin = roleToken(t, tn, "gia@globex.test", "globex", tenancy.Admin)
	w.globexMember = roleToken(t, tn, "gus@globex.test", "globex", tenancy.Member)
	w.northAdmin = roleToken(t, tn, "nia@north.test", "north", tenancy.Admin)
	return w
}

// serve starts the API until the test ends; deps adds to the world's
// tenancy, reports and runs, and connectors.
func (w *apiWorld) serve(t *testing.T, deps graph.Deps) {
	t.Helper()
	deps.Tenancy = w.tn
	deps.Reporter = billing.NewReporter(w.store, w.store, w.rights)
	deps.Connectors = w.conns
	bg := background.Deps{Store: w.store, Runner: goRunner{}, Rights: w.rights, Connectors: w.conns, NewID: tenancy.NewID,
		Logger: discardLogger()}
	if deps.Accounts != nil {
		bg.Accounts = deps.Accounts
	}
	deps.Background = background.NewService(bg)
	deps.AWSPrincipal = awsPrincipal
	deps.Logger = discardLogger()
	srv := httptest.NewServer(graph.NewHandler(deps))
	t.Cleanup(srv.Close)
	w.url = srv.URL + "/graphql"
}

// createOrgs creates reseller "north", its customer "acme" and the direct
// customer "globex".
func createOrgs(t *testing.T, tn *tenancy.Service) (north, acme, globex tenancy.Organization) {
	t.Helper()
	ctx := context.Background()
	var err error
	if north, err = tn.CreateOrganization(ctx, system, "north", "North Reseller", tenancy.Reseller, ""); err != nil {
		t.Fatal(err)
	}
	if acme, err = tn.CreateOrganization(ctx, system, "acme", "Acme", tenancy.Customer, "north"); err != nil {
		t.Fatal(err)
	}
	if globex, err = tn.CreateOrganization(ctx, system, "globex", "Globex", tenancy.Customer, ""); err != nil {
		t.Fatal(err)
	}
	return north, acme, globex
}

// connectorWorld is an apiWorld whose connector sources come from
// fakeSources.
type connectorWorld struct {
	*apiWorld
	sources *fakeSources
}

func newConnectorWorld(t *testing.T, store *sqlstore.Store) *connectorWorld {
	t.Helper()
	sources := &fakeSources{secrets: make(map[string]connectors.Secret)}
	w := &connectorWorld{apiWorld: newAPIWorld(t, store, sources, secretValues), sources: sources}
	w.serve(t, graph.Deps{})
	return w
}

func roleToken(t *testing.T, tn *tenancy.Service, email, org string, role tenancy.Role) string {
	t.Helper()
	ctx := context.Background()
	u, err := tn.CreateUser(ctx, system, email, org, role, "")
	if err != nil {
		t.Fatal(err)
	}
	token, err := tn.IssueToken(ctx, system, u, "test")
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// do sends an operation as the holder of token, checks that the answer
// holds none of the world's credentials (as sent or escaped in JSON), and
// decodes data into out when there are no errors.
func (w *apiWorld) do(t *testing.T, token, query string, vars map[string]any, out any) gqlResponse {
	t.Helper()
	status, resp, raw := post(t, w.url, query, vars, bearer(token))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, raw)
	}
	if aj, ok := jobQueries[query]; ok && len(resp.Errors) == 0 {
		resp, raw = w.awaitJob(t, token, aj, resp)
	}
	for _, s := range w.secrets {
		for _, form := range []string{s, strings.ReplaceAll(s, "/", `\/`), strings.ReplaceAll(s, "\n", `\n`), strings.ReplaceAll(s, `"`, `\"`)} {
			if strings.Contains(raw, form) {
				t.Errorf("answer holds the credential %q: %s", s, raw)
			}
		}
	}
	if len(resp.Errors) == 0 && out != nil {
		if err := json.Unmarshal(resp.Data, out); err != nil {
			t.Fatalf("decode %s: %v", resp.Data, err)
		}
	}
	return resp
}

// must is do for operations expected to succeed.
func (w *apiWorld) must(t *testing.T, token, query string, vars map[string]any, out any) {
	t.Helper()
	if resp := w.do(t, token, query, vars, out); len(resp.Errors) > 0 {
		t.Fatalf("errors: %+v", resp.Errors)
	}
}

// refused checks that an answer is exactly one error with code and no data
// (null, or null in its one nullable field), and returns its message.
func refused(t *testing.T, resp gqlResponse, code string) string {
	t.Helper()
	if got := resp.codes(); len(got) != 1 || got[0] != code {
		t.Fatalf("codes = %v, want [%s]; errors %+v", got, code, resp.Errors)
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(resp.Data, &fields)
	for _, v := range fields {
		if string(v) != "null" {
			t.Errorf("data = %s, want null", resp.Data)
		}
	}
	return resp.Errors[0].Message
}

const connectorFields = `id organizationId provider name location format enabled status
  lastSyncAt lastError lastRows lastPeriod hasSecret awsExternalId awsTrustPolicy createdAt
  config { awsAccountId bucket path fileType region endpoint azureCloud storageAccount container
    billingAccountId projectId dataset table resultProject resultRegion resultDataset resultBucket
    tenancyOcid userOcid fingerprint }`

// apiConnector is a Connector as a client decodes it.
type apiConnector struct {
	ID             string             `json:"id"`
	OrganizationID string             `json:"organizationId"`
	Provider       string             `json:"provider"`
	Name           string             `json:"name"`
	Location       string             `json:"location"`
	Format         string             `json:"format"`
	Enabled        bool               `json:"enabled"`
	Status         string             `json:"status"`
	LastSyncAt     *string            `json:"lastSyncAt"`
	LastError      *string            `json:"lastError"`
	LastRows       int                `json:"lastRows"`
	LastPeriod     *string            `json:"lastPeriod"`
	HasSecret      bool               `json:"hasSecret"`
	AWSExternalID  *string            `json:"awsExternalId"`
	AWSTrustPolicy *string            `json:"awsTrustPolicy"`
	CreatedAt      string             `json:"createdAt"`
	Config         map[string]*string `json:"config"`
}

var (
	createConnector = `mutation($org: ID, $in: ConnectorInput!) { createConnector(organizationId: $org, input: $in) { ` + connectorFields + ` } }`
	updateConnector = `mutation($org: ID, $id: ID!, $in: ConnectorInput!) { updateConnector(organizationId: $org, id: $id, input: $in) { ` + connectorFields + ` } }`
	deleteConnector = `mutation($org: ID, $id: ID!) { deleteConnector(organizationId: $org, id: $id) }`
	getConnector    = `query($org: ID, $id: ID!) { connector(organizationId: $org, id: $id) { ` + connectorFields + ` } }`
	listConnectors  = `query($org: ID) { connectors(organizationId: $org) { ` + connectorFields + ` } }`
	testConnector   = asJob(`mutation($org: ID, $id: ID!) { testConnector(organizationId: $org, id: $id) { id } }`,
		"testConnector", `connectorTest { format fileCount totalBytes parts { period version files { name size } } }`)
	syncConnector = asJob(`mutation($org: ID, $id: ID!) { syncConnector(organizationId: $org, id: $id) { id } }`,
		"syncConnector", `ingestionRun { id organizationId connectorId status format rows periods totals { amount currency } error }`)
)

// awsInput is a valid AWS connector input with a role to assume.
func awsInput(name string) map[string]any {
	return map[string]any{
		"provider": "AWS",
		"name":     name,
		"config":   map[string]any{"awsAccountId": "123456789012", "bucket": "acme-billing", "path": "/exports/focus/"},
		"secret":   map[string]any{"roleArn": roleARN},
	}
}

// create makes an AWS connector as token in org ("" for the caller's own).
func (w *connectorWorld) create(t *testing.T, token, org, name string) apiConnector {
	t.Helper()
	var out struct {
		CreateConnector apiConnector `json:"createConnector"`
	}
	w.must(t, token, createConnector, map[string]any{"org": nullable(org), "in": awsInput(name)}, &out)
	return out.CreateConnector
}

func (w *connectorWorld) get(t *testing.T, token, org, id string) apiConnector {
	t.Helper()
	var out struct {
		Connector apiConnector `json:"connector"`
	}
	w.must(t, token, getConnector, map[string]any{"org": nullable(org), "id": id}, &out)
	return out.Connector
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// fakeSources opens fakeFOCUS sources and remembers the secret each
// connector was opened with. A connector whose path is "broken" serves a
// file with an unreadable number.
type fakeSources struct {
	mu      sync.Mutex
	secrets map[string]connectors.Secret
}

func (f *fakeSources) Source(_ context.Context, c connectors.Connector, sec connectors.Secret) (billing.Source, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[c.ID] = sec
	return fakeFOCUS{broken: c.Config.Path == "broken", unreachable: c.Config.Path == "unreachable"}, nil
}

func (f *fakeSources) secret(id string) connectors.Secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secrets[id]
}

// fakeFOCUS holds August and September 2026, one part each of two files;
// each part reads as a charge of 10.25 USD and a credit of -0.25 USD.
// An unreachable one fails its scan as a cloud that does not answer does.
type fakeFOCUS struct{ broken, unreachable bool }

var fakePeriods = []time.Time{
	time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
}

func (s fakeFOCUS) Scan(context.Context) (billing.Manifest, error) {
	if s.unreachable {
		return billing.Manifest{}, domain.WrapError(domain.Unavailable, errors.New("dial tcp 10.9.8.7:443: i/o timeout"),
			"list objects in acme-billing: s3.amazonaws.com did not answer within 30s")
	}
	m := billing.Manifest{Format: "focus"}
	for _, p := range fakePeriods {
		month := p.Format("2006-01")
		m.Parts = append(m.Parts, billing.Part{Period: p, Version: "v1-" + month, Files: []billing.SourceFile{
			{Name: "exports/focus/" + month + "/part-0.csv.gz", Size: 1200},
			{Name: "exports/focus/" + month + "/part-1.csv.gz", Size: 800},
		}})
	}
	return m, nil
}

func (s fakeFOCUS) Read(_ context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	if s.broken {
		return domain.Errorf(domain.Invalid, "%s line 2 column BilledCost: %q is not a number", p.Files[0].Name, "1,5")
	}
	for i, cost := range []string{"10.25", "-0.25"} {
		l := billing.LineItem{
			BillingPeriodStart: p.Period, BillingPeriodEnd: p.Period.AddDate(0, 1, 0),
			ChargePeriodStart: p.Period.AddDate(0, 0, i), ChargePeriodEnd: p.Period.AddDate(0, 0, i+1),
			BillingCurrency: "USD", BilledCost: billing.Number(cost), EffectiveCost: billing.Number(cost),
			ProviderName: "AWS", ChargeCategory: []string{"Usage", "Credit"}[i],
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	var size int64
	for _, f := range p.Files {
		size += f.Size
	}
	progress(size)
	return nil
}

var _ connectors.SourceFactory = (*fakeSources)(nil)

package graph_test

import (
	"context"
	"encoding/csv"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph"
)

const sampleCSV = "testdata/focus_sample.csv"

// world is a Truecost over a real store, reached through HTTP:
//   - reseller "north" with customer "acme", who holds the FOCUS sample (USD)
//     and the sample's first rows again in EUR from a second connector;
//   - "globex", a direct customer outside the reseller, holding other rows in
//     GBP.
type world struct {
	url                    string
	acme, globex, north    tenancy.Organization
	acmeToken, globexToken string
	northToken             string
	acmeAdminToken         string
	acmeSession, acmeCSRF  string
	// want holds what the source files say: BilledCost per currency and
	// provider for acme.
	want map[string]map[string]decimal.Decimal
}

func newWorld(t *testing.T, store *sqlstore.Store) *world {
	t.Helper()
	ctx := context.Background()
	rights := tenancy.NewRights(store)
	tn := tenancy.NewService(store, rights)
	conns := connectors.NewService(connectors.Deps{Store: store, Rights: rights, Sources: localSources{},
		Ingester: billing.NewIngester(store, tenancy.NewID), NewID: tenancy.NewID})
	w := &world{}

	w.north, w.acme, w.globex = createOrgs(t, tn)
	w.acmeToken = userToken(t, tn, "ana@acme.test", "acme", "")
	w.globexToken = userToken(t, tn, "gus@globex.test", "globex", "")
	w.northToken = userToken(t, tn, "nia@north.test", "north", "")
	userToken(t, tn, "web@acme.test", "acme", "correct horse battery")
	admin, err := tn.CreateUser(ctx, system, "ada@acme.test", "acme", tenancy.Admin, "")
	if err != nil {
		t.Fatal(err)
	}
	if w.acmeAdminToken, err = tn.IssueToken(ctx, system, admin, "test"); err != nil {
		t.Fatal(err)
	}
	cookie, sess, _, err := tn.Login(ctx, "web@acme.test", "correct horse battery", "")
	if err != nil {
		t.Fatal(err)
	}
	w.acmeSession, w.acmeCSRF = cookie, sess.CSRF

	header, rows := readCSV(t, sampleCSV)
	dir := t.TempDir()
	eurFile := filepath.Join(dir, "eur", "focus_eur.csv")
	gbpFile := filepath.Join(dir, "gbp", "focus_gbp.csv")
	writeCSV(t, eurFile, header, withCurrency(header, rows[:50], "EUR"))
	writeCSV(t, gbpFile, header, withCurrency(header, rows[500:530], "GBP"))

	ingest := func(org tenancy.Organization, path string) {
		t.Helper()
		if _, err := conns.IngestLocal(ctx, system, org.ID, path, "focus", nil); err != nil {
			t.Fatalf("ingest %s: %v", path, err)
		}
	}
	ingest(w.acme, sampleCSV)
	ingest(w.acme, eurFile)
	ingest(w.globex, gbpFile)

	w.want = billedByCurrencyAndProvider(t, header, rows)
	for cur, byProvider := range billedByCurrencyAndProvider(t, header, withCurrency(header, rows[:50], "EUR")) {
		w.want[cur] = byProvider
	}

	srv := httptest.NewServer(graph.NewHandler(graph.Deps{
		Tenancy:    tn,
		Reporter:   billing.NewReporter(store, store, rights),
		Connectors: conns,
		Logger:     discardLogger(),
	}))
	t.Cleanup(srv.Close)
	w.url = srv.URL + "/graphql"
	return w
}

// system is the caller the tests set their worlds up as, the way the
// command line does.
var system = tenancy.SystemPrincipal("test")

// localSources opens local connectors' files; the store tests ingest
// nothing else.
type localSources struct{}

func (localSources) Source(_ context.Context, c connectors.Connector, _ connectors.Secret) (billing.Source, error) {
	if c.Provider != connectors.Local {
		return nil, domain.Errorf(domain.Unavailable, "only local sources in this test")
	}
	return localfiles.New(c.Location, c.Format)
}

func userToken(t *testing.T, tn *tenancy.Service, email, org, password string) string {
	t.Helper()
	ctx := context.Background()
	u, err := tn.CreateUser(ctx, system, email, org, tenancy.Member, password)
	if err != nil {
		t.Fatal(err)
	}
	token, err := tn.IssueToken(ctx, system, u, "test")
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return all[0], all[1:]
}

func writeCSV(t *testing.T, path string, header []string, rows [][]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	cw := csv.NewWriter(f)
	_ = cw.Write(header)
	_ = cw.WriteAll(rows)
	if err := f.Close(); err != nil || cw.Error() != nil {
		t.Fatal(err, cw.Error())
	}
}

func column(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %s", name)
	return -1
}

// withCurrency returns copies of rows billed in currency.
func withCurrency(header []string, rows [][]string, currency string) [][]string {
	col := -1
	for i, h := range header {
		if h == "BillingCurrency" {
			col = i
		}
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = append([]string(nil), r...)
		out[i][col] = currency
	}
	return out
}

// billedByCurrencyAndProvider sums BilledCost straight from CSV rows.
func billedByCurrencyAndProvider(t *testing.T, header []string, rows [][]string) map[string]map[string]decimal.Decimal {
	t.Helper()
	billed, cur, prov := column(t, header, "BilledCost"), column(t, header, "BillingCurrency"), column(t, header, "ProviderName")
	out := make(map[string]map[string]decimal.Decimal)
	for _, r := range rows {
		d, err := decimal.NewFromString(r[billed])
		if err != nil {
			t.Fatalf("BilledCost %q: %v", r[billed], err)
		}
		if out[r[cur]] == nil {
			out[r[cur]] = make(map[string]decimal.Decimal)
		}
		out[r[cur]][r[prov]] = out[r[cur]][r[prov]].Add(d)
	}
	return out
}

func sum(m map[string]decimal.Decimal) decimal.Decimal {
	var s decimal.Decimal
	for _, d := range m {
		s = s.Add(d)
	}
	return s
}

// costReport is the answer to costsQuery as a client decodes it.
type costReport struct {
	Costs struct {
		Totals []money `json:"totals"`
		Groups []struct {
			Keys []struct {
				Dimension string  `json:"dimension"`
				Value     *string `json:"value"`
				Label     *string `json:"label"`
			} `json:"keys"`
			Total  money `json:"total"`
			Points []struct {
				Date   string `json:"date"`
				Amount string `json:"amount"`
			} `json:"points"`
		} `json:"groups"`
		Others []money `json:"others"`
	} `json:"costs"`
}

type money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

func dec(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatalf("amount %q is not a decimal string: %v", s, err)
	}
	return d
}

// totals returns a report's totals by currency.
func totals(t *testing.T, rep costReport) map[string]decimal.Decimal {
	t.Helper()
	out := make(map[string]decimal.Decimal)
	for _, m := range rep.Costs.Totals {
		if _, dup := out[m.Currency]; dup {
			t.Errorf("currency %s appears twice in totals", m.Currency)
		}
		out[m.Currency] = dec(t, m.Amount)
	}
	return out
}

func equalAmounts(t *testing.T, what string, got, want map[string]decimal.Decimal) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !g.Equal(w) {
			t.Errorf("%s[%s] = %v, want %v", what, k, g, w)
		}
	}
}

// gbpTotal is globex's BilledCost, summed from the rows it was given.
func gbpTotal(t *testing.T) decimal.Decimal {
	header, rows := readCSV(t, sampleCSV)
	return sum(billedByCurrencyAndProvider(t, header, withCurrency(header, rows[500:530], "GBP"))["GBP"])
}

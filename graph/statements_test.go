package graph_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// A list query issues as many SQL statements for 50 rows as for one: the
// per-row fields (infrastructure, its deprovision warning, the status
// history) are batched per request by the loaders, and the caller's
// rights are looked up once. The counts include authenticating the token.
func TestListQueriesIssueAFixedNumberOfStatements(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		counter := &statementCounter{}
		w := newAccountWorld(t, store.WithQueryHook(counter))
		const many = 50

		first := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme 000", acmeAWSAccount))
		w.provision(t, first.ID, map[string]any{"region": "eu-west-1"})

		callers := []struct{ name, token string }{
			{"customer admin", w.acmeAdmin},
			{"reseller admin listing its customers", w.northAdmin},
		}
		measure := func(t *testing.T, rows int) map[string]int {
			t.Helper()
			counts := map[string]int{}
			for _, c := range callers {
				var accts struct {
					CloudAccounts []struct {
						ID             string `json:"id"`
						Infrastructure *struct {
							ID                 string `json:"id"`
							DeprovisionWarning string `json:"deprovisionWarning"`
						} `json:"infrastructure"`
						StatusHistory []struct {
							To string `json:"to"`
						} `json:"statusHistory"`
					} `json:"cloudAccounts"`
				}
				stmts := counter.during(func() { w.must(t, c.token, statementsAccounts, nil, &accts) })
				counts["cloudAccounts, "+c.name] = len(stmts)
				logStatements(t, fmt.Sprintf("cloudAccounts, %s, %d rows", c.name, rows), stmts)
				if len(accts.CloudAccounts) != rows {
					t.Fatalf("%s lists %d accounts, want %d", c.name, len(accts.CloudAccounts), rows)
				}
				for _, a := range accts.CloudAccounts {
					if a.Infrastructure == nil || a.Infrastructure.ID == "" || a.Infrastructure.DeprovisionWarning == "" || len(a.StatusHistory) == 0 {
						t.Fatalf("%s: account %s has infrastructure %+v and history %+v; want every per-row field filled", c.name, a.ID, a.Infrastructure, a.StatusHistory)
					}
				}

				var conns struct {
					Connectors []struct {
						ID string `json:"id"`
					} `json:"connectors"`
				}
				stmts = counter.during(func() { w.must(t, c.token, `{ connectors { id name status awsTrustPolicy } }`, nil, &conns) })
				counts["connectors, "+c.name] = len(stmts)
				logStatements(t, fmt.Sprintf("connectors, %s, %d rows", c.name, rows), stmts)
				if len(conns.Connectors) != rows {
					t.Fatalf("%s lists %d connectors, want %d", c.name, len(conns.Connectors), rows)
				}
			}
			return counts
		}

		// One account and the connector provisioning made.
		one := measure(t, 1)

		// 49 more accounts, whose status check records their history, and
		// 49 more connectors.
		seedAWSAccounts(t, w, many-1)
		w.must(t, w.acmeAdmin, checkStatus, nil, nil)
		for i := 1; i < many; i++ {
			in := awsInput(fmt.Sprintf("Acme AWS %03d", i))
			in["enabled"] = false
			in["config"].(map[string]any)["path"] = fmt.Sprintf("exports/focus-%03d", i)
			w.must(t, w.acmeAdmin, createConnector, map[string]any{"in": in}, nil)
		}
		fifty := measure(t, many)

		for key, n := range one {
			t.Logf("%s: %d statements for 1 row, %d for %d rows", key, n, fifty[key], many)
			if fifty[key] != n {
				t.Errorf("%s: %d statements for 1 row but %d for %d rows", key, n, fifty[key], many)
			}
		}
	})
}

// The list primes the loaders with what its selection asks (see
// TestListQueriesIssueAFixedNumberOfStatements); each statusHistory of the
// list, whatever its alias, limit, variable or fragment, must read as the
// same field of the single account does.
func TestCloudAccountsListAnswersEachStatusHistoryAsTheAccountDoes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, store *sqlstore.Store) {
		w := newAccountWorld(t, store)
		a := w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Production", acmeAWSAccount))
		w.create(t, w.acmeAdmin, "", awsAccountInput("Acme Staging", acmeAWSAccount2))
		w.provision(t, a.ID, map[string]any{})
		w.must(t, w.acmeAdmin, checkStatus, nil, nil)

		const fields = `id one: statusHistory(limit: 1) { to } all: statusHistory { from to at } none: statusHistory(limit: $none) { to }
  two: statusHistory(limit: $two) { to } big: statusHistory(limit: 1000) { to } ...H
  infrastructure { id deprovisionWarning }`
		const fragment = `fragment H on CloudAccount { frag: statusHistory(limit: 1) { from } }`
		vars := map[string]any{"none": 0, "two": 2}
		var list struct {
			CloudAccounts []map[string]any `json:"cloudAccounts"`
		}
		w.must(t, w.acmeMember, `query($none: Int, $two: Int) { cloudAccounts { `+fields+` } } `+fragment, vars, &list)
		if len(list.CloudAccounts) != 2 {
			t.Fatalf("cloudAccounts = %+v", list.CloudAccounts)
		}
		for _, got := range list.CloudAccounts {
			var one struct {
				CloudAccount map[string]any `json:"cloudAccount"`
			}
			vars["id"] = got["id"]
			w.must(t, w.acmeMember, `query($id: ID!, $none: Int, $two: Int) { cloudAccount(id: $id) { `+fields+` } } `+fragment, vars, &one)
			if !reflect.DeepEqual(got, one.CloudAccount) {
				t.Errorf("listed %+v\nalone  %+v", got, one.CloudAccount)
			}
		}
		if prod := list.CloudAccounts[0]; prod["id"] != a.ID || len(prod["all"].([]any)) != 2 || len(prod["two"].([]any)) != 2 ||
			len(prod["one"].([]any)) != 1 || len(prod["none"].([]any)) != 0 {
			t.Errorf("Acme Production reads %+v, want its two changes, one, none", prod)
		}
	})
}

const statementsAccounts = `{ cloudAccounts { id infrastructure { id deprovisionWarning } statusHistory { to } } }`

// seedAWSAccounts stores n more AWS accounts in acme straight through the
// store: the test is about reading them, and creating each through the
// service would check every account of the organization again each time.
func seedAWSAccounts(t *testing.T, w *accountWorld, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := 1; i <= n; i++ {
		a := accounts.Account{ID: tenancy.NewID(), OrgID: w.acme.ID, Provider: connectors.AWS, Name: fmt.Sprintf("Acme %03d", i),
			ProviderAccountID: fmt.Sprintf("%012d", 300000000000+i), ExternalID: connectors.NewExternalID(),
			Status: accounts.Unprovisioned, StatusDetail: "not checked yet", StatusSince: now, CreatedAt: now}
		if err := w.store.CreateAccount(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// statementCounter is a bun query hook that records the statements sent
// while during runs.
type statementCounter struct {
	mu        sync.Mutex
	recording bool
	queries   []string
}

var _ bun.QueryHook = (*statementCounter)(nil)

func (c *statementCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *statementCounter) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recording {
		c.queries = append(c.queries, e.Query)
	}
}

// during returns the statements sent while fn ran.
func (c *statementCounter) during(fn func()) []string {
	c.mu.Lock()
	c.recording, c.queries = true, nil
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording = false
	return c.queries
}

// logStatements shows the statements of a request, shortened, with -v.
func logStatements(t *testing.T, what string, stmts []string) {
	t.Helper()
	var b strings.Builder
	for _, q := range stmts {
		if len(q) > 110 {
			q = q[:110] + "…"
		}
		b.WriteString("\n  " + q)
	}
	t.Logf("%s: %d statements%s", what, len(stmts), b.String())
}

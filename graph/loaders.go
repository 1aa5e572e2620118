package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/truecost/truecost/domain/accounts"
)

// loaders batch the per-row fields of one request: every CloudAccount of a
// list asks for its infrastructure, status history and deprovision
// warning, and each loader answers all the rows of a level with one call to
// the domain (which checks the caller's rights once for the batch). The
// list resolvers prime them (see prefetchAccounts) so that a list's rows
// never depend on reaching a loader within its batch wait.
type loaders struct {
	fetch          fetchers
	infrastructure *dataloadgen.Loader[string, []accounts.Infrastructure]
	accounts       *dataloadgen.Loader[string, []accounts.Account]
	history        *dataloadgen.Loader[historyKey, []accounts.StatusChange]
}

// historyKey asks for one account's newest status changes.
type historyKey struct {
	orgID, accountID string
	limit            int
}

type loadersKey struct{}

// withLoaders returns ctx carrying fresh loaders for one request.
func (r *Resolver) withLoaders(ctx context.Context) context.Context {
	svc := r.deps.Accounts
	if svc == nil {
		return ctx
	}
	f := fetchers{svc: svc}
	l := &loaders{
		fetch:          f,
		infrastructure: dataloadgen.NewMappedLoader(f.infrastructure),
		accounts:       dataloadgen.NewMappedLoader(f.accounts),
		history:        dataloadgen.NewMappedLoader(f.history),
	}
	return context.WithValue(ctx, loadersKey{}, l)
}

// loadersFrom returns the request's loaders; requests that bypass the
// handler (none in production) get fresh ones that batch nothing across
// calls.
func (r *Resolver) loadersFrom(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return r.withLoaders(ctx).Value(loadersKey{}).(*loaders)
}

// fetchers are the batch reads behind the loaders, for the caller in ctx.
type fetchers struct {
	svc *accounts.Service
}

// infrastructure reads the infrastructure of orgIDs, by organization.
func (f fetchers) infrastructure(ctx context.Context, orgIDs []string) (map[string][]accounts.Infrastructure, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	all, err := f.svc.InfrastructureIn(ctx, p, orgIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]accounts.Infrastructure, len(orgIDs))
	for _, id := range orgIDs {
		out[id] = nil
	}
	for _, inf := range all {
		out[inf.OrgID] = append(out[inf.OrgID], inf)
	}
	return out, nil
}

// accounts reads the accounts of orgIDs, by organization.
func (f fetchers) accounts(ctx context.Context, orgIDs []string) (map[string][]accounts.Account, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	all, err := f.svc.ListIn(ctx, p, orgIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]accounts.Account, len(orgIDs))
	for _, id := range orgIDs {
		out[id] = nil
	}
	for _, a := range all {
		out[a.OrgID] = append(out[a.OrgID], a)
	}
	return out, nil
}

// history reads the status history each key asks for.
func (f fetchers) history(ctx context.Context, keys []historyKey) (map[historyKey][]accounts.StatusChange, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	// One read per distinct limit; a request almost always has one.
	byLimit := map[int][]historyKey{}
	for _, k := range keys {
		byLimit[k.limit] = append(byLimit[k.limit], k)
	}
	out := make(map[historyKey][]accounts.StatusChange, len(keys))
	for limit, ks := range byLimit {
		orgs, ids := map[string]bool{}, make([]string, 0, len(ks))
		var orgIDs []string
		for _, k := range ks {
			ids = append(ids, k.accountID)
			if !orgs[k.orgID] {
				orgs[k.orgID] = true
				orgIDs = append(orgIDs, k.orgID)
			}
		}
		h, err := f.svc.HistoryIn(ctx, p, orgIDs, ids, limit)
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			out[k] = h[k.accountID]
		}
	}
	return out, nil
}

// prefetchAccounts reads, for a list field resolving to as, what its
// selection asks of each account (infrastructure, with the accounts its
// deprovision warning counts; status history at each limit asked) with one
// read per kind, and primes the request's loaders with it. as must hold
// every account of each organization it covers, as List answers.
//
// Left to the loaders' batch wait alone, a row whose resolver starts after
// the batch has left (a busy server, a long list) costs another read, so
// the statements of a request would grow with its rows.
func (r *Resolver) prefetchAccounts(ctx context.Context, as []accounts.Account) error {
	if len(as) == 0 || r.deps.Accounts == nil || graphql.GetFieldContext(ctx) == nil {
		return nil
	}
	var infra bool
	limits := map[int]bool{}
	for _, f := range graphql.CollectFieldsCtx(ctx, []string{"CloudAccount"}) {
		switch f.Name {
		case "infrastructure":
			infra = true
		case "statusHistory":
			if n, ok := historyLimit(intArg(ctx, f, "limit")); ok {
				limits[n] = true
			}
		}
	}
	l := r.loadersFrom(ctx)
	if infra {
		byOrg := map[string][]accounts.Account{}
		var orgIDs []string
		for _, a := range as {
			if _, ok := byOrg[a.OrgID]; !ok {
				orgIDs = append(orgIDs, a.OrgID)
			}
			byOrg[a.OrgID] = append(byOrg[a.OrgID], a)
		}
		got, err := l.fetch.infrastructure(ctx, orgIDs)
		if err != nil {
			return err
		}
		for id, infras := range got {
			l.infrastructure.Prime(id, infras)
		}
		for id, all := range byOrg {
			l.accounts.Prime(id, all)
		}
	}
	if len(limits) > 0 {
		keys := make([]historyKey, 0, len(as)*len(limits))
		for limit := range limits {
			for _, a := range as {
				keys = append(keys, historyKey{orgID: a.OrgID, accountID: a.ID, limit: limit})
			}
		}
		got, err := l.fetch.history(ctx, keys)
		if err != nil {
			return err
		}
		for k, changes := range got {
			l.history.Prime(k, changes)
		}
	}
	return nil
}

// historyLimit is how many status changes a statusHistory field whose limit
// argument is limit reads: 20 when null, at most maxStatusHistory; ok is
// false when it asks for none.
func historyLimit(limit *int) (n int, ok bool) {
	n = 20
	if limit != nil {
		n = *limit
	}
	if n <= 0 {
		return 0, false
	}
	return min(n, maxStatusHistory), true
}

// intArg is the Int argument name of a collected field with the
// operation's variables and the schema's default: nil when null or not a
// number (the field's own resolver then reports it).
func intArg(ctx context.Context, f graphql.CollectedField, name string) *int {
	v := f.ArgumentMap(graphql.GetOperationContext(ctx).Variables)[name]
	if v == nil {
		return nil
	}
	n, err := graphql.UnmarshalInt(v)
	if err != nil {
		return nil
	}
	return &n
}

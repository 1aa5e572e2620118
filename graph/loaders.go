package graph

import (
	"context"

	"github.com/vikstrous/dataloadgen"

	"github.com/truecost/truecost/domain/accounts"
)

// loaders batch the per-row fields of one request: every CloudAccount of a
// list asks for its infrastructure, status history and deprovision
// warning, and each loader answers all the rows of a level with one call to
// the domain (which checks the caller's rights once for the batch).
type loaders struct {
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
	l := &loaders{
		infrastructure: dataloadgen.NewMappedLoader(func(ctx context.Context, orgIDs []string) (map[string][]accounts.Infrastructure, error) {
			p, err := principal(ctx)
			if err != nil {
				return nil, err
			}
			all, err := svc.InfrastructureIn(ctx, p, orgIDs)
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
		}),
		accounts: dataloadgen.NewMappedLoader(func(ctx context.Context, orgIDs []string) (map[string][]accounts.Account, error) {
			p, err := principal(ctx)
			if err != nil {
				return nil, err
			}
			all, err := svc.ListIn(ctx, p, orgIDs)
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
		}),
		history: dataloadgen.NewMappedLoader(func(ctx context.Context, keys []historyKey) (map[historyKey][]accounts.StatusChange, error) {
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
				h, err := svc.HistoryIn(ctx, p, orgIDs, ids, limit)
				if err != nil {
					return nil, err
				}
				for _, k := range ks {
					out[k] = h[k.accountID]
				}
			}
			return out, nil
		}),
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

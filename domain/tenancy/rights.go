package tenancy

import (
	"context"
	"sync"

	"github.com/truecost/truecost/domain"
)

// Rights decides what a caller may do in which organizations: a user reads
// its own organization and, in a reseller, the reseller's customers; only
// admins change anything; the system principal acts anywhere. Every use case
// of every service asks it before touching the store, so no driver can
// forget a check.
type Rights struct {
	store Store
}

// NewRights returns the rights over the organizations in store.
func NewRights(store Store) *Rights { return &Rights{store: store} }

// Organizations lists the organizations the caller may read: its own, and
// for a reseller each of its customers.
func (r *Rights) Organizations(ctx context.Context, p Principal) ([]Organization, error) {
	if p.IsSystem() {
		return nil, domain.Errorf(domain.Invalid, "the system caller must name an organization")
	}
	orgs := []Organization{p.Org}
	if p.Org.Kind != Reseller {
		return orgs, nil
	}
	cache, _ := ctx.Value(rightsCacheKey{}).(*rightsCache)
	if cache != nil {
		cache.mu.Lock()
		defer cache.mu.Unlock()
		if got, ok := cache.customers[p.Org.ID]; ok {
			return append(orgs, got...), nil
		}
	}
	customers, err := r.store.CustomersOf(ctx, p.Org.ID)
	if err != nil {
		return nil, err
	}
	if cache != nil {
		cache.customers[p.Org.ID] = customers
	}
	return append(orgs, customers...), nil
}

// rightsCache keeps a reseller's customers for the rest of one request, so
// that a request checks the caller's reach once however many rows it
// resolves.
type rightsCache struct {
	mu        sync.Mutex
	customers map[string][]Organization
}

type rightsCacheKey struct{}

// WithRightsCache returns ctx in which Rights look up each reseller's
// customers at most once. Drivers wrap one request's context with it, never
// anything longer-lived: a customer added later is seen by the next request.
func WithRightsCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, rightsCacheKey{}, &rightsCache{customers: map[string][]Organization{}})
}

// Read returns the IDs of the organizations a read by the caller covers.
// With orgID empty it is every organization the caller may read (a reseller
// and all its customers together); otherwise orgID alone. An organization
// the caller may not read is a domain.NotFound error, the same answer as
// for one that does not exist.
func (r *Rights) Read(ctx context.Context, p Principal, orgID string) ([]string, error) {
	if p.IsSystem() {
		if orgID == "" {
			return nil, domain.Errorf(domain.Invalid, "the system caller must name an organization")
		}
		return []string{orgID}, nil
	}
	if orgID == p.Org.ID {
		return []string{orgID}, nil
	}
	orgs, err := r.Organizations(ctx, p)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(orgs))
	for _, o := range orgs {
		if orgID == "" {
			ids = append(ids, o.ID)
		} else if o.ID == orgID {
			return []string{o.ID}, nil
		}
	}
	if orgID != "" {
		return nil, domain.Errorf(domain.NotFound, "organization %q not found", orgID)
	}
	return ids, nil
}

// ReadAll checks that the caller may read every organization of orgIDs,
// with at most one lookup however many there are: the batch form of Read
// for per-request loaders.
func (r *Rights) ReadAll(ctx context.Context, p Principal, orgIDs []string) error {
	if p.IsSystem() {
		return nil
	}
	var visible map[string]bool
	for _, id := range orgIDs {
		if id == p.Org.ID {
			continue
		}
		if visible == nil {
			ids, err := r.Read(ctx, p, "")
			if err != nil {
				return err
			}
			visible = make(map[string]bool, len(ids))
			for _, v := range ids {
				visible[v] = true
			}
		}
		if !visible[id] {
			return domain.Errorf(domain.NotFound, "organization %q not found", id)
		}
	}
	return nil
}

// Write checks that the caller may change orgID's what (for the message:
// "billing connectors", "cloud accounts or billing provisioning"): an
// admin of an organization it may read, or the system.
func (r *Rights) Write(ctx context.Context, p Principal, orgID, what string) error {
	if orgID == "" {
		// A change names its organization; "every organization the caller
		// reads" is for reads only.
		return domain.Errorf(domain.Invalid, "name the organization whose %s to change", what)
	}
	if !p.IsAdmin() {
		return domain.Errorf(domain.Forbidden, "only organization admins may change %s", what)
	}
	_, err := r.Read(ctx, p, orgID)
	return err
}

// System checks that the caller is the system principal: what only the
// command line, the scheduled jobs and the demo loader may do.
func (r *Rights) System(p Principal, what string) error {
	if !p.IsSystem() {
		return domain.Errorf(domain.Forbidden, "only the system may %s", what)
	}
	return nil
}

package views_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

// memTenancy is an in-memory tenancy.Store, so that handler tests run the
// real tenancy.Service rules.
type memTenancy struct {
	mu       sync.Mutex
	orgs     map[string]tenancy.Organization
	users    map[string]tenancy.User
	sessions map[string]tenancy.Session
	tokens   map[string]tenancy.APIToken
}

var _ tenancy.Store = (*memTenancy)(nil)

func newMemTenancy() *memTenancy {
	return &memTenancy{
		orgs:     make(map[string]tenancy.Organization),
		users:    make(map[string]tenancy.User),
		sessions: make(map[string]tenancy.Session),
		tokens:   make(map[string]tenancy.APIToken),
	}
}

func (m *memTenancy) CreateOrganization(_ context.Context, org tenancy.Organization) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.orgs[org.ID] = org
	return nil
}

func (m *memTenancy) OrganizationByID(_ context.Context, id string) (tenancy.Organization, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.orgs[id]; ok {
		return o, nil
	}
	return tenancy.Organization{}, domain.Errorf(domain.NotFound, "organization not found")
}

func (m *memTenancy) OrganizationBySlug(_ context.Context, slug string) (tenancy.Organization, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.orgs {
		if o.Slug == slug {
			return o, nil
		}
	}
	return tenancy.Organization{}, domain.Errorf(domain.NotFound, "organization %q not found", slug)
}

func (m *memTenancy) CustomersOf(_ context.Context, resellerID string) ([]tenancy.Organization, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []tenancy.Organization
	for _, o := range m.orgs {
		if o.ResellerID == resellerID {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out, nil
}

func (m *memTenancy) CreateUser(_ context.Context, u tenancy.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users[u.ID] = u
	return nil
}

func (m *memTenancy) UserByID(_ context.Context, orgID, id string) (tenancy.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.users[id]; ok && u.OrgID == orgID {
		return u, nil
	}
	return tenancy.User{}, domain.Errorf(domain.NotFound, "user not found")
}

func (m *memTenancy) UserByEmail(_ context.Context, email string) (tenancy.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if strings.EqualFold(u.Email, email) {
			return u, nil
		}
	}
	return tenancy.User{}, domain.Errorf(domain.NotFound, "user not found")
}

func (m *memTenancy) CreateAPIToken(_ context.Context, t tenancy.APIToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[t.Hash] = t
	return nil
}

func (m *memTenancy) APITokenByHash(_ context.Context, hash string) (tenancy.APIToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[hash]; ok && t.RevokedAt.IsZero() {
		return t, nil
	}
	return tenancy.APIToken{}, domain.Errorf(domain.NotFound, "token not found")
}

func (m *memTenancy) CreateSession(_ context.Context, s tenancy.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.Hash] = s
	return nil
}

func (m *memTenancy) SessionByHash(_ context.Context, hash string, now time.Time) (tenancy.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[hash]; ok && now.Before(s.ExpiresAt) {
		return s, nil
	}
	return tenancy.Session{}, domain.Errorf(domain.NotFound, "session not found")
}

func (m *memTenancy) DeleteSession(_ context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, hash)
	return nil
}

// memRollups is an in-memory billing.RollupReader, so that handler tests run
// the real billing.Reporter.
type memRollups struct {
	rollups []billing.Rollup
}

func (m *memRollups) ScanRollups(_ context.Context, scan billing.RollupScan, fn func(billing.Rollup) error) error {
	for _, r := range m.rollups {
		if !containsString(scan.OrgIDs, r.OrgID) {
			continue
		}
		at := r.Day
		if scan.DateBasis == billing.BillingPeriod {
			at = r.BillingPeriodStart
		}
		if at.Before(scan.From) || !at.Before(scan.To) {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *memRollups) LatestCostDay(_ context.Context, orgIDs []string) (time.Time, error) {
	var last time.Time
	for _, r := range m.rollups {
		if containsString(orgIDs, r.OrgID) && r.Day.After(last) {
			last = r.Day
		}
	}
	if last.IsZero() {
		return time.Time{}, domain.Errorf(domain.NotFound, "no costs")
	}
	return last, nil
}

// memRuns lists canned ingestion runs.
type memRuns struct {
	runs []billing.IngestionRun
}

func (m *memRuns) ListRuns(_ context.Context, orgIDs []string, limit int) ([]billing.IngestionRun, error) {
	var out []billing.IngestionRun
	for _, r := range m.runs {
		if containsString(orgIDs, r.OrgID) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

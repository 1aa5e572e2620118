package graph

import (
	"context"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph/model"
)

// Members manages a reseller's customers and an organization's users,
// checking the caller's rights itself. *tenancy.Service implements it.
type Members interface {
	CreateCustomer(ctx context.Context, caller tenancy.Principal, slug, name, adminEmail string) (tenancy.Organization, tenancy.NewInvite, error)
	Users(ctx context.Context, caller tenancy.Principal, orgID string) ([]tenancy.User, error)
	AddUser(ctx context.Context, caller tenancy.Principal, orgID, email string, role tenancy.Role) (tenancy.NewInvite, error)
	ChangeRole(ctx context.Context, caller tenancy.Principal, orgID, userID string, role tenancy.Role) error
	RemoveUser(ctx context.Context, caller tenancy.Principal, orgID, userID string) error
}

var _ Members = (*tenancy.Service)(nil)

// membersFor returns the members service and the caller.
func (r *Resolver) membersFor(ctx context.Context) (Members, tenancy.Principal, error) {
	if r.deps.Members == nil {
		return nil, tenancy.Principal{}, domain.Errorf(domain.Unavailable, "user management is not configured")
	}
	p, err := principal(ctx)
	return r.deps.Members, p, err
}

// InvitePath is where the console serves an invitation's link.
func InvitePath(token string) string { return "/invite/" + token }

func invitationToModel(inv tenancy.NewInvite) *model.Invitation {
	return &model.Invitation{User: userToModel(inv.User), Link: InvitePath(inv.Token), ExpiresAt: inv.ExpiresAt}
}

func roleOf(r model.Role) tenancy.Role {
	if r == model.RoleAdmin {
		return tenancy.Admin
	}
	return tenancy.Member
}

func cycleToModel(c pricing.Cycle) model.BillingCycle {
	out := model.BillingCycle{OrganizationID: c.OrgID, Month: c.Month.Format("2006-01"), State: model.CycleState(c.State)}
	if c.State == pricing.Closed {
		at := c.ClosedAt
		out.ClosedAt, out.ClosedBy = &at, optional(c.ClosedBy)
	}
	return out
}

// thisMonth is the month of now in UTC.
func thisMonth() time.Time {
	now := time.Now().UTC()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
}

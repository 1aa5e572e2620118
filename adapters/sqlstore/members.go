package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
)

var _ tenancy.MemberStore = (*Store)(nil)

type inviteRow struct {
	bun.BaseModel `bun:"table:user_invites"`
	OrgID         string     `bun:"org_id,pk"`
	ID            string     `bun:"id,pk"`
	UserID        string     `bun:"user_id"`
	Hash          string     `bun:"hash"`
	CreatedAt     time.Time  `bun:"created_at"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	UsedAt        *time.Time `bun:"used_at"`
}

func newInviteRow(inv tenancy.Invite) inviteRow {
	return inviteRow{OrgID: inv.OrgID, ID: inv.ID, UserID: inv.UserID, Hash: inv.Hash, CreatedAt: inv.CreatedAt.UTC(),
		ExpiresAt: inv.ExpiresAt.UTC()}
}

// UsersOf lists an organization's users by email.
func (s *Store) UsersOf(ctx context.Context, orgID string) ([]tenancy.User, error) {
	var rows []userRow
	if err := s.db.NewSelect().Model(&rows).Where("org_id = ?", orgID).Order("email").Scan(ctx); err != nil {
		return nil, mapErr(err, "users")
	}
	out := make([]tenancy.User, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// CreateCustomer stores a customer, its first admin and the admin's
// invitation together; a taken slug or email is a Conflict.
func (s *Store) CreateCustomer(ctx context.Context, o tenancy.Organization, admin tenancy.User, inv tenancy.Invite) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		org := orgRow{ID: o.ID, Slug: o.Slug, Name: o.Name, Kind: string(o.Kind), ResellerID: nullable(o.ResellerID), CreatedAt: o.CreatedAt}
		if _, err := tx.NewInsert().Model(&org).Exec(ctx); err != nil {
			return mapErr(err, "organization "+o.Slug)
		}
		return insertInvited(ctx, tx, admin, inv)
	})
}

func insertInvited(ctx context.Context, db bun.IDB, u tenancy.User, inv tenancy.Invite) error {
	row := userRow{OrgID: u.OrgID, ID: u.ID, Email: u.Email, Role: string(u.Role), CreatedAt: u.CreatedAt}
	if _, err := db.NewInsert().Model(&row).Exec(ctx); err != nil {
		return mapErr(err, "user "+u.Email)
	}
	ir := newInviteRow(inv)
	_, err := db.NewInsert().Model(&ir).Exec(ctx)
	return mapErr(err, "invitation")
}

// CreateInvitedUser stores a user and its invitation together.
func (s *Store) CreateInvitedUser(ctx context.Context, u tenancy.User, inv tenancy.Invite) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return insertInvited(ctx, tx, u, inv)
	})
}

// lockUsers serialises changes to an organization's users on Postgres, so
// that two demotions cannot both see another admin left.
func (s *Store) lockUsers(ctx context.Context, tx bun.Tx, orgID string) error {
	if s.dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT 1 FROM organizations WHERE id = ? FOR UPDATE", orgID)
	return mapErr(err, "lock organization")
}

// keepAnAdmin refuses a change that would leave the organization without
// an admin: userID stops being one.
func keepAnAdmin(ctx context.Context, tx bun.Tx, orgID, userID string) error {
	n, err := tx.NewSelect().Model((*userRow)(nil)).Where("org_id = ? AND role = ? AND id <> ?", orgID, string(tenancy.Admin), userID).
		Count(ctx)
	if err != nil {
		return mapErr(err, "count admins")
	}
	if n == 0 {
		return domain.Errorf(domain.Conflict, "an organization keeps at least one admin: make someone else admin first")
	}
	return nil
}

func userIn(ctx context.Context, tx bun.Tx, orgID, userID string) (userRow, error) {
	var row userRow
	err := tx.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, userID).Scan(ctx)
	return row, mapErr(err, "user")
}

// SetUserRole changes a user's role, keeping an admin.
func (s *Store) SetUserRole(ctx context.Context, orgID, userID string, role tenancy.Role) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockUsers(ctx, tx, orgID); err != nil {
			return err
		}
		row, err := userIn(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if row.Role == string(tenancy.Admin) && role != tenancy.Admin {
			if err := keepAnAdmin(ctx, tx, orgID, userID); err != nil {
				return err
			}
		}
		_, err = tx.NewUpdate().Model((*userRow)(nil)).Set("role = ?", string(role)).Where("org_id = ? AND id = ?", orgID, userID).Exec(ctx)
		return mapErr(err, "change role")
	})
}

// DeleteUser removes a user with its sessions, tokens and invitations,
// keeping an admin.
func (s *Store) DeleteUser(ctx context.Context, orgID, userID string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockUsers(ctx, tx, orgID); err != nil {
			return err
		}
		row, err := userIn(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if row.Role == string(tenancy.Admin) {
			if err := keepAnAdmin(ctx, tx, orgID, userID); err != nil {
				return err
			}
		}
		for _, m := range []any{(*sessionRow)(nil), (*tokenRow)(nil), (*inviteRow)(nil)} {
			if _, err := tx.NewDelete().Model(m).Where("org_id = ? AND user_id = ?", orgID, userID).Exec(ctx); err != nil {
				return mapErr(err, "remove user's credentials")
			}
		}
		_, err = tx.NewDelete().Model((*userRow)(nil)).Where("org_id = ? AND id = ?", orgID, userID).Exec(ctx)
		return mapErr(err, "remove user")
	})
}

// InviteByHash returns an invitation by its token's hash.
func (s *Store) InviteByHash(ctx context.Context, hash string) (tenancy.Invite, error) {
	var row inviteRow
	if err := s.db.NewSelect().Model(&row).Where("hash = ?", hash).Scan(ctx); err != nil {
		return tenancy.Invite{}, mapErr(err, "invitation")
	}
	inv := tenancy.Invite{ID: row.ID, OrgID: row.OrgID, UserID: row.UserID, Hash: row.Hash, CreatedAt: row.CreatedAt.UTC(),
		ExpiresAt: row.ExpiresAt.UTC()}
	if row.UsedAt != nil {
		inv.UsedAt = row.UsedAt.UTC()
	}
	return inv, nil
}

// UseInvite marks an unused, unexpired invitation used and sets its
// user's password, together: of two uses at once one wins.
func (s *Store) UseInvite(ctx context.Context, inv tenancy.Invite, passwordHash string, now time.Time) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		used := now.UTC()
		res, err := tx.NewUpdate().Model((*inviteRow)(nil)).Set("used_at = ?", used).
			Where("org_id = ? AND id = ? AND used_at IS NULL AND expires_at > ?", inv.OrgID, inv.ID, used).Exec(ctx)
		if err != nil {
			return mapErr(err, "use invitation")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return domain.Errorf(domain.Conflict, "the invitation was used already or has expired")
		}
		res, err = tx.NewUpdate().Model((*userRow)(nil)).Set("password_hash = ?", passwordHash).
			Where("org_id = ? AND id = ?", inv.OrgID, inv.UserID).Exec(ctx)
		if err != nil {
			return mapErr(err, "set password")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return domain.Errorf(domain.Conflict, "the invited user no longer exists")
		}
		return nil
	})
}

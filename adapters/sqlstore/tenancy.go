package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain/tenancy"
)

var _ tenancy.Store = (*Store)(nil)

type orgRow struct {
	bun.BaseModel `bun:"table:organizations"`
	ID            string    `bun:"id,pk"`
	Slug          string    `bun:"slug"`
	Name          string    `bun:"name"`
	Kind          string    `bun:"kind"`
	ResellerID    *string   `bun:"reseller_id"`
	CreatedAt     time.Time `bun:"created_at"`
}

func (r orgRow) domain() tenancy.Organization {
	o := tenancy.Organization{ID: r.ID, Slug: r.Slug, Name: r.Name, Kind: tenancy.OrgKind(r.Kind), CreatedAt: r.CreatedAt.UTC()}
	if r.ResellerID != nil {
		o.ResellerID = *r.ResellerID
	}
	return o
}

type userRow struct {
	bun.BaseModel `bun:"table:users"`
	OrgID         string    `bun:"org_id,pk"`
	ID            string    `bun:"id,pk"`
	Email         string    `bun:"email"`
	Role          string    `bun:"role"`
	PasswordHash  string    `bun:"password_hash"`
	CreatedAt     time.Time `bun:"created_at"`
}

func (r userRow) domain() tenancy.User {
	return tenancy.User{ID: r.ID, OrgID: r.OrgID, Email: r.Email, Role: tenancy.Role(r.Role), PasswordHash: r.PasswordHash, CreatedAt: r.CreatedAt.UTC()}
}

type tokenRow struct {
	bun.BaseModel `bun:"table:api_tokens"`
	OrgID         string     `bun:"org_id,pk"`
	ID            string     `bun:"id,pk"`
	UserID        string     `bun:"user_id"`
	Name          string     `bun:"name"`
	Hash          string     `bun:"hash"`
	CreatedAt     time.Time  `bun:"created_at"`
	RevokedAt     *time.Time `bun:"revoked_at"`
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`
	OrgID         string    `bun:"org_id,pk"`
	ID            string    `bun:"id,pk"`
	UserID        string    `bun:"user_id"`
	Hash          string    `bun:"hash"`
	CSRF          string    `bun:"csrf"`
	CreatedAt     time.Time `bun:"created_at"`
	ExpiresAt     time.Time `bun:"expires_at"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateOrganization stores a new organization; a taken slug is a Conflict.
func (s *Store) CreateOrganization(ctx context.Context, o tenancy.Organization) error {
	row := orgRow{ID: o.ID, Slug: o.Slug, Name: o.Name, Kind: string(o.Kind), ResellerID: nullable(o.ResellerID), CreatedAt: o.CreatedAt}
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	return mapErr(err, "organization "+o.Slug)
}

// OrganizationByID returns the organization with id.
func (s *Store) OrganizationByID(ctx context.Context, id string) (tenancy.Organization, error) {
	var row orgRow
	err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx)
	return row.domain(), mapErr(err, "organization")
}

// OrganizationBySlug returns the organization with slug.
func (s *Store) OrganizationBySlug(ctx context.Context, slug string) (tenancy.Organization, error) {
	var row orgRow
	err := s.db.NewSelect().Model(&row).Where("slug = ?", slug).Scan(ctx)
	return row.domain(), mapErr(err, "organization "+slug)
}

// CustomersOf lists a reseller's customers by name.
func (s *Store) CustomersOf(ctx context.Context, resellerID string) ([]tenancy.Organization, error) {
	var rows []orgRow
	if err := s.db.NewSelect().Model(&rows).Where("reseller_id = ?", resellerID).Order("name", "slug").Scan(ctx); err != nil {
		return nil, mapErr(err, "customers")
	}
	out := make([]tenancy.Organization, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// CreateUser stores a new user; a taken email is a Conflict.
func (s *Store) CreateUser(ctx context.Context, u tenancy.User) error {
	row := userRow{OrgID: u.OrgID, ID: u.ID, Email: u.Email, Role: string(u.Role), PasswordHash: u.PasswordHash, CreatedAt: u.CreatedAt}
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	return mapErr(err, "user "+u.Email)
}

// UserByID returns a user of an organization.
func (s *Store) UserByID(ctx context.Context, orgID, id string) (tenancy.User, error) {
	var row userRow
	err := s.db.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id).Scan(ctx)
	return row.domain(), mapErr(err, "user")
}

// UserByEmail returns the user with a (normalised) email.
func (s *Store) UserByEmail(ctx context.Context, email string) (tenancy.User, error) {
	var row userRow
	err := s.db.NewSelect().Model(&row).Where("email = ?", email).Scan(ctx)
	return row.domain(), mapErr(err, "user")
}

// CreateAPIToken stores a token's hash.
func (s *Store) CreateAPIToken(ctx context.Context, t tenancy.APIToken) error {
	row := tokenRow{OrgID: t.OrgID, ID: t.ID, UserID: t.UserID, Name: t.Name, Hash: t.Hash, CreatedAt: t.CreatedAt}
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	return mapErr(err, "API token")
}

// APITokenByHash returns the unrevoked token with hash.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (tenancy.APIToken, error) {
	var row tokenRow
	err := s.db.NewSelect().Model(&row).Where("hash = ? AND revoked_at IS NULL", hash).Scan(ctx)
	if err != nil {
		return tenancy.APIToken{}, mapErr(err, "API token")
	}
	return tenancy.APIToken{ID: row.ID, OrgID: row.OrgID, UserID: row.UserID, Name: row.Name, Hash: row.Hash, CreatedAt: row.CreatedAt.UTC()}, nil
}

// CreateSession stores a console session.
func (s *Store) CreateSession(ctx context.Context, sess tenancy.Session) error {
	row := sessionRow{OrgID: sess.OrgID, ID: sess.ID, UserID: sess.UserID, Hash: sess.Hash, CSRF: sess.CSRF, CreatedAt: sess.CreatedAt, ExpiresAt: sess.ExpiresAt}
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	return mapErr(err, "session")
}

// SessionByHash returns the session with hash that is still valid at now.
func (s *Store) SessionByHash(ctx context.Context, hash string, now time.Time) (tenancy.Session, error) {
	var row sessionRow
	err := s.db.NewSelect().Model(&row).Where("hash = ? AND expires_at > ?", hash, now.UTC()).Scan(ctx)
	if err != nil {
		return tenancy.Session{}, mapErr(err, "session")
	}
	return tenancy.Session{ID: row.ID, OrgID: row.OrgID, UserID: row.UserID, Hash: row.Hash, CSRF: row.CSRF, CreatedAt: row.CreatedAt.UTC(), ExpiresAt: row.ExpiresAt.UTC()}, nil
}

// DeleteSession removes the session with hash, if any.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.db.NewDelete().Model((*sessionRow)(nil)).Where("hash = ?", hash).Exec(ctx)
	return mapErr(err, "session")
}

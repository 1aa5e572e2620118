// Package tenancy holds organizations (resellers and their customers), users
// with roles, API tokens and console sessions, and the rule deciding whose
// data a caller may see. Its Store port is implemented by adapters/sqlstore.
package tenancy

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
)

// OrgKind tells a reseller from a customer organization.
type OrgKind string

// Organization kinds.
const (
	Reseller OrgKind = "reseller"
	Customer OrgKind = "customer"
)

// Organization is a tenant. A customer may have a parent reseller; a customer
// without one is a direct organization.
type Organization struct {
	ID         string
	Slug       string
	Name       string
	Kind       OrgKind
	ResellerID string // empty for resellers and direct customers
	CreatedAt  time.Time
}

// Role is what a user may do inside its organization.
type Role string

// Roles: admins manage accounts, connectors and exports; members only read.
const (
	Admin  Role = "admin"
	Member Role = "member"
)

// User belongs to exactly one organization.
type User struct {
	ID           string
	OrgID        string
	Email        string
	Role         Role
	PasswordHash string // argon2id in PHC form; empty when login is disabled
	CreatedAt    time.Time
}

// APIToken authenticates GraphQL clients. Only the hash of the token is kept.
type APIToken struct {
	ID        string
	OrgID     string
	UserID    string
	Name      string
	Hash      string
	CreatedAt time.Time
	RevokedAt time.Time
}

// Session is a console login. The cookie carries Token; only its hash is
// stored. CSRF is the token state-changing requests must echo.
type Session struct {
	ID        string
	OrgID     string
	UserID    string
	Hash      string
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Principal is the caller of a use case: a user acting in its organization,
// or the system itself (the command line, the scheduled jobs, the demo
// loader), which acts on any organization. Every use case takes one and
// checks its rights through Rights.
type Principal struct {
	User User
	Org  Organization
	// system names the system actor; empty for users.
	system string
}

// SystemPrincipal returns the caller the command line, the scheduled jobs
// and the demo loader act as. It may act on every organization, so only
// package main and package jobs construct it (the architecture test
// enforces this).
func SystemPrincipal(name string) Principal {
	if name == "" {
		name = "system"
	}
	return Principal{system: name}
}

// IsSystem reports whether the caller is the system rather than a user.
func (p Principal) IsSystem() bool { return p.system != "" }

// IsAdmin reports whether the caller may change things in its organization.
// The system may change anything.
func (p Principal) IsAdmin() bool { return p.system != "" || p.User.Role == Admin }

// ServerPath returns a path on the server as the caller may see it: admins
// see it whole; members only its last element, since where the server keeps
// its files is not theirs to know. Anything else, such as a bucket URL, is
// returned as it is.
func (p Principal) ServerPath(path string) string {
	if p.IsAdmin() || !filepath.IsAbs(path) {
		return path
	}
	return filepath.Base(path)
}

// String names the caller for logs and audit records.
func (p Principal) String() string {
	if p.system != "" {
		return "system:" + p.system
	}
	return p.User.Email
}

// Store persists tenancy. Lookups return a domain.NotFound error when nothing
// matches.
type Store interface {
	CreateOrganization(ctx context.Context, org Organization) error
	OrganizationByID(ctx context.Context, id string) (Organization, error)
	OrganizationBySlug(ctx context.Context, slug string) (Organization, error)
	// CustomersOf lists the customers whose reseller is resellerID.
	CustomersOf(ctx context.Context, resellerID string) ([]Organization, error)

	CreateUser(ctx context.Context, u User) error
	UserByID(ctx context.Context, orgID, id string) (User, error)
	// UserByEmail finds a user across organizations: emails are unique.
	UserByEmail(ctx context.Context, email string) (User, error)

	CreateAPIToken(ctx context.Context, t APIToken) error
	// APITokenByHash returns an unrevoked token.
	APITokenByHash(ctx context.Context, hash string) (APIToken, error)

	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns a session that has not expired at now.
	SessionByHash(ctx context.Context, hash string, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, hash string) error

	AttemptStore
	MemberStore
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// ValidateSlug checks an organization slug: 2–63 lowercase letters, digits
// or dashes, starting with a letter or digit.
func ValidateSlug(slug string) error {
	if !slugPattern.MatchString(slug) {
		return domain.Errorf(domain.Invalid, "organization slug %q must be 2-63 lowercase letters, digits or dashes", slug)
	}
	return nil
}

// NormalizeEmail trims and lower-cases an email and checks its shape.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	at := strings.IndexByte(e, '@')
	if at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n") || len(e) > 254 {
		return "", domain.Errorf(domain.Invalid, "%q is not an email address", email)
	}
	return e, nil
}

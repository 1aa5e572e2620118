package tenancy

import (
	"context"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
)

// InviteLifetime is how long an invitation link stays usable.
const InviteLifetime = 7 * 24 * time.Hour

// Invite lets a user without a password set one, once, before ExpiresAt.
// Only the hash of its token is kept; the token itself is shown once, as
// a link, to whoever invited the user.
type Invite struct {
	ID        string
	OrgID     string
	UserID    string
	Hash      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// MemberStore persists an organization's users and their invitations.
type MemberStore interface {
	// UsersOf lists an organization's users by email.
	UsersOf(ctx context.Context, orgID string) ([]User, error)
	// CreateCustomer stores a new customer organization, its first admin
	// and the admin's invitation in one transaction.
	CreateCustomer(ctx context.Context, org Organization, admin User, inv Invite) error
	// CreateInvitedUser stores a new user and its invitation together.
	CreateInvitedUser(ctx context.Context, u User, inv Invite) error
	// SetUserRole changes a user's role; demoting the organization's last
	// admin is a domain.Conflict error.
	SetUserRole(ctx context.Context, orgID, userID string, role Role) error
	// DeleteUser removes a user with its sessions, tokens and invitations;
	// removing the organization's last admin is a domain.Conflict error.
	DeleteUser(ctx context.Context, orgID, userID string) error
	// InviteByHash returns an invitation by its token's hash.
	InviteByHash(ctx context.Context, hash string) (Invite, error)
	// UseInvite sets the invited user's password and marks the invitation
	// used, if it is still unused at now; otherwise a domain.Conflict error.
	UseInvite(ctx context.Context, inv Invite, passwordHash string, now time.Time) error
}

// NewInvite is an invitation as CreateCustomer and AddUser return it: the
// user and the one-time token of the link that lets them set a password.
type NewInvite struct {
	User      User
	Token     string
	ExpiresAt time.Time
}

// manageUsers checks that the caller may manage orgID's users: an admin
// of the organization, or an admin of its reseller. Anyone else is told
// the organization does not exist, or is forbidden when it reads it.
func (s *Service) manageUsers(ctx context.Context, caller Principal, orgID string) (Organization, error) {
	if err := s.rights.Write(ctx, caller, orgID, "users"); err != nil {
		return Organization{}, err
	}
	return s.store.OrganizationByID(ctx, orgID)
}

func (s *Service) newInvite(u User) (Invite, string, error) {
	token, err := newSecret("inv_", 32)
	if err != nil {
		return Invite{}, "", err
	}
	now := s.now().UTC()
	return Invite{ID: NewID(), OrgID: u.OrgID, UserID: u.ID, Hash: HashToken(token), CreatedAt: now,
		ExpiresAt: now.Add(InviteLifetime)}, token, nil
}

// CreateCustomer creates a customer organization of the caller's reseller
// and its first admin, who has no password yet: the returned invitation's
// token, shown once, lets them set one. Only reseller admins create
// customers.
func (s *Service) CreateCustomer(ctx context.Context, caller Principal, slug, name, adminEmail string) (Organization, NewInvite, error) {
	if caller.IsSystem() || caller.Org.Kind != Reseller || !caller.IsAdmin() {
		return Organization{}, NewInvite{}, domain.Errorf(domain.Forbidden, "only reseller admins add customers")
	}
	slug = strings.ToLower(strings.TrimSpace(slug))
	if err := ValidateSlug(slug); err != nil {
		return Organization{}, NewInvite{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = slug
	}
	if len(name) > 200 {
		return Organization{}, NewInvite{}, domain.Errorf(domain.Invalid, "a customer's name is at most 200 characters")
	}
	email, err := NormalizeEmail(adminEmail)
	if err != nil {
		return Organization{}, NewInvite{}, err
	}
	now := s.now().UTC()
	org := Organization{ID: NewID(), Slug: slug, Name: name, Kind: Customer, ResellerID: caller.Org.ID, CreatedAt: now}
	admin := User{ID: NewID(), OrgID: org.ID, Email: email, Role: Admin, CreatedAt: now}
	inv, token, err := s.newInvite(admin)
	if err != nil {
		return Organization{}, NewInvite{}, err
	}
	if err := s.store.CreateCustomer(ctx, org, admin, inv); err != nil {
		return Organization{}, NewInvite{}, err
	}
	return org, NewInvite{User: admin, Token: token, ExpiresAt: inv.ExpiresAt}, nil
}

// Users lists an organization's users, for whoever may read it.
func (s *Service) Users(ctx context.Context, caller Principal, orgID string) ([]User, error) {
	if _, err := s.rights.Read(ctx, caller, orgID); err != nil {
		return nil, err
	}
	us, err := s.store.UsersOf(ctx, orgID)
	for i := range us {
		us[i].PasswordHash = ""
	}
	return us, err
}

// AddUser invites a user into an organization with a role: the returned
// token, shown once, lets them set their password.
func (s *Service) AddUser(ctx context.Context, caller Principal, orgID, email string, role Role) (NewInvite, error) {
	if _, err := s.manageUsers(ctx, caller, orgID); err != nil {
		return NewInvite{}, err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return NewInvite{}, err
	}
	if role != Admin && role != Member {
		return NewInvite{}, domain.Errorf(domain.Invalid, "role %q must be admin or member", role)
	}
	u := User{ID: NewID(), OrgID: orgID, Email: email, Role: role, CreatedAt: s.now().UTC()}
	inv, token, err := s.newInvite(u)
	if err != nil {
		return NewInvite{}, err
	}
	if err := s.store.CreateInvitedUser(ctx, u, inv); err != nil {
		return NewInvite{}, err
	}
	return NewInvite{User: u, Token: token, ExpiresAt: inv.ExpiresAt}, nil
}

// ChangeRole changes a user's role; the last admin stays an admin.
func (s *Service) ChangeRole(ctx context.Context, caller Principal, orgID, userID string, role Role) error {
	if _, err := s.manageUsers(ctx, caller, orgID); err != nil {
		return err
	}
	if role != Admin && role != Member {
		return domain.Errorf(domain.Invalid, "role %q must be admin or member", role)
	}
	return s.store.SetUserRole(ctx, orgID, userID, role)
}

// RemoveUser removes a user, their sessions and tokens; the last admin
// stays.
func (s *Service) RemoveUser(ctx context.Context, caller Principal, orgID, userID string) error {
	if _, err := s.manageUsers(ctx, caller, orgID); err != nil {
		return err
	}
	return s.store.DeleteUser(ctx, orgID, userID)
}

var errBadInvite = domain.Errorf(domain.NotFound, "this invitation link is not valid: it may have expired or been used already")

// Invitation returns the user an invitation token is for, while it is
// usable.
func (s *Service) Invitation(ctx context.Context, token string) (User, error) {
	inv, err := s.usableInvite(ctx, token)
	if err != nil {
		return User{}, err
	}
	u, err := s.store.UserByID(ctx, inv.OrgID, inv.UserID)
	u.PasswordHash = ""
	return u, err
}

func (s *Service) usableInvite(ctx context.Context, token string) (Invite, error) {
	if !strings.HasPrefix(token, "inv_") {
		return Invite{}, errBadInvite
	}
	inv, err := s.store.InviteByHash(ctx, HashToken(token))
	if domain.IsNotFound(err) {
		return Invite{}, errBadInvite
	}
	if err != nil {
		return Invite{}, err
	}
	if !inv.UsedAt.IsZero() || !s.now().Before(inv.ExpiresAt) {
		return Invite{}, errBadInvite
	}
	return inv, nil
}

// AcceptInvite sets the invited user's password through the invitation,
// which is then used up, and signs them in: it returns the session's
// cookie value, the session and the caller as Login does. client is
// the caller's address: wrong tokens are throttled per address as failed
// sign-ins are.
func (s *Service) AcceptInvite(ctx context.Context, token, password, client string) (string, Session, Principal, error) {
	var keys []throttled
	if key, ok := addressKey("invite", client); ok {
		keys = append(keys, throttled{key, AddressBackoff})
	}
	if err := s.checkThrottle(ctx, "invitation attempts", keys); err != nil {
		return "", Session{}, Principal{}, err
	}
	inv, err := s.usableInvite(ctx, token)
	if err == errBadInvite {
		if err := s.recordFailure(ctx, keys); err != nil {
			return "", Session{}, Principal{}, err
		}
	}
	if err != nil {
		return "", Session{}, Principal{}, err
	}
	if len(password) > 1024 {
		return "", Session{}, Principal{}, domain.Errorf(domain.Invalid, "a password is at most 1024 bytes")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return "", Session{}, Principal{}, err
	}
	if err := s.store.UseInvite(ctx, inv, hash, s.now().UTC()); err != nil {
		if domain.ErrorCode(err) == domain.Conflict {
			return "", Session{}, Principal{}, errBadInvite
		}
		return "", Session{}, Principal{}, err
	}
	return s.openSession(ctx, inv.OrgID, inv.UserID)
}

// openSession signs a user in: a new console session.
func (s *Service) openSession(ctx context.Context, orgID, userID string) (string, Session, Principal, error) {
	p, err := s.principal(ctx, orgID, userID)
	if err != nil {
		return "", Session{}, Principal{}, err
	}
	token, err := newSecret("", 32)
	if err != nil {
		return "", Session{}, Principal{}, err
	}
	csrf, err := newSecret("", 32)
	if err != nil {
		return "", Session{}, Principal{}, err
	}
	now := s.now().UTC()
	sess := Session{ID: NewID(), OrgID: orgID, UserID: userID, Hash: HashToken(token), CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", Session{}, Principal{}, err
	}
	return token, sess, p, nil
}

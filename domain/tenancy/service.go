package tenancy

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/truecost/truecost/domain"
)

// SessionLifetime is how long a console login lasts.
const SessionLifetime = 12 * time.Hour

// Service holds the tenancy rules: creating organizations and users, issuing
// credentials and resolving them to a Principal, and deciding which
// organizations a caller may read.
type Service struct {
	store  Store
	rights *Rights
	now    func() time.Time
}

// NewService returns a Service over store, checking callers with rights.
func NewService(store Store, rights *Rights, opts ...Option) *Service {
	s := &Service{store: store, rights: rights, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Option adjusts a Service.
type Option func(*Service)

// WithClock makes the Service read the time from now rather than
// time.Now: sessions' lifetimes and throttling waits follow it.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// NewID returns a new time-ordered identifier for any Truecost record.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// CreateOrganization validates and stores a new organization. A customer may
// name its reseller by slug; resellers cannot have one. Only the system
// creates organizations.
func (s *Service) CreateOrganization(ctx context.Context, caller Principal, slug, name string, kind OrgKind, resellerSlug string) (Organization, error) {
	if err := s.rights.System(caller, "create organizations"); err != nil {
		return Organization{}, err
	}
	if err := ValidateSlug(slug); err != nil {
		return Organization{}, err
	}
	if kind == "" {
		kind = Customer
	}
	if kind != Reseller && kind != Customer {
		return Organization{}, domain.Errorf(domain.Invalid, "organization kind %q must be reseller or customer", kind)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = slug
	}
	org := Organization{ID: NewID(), Slug: slug, Name: name, Kind: kind, CreatedAt: s.now().UTC()}
	if resellerSlug != "" {
		if kind == Reseller {
			return Organization{}, domain.Errorf(domain.Invalid, "a reseller cannot have a reseller")
		}
		parent, err := s.store.OrganizationBySlug(ctx, resellerSlug)
		if err != nil {
			return Organization{}, err
		}
		if parent.Kind != Reseller {
			return Organization{}, domain.Errorf(domain.Invalid, "organization %q is not a reseller", resellerSlug)
		}
		org.ResellerID = parent.ID
	}
	if err := s.store.CreateOrganization(ctx, org); err != nil {
		return Organization{}, err
	}
	return org, nil
}

// CreateUser adds a user to the organization named by slug. An empty password
// creates a user that can only use API tokens. The caller must be the
// system or an admin who may manage that organization.
func (s *Service) CreateUser(ctx context.Context, caller Principal, email, orgSlug string, role Role, password string) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if role != Admin && role != Member {
		return User{}, domain.Errorf(domain.Invalid, "role %q must be admin or member", role)
	}
	org, err := s.OrganizationBySlug(ctx, caller, orgSlug)
	if err != nil {
		return User{}, err
	}
	if err := s.rights.Write(ctx, caller, org.ID, "users"); err != nil {
		return User{}, err
	}
	u := User{ID: NewID(), OrgID: org.ID, Email: email, Role: role, CreatedAt: s.now().UTC()}
	if password != "" {
		if u.PasswordHash, err = HashPassword(password); err != nil {
			return User{}, err
		}
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	return u, nil
}

// IssueToken creates an API token for a user and returns it in plain text.
// It is shown once: only its hash is stored. Users issue their own tokens;
// the system issues anyone's.
func (s *Service) IssueToken(ctx context.Context, caller Principal, u User, name string) (string, error) {
	if !caller.IsSystem() && (caller.User.ID == "" || caller.User.ID != u.ID) {
		return "", domain.Errorf(domain.Forbidden, "users issue API tokens for themselves only")
	}
	token, err := newSecret("tc_", 32)
	if err != nil {
		return "", err
	}
	if name == "" {
		name = "cli"
	}
	t := APIToken{ID: NewID(), OrgID: u.OrgID, UserID: u.ID, Name: name, Hash: HashToken(token), CreatedAt: s.now().UTC()}
	if err := s.store.CreateAPIToken(ctx, t); err != nil {
		return "", err
	}
	return token, nil
}

var errBadLogin = domain.Errorf(domain.Unauthorized, "wrong email or password")

// Login checks an email and password and opens a console session. It returns
// the session's cookie value, the session and the caller. client is the
// caller's network address as the HTTP server sees it ("host:port"): failed
// sign-ins are throttled per account and per client address, and a caller
// who failed too often gets a domain.RateLimited error with a RetryAfter,
// whatever the password, until the wait is over.
func (s *Service) Login(ctx context.Context, email, password, client string) (string, Session, Principal, error) {
	var keys []throttled
	if key, ok := addressKey("login", client); ok {
		keys = append(keys, throttled{key, AddressBackoff})
	}
	email, err := NormalizeEmail(email)
	account := accountKey("login", email)
	if err == nil {
		keys = append(keys, throttled{account, AccountBackoff})
	}
	if err := s.checkThrottle(ctx, "sign-ins", keys); err != nil {
		return "", Session{}, Principal{}, err
	}
	u, err := s.checkPassword(ctx, email, password)
	if errors.Is(err, errBadLogin) {
		if err := s.recordFailure(ctx, keys); err != nil {
			return "", Session{}, Principal{}, err
		}
		return "", Session{}, Principal{}, errBadLogin
	}
	if err != nil {
		return "", Session{}, Principal{}, err
	}
	if err := s.store.DeleteAttempt(ctx, account); err != nil {
		return "", Session{}, Principal{}, err
	}
	return s.openSession(ctx, u.OrgID, u.ID)
}

// checkPassword returns the user of a normalised email when password is
// theirs, and errBadLogin otherwise (an invalid email included).
func (s *Service) checkPassword(ctx context.Context, email, password string) (User, error) {
	u, err := s.store.UserByEmail(ctx, email)
	if domain.IsNotFound(err) {
		// Spend the same time as a real check so timing does not reveal
		// which emails exist.
		CheckPassword(dummyHash, password)
		return User{}, errBadLogin
	}
	if err != nil {
		return User{}, err
	}
	if u.PasswordHash == "" || !CheckPassword(u.PasswordHash, password) {
		return User{}, errBadLogin
	}
	return u, nil
}

var dummyHash, _ = HashPassword("not-a-real-password")

// Logout ends the session whose cookie value is token.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.store.DeleteSession(ctx, HashToken(token))
}

// SessionPrincipal resolves a session cookie value to its session and caller.
func (s *Service) SessionPrincipal(ctx context.Context, token string) (Session, Principal, error) {
	if token == "" {
		return Session{}, Principal{}, domain.Errorf(domain.Unauthorized, "not signed in")
	}
	sess, err := s.store.SessionByHash(ctx, HashToken(token), s.now().UTC())
	if domain.IsNotFound(err) {
		return Session{}, Principal{}, domain.Errorf(domain.Unauthorized, "session expired; sign in again")
	}
	if err != nil {
		return Session{}, Principal{}, err
	}
	p, err := s.principal(ctx, sess.OrgID, sess.UserID)
	return sess, p, err
}

// TokenPrincipal resolves a bearer token to its caller. client is the
// caller's network address as the HTTP server sees it: wrong tokens are
// throttled per client address as failed sign-ins are (see Login).
func (s *Service) TokenPrincipal(ctx context.Context, token, client string) (Principal, error) {
	var keys []throttled
	if key, ok := addressKey("token", client); ok {
		keys = append(keys, throttled{key, AddressBackoff})
	}
	if err := s.checkThrottle(ctx, "API token attempts", keys); err != nil {
		return Principal{}, err
	}
	t, err := s.store.APITokenByHash(ctx, HashToken(token))
	if domain.IsNotFound(err) {
		if err := s.recordFailure(ctx, keys); err != nil {
			return Principal{}, err
		}
		return Principal{}, domain.Errorf(domain.Unauthorized, "invalid or revoked API token")
	}
	if err != nil {
		return Principal{}, err
	}
	return s.principal(ctx, t.OrgID, t.UserID)
}

func (s *Service) principal(ctx context.Context, orgID, userID string) (Principal, error) {
	u, err := s.store.UserByID(ctx, orgID, userID)
	if err != nil {
		return Principal{}, err
	}
	org, err := s.store.OrganizationByID(ctx, orgID)
	if err != nil {
		return Principal{}, err
	}
	return Principal{User: u, Org: org}, nil
}

// VisibleOrganizations lists the organizations the caller may read: its own,
// and for a reseller each of its customers.
func (s *Service) VisibleOrganizations(ctx context.Context, caller Principal) ([]Organization, error) {
	return s.rights.Organizations(ctx, caller)
}

// OrganizationBySlug returns the organization named slug when the caller
// may read it, and a domain.NotFound error otherwise.
func (s *Service) OrganizationBySlug(ctx context.Context, caller Principal, slug string) (Organization, error) {
	org, err := s.store.OrganizationBySlug(ctx, slug)
	if err != nil {
		return Organization{}, err
	}
	if _, err := s.rights.Read(ctx, caller, org.ID); err != nil {
		return Organization{}, err
	}
	return org, nil
}

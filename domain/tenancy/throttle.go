package tenancy

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/truecost/truecost/domain"
)

// Attempt is the record of failed attempts to sign in or to use an API
// token under one key: an account or a client address.
type Attempt struct {
	Failures     int
	LastFailure  time.Time
	BlockedUntil time.Time
}

// AttemptStore keeps failed attempts where every replica sees them and a
// restart does not forget them. Keys are opaque (hashed) strings.
type AttemptStore interface {
	// Attempt returns the record of key, or the zero Attempt.
	Attempt(ctx context.Context, key string) (Attempt, error)
	// UpdateAttempt replaces the record of key with what update makes of
	// the current one (the zero Attempt when there is none), atomically
	// with respect to other updates of key.
	UpdateAttempt(ctx context.Context, key string, update func(Attempt) Attempt) error
	// DeleteAttempt forgets the record of key.
	DeleteAttempt(ctx context.Context, key string) error
	// DeleteAttemptsBefore forgets records whose last failure is older
	// than t.
	DeleteAttemptsBefore(ctx context.Context, t time.Time) error
}

// Backoff is a throttling policy: Free failures are allowed in a row, and
// each failure after them blocks further attempts for Base, doubled each
// time up to Max. Failures are forgotten Forget after the last one, and a
// successful sign-in forgets an account's.
type Backoff struct {
	Free      int
	Base, Max time.Duration
	Forget    time.Duration
}

// The policies of sign-ins and API tokens. An address is allowed more
// failures than an account because many people may share it (an office's
// NAT); a wrong API token has no account to count against.
var (
	AccountBackoff = Backoff{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}
	AddressBackoff = Backoff{Free: 20, Base: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}
)

// Fail returns a after one more failure at now.
func (b Backoff) Fail(a Attempt, now time.Time) Attempt {
	if now.Sub(a.LastFailure) > b.Forget {
		a = Attempt{}
	}
	a.Failures++
	a.LastFailure = now
	if over := a.Failures - b.Free; over > 0 {
		wait := b.Max
		if over <= 32 {
			wait = time.Duration(math.Min(float64(b.Base)*math.Exp2(float64(over-1)), float64(b.Max)))
		}
		a.BlockedUntil = now.Add(wait)
	}
	return a
}

// Wait returns how long a blocks attempts after now; zero when it does not.
func (Backoff) Wait(a Attempt, now time.Time) time.Duration {
	return max(0, a.BlockedUntil.Sub(now))
}

// accountKey is the store key of an account by its normalised email,
// hashed (as are address keys) so that the table holds neither emails nor
// addresses.
func accountKey(kind, email string) string { return HashToken(kind + ":account:" + email) }

// addressKey returns the store key of the client address remote (as an
// HTTP server sees it: "host:port" or "host"), and false when there is no
// address to count against (a Unix socket). IPv6 clients are counted by
// their /64, which one host usually holds whole.
func addressKey(kind, remote string) (string, bool) {
	addr, err := netip.ParseAddr(remote)
	if err != nil {
		ap, err := netip.ParseAddrPort(remote)
		if err != nil {
			return "", false
		}
		addr = ap.Addr()
	}
	addr = addr.Unmap()
	if addr.Is6() {
		addr = netip.PrefixFrom(addr, 64).Masked().Addr()
	}
	return HashToken(kind + ":address:" + addr.String()), true
}

// throttled is one key of a throttle with its policy.
type throttled struct {
	key    string
	policy Backoff
}

// checkThrottle refuses with a domain.RateLimited error while any of keys
// is blocked.
func (s *Service) checkThrottle(ctx context.Context, what string, keys []throttled) error {
	now := s.now()
	var wait time.Duration
	for _, k := range keys {
		a, err := s.store.Attempt(ctx, k.key)
		if err != nil {
			return err
		}
		wait = max(wait, k.policy.Wait(a, now))
	}
	if wait == 0 {
		return nil
	}
	return &domain.Error{Code: domain.RateLimited, RetryAfter: wait,
		Message: fmt.Sprintf("too many failed %s; try again in %s", what, roundUp(wait))}
}

// recordFailure counts a failure against each of keys.
func (s *Service) recordFailure(ctx context.Context, keys []throttled) error {
	now := s.now()
	for _, k := range keys {
		err := s.store.UpdateAttempt(ctx, k.key, func(a Attempt) Attempt { return k.policy.Fail(a, now) })
		if err != nil {
			return err
		}
	}
	return nil
}

// PruneAttempts forgets failed attempts too old to count, for the
// housekeeping job. Only the system may call it.
func (s *Service) PruneAttempts(ctx context.Context, caller Principal) error {
	if err := s.rights.System(caller, "prune failed sign-ins"); err != nil {
		return err
	}
	return s.store.DeleteAttemptsBefore(ctx, s.now().Add(-max(AccountBackoff.Forget, AddressBackoff.Forget, AccountBackoff.Max, AddressBackoff.Max)))
}

// roundUp writes d in whole seconds, rounded up, as people read it.
func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

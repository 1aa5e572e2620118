package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/tenancy"
)

// stoppedClockService returns a tenancy service on s whose clock stands
// still, so blocks last however slow the test runs, with the organization
// acme created, and the clock option for further services.
func stoppedClockService(t *testing.T, s *sqlstore.Store) (*tenancy.Service, tenancy.Option) {
	t.Helper()
	clock := tenancy.WithClock(func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) })
	svc := tenancy.NewService(s, tenancy.NewRights(s), clock)
	if _, err := svc.CreateOrganization(context.Background(), system, "acme", "Acme", tenancy.Customer, ""); err != nil {
		t.Fatal(err)
	}
	return svc, clock
}

func TestLoginIsThrottledPerAccountAndAddress(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc, clock := stoppedClockService(t, s)
		for _, email := range []string{"ana@acme.example", "bob@acme.example"} {
			if _, err := svc.CreateUser(ctx, system, email, "acme", tenancy.Member, "correct horse"); err != nil {
				t.Fatal(err)
			}
		}
		const attacker, office = "198.51.100.7:40000", "203.0.113.5:50000"

		limited := 0
		for range 20 {
			_, _, _, err := svc.Login(ctx, "ana@acme.example", "wrong guess", attacker)
			switch domain.ErrorCode(err) {
			case domain.RateLimited:
				limited++
			case domain.Unauthorized:
			default:
				t.Fatalf("wrong password: %v", err)
			}
		}
		if want := 20 - tenancy.AccountBackoff.Free - 1; limited != want {
			t.Fatalf("%d of 20 wrong passwords refused unchecked, want all but the first %d", limited, 20-want)
		}
		// The right password does not help while the account is blocked,
		// from any address, nor after a restart (a new service on the
		// same database).
		for _, svc := range []*tenancy.Service{svc, tenancy.NewService(s, tenancy.NewRights(s), clock)} {
			_, _, _, err := svc.Login(ctx, "ANA@acme.example", "correct horse", office)
			if domain.ErrorCode(err) != domain.RateLimited || domain.RetryAfterSeconds(err) < 1 {
				t.Fatalf("right password on a blocked account: %v (retry after %ds), want rate_limited", err, domain.RetryAfterSeconds(err))
			}
		}
		// Another account from the attacker's address is not blocked yet:
		// an address gets more failures than an account.
		if _, _, _, err := svc.Login(ctx, "bob@acme.example", "correct horse", attacker); err != nil {
			t.Fatalf("another account from the same address: %v", err)
		}
	})
}

func TestBadAPITokensAreThrottledPerAddress(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc, _ := stoppedClockService(t, s)
		u, err := svc.CreateUser(ctx, system, "ci@acme.example", "acme", tenancy.Member, "")
		if err != nil {
			t.Fatal(err)
		}
		token, err := svc.IssueToken(ctx, system, u, "ci")
		if err != nil {
			t.Fatal(err)
		}
		const scanner, ci = "[2001:db8::1]:40000", "192.0.2.10:50000"
		for i := range tenancy.AddressBackoff.Free + 1 {
			if _, err := svc.TokenPrincipal(ctx, "tc_guess", scanner); domain.ErrorCode(err) != domain.Unauthorized {
				t.Fatalf("bad token %d: %v, want unauthorized", i+1, err)
			}
		}
		// The scanner's /64 is blocked, even with a good token.
		if _, err := svc.TokenPrincipal(ctx, token, "[2001:db8::2]:40000"); domain.ErrorCode(err) != domain.RateLimited {
			t.Errorf("good token from the blocked /64: %v, want rate_limited", err)
		}
		if p, err := svc.TokenPrincipal(ctx, token, ci); err != nil || p.User.ID != u.ID {
			t.Errorf("good token from another address: %+v %v", p, err)
		}
	})
}

func TestUpdateAttemptCountsConcurrentFailures(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 5 {
					err := s.UpdateAttempt(ctx, "k", func(a tenancy.Attempt) tenancy.Attempt {
						a.Failures++
						a.LastFailure = now
						return a
					})
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		a, err := s.Attempt(ctx, "k")
		if err != nil || a.Failures != 20 || !a.LastFailure.Equal(now) || !a.BlockedUntil.IsZero() {
			t.Fatalf("attempt = %+v, %v; want 20 failures", a, err)
		}
		if err := s.DeleteAttemptsBefore(ctx, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if a, err := s.Attempt(ctx, "k"); err != nil || a != (tenancy.Attempt{}) {
			t.Errorf("after pruning: %+v, %v; want none", a, err)
		}
	})
}

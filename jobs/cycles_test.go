package jobs_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/jobs"
)

// countingCloser counts the passes of a replica's scheduled close.
type countingCloser struct {
	svc    *pricing.Service
	mu     sync.Mutex
	passes int
	closed int
}

func (c *countingCloser) CloseDue(ctx context.Context, p tenancy.Principal, days int) ([]pricing.OrgMonth, error) {
	done, err := c.svc.CloseDue(ctx, p, days)
	c.mu.Lock()
	c.passes++
	c.closed += len(done)
	c.mu.Unlock()
	return done, err
}

func (c *countingCloser) counts() (passes, closed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.passes, c.closed
}

// seedCustomer makes a reseller with a customer holding the FOCUS sample
// (September 2024) and returns the customer.
func seedCustomer(t *testing.T, store *sqlstore.Store) tenancy.Organization {
	t.Helper()
	ctx := context.Background()
	system := tenancy.SystemPrincipal("test")
	ten := tenancy.NewService(store, tenancy.NewRights(store))
	if _, err := ten.CreateOrganization(ctx, system, "reseller", "Reseller", tenancy.Reseller, ""); err != nil {
		t.Fatal(err)
	}
	acme, err := ten.CreateOrganization(ctx, system, "acme", "Acme", tenancy.Customer, "reseller")
	if err != nil {
		t.Fatal(err)
	}
	loc, err := connectors.CanonicalLocation(filepath.Join("..", "adapters", "sqlstore", "testdata", "focus-1.2-sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	c := connectors.Connector{ID: tenancy.NewID(), OrgID: acme.ID, Provider: connectors.Local, Name: "sample", Location: loc,
		Format: "focus", Enabled: true, Status: connectors.StatusNew, CreatedAt: time.Now().UTC()}
	if err := store.CreateConnector(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	src, err := localfiles.New(loc, "focus")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := billing.NewIngester(store, tenancy.NewID).Ingest(ctx, billing.IngestRequest{OrgID: acme.ID, ConnectorID: c.ID, Source: src}); err != nil {
		t.Fatal(err)
	}
	return acme
}

// TestCycleCloseReplicasOnOneDatabaseCloseEachMonthOnce runs two
// schedulers, each with its own connection pool and pricing service, on
// one real database: each slot's scheduled close runs on one replica only,
// and the customer's month is closed once, with one audit record.
func TestCycleCloseReplicasOnOneDatabaseCloseEachMonthOnce(t *testing.T) {
	t.Parallel()
	databases := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "truecost.db") }},
		{"postgres", func(t *testing.T) string {
			u, _ := sqltest.PostgresURL(t) // skips, or fails under CI=true, without a server
			return u
		}},
	}
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			url := db.url(t)
			const replicas, slots, timers = 2, 3, 2 * 2
			clock := clockwork.NewFakeClockAt(start)
			tally := newSlotTally()
			var closers []*countingCloser
			var acme tenancy.Organization
			var svc *pricing.Service
			for i := range replicas {
				store := openStore(t, url, i == 0)
				if i == 0 {
					acme = seedCustomer(t, store)
				}
				closer := &countingCloser{svc: pricing.NewService(store, store, tenancy.NewID, pricing.WithClock(clock.Now))}
				svc = closer.svc
				closers = append(closers, closer)
				startReplica(t, jobs.Deps{Housekeeper: store, Locks: tally.wrap(store), Clock: clock, Logger: discard(),
					Cycles: closer, CloseAfterDays: 5}, jobs.WithOwner(fmt.Sprintf("replica-%d", i)))
			}
			waitArmed(t, clock, timers)
			total := func() (passes, closed int) {
				for _, c := range closers {
					p, n := c.counts()
					passes, closed = passes+p, closed+n
				}
				return passes, closed
			}
			first := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			for i := range slots {
				slot := first.Add(time.Duration(i) * time.Hour)
				fireSlot(t, clock, slot, timers)
				eventually(t, fmt.Sprintf("both replicas claimed slot %s and one closed", slot), func() bool {
					attempts, _ := tally.counts(jobs.CycleCloseJob, slot)
					passes, _ := total()
					return attempts >= replicas && passes >= i+1
				})
				settle()
				if _, wins := tally.counts(jobs.CycleCloseJob, slot); wins != 1 {
					t.Errorf("slot %s claimed by %d replicas, want 1", slot, wins)
				}
			}
			if passes, closed := total(); passes != slots || closed != 1 {
				t.Errorf("got %d passes closing %d months over %d slots, want one pass a slot closing September 2024 once", passes, closed, slots)
			}
			events, err := svc.CycleEvents(context.Background(), resellerAdmin(t, svc, acme), acme.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 || events[0].Action != pricing.CloseAction || events[0].Actor != "system:jobs" ||
				!events[0].Month.Equal(time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("audit trail: got %+v, want one close of September 2024 by the scheduler", events)
			}
		})
	}
}

func resellerAdmin(t *testing.T, _ *pricing.Service, customer tenancy.Organization) tenancy.Principal {
	t.Helper()
	return tenancy.Principal{Org: tenancy.Organization{ID: customer.ResellerID, Kind: tenancy.Reseller},
		User: tenancy.User{ID: "admin", OrgID: customer.ResellerID, Role: tenancy.Admin}}
}

package background_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/background"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

var system = tenancy.SystemPrincipal("test")

// fakeConnectors has one connector, "c-1"; its sync reports progress and
// then waits for release (or its context) before answering.
type fakeConnectors struct {
	orgID   string
	release chan struct{}
	// synced, when set, is closed as Sync returns.
	synced chan struct{}
}

func (f *fakeConnectors) Get(_ context.Context, _ tenancy.Principal, orgID, id string) (connectors.Connector, error) {
	if orgID != f.orgID || id != "c-1" {
		return connectors.Connector{}, domain.Errorf(domain.NotFound, "billing connector not found")
	}
	return connectors.Connector{ID: id, OrgID: orgID}, nil
}

func (f *fakeConnectors) Test(context.Context, tenancy.Principal, string, string) (connectors.TestResult, error) {
	return connectors.TestResult{}, domain.WrapError(domain.Unavailable, context.DeadlineExceeded, "s3.amazonaws.com did not answer within 30s")
}

func (f *fakeConnectors) Sync(ctx context.Context, _ tenancy.Principal, _, id string, progress func(done, total int64)) (billing.IngestionRun, error) {
	if f.synced != nil {
		defer close(f.synced)
	}
	progress(40<<20, 100<<20)
	select {
	case <-f.release:
	case <-ctx.Done():
		return billing.IngestionRun{}, ctx.Err()
	}
	return billing.IngestionRun{ID: "run-1", ConnectorID: id, Status: billing.RunSucceeded, Rows: 42,
		Periods: []time.Time{time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}}, nil
}

// runner runs work on goroutines with a context Shutdown cancels; held
// keeps work without running it, as a process that dies before.
type runner struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	hold   bool
	full   bool
}

func newRunner() *runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &runner{ctx: ctx, cancel: cancel}
}

func (r *runner) Go(fn func(context.Context)) error {
	switch {
	case r.full:
		return domain.Errorf(domain.Unavailable, "too many jobs are running; try again shortly")
	case r.hold:
		return nil
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fn(r.ctx)
	}()
	return nil
}

func (r *runner) shutdown() {
	r.cancel()
	r.wg.Wait()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type world struct {
	store                *sqlstore.Store
	rights               *tenancy.Rights
	conns                *fakeConnectors
	clock                *clock
	org                  tenancy.Organization
	admin, member, other tenancy.Principal
}

func newWorld(t *testing.T, s *sqlstore.Store) *world {
	t.Helper()
	ctx := context.Background()
	rights := tenancy.NewRights(s)
	tn := tenancy.NewService(s, rights)
	principal := func(slug, email string, role tenancy.Role) tenancy.Principal {
		org, err := tn.OrganizationBySlug(ctx, system, slug)
		if err != nil {
			if org, err = tn.CreateOrganization(ctx, system, slug, "", tenancy.Customer, ""); err != nil {
				t.Fatal(err)
			}
		}
		u, err := tn.CreateUser(ctx, system, email, slug, role, "")
		if err != nil {
			t.Fatal(err)
		}
		return tenancy.Principal{User: u, Org: org}
	}
	w := &world{store: s, rights: rights, clock: &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}}
	w.admin = principal("acme", "admin@acme.example", tenancy.Admin)
	w.member = principal("acme", "member@acme.example", tenancy.Member)
	w.other = principal("globex", "admin@globex.example", tenancy.Admin)
	w.org = w.admin.Org
	w.conns = &fakeConnectors{orgID: w.org.ID, release: make(chan struct{})}
	return w
}

func (w *world) service(r background.Runner) *background.Service {
	return background.NewService(background.Deps{Store: w.store, Runner: r, Rights: w.rights, Connectors: w.conns,
		NewID: tenancy.NewID, Now: w.clock.Now})
}

func (w *world) await(t *testing.T, svc *background.Service, id string) background.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := svc.Get(context.Background(), w.member, "", id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Done() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, j.State)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSyncJobRecordsProgressThenTheRun(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)
		r := newRunner()
		defer r.shutdown()
		svc := w.service(r)
		j, err := svc.SyncConnector(ctx, w.admin, "", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		if j.State != background.Queued || j.Kind != background.SyncConnector || j.OrgID != w.org.ID || j.SubjectID != "c-1" || j.CreatedBy != w.admin.User.ID {
			t.Fatalf("started %+v", j)
		}
		var running background.Job
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if running, err = svc.Get(ctx, w.member, w.org.ID, j.ID); err != nil {
				t.Fatal(err)
			}
			if running.HasProgress {
				break
			}
		}
		if running.State != background.Running || running.Progress != 0.4 || running.Message != "read 40.0 MB of 100.0 MB" || running.StartedAt.IsZero() {
			t.Errorf("while running: %+v, want 40%% read", running)
		}
		close(w.conns.release)
		done := w.await(t, svc, j.ID)
		if done.State != background.Succeeded || done.Progress != 1 || done.FinishedAt.IsZero() || done.Error != "" ||
			done.Result.Run == nil || done.Result.Run.Rows != 42 || !strings.Contains(done.Result.Summary, "ingested 42 rows") {
			t.Errorf("done: %+v (run %+v)", done, done.Result.Run)
		}
	})
}

func TestJobsAreRefusedAtOnceOrFailWithTheSafeMessage(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)
		r := newRunner()
		defer r.shutdown()
		svc := w.service(r)
		if _, err := svc.TestConnector(ctx, w.member, "", "c-1"); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("a member starting a test: %v, want forbidden", err)
		}
		if _, err := svc.TestConnector(ctx, w.other, w.org.ID, "c-1"); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("another organization's admin: %v, want not found", err)
		}
		if _, err := svc.TestConnector(ctx, w.admin, "", "c-2"); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("an unknown connector: %v, want not found", err)
		}

		j, err := svc.TestConnector(ctx, w.admin, "", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		done := w.await(t, svc, j.ID)
		if done.State != background.Failed || done.ErrorCode != domain.Unavailable || done.Error != "s3.amazonaws.com did not answer within 30s" {
			t.Errorf("failed test: %+v", done)
		}
		if _, err := svc.Get(ctx, w.other, "", j.ID); domain.ErrorCode(err) != domain.NotFound {
			t.Errorf("another organization reads the job: %v", err)
		}

		r.full = true
		j, err = svc.TestConnector(ctx, w.admin, "", "c-1")
		if err != nil || j.State != background.Failed || !strings.Contains(j.Error, "too many jobs") {
			t.Errorf("with the runner full: %+v %v, want the job failed at once", j, err)
		}
	})
}

func TestJobsOfAStoppedServerEndFailedNotLost(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)

		// Shut down while a sync runs: the job records the interruption.
		r := newRunner()
		svc := w.service(r)
		running, err := svc.SyncConnector(ctx, w.admin, "", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if j, _ := svc.Get(ctx, w.admin, "", running.ID); j.State == background.Running {
				break
			}
		}
		r.shutdown()
		if j, _ := svc.Get(ctx, w.admin, "", running.ID); j.State != background.Failed || !strings.HasPrefix(j.Error, "interrupted") {
			t.Errorf("after shutdown: %+v, want failed as interrupted", j)
		}

		// A process that dies leaves its jobs queued or running; the next
		// start fails those no live process holds.
		dead := &runner{hold: true}
		lost, err := w.service(dead).TestConnector(ctx, w.admin, "", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		w.clock.advance(time.Minute)
		fresh, err := w.service(dead).TestConnector(ctx, w.admin, "", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		restarted := w.service(newRunner())
		n, err := restarted.AbandonInterrupted(ctx, system, w.clock.Now().Add(-background.Abandoned/4))
		if err != nil || n != 1 {
			t.Fatalf("abandoned %d, %v; want the one silent for a minute", n, err)
		}
		if j, _ := restarted.Get(ctx, w.admin, "", lost.ID); j.State != background.Failed || j.ErrorCode != domain.Unavailable || !strings.HasPrefix(j.Error, "abandoned") {
			t.Errorf("lost job after restart: %+v", j)
		}
		if j, _ := restarted.Get(ctx, w.admin, "", fresh.ID); j.State != background.Queued {
			t.Errorf("a job with a fresh heartbeat became %s", j.State)
		}
		// Read once its heartbeat is older than Abandoned, it is failed too.
		w.clock.advance(background.Abandoned + time.Second)
		if j, _ := restarted.Get(ctx, w.admin, "", fresh.ID); j.State != background.Failed || !strings.HasPrefix(j.Error, "abandoned") {
			t.Errorf("silent job read later: %+v", j)
		}
		if _, err := restarted.AbandonInterrupted(ctx, w.admin, w.clock.Now()); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("an admin abandoning jobs: %v, want forbidden", err)
		}
	})
}

// busyStore holds every progress write until open is closed, as SQLite
// does while a load holds its write lock.
type busyStore struct {
	*sqlstore.Store
	open chan struct{}
}

func (b busyStore) SaveJob(ctx context.Context, j background.Job) error {
	if j.State == background.Running && j.HasProgress {
		<-b.open
	}
	return b.Store.SaveJob(ctx, j)
}

func TestProgressWritesNeverHoldUpTheWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, sqltest.SQLite(t))
	close(w.conns.release)
	w.conns.synced = make(chan struct{})
	store := busyStore{Store: w.store, open: make(chan struct{})}
	r := newRunner()
	defer r.shutdown()
	svc := background.NewService(background.Deps{Store: store, Runner: r, Rights: w.rights, Connectors: w.conns,
		NewID: tenancy.NewID, Now: w.clock.Now})
	j, err := svc.SyncConnector(ctx, w.admin, "", "c-1")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.conns.synced:
	case <-time.After(10 * time.Second):
		t.Fatal("the sync waited for its progress to be stored")
	}
	close(store.open)
	if done := w.await(t, svc, j.ID); done.State != background.Succeeded {
		t.Errorf("job ended %+v", done)
	}
}

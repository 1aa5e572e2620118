package background

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// Connectors is what jobs need of billing connectors; *connectors.Service
// implements it.
type Connectors interface {
	Get(ctx context.Context, p tenancy.Principal, orgID, id string) (connectors.Connector, error)
	Test(ctx context.Context, p tenancy.Principal, orgID, id string) (connectors.TestResult, error)
	Sync(ctx context.Context, p tenancy.Principal, orgID, id string, progress func(done, total int64)) (billing.IngestionRun, error)
}

// Accounts is what jobs need of cloud accounts; *accounts.Service
// implements it.
type Accounts interface {
	Get(ctx context.Context, p tenancy.Principal, orgID, id string) (accounts.Account, error)
	CheckProvision(ctx context.Context, p tenancy.Principal, orgID, accountID string, set accounts.Settings) error
	Provision(ctx context.Context, p tenancy.Principal, orgID, accountID string, set accounts.Settings) (accounts.Infrastructure, error)
	Manual(inf accounts.Infrastructure) []string
	CheckNow(ctx context.Context, p tenancy.Principal, orgID string) ([]accounts.Account, error)
}

// Deps are what a Service needs. Connectors or Accounts may be nil; their
// jobs are then unavailable.
type Deps struct {
	Store      Store
	Runner     Runner
	Rights     *tenancy.Rights
	Connectors Connectors
	Accounts   Accounts
	NewID      func() string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives the whole error chain of failed jobs; slog.Default()
	// when nil.
	Logger *slog.Logger
}

// Service starts jobs and reports on them.
type Service struct {
	d   Deps
	log *slog.Logger

	mu   sync.Mutex
	live map[string]bool // jobs this process holds, queued or running
}

// NewService returns a Service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{d: d, log: log, live: make(map[string]bool)}
}

// what names jobs in the messages of Rights.Write.
const what = "billing connectors, cloud accounts or billing provisioning"

func (s *Service) now() time.Time { return s.d.Now().UTC().Truncate(time.Microsecond) }

// target is the organization a job is for: the caller's own when orgID is
// empty.
func target(p tenancy.Principal, orgID string) string {
	if orgID == "" {
		return p.Org.ID
	}
	return orgID
}

// TestConnector starts listing what a connector would ingest now; the
// job's result holds the listing.
func (s *Service) TestConnector(ctx context.Context, p tenancy.Principal, orgID, connectorID string) (Job, error) {
	orgID = target(p, orgID)
	if err := s.connectorJob(ctx, p, orgID, connectorID); err != nil {
		return Job{}, err
	}
	return s.start(ctx, p, orgID, TestConnector, connectorID, func(ctx context.Context, _ *progress) (Result, error) {
		res, err := s.d.Connectors.Test(ctx, p, orgID, connectorID)
		if err != nil {
			return Result{}, err
		}
		n := 0
		for _, part := range res.Parts {
			n += len(part.Files)
		}
		return Result{Summary: fmt.Sprintf("Connected: %s, %d files in %d parts", res.Format, n, len(res.Parts)), Test: &res}, nil
	})
}

// SyncConnector starts ingesting what changed in a connector's source;
// its progress follows the bytes read and its result holds the run.
func (s *Service) SyncConnector(ctx context.Context, p tenancy.Principal, orgID, connectorID string) (Job, error) {
	orgID = target(p, orgID)
	if err := s.connectorJob(ctx, p, orgID, connectorID); err != nil {
		return Job{}, err
	}
	return s.start(ctx, p, orgID, SyncConnector, connectorID, func(ctx context.Context, pr *progress) (Result, error) {
		run, err := s.d.Connectors.Sync(ctx, p, orgID, connectorID, func(done, total int64) {
			if total > 0 {
				pr.set(float64(done)/float64(total), fmt.Sprintf("read %s of %s", bytes(done), bytes(total)))
			}
		})
		if err != nil {
			return Result{}, err
		}
		return Result{Summary: run.Summary(run.Duration()), Run: &run}, nil
	})
}

// ProvisionBilling starts provisioning the billing export of the account's
// provider (or continuing one that stopped). What provisioning would refuse
// before touching the cloud is refused at once.
func (s *Service) ProvisionBilling(ctx context.Context, p tenancy.Principal, orgID, accountID string, set accounts.Settings) (Job, error) {
	orgID = target(p, orgID)
	if s.d.Accounts == nil {
		return Job{}, domain.Errorf(domain.Unavailable, "cloud accounts are not configured")
	}
	if err := s.d.Rights.Write(ctx, p, orgID, what); err != nil {
		return Job{}, err
	}
	a, err := s.d.Accounts.Get(ctx, p, orgID, accountID)
	if err != nil {
		return Job{}, err
	}
	// Refused settings and states are answered at once, not as a job.
	if err := s.d.Accounts.CheckProvision(ctx, p, orgID, accountID, set); err != nil {
		return Job{}, err
	}
	return s.start(ctx, p, orgID, ProvisionBilling, accountID, func(ctx context.Context, _ *progress) (Result, error) {
		inf, err := s.d.Accounts.Provision(ctx, p, orgID, accountID, set)
		if err != nil {
			return Result{Provider: a.Provider}, err
		}
		label := accounts.ProviderLabel(a.Provider)
		summary := label + " billing provisioned. The status stays Checking until the first export is delivered."
		if len(s.d.Accounts.Manual(inf)) > 0 {
			summary = label + " billing provisioned. Finish the manual steps on the account's page; the status stays Checking until data arrives."
		}
		return Result{Summary: summary, Provider: a.Provider}, nil
	})
}

// CheckBillingStatus starts syncing the organization's cloud connectors
// and checking its accounts' billing status.
func (s *Service) CheckBillingStatus(ctx context.Context, p tenancy.Principal, orgID string) (Job, error) {
	orgID = target(p, orgID)
	if s.d.Accounts == nil {
		return Job{}, domain.Errorf(domain.Unavailable, "cloud accounts are not configured")
	}
	if err := s.d.Rights.Write(ctx, p, orgID, what); err != nil {
		return Job{}, err
	}
	return s.start(ctx, p, orgID, CheckBillingStatus, "", func(ctx context.Context, _ *progress) (Result, error) {
		list, err := s.d.Accounts.CheckNow(ctx, p, orgID)
		if err != nil {
			return Result{}, err
		}
		return Result{Summary: fmt.Sprintf("Checked %d accounts.", len(list)), Accounts: len(list)}, nil
	})
}

// Get returns a job of orgID, or with orgID empty of any organization the
// caller may read. Another organization's job is not found. A job whose
// process stopped is returned, and recorded, as failed.
func (s *Service) Get(ctx context.Context, p tenancy.Principal, orgID, id string) (Job, error) {
	orgIDs, err := s.d.Rights.Read(ctx, p, orgID)
	if err != nil {
		return Job{}, err
	}
	j, err := s.d.Store.Job(ctx, orgIDs, id)
	if err != nil {
		return Job{}, err
	}
	if !j.Done() && s.now().Sub(j.HeartbeatAt) > Abandoned {
		s.finish(ctx, &j, Result{}, domain.Errorf(domain.Unavailable, abandonedMessage))
	}
	return j, nil
}

// AbandonInterrupted fails the unfinished jobs no process holds any more:
// those silent since staleBefore. At start, a single-process store passes
// now (nothing else can be running them); a shared one now - Abandoned.
// Only the system may call it.
func (s *Service) AbandonInterrupted(ctx context.Context, p tenancy.Principal, staleBefore time.Time) (int, error) {
	if err := s.d.Rights.System(p, "abandon interrupted jobs"); err != nil {
		return 0, err
	}
	return s.d.Store.AbandonJobs(ctx, staleBefore, abandonedMessage, s.now())
}

// KeepAlive moves the heartbeat of the jobs this process holds every
// Heartbeat until ctx ends, so that other replicas do not take them for
// abandoned.
func (s *Service) KeepAlive(ctx context.Context) {
	t := time.NewTicker(Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		ids := make([]string, 0, len(s.live))
		for id := range s.live {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		if err := s.d.Store.TouchJobs(ctx, ids, s.now()); err != nil {
			s.log.WarnContext(ctx, "job heartbeat failed", "jobs", len(ids), "err", err)
		}
	}
}

func (s *Service) connectorJob(ctx context.Context, p tenancy.Principal, orgID, connectorID string) error {
	if s.d.Connectors == nil {
		return domain.Errorf(domain.Unavailable, "billing connectors are not configured")
	}
	if err := s.d.Rights.Write(ctx, p, orgID, what); err != nil {
		return err
	}
	_, err := s.d.Connectors.Get(ctx, p, orgID, connectorID)
	return err
}

// work is a job's body: it reports progress through pr.
type work func(ctx context.Context, pr *progress) (Result, error)

// start stores a queued job and hands its work to the runner.
func (s *Service) start(ctx context.Context, p tenancy.Principal, orgID string, kind Kind, subject string, fn work) (Job, error) {
	if s.d.Runner == nil {
		return Job{}, domain.Errorf(domain.Unavailable, "background jobs are not configured")
	}
	now := s.now()
	j := Job{ID: s.d.NewID(), OrgID: orgID, Kind: kind, SubjectID: subject, CreatedBy: p.User.ID, State: Queued,
		CreatedAt: now, HeartbeatAt: now}
	if err := s.d.Store.CreateJob(ctx, j); err != nil {
		return Job{}, err
	}
	s.hold(j.ID, true)
	err := s.d.Runner.Go(func(ctx context.Context) { s.run(ctx, j, fn) })
	if err != nil {
		s.hold(j.ID, false)
		s.finish(ctx, &j, Result{}, err)
	}
	return j, nil
}

func (s *Service) hold(id string, live bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if live {
		s.live[id] = true
	} else {
		delete(s.live, id)
	}
}

// run executes a job's work within its deadline and records the outcome.
func (s *Service) run(ctx context.Context, j Job, fn work) {
	defer s.hold(j.ID, false)
	j.State, j.StartedAt, j.HeartbeatAt = Running, s.now(), s.now()
	if err := s.d.Store.SaveJob(context.WithoutCancel(ctx), j); err != nil {
		s.log.WarnContext(ctx, "job start not recorded", "job", j.ID, "err", err)
	}
	limit := deadlines[j.Kind]
	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	pr := newProgress(s, j)
	var res Result
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("job panicked: %v", r)
			}
		}()
		res, err = fn(runCtx, pr)
	}()
	j = pr.close()
	switch {
	case err != nil && ctx.Err() != nil:
		err = domain.WrapError(domain.Unavailable, err, "interrupted: the server stopped before the job finished; start it again")
	case err != nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) && domain.ErrorCode(err) == domain.Internal:
		err = domain.WrapError(domain.Unavailable, err, "timed out after %s", limit)
	}
	s.finish(ctx, &j, res, err)
}

// finish records a job's outcome; the store write outlives ctx.
func (s *Service) finish(ctx context.Context, j *Job, res Result, err error) {
	j.FinishedAt, j.HeartbeatAt = s.now(), s.now()
	if err != nil {
		code := domain.ErrorCode(err)
		if code == domain.Internal {
			// Unexpected failures may pass: trying again may work.
			code = domain.Unavailable
		}
		j.State, j.Error, j.ErrorCode = Failed, domain.ErrorMessage(err), code
		s.log.WarnContext(ctx, "job failed", "job", j.ID, "kind", j.Kind, "org", j.OrgID, "err", err)
	} else {
		j.State, j.Result = Succeeded, res
		j.Progress, j.HasProgress, j.Message = 1, true, ""
	}
	if err := s.d.Store.SaveJob(context.WithoutCancel(ctx), *j); err != nil {
		s.log.ErrorContext(ctx, "job outcome not recorded", "job", j.ID, "err", err)
	}
}

// progress records what a running job reports, at most once a second.
// Its writes happen on a goroutine of their own: the work reporting
// progress may hold the database (an SQLite load holds the write lock until
// it commits), and must never wait for its own progress to be stored.
type progress struct {
	s     *Service
	dirty chan struct{}
	stop  chan struct{}
	done  chan struct{}

	mu  sync.Mutex
	job Job
}

func newProgress(s *Service, j Job) *progress {
	p := &progress{s: s, job: j, dirty: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go p.save()
	return p
}

func (p *progress) set(fraction float64, message string) {
	p.mu.Lock()
	p.job.Progress, p.job.HasProgress, p.job.Message = min(max(fraction, 0), 1), true, message
	p.mu.Unlock()
	select {
	case p.dirty <- struct{}{}:
	default:
	}
}

func (p *progress) save() {
	defer close(p.done)
	var last time.Time
	for {
		select {
		case <-p.stop:
			return
		case <-p.dirty:
		}
		if wait := time.Second - time.Since(last); wait > 0 {
			select {
			case <-p.stop:
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		j := p.snapshot()
		j.HeartbeatAt = p.s.now()
		if err := p.s.d.Store.SaveJob(context.Background(), j); err != nil {
			p.s.log.Warn("job progress not recorded", "job", j.ID, "err", err)
		}
	}
}

// close stops the writes, waiting for one under way, and returns the job
// as last reported.
func (p *progress) close() Job {
	close(p.stop)
	<-p.done
	return p.snapshot()
}

func (p *progress) snapshot() Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.job
}

// bytes renders a byte count for progress messages.
func bytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

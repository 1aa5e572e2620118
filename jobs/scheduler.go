package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/truecost/truecost/domain/billing"
)

// Deps is what the jobs need from the rest of the system.
type Deps struct {
	// Housekeeper cleans up after ingestions. Required.
	Housekeeper billing.Housekeeper
	// Locks coordinates replicas sharing a database. When nil, every
	// scheduled run goes ahead: right for a single instance only.
	Locks SlotLocks
	// Logger receives one record per run. Nil means slog.Default().
	Logger *slog.Logger
	// Clock tells jobs and the scheduler the time. Nil means the real clock.
	Clock clockwork.Clock
	// Connectors syncs billing connectors. When nil, the sync job is not
	// scheduled.
	Connectors ConnectorSyncer
	// SyncInterval is how often each connector is synced; zero means hourly.
	SyncInterval time.Duration
	// Status checks the billing status of cloud accounts. When nil, the
	// status job is not scheduled.
	Status StatusChecker
	// StatusInterval is how often billing statuses are checked; zero means
	// hourly.
	StatusInterval time.Duration
	// StatusAtStart also checks billing statuses once when the scheduler
	// starts, outside any slot, so that a status recorded wrong before a
	// restart does not wait for the next slot.
	StatusAtStart bool
	// Attempts prunes old failed sign-ins hourly. When nil, the job is not
	// scheduled.
	Attempts AttemptPruner
	// Observer, when set, is told of every job run (metrics).
	Observer JobObserver
	// Cycles closes customers' months once they are due. When nil, the
	// scheduled close is not scheduled.
	Cycles CycleCloser
	// CloseAfterDays is how many days after a month ends it closes.
	CloseAfterDays int
	// CycleCloseInterval is how often due months are looked for; zero
	// means hourly.
	CycleCloseInterval time.Duration
	// Exports writes queued billing exports. When nil, the export job is
	// not scheduled.
	Exports ExportWriter
	// ExportInterval is how often queued exports are looked for; zero
	// means every minute.
	ExportInterval time.Duration
}

// JobObserver is told of every run of a job: its name, its outcome (ok,
// failed, timeout, canceled) and how long it took.
type JobObserver interface {
	JobRan(job, outcome string, took time.Duration)
}

func (d Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

func (d Deps) clock() clockwork.Clock {
	if d.Clock == nil {
		return clockwork.NewRealClock()
	}
	return d.Clock
}

// job is one scheduled job: its function and how often and how long it runs.
type job struct {
	name     string
	interval time.Duration
	timeout  time.Duration
	run      func(context.Context, Deps) error
}

// IngestionHousekeepingJob is the name of the hourly ingestion housekeeping
// job; it is also the job's key in SlotLocks.
const IngestionHousekeepingJob = "ingestion-housekeeping"

// ConnectorSyncJob is the name of the job that syncs billing connectors.
const ConnectorSyncJob = "connector-sync"

// BillingStatusJob is the name of the job that checks the billing status of
// cloud accounts.
const BillingStatusJob = "billing-status"

func schedule(deps Deps) []job {
	jobs := []job{
		{name: IngestionHousekeepingJob, interval: time.Hour, timeout: 15 * time.Minute, run: IngestionHousekeeping},
	}
	if deps.Connectors != nil {
		// A pass may sync many connectors; it may run almost a whole slot.
		jobs = append(jobs, job{name: ConnectorSyncJob, interval: deps.syncInterval(),
			timeout: deps.syncInterval() * 9 / 10, run: ConnectorSync})
	}
	if deps.Status != nil {
		jobs = append(jobs, job{name: BillingStatusJob, interval: deps.statusInterval(),
			timeout: deps.statusTimeout(), run: BillingStatus})
	}
	if deps.Cycles != nil {
		jobs = append(jobs, job{name: CycleCloseJob, interval: deps.cycleCloseInterval(),
			timeout: min(15*time.Minute, deps.cycleCloseInterval()*9/10), run: CloseDueCycles})
	}
	if deps.Exports != nil {
		// Exports stream whole months: a pass may take most of an hour.
		jobs = append(jobs, job{name: BillingExportsJob, interval: deps.exportInterval(),
			timeout: max(deps.exportInterval()*9/10, 50*time.Minute), run: WriteExports})
	}
	if deps.Attempts != nil {
		jobs = append(jobs, job{name: LoginAttemptsJob, interval: time.Hour, timeout: 5 * time.Minute, run: PruneLoginAttempts})
	}
	return jobs
}

// Option adjusts a Scheduler.
type Option func(*options)

type options struct {
	owner       string
	stopTimeout time.Duration
}

// WithOwner names this instance in the slot locks it takes. The default is
// the host name, the process id and a random suffix.
func WithOwner(owner string) Option {
	return func(o *options) { o.owner = owner }
}

// WithStopTimeout sets how long Shutdown waits for running jobs: they may
// finish during the first two thirds of it, then their context is
// cancelled and the rest is theirs to give up cleanly. The default is 30
// seconds.
func WithStopTimeout(d time.Duration) Option {
	return func(o *options) { o.stopTimeout = d }
}

// Scheduler runs Truecost's jobs at their slots until shut down.
type Scheduler struct {
	cron  gocron.Scheduler
	deps  Deps
	owner string
	// stopping is cancelled when running jobs must give up; gocron's own
	// context ends as soon as Shutdown begins, which would leave them no
	// time to finish.
	stopping    context.Context
	stop        context.CancelFunc
	stopTimeout time.Duration
	// stopStart cancels the start-up pass; started waits for it.
	stopStart context.CancelFunc
	started   sync.WaitGroup
}

// New returns a Scheduler with every job registered, ready to Start. It
// fails when a required dependency is missing.
func New(deps Deps, opts ...Option) (*Scheduler, error) {
	if deps.Housekeeper == nil {
		return nil, errors.New("jobs: Deps.Housekeeper is required")
	}
	o := options{stopTimeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.owner == "" {
		o.owner = defaultOwner()
	}
	deps.Logger = deps.logger()
	deps.Clock = deps.clock()

	schedOpts := []gocron.SchedulerOption{
		gocron.WithClock(deps.Clock),
		gocron.WithLocation(time.UTC),
		gocron.WithStopTimeout(o.stopTimeout),
		gocron.WithLogger(deps.Logger.With("component", "gocron")),
	}
	var locker *slotLocker
	if deps.Locks != nil {
		locker = &slotLocker{locks: deps.Locks, clock: deps.Clock, owner: o.owner, intervals: make(map[string]time.Duration)}
		schedOpts = append(schedOpts, gocron.WithDistributedLocker(locker))
	}
	cron, err := gocron.NewScheduler(schedOpts...)
	if err != nil {
		return nil, fmt.Errorf("jobs: new scheduler: %w", err)
	}
	stopping, stop := context.WithCancel(context.Background())
	s := &Scheduler{cron: cron, deps: deps, owner: o.owner, stopping: stopping, stop: stop, stopTimeout: o.stopTimeout}
	for _, j := range schedule(deps) {
		if locker != nil {
			locker.register(j.name, j.interval)
		}
		_, err := cron.NewJob(
			gocron.DurationJob(j.interval),
			gocron.NewTask(s.runner(j)),
			gocron.WithName(j.name),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			// Starting on a slot boundary keeps every replica firing in the
			// same slot, which is what the slot locks compare.
			gocron.WithStartAt(gocron.WithStartDateTime(nextSlot(deps.Clock.Now(), j.interval))),
			gocron.WithEventListeners(gocron.AfterLockError(s.lockError)),
		)
		if err != nil {
			_ = cron.Shutdown()
			return nil, fmt.Errorf("jobs: schedule %s: %w", j.name, err)
		}
	}
	return s, nil
}

// Start starts running jobs at their slots, and with Deps.StatusAtStart
// the billing status check once in the background; it returns at once.
func (s *Scheduler) Start() {
	s.cron.Start()
	s.deps.Logger.Info("job scheduler started", "owner", s.owner, "distributed", s.deps.Locks != nil)
	ctx, cancel := context.WithCancel(context.Background())
	s.stopStart = cancel
	if s.deps.Status == nil || !s.deps.StatusAtStart {
		return
	}
	j := job{name: BillingStatusJob + "-at-start", interval: s.deps.statusInterval(), timeout: s.deps.statusTimeout(), run: BillingStatus}
	s.started.Add(1)
	go func() {
		defer s.started.Done()
		_ = s.runner(j)(ctx)
	}()
}

// Shutdown stops scheduling and waits for running jobs to return, up to
// the stop timeout: they may finish during its first two thirds, then
// their context is cancelled. Past the timeout it returns an error and
// leaves them behind.
func (s *Scheduler) Shutdown() error {
	grace := time.AfterFunc(s.stopTimeout*2/3, s.stop)
	defer func() {
		grace.Stop()
		s.stop()
	}()
	if s.stopStart != nil {
		s.stopStart()
		s.started.Wait()
	}
	if err := s.cron.Shutdown(); err != nil {
		return fmt.Errorf("jobs: shut down scheduler: %w", err)
	}
	s.deps.Logger.Info("job scheduler stopped", "owner", s.owner)
	return nil
}

// runner wraps a job for gocron: a context bounded by the job's timeout, a
// logger naming the job, one log record per run, and a recovered panic
// turned into a failed run rather than a dead server.
func (s *Scheduler) runner(j job) func(context.Context) error {
	return func(ctx context.Context) (err error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.timeout)
		defer cancel()
		defer context.AfterFunc(s.stopping, cancel)()
		deps := s.deps
		deps.Logger = s.deps.Logger.With("job", j.name)
		slot, started := slotOf(deps.Clock.Now(), j.interval), time.Now()
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
				deps.Logger.Error("job panicked", "panic", r, "stack", string(debug.Stack()))
			}
			if deps.Observer != nil {
				deps.Observer.JobRan(j.name, outcomeOf(err), time.Since(started))
			}
			attrs := []any{"slot", slot, "duration", time.Since(started), "outcome", outcomeOf(err)}
			if err != nil {
				attrs = append(attrs, "error", err)
			}
			deps.Logger.Log(ctx, levelOf(err), "job run", attrs...)
		}()
		return j.run(ctx, deps)
	}
}

func (s *Scheduler) lockError(_ uuid.UUID, name string, err error) {
	if errors.Is(err, errSlotTaken) {
		s.deps.Logger.Debug("job run skipped: slot taken", "job", name, "owner", s.owner)
		return
	}
	s.deps.Logger.Error("job run skipped: cannot claim slot", "job", name, "owner", s.owner, "error", err)
}

func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "failed"
	}
}

func levelOf(err error) slog.Level {
	if err != nil {
		return slog.LevelError
	}
	return slog.LevelInfo
}

func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

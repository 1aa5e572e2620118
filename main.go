// Command truecost is Truecost's single binary: the web console and GraphQL
// API (serve), migrations, ingestion of billing files, and tenant
// administration. This file is the composition root: it parses the command
// line and configuration, opens the store and wires the domain services,
// the adapters and the drivers in plain code. The commands act as the
// system principal; the use cases they call hold the rules.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/jonboulle/clockwork"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/adapters/billingsource"
	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/adapters/cloudprovision"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/localfiles"
	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/adapters/outbound"
	"github.com/truecost/truecost/adapters/prommetrics"
	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/background"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph"
	"github.com/truecost/truecost/jobs"
	"github.com/truecost/truecost/static"
	"github.com/truecost/truecost/views"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("TRUECOST_CPUPROFILE"), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the command to path, when set
// (TRUECOST_CPUPROFILE), for measuring where a command's time goes. It
// returns the function ending the profile.
func startCPUProfile(path string, stderr io.Writer) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "truecost: cpu profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "truecost: cpu profile: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// system is the caller the command line acts as.
var system = tenancy.SystemPrincipal("cli")

// env carries what a command reads and writes besides its flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
}

// run parses args and runs one command, returning the exit code. Tests call
// it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var c cli
	exitCode := -1
	parser, err := kong.New(&c,
		kong.Name("truecost"),
		kong.Description("Truecost: multi-cloud billing on FOCUS — ingest cost exports, serve the console and GraphQL API."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exitCode = code }),
	)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exitCode >= 0 {
		return exitCode // --help
	}
	if err != nil {
		fmt.Fprintf(stderr, "truecost: %v\n", err)
		return 2
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, log: newLogger(c.LogFormat, stderr)}
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(e, &c.Globals); err != nil {
		// The operator at the terminal sees the whole chain.
		fmt.Fprintf(stderr, "truecost: %v\n", err)
		if domain.ErrorCode(err) == domain.Invalid {
			return 2
		}
		return 1
	}
	return 0
}

// newLogger returns the log of the process: text lines, or with format
// "json" one JSON object per record, for log collectors.
func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// cli is the command line of truecost (DESIGN.md §5).
type cli struct {
	Globals

	Serve   serveCmd   `cmd:"" help:"Serve the web console and /graphql."`
	Migrate migrateCmd `cmd:"" help:"Apply database migrations and exit."`
	Ingest  ingestCmd  `cmd:"" help:"Ingest billing files from a local folder or file."`
	Orgs    struct {
		Create orgsCreateCmd `cmd:"" help:"Create an organization."`
	} `cmd:"" help:"Manage organizations."`
	Users struct {
		Create usersCreateCmd `cmd:"" help:"Create a user, optionally with an API token."`
	} `cmd:"" help:"Manage users."`
}

// Globals are the settings every command shares.
type Globals struct {
	DatabaseURL string `name:"database-url" env:"TRUECOST_DATABASE_URL" default:"sqlite://var/truecost.db" help:"postgres://… or sqlite://PATH (PATH taken verbatim)."`
	// DBMaxConns bounds the connections this process opens to the
	// database; requests beyond it wait for one.
	LogFormat  string `name:"log-format" env:"TRUECOST_LOG_FORMAT" enum:"text,json" default:"text" help:"Log records as text lines or JSON objects: ${enum}."`
	DBMaxConns int    `name:"db-max-conns" env:"TRUECOST_DB_MAX_CONNS" default:"16" help:"Most database connections this process keeps open (ingestions hold one more each for their locks)."`
}

// openStore opens the database the globals name, with their pool limits.
// minDBConns is the smallest pool an ingestion can run in; defaultDBConns
// is --db-max-conns's default.
const minDBConns, defaultDBConns = 8, 16

func (g *Globals) openStore(ctx context.Context) (*sqlstore.Store, error) {
	// An ingestion alone holds up to six at once: a COPY for each of up to
	// four months, its lease, and the publishing transaction's reads.
	if g.DBMaxConns == 0 {
		g.DBMaxConns = defaultDBConns
	}
	if g.DBMaxConns < minDBConns {
		return nil, domain.Errorf(domain.Invalid, "--db-max-conns (TRUECOST_DB_MAX_CONNS) must be at least %d", minDBConns)
	}
	return sqlstore.Open(ctx, g.DatabaseURL, sqlstore.WithMaxConns(g.DBMaxConns))
}

// app is the wired application: the store and the domain services over it.
type app struct {
	store      *sqlstore.Store
	tenancy    *tenancy.Service
	connectors *connectors.Service
	accounts   *accounts.Service
	reporter   *billing.Reporter
	metrics    *prommetrics.Metrics
	pricing    *pricing.Service
	// closeAfterDays, when positive, schedules the close of customers'
	// months that many days after they end.
	closeAfterDays int
	exports        *exports.Service
	// exportInterval is how often the export job runs (every minute when
	// zero).
	exportInterval time.Duration
	// background runs the slow operations users start on pool.
	background *background.Service
	pool       *jobs.Pool
	// awsPrincipal is the IAM identity Truecost runs as, named in the trust
	// policy customers attach to the role Truecost assumes.
	awsPrincipal string
}

// openApp opens and migrates the store and wires the services, which log
// to log.
func openApp(ctx context.Context, g *Globals, log *slog.Logger) (*app, error) {
	// A database that held data before this command may have credentials
	// sealed with a key kept where earlier versions put it.
	sqlitePath, isSQLite := strings.CutPrefix(g.DatabaseURL, "sqlite://")
	existed := false
	if fi, err := os.Stat(sqlitePath); isSQLite && err == nil && fi.Size() > 0 {
		existed = true
	}
	store, err := g.openStore(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	// A run whose process died is failed and its rows removed before
	// anything else uses the database.
	if n, err := store.ReapDeadRuns(ctx, time.Now()); err != nil {
		log.WarnContext(ctx, "removing interrupted ingestions failed", "err", err)
	} else if n > 0 {
		log.InfoContext(ctx, "removed interrupted ingestions", "runs", n)
	}
	sealer, err := loadSealer(ctx, string(store.Dialect()), sqlitePath, existed, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	policy, err := outbound.Parse(os.Getenv(outbound.EnvAllow))
	if err != nil {
		store.Close()
		return nil, err
	}
	timeouts, err := cloudTimeouts()
	if err != nil {
		store.Close()
		return nil, err
	}
	rights := tenancy.NewRights(store)
	metrics := prommetrics.New()
	metrics.WatchDB(store.DB().DB)
	a := &app{
		awsPrincipal: os.Getenv("TRUECOST_AWS_PRINCIPAL"),
		store:        store,
		metrics:      metrics,
		tenancy:      tenancy.NewService(store, rights),
		reporter:     billing.NewReporter(store, store, rights),
	}
	a.exports = exports.NewService(exports.Deps{Store: store, Orgs: store, Rights: rights, Accounts: store, Connectors: store,
		Sealer: sealer, Sinks: exportSinks(policy, timeouts), Formats: exports.Layouts{focusfile.Layout{}, awsbilling.CURLayout{},
			azurebilling.CostDetailsLayout{}, gcpbilling.BillingExportLayout{}, ocibilling.CostReportLayout{}},
		// A closed month's resale export stays as it was written at close.
		Closed: func(ctx context.Context, customerID string, month time.Time) (bool, error) {
			return a.pricing.MonthClosed(ctx, system, customerID, month)
		},
		NewID: tenancy.NewID, Logger: log})
	a.connectors = connectors.NewService(connectors.Deps{Store: store, Rights: rights, Sealer: sealer,
		Sources:  billingsource.Factory{Outbound: policy, Timeouts: timeouts},
		Ingester: billing.NewIngester(store, tenancy.NewID).Observe(ingestObservers{metrics, a.exports}),
		NewID:    tenancy.NewID, Logger: log})
	a.accounts = accounts.NewService(accounts.Deps{Store: store, Rights: rights, Sealer: sealer, Connectors: a.connectors,
		Provisioners: cloudprovision.New(cloudprovision.Endpoints{
			AWS:             os.Getenv("TRUECOST_AWS_ENDPOINT_URL"),
			AzureARM:        os.Getenv("TRUECOST_AZURE_ARM_ENDPOINT"),
			AzureAuthority:  os.Getenv("TRUECOST_AZURE_AUTHORITY_HOST"),
			AzureBlob:       os.Getenv("TRUECOST_AZURE_BLOB_ENDPOINT"),
			GCPBigQuery:     os.Getenv("TRUECOST_GCP_BIGQUERY_ENDPOINT"),
			GCPServiceUsage: os.Getenv("TRUECOST_GCP_SERVICEUSAGE_ENDPOINT"),
		}, policy, timeouts),
		NewID: tenancy.NewID, Logger: log})
	a.pricing = pricing.NewService(store, store, tenancy.NewID, pricing.WithCloseObserver(a.exports.MonthClosed)).OnRepriced(a.exports.Repriced)
	workers, err := jobWorkers()
	if err != nil {
		store.Close()
		return nil, err
	}
	a.pool = jobs.NewPool(workers, 64*workers, log)
	a.background = background.NewService(background.Deps{Store: store, Runner: a.pool, Rights: rights,
		Connectors: a.connectors, Accounts: a.accounts, NewID: tenancy.NewID, Logger: log})
	return a, nil
}

// ingestObservers tells each of its observers of every finished ingestion.
type ingestObservers []billing.IngestObserver

func (o ingestObservers) IngestFinished(run billing.IngestionRun) {
	for _, ob := range o {
		ob.IngestFinished(run)
	}
}

// exportSinks are the bucket writers of billing exports, reached under the
// outbound policy; TRUECOST_AWS_ENDPOINT_URL points S3 and STS elsewhere
// (an emulator), as it does for provisioning, and
// TRUECOST_GCP_STORAGE_ENDPOINT Cloud Storage's JSON API.
func exportSinks(policy *outbound.Policy, timeouts cloudhttp.Timeouts) exports.SinksByKind {
	endpoint := os.Getenv("TRUECOST_AWS_ENDPOINT_URL")
	return exports.SinksByKind{
		exports.S3: awsbilling.NewSinks(awsbilling.SinkConfig{Endpoint: endpoint, STSEndpoint: endpoint,
			BucketHTTPClient: policy.Client(), Timeouts: timeouts}),
		exports.GCS: gcpbilling.NewSinks(gcpbilling.SinkConfig{Endpoint: os.Getenv("TRUECOST_GCP_STORAGE_ENDPOINT"),
			Transport: policy.Transport(), Timeouts: timeouts}),
	}
}

// Close cancels the background jobs still running and closes the store.
func (a *app) Close() error {
	a.pool.Shutdown(0)
	return a.store.Close()
}

// jobWorkers reads TRUECOST_JOB_WORKERS: how many background jobs (tests,
// syncs, provisionings, status checks users start) run at once; 4 by
// default.
func jobWorkers() (int, error) {
	raw := strings.TrimSpace(os.Getenv("TRUECOST_JOB_WORKERS"))
	if raw == "" {
		return 4, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 256 {
		return 0, domain.Errorf(domain.Invalid, "TRUECOST_JOB_WORKERS=%q: want a number from 1 to 256", raw)
	}
	return n, nil
}

// cloudTimeouts reads the deadlines of calls to clouds:
// TRUECOST_CLOUD_TIMEOUT bounds each request until its answer starts (30s
// by default), TRUECOST_CLOUD_IDLE_TIMEOUT each pause while an answer
// streams (2m by default).
func cloudTimeouts() (cloudhttp.Timeouts, error) {
	var t cloudhttp.Timeouts
	for _, v := range []struct {
		name string
		to   *time.Duration
	}{{"TRUECOST_CLOUD_TIMEOUT", &t.Call}, {"TRUECOST_CLOUD_IDLE_TIMEOUT", &t.Idle}} {
		raw := strings.TrimSpace(os.Getenv(v.name))
		if raw == "" {
			continue
		}
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			return t, domain.Errorf(domain.Invalid, "%s=%q: want a positive duration such as 30s or 2m", v.name, raw)
		}
		*v.to = d
	}
	return t, nil
}

// loadSealer returns the sealer for credentials: the key in
// TRUECOST_SECRET_KEY (base64 of 32 bytes), or with SQLite a key generated
// on first run beside the database file (dbPath + ".key", mode 0600).
// Postgres deployments run several replicas, so they must set the
// variable; without it credentials cannot be stored and the sealer is nil.
// A key in ./var/secret.key, where earlier versions kept it relative to the
// working directory, is moved beside a database that existed before this
// command (existed) and has no key of its own yet.
func loadSealer(ctx context.Context, dialect, dbPath string, existed bool, log *slog.Logger) (connectors.Sealer, error) {
	if v := strings.TrimSpace(os.Getenv("TRUECOST_SECRET_KEY")); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, domain.WrapError(domain.Invalid, err, "TRUECOST_SECRET_KEY is not base64")
		}
		return connectors.NewAESSealer(key)
	}
	if dialect != "sqlite" {
		return nil, nil
	}
	keyPath := localfiles.SecretKeyPath(dbPath)
	if existed {
		moved, err := localfiles.AdoptLegacySecretKey(localfiles.LegacySecretKey, keyPath)
		if err != nil {
			return nil, fmt.Errorf("move the secret key beside the database: %w", err)
		}
		if moved {
			log.InfoContext(ctx, "moved the secret key beside the database", "from", localfiles.LegacySecretKey, "to", keyPath)
		}
	}
	key, err := localfiles.SecretKey(keyPath)
	if err != nil {
		return nil, err
	}
	return connectors.NewAESSealer(key)
}

type migrateCmd struct{}

func (migrateCmd) Run(ctx context.Context, e *env, g *Globals) error {
	store, err := g.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "applied %d migration(s) to %s database\n", n, store.Dialect())
	return nil
}

type ingestCmd struct {
	Org    string `required:"" help:"Slug of the organization the costs belong to."`
	Source string `required:"" help:"File or folder to read (absolute or relative path)."`
	Format string `default:"auto" enum:"auto,focus,aws-cur,aws-cur2,azure,gcp,oci" help:"Layout of the source: ${enum}."`
}

func (c ingestCmd) Run(ctx context.Context, e *env, g *Globals) error {
	a, err := openApp(ctx, g, e.log)
	if err != nil {
		return err
	}
	defer a.Close()
	org, err := a.tenancy.OrganizationBySlug(ctx, system, c.Org)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	progress := func(done, total int64) {}
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = func(done, total int64) {
			if bar == nil {
				bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(e.stderr),
					progressbar.OptionSetDescription("ingesting"), progressbar.OptionShowBytes(true),
					progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish())
			}
			_ = bar.Set64(done)
		}
	}
	start := time.Now()
	run, err := a.connectors.IngestLocal(ctx, system, org.ID, c.Source, c.Format, progress)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, run.Summary(time.Since(start)))
	return nil
}

type orgsCreateCmd struct {
	Slug     string `arg:"" help:"Short unique name: lowercase letters, digits, dashes."`
	Name     string `help:"Display name (default: the slug)."`
	Kind     string `default:"customer" enum:"reseller,customer" help:"reseller or customer."`
	Reseller string `help:"Slug of the reseller this customer belongs to."`
}

func (c orgsCreateCmd) Run(ctx context.Context, e *env, g *Globals) error {
	a, err := openApp(ctx, g, e.log)
	if err != nil {
		return err
	}
	defer a.Close()
	org, err := a.tenancy.CreateOrganization(ctx, system, c.Slug, c.Name, tenancy.OrgKind(c.Kind), c.Reseller)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s organization %s (%s), id %s\n", org.Kind, org.Slug, org.Name, org.ID)
	return nil
}

type usersCreateCmd struct {
	Email         string `arg:"" help:"The user's email address, used to sign in."`
	Org           string `required:"" help:"Slug of the user's organization."`
	Role          string `required:"" enum:"admin,member" help:"admin or member."`
	Token         bool   `help:"Also create an API token and print it (shown once) as the last word."`
	PasswordStdin bool   `name:"password-stdin" help:"Read a console password from standard input."`
}

func (c usersCreateCmd) Run(ctx context.Context, e *env, g *Globals) error {
	var password string
	if c.PasswordStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			return domain.Errorf(domain.Invalid, "--password-stdin given but standard input held no password")
		}
	}
	a, err := openApp(ctx, g, e.log)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.tenancy.CreateUser(ctx, system, c.Email, c.Org, tenancy.Role(c.Role), password)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s %s in %s, id %s\n", u.Role, u.Email, c.Org, u.ID)
	if c.Token {
		token, err := a.tenancy.IssueToken(ctx, system, u, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "API token (shown once): %s\n", token)
	}
	return nil
}

type serveCmd struct {
	Addr    string `env:"TRUECOST_ADDR" default:"127.0.0.1:8080" help:"Address to listen on."`
	Demo    bool   `help:"Load the bundled demo organizations and sample exports before serving."`
	DemoDir string `name:"demo-dir" default:"var/demo" help:"Where --demo writes the sample exports it ingests."`
	// SyncInterval is how often the scheduler syncs each billing connector.
	SyncInterval time.Duration `name:"sync-interval" env:"TRUECOST_SYNC_INTERVAL" default:"1h" help:"How often billing connectors are synced."`
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers
	// are believed.
	TrustedProxies string `name:"trusted-proxies" env:"TRUECOST_TRUSTED_PROXIES" help:"Addresses or CIDR ranges of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed."`
	// ShutdownTimeout is how long a stopping server waits for requests and
	// jobs in flight.
	ShutdownTimeout time.Duration `name:"shutdown-timeout" env:"TRUECOST_SHUTDOWN_TIMEOUT" default:"30s" help:"On SIGTERM or SIGINT, how long requests and jobs in flight may take to finish."`
	// CloseAfterDays schedules the close of resellers' customers' months.
	CloseAfterDays int `name:"close-after-days" env:"TRUECOST_CLOSE_AFTER_DAYS" default:"0" help:"Close every reseller customer's month this many days after it ends (0: never; months are closed by hand)."`
	// ExportInterval is how often queued billing exports are written.
	ExportInterval time.Duration `name:"export-interval" env:"TRUECOST_EXPORT_INTERVAL" default:"1m" help:"How often queued billing exports are looked for and written."`
}

func (c serveCmd) Run(ctx context.Context, e *env, g *Globals) error {
	trusted, err := parseProxies(c.TrustedProxies)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, g, e.log)
	if err != nil {
		return err
	}
	defer a.Close()
	var login jobs.DemoLogin
	if c.Demo {
		folders, err := localfiles.WriteDemo(c.DemoDir)
		if err != nil {
			return fmt.Errorf("load demo: %w", err)
		}
		login, err = jobs.SeedDemo(ctx, jobs.Demo{Tenancy: a.tenancy, Connectors: a.connectors, Accounts: a.accounts,
			Folders: folders, Out: e.stdout})
		if err != nil {
			return fmt.Errorf("load demo: %w", err)
		}
	}
	if c.SyncInterval < time.Minute {
		return domain.Errorf(domain.Invalid, "--sync-interval must be at least 1m")
	}
	if c.ShutdownTimeout <= 0 {
		return domain.Errorf(domain.Invalid, "--shutdown-timeout must be positive")
	}
	if c.CloseAfterDays < 0 || c.CloseAfterDays > 365 {
		return domain.Errorf(domain.Invalid, "--close-after-days must be from 0 to 365")
	}
	a.closeAfterDays = c.CloseAfterDays
	if c.ExportInterval < time.Second {
		return domain.Errorf(domain.Invalid, "--export-interval must be at least 1s")
	}
	a.exportInterval = c.ExportInterval
	// Jobs left unfinished by a stopped server are failed, not left
	// running forever: with SQLite no other process runs them; with
	// Postgres those of live replicas keep their heartbeat fresh.
	staleBefore := time.Now()
	if a.store.Dialect() != "sqlite" {
		staleBefore = staleBefore.Add(-background.Abandoned)
	}
	if n, err := a.background.AbandonInterrupted(ctx, system, staleBefore); err != nil {
		e.log.WarnContext(ctx, "failing interrupted jobs failed", "err", err)
	} else if n > 0 {
		e.log.InfoContext(ctx, "failed interrupted jobs", "jobs", n)
	}
	keepAlive, stopKeepAlive := context.WithCancel(context.WithoutCancel(ctx))
	defer stopKeepAlive()
	go a.background.KeepAlive(keepAlive)
	sched, err := a.scheduler(e.log, c.SyncInterval, nil, jobs.WithStopTimeout(c.ShutdownTimeout))
	if err != nil {
		return err
	}
	sched.Start()
	stopJobs := sync.OnceFunc(func() {
		if err := sched.Shutdown(); err != nil {
			e.log.Error("scheduler shutdown", "err", err)
		}
	})
	defer stopJobs()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return domain.WrapError(domain.Unavailable, err, "cannot listen on %s", c.Addr)
	}
	srv := &http.Server{
		Handler:           trusted.handler(a.handler(e.log)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(e.stdout, "Truecost is serving the console at %s/ and GraphQL at %s/graphql\n", url, url)
	if c.Demo {
		fmt.Fprintf(e.stdout, "Demo login: %s / %s (reseller %s with customers %s)\n",
			login.Email, login.Password, login.Reseller, login.Customers)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stopping: no new connections; requests in flight, running scheduled
	// jobs and the jobs users started get the timeout to finish. Scheduled
	// jobs are told to stop (an ingestion fails its run and removes what
	// it wrote); runs still going when the timeout ends are failed the
	// same way when the store closes. Users' jobs still running after two
	// thirds of it are cancelled and record themselves as interrupted.
	e.log.Info("shutting down", "timeout", c.ShutdownTimeout)
	var stopping sync.WaitGroup
	stopping.Add(2)
	go func() {
		defer stopping.Done()
		stopJobs()
	}()
	go func() {
		defer stopping.Done()
		a.pool.Shutdown(c.ShutdownTimeout * 2 / 3)
	}()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopping.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down HTTP server: %w", err)
	}
	return nil
}

// scheduler builds the background jobs: housekeeping, connector sync every
// interval and the hourly billing-status check (also run once at start, so
// statuses follow the data after a restart), coordinated through the
// store's slot locks. clock is nil outside tests.
func (a *app) scheduler(log *slog.Logger, interval time.Duration, clock clockwork.Clock, opts ...jobs.Option) (*jobs.Scheduler, error) {
	deps := jobs.Deps{Housekeeper: a.store, Locks: a.store, Logger: log,
		Connectors: a.connectors, SyncInterval: interval, Status: a.accounts, StatusAtStart: true, Attempts: a.tenancy, Clock: clock,
		Observer: a.metrics, Exports: a.exports, ExportInterval: a.exportInterval}
	if a.closeAfterDays > 0 {
		deps.Cycles, deps.CloseAfterDays = a.pricing, a.closeAfterDays
	}
	return jobs.New(deps, opts...)
}

// handler routes the console, the GraphQL API, the static assets and the
// operations endpoints, logging each request.
func (a *app) handler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/graphql", graph.NewHandler(graph.Deps{
		Tenancy: a.tenancy, Reporter: a.reporter, Connectors: a.connectors, Accounts: a.accounts,
		Pricing: a.pricing, Members: a.tenancy, Exports: a.exports, Background: a.background, AWSPrincipal: a.awsPrincipal, Logger: log,
	}))
	mux.Handle("/static/", static.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", a.serveReady(log))
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.Handle("/", views.NewHandler(views.Deps{
		Tenancy: a.tenancy, Reporter: a.reporter, Connectors: a.connectors, Accounts: a.accounts,
		Pricing: a.pricing, Members: a.tenancy, Exports: a.exports, Background: a.background, AWSPrincipal: a.awsPrincipal, Logger: log,
	}))
	return logRequests(log, a.metrics, mux)
}

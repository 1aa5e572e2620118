// Command truecost is Truecost's single binary: the web console and GraphQL
// API (serve), migrations, ingestion of billing files, and tenant
// administration. This file is the composition root: it reads
// configuration, opens the store and wires the domain services, adapters
// and drivers in plain code.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

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
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(e, &c.Globals); err != nil {
		fmt.Fprintf(stderr, "truecost: %s\n", errorText(err))
		if domain.ErrorCode(err) == domain.Invalid {
			return 2
		}
		return 1
	}
	return 0
}

// errorText is the one place the CLI turns an error into words.
func errorText(err error) string {
	if domain.ErrorCode(err) == domain.Internal {
		return err.Error()
	}
	return domain.ErrorMessage(err)
}

// Globals are the settings every command shares.
type Globals struct {
	DatabaseURL string `name:"database-url" env:"TRUECOST_DATABASE_URL" default:"sqlite://var/truecost.db" help:"postgres://… or sqlite://PATH (PATH taken verbatim)."`
}

// app is the wired application: the store and the domain services over it.
type app struct {
	store      *sqlstore.Store
	tenancy    *tenancy.Service
	connectors *connectors.Service
	manager    *connectors.Manager
	accounts   *accounts.Service
	ingester   *billing.Ingester
	reporter   *billing.Reporter
	// awsPrincipal is the IAM identity Truecost runs as, named in the trust
	// policy customers attach to the role Truecost assumes.
	awsPrincipal string
}

// openApp opens and migrates the store and wires the services.
func openApp(ctx context.Context, g *Globals) (*app, error) {
	store, err := sqlstore.Open(ctx, g.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	sealer, err := loadSealer(string(store.Dialect()))
	if err != nil {
		store.Close()
		return nil, err
	}
	a := &app{
		awsPrincipal: os.Getenv("TRUECOST_AWS_PRINCIPAL"),
		store:        store,
		tenancy:      tenancy.NewService(store),
		ingester:     billing.NewIngester(store, tenancy.NewID),
		reporter:     billing.NewReporter(store),
	}
	a.connectors = connectors.NewService(store, sealer, sourceFactory{}, a.ingester, tenancy.NewID)
	a.manager = connectors.NewManager(a.connectors, a.tenancy)
	a.accounts = accounts.NewService(accounts.Deps{Store: store, Sealer: sealer, Connectors: a.manager, Scope: a.tenancy,
		Provisioners: provisioners(), NewID: tenancy.NewID})
	return a, nil
}

func (a *app) Close() error { return a.store.Close() }

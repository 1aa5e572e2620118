package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

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

type migrateCmd struct{}

func (migrateCmd) Run(ctx context.Context, e *env, g *Globals) error {
	store, err := sqlstore.Open(ctx, g.DatabaseURL)
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
	a, err := openApp(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	org, err := a.store.OrganizationBySlug(ctx, c.Org)
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
	run, err := a.ingestLocal(ctx, org.ID, c.Source, c.Format, progress)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, summary(run, time.Since(start)))
	return nil
}

// ingestLocal ingests a local path through the organization's local
// connector for it, creating the connector on first use.
func (a *app) ingestLocal(ctx context.Context, orgID, source, format string, progress func(done, total int64)) (billing.IngestionRun, error) {
	loc, err := connectors.CanonicalLocation(source)
	if err != nil {
		return billing.IngestionRun{}, err
	}
	if err := connectors.ValidFormat(format); err != nil {
		return billing.IngestionRun{}, err
	}
	// Fail on a bad path or format before creating a connector for it.
	if _, err := localSource(ctx, loc, format); err != nil {
		return billing.IngestionRun{}, err
	}
	conn, err := a.connectors.EnsureLocal(ctx, orgID, loc, format)
	if err != nil {
		return billing.IngestionRun{}, err
	}
	return a.connectors.SyncConnector(ctx, conn, progress)
}

// summary is the one line the CLI prints after an ingestion.
func summary(run billing.IngestionRun, took time.Duration) string {
	if run.Status == billing.RunUnchanged {
		return fmt.Sprintf("source unchanged since the last run: nothing to do (run %s)", run.ID)
	}
	periods := make([]string, len(run.Periods))
	for i, p := range run.Periods {
		periods[i] = p.Format("2006-01")
	}
	totals := make([]string, len(run.Totals))
	for i, m := range run.Totals {
		totals[i] = m.Currency + " " + m.Amount.String()
	}
	return fmt.Sprintf("ingested %d rows from %d file(s) into %d period(s) [%s]; BilledCost %s; %.2fs (run %s)",
		run.Rows, len(run.Files), len(run.Periods), strings.Join(periods, " "), strings.Join(totals, ", "),
		took.Seconds(), run.ID)
}

type orgsCreateCmd struct {
	Slug     string `arg:"" help:"Short unique name: lowercase letters, digits, dashes."`
	Name     string `help:"Display name (default: the slug)."`
	Kind     string `default:"customer" enum:"reseller,customer" help:"reseller or customer."`
	Reseller string `help:"Slug of the reseller this customer belongs to."`
}

func (c orgsCreateCmd) Run(ctx context.Context, e *env, g *Globals) error {
	a, err := openApp(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	org, err := a.tenancy.CreateOrganization(ctx, c.Slug, c.Name, tenancy.OrgKind(c.Kind), c.Reseller)
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
	a, err := openApp(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.tenancy.CreateUser(ctx, c.Email, c.Org, tenancy.Role(c.Role), password)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s %s in %s, id %s\n", u.Role, u.Email, c.Org, u.ID)
	if c.Token {
		token, err := a.tenancy.IssueToken(ctx, u, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "API token (shown once): %s\n", token)
	}
	return nil
}

package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// Service holds the rules for accounts, provisioning and billing status.
// Methods taking a Principal check it may act on the organization; only
// admins may change anything.
type Service struct {
	store        Store
	sealer       connectors.Sealer
	conns        ConnectorPort
	rights       *tenancy.Rights
	provisioners map[connectors.Provider]Provisioner
	newID        func() string
	now          func() time.Time
	log          *slog.Logger
}

// Deps are what a Service needs. Provisioners may lack a provider; that
// provider's provisioning is then unavailable.
type Deps struct {
	Store        Store
	Sealer       connectors.Sealer
	Connectors   ConnectorPort
	Rights       *tenancy.Rights
	Provisioners map[connectors.Provider]Provisioner
	NewID        func() string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives the whole error chain of failed provisioning steps
	// (what users see is the safe message); slog.Default() when nil.
	Logger *slog.Logger
}

// NewService returns a Service.
func NewService(d Deps) *Service {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{log: log, store: d.Store, sealer: d.Sealer, conns: d.Connectors, rights: d.Rights,
		provisioners: d.Provisioners, newID: d.NewID, now: now}
}

// what names accounts in the messages of Rights.Write.
const what = "cloud accounts or billing provisioning"

func (s *Service) authorize(ctx context.Context, p tenancy.Principal, orgID string, write bool) error {
	if write {
		return s.rights.Write(ctx, p, orgID, what)
	}
	_, err := s.rights.Read(ctx, p, orgID)
	return err
}

// List returns the accounts of orgID with their billing status, or with
// orgID empty those of every organization the caller may read.
func (s *Service) List(ctx context.Context, p tenancy.Principal, orgID string) ([]Account, error) {
	orgIDs, err := s.rights.Read(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	return s.store.ListAccounts(ctx, orgIDs)
}

// ListIn returns the accounts of all of orgIDs at once, each of which the
// caller must be able to read: the batch read of per-request loaders.
func (s *Service) ListIn(ctx context.Context, p tenancy.Principal, orgIDs []string) ([]Account, error) {
	if err := s.rights.ReadAll(ctx, p, orgIDs); err != nil {
		return nil, err
	}
	return s.store.ListAccounts(ctx, orgIDs)
}

// Get returns one account of orgID, or with orgID empty of any
// organization the caller may read. Another organization's account is not
// found.
func (s *Service) Get(ctx context.Context, p tenancy.Principal, orgID, id string) (Account, error) {
	orgIDs, err := s.rights.Read(ctx, p, orgID)
	if err != nil {
		return Account{}, err
	}
	for _, org := range orgIDs {
		a, _, err := s.store.Account(ctx, org, id)
		if !domain.IsNotFound(err) {
			return a, err
		}
	}
	return Account{}, domain.Errorf(domain.NotFound, "cloud account not found")
}

// Infrastructure returns the infrastructure of every provider that has
// one, of orgID or with orgID empty of every organization the caller may
// read.
func (s *Service) Infrastructure(ctx context.Context, p tenancy.Principal, orgID string) ([]Infrastructure, error) {
	orgIDs, err := s.rights.Read(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	return s.store.ListInfrastructure(ctx, orgIDs)
}

// InfrastructureIn returns the infrastructure of all of orgIDs at once,
// each of which the caller must be able to read.
func (s *Service) InfrastructureIn(ctx context.Context, p tenancy.Principal, orgIDs []string) ([]Infrastructure, error) {
	if err := s.rights.ReadAll(ctx, p, orgIDs); err != nil {
		return nil, err
	}
	return s.store.ListInfrastructure(ctx, orgIDs)
}

// History returns an account's status changes, newest first.
func (s *Service) History(ctx context.Context, p tenancy.Principal, orgID, id string, limit int) ([]StatusChange, error) {
	if err := s.authorize(ctx, p, orgID, false); err != nil {
		return nil, err
	}
	if _, _, err := s.store.Account(ctx, orgID, id); err != nil {
		return nil, err
	}
	h, err := s.store.StatusHistory(ctx, []string{orgID}, []string{id}, historyLimit(limit))
	return h[id], err
}

// HistoryIn returns the status changes of many accounts of orgIDs at once,
// newest first, at most limit per account, keyed by account ID.
func (s *Service) HistoryIn(ctx context.Context, p tenancy.Principal, orgIDs, accountIDs []string, limit int) (map[string][]StatusChange, error) {
	if err := s.rights.ReadAll(ctx, p, orgIDs); err != nil {
		return nil, err
	}
	return s.store.StatusHistory(ctx, orgIDs, accountIDs, historyLimit(limit))
}

func historyLimit(limit int) int {
	if limit <= 0 || limit > 200 {
		return 50
	}
	return limit
}

// Create adds a cloud account and checks its billing status.
func (s *Service) Create(ctx context.Context, p tenancy.Principal, orgID string, in Input) (Account, error) {
	if err := s.authorize(ctx, p, orgID, true); err != nil {
		return Account{}, err
	}
	if err := in.validate(); err != nil {
		return Account{}, err
	}
	sealed, err := s.seal(in.Credentials)
	if err != nil {
		return Account{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	a := Account{ID: s.newID(), OrgID: orgID, Provider: in.Provider, Name: in.Name, ProviderAccountID: in.ProviderAccountID,
		BillingAccountID: in.BillingAccountID, HasCredentials: sealed != nil, Status: Unprovisioned,
		StatusDetail: "not checked yet", StatusSince: now, CreatedAt: now}
	if a.Provider == connectors.AWS {
		a.ExternalID = connectors.NewExternalID()
	}
	if err := s.store.CreateAccount(ctx, a, sealed); err != nil {
		return Account{}, err
	}
	return s.refreshed(ctx, p, a)
}

// Update changes an account's name, IDs or credentials (empty credential
// fields keep the stored ones). Its provider cannot change.
func (s *Service) Update(ctx context.Context, p tenancy.Principal, orgID, id string, in Input) (Account, error) {
	if err := s.authorize(ctx, p, orgID, true); err != nil {
		return Account{}, err
	}
	a, err := s.store.UpdateAccount(ctx, orgID, id, func(a *Account, stored []byte) ([]byte, error) {
		if in.Provider != "" && in.Provider != a.Provider {
			return nil, domain.Errorf(domain.Invalid, "an account's provider cannot change; add a new account instead")
		}
		in.Provider = a.Provider
		old, err := connectors.OpenSecret(s.sealer, stored)
		if err != nil {
			return nil, err
		}
		merged, fresh := connectors.MergeSecret(old, in.Credentials)
		check := in
		check.Credentials = merged
		if err := check.validate(); err != nil {
			return nil, err
		}
		a.Name, a.ProviderAccountID, a.BillingAccountID = check.Name, check.ProviderAccountID, check.BillingAccountID
		if !fresh {
			return stored, nil
		}
		sealed, err := s.seal(merged)
		if err != nil {
			return nil, err
		}
		a.HasCredentials = a.HasCredentials || sealed != nil
		return sealed, nil
	})
	if err != nil {
		return Account{}, err
	}
	return s.refreshed(ctx, p, a)
}

// Delete removes an account. The account that provisioned a provider's
// billing cannot go while that infrastructure exists.
func (s *Service) Delete(ctx context.Context, p tenancy.Principal, orgID, id string) error {
	if err := s.authorize(ctx, p, orgID, true); err != nil {
		return err
	}
	a, _, err := s.store.Account(ctx, orgID, id)
	if err != nil {
		return err
	}
	inf, err := s.store.Infrastructure(ctx, orgID, a.Provider)
	if err != nil && !domain.IsNotFound(err) {
		return err
	}
	if err == nil && inf.Active() && inf.AccountID == a.ID {
		return domain.Errorf(domain.Conflict, "%s provisioned the organization's %s billing: deprovision billing before removing it",
			a.Name, ProviderLabel(a.Provider))
	}
	return s.store.DeleteAccount(ctx, orgID, id)
}

// seal encrypts the non-empty credentials; none seal to nil.
func (s *Service) seal(creds connectors.Secret) ([]byte, error) {
	merged, _ := connectors.MergeSecret(nil, creds)
	if len(merged) == 0 {
		return nil, nil
	}
	if s.sealer == nil {
		return nil, domain.Errorf(domain.Unavailable, "no secret key is configured, so credentials cannot be stored")
	}
	return connectors.SealSecret(s.sealer, merged)
}

// refreshed re-evaluates the organization's statuses and returns a as
// stored after that.
func (s *Service) refreshed(ctx context.Context, p tenancy.Principal, a Account) (Account, error) {
	all, err := s.evaluate(ctx, p, a.OrgID)
	if err != nil {
		return a, err
	}
	for _, b := range all {
		if b.ID == a.ID {
			return b, nil
		}
	}
	return a, nil
}

// CheckReport counts what one pass of the status check did.
type CheckReport struct {
	Organizations, Accounts, Changed int
}

// CheckNow syncs the organization's enabled cloud connectors and then
// checks its accounts' billing status, for the page's "Check now".
func (s *Service) CheckNow(ctx context.Context, p tenancy.Principal, orgID string) ([]Account, error) {
	if err := s.authorize(ctx, p, orgID, true); err != nil {
		return nil, err
	}
	conns, err := s.conns.List(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	for _, c := range conns {
		if c.Enabled && c.Provider != connectors.Local && c.OrgID == orgID {
			// A failed sync is recorded on the connector and shows in the
			// status detail.
			_, _ = s.conns.Sync(ctx, p, orgID, c.ID, nil)
		}
	}
	return s.evaluate(ctx, p, orgID)
}

// CheckAll checks the billing status of every organization's accounts,
// for the hourly job: the caller must be the system. One organization's
// failure does not stop the others.
func (s *Service) CheckAll(ctx context.Context, p tenancy.Principal) (CheckReport, error) {
	if err := s.rights.System(p, "check every organization's billing status"); err != nil {
		return CheckReport{}, err
	}
	orgs, err := s.store.AccountOrgs(ctx)
	if err != nil {
		return CheckReport{}, err
	}
	var rep CheckReport
	var firstErr error
	for _, org := range orgs {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		before, err := s.store.ListAccounts(ctx, []string{org})
		if err == nil {
			var after []Account
			if after, err = s.evaluate(ctx, p, org); err == nil {
				rep.Organizations++
				rep.Accounts += len(after)
				rep.Changed += countChanged(before, after)
			}
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("organization %s: %w", org, err)
		}
	}
	return rep, firstErr
}

func countChanged(before, after []Account) int {
	was := make(map[string]Status, len(before))
	for _, a := range before {
		was[a.ID] = a.Status
	}
	n := 0
	for _, a := range after {
		if was[a.ID] != a.Status {
			n++
		}
	}
	return n
}

// evaluate decides and records the status of each of the organization's
// accounts, and returns them as stored.
func (s *Service) evaluate(ctx context.Context, p tenancy.Principal, orgID string) ([]Account, error) {
	all, err := s.store.ListAccounts(ctx, []string{orgID})
	if err != nil || len(all) == 0 {
		return all, err
	}
	seen, err := s.store.SeenAccounts(ctx, orgID)
	if err != nil {
		return nil, err
	}
	infras, err := s.store.ListInfrastructure(ctx, []string{orgID})
	if err != nil {
		return nil, err
	}
	conns, err := s.conns.List(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	for i, a := range all {
		u := s.statusOf(a, seen, infras, conns, now)
		if err := s.store.RecordStatus(ctx, orgID, a.ID, u); err != nil {
			return nil, err
		}
		if u.Status != a.Status {
			all[i].StatusSince = now
		}
		all[i].Status, all[i].StatusDetail, all[i].LastCheckedAt = u.Status, u.Detail, now
	}
	return all, nil
}

// statusOf applies the status rules to one account.
func (s *Service) statusOf(a Account, seen []SeenAccount, infras []Infrastructure, conns []connectors.Connector, now time.Time) StatusUpdate {
	u := StatusUpdate{At: now}
	var last time.Time
	for _, sa := range seen {
		if a.Matches(sa) && sa.LastDay.After(last) {
			last = sa.LastDay
		}
	}
	label := ProviderLabel(a.Provider)
	var inf Infrastructure
	for _, i := range infras {
		if i.Provider == a.Provider {
			inf = i
		}
	}
	var failed *connectors.Connector
	var working *connectors.Connector
	for i, c := range conns {
		if c.Provider != a.Provider || !c.Enabled {
			continue
		}
		if inf.ConnectorID != "" && c.ID != inf.ConnectorID && inf.State == StateProvisioned {
			continue
		}
		if c.Status == connectors.StatusFailed && failed == nil {
			failed = &conns[i]
		} else if working == nil {
			working = &conns[i]
		}
	}
	removed := inf.State == StateDeprovisioning || inf.State == StateDeprovisionFailed || inf.State == StateDeprovisioned
	switch {
	case !last.IsZero() && removed && failed == nil && working == nil:
		// The data stays, but nothing delivers more of it.
		u.Status = Unprovisioned
		u.Detail = fmt.Sprintf("%s billing was deprovisioned; data through %s is kept", label, last.Format("2006-01-02"))
		return u
	case !last.IsZero():
		u.Status, u.Detail = Provisioned, "billing data found, latest charge day "+last.Format("2006-01-02")
		return u
	}
	u.Status = Unprovisioned
	switch inf.State {
	case StateProvisioned:
		u.Status = Checking
		switch {
		case failed != nil:
			u.Detail = fmt.Sprintf("connector %s: %s", failed.Name, failed.LastError)
		case a.Provider == connectors.GCP:
			u.Detail = fmt.Sprintf("dataset ready %s ago; waiting for the BigQuery billing export to be switched on and deliver", age(now, inf.ProvisionedAt))
		default:
			u.Detail = fmt.Sprintf("export created %s ago, first delivery pending", age(now, inf.ProvisionedAt))
		}
	case StateProvisioning:
		u.Detail = label + " billing provisioning is in progress"
	case StateFailed:
		u.Detail = "provisioning stopped at " + inf.Error + "; provision again to continue"
	case StateDeprovisioning, StateDeprovisionFailed:
		u.Detail = label + " billing is being deprovisioned"
	default:
		switch {
		case failed != nil:
			u.Detail = fmt.Sprintf("connector %s: %s", failed.Name, failed.LastError)
		case working != nil:
			u.Detail = fmt.Sprintf("connector %s has no billing data for this account yet", working.Name)
		case a.Provider == connectors.OCI:
			u.Detail = "no connector reads this tenancy's cost reports yet: add the policy statements and an OCI billing connector"
		case inf.State == StateDeprovisioned:
			u.Detail = fmt.Sprintf("%s billing was deprovisioned; provision billing to collect data again", label)
		default:
			u.Detail = fmt.Sprintf("no %s billing infrastructure or data: provision billing from one %s account", label, label)
		}
	}
	return u
}

// age renders a duration the way the status detail shows it.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero() || d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
}

package accounts

import (
	"context"
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

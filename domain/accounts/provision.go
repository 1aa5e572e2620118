package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// State is where an infrastructure's provisioning stands.
type State string

// Infrastructure states. A failed provisioning or deprovisioning resumes
// where it stopped when asked again.
const (
	StateProvisioning      State = "provisioning"
	StateProvisioned       State = "provisioned"
	StateFailed            State = "failed"
	StateDeprovisioning    State = "deprovisioning"
	StateDeprovisionFailed State = "deprovision_failed"
	StateDeprovisioned     State = "deprovisioned"
)

// Settings are what a user chooses when provisioning. Each provider reads
// its own fields; Provisioner.Validate fills defaults.
type Settings struct {
	// Region is where the infrastructure goes (AWS region, Azure
	// location, BigQuery location).
	Region string `json:"region,omitempty"`
	// ExportType is the AWS export: "cur2" (CUR 2.0 through Data Exports,
	// the default) or "cur" (legacy Cost and Usage Report).
	ExportType string `json:"export_type,omitempty"`
	// RegisterExportProvider asks to register the
	// Microsoft.CostManagementExports resource provider in the subscription.
	RegisterExportProvider bool `json:"register_export_provider,omitempty"`
	// ProjectID is the Google Cloud project that holds the BigQuery dataset.
	ProjectID string `json:"project_id,omitempty"`
	// Dataset is the BigQuery dataset the billing export writes to.
	Dataset string `json:"dataset,omitempty"`
}

// ResourceState is what became of a ledger entry.
type ResourceState string

// Ledger entry states. Only created resources are removed on deprovision.
const (
	// Created: Truecost created it; deprovisioning removes it.
	Created ResourceState = "created"
	// Kept: it was there already, or the step needed nothing (or only a
	// manual action); deprovisioning leaves it alone.
	Kept ResourceState = "kept"
	// Deleted: created and since removed by deprovisioning.
	Deleted ResourceState = "deleted"
)

// Item is one sub-result of a step, such as the state of one cost
// allocation tag.
type Item struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Note  string `json:"note,omitempty"`
}

// Resource is one ledger entry: what a provisioning step did.
type Resource struct {
	Step      string        `json:"step"`
	Kind      string        `json:"kind"`
	ID        string        `json:"id"`
	Region    string        `json:"region,omitempty"`
	State     ResourceState `json:"state"`
	Note      string        `json:"note,omitempty"`
	Items     []Item        `json:"items,omitempty"`
	At        time.Time     `json:"at"`
	DeletedAt time.Time     `json:"deleted_at,omitzero"`
}

// Infrastructure is the billing export set up for one provider of one
// organization, with the ledger of everything provisioning did.
type Infrastructure struct {
	ID       string
	OrgID    string
	Provider connectors.Provider
	// AccountID is the cloud account (Account.ID) whose credentials
	// provisioned it.
	AccountID     string
	Settings      Settings
	State         State
	Error         string
	Ledger        []Resource
	ConnectorID   string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ProvisionedAt time.Time
}

// Active reports whether the infrastructure exists in any form that
// deprovisioning would still have to remove.
func (inf Infrastructure) Active() bool {
	return inf.ID != "" && inf.State != StateDeprovisioned
}

// Resource returns the ledger entry of a step.
func (inf Infrastructure) Resource(step string) (Resource, bool) {
	for _, r := range inf.Ledger {
		if r.Step == step {
			return r, true
		}
	}
	return Resource{}, false
}

// Request is what a Provisioner works from: the infrastructure (its ID
// makes resource names stable across retries, its Ledger says what exists),
// the provisioning account and its credentials.
type Request struct {
	Infra       Infrastructure
	Account     Account
	Credentials connectors.Secret
}

// Step is one resource-creating action. Run returns the ledger entry; a
// step that finds its resource already there returns it as Kept.
type Step struct {
	Name string
	Kind string
	Run  func(ctx context.Context) (Resource, error)
}

// Provisioner sets up one provider's billing export.
type Provisioner interface {
	// Validate checks s and fills its defaults for account a.
	Validate(s *Settings, a Account) error
	// Steps lists the ordered steps for req. Steps whose name is already in
	// the ledger are not run again.
	Steps(req Request) []Step
	// Remove deletes one Created resource.
	Remove(ctx context.Context, req Request, r Resource) error
	// Connector describes the billing connector that reads the export.
	Connector(req Request) connectors.Input
	// Manual lists what the user still has to do by hand after
	// provisioning (Google's billing export cannot be switched on by API).
	Manual(inf Infrastructure) []string
}

// Provision sets up the billing export of the account's provider for the
// organization, continuing where an earlier attempt stopped. It returns the
// infrastructure as it stands, also when a step fails.
func (s *Service) Provision(ctx context.Context, p tenancy.Principal, orgID, accountID string, set Settings) (Infrastructure, error) {
	a, prov, creds, inf, err := s.prepare(ctx, p, orgID, accountID, set)
	if err != nil {
		return inf, err
	}
	inf.State, inf.Error = StateProvisioning, ""
	if err := s.save(ctx, &inf); err != nil {
		return inf, err
	}
	req := Request{Infra: inf, Account: a, Credentials: creds}
	for _, st := range prov.Steps(req) {
		if _, done := inf.Resource(st.Name); done {
			continue
		}
		r, err := st.Run(ctx)
		if err != nil {
			err := s.fail(ctx, p, &inf, StateFailed, st.Kind, err)
			return inf, err
		}
		r.Step, r.At = st.Name, s.now().UTC()
		if r.Kind == "" {
			r.Kind = st.Kind
		}
		inf.Ledger = append(inf.Ledger, r)
		if err := s.save(ctx, &inf); err != nil {
			return inf, err
		}
		req.Infra = inf
	}
	if err := s.connectInfrastructure(ctx, p, &inf, prov.Connector(req)); err != nil {
		err := s.fail(ctx, p, &inf, StateFailed, "billing connector", err)
		return inf, err
	}
	inf.State, inf.ProvisionedAt = StateProvisioned, s.now().UTC()
	if err := s.save(ctx, &inf); err != nil {
		return inf, err
	}
	_, err = s.evaluate(ctx, p, orgID)
	return inf, err
}

// CheckProvision refuses at once what Provision would refuse before
// touching the cloud: the caller's rights, an account without
// credentials, settings the provider does not accept, or infrastructure
// in a state that cannot be provisioned. Nothing is written.
func (s *Service) CheckProvision(ctx context.Context, p tenancy.Principal, orgID, accountID string, set Settings) error {
	_, _, _, _, err := s.prepare(ctx, p, orgID, accountID, set)
	return err
}

// prepare checks a provisioning request and returns the account, its
// provider's provisioner, its credentials and the infrastructure to
// continue (a new one when there is none). On a conflict it also returns
// the infrastructure as it stands.
func (s *Service) prepare(ctx context.Context, p tenancy.Principal, orgID, accountID string, set Settings) (Account, Provisioner, connectors.Secret, Infrastructure, error) {
	fail := func(inf Infrastructure, err error) (Account, Provisioner, connectors.Secret, Infrastructure, error) {
		return Account{}, nil, nil, inf, err
	}
	if err := s.authorize(ctx, p, orgID, true); err != nil {
		return fail(Infrastructure{}, err)
	}
	a, sealed, err := s.store.Account(ctx, orgID, accountID)
	if err != nil {
		return fail(Infrastructure{}, err)
	}
	prov, err := s.provisioner(a.Provider)
	if err != nil {
		return fail(Infrastructure{}, err)
	}
	creds, err := connectors.OpenSecret(s.sealer, sealed)
	if err != nil {
		return fail(Infrastructure{}, err)
	}
	if len(creds) == 0 {
		return fail(Infrastructure{}, domain.Errorf(domain.Invalid, "account %s has no credentials: add them to provision billing from it", a.Name))
	}
	inf, err := s.store.Infrastructure(ctx, orgID, a.Provider)
	switch {
	case domain.IsNotFound(err) || (err == nil && inf.State == StateDeprovisioned):
		if err := prov.Validate(&set, a); err != nil {
			return fail(Infrastructure{}, err)
		}
		now := s.now().UTC()
		inf = Infrastructure{ID: s.newID(), OrgID: orgID, Provider: a.Provider, AccountID: a.ID, Settings: set,
			ConnectorID: inf.ConnectorID, CreatedAt: now}
	case err != nil:
		return fail(Infrastructure{}, err)
	case inf.State == StateProvisioned:
		return fail(inf, domain.Errorf(domain.Conflict, "%s billing is already provisioned for this organization; its other %s accounts are detected by the status check",
			ProviderLabel(a.Provider), ProviderLabel(a.Provider)))
	case inf.State == StateDeprovisioning || inf.State == StateDeprovisionFailed:
		return fail(inf, domain.Errorf(domain.Conflict, "deprovisioning of %s billing did not finish; deprovision again first", ProviderLabel(a.Provider)))
	case inf.AccountID != a.ID:
		return fail(inf, domain.Errorf(domain.Conflict, "%s billing provisioning was started from another account; retry it from that account, or deprovision first",
			ProviderLabel(a.Provider)))
	}
	return a, prov, creds, inf, nil
}

// connectInfrastructure creates the connector that reads the export, or
// updates and re-enables the one an earlier provisioning created.
func (s *Service) connectInfrastructure(ctx context.Context, p tenancy.Principal, inf *Infrastructure, in connectors.Input) error {
	in.Enabled = true
	if inf.ConnectorID != "" {
		_, err := s.conns.Update(ctx, p, inf.OrgID, inf.ConnectorID, in)
		if err == nil {
			return s.conns.SetEnabled(ctx, p, inf.OrgID, inf.ConnectorID, true)
		}
		if !domain.IsNotFound(err) {
			return err
		}
	}
	c, err := s.conns.Create(ctx, p, inf.OrgID, in)
	if err != nil {
		return err
	}
	inf.ConnectorID = c.ID
	return nil
}

// Manual lists the steps the user still has to take by hand for inf.
func (s *Service) Manual(inf Infrastructure) []string {
	prov, err := s.provisioner(inf.Provider)
	if err != nil || inf.State != StateProvisioned {
		return nil
	}
	return prov.Manual(inf)
}

func (s *Service) provisioner(p connectors.Provider) (Provisioner, error) {
	if !isProvisionable(p) {
		return nil, domain.Errorf(domain.Invalid, "%s has nothing to provision: Oracle writes the cost reports itself; add an OCI billing connector with access to them",
			ProviderLabel(p))
	}
	prov := s.provisioners[p]
	if prov == nil {
		return nil, domain.Errorf(domain.Unavailable, "%s provisioning is not configured", ProviderLabel(p))
	}
	return prov, nil
}

func (s *Service) save(ctx context.Context, inf *Infrastructure) error {
	inf.UpdatedAt = s.now().UTC()
	return s.store.SaveInfrastructure(context.WithoutCancel(ctx), *inf)
}

// fail records where provisioning or deprovisioning stopped and returns
// the error to show. Errors from the cloud keep their code; others become
// Unavailable, since trying again may work.
func (s *Service) fail(ctx context.Context, p tenancy.Principal, inf *Infrastructure, state State, what string, cause error) error {
	inf.State, inf.Error = state, fmt.Sprintf("%s: %s", what, domain.ErrorMessage(cause))
	s.log.WarnContext(ctx, "billing provisioning stopped", "org", inf.OrgID, "provider", inf.Provider, "step", what, "err", cause)
	if err := s.save(ctx, inf); err != nil {
		return err
	}
	// Best effort: the statuses follow what was left behind; the hourly
	// check corrects them otherwise.
	_, _ = s.evaluate(context.WithoutCancel(ctx), p, inf.OrgID)
	code := domain.ErrorCode(cause)
	if code == domain.Internal {
		code = domain.Unavailable
	}
	verb := "provisioning"
	if state == StateDeprovisionFailed {
		verb = "deprovisioning"
	}
	return domain.Errorf(code, "%s %s billing stopped at %s; try again to continue from there", verb, ProviderLabel(inf.Provider), inf.Error)
}

// ProviderLabel is a provider's name as users know it.
func ProviderLabel(p connectors.Provider) string {
	switch p {
	case connectors.AWS:
		return "AWS"
	case connectors.Azure:
		return "Azure"
	case connectors.GCP:
		return "Google Cloud"
	case connectors.OCI:
		return "OCI"
	}
	return string(p)
}

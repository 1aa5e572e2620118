package accounts

import (
	"context"
	"fmt"
	"strings"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// DeprovisionWarning says what deprovisioning a provider's billing does to
// the organization's accounts.
func (s *Service) DeprovisionWarning(ctx context.Context, p tenancy.Principal, orgID string, provider connectors.Provider) (string, error) {
	if err := s.authorize(ctx, p, orgID, false); err != nil {
		return "", err
	}
	all, err := s.store.ListAccounts(ctx, []string{orgID})
	if err != nil {
		return "", err
	}
	return DeprovisionWarningFor(provider, all), nil
}

// DeprovisionWarningFor is the warning of DeprovisionWarning given the
// organization's accounts.
func DeprovisionWarningFor(provider connectors.Provider, all []Account) string {
	var names []string
	for _, a := range all {
		if a.Provider == provider {
			names = append(names, a.Name)
		}
	}
	label := ProviderLabel(provider)
	if len(names) == 1 {
		return fmt.Sprintf("This removes the %s billing export and disables its connector. %s is the only provisioned %s account: it will stop receiving billing data.",
			label, names[0], label)
	}
	return fmt.Sprintf("This removes the %s billing export and disables its connector. Every %s account of this organization (%d: %s) will stop receiving billing data.",
		label, label, len(names), strings.Join(names, ", "))
}

// Deprovision removes, in reverse order, exactly the resources provisioning
// created for a provider, and disables the connector that read them. It
// refuses without confirm, answering the warning as a Conflict. A failure
// stops it; asking again continues.
func (s *Service) Deprovision(ctx context.Context, p tenancy.Principal, orgID string, provider connectors.Provider, confirm bool) (Infrastructure, error) {
	if err := s.authorize(ctx, p, orgID, true); err != nil {
		return Infrastructure{}, err
	}
	prov, err := s.provisioner(provider)
	if err != nil {
		return Infrastructure{}, err
	}
	inf, err := s.store.Infrastructure(ctx, orgID, provider)
	if domain.IsNotFound(err) || (err == nil && !inf.Active()) {
		return inf, domain.Errorf(domain.NotFound, "%s billing is not provisioned for this organization", ProviderLabel(provider))
	}
	if err != nil {
		return Infrastructure{}, err
	}
	if !confirm {
		warning, err := s.DeprovisionWarning(ctx, p, orgID, provider)
		if err != nil {
			return inf, err
		}
		return inf, domain.Errorf(domain.Conflict, "%s Confirm to deprovision.", warning)
	}
	a, sealed, err := s.store.Account(ctx, orgID, inf.AccountID)
	if err != nil {
		return inf, err
	}
	creds, err := connectors.OpenSecret(s.sealer, sealed)
	if err != nil {
		return inf, err
	}
	inf.State, inf.Error = StateDeprovisioning, ""
	if err := s.save(ctx, &inf); err != nil {
		return inf, err
	}
	if inf.ConnectorID != "" {
		if err := s.conns.SetEnabled(ctx, p, orgID, inf.ConnectorID, false); err != nil && !domain.IsNotFound(err) {
			err := s.fail(ctx, p, &inf, StateDeprovisionFailed, "billing connector", err)
			return inf, err
		}
	}
	for i := len(inf.Ledger) - 1; i >= 0; i-- {
		r := inf.Ledger[i]
		if r.State != Created {
			continue
		}
		if err := prov.Remove(ctx, Request{Infra: inf, Account: a, Credentials: creds}, r); err != nil {
			err := s.fail(ctx, p, &inf, StateDeprovisionFailed, r.Kind+" "+r.ID, err)
			return inf, err
		}
		inf.Ledger[i].State, inf.Ledger[i].DeletedAt = Deleted, s.now().UTC()
		if err := s.save(ctx, &inf); err != nil {
			return inf, err
		}
	}
	inf.State = StateDeprovisioned
	if err := s.save(ctx, &inf); err != nil {
		return inf, err
	}
	_, err = s.evaluate(ctx, p, orgID)
	return inf, err
}

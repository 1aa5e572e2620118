package graph

import (
	"context"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph/model"
)

// This file maps cloud accounts and billing infrastructure between the API
// and the domain. Credentials go one way only: from
// CloudAccountCredentialsInput into the domain.

// accountsFor returns the accounts service and the caller.
func (r *Resolver) accountsFor(ctx context.Context) (*accounts.Service, tenancy.Principal, error) {
	if r.deps.Accounts == nil {
		return nil, tenancy.Principal{}, domain.Errorf(domain.Unavailable, "cloud account management is not configured")
	}
	p, err := principal(ctx)
	return r.deps.Accounts, p, err
}

// accountToModel converts a for the caller p: the AWS external ID and trust
// policy are shown to admins only, as for connectors.
func (r *Resolver) accountToModel(p tenancy.Principal, a accounts.Account) model.CloudAccount {
	out := model.CloudAccount{
		ID:                a.ID,
		OrganizationID:    a.OrgID,
		Provider:          cloudProviderToModel(a.Provider),
		Name:              a.Name,
		ProviderAccountID: a.ProviderAccountID,
		BillingAccountID:  optional(a.BillingAccountID),
		HasCredentials:    a.HasCredentials,
		BillingStatus:     model.BillingStatus(strings.ToUpper(string(a.Status))),
		StatusDetail:      a.StatusDetail,
		// Stores keep microseconds; a just-made answer must read the same
		// as a later one.
		StatusSince:   a.StatusSince.Truncate(time.Microsecond),
		LastCheckedAt: optionalTime(a.LastCheckedAt.Truncate(time.Microsecond)),
		CreatedAt:     a.CreatedAt.Truncate(time.Microsecond),
	}
	if a.Provider == connectors.AWS && p.IsAdmin() && a.ExternalID != "" {
		policy := AWSAccountTrustPolicy(a.ExternalID, r.deps.AWSPrincipal)
		out.AWSExternalID, out.AWSTrustPolicy = optional(a.ExternalID), &policy
	}
	return out
}

func (r *Resolver) accountsToModel(p tenancy.Principal, as []accounts.Account) []model.CloudAccount {
	out := make([]model.CloudAccount, len(as))
	for i, a := range as {
		out[i] = r.accountToModel(p, a)
	}
	return out
}

// AWSAccountTrustPolicy is the trust policy (JSON) an AWS account's IAM
// role needs so that principal may assume it with externalID; the same
// policy AWS connectors show.
func AWSAccountTrustPolicy(externalID, principal string) string {
	return connectors.AWSTrustPolicy(externalID, principal)
}

// infrastructureToModel converts inf; the deprovision warning is resolved
// on demand.
func (r *Resolver) infrastructureToModel(inf accounts.Infrastructure) model.BillingInfrastructure {
	s := inf.Settings
	out := model.BillingInfrastructure{
		ID:                     inf.ID,
		OrganizationID:         inf.OrgID,
		Provider:               cloudProviderToModel(inf.Provider),
		AccountID:              inf.AccountID,
		Region:                 optional(s.Region),
		RegisterExportProvider: s.RegisterExportProvider,
		ProjectID:              optional(s.ProjectID),
		Dataset:                optional(s.Dataset),
		State:                  model.InfrastructureState(strings.ToUpper(string(inf.State))),
		Error:                  optional(inf.Error),
		ConnectorID:            optional(inf.ConnectorID),
		Ledger:                 make([]model.LedgerEntry, len(inf.Ledger)),
		ManualSteps:            r.deps.Accounts.Manual(inf),
		CreatedAt:              inf.CreatedAt.Truncate(time.Microsecond),
		UpdatedAt:              inf.UpdatedAt.Truncate(time.Microsecond),
		ProvisionedAt:          optionalTime(inf.ProvisionedAt.Truncate(time.Microsecond)),
	}
	if s.ExportType != "" {
		t := model.AWSExportType(strings.ToUpper(s.ExportType))
		out.ExportType = &t
	}
	if out.ManualSteps == nil {
		out.ManualSteps = []string{}
	}
	for i, e := range inf.Ledger {
		me := model.LedgerEntry{
			Step:       e.Step,
			Kind:       e.Kind,
			ResourceID: e.ID,
			Region:     optional(e.Region),
			State:      model.LedgerEntryState(strings.ToUpper(string(e.State))),
			Note:       optional(e.Note),
			Items:      make([]model.LedgerItem, len(e.Items)),
			At:         e.At.Truncate(time.Microsecond),
			DeletedAt:  optionalTime(e.DeletedAt.Truncate(time.Microsecond)),
		}
		for j, it := range e.Items {
			me.Items[j] = model.LedgerItem{Name: it.Name, State: it.State, Note: optional(it.Note)}
		}
		out.Ledger[i] = me
	}
	return out
}

func cloudProviderToModel(p connectors.Provider) model.CloudProvider {
	return model.CloudProvider(strings.ToUpper(string(p)))
}

func cloudProviderFromModel(p model.CloudProvider) connectors.Provider {
	return connectors.Provider(strings.ToLower(string(p)))
}

func accountInputFromModel(in model.CloudAccountInput) accounts.Input {
	out := accounts.Input{
		Provider:          cloudProviderFromModel(in.Provider),
		Name:              in.Name,
		ProviderAccountID: in.ProviderAccountID,
		BillingAccountID:  deref(in.BillingAccountID),
	}
	if c := in.Credentials; c != nil {
		out.Credentials = connectors.Secret{}
		for key, v := range map[string]*string{
			"role_arn":             c.RoleArn,
			"access_key_id":        c.AccessKeyID,
			"secret_access_key":    c.SecretAccessKey,
			"tenant_id":            c.TenantID,
			"client_id":            c.ClientID,
			"client_secret":        c.ClientSecret,
			"service_account_json": c.ServiceAccountJSON,
			"user_ocid":            c.UserOcid,
			"fingerprint":          c.Fingerprint,
			"private_key":          c.PrivateKey,
			"region":               c.Region,
		} {
			if v != nil && *v != "" {
				out.Credentials[key] = *v
			}
		}
	}
	return out
}

func settingsFromModel(in model.ProvisionBillingInput) accounts.Settings {
	s := accounts.Settings{
		Region:                 strings.TrimSpace(deref(in.Region)),
		RegisterExportProvider: in.RegisterExportProvider != nil && *in.RegisterExportProvider,
		ProjectID:              strings.TrimSpace(deref(in.ProjectID)),
		Dataset:                strings.TrimSpace(deref(in.Dataset)),
	}
	if in.ExportType != nil {
		s.ExportType = strings.ToLower(string(*in.ExportType))
	}
	return s
}

func statusChangeToModel(c accounts.StatusChange) model.BillingStatusChange {
	return model.BillingStatusChange{
		From:   model.BillingStatus(strings.ToUpper(string(c.From))),
		To:     model.BillingStatus(strings.ToUpper(string(c.To))),
		Detail: c.Detail,
		At:     c.At.Truncate(time.Microsecond),
	}
}

// maxStatusHistory bounds CloudAccount.statusHistory's limit.
const maxStatusHistory = 200

package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

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

// statusOf applies the status rules to one account. Status follows the
// data: an account whose data arrives through any connector other than
// removed infrastructure's own is Provisioned, whatever became of the
// infrastructure.
func (s *Service) statusOf(a Account, seen []SeenAccount, infras []Infrastructure, conns []connectors.Connector, now time.Time) StatusUpdate {
	u := StatusUpdate{At: now}
	label := ProviderLabel(a.Provider)
	var inf Infrastructure
	for _, i := range infras {
		if i.Provider == a.Provider {
			inf = i
		}
	}
	removed := inf.State == StateDeprovisioning || inf.State == StateDeprovisionFailed || inf.State == StateDeprovisioned
	// last is the latest charge day of the account's data; live the latest
	// through a connector that removing the infrastructure did not stop.
	var last, live time.Time
	for _, sa := range seen {
		if !a.Matches(sa) {
			continue
		}
		if sa.LastDay.After(last) {
			last = sa.LastDay
		}
		stopped := removed && inf.ConnectorID != "" && sa.ConnectorID == inf.ConnectorID
		if !stopped && sa.LastDay.After(live) {
			live = sa.LastDay
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
	switch {
	case !live.IsZero():
		u.Status, u.Detail = Provisioned, "billing data found, latest charge day "+live.Format("2006-01-02")
		return u
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

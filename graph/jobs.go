package graph

import (
	"context"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/background"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph/model"
)

func (r *Resolver) backgroundFor(ctx context.Context) (*background.Service, tenancy.Principal, error) {
	if r.deps.Background == nil {
		return nil, tenancy.Principal{}, domain.Errorf(domain.Unavailable, "background jobs are not configured")
	}
	p, err := principal(ctx)
	return r.deps.Background, p, err
}

var jobKinds = map[background.Kind]model.JobKind{
	background.TestConnector:      model.JobKindTestConnector,
	background.SyncConnector:      model.JobKindSyncConnector,
	background.ProvisionBilling:   model.JobKindProvisionBilling,
	background.CheckBillingStatus: model.JobKindCheckBillingStatus,
}

var jobStates = map[background.State]model.JobState{
	background.Queued:    model.JobStateQueued,
	background.Running:   model.JobStateRunning,
	background.Succeeded: model.JobStateSucceeded,
	background.Failed:    model.JobStateFailed,
}

// jobToModel converts j for the caller p. A succeeded provisioning or
// status check shows the infrastructure or accounts as they stand now.
func (r *Resolver) jobToModel(ctx context.Context, p tenancy.Principal, j background.Job) (*model.Job, error) {
	out := &model.Job{ID: j.ID, OrganizationID: j.OrgID, Kind: jobKinds[j.Kind], SubjectID: optional(j.SubjectID),
		State: jobStates[j.State], Message: optional(j.Message), Error: optional(j.Error),
		ErrorCode: optional(string(j.ErrorCode)), CreatedAt: j.CreatedAt, StartedAt: optionalTime(j.StartedAt),
		FinishedAt: optionalTime(j.FinishedAt)}
	if j.HasProgress {
		v := j.Progress
		out.Progress = &v
	}
	if j.State != background.Succeeded {
		return out, nil
	}
	res := &model.JobResult{Summary: j.Result.Summary}
	if t := j.Result.Test; t != nil {
		res.ConnectorTest = connectorTestToModel(*t)
	}
	if run := j.Result.Run; run != nil {
		m := runToModel(*run)
		res.IngestionRun = &m
	}
	if r.deps.Accounts != nil {
		switch j.Kind {
		case background.ProvisionBilling:
			infras, err := r.deps.Accounts.Infrastructure(ctx, p, j.OrgID)
			if err != nil {
				return nil, err
			}
			for _, inf := range infras {
				if inf.Provider == j.Result.Provider {
					m := r.infrastructureToModel(inf)
					res.Infrastructure = &m
				}
			}
		case background.CheckBillingStatus:
			as, err := r.deps.Accounts.List(ctx, p, j.OrgID)
			if err != nil {
				return nil, err
			}
			if err := r.prefetchAccounts(ctx, as); err != nil {
				return nil, err
			}
			res.Accounts = r.accountsToModel(p, as)
		}
	}
	out.Result = res
	return out, nil
}

package graph

import (
	"context"
	"strings"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph/model"
)

// exportsFor returns the export service and the caller.
func (r *Resolver) exportsFor(ctx context.Context) (*exports.Service, tenancy.Principal, error) {
	if r.deps.Exports == nil {
		return nil, tenancy.Principal{}, domain.Errorf(domain.Unavailable, "billing exports are not configured")
	}
	p, err := principal(ctx)
	return r.deps.Exports, p, err
}

func exportInputFromModel(in model.ExportConfigInput) exports.Input {
	out := exports.Input{ID: deref(in.ID), Enabled: in.Enabled,
		Destination: exports.Destination{Kind: exports.DestinationKind(strings.ToLower(string(in.Kind))), Bucket: in.Bucket,
			Prefix: deref(in.Prefix), Region: deref(in.Region), AccountID: deref(in.AccountID)},
		ServiceAccountKey: deref(in.ServiceAccountKey)}
	for _, p := range in.Providers {
		out.Providers = append(out.Providers, connectors.Provider(strings.ToLower(p)))
	}
	if in.Basis != nil {
		out.Basis = exports.Basis(strings.ToLower(string(*in.Basis)))
	}
	if in.Format != nil {
		out.Format = exports.Format(strings.ToLower(string(*in.Format)))
	}
	if in.ConfirmOverwrite != nil {
		out.ConfirmOverwrite = *in.ConfirmOverwrite
	}
	return out
}

func exportConfigToModel(c exports.Config) *model.ExportConfig {
	out := &model.ExportConfig{ID: c.ID, OrganizationID: c.OrgID, Enabled: c.Enabled, Providers: []string{},
		Basis: model.ExportBasis(strings.ToUpper(string(c.Basis))), Format: model.ExportFormat(strings.ToUpper(string(c.Format))),
		Destination: &model.ExportDestination{Kind: model.ExportDestinationKind(strings.ToUpper(string(c.Destination.Kind))),
			Bucket: c.Destination.Bucket, Prefix: c.Destination.Prefix, Region: optional(c.Destination.Region),
			AccountID: optional(c.Destination.AccountID)},
		HasKey: c.HasKey, OverwriteConfirmed: c.OverwriteConfirmed, VerifiedAt: optionalTime(c.VerifiedAt), UpdatedAt: c.UpdatedAt}
	for _, p := range c.Providers {
		out.Providers = append(out.Providers, string(p))
	}
	return out
}

func verificationToModel(v exports.Verification) *model.ExportVerification {
	out := &model.ExportVerification{Ok: v.OK, Message: v.Message, Policy: v.Policy}
	if v.Problem != "" {
		p := model.ExportProblem(strings.ToUpper(string(v.Problem)))
		out.Problem = &p
	}
	if v.Overlap != nil {
		out.Overlap = &model.ExportOverlap{What: v.Overlap.What, Message: v.Overlap.Message}
	}
	return out
}

func exportRunToModel(r exports.Run) model.ExportRun {
	out := model.ExportRun{ID: r.ID, OrganizationID: r.OrgID, ConfigID: r.ConfigID, CustomerID: r.CustomerID,
		Provider: string(r.Provider), Month: r.Month.Format("2006-01"), Reason: r.Reason,
		Status: model.ExportRunStatus(strings.ToUpper(string(r.Status))), Attempts: r.Attempts,
		Basis: model.ExportBasis(strings.ToUpper(string(r.Basis))), Layout: r.Layout, Assembly: r.Assembly,
		Files: []model.ExportFile{}, Rows: int(r.Rows), Totals: moneyToModel(r.Totals), Error: r.Error,
		QueuedAt: r.QueuedAt, FinishedAt: optionalTime(r.FinishedAt)}
	if r.Status == exports.RunQueued {
		out.NextAttemptAt = optionalTime(r.NextAttemptAt)
	}
	for _, f := range r.Files {
		out.Files = append(out.Files, model.ExportFile{Key: f.Key, Rows: int(f.Rows), Bytes: int(f.Bytes), Sha256: f.SHA256})
	}
	return out
}

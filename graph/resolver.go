// Package graph is Truecost's GraphQL driver: the schema (*.graphqls), the
// resolvers that parse a request, call the domain services and convert their
// answers, the error presenter that turns domain errors into GraphQL errors,
// and the HTTP handler that authenticates callers. It depends on the domain
// only, through the small interfaces of Deps; main.go wires the adapters.
package graph

import (
	"context"
	"log/slog"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph/model"
)

// Tenancy authenticates callers and decides which organizations they may
// read. *tenancy.Service implements it.
type Tenancy interface {
	// TokenPrincipal resolves an API bearer token; an unknown or revoked
	// token is a domain.Unauthorized error.
	TokenPrincipal(ctx context.Context, token string) (tenancy.Principal, error)
	// SessionPrincipal resolves a console session cookie value.
	SessionPrincipal(ctx context.Context, token string) (tenancy.Session, tenancy.Principal, error)
	VisibleOrganizations(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error)
	// Scope returns the organization IDs a read covers; a named organization
	// the caller may not read is a domain.NotFound error.
	Scope(ctx context.Context, p tenancy.Principal, orgID string) ([]string, error)
}

// Reporter builds cost reports. *billing.Reporter implements it.
type Reporter interface {
	Report(ctx context.Context, q billing.CostQuery) (billing.CostReport, error)
}

// RunLister lists ingestion runs. billing.RunStore implementations (the SQL
// store) implement it.
type RunLister interface {
	ListRuns(ctx context.Context, orgIDs []string, limit int) ([]billing.IngestionRun, error)
}

// ConnectorLister lists billing connectors. *connectors.Service implements
// it.
type ConnectorLister interface {
	List(ctx context.Context, orgIDs []string) ([]connectors.Connector, error)
}

// ConnectorAdmin reads and changes one organization's billing connectors on
// behalf of a caller, checking that the caller may: changes need an admin
// (a domain.Forbidden error otherwise) and an organization the caller may
// not read is a domain.NotFound error. *connectors.Manager implements it.
type ConnectorAdmin interface {
	Get(ctx context.Context, p tenancy.Principal, orgID, id string) (connectors.Connector, error)
	Create(ctx context.Context, p tenancy.Principal, orgID string, in connectors.Input) (connectors.Connector, error)
	Update(ctx context.Context, p tenancy.Principal, orgID, id string, in connectors.Input) (connectors.Connector, error)
	Delete(ctx context.Context, p tenancy.Principal, orgID, id string) error
	Test(ctx context.Context, p tenancy.Principal, orgID, id string) (connectors.TestResult, error)
	Sync(ctx context.Context, p tenancy.Principal, orgID, id string) (billing.IngestionRun, error)
}

var (
	_ ConnectorLister = (*connectors.Service)(nil)
	_ ConnectorAdmin  = (*connectors.Manager)(nil)
)

// Deps is what the GraphQL API needs from the rest of Truecost. Logger may be
// nil (slog.Default is used). ConnectorAdmin may be nil, and then the
// connector query and mutations answer "unavailable"; so may Accounts, and
// then every cloud account query and mutation does. AWSPrincipal may be
// empty, and then AWS trust policies name a placeholder account. The others
// are required.
type Deps struct {
	Tenancy        Tenancy
	Reporter       Reporter
	Runs           RunLister
	Connectors     ConnectorLister
	ConnectorAdmin ConnectorAdmin
	// Accounts manages cloud accounts, billing provisioning and billing
	// status, checking the caller's rights itself.
	Accounts *accounts.Service
	// AWSPrincipal is the IAM principal (an ARN) Truecost reads AWS exports
	// as; the trust policies shown for AWS connectors and cloud accounts let
	// it assume roles.
	AWSPrincipal string
	Logger       *slog.Logger
}

// Resolver is the root of the resolvers; gqlgen's generated executor calls
// its methods.
type Resolver struct {
	deps Deps
}

// Bounds of Query.ingestionRuns' limit.
const (
	defaultRunLimit = 50
	maxRunLimit     = 500
)

// principal returns the caller the handler put in ctx.
func principal(ctx context.Context) (tenancy.Principal, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return tenancy.Principal{}, domain.Errorf(domain.Unauthorized, "not signed in")
	}
	return p, nil
}

// scope returns the organizations a read by the caller covers: orgID alone
// when given (a domain.NotFound error when the caller may not read it), else
// every organization it may read.
func (r *Resolver) scope(ctx context.Context, orgID *string) ([]string, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return r.deps.Tenancy.Scope(ctx, p, deref(orgID))
}

// connectorTarget returns what a connector query or mutation acts with: the
// connector manager, the caller, and the organization (the caller's own when
// orgID is omitted).
func (r *Resolver) connectorTarget(ctx context.Context, orgID *string) (ConnectorAdmin, tenancy.Principal, string, error) {
	if r.deps.ConnectorAdmin == nil {
		return nil, tenancy.Principal{}, "", domain.Errorf(domain.Unavailable, "connector management is not configured")
	}
	p, err := principal(ctx)
	if err != nil {
		return nil, tenancy.Principal{}, "", err
	}
	id := deref(orgID)
	if id == "" {
		id = p.Org.ID
	}
	return r.deps.ConnectorAdmin, p, id, nil
}

// connectorToModel converts c for the caller p: the AWS role's external ID
// and trust policy are shown to admins only.
func (r *Resolver) connectorToModel(p tenancy.Principal, c connectors.Connector) *model.Connector {
	out := connectorToModel(c)
	if c.Provider == connectors.AWS && p.IsAdmin() {
		policy := connectors.AWSTrustPolicy(c, r.deps.AWSPrincipal)
		out.AWSExternalID, out.AWSTrustPolicy = optional(c.ExternalID), &policy
	}
	return &out
}

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
	"github.com/truecost/truecost/domain/background"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/graph/model"
)

// Tenancy authenticates callers and lists the organizations they may read.
// *tenancy.Service implements it.
type Tenancy interface {
	// TokenPrincipal resolves an API bearer token sent from the client
	// address; an unknown or revoked token is a domain.Unauthorized error,
	// and a client that sent too many is refused with domain.RateLimited.
	TokenPrincipal(ctx context.Context, token, client string) (tenancy.Principal, error)
	// SessionPrincipal resolves a console session cookie value.
	SessionPrincipal(ctx context.Context, token string) (tenancy.Session, tenancy.Principal, error)
	VisibleOrganizations(ctx context.Context, p tenancy.Principal) ([]tenancy.Organization, error)
}

// Reporter reads cost reports and ingestion runs for a caller, within the
// organizations it may read. *billing.Reporter implements it.
type Reporter interface {
	Report(ctx context.Context, p tenancy.Principal, q billing.CostQuery) (billing.CostReport, error)
	Runs(ctx context.Context, p tenancy.Principal, orgID string, limit int) ([]billing.IngestionRun, error)
}

// Connectors reads and changes billing connectors for a caller, which it
// checks may: changes need an admin (a domain.Forbidden error otherwise)
// and an organization the caller may not read is a domain.NotFound error.
// An empty orgID to List means every organization the caller reads; the
// resolvers name the caller's own organization (see orgOf) to the others
// when the operation names none, so that a connector ID alone never
// reaches into another organization. *connectors.Service implements it.
type Connectors interface {
	List(ctx context.Context, p tenancy.Principal, orgID string) ([]connectors.Connector, error)
	Get(ctx context.Context, p tenancy.Principal, orgID, id string) (connectors.Connector, error)
	Create(ctx context.Context, p tenancy.Principal, orgID string, in connectors.Input) (connectors.Connector, error)
	Update(ctx context.Context, p tenancy.Principal, orgID, id string, in connectors.Input) (connectors.Connector, error)
	Delete(ctx context.Context, p tenancy.Principal, orgID, id string) error
	Test(ctx context.Context, p tenancy.Principal, orgID, id string) (connectors.TestResult, error)
	Sync(ctx context.Context, p tenancy.Principal, orgID, id string, progress func(done, total int64)) (billing.IngestionRun, error)
}

var (
	_ Tenancy    = (*tenancy.Service)(nil)
	_ Reporter   = (*billing.Reporter)(nil)
	_ Connectors = (*connectors.Service)(nil)
)

// Deps is what the GraphQL API needs from the rest of Truecost. Logger may be
// nil (slog.Default is used). Connectors may be nil, and then the connector
// queries and mutations answer "unavailable"; so may Accounts, and then
// every cloud account query and mutation does. AWSPrincipal may be empty,
// and then AWS trust policies name a placeholder account. The others are
// required.
type Deps struct {
	Tenancy    Tenancy
	Reporter   Reporter
	Connectors Connectors
	// Accounts manages cloud accounts, billing provisioning and billing
	// status, checking the caller's rights itself.
	Accounts *accounts.Service
	// Pricing manages resellers' pricebooks and customers' pricing and
	// makes bills; nil answers "unavailable".
	Pricing *pricing.Service
	// Members adds customers and manages users; nil answers
	// "unavailable".
	Members Members
	// Exports manages billing export configurations and runs; nil answers
	// "unavailable".
	Exports *exports.Service
	// Background starts the slow operations (connector test and sync,
	// billing provisioning, billing status check) as jobs and reports on
	// them; when nil, those mutations and the job query answer
	// "unavailable".
	Background *background.Service
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

// principal returns the caller the handler put in ctx.
func principal(ctx context.Context) (tenancy.Principal, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return tenancy.Principal{}, domain.Errorf(domain.Unauthorized, "not signed in")
	}
	return p, nil
}

// orgOf is the organization a single-organization operation acts on: the
// one named, or the caller's own.
func orgOf(p tenancy.Principal, orgID *string) string {
	if id := deref(orgID); id != "" {
		return id
	}
	return p.Org.ID
}

// connectorsFor returns the connector service and the caller.
func (r *Resolver) connectorsFor(ctx context.Context) (Connectors, tenancy.Principal, error) {
	if r.deps.Connectors == nil {
		return nil, tenancy.Principal{}, domain.Errorf(domain.Unavailable, "connector management is not configured")
	}
	p, err := principal(ctx)
	return r.deps.Connectors, p, err
}

// connectorToModel converts c for the caller p: the AWS role's external ID
// and trust policy are shown to admins only.
func (r *Resolver) connectorToModel(p tenancy.Principal, c connectors.Connector) *model.Connector {
	out := connectorToModel(c)
	if c.Provider == connectors.AWS && p.IsAdmin() {
		policy := connectors.AWSTrustPolicy(c.ExternalID, r.deps.AWSPrincipal)
		out.AWSExternalID, out.AWSTrustPolicy = optional(c.ExternalID), &policy
	}
	return &out
}

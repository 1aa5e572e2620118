package gcpprovision

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/api/serviceusage/v1"

	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
)

// options are the client options for one API: the account's key unless the
// configuration authorises otherwise, and the endpoint override.
func (p *Provisioner) options(req accounts.Request, endpoint string) ([]option.ClientOption, error) {
	var opts []option.ClientOption
	switch key := req.Credentials["service_account_json"]; {
	case p.cfg.HTTPClient != nil:
		opts = append(opts, option.WithHTTPClient(p.cfg.HTTPClient))
	case p.cfg.NoAuth:
		opts = append(opts, option.WithoutAuthentication())
	case key == "":
		return nil, domain.Errorf(domain.Invalid, "account %s has no service account key: add its JSON key to provision billing from it", req.Account.Name)
	case p.cfg.Transport != nil:
		hc, err := gcpbilling.AuthorizedClient([]byte(key), p.cfg.Timeouts.Transport(p.cfg.Transport))
		if err != nil {
			return nil, keyError(req, err)
		}
		opts = append(opts, option.WithHTTPClient(hc))
	default:
		// Only a service-account key is accepted: a credential of another
		// type could make the client fetch URLs it names.
		hc, err := p.cfg.Timeouts.Google([]byte(key))
		if err != nil {
			return nil, keyError(req, err)
		}
		opts = append(opts, option.WithHTTPClient(hc))
	}
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint))
	}
	return opts, nil
}

func (p *Provisioner) bigQuery(ctx context.Context, req accounts.Request) (*bigquery.Client, error) {
	opts, err := p.options(req, p.cfg.BigQueryEndpoint)
	if err != nil {
		return nil, err
	}
	c, err := bigquery.NewClient(ctx, req.Infra.Settings.ProjectID, opts...)
	if err != nil {
		return nil, keyError(req, err)
	}
	return c, nil
}

func (p *Provisioner) serviceUsage(ctx context.Context, req accounts.Request) (*serviceusage.Service, error) {
	endpoint := p.cfg.ServiceUsageEndpoint
	if endpoint != "" && !strings.HasSuffix(endpoint, "/") {
		// Request paths are resolved against the endpoint as a folder.
		endpoint += "/"
	}
	opts, err := p.options(req, endpoint)
	if err != nil {
		return nil, err
	}
	su, err := serviceusage.NewService(ctx, opts...)
	if err != nil {
		return nil, keyError(req, err)
	}
	return su, nil
}

func keyError(req accounts.Request, err error) error {
	return domain.WrapError(domain.Invalid, err, "the service account key of account %s cannot be used (paste the JSON key file of a service account)", req.Account.Name)
}

func serviceName(project string) string { return "projects/" + project + "/services/" + TransferAPI }

// enableTransferAPI enables the BigQuery Data Transfer API unless it is
// enabled already, which leaves it to whoever enabled it.
func (p *Provisioner) enableTransferAPI(ctx context.Context, req accounts.Request) (accounts.Resource, error) {
	project := req.Infra.Settings.ProjectID
	name := serviceName(project)
	su, err := p.serviceUsage(ctx, req)
	if err != nil {
		return accounts.Resource{}, err
	}
	what := "the services of project " + project
	svc, err := su.Services.Get(name).Context(ctx).Do()
	if err != nil {
		return accounts.Resource{}, cloudError(err, what, "Service Usage Admin")
	}
	if svc.State == "ENABLED" {
		return accounts.Resource{ID: name, State: accounts.Kept,
			Note: "already enabled in project " + project + "; deprovisioning leaves it enabled"}, nil
	}
	op, err := su.Services.Enable(name, &serviceusage.EnableServiceRequest{}).Context(ctx).Do()
	if err != nil {
		return accounts.Resource{}, cloudError(err, what, "Service Usage Admin")
	}
	if err := p.wait(ctx, su, op, "enabling "+TransferAPI+" in project "+project); err != nil {
		return accounts.Resource{}, err
	}
	return accounts.Resource{ID: name, State: accounts.Created, Note: "enabled in project " + project}, nil
}

func (p *Provisioner) disableTransferAPI(ctx context.Context, req accounts.Request) error {
	project := req.Infra.Settings.ProjectID
	su, err := p.serviceUsage(ctx, req)
	if err != nil {
		return err
	}
	op, err := su.Services.Disable(serviceName(project), &serviceusage.DisableServiceRequest{}).Context(ctx).Do()
	if err != nil {
		return cloudError(err, "the services of project "+project, "Service Usage Admin")
	}
	return p.wait(ctx, su, op, "disabling "+TransferAPI+" in project "+project)
}

// wait polls a long-running operation until it is done, at most MaxPolls
// times.
func (p *Provisioner) wait(ctx context.Context, su *serviceusage.Service, op *serviceusage.Operation, what string) error {
	for polls := 0; !op.Done; polls++ {
		if polls == p.cfg.MaxPolls {
			return domain.Errorf(domain.Unavailable, "%s is still running after %s (operation %s); try again later",
				what, time.Duration(polls)*p.cfg.PollInterval, op.Name)
		}
		t := time.NewTimer(p.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		next, err := su.Operations.Get(op.Name).Context(ctx).Do()
		if err != nil {
			return cloudError(err, "operation "+op.Name, "Service Usage Admin")
		}
		op = next
	}
	if e := op.Error; e != nil {
		return domain.Errorf(rpcCode(e.Code), "%s failed: %s", what, e.Message)
	}
	return nil
}

// createDataset creates the dataset the export writes to. A dataset of that
// name that an earlier attempt of this provisioning created is taken as
// created; any other is kept as it is.
func (p *Provisioner) createDataset(ctx context.Context, req accounts.Request) (accounts.Resource, error) {
	s := req.Infra.Settings
	id := s.ProjectID + "." + s.Dataset
	client, err := p.bigQuery(ctx, req)
	if err != nil {
		return accounts.Resource{}, err
	}
	defer client.Close()
	ds := client.DatasetInProject(s.ProjectID, s.Dataset)
	err = ds.Create(ctx, &bigquery.DatasetMetadata{Location: s.Region, Labels: labels(req.Infra),
		Description: "Cloud Billing export read by Truecost; created by Truecost billing provisioning."})
	if err == nil {
		return accounts.Resource{ID: id, Region: s.Region, State: accounts.Created, Note: "created in location " + s.Region}, nil
	}
	if !isStatus(err, http.StatusConflict) {
		return accounts.Resource{}, cloudError(err, "dataset "+id, "BigQuery Data Owner")
	}
	md, err := ds.Metadata(ctx)
	if err != nil {
		return accounts.Resource{}, cloudError(err, "dataset "+id, "BigQuery Data Owner")
	}
	if ours(md.Labels, req.Infra) {
		return accounts.Resource{ID: id, Region: md.Location, State: accounts.Created,
			Note: "created in location " + md.Location + " by an earlier attempt"}, nil
	}
	note := "already exists in location " + md.Location + "; deprovisioning leaves it in place"
	if md.Location != s.Region {
		note += " (the export writes there, not to " + s.Region + ")"
	}
	return accounts.Resource{ID: id, Region: md.Location, State: accounts.Kept, Note: note}, nil
}

// deleteDataset deletes the dataset and the export tables in it, after
// checking it still carries this provisioning's labels.
func (p *Provisioner) deleteDataset(ctx context.Context, req accounts.Request) error {
	s := req.Infra.Settings
	id := s.ProjectID + "." + s.Dataset
	client, err := p.bigQuery(ctx, req)
	if err != nil {
		return err
	}
	defer client.Close()
	ds := client.DatasetInProject(s.ProjectID, s.Dataset)
	md, err := ds.Metadata(ctx)
	if isStatus(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		return cloudError(err, "dataset "+id, "BigQuery Data Owner")
	}
	if !ours(md.Labels, req.Infra) {
		return domain.Errorf(domain.Conflict, "dataset %s no longer carries the labels %s=%s and %s=%s that mark it as created by this provisioning; delete it yourself or put the labels back, then deprovision again",
			id, ManagedByLabel, ManagedByValue, InfraLabel, labels(req.Infra)[InfraLabel])
	}
	if err := ds.DeleteWithContents(ctx); err != nil && !isStatus(err, http.StatusNotFound) {
		return cloudError(err, "dataset "+id, "BigQuery Data Owner")
	}
	return nil
}

func isStatus(err error, code int) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == code
}

// cloudError turns an API failure on what into a domain error carrying
// Google's message; role is the IAM role that grants the access.
func cloudError(err error, what, role string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		return domain.WrapError(domain.Unavailable, err, "cannot reach Google Cloud for %s", what)
	}
	msg := gerr.Message
	if msg == "" {
		msg = http.StatusText(gerr.Code)
	}
	switch gerr.Code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return domain.WrapError(domain.Forbidden, err, "access denied to %s (the service account needs %s): %s", what, role, msg)
	case http.StatusNotFound:
		return domain.WrapError(domain.NotFound, err, "%s not found: %s", what, msg)
	case http.StatusBadRequest:
		return domain.WrapError(domain.Invalid, err, "Google Cloud refused the request on %s: %s", what, msg)
	case http.StatusConflict:
		return domain.WrapError(domain.Conflict, err, "conflict on %s: %s", what, msg)
	}
	return domain.WrapError(domain.Unavailable, err, "Google Cloud failed on %s: %s", what, msg)
}

// rpcCode maps a google.rpc.Code of a failed operation to a domain code.
func rpcCode(c int64) domain.Code {
	switch c {
	case 7, 16: // PERMISSION_DENIED, UNAUTHENTICATED
		return domain.Forbidden
	case 5: // NOT_FOUND
		return domain.NotFound
	case 3, 9, 11: // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
		return domain.Invalid
	case 6, 10: // ALREADY_EXISTS, ABORTED
		return domain.Conflict
	}
	return domain.Unavailable
}

// Package awsprovision sets up an organization's AWS billing export: an S3
// bucket in the chosen region whose policy lets AWS billing deliver to it,
// a daily cost export into it (CUR 2.0 through Data Exports, or a legacy
// Cost and Usage Report), and the activation of Truecost's cost allocation
// tags. It implements accounts.Provisioner with aws-sdk-go-v2; the
// resources it names derive from the infrastructure ID, so a retry finds
// what an interrupted attempt created.
//
// Package awsfake next to it is the AWS control plane its tests run
// against.
package awsprovision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"github.com/truecost/truecost/adapters/cloudhttp"
	"net/http"
	"strings"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

// Config says how to reach AWS.
type Config struct {
	// Endpoint, when set, is the one base URL of every AWS API used (S3
	// path-style, STS, Data Exports, CUR, Cost Explorer): an emulator or
	// a private endpoint. Empty means AWS itself.
	Endpoint string
	// HTTPClient, when set, carries the requests.
	HTTPClient *http.Client
	// APIHTTPClient, when set, carries the requests to the AWS APIs but
	// not the lookup of Truecost's own credentials (which may need the
	// instance metadata service): an outbound policy's client.
	APIHTTPClient *http.Client
	// Timeouts bound each request to the AWS APIs, STS included, made
	// with APIHTTPClient or, when HTTPClient is not set, the SDK's own
	// client.
	Timeouts cloudhttp.Timeouts
}

// Provisioner provisions AWS billing exports. It implements
// accounts.Provisioner.
type Provisioner struct {
	cfg Config
}

var _ accounts.Provisioner = (*Provisioner)(nil)

// New returns a Provisioner reaching AWS as cfg says.
func New(cfg Config) *Provisioner {
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	return &Provisioner{cfg: cfg}
}

// Step names: stable keys of the ledger.
const (
	StepBucket = "s3-bucket"
	StepPolicy = "bucket-policy"
	StepExport = "cost-export"
	StepTags   = "cost-allocation-tags"
)

// Export types of Settings.ExportType.
const (
	ExportCUR2 = "cur2"
	ExportCUR  = "cur"
)

// Prefix is the folder of the bucket the export is delivered under.
const Prefix = "truecost"

// ConnectorName names the billing connector that reads the export.
const ConnectorName = "AWS billing export"

// Names are the AWS names of an infrastructure's resources.
type Names struct {
	Bucket string
	Export string // Data Export or legacy CUR report name
}

// NamesFor derives the resource names of an infrastructure from its ID and
// the AWS account: the same infrastructure always gets the same names.
func NamesFor(inf accounts.Infrastructure, awsAccountID string) Names {
	sum := sha256.Sum256([]byte(inf.ID))
	h := hex.EncodeToString(sum[:])[:12]
	return Names{
		Bucket: "truecost-billing-" + awsAccountID + "-" + h,
		Export: "truecost-" + h,
	}
}

// Validate checks the AWS settings and fills their defaults: the bucket's
// region is required and must be a commercial region; the export type
// defaults to CUR 2.0.
func (p *Provisioner) Validate(s *accounts.Settings, a accounts.Account) error {
	if !connectors.IsAWSAccountID(a.ProviderAccountID) {
		return domain.Errorf(domain.Invalid, "AWS account ID: must be 12 digits")
	}
	s.Region = strings.ToLower(strings.TrimSpace(s.Region))
	switch {
	case s.Region == "":
		return domain.Errorf(domain.Invalid, "region: choose the AWS region of the billing bucket")
	case !knownRegion(s.Region):
		return domain.Errorf(domain.Invalid, "region: %q is not an AWS commercial region", s.Region)
	}
	s.ExportType = strings.ToLower(strings.TrimSpace(s.ExportType))
	switch s.ExportType {
	case "":
		s.ExportType = ExportCUR2
	case ExportCUR2:
	case ExportCUR:
		if !curDelivers(s.Region) {
			return domain.Errorf(domain.Invalid, "region: the legacy Cost and Usage Report cannot deliver to %s; choose CUR 2.0 or another region", s.Region)
		}
	default:
		return domain.Errorf(domain.Invalid, "export type: must be cur2 (CUR 2.0, recommended) or cur (legacy Cost and Usage Report)")
	}
	s.RegisterExportProvider, s.ProjectID, s.Dataset = false, "", ""
	return nil
}

// Steps lists the provisioning steps: the bucket, its policy, the export
// and the cost allocation tags.
func (p *Provisioner) Steps(req accounts.Request) []accounts.Step {
	s := p.session(req)
	return []accounts.Step{
		{Name: StepBucket, Kind: "S3 bucket", Run: s.createBucket},
		{Name: StepPolicy, Kind: "bucket policy", Run: s.putBucketPolicy},
		{Name: StepExport, Kind: exportKind(req.Infra.Settings.ExportType), Run: s.createExport},
		{Name: StepTags, Kind: "cost allocation tags", Run: s.activateTags},
	}
}

func exportKind(exportType string) string {
	if exportType == ExportCUR {
		return "Cost and Usage Report"
	}
	return "CUR 2.0 export"
}

// Remove deletes one resource provisioning created. A resource already
// gone counts as removed.
func (p *Provisioner) Remove(ctx context.Context, req accounts.Request, r accounts.Resource) error {
	s := p.session(req)
	switch r.Step {
	case StepBucket:
		return s.deleteBucket(ctx, r.ID)
	case StepPolicy:
		return s.deleteBucketPolicy(ctx, r.ID)
	case StepExport:
		return s.deleteExport(ctx, r)
	case StepTags:
		return s.deactivateTags(ctx, r)
	}
	return domain.Errorf(domain.Internal, "unknown AWS provisioning step %q", r.Step)
}

// Connector describes the billing connector reading the export: the
// bucket and prefix, the export's file type, and the account's access.
func (p *Provisioner) Connector(req accounts.Request) connectors.Input {
	set := req.Infra.Settings
	names := NamesFor(req.Infra, req.Account.ProviderAccountID)
	fileType := set.ExportType
	if fileType == "" {
		fileType = ExportCUR2
	}
	secret := connectors.Secret{}
	for _, k := range []string{"role_arn", "access_key_id", "secret_access_key", "session_token"} {
		if v := req.Credentials[k]; v != "" {
			secret[k] = v
		}
	}
	if secret["role_arn"] != "" {
		if id := p.session(req).externalID(); id != "" {
			secret["external_id"] = id
		}
	}
	return connectors.Input{
		Provider: connectors.AWS,
		Name:     ConnectorName,
		Config: connectors.Config{
			AWSAccountID: req.Account.ProviderAccountID,
			Bucket:       names.Bucket,
			Path:         Prefix,
			FileType:     fileType,
			Region:       set.Region,
			Endpoint:     p.cfg.Endpoint,
		},
		Secret: secret,
	}
}

// Manual returns the console steps to activate the cost allocation tags
// when Truecost was not permitted to; nil otherwise.
func (p *Provisioner) Manual(inf accounts.Infrastructure) []string {
	r, ok := inf.Resource(StepTags)
	if !ok {
		return nil
	}
	var denied []string
	for _, it := range r.Items {
		if it.State == TagNotPermitted {
			denied = append(denied, it.Name)
		}
	}
	if len(denied) == 0 {
		return nil
	}
	return consoleSteps(denied)
}

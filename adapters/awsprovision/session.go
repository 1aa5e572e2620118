package awsprovision

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/bcmdataexports"
	"github.com/aws/aws-sdk-go-v2/service/costandusagereportservice"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
)

// session holds the AWS access of one provisioning request. The
// configuration is built on first use and shared by the steps, so an
// assumed role is assumed once.
type session struct {
	p   *Provisioner
	req accounts.Request

	once sync.Once
	cfg  aws.Config
	err  error
}

func (p *Provisioner) session(req accounts.Request) *session {
	return &session{p: p, req: req}
}

// config returns the AWS configuration in the bucket's region: the
// account's static keys, or its role assumed with the account's external
// ID (by its keys when it has both, otherwise by Truecost's own identity).
func (s *session) config(ctx context.Context) (aws.Config, error) {
	s.once.Do(func() { s.cfg, s.err = s.load(ctx) })
	return s.cfg, s.err
}

func (s *session) load(ctx context.Context) (aws.Config, error) {
	creds := s.req.Credentials
	key, secret := creds["access_key_id"], creds["secret_access_key"]
	if (key == "") != (secret == "") {
		return aws.Config{}, domain.Errorf(domain.Invalid, "the account's AWS credentials need both the access key ID and the secret access key")
	}
	// Without a role or keys the SDK would act as Truecost itself, in
	// whatever account Truecost runs: never on a tenant's behalf.
	if key == "" && creds["role_arn"] == "" {
		return aws.Config{}, domain.Errorf(domain.Invalid,
			"account %s has no AWS credentials: give the role Truecost assumes (with the account's external ID) or access keys to provision billing from it", s.req.Account.Name)
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(s.region())}
	if key != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(key, secret, creds["session_token"])))
	}
	if s.p.cfg.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(s.p.cfg.HTTPClient))
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.WithoutCancel(ctx), opts...)
	if err != nil {
		return aws.Config{}, domain.WrapError(domain.Invalid, err, "cannot configure AWS access: %v", err)
	}
	// The credential chain above keeps its own client; the API clients
	// made from cfg from here on, STS included, use this one.
	if s.p.cfg.APIHTTPClient != nil {
		cfg.HTTPClient = s.p.cfg.Timeouts.Wrap(s.p.cfg.APIHTTPClient)
	} else if s.p.cfg.HTTPClient == nil {
		cfg.HTTPClient = s.p.cfg.Timeouts.Wrap(cfg.HTTPClient)
	}
	if role := creds["role_arn"]; role != "" {
		client := sts.NewFromConfig(cfg, func(o *sts.Options) {
			if s.p.cfg.Endpoint != "" {
				o.BaseEndpoint = aws.String(s.p.cfg.Endpoint)
			}
		})
		provider := stscreds.NewAssumeRoleProvider(client, role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "truecost-provisioning"
			if id := s.externalID(); id != "" {
				o.ExternalID = aws.String(id)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	return cfg, nil
}

// externalID is the account's external ID, or one given with the
// credentials for an account created before it had one.
func (s *session) externalID() string {
	if s.req.Account.ExternalID != "" {
		return s.req.Account.ExternalID
	}
	return s.req.Credentials["external_id"]
}

func (s *session) region() string {
	if r := s.req.Infra.Settings.Region; r != "" {
		return r
	}
	return billingRegion
}

func (s *session) endpoint() *string {
	if s.p.cfg.Endpoint == "" {
		return nil
	}
	return aws.String(s.p.cfg.Endpoint)
}

func (s *session) s3(ctx context.Context) (*s3.Client, error) {
	cfg, err := s.config(ctx)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep := s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
			o.UsePathStyle = true
		}
	}), nil
}

func (s *session) exports(ctx context.Context) (*bcmdataexports.Client, error) {
	cfg, err := s.config(ctx)
	if err != nil {
		return nil, err
	}
	return bcmdataexports.NewFromConfig(cfg, func(o *bcmdataexports.Options) {
		o.Region = billingRegion
		o.BaseEndpoint = s.endpoint()
	}), nil
}

func (s *session) reports(ctx context.Context) (*costandusagereportservice.Client, error) {
	cfg, err := s.config(ctx)
	if err != nil {
		return nil, err
	}
	return costandusagereportservice.NewFromConfig(cfg, func(o *costandusagereportservice.Options) {
		o.Region = billingRegion
		o.BaseEndpoint = s.endpoint()
	}), nil
}

func (s *session) costExplorer(ctx context.Context) (*costexplorer.Client, error) {
	cfg, err := s.config(ctx)
	if err != nil {
		return nil, err
	}
	return costexplorer.NewFromConfig(cfg, func(o *costexplorer.Options) {
		o.Region = billingRegion
		o.BaseEndpoint = s.endpoint()
	}), nil
}

// errorCode is the AWS error code of err, "" when it is not an AWS answer.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// isAccessDenied reports whether err is AWS refusing the caller an
// operation (not refusing to let it assume its role).
func isAccessDenied(err error) bool {
	if stsFailure(err) != nil {
		return false
	}
	switch errorCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException":
		return true
	}
	return false
}

// cloudError turns an AWS failure about what (e.g. "bucket X") into a
// domain error carrying AWS's message.
func (s *session) cloudError(err error, what string) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return domain.WrapError(domain.Unavailable, err, "%s: the request to AWS was canceled or timed out", what)
	}
	// A failure to assume the role surfaces inside the call that needed
	// credentials; name the role rather than the resource.
	if op := stsFailure(err); op != nil {
		role, msg := s.req.Credentials["role_arn"], message(op.Err)
		switch code := errorCode(op.Err); {
		case code == "":
			return domain.WrapError(domain.Unavailable, err, "cannot assume role %s: STS is unreachable: %s", role, msg)
		case code == "Throttling" || code == "ServiceUnavailable" || code == "InternalFailure":
			return domain.WrapError(domain.Unavailable, err, "cannot assume role %s: %s", role, msg)
		}
		return domain.WrapError(domain.Forbidden, err, "cannot assume role %s with external ID %s: %s", role, s.externalID(), msg)
	}
	code := errorCode(err)
	msg := message(err)
	switch code {
	case "":
		return domain.WrapError(domain.Unavailable, err, "%s: AWS is unreachable: %v", what, err)
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException", "AllAccessDisabled",
		"InvalidAccessKeyId", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
		"UnrecognizedClientException", "AccountProblem":
		return domain.WrapError(domain.Forbidden, err, "access denied to %s: %s", what, msg)
	case "NoSuchBucket", "ResourceNotFoundException", "NotFound", "NoSuchKey":
		return domain.WrapError(domain.NotFound, err, "%s not found: %s", what, msg)
	case "ValidationException", "InvalidParameterValue", "InvalidArgument", "MalformedPolicy", "MalformedXML",
		"InvalidBucketName", "InvalidLocationConstraint", "IllegalLocationConstraintException", "SerializationException":
		return domain.WrapError(domain.Invalid, err, "%s: AWS refused the request: %s", what, msg)
	case "BucketAlreadyExists":
		return domain.WrapError(domain.Conflict, err, "%s: the name belongs to another AWS account: %s", what, msg)
	case "BucketNotEmpty", "OperationAborted", "DuplicateReportNameException", "ServiceQuotaExceededException",
		"ReportLimitReachedException", "LimitExceededException", "ConflictException":
		return domain.WrapError(domain.Conflict, err, "%s: %s", what, msg)
	}
	return domain.WrapError(domain.Unavailable, err, "%s: %s", what, msg)
}

// stsFailure finds a failed STS call among the operations err wraps.
func stsFailure(err error) *smithy.OperationError {
	for err != nil {
		var op *smithy.OperationError
		if !errors.As(err, &op) {
			return nil
		}
		if op.ServiceID == "STS" {
			return op
		}
		err = op.Err
	}
	return nil
}

// message is AWS's own text for err, with its code.
func message(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if m := apiErr.ErrorMessage(); m != "" {
			return fmt.Sprintf("%s (%s)", m, apiErr.ErrorCode())
		}
		return apiErr.ErrorCode()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

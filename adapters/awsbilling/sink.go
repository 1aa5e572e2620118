package awsbilling

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/exports"
)

// SinkConfig says how export sinks reach S3.
type SinkConfig struct {
	// Endpoint and STSEndpoint override AWS's (emulators, private links).
	Endpoint    string
	STSEndpoint string
	// HTTPClient carries credential lookups; BucketHTTPClient the requests
	// to buckets and STS (an outbound policy's client).
	HTTPClient       *http.Client
	BucketHTTPClient *http.Client
	Timeouts         cloudhttp.Timeouts
	// PartSize is the multipart upload's part size (8 MiB when zero, at
	// least 5 MiB as S3 requires). A streamed object holds one part in
	// memory.
	PartSize int
}

// Sinks opens S3 export destinations. It implements exports.Sinks.
type Sinks struct{ cfg SinkConfig }

var _ exports.Sinks = (*Sinks)(nil)

// NewSinks returns S3 sinks reached as cfg says.
func NewSinks(cfg SinkConfig) *Sinks {
	if cfg.PartSize == 0 {
		cfg.PartSize = 8 << 20
	}
	cfg.PartSize = max(cfg.PartSize, 5<<20)
	return &Sinks{cfg: cfg}
}

// Open returns the bucket of d, reached with the cloud account's role
// (assumed with its external ID) or keys.
func (s *Sinks) Open(ctx context.Context, d exports.Destination, a exports.Access) (exports.Sink, error) {
	if d.Kind != exports.S3 {
		return nil, domain.Errorf(domain.Invalid, "not an S3 destination")
	}
	c := a.Credentials
	ext := a.Account.ExternalID
	if ext == "" {
		ext = c["external_id"]
	}
	client, err := NewS3Client(ctx, Config{Region: d.Region, Endpoint: s.cfg.Endpoint, STSEndpoint: s.cfg.STSEndpoint,
		AccessKeyID: c["access_key_id"], SecretAccessKey: c["secret_access_key"], SessionToken: c["session_token"],
		RoleARN: c["role_arn"], ExternalID: ext, RoleSessionName: "truecost-export",
		HTTPClient: s.cfg.HTTPClient, BucketHTTPClient: s.cfg.BucketHTTPClient, Timeouts: s.cfg.Timeouts})
	if err != nil {
		return nil, err
	}
	return &s3Sink{client: client, bucket: d.Bucket, region: d.Region, role: c["role_arn"], partSize: s.cfg.PartSize}, nil
}

type s3Sink struct {
	client   *s3.Client
	bucket   string
	region   string
	role     string
	partSize int
}

// Verify puts a small object and names what went wrong, if anything.
func (k *s3Sink) Verify(ctx context.Context, key string) exports.Verification {
	body := []byte("Truecost writes detailed billing exports here.\n")
	err := k.Put(ctx, key, "text/plain", body)
	if err == nil {
		return exports.Verification{OK: true}
	}
	v := exports.Verification{Problem: exports.Unreachable}
	code := errorCodeOf(err)
	bucket := "s3://" + k.bucket
	region := k.region
	if region == "" {
		region = "us-east-1"
	}
	switch {
	case stsFailed(err):
		v.Problem = exports.BadCredentials
		v.Message = fmt.Sprintf("Truecost cannot assume role %s: check the role's trust policy names Truecost and the account's external ID (%s).", k.role, code)
	case code == "NoSuchBucket":
		v.Problem = exports.BucketMissing
		v.Message = fmt.Sprintf("The bucket %s does not exist: create it, or correct the name.", bucket)
	case code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || code == "IllegalLocationConstraintException" ||
		httpStatus(err) == http.StatusMovedPermanently:
		v.Problem = exports.WrongRegion
		v.Message = fmt.Sprintf("The bucket %s is not in region %s", bucket, region)
		if r := bucketRegion(err); r != "" {
			v.Message += " (AWS says it is in " + r + ")"
		}
		v.Message += ": set the bucket's region."
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" ||
		code == "InvalidToken" || code == "InvalidClientTokenId":
		v.Problem = exports.BadCredentials
		v.Message = fmt.Sprintf("AWS refused the account's credentials (%s): check its access keys or role.", code)
	case code == "AccessDenied" || code == "AllAccessDisabled" || httpStatus(err) == http.StatusForbidden:
		v.Problem = exports.AccessDenied
		v.Message = fmt.Sprintf("Access denied: the role may not write to %s. Attach the policy below (s3:PutObject on arn:aws:s3:::%s/*) to the role Truecost assumes.", bucket, k.bucket)
	default:
		v.Message = domain.ErrorMessage(k.wrap(err, "write %s/%s", bucket, key))
	}
	return v
}

// Put writes a small object in one request.
func (k *s3Sink) Put(ctx context.Context, key, contentType string, body []byte) error {
	_, err := k.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(k.bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body)))})
	if err != nil {
		return k.wrap(err, "write s3://%s/%s", k.bucket, key)
	}
	return nil
}

// Create starts a streamed object: a multipart upload once a part is
// full, a single PUT when the object stays smaller than one part.
func (k *s3Sink) Create(ctx context.Context, key, contentType string) (exports.Object, error) {
	return &s3Object{ctx: ctx, sink: k, key: key, contentType: contentType, buf: make([]byte, 0, k.partSize)}, nil
}

func (k *s3Sink) wrap(err error, format string, args ...any) error {
	if ctxErr := contextError(err); ctxErr != nil {
		return domain.WrapError(domain.Unavailable, err, "%s: canceled or timed out", fmt.Sprintf(format, args...))
	}
	what := fmt.Sprintf(format, args...)
	switch code := errorCodeOf(err); {
	case stsFailed(err):
		return domain.WrapError(domain.Forbidden, err, "%s: cannot assume role %s (%s); check its trust policy and external ID", what, k.role, code)
	case code == "NoSuchBucket":
		return domain.WrapError(domain.NotFound, err, "%s: the bucket does not exist", what)
	case code == "AccessDenied" || code == "AllAccessDisabled" || code == "InvalidAccessKeyId" ||
		code == "SignatureDoesNotMatch" || code == "ExpiredToken":
		return domain.WrapError(domain.Forbidden, err, "%s: access denied (%s); attach s3:PutObject on arn:aws:s3:::%s/* to the role", what, code, k.bucket)
	case code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed":
		return domain.WrapError(domain.Invalid, err, "%s: the bucket is in another region (%s)", what, code)
	case code != "":
		return domain.WrapError(domain.Unavailable, err, "%s: %s", what, code)
	}
	if msg, ok := cloudhttp.TimedOut(err); ok {
		return domain.WrapError(domain.Unavailable, err, "%s: S3 is unreachable (%s)", what, msg)
	}
	return domain.WrapError(domain.Unavailable, err, "%s: S3 is unreachable", what)
}

func errorCodeOf(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func bucketRegion(err error) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

// stsFailed reports whether err is the failure to assume the role.
func stsFailed(err error) bool {
	for err != nil {
		var op *smithy.OperationError
		if !errors.As(err, &op) {
			return false
		}
		if op.ServiceID == "STS" {
			return true
		}
		err = op.Err
	}
	return false
}

// s3Object buffers one part at a time.
type s3Object struct {
	ctx         context.Context
	sink        *s3Sink
	key         string
	contentType string
	buf         []byte
	uploadID    string
	parts       []types.CompletedPart
	err         error
}

func (o *s3Object) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n := 0
	for len(p) > 0 {
		room := cap(o.buf) - len(o.buf)
		c := min(room, len(p))
		o.buf = append(o.buf, p[:c]...)
		p, n = p[c:], n+c
		if len(o.buf) == cap(o.buf) {
			if err := o.flushPart(); err != nil {
				o.err = err
				return n, err
			}
		}
	}
	return n, nil
}

func (o *s3Object) flushPart() error {
	k := o.sink
	if o.uploadID == "" {
		out, err := k.client.CreateMultipartUpload(o.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(k.bucket),
			Key: aws.String(o.key), ContentType: aws.String(o.contentType)})
		if err != nil {
			return k.wrap(err, "start upload of s3://%s/%s", k.bucket, o.key)
		}
		o.uploadID = aws.ToString(out.UploadId)
	}
	num := int32(len(o.parts) + 1)
	out, err := k.client.UploadPart(o.ctx, &s3.UploadPartInput{Bucket: aws.String(k.bucket), Key: aws.String(o.key),
		UploadId: aws.String(o.uploadID), PartNumber: aws.Int32(num), Body: bytes.NewReader(o.buf),
		ContentLength: aws.Int64(int64(len(o.buf)))})
	if err != nil {
		return k.wrap(err, "upload part %d of s3://%s/%s", num, k.bucket, o.key)
	}
	o.parts = append(o.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
	o.buf = o.buf[:0]
	return nil
}

// Close uploads what is left and completes the object.
func (o *s3Object) Close() error {
	if o.err != nil {
		o.Abort()
		return o.err
	}
	k := o.sink
	if o.uploadID == "" {
		err := k.Put(o.ctx, o.key, o.contentType, o.buf)
		o.buf = nil
		return err
	}
	if len(o.buf) > 0 {
		if err := o.flushPart(); err != nil {
			o.Abort()
			return err
		}
	}
	_, err := k.client.CompleteMultipartUpload(o.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(k.bucket),
		Key: aws.String(o.key), UploadId: aws.String(o.uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: o.parts}})
	o.buf = nil
	if err != nil {
		o.Abort()
		return k.wrap(err, "complete upload of s3://%s/%s", k.bucket, o.key)
	}
	o.uploadID = ""
	return nil
}

// Abort drops an unfinished upload. Without s3:AbortMultipartUpload the
// parts stay until the bucket's lifecycle rule removes them; nothing
// names them.
func (o *s3Object) Abort() {
	if o.uploadID == "" {
		return
	}
	_, _ = o.sink.client.AbortMultipartUpload(context.WithoutCancel(o.ctx), &s3.AbortMultipartUploadInput{
		Bucket: aws.String(o.sink.bucket), Key: aws.String(o.key), UploadId: aws.String(o.uploadID)})
	o.uploadID, o.buf = "", nil
}

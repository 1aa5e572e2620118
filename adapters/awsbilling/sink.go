package awsbilling

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

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

// s3Object buffers the object a part at a time; full parts are uploaded
// by a goroutine while the next fills, at most partBuffers parts in
// memory.
type s3Object struct {
	ctx         context.Context
	sink        *s3Sink
	key         string
	contentType string
	buf         []byte
	err         error

	uploadID  string
	next      int32
	allocated int
	pending   chan s3Part
	free      chan []byte
	done      chan struct{}
	mu        sync.Mutex
	parts     []types.CompletedPart
	upErr     error
}

type s3Part struct {
	num  int32
	data []byte
}

// partBuffers bounds the parts of one object in memory: the one filling,
// the one uploading and one waiting.
const partBuffers = 3

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

// start begins the multipart upload and its uploading goroutine.
func (o *s3Object) start() error {
	k := o.sink
	out, err := k.client.CreateMultipartUpload(o.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(k.bucket),
		Key: aws.String(o.key), ContentType: aws.String(o.contentType)})
	if err != nil {
		return k.wrap(err, "start upload of s3://%s/%s", k.bucket, o.key)
	}
	o.uploadID = aws.ToString(out.UploadId)
	o.pending, o.free, o.done = make(chan s3Part, 1), make(chan []byte, partBuffers), make(chan struct{})
	o.allocated = 1
	go o.upload()
	return nil
}

func (o *s3Object) upload() {
	defer close(o.done)
	k := o.sink
	for p := range o.pending {
		o.mu.Lock()
		failed := o.upErr != nil
		o.mu.Unlock()
		if !failed {
			out, err := k.client.UploadPart(o.ctx, &s3.UploadPartInput{Bucket: aws.String(k.bucket), Key: aws.String(o.key),
				UploadId: aws.String(o.uploadID), PartNumber: aws.Int32(p.num), Body: bytes.NewReader(p.data),
				ContentLength: aws.Int64(int64(len(p.data)))})
			o.mu.Lock()
			if err != nil {
				o.upErr = k.wrap(err, "upload part %d of s3://%s/%s", p.num, k.bucket, o.key)
			} else {
				o.parts = append(o.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(p.num)})
			}
			o.mu.Unlock()
		}
		o.free <- p.data[:0]
	}
}

func (o *s3Object) uploadError() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.upErr
}

// flushPart hands the full buffer to the uploader and takes an empty one.
func (o *s3Object) flushPart() error {
	if o.uploadID == "" {
		if err := o.start(); err != nil {
			return err
		}
	}
	if err := o.uploadError(); err != nil {
		return err
	}
	o.next++
	o.pending <- s3Part{num: o.next, data: o.buf}
	if o.allocated < partBuffers {
		o.allocated++
		o.buf = make([]byte, 0, o.sink.partSize)
		return nil
	}
	o.buf = <-o.free
	return o.uploadError()
}

// finish stops the uploader and waits for it.
func (o *s3Object) finish() {
	if o.pending != nil {
		close(o.pending)
		<-o.done
		o.pending = nil
	}
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
	o.finish()
	if err := o.uploadError(); err != nil {
		o.Abort()
		return err
	}
	slices.SortFunc(o.parts, func(a, b types.CompletedPart) int { return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber)) })
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
	o.finish()
	if o.uploadID == "" {
		return
	}
	_, _ = o.sink.client.AbortMultipartUpload(context.WithoutCancel(o.ctx), &s3.AbortMultipartUploadInput{
		Bucket: aws.String(o.sink.bucket), Key: aws.String(o.key), UploadId: aws.String(o.uploadID)})
	o.uploadID, o.buf = "", nil
}

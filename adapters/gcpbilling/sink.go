package gcpbilling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/exports"
)

// SinkConfig says how export sinks reach Cloud Storage.
type SinkConfig struct {
	// Endpoint overrides the JSON API's (an emulator: "http://host/storage/v1/").
	Endpoint string
	// Transport carries every request, the key's token exchange included
	// (an outbound policy's transport); http.DefaultTransport's settings
	// when nil.
	Transport http.RoundTripper
	Timeouts  cloudhttp.Timeouts
	// ChunkSize is the resumable upload's chunk, the memory one streamed
	// object holds (16 MiB when zero).
	ChunkSize int
	// Options are added last (tests: option.WithoutAuthentication).
	Options []option.ClientOption
}

// Sinks opens Cloud Storage export destinations with a service-account
// key. It implements exports.Sinks.
type Sinks struct{ cfg SinkConfig }

var _ exports.Sinks = (*Sinks)(nil)

// NewSinks returns Cloud Storage sinks reached as cfg says.
func NewSinks(cfg SinkConfig) *Sinks {
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = 16 << 20
	}
	return &Sinks{cfg: cfg}
}

// Open returns the bucket of d, written as the key's service account.
func (s *Sinks) Open(ctx context.Context, d exports.Destination, a exports.Access) (exports.Sink, error) {
	if d.Kind != exports.GCS {
		return nil, domain.Errorf(domain.Invalid, "not a Cloud Storage destination")
	}
	var opts []option.ClientOption
	if len(s.cfg.Options) == 0 {
		if len(a.KeyJSON) == 0 {
			return nil, domain.Errorf(domain.Invalid, "a Cloud Storage export needs the service account's JSON key")
		}
		hc, err := AuthorizedClient(a.KeyJSON, s.cfg.Timeouts.Transport(s.cfg.Transport))
		if err != nil {
			return nil, domain.WrapError(domain.Invalid, err, "the service account key is not usable: paste the JSON key file of a service account")
		}
		opts = append(opts, option.WithHTTPClient(hc))
	}
	if s.cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(s.cfg.Endpoint))
	}
	opts = append(opts, s.cfg.Options...)
	client, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "cannot set up the Cloud Storage client")
	}
	return &gcsSink{bucket: client.Bucket(d.Bucket), name: d.Bucket, chunk: s.cfg.ChunkSize}, nil
}

type gcsSink struct {
	bucket *storage.BucketHandle
	name   string
	chunk  int
}

// Verify writes a small object and names what went wrong, if anything.
func (k *gcsSink) Verify(ctx context.Context, key string) exports.Verification {
	err := k.Put(ctx, key, "text/plain", []byte("Truecost writes detailed billing exports here.\n"))
	if err == nil {
		return exports.Verification{OK: true}
	}
	v := exports.Verification{Problem: exports.Unreachable, Message: domain.ErrorMessage(err)}
	bucket := "gs://" + k.name
	switch status, reason := gcsStatus(err); {
	case isAuthError(err) || status == http.StatusUnauthorized:
		v.Problem = exports.BadCredentials
		v.Message = "Google refused the service account key: check it is a current key of an enabled service account."
	case status == http.StatusNotFound || errors.Is(err, storage.ErrBucketNotExist):
		v.Problem = exports.BucketMissing
		v.Message = fmt.Sprintf("The bucket %s does not exist: create it, or correct the name.", bucket)
	case status == http.StatusForbidden:
		v.Problem = exports.AccessDenied
		v.Message = fmt.Sprintf("Access denied: the service account may not create objects in %s (%s). Grant it roles/storage.objectCreator on the bucket (below).", bucket, reason)
	}
	return v
}

func gcsStatus(err error) (int, string) {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		reason := ge.Message
		if len(ge.Errors) > 0 && ge.Errors[0].Reason != "" {
			reason = ge.Errors[0].Reason
		}
		return ge.Code, reason
	}
	return 0, ""
}

// isAuthError reports a failed exchange of the key for a token.
func isAuthError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "oauth2") || strings.Contains(s, "invalid_grant") || strings.Contains(s, "credentials")
}

func (k *gcsSink) wrap(err error, key string) error {
	what := fmt.Sprintf("write gs://%s/%s", k.name, key)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return domain.WrapError(domain.Unavailable, err, "%s: canceled or timed out", what)
	}
	switch status, reason := gcsStatus(err); {
	case status == http.StatusUnauthorized || isAuthError(err):
		return domain.WrapError(domain.Forbidden, err, "%s: Google refused the service account key", what)
	case status == http.StatusForbidden:
		return domain.WrapError(domain.Forbidden, err, "%s: access denied (%s); grant the service account roles/storage.objectCreator on the bucket", what, reason)
	case status == http.StatusNotFound:
		return domain.WrapError(domain.NotFound, err, "%s: the bucket does not exist", what)
	case status == http.StatusTooManyRequests || status >= 500:
		return domain.WrapError(domain.Unavailable, err, "%s: Cloud Storage answered %d (%s)", what, status, reason)
	case status != 0:
		return domain.WrapError(domain.Invalid, err, "%s: Cloud Storage refused the request (%d %s)", what, status, reason)
	}
	if msg, ok := cloudhttp.TimedOut(err); ok {
		return domain.WrapError(domain.Unavailable, err, "%s: Cloud Storage is unreachable (%s)", what, msg)
	}
	return domain.WrapError(domain.Unavailable, err, "%s: Cloud Storage is unreachable", what)
}

// Put writes a small object in one request.
func (k *gcsSink) Put(ctx context.Context, key, contentType string, body []byte) error {
	w := k.bucket.Object(key).NewWriter(ctx)
	w.ContentType = contentType
	w.ChunkSize = 0 // one request
	if _, err := w.Write(body); err != nil {
		_ = w.Close()
		return k.wrap(err, key)
	}
	if err := w.Close(); err != nil {
		return k.wrap(err, key)
	}
	return nil
}

// Create starts a resumable upload holding one chunk in memory.
func (k *gcsSink) Create(ctx context.Context, key, contentType string) (exports.Object, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := k.bucket.Object(key).NewWriter(ctx)
	w.ContentType = contentType
	w.ChunkSize = k.chunk
	return &gcsObject{w: w, cancel: cancel, sink: k, key: key}, nil
}

type gcsObject struct {
	w      *storage.Writer
	cancel context.CancelFunc
	sink   *gcsSink
	key    string
}

func (o *gcsObject) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil {
		return n, o.sink.wrap(err, o.key)
	}
	return n, nil
}

// Close completes the upload.
func (o *gcsObject) Close() error {
	defer o.cancel()
	if err := o.w.Close(); err != nil {
		return o.sink.wrap(err, o.key)
	}
	return nil
}

// Abort cancels the upload; nothing is created.
func (o *gcsObject) Abort() { o.cancel() }

package ocibilling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/objectstorage"

	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// ReportsNamespace is the Object Storage namespace of the Oracle-owned
// bucket OCI writes each tenancy's cost and usage reports to.
const ReportsNamespace = "bling"

// Config says how to reach a tenancy's reports bucket and signs requests
// with an API key. Credentials are passed in explicitly (the caller decrypts
// them from its store); String never shows them.
type Config struct {
	TenancyOCID string // the tenancy whose reports are read
	UserOCID    string // the API user
	Fingerprint string // of the API key, aa:bb:…
	PrivateKey  string // the API key, PEM
	Passphrase  string // of PrivateKey, when it is encrypted
	Region      string // the tenancy's home region, e.g. us-ashburn-1

	Namespace string // default ReportsNamespace
	Bucket    string // default TenancyOCID
	// Endpoint replaces the regional Object Storage endpoint, e.g. for a
	// private endpoint or a test server ("https://host[:port]").
	Endpoint string
	// Transport, when set, is the base of the client's transport (an
	// outbound policy's: the endpoint is a tenant's choice).
	Transport *http.Transport
	// Timeouts bound each request and each pause of a streaming read.
	Timeouts cloudhttp.Timeouts
}

// String describes the location without credentials.
func (c Config) String() string {
	ns, b := c.defaults()
	return fmt.Sprintf("oci://%s/%s (region %s, user %s)", ns, b, c.Region, c.UserOCID)
}

func (c Config) defaults() (namespace, bucket string) {
	namespace, bucket = c.Namespace, c.Bucket
	if namespace == "" {
		namespace = ReportsNamespace
	}
	if bucket == "" {
		bucket = c.TenancyOCID
	}
	return namespace, bucket
}

// Validate checks that every field needed to sign requests is present and
// that the private key can be read. Errors are domain.Invalid and never
// quote the key.
func (c Config) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"tenancy OCID", c.TenancyOCID}, {"user OCID", c.UserOCID}, {"key fingerprint", c.Fingerprint},
		{"private key", c.PrivateKey}, {"region", c.Region},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return domain.Errorf(domain.Invalid, "OCI configuration lacks %s", strings.Join(missing, ", "))
	}
	var pass *string
	if c.Passphrase != "" {
		pass = &c.Passphrase
	}
	if _, err := common.PrivateKeyFromBytes([]byte(c.PrivateKey), pass); err != nil {
		return domain.Errorf(domain.Invalid, "the OCI private key cannot be read (want an RSA key in PEM, with its passphrase if it has one)")
	}
	return nil
}

// Bucket is an OCI Object Storage bucket seen as a billing.Bucket.
type Bucket struct {
	client    objectstorage.ObjectStorageClient
	namespace string
	bucket    string
}

var _ billing.Bucket = (*Bucket)(nil)

// NewBucket returns the bucket cfg names (by default the tenancy's reports
// bucket), signing requests with cfg's API key. It makes no request.
func NewBucket(cfg Config) (*Bucket, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var pass *string
	if cfg.Passphrase != "" {
		pass = &cfg.Passphrase
	}
	provider := common.NewRawConfigurationProvider(cfg.TenancyOCID, cfg.UserOCID, cfg.Region, cfg.Fingerprint, cfg.PrivateKey, pass)
	client, err := objectstorage.NewObjectStorageClientWithConfigurationProvider(provider)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "cannot configure the OCI Object Storage client for %s", cfg)
	}
	// The SDK's default client gives each request 60 seconds including the
	// body, which cuts off the streaming of a large report; bound the wait
	// for response headers and each pause of the body instead.
	var base http.RoundTripper
	if cfg.Transport != nil {
		base = cfg.Transport.Clone()
	}
	client.HTTPClient = &http.Client{Transport: cfg.Timeouts.Transport(base)}
	if cfg.Endpoint != "" {
		client.Host = strings.TrimRight(cfg.Endpoint, "/")
	}
	ns, b := cfg.defaults()
	return &Bucket{client: client, namespace: ns, bucket: b}, nil
}

// listFields are the object summary fields a listing asks for.
const listFields = "name,size,etag,timeModified"

// List returns every object whose name starts with prefix, in name order,
// following the listing's pages.
func (b *Bucket) List(ctx context.Context, prefix string) ([]billing.Object, error) {
	req := objectstorage.ListObjectsRequest{
		NamespaceName: &b.namespace,
		BucketName:    &b.bucket,
		Fields:        common.String(listFields),
		Limit:         common.Int(1000),
	}
	if prefix != "" {
		req.Prefix = common.String(prefix)
	}
	var out []billing.Object
	for {
		resp, err := b.client.ListObjects(ctx, req)
		if err != nil {
			return nil, b.wrap(err, "list objects under %q", prefix)
		}
		for _, o := range resp.Objects {
			if o.Name == nil {
				continue
			}
			obj := billing.Object{Key: *o.Name}
			if o.Size != nil {
				obj.Size = *o.Size
			}
			if o.Etag != nil {
				obj.ETag = *o.Etag
			}
			if o.TimeModified != nil {
				obj.Modified = o.TimeModified.Time.UTC()
			}
			out = append(out, obj)
		}
		if resp.NextStartWith == nil || *resp.NextStartWith == "" {
			break
		}
		req.Start = resp.NextStartWith
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Open streams an object's content; the caller closes it.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	resp, err := b.client.GetObject(ctx, objectstorage.GetObjectRequest{
		NamespaceName: &b.namespace,
		BucketName:    &b.bucket,
		ObjectName:    common.String(key),
	})
	if err != nil {
		return nil, b.wrap(err, "get object %q", key)
	}
	return resp.Content, nil
}

// wrap gives Object Storage failures a domain code and a message naming the
// bucket, without the request's credentials.
func (b *Bucket) wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	se, ok := common.IsServiceError(err)
	if !ok {
		if msg, ok := cloudhttp.TimedOut(err); ok {
			return domain.WrapError(domain.Unavailable, err, "OCI Object Storage %s/%s: %s: cannot reach the service (%s)", b.namespace, b.bucket, what, msg)
		}
		return domain.WrapError(domain.Unavailable, err, "OCI Object Storage %s/%s: %s: cannot reach the service", b.namespace, b.bucket, what)
	}
	code := domain.Unavailable
	switch se.GetHTTPStatusCode() {
	case http.StatusNotFound:
		code = domain.NotFound
	case http.StatusUnauthorized:
		code = domain.Unauthorized
	case http.StatusForbidden:
		code = domain.Forbidden
	case http.StatusBadRequest:
		code = domain.Invalid
	}
	return domain.WrapError(code, err, "OCI Object Storage %s/%s: %s: %s (%d %s)",
		b.namespace, b.bucket, what, se.GetMessage(), se.GetHTTPStatusCode(), se.GetCode())
}

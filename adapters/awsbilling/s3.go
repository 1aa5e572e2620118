package awsbilling

import (
	"context"
	"errors"
	"fmt"
	"github.com/truecost/truecost/adapters/cloudhttp"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Config says how to reach the S3 bucket holding the exports. Credentials
// are given as values (the caller unseals them from the store); they never
// appear in String or in errors.
type Config struct {
	// Region of the bucket; us-east-1 when empty.
	Region string
	// Endpoint overrides the S3 endpoint (an emulator, a private link),
	// e.g. "http://127.0.0.1:9000". It implies path-style addressing.
	Endpoint string
	// STSEndpoint overrides the STS endpoint used to assume RoleARN.
	STSEndpoint string

	// Static credentials. With RoleARN they are the identity that assumes
	// the role; without it, the identity that reads the bucket. When empty,
	// the SDK's default chain (environment, shared files, instance or task
	// role) supplies Truecost's own identity.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string

	// RoleARN is the customer's role to assume, with ExternalID as its
	// trust policy requires.
	RoleARN         string
	ExternalID      string
	RoleSessionName string // "truecost" when empty

	// HTTPClient, when set, carries the requests (tests, proxies).
	HTTPClient *http.Client
	// BucketHTTPClient, when set, carries the requests to the bucket,
	// whose endpoint a tenant may choose (an outbound policy's client);
	// credential lookups keep HTTPClient or the SDK's default.
	BucketHTTPClient *http.Client
	// Timeouts bound each request of the SDK's own client, STS included,
	// when HTTPClient is not set, and each request of BucketHTTPClient.
	Timeouts cloudhttp.Timeouts
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "region=%s", c.region())
	if c.Endpoint != "" {
		fmt.Fprintf(&b, " endpoint=%s", c.Endpoint)
	}
	if c.AccessKeyID != "" {
		fmt.Fprintf(&b, " access_key_id=%s…", c.AccessKeyID[:min(4, len(c.AccessKeyID))])
	}
	if c.RoleARN != "" {
		fmt.Fprintf(&b, " role=%s", c.RoleARN)
	}
	return b.String()
}

// GoString keeps secrets out of %#v.
func (c Config) GoString() string { return "awsbilling.Config{" + c.String() + "}" }

func (c Config) region() string {
	if c.Region == "" {
		return "us-east-1"
	}
	return c.Region
}

// NewS3Client builds an S3 client from cfg: static keys, an assumed role,
// or both (keys that assume the role). It makes no request.
func NewS3Client(ctx context.Context, cfg Config) (*s3.Client, error) {
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, domain.Errorf(domain.Invalid, "give both the AWS access key ID and the secret access key")
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.region())}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "cannot configure AWS access: %v", err)
	}
	if cfg.HTTPClient == nil {
		awsCfg.HTTPClient = cfg.Timeouts.Wrap(awsCfg.HTTPClient)
	}
	if cfg.RoleARN != "" {
		stsClient := sts.NewFromConfig(awsCfg, func(o *sts.Options) {
			if cfg.STSEndpoint != "" {
				o.BaseEndpoint = aws.String(cfg.STSEndpoint)
			}
		})
		role := stscreds.NewAssumeRoleProvider(stsClient, cfg.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = cfg.RoleSessionName
			if o.RoleSessionName == "" {
				o.RoleSessionName = "truecost"
			}
			if cfg.ExternalID != "" {
				o.ExternalID = aws.String(cfg.ExternalID)
			}
		})
		awsCfg.Credentials = aws.NewCredentialsCache(role)
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.BucketHTTPClient != nil {
			o.HTTPClient = cfg.Timeouts.Wrap(cfg.BucketHTTPClient)
		}
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// OpenS3Bucket returns the bucket named bucket, reached as cfg says.
func OpenS3Bucket(ctx context.Context, cfg Config, bucket string) (billing.Bucket, error) {
	client, err := NewS3Client(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return NewS3Bucket(client, bucket), nil
}

// S3Bucket is an S3 bucket seen as a billing.Bucket.
type S3Bucket struct {
	client *s3.Client
	bucket string
}

var _ billing.Bucket = (*S3Bucket)(nil)

// NewS3Bucket returns the bucket named bucket, read through client.
func NewS3Bucket(client *s3.Client, bucket string) billing.Bucket {
	return &S3Bucket{client: client, bucket: bucket}
}

// List returns every object whose key starts with prefix, in key order,
// following ListObjectsV2's pages.
func (b *S3Bucket) List(ctx context.Context, prefix string) ([]billing.Object, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var out []billing.Object
	pages := s3.NewListObjectsV2Paginator(b.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, b.wrap(err, "list s3://%s/%s", b.bucket, prefix)
		}
		for _, o := range page.Contents {
			obj := billing.Object{
				Key:  aws.ToString(o.Key),
				Size: aws.ToInt64(o.Size),
				ETag: strings.Trim(aws.ToString(o.ETag), `"`),
			}
			if o.LastModified != nil {
				obj.Modified = o.LastModified.UTC()
			}
			out = append(out, obj)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Open streams the object at key; the body is read as it downloads.
func (b *S3Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, b.wrap(err, "read s3://%s/%s", b.bucket, key)
	}
	return out.Body, nil
}

// wrap classifies an S3 failure in the domain's vocabulary.
func (b *S3Bucket) wrap(err error, format string, args ...any) error {
	if ctxErr := contextError(err); ctxErr != nil {
		return ctxErr
	}
	what := fmt.Sprintf(format, args...)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchBucket", "NoSuchKey", "NotFound":
			return domain.WrapError(domain.NotFound, err, "%s: %s", what, apiErr.ErrorCode())
		case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
			"ExpiredToken", "InvalidToken", "AccountProblem":
			return domain.WrapError(domain.Forbidden, err, "%s: access denied (%s); check the role or keys and the bucket policy", what, apiErr.ErrorCode())
		}
		return domain.WrapError(domain.Unavailable, err, "%s: %s", what, apiErr.ErrorCode())
	}
	if msg, ok := cloudhttp.TimedOut(err); ok {
		return domain.WrapError(domain.Unavailable, err, "%s: S3 is unreachable (%s)", what, msg)
	}
	return domain.WrapError(domain.Unavailable, err, "%s: S3 is unreachable", what)
}

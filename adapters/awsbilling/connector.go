package awsbilling

import (
	"context"
	"net/http"

	"github.com/truecost/truecost/adapters/cloudhttp"

	"github.com/truecost/truecost/domain/connectors"
)

// ConfigFor returns the S3 access of an AWS billing connector: its region
// and endpoint, and the credentials of its unsealed secret (role_arn,
// external_id, access_key_id, secret_access_key, session_token). The
// connector's own external ID is used when the secret names none.
func ConfigFor(c connectors.Connector, secret connectors.Secret) Config {
	cfg := Config{
		Region:          c.Config.Region,
		Endpoint:        c.Config.Endpoint,
		AccessKeyID:     secret["access_key_id"],
		SecretAccessKey: secret["secret_access_key"],
		SessionToken:    secret["session_token"],
		RoleARN:         secret["role_arn"],
		ExternalID:      secret["external_id"],
	}
	if cfg.RoleARN != "" && cfg.ExternalID == "" {
		cfg.ExternalID = c.ExternalID
	}
	return cfg
}

// NewConnectorSource opens the Source an AWS billing connector reads: the
// S3 bucket and path of its configuration, of its file type (cur, cur2,
// focus; found from the layout when empty).
// Its requests to the bucket go through client when given. timeouts, when
// given, bound every request (STS and S3); cloudhttp's defaults otherwise.
func NewConnectorSource(ctx context.Context, c connectors.Connector, secret connectors.Secret, client *http.Client, timeouts ...cloudhttp.Timeouts) (*Source, error) {
	kind, err := ParseKind(c.Config.FileType)
	if err != nil {
		return nil, err
	}
	cfg := ConfigFor(c, secret)
	cfg.BucketHTTPClient = client
	if len(timeouts) > 0 {
		cfg.Timeouts = timeouts[0]
	}
	bucket, err := OpenS3Bucket(ctx, cfg, c.Config.Bucket)
	if err != nil {
		return nil, err
	}
	return NewSource(bucket, c.Config.Path, kind), nil
}

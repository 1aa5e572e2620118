package azurebilling

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Clouds a storage account lives in.
const (
	CloudDefault = "default" // global Azure: *.blob.core.windows.net
	CloudChina   = "china"   // Azure operated by 21Vianet: *.blob.core.chinacloudapi.cn
)

// Config locates the Blob Storage container an export writes to and says
// how to sign in. Give exactly the credentials to use; the first present
// of connection string, SAS URL, SAS token, account key and service
// principal is used.
type Config struct {
	StorageAccount string
	Container      string
	// Cloud is CloudDefault (when empty) or CloudChina, in any case.
	Cloud string
	// Endpoint overrides the account's blob endpoint, e.g.
	// http://127.0.0.1:10000/devstoreaccount1 for Azurite or a private link.
	Endpoint    string
	Credentials Credentials
	// HTTPClient, when set, sends every request, sign-in included (an
	// outbound policy's client with cloudhttp's deadlines: the endpoint,
	// and a connection string's or SAS URL's host, are a tenant's choice).
	HTTPClient *http.Client
}

// Credentials sign requests to the storage account. They never appear in
// logs or formatted output.
type Credentials struct {
	ConnectionString string // DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…
	SASURL           string // a container or account URL carrying a SAS
	SASToken         string // the SAS query string alone
	AccountKey       string // the account's shared key
	TenantID         string // service principal: directory (tenant) ID,
	ClientID         string // application (client) ID
	ClientSecret     string // and client secret
}

// CredentialsFromSecret reads a connector secret's Azure entries:
// connection_string, sas_url, sas_token, account_key, tenant_id, client_id
// and client_secret.
func CredentialsFromSecret(sec map[string]string) Credentials {
	return Credentials{
		ConnectionString: sec["connection_string"], SASURL: sec["sas_url"], SASToken: sec["sas_token"],
		AccountKey: sec["account_key"], TenantID: sec["tenant_id"], ClientID: sec["client_id"], ClientSecret: sec["client_secret"],
	}
}

// kind names which credential is used, for messages.
func (c Credentials) kind() string {
	switch {
	case c.ConnectionString != "":
		return "connection string"
	case c.SASURL != "":
		return "SAS URL"
	case c.SASToken != "":
		return "SAS token"
	case c.AccountKey != "":
		return "account key"
	case c.ClientSecret != "":
		return "service principal"
	}
	return "none"
}

// String hides the secrets.
func (c Credentials) String() string { return "azurebilling.Credentials{" + c.kind() + ", redacted}" }

// GoString hides the secrets from %#v.
func (c Credentials) GoString() string { return c.String() }

// LogValue hides the secrets from slog.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON hides the secrets from JSON encoders (and so from JSON logs
// of a Config).
func (c Credentials) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// LogValue logs where the container is, and which kind of credential
// opens it, never the credential.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("storage_account", c.StorageAccount), slog.String("container", c.Container),
		slog.String("cloud", c.Cloud), slog.String("endpoint", c.Endpoint), slog.String("credentials", c.Credentials.kind()))
}

func (c Config) blobHost() string {
	if strings.EqualFold(c.Cloud, CloudChina) {
		return "blob.core.chinacloudapi.cn"
	}
	return "blob.core.windows.net"
}

func (c Config) containerURL() string {
	if c.Endpoint != "" {
		return strings.TrimRight(c.Endpoint, "/") + "/" + url.PathEscape(c.Container)
	}
	return "https://" + c.StorageAccount + "." + c.blobHost() + "/" + url.PathEscape(c.Container)
}

// NewBucket returns the container of cfg as a billing.Bucket. It checks
// the configuration only; access is tried on first use. Errors are
// domain.Invalid.
func NewBucket(cfg Config) (billing.Bucket, error) {
	cl, err := newContainerClient(cfg)
	if err != nil {
		return nil, err
	}
	return NewBlobBucket(cl), nil
}

func newContainerClient(cfg Config) (*container.Client, error) {
	switch strings.ToLower(cfg.Cloud) {
	case "", CloudDefault, CloudChina:
	default:
		return nil, domain.Errorf(domain.Invalid, "Azure cloud %q: want default or china", cfg.Cloud)
	}
	cloudCfg := cloud.AzurePublic
	if strings.EqualFold(cfg.Cloud, CloudChina) {
		cloudCfg = cloud.AzureChina
	}
	insecure := strings.HasPrefix(strings.ToLower(cfg.Endpoint), "http://")
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cloudCfg, InsecureAllowCredentialWithHTTP: insecure}}
	if cfg.HTTPClient != nil {
		opts.Transport = cfg.HTTPClient
	}
	creds := cfg.Credentials
	needs := func(what string, ok bool) error {
		if !ok {
			return domain.Errorf(domain.Invalid, "Azure storage: %s required", what)
		}
		return nil
	}
	if creds.ConnectionString == "" && creds.SASURL == "" {
		if err := needs("the container name", cfg.Container != ""); err != nil {
			return nil, err
		}
		if err := needs("the storage account or an endpoint", cfg.StorageAccount != "" || cfg.Endpoint != ""); err != nil {
			return nil, err
		}
	}
	var cl *container.Client
	var err error
	switch {
	case creds.ConnectionString != "":
		if err := needs("the container name", cfg.Container != ""); err != nil {
			return nil, err
		}
		cs := creds.ConnectionString
		lower := strings.ToLower(cs)
		if strings.EqualFold(cfg.Cloud, CloudChina) && !strings.Contains(lower, "endpointsuffix=") && !strings.Contains(lower, "blobendpoint=") {
			cs = strings.TrimRight(cs, ";") + ";EndpointSuffix=core.chinacloudapi.cn"
		}
		cl, err = container.NewClientFromConnectionString(cs, cfg.Container, opts)
	case creds.SASURL != "":
		var parts azblob.URLParts
		parts, err = azblob.ParseURL(creds.SASURL)
		if err != nil {
			return nil, domain.Errorf(domain.Invalid, "Azure storage: the SAS URL is not a URL")
		}
		switch {
		case parts.BlobName != "":
			return nil, domain.Errorf(domain.Invalid, "Azure storage: the SAS URL names a blob; give the container or account URL")
		case parts.ContainerName == "":
			parts.ContainerName = cfg.Container
		case cfg.Container != "" && parts.ContainerName != cfg.Container:
			return nil, domain.Errorf(domain.Invalid, "Azure storage: the SAS URL is for container %q, not %q", parts.ContainerName, cfg.Container)
		}
		if parts.ContainerName == "" {
			return nil, domain.Errorf(domain.Invalid, "Azure storage: the container name required")
		}
		cl, err = container.NewClientWithNoCredential(parts.String(), opts)
	case creds.SASToken != "":
		cl, err = container.NewClientWithNoCredential(cfg.containerURL()+"?"+strings.TrimPrefix(creds.SASToken, "?"), opts)
	case creds.AccountKey != "":
		var kc *container.SharedKeyCredential
		if kc, err = container.NewSharedKeyCredential(cfg.StorageAccount, creds.AccountKey); err != nil {
			return nil, domain.Errorf(domain.Invalid, "Azure storage: the account key is not valid base64")
		}
		cl, err = container.NewClientWithSharedKeyCredential(cfg.containerURL(), kc, opts)
	case creds.ClientSecret != "":
		if creds.TenantID == "" || creds.ClientID == "" {
			return nil, domain.Errorf(domain.Invalid, "Azure storage: a service principal needs the tenant ID and client ID with its secret")
		}
		var tc *azidentity.ClientSecretCredential
		tc, err = azidentity.NewClientSecretCredential(creds.TenantID, creds.ClientID, creds.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{Cloud: cloudCfg, Transport: opts.Transport}})
		if err != nil {
			return nil, domain.Errorf(domain.Invalid, "Azure storage: the service principal is not valid (check the tenant and client IDs)")
		}
		if strings.EqualFold(cfg.Cloud, CloudChina) {
			opts.Audience = "https://" + cfg.StorageAccount + "." + cfg.blobHost()
		}
		cl, err = container.NewClient(cfg.containerURL(), tc, opts)
	default:
		return nil, domain.Errorf(domain.Invalid, "Azure storage: give a connection string, a SAS URL or token, an account key, or a service principal")
	}
	if err != nil {
		// The SDK's messages may quote the connection string: keep them out.
		return nil, domain.Errorf(domain.Invalid, "Azure storage: the %s is not valid", creds.kind())
	}
	return cl, nil
}

// blobBucket is a Blob Storage container seen as a billing.Bucket.
type blobBucket struct {
	c *container.Client
}

// NewBlobBucket returns a container client as a billing.Bucket. Listing
// pages through the container; opening streams a blob, resuming after
// dropped connections.
func NewBlobBucket(client *container.Client) billing.Bucket {
	return &blobBucket{c: client}
}

func (b *blobBucket) List(ctx context.Context, prefix string) ([]billing.Object, error) {
	var out []billing.Object
	opts := &container.ListBlobsFlatOptions{}
	if prefix != "" {
		opts.Prefix = &prefix
	}
	pager := b.c.NewListBlobsFlatPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azureError(err, "list blobs under %q", prefix)
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil || it.Properties == nil {
				continue
			}
			o := billing.Object{Key: *it.Name}
			if p := it.Properties; p != nil {
				if p.ContentLength != nil {
					o.Size = *p.ContentLength
				}
				if p.LastModified != nil {
					o.Modified = p.LastModified.UTC()
				}
				if p.ETag != nil {
					o.ETag = strings.Trim(string(*p.ETag), `"`)
				}
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (b *blobBucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	resp, err := b.c.NewBlobClient(key).DownloadStream(ctx, nil)
	if err != nil {
		return nil, azureError(err, "download %s", key)
	}
	return resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 5}), nil
}

// azureError turns a Blob Storage failure into a domain error whose
// message says what to check; the cause is kept for logs.
func azureError(err error, format string, args ...any) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		format += " (" + re.ErrorCode + ")"
		switch re.StatusCode {
		case http.StatusNotFound:
			return domain.WrapError(domain.NotFound, err, format+": not found; check the storage account, container and path", args...)
		case http.StatusUnauthorized:
			return domain.WrapError(domain.Unauthorized, err, format+": the credentials were refused", args...)
		case http.StatusForbidden:
			return domain.WrapError(domain.Forbidden, err, format+": access denied; the credentials need to list and read blobs (Storage Blob Data Reader, or a SAS with read and list)", args...)
		}
	}
	var authErr *azidentity.AuthenticationFailedError
	if errors.As(err, &authErr) {
		return domain.WrapError(domain.Unauthorized, err, format+": the service principal could not sign in", args...)
	}
	if msg, ok := cloudhttp.TimedOut(err); ok {
		return domain.WrapError(domain.Unavailable, err, format+": Azure Blob Storage is unreachable ("+strings.ReplaceAll(msg, "%", "%%")+")", args...)
	}
	return domain.WrapError(domain.Unavailable, err, format+": Azure Blob Storage is unreachable", args...)
}

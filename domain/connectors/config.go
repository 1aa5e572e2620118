package connectors

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/truecost/truecost/domain"
)

// Config is a connector's non-secret source settings. Each provider uses
// its own fields; the others stay empty.
type Config struct {
	// AWS: the account holding the export bucket, where and what to read,
	// and the IAM role Truecost assumes there.
	AWSAccountID string `json:"aws_account_id,omitempty"`
	Bucket       string `json:"bucket,omitempty"`
	Path         string `json:"path,omitempty"`
	FileType     string `json:"file_type,omitempty"` // aws: cur, cur2, focus
	Region       string `json:"region,omitempty"`
	Endpoint     string `json:"endpoint,omitempty"` // S3/Blob/OCI endpoint override (emulators, private links)

	// Azure: the storage account and container of the Cost Management
	// export, in the global or China cloud.
	AzureCloud     string `json:"azure_cloud,omitempty"` // default, china
	StorageAccount string `json:"storage_account,omitempty"`
	Container      string `json:"container,omitempty"`

	// Google Cloud: the billing export in BigQuery and where large results
	// are staged.
	BillingAccountID string `json:"billing_account_id,omitempty"`
	ProjectID        string `json:"project_id,omitempty"`
	Dataset          string `json:"dataset,omitempty"`
	Table            string `json:"table,omitempty"`
	ResultProject    string `json:"result_project,omitempty"`
	ResultRegion     string `json:"result_region,omitempty"`
	ResultDataset    string `json:"result_dataset,omitempty"`
	ResultBucket     string `json:"result_bucket,omitempty"`

	// OCI: the tenancy whose cost reports are read and the API user.
	TenancyOCID string `json:"tenancy_ocid,omitempty"`
	UserOCID    string `json:"user_ocid,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

var (
	awsAccountRE = regexp.MustCompile(`^\d{12}$`)
	roleARNRE    = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	bucketRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	azureNameRE  = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerRE  = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)
	gcpBillingRE = regexp.MustCompile(`^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$`)
	gcpProjectRE = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	bqNameRE     = regexp.MustCompile(`^[A-Za-z0-9_]{1,1000}$`)
	ociOCIDRE    = regexp.MustCompile(`^ocid1\.[a-z0-9]+\.[a-z0-9-]*\.[a-z0-9-]*\.[a-z0-9]+$`)
)

// validate checks the fields a provider needs, and the secret's shape.
func (c *Config) validate(p Provider, sec Secret, hasStoredSecret bool) error {
	bad := func(field, format string, args ...any) error {
		return domain.Errorf(domain.Invalid, "%s: %s", field, fmt.Sprintf(format, args...))
	}
	c.Path = strings.Trim(strings.TrimSpace(c.Path), "/")
	switch p {
	case AWS:
		if !awsAccountRE.MatchString(c.AWSAccountID) {
			return bad("AWS account ID", "must be 12 digits")
		}
		if !bucketRE.MatchString(c.Bucket) {
			return bad("S3 bucket", "%q is not a valid bucket name", c.Bucket)
		}
		switch c.FileType {
		case "":
			c.FileType = "cur2"
		case "cur", "cur2", "focus":
		default:
			return bad("file type", "must be cur (legacy CUR), cur2 (CUR 2.0) or focus (FOCUS export)")
		}
		if c.Region == "" {
			c.Region = "us-east-1"
		}
		if role := sec["role_arn"]; role != "" && !roleARNRE.MatchString(role) {
			return bad("role ARN", "%q is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)", role)
		}
		if sec["role_arn"] == "" && (sec["access_key_id"] == "") != (sec["secret_access_key"] == "") {
			return bad("access keys", "give both the access key ID and the secret access key")
		}
		if !hasStoredSecret && sec["role_arn"] == "" && sec["access_key_id"] == "" {
			return bad("access", "give the role ARN Truecost assumes, or static access keys")
		}
	case Azure:
		switch c.AzureCloud {
		case "":
			c.AzureCloud = "default"
		case "default", "china":
		default:
			return bad("region", "must be Default or China")
		}
		if !azureNameRE.MatchString(c.StorageAccount) {
			return bad("storage account", "must be 3-24 lowercase letters and digits")
		}
		if !containerRE.MatchString(c.Container) {
			return bad("container", "must be 3-63 lowercase letters, digits and single dashes")
		}
		if !hasStoredSecret && sec["connection_string"] == "" && sec["sas_url"] == "" && sec["client_secret"] == "" {
			return bad("secret", "give a connection string, a SAS URL, or a service principal (tenant ID, client ID, client secret)")
		}
		if sec["client_secret"] != "" && (sec["tenant_id"] == "" || sec["client_id"] == "") {
			return bad("service principal", "give the tenant ID and client ID with the client secret")
		}
	case GCP:
		if !gcpBillingRE.MatchString(strings.ToUpper(c.BillingAccountID)) {
			return bad("billing account ID", "must look like 012345-6789AB-CDEF01")
		}
		c.BillingAccountID = strings.ToUpper(c.BillingAccountID)
		if !gcpProjectRE.MatchString(c.ProjectID) {
			return bad("BigQuery project ID", "%q is not a project ID", c.ProjectID)
		}
		if !bqNameRE.MatchString(c.Dataset) {
			return bad("dataset", "letters, digits and underscores only")
		}
		if c.Table != "" && !bqNameRE.MatchString(c.Table) {
			return bad("table", "letters, digits and underscores only")
		}
		if c.Region == "" {
			c.Region = "US"
		}
		if c.ResultBucket != "" && !bucketRE.MatchString(c.ResultBucket) {
			return bad("result bucket", "%q is not a valid bucket name", c.ResultBucket)
		}
		if !hasStoredSecret && sec["service_account_json"] == "" {
			return bad("secret", "paste the service account's JSON key")
		}
	case OCI:
		if !ociOCIDRE.MatchString(c.TenancyOCID) {
			return bad("tenancy OCID", "must look like ocid1.tenancy.oc1..aaaa…")
		}
		if !ociOCIDRE.MatchString(c.UserOCID) {
			return bad("user OCID", "must look like ocid1.user.oc1..aaaa…")
		}
		if c.Fingerprint == "" || c.Region == "" {
			return bad("API key", "give the key's fingerprint and the home region")
		}
		if !hasStoredSecret && !strings.Contains(sec["private_key"], "PRIVATE KEY") {
			return bad("private key", "paste the API signing key in PEM form")
		}
	case Local:
	default:
		return domain.Errorf(domain.Invalid, "unknown provider %q", p)
	}
	return nil
}

// location is the canonical address of a cloud connector's data, shown to
// users and used to tell connectors apart.
func (c Config) location(p Provider) string {
	switch p {
	case AWS:
		return "s3://" + c.Bucket + "/" + c.Path
	case Azure:
		return "azure://" + c.StorageAccount + "/" + c.Container + "/" + c.Path
	case GCP:
		return "bigquery://" + c.ProjectID + "/" + c.Dataset + "/" + c.Table
	case OCI:
		return "oci://bling/" + c.TenancyOCID
	}
	return ""
}

// Identifier checks shared with cloud accounts.

// IsAWSAccountID reports whether s is a 12-digit AWS account ID.
func IsAWSAccountID(s string) bool { return awsAccountRE.MatchString(s) }

// IsAWSRoleARN reports whether s is an IAM role ARN.
func IsAWSRoleARN(s string) bool { return roleARNRE.MatchString(s) }

// IsGCPBillingAccountID reports whether s looks like 012345-6789AB-CDEF01.
func IsGCPBillingAccountID(s string) bool { return gcpBillingRE.MatchString(strings.ToUpper(s)) }

// IsGCPProjectID reports whether s is a Google Cloud project ID.
func IsGCPProjectID(s string) bool { return gcpProjectRE.MatchString(s) }

// IsBigQueryName reports whether s may name a BigQuery dataset or table.
func IsBigQueryName(s string) bool { return bqNameRE.MatchString(s) }

// IsOCID reports whether s is an Oracle Cloud identifier.
func IsOCID(s string) bool { return ociOCIDRE.MatchString(s) }

package connectorspage

import (
	"net/http"
	"strings"

	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/views/viewkit"
)

// Field names of the form. Non-secret ones are the Config's JSON names;
// secret ones are the Secret's keys.
const (
	fName, fProvider, fAccess, fEnabled = "name", "provider", "access", "enabled"
)

// secretFields are the credentials each provider's form may carry, by
// access method ("" when it has no choice).
var secretFields = map[connectors.Provider]map[string][]string{
	connectors.AWS: {
		"role": {"role_arn"},
		"keys": {"access_key_id", "secret_access_key"},
	},
	connectors.Azure: {
		"connection_string": {"connection_string"},
		"sas_url":           {"sas_url"},
		"service_principal": {"tenant_id", "client_id", "client_secret"},
	},
	connectors.GCP: {"": {"service_account_json"}},
	connectors.OCI: {"": {"private_key", "passphrase"}},
}

// defaultAccess is each provider's preselected access method.
var defaultAccess = map[connectors.Provider]string{connectors.AWS: "role", connectors.Azure: "connection_string"}

// identifiers are the secret fields that name something rather than prove
// anything; a form that failed to save keeps them.
var identifiers = map[string]bool{"role_arn": true, "tenant_id": true, "client_id": true}

// readInput reads the form posted for provider onto base, the settings of
// the connector being changed (so settings the form does not show are
// kept).
func readInput(r *http.Request, provider connectors.Provider, base connectors.Config) (connectors.Input, string) {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	cfg := base
	switch provider {
	case connectors.AWS:
		cfg.AWSAccountID = strings.NewReplacer("-", "", " ", "").Replace(v("aws_account_id"))
		cfg.Bucket, cfg.Path, cfg.FileType, cfg.Region = v("bucket"), v("path"), v("file_type"), v("region")
	case connectors.Azure:
		cfg.AzureCloud, cfg.StorageAccount, cfg.Container, cfg.Path = v("azure_cloud"), v("storage_account"), v("container"), v("path")
	case connectors.GCP:
		cfg.BillingAccountID, cfg.ProjectID, cfg.Region, cfg.Dataset, cfg.Table = v("billing_account_id"), v("project_id"), v("region"), v("dataset"), v("table")
		cfg.ResultProject, cfg.ResultRegion, cfg.ResultDataset, cfg.ResultBucket = v("result_project"), v("result_region"), v("result_dataset"), v("result_bucket")
	case connectors.OCI:
		cfg.TenancyOCID, cfg.UserOCID, cfg.Fingerprint, cfg.Region = v("tenancy_ocid"), v("user_ocid"), v("fingerprint"), v("region")
	}
	access := v(fAccess)
	methods := secretFields[provider]
	if _, ok := methods[access]; !ok {
		access = defaultAccess[provider]
	}
	sec := connectors.Secret{}
	viewkit.PostedSecrets(r, methods[access], sec)
	return connectors.Input{Provider: provider, Name: v(fName), Config: cfg, Secret: sec, Enabled: r.PostFormValue(fEnabled) != ""}, access
}

// fieldLabels maps the subject a domain validation message starts with to
// the form field it is about.
var fieldLabels = map[string]string{
	"connector name":      fName,
	"AWS account ID":      "aws_account_id",
	"S3 bucket":           "bucket",
	"file type":           "file_type",
	"role ARN":            "role_arn",
	"access keys":         "access_key_id",
	"access":              fAccess,
	"storage account":     "storage_account",
	"container":           "container",
	"service principal":   "tenant_id",
	"billing account ID":  "billing_account_id",
	"BigQuery project ID": "project_id",
	"dataset":             "dataset",
	"table":               "table",
	"result bucket":       "result_bucket",
	"service account key": "service_account_json",
	"tenancy OCID":        "tenancy_ocid",
	"user OCID":           "user_ocid",
	"API key":             "fingerprint",
	"private key":         "private_key",
}

// fieldFor is the field a validation message's subject is about; region
// and secret depend on the provider.
func (f *Form) fieldFor(subject string) string {
	switch subject {
	case "region":
		if f.Provider == connectors.Azure {
			return "azure_cloud"
		}
		return "region"
	case "secret":
		if f.Provider == connectors.GCP {
			return "service_account_json"
		}
		return fAccess
	}
	return fieldLabels[subject]
}

// secretPlaceholder is what an empty credential field says when editing a
// connector that has stored credentials.
func (f Form) secretPlaceholder(fallback string) string {
	if !f.New && f.HasSecret {
		return "Leave empty to keep the stored secret"
	}
	return fallback
}

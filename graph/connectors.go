package graph

import (
	"strings"
	"time"

	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/graph/model"
)

// This file maps billing connectors between the API and the domain. The
// secret goes one way only: from ConnectorSecretInput into the domain.

// connectorToModel converts c without the fields shown to admins only
// (see Resolver.connectorToModel).
func connectorToModel(c connectors.Connector) model.Connector {
	out := model.Connector{
		ID:             c.ID,
		OrganizationID: c.OrgID,
		Provider:       model.ConnectorProvider(strings.ToUpper(string(c.Provider))),
		Name:           c.Name,
		Location:       c.Location,
		Format:         c.Format,
		Enabled:        c.Enabled,
		Status:         model.ConnectorStatus(strings.ToUpper(string(c.Status))),
		LastSyncAt:     optionalTime(c.LastSyncAt),
		LastError:      optional(c.LastError),
		LastRows:       int(c.LastRows),
		LastPeriod:     optionalTime(c.LastPeriod),
		HasSecret:      c.HasSecret,
		// Stores keep microseconds; a just-created connector must read the
		// same as it will later.
		CreatedAt: c.CreatedAt.Truncate(time.Microsecond),
	}
	if c.Config != (connectors.Config{}) {
		out.Config = configToModel(c.Config)
	}
	return out
}

func configToModel(c connectors.Config) *model.ConnectorConfig {
	return &model.ConnectorConfig{
		AWSAccountID:     optional(c.AWSAccountID),
		Bucket:           optional(c.Bucket),
		Path:             optional(c.Path),
		FileType:         optional(c.FileType),
		Region:           optional(c.Region),
		Endpoint:         optional(c.Endpoint),
		AzureCloud:       optional(c.AzureCloud),
		StorageAccount:   optional(c.StorageAccount),
		Container:        optional(c.Container),
		BillingAccountID: optional(c.BillingAccountID),
		ProjectID:        optional(c.ProjectID),
		Dataset:          optional(c.Dataset),
		Table:            optional(c.Table),
		ResultProject:    optional(c.ResultProject),
		ResultRegion:     optional(c.ResultRegion),
		ResultDataset:    optional(c.ResultDataset),
		ResultBucket:     optional(c.ResultBucket),
		TenancyOcid:      optional(c.TenancyOCID),
		UserOcid:         optional(c.UserOCID),
		Fingerprint:      optional(c.Fingerprint),
	}
}

func connectorInputFromModel(in model.ConnectorInput) connectors.Input {
	out := connectors.Input{
		Provider: connectors.Provider(strings.ToLower(string(in.Provider))),
		Name:     in.Name,
		Enabled:  in.Enabled == nil || *in.Enabled,
	}
	if c := in.Config; c != nil {
		out.Config = connectors.Config{
			AWSAccountID: deref(c.AWSAccountID),
			Bucket:       deref(c.Bucket),
			Path:         deref(c.Path),
			FileType:     deref(c.FileType),
			Region:       deref(c.Region),
			Endpoint:     deref(c.Endpoint),
			// The console and docs write Default and China.
			AzureCloud:       strings.ToLower(strings.TrimSpace(deref(c.AzureCloud))),
			StorageAccount:   deref(c.StorageAccount),
			Container:        deref(c.Container),
			BillingAccountID: deref(c.BillingAccountID),
			ProjectID:        deref(c.ProjectID),
			Dataset:          deref(c.Dataset),
			Table:            deref(c.Table),
			ResultProject:    deref(c.ResultProject),
			ResultRegion:     deref(c.ResultRegion),
			ResultDataset:    deref(c.ResultDataset),
			ResultBucket:     deref(c.ResultBucket),
			TenancyOCID:      deref(c.TenancyOcid),
			UserOCID:         deref(c.UserOcid),
			Fingerprint:      deref(c.Fingerprint),
		}
	}
	if s := in.Secret; s != nil {
		out.Secret = connectors.Secret{}
		for key, v := range map[string]*string{
			"role_arn":             s.RoleArn,
			"access_key_id":        s.AccessKeyID,
			"secret_access_key":    s.SecretAccessKey,
			"connection_string":    s.ConnectionString,
			"sas_url":              s.SasURL,
			"tenant_id":            s.TenantID,
			"client_id":            s.ClientID,
			"client_secret":        s.ClientSecret,
			"service_account_json": s.ServiceAccountJSON,
			"private_key":          s.PrivateKey,
			"passphrase":           s.Passphrase,
		} {
			if v != nil && *v != "" {
				out.Secret[key] = *v
			}
		}
	}
	return out
}

func connectorTestToModel(r connectors.TestResult) *model.ConnectorTest {
	out := &model.ConnectorTest{Format: r.Format, Parts: make([]model.SourcePart, len(r.Parts))}
	var total int64
	for i, p := range r.Parts {
		mp := model.SourcePart{Period: optionalTime(p.Period), Version: p.Version, Files: make([]model.SourceFile, len(p.Files))}
		for j, f := range p.Files {
			mp.Files[j] = model.SourceFile{Name: f.Name, Size: float64(f.Size)}
			total += f.Size
		}
		out.FileCount += len(p.Files)
		out.Parts[i] = mp
	}
	out.TotalBytes = float64(total)
	return out
}

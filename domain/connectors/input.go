package connectors

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// Input is what a user gives to add or change a cloud connector. On update,
// empty Secret fields keep the stored values.
type Input struct {
	Provider Provider
	Name     string
	Config   Config
	Secret   Secret
	Enabled  bool
}

// TestResult is what a connector would ingest right now.
type TestResult struct {
	Format string
	Parts  []billing.Part
}

// apply validates in and copies it onto c, returning the sealed merged
// secret (nil when nothing new was given).
func (s *Service) apply(c *Connector, in Input, old Secret, hasStored bool) ([]byte, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return nil, domain.Errorf(domain.Invalid, "connector name: 1 to 100 characters")
	}
	if in.Provider == Local || !isCloud(in.Provider) {
		return nil, domain.Errorf(domain.Invalid, "provider must be one of aws, azure, gcp, oci")
	}
	merged, fresh := MergeSecret(old, in.Secret)
	cfg := in.Config
	if err := cfg.validate(in.Provider, merged, hasStored); err != nil {
		return nil, err
	}
	if in.Provider == GCP && merged["service_account_json"] != "" && !json.Valid([]byte(merged["service_account_json"])) {
		return nil, domain.Errorf(domain.Invalid, "service account key: not valid JSON")
	}
	c.Name, c.Config, c.Location, c.Format = name, cfg, cfg.location(in.Provider), formatOf(in.Provider, cfg)
	if !fresh {
		return nil, nil
	}
	if s.sealer == nil {
		return nil, domain.Errorf(domain.Unavailable, "no secret key is configured, so credentials cannot be stored")
	}
	return SealSecret(s.sealer, merged)
}

func isCloud(p Provider) bool {
	for _, c := range CloudProviders {
		if c == p {
			return true
		}
	}
	return false
}

func formatOf(p Provider, cfg Config) string {
	switch p {
	case AWS:
		return map[string]string{"cur": "aws-cur", "cur2": "aws-cur2", "focus": "focus"}[cfg.FileType]
	case Azure:
		return "azure"
	case GCP:
		return "gcp"
	default:
		return "oci"
	}
}

// NewExternalID returns a fresh AWS external ID for a role trust policy.
func NewExternalID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "truecost-" + hex.EncodeToString(b)
}

// AWSTrustPolicy is the trust policy the customer attaches to the IAM role
// Truecost assumes: only principal may assume it, and only with externalID.
func AWSTrustPolicy(externalID, principal string) string {
	if principal == "" {
		principal = "arn:aws:iam::TRUECOST_ACCOUNT_ID:root"
	}
	policy := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]string{"AWS": principal},
			"Action":    "sts:AssumeRole",
			"Condition": map[string]any{"StringEquals": map[string]string{"sts:ExternalId": externalID}},
		}},
	}
	b, _ := json.MarshalIndent(policy, "", "  ")
	return string(b)
}

package connectorspage

import (
	"encoding/json"
	"strings"

	"github.com/truecost/truecost/views/viewkit"
)

// azureClouds are the Azure clouds an export may live in.
var azureClouds = []viewkit.Option{
	{Value: "default", Label: "Default (Azure global)"},
	{Value: "china", Label: "China (operated by 21Vianet)"},
}

// awsRegions are offered for the export bucket's region.
var awsRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
	"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
	"ap-south-1", "ap-east-1", "me-central-1", "af-south-1", "cn-north-1", "cn-northwest-1",
	"us-gov-west-1", "us-gov-east-1",
}

// gcpLocations are suggested for the BigQuery export's location.
var gcpLocations = []string{"US", "EU", "us-central1", "us-east1", "us-west1", "europe-west1", "europe-west3", "asia-northeast1", "asia-southeast1", "australia-southeast1"}

// ociRegions are suggested for the tenancy's home region.
var ociRegions = []string{"us-ashburn-1", "us-phoenix-1", "us-chicago-1", "ca-toronto-1", "eu-frankfurt-1", "eu-amsterdam-1", "uk-london-1", "ap-tokyo-1", "ap-sydney-1", "ap-mumbai-1", "sa-saopaulo-1"}

// s3ReadPolicy is the permissions policy the role needs to read the
// export: list the bucket under the path, and get its objects.
func s3ReadPolicy(bucket, path string) string {
	if bucket == "" {
		bucket = "BUCKET"
	}
	prefix := strings.Trim(path, "/")
	objects := "arn:aws:s3:::" + bucket + "/*"
	if prefix != "" {
		objects = "arn:aws:s3:::" + bucket + "/" + prefix + "/*"
	}
	policy := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{"Effect": "Allow", "Action": []string{"s3:ListBucket", "s3:GetBucketLocation"}, "Resource": "arn:aws:s3:::" + bucket},
			map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Resource": objects},
		},
	}
	b, _ := json.MarshalIndent(policy, "", "  ")
	return string(b)
}

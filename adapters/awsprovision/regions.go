package awsprovision

import (
	curtypes "github.com/aws/aws-sdk-go-v2/service/costandusagereportservice/types"
)

// Region is an AWS commercial region the billing bucket may go to.
type Region struct {
	Code string
	Name string
}

// Regions are the AWS commercial regions, by code.
var Regions = []Region{
	{"af-south-1", "Africa (Cape Town)"},
	{"ap-east-1", "Asia Pacific (Hong Kong)"},
	{"ap-east-2", "Asia Pacific (Taipei)"},
	{"ap-northeast-1", "Asia Pacific (Tokyo)"},
	{"ap-northeast-2", "Asia Pacific (Seoul)"},
	{"ap-northeast-3", "Asia Pacific (Osaka)"},
	{"ap-south-1", "Asia Pacific (Mumbai)"},
	{"ap-south-2", "Asia Pacific (Hyderabad)"},
	{"ap-southeast-1", "Asia Pacific (Singapore)"},
	{"ap-southeast-2", "Asia Pacific (Sydney)"},
	{"ap-southeast-3", "Asia Pacific (Jakarta)"},
	{"ap-southeast-4", "Asia Pacific (Melbourne)"},
	{"ap-southeast-5", "Asia Pacific (Malaysia)"},
	{"ap-southeast-6", "Asia Pacific (New Zealand)"},
	{"ap-southeast-7", "Asia Pacific (Thailand)"},
	{"ca-central-1", "Canada (Central)"},
	{"ca-west-1", "Canada West (Calgary)"},
	{"eu-central-1", "Europe (Frankfurt)"},
	{"eu-central-2", "Europe (Zurich)"},
	{"eu-north-1", "Europe (Stockholm)"},
	{"eu-south-1", "Europe (Milan)"},
	{"eu-south-2", "Europe (Spain)"},
	{"eu-west-1", "Europe (Ireland)"},
	{"eu-west-2", "Europe (London)"},
	{"eu-west-3", "Europe (Paris)"},
	{"il-central-1", "Israel (Tel Aviv)"},
	{"me-central-1", "Middle East (UAE)"},
	{"me-south-1", "Middle East (Bahrain)"},
	{"mx-central-1", "Mexico (Central)"},
	{"sa-east-1", "South America (São Paulo)"},
	{"us-east-1", "US East (N. Virginia)"},
	{"us-east-2", "US East (Ohio)"},
	{"us-west-1", "US West (N. California)"},
	{"us-west-2", "US West (Oregon)"},
}

// billingRegion is where the Data Exports, Cost and Usage Report and Cost
// Explorer APIs are served, whatever the bucket's region.
const billingRegion = "us-east-1"

func knownRegion(code string) bool {
	for _, r := range Regions {
		if r.Code == code {
			return true
		}
	}
	return false
}

// curDelivers reports whether the legacy Cost and Usage Report service can
// deliver to a bucket in region: its API takes only the regions it models.
func curDelivers(region string) bool {
	for _, r := range curtypes.AWSRegion("").Values() {
		if string(r) == region {
			return true
		}
	}
	return false
}

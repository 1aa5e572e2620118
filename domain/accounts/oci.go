package accounts

import "strings"

// ociUsageReportTenancy is the Oracle-owned tenancy that holds every
// customer's cost and usage reports.
const ociUsageReportTenancy = "ocid1.tenancy.oc1..aaaaaaaaned4fkpkisbwjlr56u7cj63lf3wffbilvqknstgtvzub7vhqkggq"

// OCIGroupPlaceholder stands for the IAM group in the policy statements
// when none is given.
const OCIGroupPlaceholder = "<your group>"

// OCIPolicyStatements returns the cross-tenancy policy statements an OCI
// tenancy's root compartment needs so that the users of group can read the
// tenancy's cost reports. An empty group leaves a placeholder to fill in.
func OCIPolicyStatements(group string) []string {
	group = strings.TrimSpace(group)
	if group == "" {
		group = OCIGroupPlaceholder
	}
	return []string{
		"define tenancy usage-report as " + ociUsageReportTenancy,
		"endorse group " + group + " to read objects in tenancy usage-report",
	}
}

// Package ocibilling reads Oracle Cloud Infrastructure cost reports as FOCUS
// line items. It is the OCI adapter of the billing domain:
//
//   - DecodeCostReport maps OCI's proprietary cost report CSV
//     (reports/cost-csv/, columns cost/myCost, lineItem/isCorrection, tags/…)
//     to billing.LineItem; DecodeFOCUSReport reads OCI's FOCUS reports
//     (FOCUS Reports/YYYY/MM/DD/, with oci_* columns) through
//     focusfile.DecodeRecords.
//   - Source implements billing.Source over any billing.Bucket: one Part per
//     billing month, made of the report files of that month, whose Version
//     changes whenever a file is added, replaced or removed.
//   - Bucket implements billing.Bucket over OCI Object Storage (the
//     Oracle-owned reporting bucket: namespace "bling", bucket = tenancy
//     OCID), built from a Config holding the API signing key.
//
// Usage reports (reports/usage-csv/) carry no cost and are ignored.
package ocibilling

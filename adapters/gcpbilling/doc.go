// Package gcpbilling reads Google Cloud's Cloud Billing export — the
// BigQuery tables gcp_billing_export_v1_<ACCOUNT> (standard usage cost)
// and gcp_billing_export_resource_v1_<ACCOUNT> (detailed usage cost), or
// newline-delimited JSON extracts of their rows — as FOCUS 1.2 line items.
//
// It is an adapter on the billing side of the hexagon: Source reads JSON
// extracts from any billing.Bucket (a local folder through
// localfiles.Dir, or a cloud bucket), and BigQuerySource queries the export
// table itself with cloud.google.com/go/bigquery. Both implement
// billing.Source with one Part per invoice month, so the Ingester swaps a
// month in whole whenever late rows restate it.
//
// Mapping (Row.LineItems): each export row becomes one FOCUS row for its
// cost (ChargeCategory Usage, Tax or Adjustment by cost_type) plus one row
// per element of credits[] (ChargeCategory Credit, BilledCost the negative
// credit amount), so that the billed total of a month is cost + Σ credits,
// exactly as the invoice computes it. Amounts stay the decimal text the
// source wrote.
package gcpbilling

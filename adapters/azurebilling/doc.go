// Package azurebilling reads Microsoft Cost Management exports: the
// ActualCost and AmortizedCost cost-details datasets (EA, MCA and
// pay-as-you-go column sets) and the FocusCost dataset, as CSV, gzipped CSV
// or Parquet, from an Azure Blob Storage container or any billing.Bucket.
//
// It is a driven adapter of the billing domain: Source implements
// billing.Source over the export layout
// (<root>/<export>/<yyyyMMdd-yyyyMMdd>/[<run>/]…), choosing the newest run of
// each month by its manifest.json and turning rows into FOCUS 1.2 line items
// (Decode); NewBucket and NewBlobBucket give a Blob Storage container as a
// billing.Bucket.
package azurebilling

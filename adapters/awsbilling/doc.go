// Package awsbilling reads AWS billing exports as FOCUS 1.2 line items. It
// is a driven adapter of the billing domain: Source implements billing.Source
// over any billing.Bucket (an S3 bucket through NewS3Bucket, or a local copy
// through localfiles.Dir) and understands the three layouts AWS delivers to
// S3:
//
//   - the legacy Cost and Usage Report (CUR), whose period folders
//     <prefix>/<report>/<yyyyMMdd-yyyyMMdd>/ hold a <report>-Manifest.json
//     naming the newest assembly and its reportKeys (gzipped CSV with
//     lineItem/… columns);
//   - Data Exports: CUR 2.0 (snake_case columns such as
//     line_item_unblended_cost, tags in a resource_tags map) and the
//     FOCUS_1_0_AWS / FOCUS_1_2_AWS tables, delivered as gzipped CSV or
//     Parquet under <prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/ with a
//     manifest under <prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/.
//
// Each billing period becomes one billing.Part built from the newest
// manifest only, so files of older assemblies left in the bucket are never
// read; the part's Version changes exactly when the manifest points at
// other content. Amounts keep the source's decimal text; Parquet doubles
// become their shortest round-trip decimal. Decoding streams row by row, so
// memory stays flat whatever the file size.
package awsbilling

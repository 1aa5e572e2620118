// Package focusfile reads billing export files: the FOCUS cost-and-usage
// CSV codec (Decode, for versions 1.0 to 1.3), the timestamp forms exports
// write (ParseTime), and the stream plumbing every file reader shares
// (NewFileReader, Decompress for gzip told by content, CountingReader for
// progress).
//
// It is on the adapter side of the hexagon: localfiles and the cloud
// connectors (awsbilling, azurebilling, gcpbilling, ocibilling) use it to
// turn bytes into billing.LineItem values, and report bad input with
// billing.InputError; the billing domain itself knows nothing of CSV or gzip.
package focusfile

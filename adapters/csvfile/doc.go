// Package csvfile reads the CSV files billing exports are made of, through
// encoding/csv: one Reader that drops a UTF-8 byte-order mark, accepts CRLF
// line ends, reads the header row into a column index and yields records
// with the line they start on, and one ReadError that turns any failure met
// while reading (malformed CSV, a wrong field count, broken compression, a
// dropped connection) into the billing domain's coded error naming file,
// line and column.
//
// It is adapter plumbing, below the file decoders of the hexagon's driven
// side (focusfile, awsbilling, azurebilling, ocibilling); the billing domain
// never sees it.
package csvfile

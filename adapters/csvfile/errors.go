package csvfile

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// ReadError turns a failure met while reading a billing file into the error
// to report, so that every decoder words it the same way. line is the line
// being read when err occurred; a CSV parse error brings its own.
//
//   - Context cancellation, and errors that already carry a domain code, are
//     returned as they are.
//   - A record whose field count differs from the header's, and malformed
//     CSV, are domain.Invalid errors naming file and line and, for
//     malformed CSV, the column: the 1-based byte of the line where parsing
//     failed.
//   - Broken or truncated compressed data is domain.Invalid.
//   - Any other failure to read the bytes (the network, the disk) is
//     domain.Unavailable, with err kept as its cause.
func ReadError(name string, line int, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if domain.ErrorCode(err) != domain.Internal {
		return err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrFieldCount):
			return billing.InputError(name, pe.StartLine, "", "wrong number of fields (want one per header column)")
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			return billing.InputError(name, pe.Line, strconv.Itoa(pe.Column), "malformed CSV: %v", pe.Err)
		}
		line, err = pe.Line, pe.Err
	}
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &corrupt) {
		return billing.InputError(name, line, "", "cannot read the file: broken compressed data (corrupt or truncated): %v", err)
	}
	return domain.WrapError(domain.Unavailable, err, "%s: line %d: cannot read the file", name, line)
}

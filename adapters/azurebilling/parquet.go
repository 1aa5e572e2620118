package azurebilling

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain/billing"
)

// decodeParquetStream spills a Parquet stream to a temporary file: the
// format keeps its schema in a footer, so it must be read at random.
func decodeParquetStream(ctx context.Context, name string, r io.Reader, o readOptions, fn func(*billing.LineItem) error) error {
	f, err := os.CreateTemp("", "truecost-azure-*.parquet")
	if err != nil {
		return fmt.Errorf("spill %s: %w", name, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, r)
	if err != nil {
		return csvfile.ReadError(name, 1, err)
	}
	return decodeParquet(ctx, name, f, n, o, fn)
}

// decodeParquet reads a flat Parquet export. Values become the text a CSV
// export would hold: doubles the shortest decimal that round-trips,
// DECIMAL columns exactly, dates and timestamps in ISO 8601 (UTC).
func decodeParquet(ctx context.Context, name string, ra io.ReaderAt, size int64, o readOptions, fn func(*billing.LineItem) error) error {
	pf, err := parquet.OpenFile(ra, size)
	if err != nil {
		return billing.InputError(name, 1, "", "not a valid Parquet file: %v", err)
	}
	fields := pf.Schema().Fields()
	names := make([]string, len(fields))
	conv := make([]func(parquet.Value) (string, error), len(fields))
	for i, f := range fields {
		names[i] = f.Name()
		if !f.Leaf() || f.Repeated() {
			return billing.InputError(name, 1, f.Name(), "nested or repeated Parquet columns are not supported")
		}
		conv[i] = converter(f.Type())
	}
	names = cleanHeader(names)

	groups := pf.RowGroups()
	var rows parquet.Rows
	buf := make([]parquet.Row, 128)
	var pending []parquet.Row
	rec := make([]string, len(names))
	line := 1
	next := func() ([]string, int, error) {
		for len(pending) == 0 {
			if rows == nil {
				if len(groups) == 0 {
					return nil, 0, io.EOF
				}
				rows = groups[0].Rows()
				groups = groups[1:]
			}
			n, err := rows.ReadRows(buf)
			pending = buf[:n]
			if err != nil {
				rows.Close()
				rows = nil
				if err != io.EOF {
					return nil, 0, billing.InputError(name, line+1, "", "cannot read Parquet rows: %v", err)
				}
			}
		}
		row := pending[0]
		pending = pending[1:]
		line++
		for i := range rec {
			rec[i] = ""
		}
		for _, v := range row {
			c := v.Column()
			if c < 0 || c >= len(rec) || v.IsNull() {
				continue
			}
			s, err := conv[c](v)
			if err != nil {
				return nil, 0, billing.InputError(name, line, errColumn(names, c), "%v", err)
			}
			rec[c] = s
		}
		return rec, line, nil
	}
	defer func() {
		if rows != nil {
			rows.Close()
		}
	}()

	if focus := normalizeFOCUSHeader(names); focusfile.IsHeader(focus) {
		return focusFromRecords(ctx, name, focus, next, fn)
	}
	return decodeRecords(ctx, name, names, next, o, fn)
}

// focusFromRecords feeds records to the FOCUS decoder as CSV, so FOCUS
// Parquet files get exactly the checks FOCUS CSV files do.
func focusFromRecords(ctx context.Context, name string, header []string, next func() ([]string, int, error), fn func(*billing.LineItem) error) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		w := csv.NewWriter(pw)
		err := w.Write(header)
		for err == nil {
			var rec []string
			rec, _, err = next()
			if err == nil {
				err = w.Write(rec)
			}
		}
		if err == io.EOF {
			err = nil
		}
		w.Flush()
		if err == nil {
			err = w.Error()
		}
		done <- err
		pw.CloseWithError(err)
	}()
	decErr := focusfile.Decode(ctx, name, pr, fn)
	// Unblock the writer when the decoder stopped early.
	pr.CloseWithError(errDecodingStopped)
	// A value the writer could not convert is the cause of whatever the
	// decoder then saw.
	if writeErr := <-done; writeErr != nil && !errors.Is(writeErr, errDecodingStopped) {
		return writeErr
	}
	return decErr
}

var errDecodingStopped = errors.New("decoding stopped")

// converter returns how a Parquet leaf's values become text.
func converter(t parquet.Type) func(parquet.Value) (string, error) {
	lt := t.LogicalType()
	var scale int32 = -1
	if lt != nil && lt.Decimal != nil {
		scale = lt.Decimal.Scale
	}
	switch t.Kind() {
	case parquet.Boolean:
		return func(v parquet.Value) (string, error) { return strconv.FormatBool(v.Boolean()), nil }
	case parquet.Int32:
		switch {
		case lt != nil && lt.Date != nil:
			return func(v parquet.Value) (string, error) {
				return time.Unix(int64(v.Int32())*86400, 0).UTC().Format(time.DateOnly), nil
			}
		case scale >= 0:
			return func(v parquet.Value) (string, error) { return decimal.New(int64(v.Int32()), -scale).String(), nil }
		}
		return func(v parquet.Value) (string, error) { return strconv.FormatInt(int64(v.Int32()), 10), nil }
	case parquet.Int64:
		switch {
		case lt != nil && lt.Timestamp != nil:
			unit := time.Microsecond
			switch {
			case lt.Timestamp.Unit.Millis != nil:
				unit = time.Millisecond
			case lt.Timestamp.Unit.Nanos != nil:
				unit = time.Nanosecond
			}
			return func(v parquet.Value) (string, error) {
				return time.Unix(0, 0).Add(time.Duration(v.Int64()) * unit).UTC().Format(time.RFC3339Nano), nil
			}
		case scale >= 0:
			return func(v parquet.Value) (string, error) { return decimal.New(v.Int64(), -scale).String(), nil }
		}
		return func(v parquet.Value) (string, error) { return strconv.FormatInt(v.Int64(), 10), nil }
	case parquet.Int96:
		// Legacy timestamps: nanoseconds of the day, then the Julian day.
		return func(v parquet.Value) (string, error) {
			i := v.Int96()
			nanos := int64(i[0]) | int64(i[1])<<32
			days := int64(i[2]) - 2440588
			return time.Unix(days*86400, nanos).UTC().Format(time.RFC3339Nano), nil
		}
	case parquet.Float:
		return func(v parquet.Value) (string, error) { return floatText(float64(v.Float()), 32) }
	case parquet.Double:
		return func(v parquet.Value) (string, error) { return floatText(v.Double(), 64) }
	default: // BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY
		if scale >= 0 {
			return func(v parquet.Value) (string, error) {
				return decimal.NewFromBigInt(twosComplement(v.ByteArray()), -scale).String(), nil
			}
		}
		return func(v parquet.Value) (string, error) { return string(v.ByteArray()), nil }
	}
}

// floatText writes a binary float as the shortest decimal that reads back
// as the same value, so no digits are invented or lost.
func floatText(f float64, bits int) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v is not a number", f)
	}
	return strconv.FormatFloat(f, 'g', -1, bits), nil
}

// twosComplement reads a big-endian two's-complement integer.
func twosComplement(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return n
}

package awsbilling

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain/billing"
)

// DecodeParquet reads one Data Exports Parquet file, CUR 2.0 or FOCUS
// (found by its columns), and calls fn with each row as a FOCUS line item,
// as DecodeCUR and focusfile.Decode do for CSV. DOUBLE amounts become
// the shortest decimal text that reads back as the same double, so no
// binary noise is added and none is summed in floating point. Rows count
// as lines after a virtual header: row n is line n+1 in errors.
func DecodeParquet(ctx context.Context, name string, r io.ReaderAt, size int64, fn func(*billing.LineItem) error) error {
	return decodeParquet(ctx, name, r, size, KindAuto, fn)
}

func decodeParquet(ctx context.Context, name string, r io.ReaderAt, size int64, want Kind, fn func(*billing.LineItem) error) error {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return billing.InputError(name, 1, "", "not a valid Parquet file: %v", err)
	}
	t, err := newParquetTable(name, f)
	if err != nil {
		return err
	}
	focus := isFOCUSHeader(t.header)
	switch {
	case focus && (want == KindCUR || want == KindCUR2):
		return billing.InputError(name, 1, "", "a FOCUS export where a Cost and Usage Report was expected")
	case !focus && want == KindFOCUS:
		return billing.InputError(name, 1, "", "not a FOCUS export (no BilledCost column)")
	case focus:
		return t.decodeFOCUS(ctx, fn)
	}
	m, err := newCURMapper(name, t.header)
	if err != nil {
		return err
	}
	var item billing.LineItem
	return t.each(ctx, func(rec []string, line int) error {
		if err := m.decode(rec, line, &item); err != nil {
			return err
		}
		return emit(name, line, &item, fn)
	})
}

// decodeFOCUS feeds the rows, as CSV text, to the domain's FOCUS decoder,
// so FOCUS Parquet and CSV are validated by the same code.
func (t *parquetTable) decodeFOCUS(ctx context.Context, fn func(*billing.LineItem) error) error {
	pr, pw := io.Pipe()
	var writeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := csv.NewWriter(pw)
		err := w.Write(t.header)
		if err == nil {
			err = t.each(ctx, func(rec []string, _ int) error { return w.Write(rec) })
		}
		if err == nil {
			w.Flush()
			err = w.Error()
		}
		writeErr = err
		pw.CloseWithError(err)
	}()
	err := focusfile.Decode(ctx, t.name, pr, fn)
	pr.CloseWithError(errReaderDone)
	<-done
	// A failure on the Parquet side reaches the decoder as a read error;
	// report it as it was.
	if writeErr != nil && !errors.Is(writeErr, errReaderDone) && (err == nil || errors.Is(err, writeErr)) {
		return writeErr
	}
	return err
}

var errReaderDone = errors.New("the FOCUS decoder stopped reading")

// parquetTable reads a Parquet file's rows as text records, one cell per
// top-level column: scalars as text, maps as JSON objects.
type parquetTable struct {
	name   string
	file   *parquet.File
	header []string
	fields []pqField
	byLeaf []leafRef // leaf column index → field
}

type pqField struct {
	isMap      bool
	conv       func(parquet.Value) (string, error) // scalar, or map value
	keyConv    func(parquet.Value) (string, error)
	keys, vals []string
}

type leafRef struct {
	field int
	isKey bool
}

func newParquetTable(name string, f *parquet.File) (*parquetTable, error) {
	t := &parquetTable{name: name, file: f}
	for i, field := range f.Schema().Fields() {
		t.header = append(t.header, field.Name())
		var pf pqField
		switch {
		case field.Leaf():
			pf.conv = converter(field)
			t.byLeaf = append(t.byLeaf, leafRef{field: i})
		case isMapNode(field):
			kv := field.Fields()[0].Fields()
			pf.isMap, pf.keyConv, pf.conv = true, converter(kv[0]), converter(kv[1])
			t.byLeaf = append(t.byLeaf, leafRef{field: i, isKey: true}, leafRef{field: i})
		default:
			return nil, billing.InputError(name, 1, field.Name(), "nested column of type %s is not supported (want a value or a map)", field.Type())
		}
		t.fields = append(t.fields, pf)
	}
	return t, nil
}

// isMapNode recognises the MAP layout: a group holding one repeated group
// of two leaves, key and value.
func isMapNode(n parquet.Node) bool {
	fs := n.Fields()
	if len(fs) != 1 || fs[0].Leaf() || !fs[0].Repeated() {
		return false
	}
	kv := fs[0].Fields()
	return len(kv) == 2 && kv[0].Leaf() && kv[1].Leaf()
}

// each calls fn with every row as a record. The record is reused.
func (t *parquetTable) each(ctx context.Context, fn func(rec []string, line int) error) error {
	rec := make([]string, len(t.fields))
	buf := make([]parquet.Row, 256)
	line := 1
	for _, rg := range t.file.RowGroups() {
		rows := rg.Rows()
		for {
			if err := ctx.Err(); err != nil {
				rows.Close()
				return err
			}
			n, err := rows.ReadRows(buf)
			for i := range n {
				line++
				if err := t.record(buf[i], rec, line); err != nil {
					rows.Close()
					return err
				}
				if err := fn(rec, line); err != nil {
					rows.Close()
					return err
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close()
				return billing.InputError(t.name, line+1, "", "cannot read Parquet rows: %v", err)
			}
		}
		rows.Close()
	}
	return nil
}

func (t *parquetTable) record(row parquet.Row, rec []string, line int) error {
	for i := range t.fields {
		rec[i] = ""
		t.fields[i].keys, t.fields[i].vals = t.fields[i].keys[:0], t.fields[i].vals[:0]
	}
	for _, v := range row {
		c := v.Column()
		if c < 0 || c >= len(t.byLeaf) {
			return billing.InputError(t.name, line, "", "value of unknown column %d", c)
		}
		ref := t.byLeaf[c]
		f := &t.fields[ref.field]
		if v.IsNull() {
			if f.isMap && !ref.isKey {
				f.vals = append(f.vals, "")
			}
			continue
		}
		conv := f.conv
		if ref.isKey {
			conv = f.keyConv
		}
		s, err := conv(v)
		if err != nil {
			return billing.InputError(t.name, line, t.header[ref.field], "%v", err)
		}
		switch {
		case !f.isMap:
			rec[ref.field] = s
		case ref.isKey:
			f.keys = append(f.keys, s)
		default:
			f.vals = append(f.vals, s)
		}
	}
	for i := range t.fields {
		f := &t.fields[i]
		if !f.isMap || len(f.keys) == 0 {
			continue
		}
		if len(f.keys) != len(f.vals) {
			return billing.InputError(t.name, line, t.header[i], "map has %d keys but %d values", len(f.keys), len(f.vals))
		}
		pairs := make([]kv, 0, len(f.keys))
		for j, k := range f.keys {
			if f.vals[j] != "" {
				pairs = append(pairs, kv{k, f.vals[j]})
			}
		}
		rec[i] = jsonObject(pairs)
	}
	return nil
}

// converter returns how a leaf's values become text.
func converter(n parquet.Node) func(parquet.Value) (string, error) {
	typ := n.Type()
	lt := typ.LogicalType()
	ct := typ.ConvertedType()
	switch typ.Kind() {
	case parquet.Boolean:
		return func(v parquet.Value) (string, error) { return strconv.FormatBool(v.Boolean()), nil }
	case parquet.Int32, parquet.Int64:
		switch {
		case lt != nil && lt.Decimal != nil:
			scale := lt.Decimal.Scale
			return func(v parquet.Value) (string, error) {
				return decimal.New(v.Int64(), -scale).String(), nil
			}
		case lt != nil && lt.Timestamp != nil:
			unit := time.Millisecond
			switch {
			case lt.Timestamp.Unit.Micros != nil:
				unit = time.Microsecond
			case lt.Timestamp.Unit.Nanos != nil:
				unit = time.Nanosecond
			}
			return timestampConv(unit)
		case ct != nil && *ct == deprecated.TimestampMillis:
			return timestampConv(time.Millisecond)
		case ct != nil && *ct == deprecated.TimestampMicros:
			return timestampConv(time.Microsecond)
		case lt != nil && lt.Date != nil:
			return func(v parquet.Value) (string, error) {
				return time.Unix(v.Int64()*86400, 0).UTC().Format(time.DateOnly), nil
			}
		}
		return func(v parquet.Value) (string, error) { return strconv.FormatInt(v.Int64(), 10), nil }
	case parquet.Int96:
		return func(v parquet.Value) (string, error) {
			x := v.Int96()
			nanos := int64(x[1])<<32 | int64(x[0])
			days := int64(x[2]) - 2440588 // Julian day of 1970-01-01
			return time.Unix(days*86400, nanos).UTC().Format(time.RFC3339Nano), nil
		}
	case parquet.Float:
		return func(v parquet.Value) (string, error) { return formatFloat(float64(v.Float()), 32) }
	case parquet.Double:
		return func(v parquet.Value) (string, error) { return formatFloat(v.Double(), 64) }
	}
	if lt != nil && lt.Decimal != nil {
		scale := lt.Decimal.Scale
		return func(v parquet.Value) (string, error) {
			b := v.ByteArray()
			i := new(big.Int).SetBytes(b)
			if len(b) > 0 && b[0]&0x80 != 0 { // two's complement negative
				i.Sub(i, new(big.Int).Lsh(big.NewInt(1), uint(len(b)*8)))
			}
			return decimal.NewFromBigInt(i, -scale).String(), nil
		}
	}
	return func(v parquet.Value) (string, error) { return string(v.ByteArray()), nil }
}

func timestampConv(unit time.Duration) func(parquet.Value) (string, error) {
	return func(v parquet.Value) (string, error) {
		var t time.Time
		switch unit {
		case time.Millisecond:
			t = time.UnixMilli(v.Int64())
		case time.Microsecond:
			t = time.UnixMicro(v.Int64())
		default:
			t = time.Unix(0, v.Int64())
		}
		return t.UTC().Format(time.RFC3339Nano), nil
	}
}

// formatFloat writes a binary float as the shortest decimal that reads
// back as the same value: 0.1 stays "0.1", never 0.1000000000000000055….
func formatFloat(f float64, bits int) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v is not an amount", f)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-9 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, bits), nil
	}
	return strconv.FormatFloat(f, 'f', -1, bits), nil
}

// emit hands a decoded row to fn, locating a row-level rejection.
func emit(name string, line int, item *billing.LineItem, fn func(*billing.LineItem) error) error {
	if err := fn(item); err != nil {
		return billing.LocateRowError(name, line, err)
	}
	return nil
}

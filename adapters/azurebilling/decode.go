package azurebilling

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain/billing"
)

// Dataset is the Cost Management dataset an export holds.
type Dataset string

// The datasets Source and Decode read. Cost details come actual (commitment
// purchases billed when bought) or amortized (spread over the usage they
// cover); FocusCost holds both views in FOCUS columns.
const (
	ActualCost    Dataset = "ActualCost"
	AmortizedCost Dataset = "AmortizedCost"
	FocusCost     Dataset = "FocusCost"
)

func parseDataset(s string) (Dataset, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "actualcost", "actual", "usage":
		return ActualCost, true
	case "amortizedcost", "amortized":
		return AmortizedCost, true
	case "focuscost", "focus":
		return FocusCost, true
	}
	return "", false
}

// DecodeOptions tells Decode what it cannot see in a file.
type DecodeOptions struct {
	// Dataset of a cost-details file: ActualCost (the default) or
	// AmortizedCost. FOCUS files are recognised by their header.
	Dataset Dataset
	// Period is the billing period a cost-details file without billing
	// period columns belongs to; zero takes each row's month.
	Period time.Time
}

type readOptions struct {
	dataset       Dataset
	period        time.Time
	purchasesOnly bool
}

// Decode reads one export file — CSV, gzipped CSV or Parquet, found by its
// content — holding cost details (EA, MCA or pay-as-you-go columns, any
// header casing, with or without a byte-order mark) or FocusCost (FOCUS 1.0
// to 1.2 columns), and calls fn with each row as a FOCUS line item. name is
// used in errors. Bad input is a domain.Invalid error naming the file, the
// line (for Parquet, the row number plus one for a header) and the column.
// The item passed to fn is reused; fn must copy what it keeps.
func Decode(ctx context.Context, name string, r io.Reader, opts DecodeOptions, fn func(*billing.LineItem) error) error {
	ds := opts.Dataset
	if ds == "" || ds == FocusCost {
		ds = ActualCost
	}
	return decodeStream(ctx, name, r, readOptions{dataset: ds, period: opts.Period}, fn)
}

func decodeStream(ctx context.Context, name string, r io.Reader, o readOptions, fn func(*billing.LineItem) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, _ := br.Peek(4)
	lower := strings.ToLower(name)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return billing.InputError(name, 1, "", "not a valid gzip file: %v", err)
		}
		defer gz.Close()
		return decodeCSV(ctx, name, gz, o, fn)
	case bytes.Equal(magic, []byte("PAR1")):
		return decodeParquetStream(ctx, name, br, o, fn)
	case strings.HasSuffix(lower, ".gz"):
		return billing.InputError(name, 1, "", "named .gz but not gzip-compressed")
	case strings.HasSuffix(lower, ".parquet"):
		return billing.InputError(name, 1, "", "named .parquet but not a Parquet file")
	}
	return decodeCSV(ctx, name, br, o, fn)
}

// decodeCSV reads a CSV export: FOCUS when its header says so, else cost
// details.
func decodeCSV(ctx context.Context, name string, r io.Reader, o readOptions, fn func(*billing.LineItem) error) error {
	rd, err := csvfile.Open(name, r, "a header row")
	if err != nil {
		return err
	}
	if focus := normalizeFOCUSHeader(rd.Header()); focusfile.IsHeader(focus) {
		rd.SetHeader(focus)
		return focusfile.DecodeRecords(ctx, rd, fn)
	}
	next := func() ([]string, int, error) {
		rec, err := rd.Read()
		return rec, rd.Line(), err
	}
	return decodeRecords(ctx, name, rd.Header(), next, o, fn)
}

// decodeRecords maps cost-details records, as CSV or Parquet yields them,
// to line items.
func decodeRecords(ctx context.Context, name string, names []string, next func() ([]string, int, error), o readOptions, fn func(*billing.LineItem) error) error {
	lay, missing := newLayout(names)
	if len(missing) > 0 {
		return billing.InputError(name, 1, "", "not an Azure cost-details or FOCUS file: missing column(s) %s", strings.Join(missing, ", "))
	}
	m := newCostMapper(lay, o)
	var item billing.LineItem
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, line, err := next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		ok, err := m.mapRow(rec, &item)
		if err != nil {
			var me *mapError
			if errors.As(err, &me) {
				return billing.InputError(name, line, me.column, "%v", me.err)
			}
			return err
		}
		if !ok {
			continue
		}
		if err := fn(&item); err != nil {
			return billing.LocateRowError(name, line, err)
		}
	}
}

// errColumn names a column in messages that have no line.
func errColumn(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("#%d", i+1)
}

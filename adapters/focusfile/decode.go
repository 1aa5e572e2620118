package focusfile

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/domain/billing"
)

// Version guesses the FOCUS version of a header from the columns each
// version introduced.
func Version(header []string) string {
	has := make(map[string]bool, len(header))
	for _, h := range header {
		has[h] = true
	}
	switch {
	case has["ServiceProviderName"] || has["HostProviderName"] || has["ContractApplied"] || has["AllocatedMethodId"]:
		return "1.3"
	case has["InvoiceId"] || has["BillingAccountType"] || has["PricingCurrency"]:
		return "1.2"
	case has["CapacityReservationId"] || has["ServiceSubcategory"] || has["SkuMeter"] || has["SkuPriceDetails"]:
		return "1.1"
	default:
		return "1.0"
	}
}

// IsHeader reports whether a header row carries the columns every FOCUS
// version requires.
func IsHeader(header []string) bool {
	return len(missingColumns(header)) == 0
}

func missingColumns(header []string) []string {
	has := make(map[string]bool, len(header))
	for _, h := range header {
		has[strings.TrimSpace(h)] = true
	}
	var missing []string
	for _, f := range billing.Fields {
		if f.Required && !has[f.Name] {
			missing = append(missing, f.Name)
		}
	}
	if !has["ProviderName"] && !has["ServiceProviderName"] {
		missing = append(missing, "ProviderName")
	}
	return missing
}

// column is how one CSV column is stored.
type column struct {
	name  string
	field *billing.Field // nil: an extra column kept under name
	last  string         // the last text parsed or validated, to skip repeats
	lastT time.Time      // the time parsed from last
}

// Decode reads a FOCUS cost-and-usage CSV (versions 1.0 to 1.3, found
// by header) from r and calls fn for each row. name is used in errors, which
// are domain.Invalid and say file, line and column. The LineItem passed to fn
// is reused: fn must copy what it keeps (Extras maps are fresh per row).
// A UTF-8 byte-order mark, CRLF line ends, and the literal NULL or an empty
// cell for null are accepted.
func Decode(ctx context.Context, name string, r io.Reader, fn func(*billing.LineItem) error) error {
	rd, err := csvfile.Open(name, r, "a FOCUS header row")
	if err != nil {
		return err
	}
	return DecodeRecords(ctx, rd, fn)
}

// DecodeRecords reads the rows of a FOCUS CSV whose header rd has read, as
// Decode does. Readers of a provider's FOCUS flavour open the file
// themselves, rename its columns to FOCUS names (rd.SetHeader), then call
// it.
func DecodeRecords(ctx context.Context, rd *csvfile.Reader, fn func(*billing.LineItem) error) error {
	name, header := rd.Name(), rd.Header()
	cols := make([]column, len(header))
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		if seen[h] {
			return billing.InputError(name, 1, h, "column appears twice")
		}
		seen[h] = true
		cols[i].name = h
		if f, ok := billing.FieldByName(h); ok {
			cols[i].field = &f
		}
	}
	if missing := missingColumns(header); len(missing) > 0 {
		return billing.InputError(name, 1, "", "not a FOCUS cost-and-usage file: missing column(s) %s", strings.Join(missing, ", "))
	}

	var item billing.LineItem
	return rd.Each(ctx, func(rec []string, line int) error {
		item = billing.LineItem{}
		for i, v := range rec {
			if err := cols[i].set(&item, v); err != nil {
				return billing.InputError(name, line, cols[i].name, "%v", err)
			}
		}
		if item.Provider() == "" {
			return billing.InputError(name, line, "ProviderName", "must not be empty")
		}
		return fn(&item)
	})
}

func isNull(v string) bool { return v == "" || v == "NULL" }

func (c *column) set(l *billing.LineItem, v string) error {
	f := c.field
	// Numbers and times are checked by their parsers, which accept ASCII only.
	if (f == nil || f.Kind == billing.KindString || f.Kind == billing.KindJSON) && !utf8.ValidString(v) {
		return errors.New("not valid UTF-8 text")
	}
	if f == nil {
		if !isNull(v) {
			if l.Extras == nil {
				l.Extras = make(map[string]string)
			}
			l.Extras[c.name] = v
		}
		return nil
	}
	switch f.Kind {
	case billing.KindDecimal:
		if isNull(v) {
			if f.Required {
				return errors.New("must not be null")
			}
			return nil
		}
		n, err := billing.ParseNumber(v)
		if err != nil {
			return err
		}
		*f.Num(l) = n
	case billing.KindTime:
		if isNull(v) {
			if f.Required {
				return errors.New("must not be null")
			}
			return nil
		}
		if v == c.last {
			*f.Time(l) = c.lastT
			return nil
		}
		t, err := ParseTime(v)
		if err != nil {
			return err
		}
		c.last, c.lastT = v, t
		*f.Time(l) = t
	case billing.KindJSON:
		if isNull(v) {
			return nil
		}
		if v != c.last {
			if !json.Valid([]byte(v)) || !strings.HasPrefix(strings.TrimSpace(v), "{") {
				return errors.New("not a JSON object")
			}
			c.last = v
		}
		*f.Str(l) = v
	default:
		if isNull(v) {
			if f.Required {
				return errors.New("must not be null")
			}
			return nil
		}
		*f.Str(l) = v
	}
	return nil
}

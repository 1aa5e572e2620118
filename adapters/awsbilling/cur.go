package awsbilling

import (
	"context"
	"io"
	"strings"
	"unicode"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/domain/billing"
)

// DecodeCUR reads one AWS Cost and Usage Report file in CSV, plain or
// gzip-compressed, and calls fn with each row mapped to a FOCUS 1.2 line
// item. Both the legacy CUR (lineItem/UnblendedCost, resourceTags/user:app…)
// and CUR 2.0 (line_item_unblended_cost, a resource_tags map…) column sets
// are accepted, found by header; the real header is read, never a
// manifest's column list. name is used in errors, which are domain.Invalid
// and say file, line and column. The LineItem passed to fn is reused: fn
// must copy what it keeps (its Extras map is fresh per row). The file is
// decoded while it is read, so memory stays flat whatever its size.
func DecodeCUR(ctx context.Context, name string, r io.Reader, fn func(*billing.LineItem) error) error {
	br, done, err := decompress(name, r)
	if err != nil {
		return err
	}
	defer done()
	return decodeCURText(ctx, name, br, false, fn)
}

// DecodeCURForLoad decodes like DecodeCUR for a caller that hands the rows
// to a store: each row's extras come pre-encoded in ExtrasJSON, and Extras
// is nil, which saves building a map per row.
func DecodeCURForLoad(ctx context.Context, name string, r io.Reader, fn func(*billing.LineItem) error) error {
	br, done, err := decompress(name, r)
	if err != nil {
		return err
	}
	defer done()
	return decodeCURText(ctx, name, br, true, fn)
}

// decodeCURText decodes a CUR's CSV text; jsonExtras says rows carry their
// extras in ExtrasJSON rather than Extras.
func decodeCURText(ctx context.Context, name string, r io.Reader, jsonExtras bool, fn func(*billing.LineItem) error) error {
	rd, err := csvfile.Open(name, r, "a CUR header row")
	if err != nil {
		return err
	}
	m, err := newCURMapper(name, rd.Header())
	if err != nil {
		return err
	}
	m.jsonExtras = jsonExtras
	var item billing.LineItem
	return eachRecord(ctx, name, rd, func(rec []string, line int) error {
		if err := m.decode(rec, line, &item); err != nil {
			return err
		}
		return fn(&item)
	})
}

// canonical turns a CUR column name into its CUR 2.0 (Athena) form, so both
// generations share one mapping: "lineItem/UnblendedCost" and
// "line_item_unblended_cost" both become "line_item_unblended_cost".
func canonical(h string) string {
	h = strings.TrimSpace(h)
	s := strings.ToLower(h)
	if cat, attr, ok := strings.Cut(h, "/"); ok {
		s = snake(cat) + "_" + snake(attr)
	}
	// AWS spells ARN columns "SavingsPlanARN", "SavingsPlanArn" and
	// "savings_plan_savings_plan_a_r_n".
	return strings.ReplaceAll(s, "_a_r_n", "_arn")
}

func snake(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i, r := range s {
		switch {
		case unicode.IsUpper(r):
			if i > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		case r == ' ' || r == '-' || r == ':':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pascal turns a canonical name into the x_ column name extras use:
// "line_item_line_item_type" becomes "LineItemLineItemType".
func pascal(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	up := true
	for _, r := range s {
		if r == '_' || r == ' ' || r == '-' || r == ':' || r == '/' {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isCURHeader reports whether a header row carries the columns every CUR
// mapping needs.
func isCURHeader(header []string) bool {
	have := make(map[string]bool, len(header))
	for _, h := range header {
		have[canonical(strings.TrimPrefix(h, "\uFEFF"))] = true
	}
	return have["line_item_unblended_cost"] && have["line_item_line_item_type"]
}

// isFOCUSHeader reports whether a header row is a FOCUS export's.
func isFOCUSHeader(header []string) bool {
	for _, h := range header {
		if strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")) == "BilledCost" {
			return true
		}
	}
	return false
}

// CURHeaderKind tells a Cost and Usage Report's header apart: "aws-cur"
// for the legacy CUR (lineItem/UnblendedCost), "aws-cur2" for CUR 2.0
// (line_item_unblended_cost), and "" for anything else.
func CURHeaderKind(header []string) string {
	for _, h := range header {
		if canonical(h) == "line_item_unblended_cost" {
			if strings.Contains(h, "/") {
				return "aws-cur"
			}
			return "aws-cur2"
		}
	}
	return ""
}

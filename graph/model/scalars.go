package model

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
)

// MarshalDecimal writes d as a JSON string holding its exact decimal text.
func MarshalDecimal(d decimal.Decimal) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(d.String()))
	})
}

// UnmarshalDecimal reads a Decimal input: a string such as "12.50". Integer
// literals are accepted too; floating-point numbers are refused because they
// may already have lost precision. It returns a domain.Invalid error.
func UnmarshalDecimal(v any) (decimal.Decimal, error) {
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case json.Number:
		text = x.String()
	case int:
		return decimal.NewFromInt(int64(x)), nil
	case int64:
		return decimal.NewFromInt(x), nil
	default:
		return decimal.Decimal{}, domain.Errorf(domain.Invalid, "a Decimal must be a string such as \"12.50\"")
	}
	d, err := decimal.NewFromString(strings.TrimSpace(text))
	if err != nil {
		return decimal.Decimal{}, domain.Errorf(domain.Invalid, "%q is not a decimal number", text)
	}
	return d, nil
}

// MarshalDate writes t's UTC day as YYYY-MM-DD.
func MarshalDate(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.DateOnly)))
	})
}

// UnmarshalDate reads a Date input written YYYY-MM-DD as midnight UTC. It
// returns a domain.Invalid error for anything else.
func UnmarshalDate(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, domain.Errorf(domain.Invalid, "a Date must be a string written YYYY-MM-DD")
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.UTC)
	if err != nil {
		return time.Time{}, domain.Errorf(domain.Invalid, "%q is not a date written YYYY-MM-DD", s)
	}
	return t, nil
}

// MarshalTime writes t in RFC 3339 in UTC, with fractional seconds only when
// t has them.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads a Time input in RFC 3339 and returns it in UTC. It
// returns a domain.Invalid error for anything else.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, domain.Errorf(domain.Invalid, "a Time must be a string in RFC 3339")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, domain.Errorf(domain.Invalid, "%q is not a time in RFC 3339", s)
	}
	return t.UTC(), nil
}

package model_test

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/graph/model"
)

func TestUnmarshalDecimalAcceptsExactInputsOnly(t *testing.T) {
	tests := []struct {
		in      any
		want    string
		invalid bool
	}{
		{in: "93672.998281940000073", want: "93672.998281940000073"},
		{in: " -0.5 ", want: "-0.5"},
		{in: json.Number("12.30"), want: "12.3"},
		{in: 42, want: "42"},
		{in: int64(-7), want: "-7"},
		{in: 0.1, invalid: true},
		{in: "1,5", invalid: true},
		{in: nil, invalid: true},
	}
	for _, tt := range tests {
		got, err := model.UnmarshalDecimal(tt.in)
		switch {
		case tt.invalid && domain.ErrorCode(err) != domain.Invalid:
			t.Errorf("UnmarshalDecimal(%#v) error = %v, want an invalid error", tt.in, err)
		case !tt.invalid && (err != nil || !got.Equal(decimal.RequireFromString(tt.want))):
			t.Errorf("UnmarshalDecimal(%#v) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestScalarsMarshalAsStrings(t *testing.T) {
	at := time.Date(2024, 9, 30, 22, 0, 0, 0, time.FixedZone("X", 3600))
	cases := map[string]struct {
		got, want string
	}{
		"decimal keeps every digit": {marshal(model.MarshalDecimal(decimal.RequireFromString("0.100000000000000005551"))), `"0.100000000000000005551"`},
		"date is the UTC day":       {marshal(model.MarshalDate(at)), `"2024-09-30"`},
		"time is RFC 3339 in UTC":   {marshal(model.MarshalTime(at)), `"2024-09-30T21:00:00Z"`},
	}
	for name, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", name, c.got, c.want)
		}
	}
}

func marshal(m interface{ MarshalGQL(w io.Writer) }) string {
	var b bytes.Buffer
	m.MarshalGQL(&b)
	return b.String()
}

func TestUnmarshalDateAndTime(t *testing.T) {
	d, err := model.UnmarshalDate("2024-09-01")
	if err != nil || !d.Equal(time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)) || d.Location() != time.UTC {
		t.Errorf("UnmarshalDate = %v, %v", d, err)
	}
	for _, bad := range []any{"2024-9-1", "2024-09-01T00:00:00Z", 20240901} {
		if _, err := model.UnmarshalDate(bad); domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("UnmarshalDate(%#v) error = %v, want invalid", bad, err)
		}
	}
	tm, err := model.UnmarshalTime("2024-09-01T02:00:00+02:00")
	if err != nil || !tm.Equal(time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)) || tm.Location() != time.UTC {
		t.Errorf("UnmarshalTime = %v, %v", tm, err)
	}
	if _, err := model.UnmarshalTime("yesterday"); domain.ErrorCode(err) != domain.Invalid {
		t.Errorf("UnmarshalTime(yesterday) error = %v, want invalid", err)
	}
}

package sqlstore

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/truecost/truecost/domain/billing"
)

// Line items reach Postgres in COPY's binary format: the server then takes
// times, numbers and text as they are instead of parsing each from text
// (for a FOCUS month, about a third less of its CPU), and the text needs no
// escaping. Each value is written as Postgres's own receive functions read
// it, so the stored values equal what the text format would have stored.

// copyBinaryHeader starts a binary COPY stream: the signature, no flags, no
// header extension.
var copyBinaryHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyBinaryTrailer ends it.
var copyBinaryTrailer = []byte{0xff, 0xff}

// pgEpoch is where Postgres's timestamps count from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// maxNumericExponent is the largest exponent Postgres's numeric input
// takes in scientific notation.
const maxNumericExponent = 1000

func appendInt16(buf []byte, v int16) []byte { return binary.BigEndian.AppendUint16(buf, uint16(v)) }
func appendInt32(buf []byte, v int32) []byte { return binary.BigEndian.AppendUint32(buf, uint32(v)) }

// appendBinaryNull appends a null field.
func appendBinaryNull(buf []byte) []byte { return appendInt32(buf, -1) }

// appendBinaryText appends a text field; the empty string is null.
func appendBinaryText(buf []byte, s string) []byte {
	if s == "" {
		return appendBinaryNull(buf)
	}
	buf = appendInt32(buf, int32(len(s)))
	return append(buf, s...)
}

// appendBinaryJSONB appends a jsonb field: its format version, then the
// JSON text, which the server parses as it would from text.
func appendBinaryJSONB(buf []byte, s string) []byte {
	if s == "" {
		return appendBinaryNull(buf)
	}
	buf = appendInt32(buf, int32(len(s)+1))
	buf = append(buf, 1)
	return append(buf, s...)
}

// appendBinaryTime appends a timestamptz: microseconds since 2000 in UTC,
// the nanoseconds rounded half to even as the text input rounds them. The
// zero time is null.
func appendBinaryTime(buf []byte, t time.Time) ([]byte, error) {
	if t.IsZero() {
		return appendBinaryNull(buf), nil
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return buf, fmt.Errorf("time %s is out of range", t.UTC().Format(time.RFC3339))
	}
	nsec := int64(t.Nanosecond())
	us, rem := nsec/1000, nsec%1000
	if rem > 500 || (rem == 500 && us%2 == 1) {
		us++
	}
	buf = appendInt32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64((t.Unix()-pgEpoch)*1_000_000+us)), nil
}

// appendBinaryDate appends a date: days since 2000.
func appendBinaryDate(buf []byte, t time.Time) []byte {
	y, m, d := t.UTC().Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() - pgEpoch
	buf = appendInt32(buf, 4)
	return appendInt32(buf, int32(days/86400))
}

// appendBinaryNumeric appends a numeric from a billing.Number's text (plain
// or scientific notation; the empty Number is null): base-10000 digits
// with the weight of the first, the sign, and the display scale numeric's
// text input would give it — the digits after the point less the exponent.
func appendBinaryNumeric(buf []byte, n billing.Number, digits []byte) ([]byte, []byte, error) {
	s := string(n)
	if s == "" {
		return appendBinaryNull(buf), digits, nil
	}
	neg, i := false, 0
	if s[0] == '-' || s[0] == '+' {
		neg, i = s[0] == '-', 1
	}
	kept := digits[:0]
	digits = kept
	frac, point := 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c-'0')
			if point {
				frac++
			}
		case c == '.' && !point:
			point = true
		case c == 'e' || c == 'E':
			goto exponent
		default:
			return buf, digits, fmt.Errorf("%q is not a number", s)
		}
	}
exponent:
	exp := 0
	if i < len(s) {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			expNeg, i = s[i] == '-', i+1
		}
		for ; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' || exp > maxNumericExponent {
				return buf, digits, fmt.Errorf("%q is not a number Postgres can store", s)
			}
			exp = exp*10 + int(s[i]-'0')
		}
		if exp > maxNumericExponent {
			return buf, digits, fmt.Errorf("%q is not a number Postgres can store", s)
		}
		if expNeg {
			exp = -exp
		}
	}
	if len(digits) == 0 {
		return buf, digits, fmt.Errorf("%q is not a number", s)
	}
	kept = digits
	dscale := max(frac-exp, 0)
	// The value is digits × 10^k, digits an integer.
	k := exp - frac
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
		k++
	}
	if len(digits) == 0 {
		buf = appendInt32(buf, 8)
		buf = appendInt16(buf, 0) // no digits
		buf = appendInt16(buf, 0) // weight
		buf = appendInt16(buf, 0) // zero is positive
		return appendInt16(buf, int16(dscale)), kept, nil
	}
	// Align the last digit to a base-10000 boundary, then the first.
	for (k%4+4)%4 != 0 {
		digits = append(digits, 0)
		k--
	}
	lead := (4 - len(digits)%4) % 4
	groups := (len(digits) + lead) / 4
	weight := k/4 + groups - 1
	if groups > 0x7fff || weight > 0x7fff || weight < -0x8000 || dscale > 0x3fff {
		return buf, kept, fmt.Errorf("%q is out of Postgres's numeric range", s)
	}
	buf = appendInt32(buf, int32(8+2*groups))
	buf = appendInt16(buf, int16(groups))
	buf = appendInt16(buf, int16(weight))
	if neg {
		buf = binary.BigEndian.AppendUint16(buf, 0x4000)
	} else {
		buf = appendInt16(buf, 0)
	}
	buf = appendInt16(buf, int16(dscale))
	var g, j int
	for j = 0; j < lead; j++ {
		g *= 10
	}
	for _, d := range digits {
		g = g*10 + int(d)
		j++
		if j == 4 {
			buf = appendInt16(buf, int16(g))
			g, j = 0, 0
		}
	}
	return buf, kept, nil
}

// AppendCopyBinary appends row i as a binary COPY tuple. digits is scratch
// space for numbers, returned for reuse.
func (r lineItemRows) AppendCopyBinary(buf, digits []byte, i int) ([]byte, []byte, error) {
	l := &r.items[i]
	buf = appendInt16(buf, int16(len(lineItemColumns)))
	buf = appendBinaryText(buf, r.run.OrgID)
	buf = appendBinaryText(buf, r.run.ConnectorID)
	buf = appendBinaryText(buf, r.run.ID)
	var err error
	for _, f := range billing.Fields {
		switch {
		case f.Num != nil:
			if buf, digits, err = appendBinaryNumeric(buf, *f.Num(l), digits); err != nil {
				return buf, digits, fmt.Errorf("%s: %w", f.Name, err)
			}
		case f.Time != nil:
			if buf, err = appendBinaryTime(buf, *f.Time(l)); err != nil {
				return buf, digits, fmt.Errorf("%s: %w", f.Name, err)
			}
		case f.Kind == billing.KindJSON:
			buf = appendBinaryJSONB(buf, *f.Str(l))
		default:
			buf = appendBinaryText(buf, *f.Str(l))
		}
	}
	if len(l.Extras) == 0 && l.ExtrasJSON == "" {
		return appendBinaryNull(buf), digits, nil
	}
	// The jsonb's length goes before it: write the object, then fill it in.
	at := len(buf)
	buf = append(appendInt32(buf, 0), 1)
	buf = r.extras.appendItem(buf, l)
	binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
	return buf, digits, nil
}

package awsbilling

import (
	"fmt"
	"time"

	"github.com/truecost/truecost/adapters/focusfile"
)

// jsonObject writes pairs as a JSON object of strings; no pairs give "".
func jsonObject(pairs []kv) string {
	if len(pairs) == 0 {
		return ""
	}
	b := make([]byte, 0, 64)
	b = append(b, '{')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, p.k)
		b = append(b, ':')
		b = appendJSONString(b, p.v)
	}
	return string(append(b, '}'))
}

func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// parseTime reads the CUR's timestamps fast when they have the usual
// shapes ("2026-09-01T00:00:00Z", "2026-09-01 00:00:00+00:00",
// "2026-09-01T00:00:00.000Z") and hands anything else to focusfile.ParseTime.
func parseTime(v string) (time.Time, error) {
	if len(v) >= 19 && (v[10] == 'T' || v[10] == ' ') {
		rest := v[19:]
		if rest == "Z" || rest == "+00:00" || rest == "" || rest == ".000Z" {
			if t, ok := digitsTime(v); ok {
				return t, nil
			}
		}
	}
	t, err := focusfile.ParseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date-time (want e.g. 2026-09-01T00:00:00Z)", v)
	}
	return t, nil
}

func digitsTime(v string) (time.Time, bool) {
	n := func(i, w int) int {
		x := 0
		for _, c := range []byte(v[i : i+w]) {
			if c < '0' || c > '9' {
				return -1
			}
			x = x*10 + int(c-'0')
		}
		return x
	}
	if v[4] != '-' || v[7] != '-' || v[13] != ':' || v[16] != ':' {
		return time.Time{}, false
	}
	y, mo, dd, h, mi, s := n(0, 4), n(5, 2), n(8, 2), n(11, 2), n(14, 2), n(17, 2)
	if y < 0 || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), dd, h, mi, s, 0, time.UTC)
	if t.Day() != dd { // 31 April and the like
		return time.Time{}, false
	}
	return t, true
}

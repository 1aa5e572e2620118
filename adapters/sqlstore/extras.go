package sqlstore

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// extrasEncoder writes a line item's Extras as the JSON object
// encoding/json would — keys sorted, the same escapes — without its
// reflection, and without sorting again when a row has the same keys as
// the row before, as rows of one file mostly do.
type extrasEncoder struct {
	keys []string // the previous row's keys, sorted
}

// append appends the JSON object of extras to buf; nothing when it is
// empty. A nil encoder remembers nothing.
func (e *extrasEncoder) append(buf []byte, extras map[string]string) []byte {
	if len(extras) == 0 {
		return buf
	}
	if e == nil {
		e = new(extrasEncoder)
	}
	if !e.sameKeys(extras) {
		e.keys = e.keys[:0]
		for k := range extras {
			e.keys = append(e.keys, k)
		}
		slices.Sort(e.keys)
	}
	buf = append(buf, '{')
	for i, k := range e.keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		buf = appendJSONString(buf, extras[k])
	}
	return append(buf, '}')
}

func (e *extrasEncoder) sameKeys(extras map[string]string) bool {
	if len(extras) != len(e.keys) {
		return false
	}
	for _, k := range e.keys {
		if _, ok := extras[k]; !ok {
			return false
		}
	}
	return true
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it: plain text is copied, anything else is left to encoding/json.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			b, _ := json.Marshal(s) // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

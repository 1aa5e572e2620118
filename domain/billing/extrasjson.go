package billing

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// AppendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it: plain text is copied, anything else is left to encoding/json.
// Extras objects are written with it, by the store from Extras and by
// readers that fill ExtrasJSON, so both give the same text.
func AppendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			b, _ := json.Marshal(s) // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// jsonPlain marks the bytes encoding/json writes as they are: printable
// ASCII but the quote, the backslash and the HTML-escaped <, > and &.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// extrasNUL returns the key of an ExtrasJSON object whose key or value
// holds a NUL, which encoding/json writes as \u0000; "" when none does.
func extrasNUL(obj string) (string, bool) {
	if !strings.Contains(obj, `\u0000`) {
		return "", false
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(obj), &m); err != nil {
		return "Extras", true
	}
	for k, v := range m {
		if strings.IndexByte(v, 0) >= 0 || strings.IndexByte(k, 0) >= 0 {
			return k, true
		}
	}
	return "", false
}

package billing

import (
	"encoding/json"
	"unicode/utf8"
)

// tagKind is how a tag's JSON value reads.
type tagKind uint8

const (
	// tagString is a JSON string: the value is its text.
	tagString tagKind = iota
	// tagNull is JSON null: the tag has no value, as SQL's JSON operators
	// read it.
	tagNull
	// tagOther is a number, boolean, object or array: the value is its
	// JSON text, which databases render each their own way.
	tagOther
)

// tagPair is one tag of a parsed tag object.
type tagPair struct {
	Key, Value string
	Kind       tagKind
}

// parseTags reads a tag JSON object into dst, in no particular order; a
// key written twice keeps its last value, as in Postgres's jsonb.
func parseTags(raw string, dst []tagPair) ([]tagPair, error) {
	if tags, ok := scanPlainTags(raw, dst[:0]); ok {
		return tags, nil
	}
	return parseTagsJSON(raw, dst[:0])
}

// scanPlainTags reads, without allocating, the tag objects most exports
// write: string keys with string or null values, none escaped or written
// twice. Keys and values are slices of raw. It reports false for anything
// else, including invalid JSON, which parseTagsJSON then reads.
func scanPlainTags(raw string, dst []tagPair) ([]tagPair, bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return nil, false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return dst, skipSpace(raw, i+1) == len(raw)
	}
	for {
		key, j, ok := scanPlainString(raw, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(raw, j)
		if i == len(raw) || raw[i] != ':' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
		p := tagPair{Key: key}
		if len(raw)-i >= 4 && raw[i:i+4] == "null" {
			p.Kind = tagNull
			i += 4
		} else if p.Value, i, ok = scanPlainString(raw, i); !ok {
			return nil, false
		}
		for _, q := range dst {
			if q.Key == key {
				return nil, false
			}
		}
		dst = append(dst, p)
		i = skipSpace(raw, i)
		if i == len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return dst, skipSpace(raw, i+1) == len(raw)
		default:
			return nil, false
		}
	}
}

// scanPlainString reads the JSON string starting at raw[i] when it has no
// escape, no control character and valid UTF-8; it returns the text and
// the index past the closing quote.
func scanPlainString(raw string, i int) (string, int, bool) {
	if i == len(raw) || raw[i] != '"' {
		return "", 0, false
	}
	ascii := true
	for j := i + 1; j < len(raw); j++ {
		switch c := raw[j]; {
		case c == '"':
			s := raw[i+1 : j]
			return s, j + 1, ascii || utf8.ValidString(s)
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", 0, false
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// parseTagsJSON reads any tag object with encoding/json.
func parseTagsJSON(raw string, dst []tagPair) ([]tagPair, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, err
	}
	for k, v := range obj {
		var s string
		switch {
		case string(v) == "null":
			dst = append(dst, tagPair{Key: k, Kind: tagNull})
		case len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil:
			dst = append(dst, tagPair{Key: k, Value: s, Kind: tagString})
		default:
			dst = append(dst, tagPair{Key: k, Value: string(v), Kind: tagOther})
		}
	}
	return dst, nil
}

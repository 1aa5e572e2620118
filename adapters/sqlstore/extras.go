package sqlstore

import (
	"slices"

	"github.com/truecost/truecost/domain/billing"
)

// extrasEncoder writes a line item's Extras as the JSON object
// encoding/json would — keys sorted, the same escapes — without its
// reflection, and without sorting again when a row has the same keys as
// the row before, as rows of one file mostly do.
type extrasEncoder struct {
	keys []string // the previous row's keys, sorted
}

// extrasText returns a line item's extras as stored: its ExtrasJSON when a
// reader encoded them, else Extras encoded here; "" when it has none.
func (e *extrasEncoder) extrasText(l *billing.LineItem) string {
	if l.ExtrasJSON != "" {
		return l.ExtrasJSON
	}
	return string(e.append(nil, l.Extras))
}

// appendItem appends a line item's extras as stored (see extrasText).
func (e *extrasEncoder) appendItem(buf []byte, l *billing.LineItem) []byte {
	if l.ExtrasJSON != "" {
		return append(buf, l.ExtrasJSON...)
	}
	return e.append(buf, l.Extras)
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
		buf = billing.AppendJSONString(buf, k)
		buf = append(buf, ':')
		buf = billing.AppendJSONString(buf, extras[k])
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

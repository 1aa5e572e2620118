package csvfile

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestParserReadsAsEncodingCSVDoes compares the parser with encoding/csv on
// random text made of what CSV is made of: every record, every field's
// line, every error with its lines and column.
func TestParserReadsAsEncodingCSVDoes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 7))
	alphabet := []string{"a", "bc", ",", ",", "\"", "\"\"", "\n", "\r\n", "\r", " ", "é"}
	for n := range 20000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		// A small buffer makes long lines take the slow path too.
		if msg := compareWithEncodingCSV(b.String(), 16+rng.IntN(3)*64); msg != "" {
			t.Fatalf("case %d %q: %s", n, b.String(), msg)
		}
	}
}

func FuzzParserReadsAsEncodingCSVDoes(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\"x\"\"y\",2\r\n", "a,\"b\n", "1,x\"y\n", "\"a\nb\",c\n\n\nd,e", "\"\r\n\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if msg := compareWithEncodingCSV(s, 16); msg != "" {
			t.Fatal(msg)
		}
	})
}

// compareWithEncodingCSV reads text with both and describes the first
// difference, or returns "".
func compareWithEncodingCSV(text string, bufSize int) string {
	cr := csv.NewReader(bufio.NewReaderSize(strings.NewReader(text), bufSize))
	cr.ReuseRecord = true
	p := &parser{br: bufio.NewReaderSize(strings.NewReader(text), bufSize)}
	for rec := 0; ; rec++ {
		want, wantErr := cr.Read()
		got, gotErr := p.read()
		if !sameError(gotErr, wantErr) {
			return fmt.Sprintf("record %d: error %v, want %v", rec, gotErr, wantErr)
		}
		if wantErr == io.EOF {
			return ""
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("record %d: %q, want %q", rec, got, want)
		}
		if wantErr != nil {
			continue // both go on with the next line
		}
		for i := range want {
			if line, _ := cr.FieldPos(i); p.fieldLine(i) != line {
				return fmt.Sprintf("record %d field %d: line %d, want %d", rec, i, p.fieldLine(i), line)
			}
		}
	}
}

func sameError(got, want error) bool {
	var g, w *csv.ParseError
	if errors.As(want, &w) {
		return errors.As(got, &g) && *g == *w
	}
	return errors.Is(got, want)
}

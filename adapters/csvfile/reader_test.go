package csvfile_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

type row struct {
	line int
	rec  []string
}

func readAll(t *testing.T, r io.Reader) ([]string, []row, error) {
	t.Helper()
	rd, err := csvfile.Open("f.csv", r, "a test header row")
	if err != nil {
		return nil, nil, err
	}
	var rows []row
	err = rd.Each(context.Background(), func(rec []string, line int) error {
		rows = append(rows, row{line, append([]string(nil), rec...)})
		return nil
	})
	return rd.Header(), rows, err
}

func TestOpenDropsBOMAcceptsCRLFAndNumbersLines(t *testing.T) {
	text := "\uFEFF\"a\", b \r\n1,2\r\n\r\n\"x\r\ny\",3\r\n4,\"\"\r\n"
	rd, err := csvfile.Open("f.csv", strings.NewReader(text), "a test header row")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rd.Header(), "|"); got != "a|b" {
		t.Errorf("header %q, want a|b", got)
	}
	if rd.Column("a") != 0 || rd.Column("b") != 1 || rd.Column("c") != -1 {
		t.Errorf("Column: a %d, b %d, c %d; want 0, 1, -1", rd.Column("a"), rd.Column("b"), rd.Column("c"))
	}
	want := []row{{2, []string{"1", "2"}}, {4, []string{"x\ny", "3"}}, {6, []string{"4", ""}}}
	var fieldLine int
	for i := 0; ; i++ {
		rec, err := rd.Read()
		if err == io.EOF {
			if i != len(want) {
				t.Errorf("%d records, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) || rd.Line() != want[i].line || strings.Join(rec, "|") != strings.Join(want[i].rec, "|") {
			t.Errorf("record %d: line %d %q", i, rd.Line(), rec)
			continue
		}
		if i == 1 {
			fieldLine = rd.FieldLine(1)
		}
	}
	if fieldLine != 5 {
		t.Errorf("FieldLine of the field after a quoted line break: %d, want 5", fieldLine)
	}
}

func TestOpenRejectsEmptyAndEndlessFirstLines(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "f.csv: line 1: empty file: a test header row is required"},
		{"only a byte-order mark", "\uFEFF", "f.csv: line 1: empty file: a test header row is required"},
		{"blank lines", "\r\n \r\n", "f.csv: line 1: empty file: a test header row is required"},
		{"no line end within a MiB", strings.Repeat("a", 1<<20+1), "f.csv: line 1: no header row: the first line is longer than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, strings.NewReader(tt.text))
			if err == nil || err.Error() != tt.want || domain.ErrorCode(err) != domain.Invalid {
				t.Errorf("got %v (code %s), want invalid %q", err, domain.ErrorCode(err), tt.want)
			}
		})
	}
}

// brokenReader yields its text, then fails with err.
type brokenReader struct {
	text string
	err  error
}

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.text == "" {
		return 0, b.err
	}
	n := copy(p, b.text)
	b.text = b.text[n:]
	return n, nil
}

func TestReadErrorsSayFileLineAndColumn(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("a,b\n" + strings.Repeat("1,2\n", 5000)))
	zw.Close()
	truncated, err := gzip.NewReader(bytes.NewReader(gz.Bytes()[:gz.Len()/2]))
	if err != nil {
		t.Fatal(err)
	}
	dropped := errors.New("connection reset by peer")
	tests := []struct {
		name string
		r    io.Reader
		code domain.Code
		want string
	}{
		{"wrong field count", strings.NewReader("a,b\n1,2\n1,2,3\n"), domain.Invalid,
			"f.csv: line 3: wrong number of fields (want one per header column)"},
		{"bare quote", strings.NewReader("a,b\n1,x\"y\n"), domain.Invalid,
			"f.csv: line 2, column 4: malformed CSV: bare \" in non-quoted-field"},
		{"unterminated quote", strings.NewReader("a,b\n1,2\n\"x,2\n"), domain.Invalid,
			"f.csv: line 3, column 6: malformed CSV: extraneous or missing \" in quoted-field"},
		{"malformed header", strings.NewReader("a,\"b\n"), domain.Invalid, "f.csv: line 1, column 6: malformed CSV"},
		{"truncated gzip", truncated, domain.Invalid, "cannot read the file: broken compressed data (corrupt or truncated)"},
		{"dropped connection", &brokenReader{"a,b\n1,2\n3,4\n", dropped}, domain.Unavailable,
			"f.csv: line 4: cannot read the file: connection reset by peer"},
		{"dropped connection before the header ends", &brokenReader{"a,", dropped}, domain.Unavailable,
			"f.csv: line 1: cannot read the file: connection reset by peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.want) || domain.ErrorCode(err) != tt.code {
				t.Errorf("got %v (code %s), want %s containing %q", err, domain.ErrorCode(err), tt.code, tt.want)
			}
		})
	}
	if err := csvfile.ReadError("f.csv", 3, dropped); !errors.Is(err, dropped) {
		t.Errorf("ReadError dropped its cause: %v", err)
	}
}

func TestReadErrorPassesCancellationAndCodedErrorsThrough(t *testing.T) {
	coded := domain.Errorf(domain.Forbidden, "access denied to bucket b")
	for _, err := range []error{context.Canceled, context.DeadlineExceeded, coded} {
		if got := csvfile.ReadError("f.csv", 2, err); got != err {
			t.Errorf("ReadError(%v) = %v, want it unchanged", err, got)
		}
	}
}

func TestEachLocatesRowErrorsAndStopsWhenCancelled(t *testing.T) {
	text := "a,b\n1,2\n3,4\n5,6\n"
	rd, err := csvfile.Open("f.csv", strings.NewReader(text), "a test header row")
	if err != nil {
		t.Fatal(err)
	}
	err = rd.Each(context.Background(), func(rec []string, line int) error {
		if rec[0] == "3" {
			return &billing.RowError{Column: "b", Message: "is odd"}
		}
		return nil
	})
	if want := "f.csv: line 3, column b: is odd"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	rd, err = csvfile.Open("f.csv", strings.NewReader(text), "a test header row")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = rd.Each(ctx, func([]string, int) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("read %d records and returned %v; want 1 record, then context.Canceled", n, err)
	}
}

func TestSetHeaderRenamesColumns(t *testing.T) {
	rd, err := csvfile.Open("f.csv", strings.NewReader("Provider,x\nAWS,1\n"), "a test header row")
	if err != nil {
		t.Fatal(err)
	}
	rd.SetHeader([]string{"ProviderName", "x"})
	if rd.Column("ProviderName") != 0 || rd.Column("Provider") != -1 || rd.Header()[0] != "ProviderName" {
		t.Errorf("after SetHeader: header %q, ProviderName at %d, Provider at %d", rd.Header(), rd.Column("ProviderName"), rd.Column("Provider"))
	}
}

func TestReadHeaderReadsOnlyTheFirstRowAsOpenDoes(t *testing.T) {
	h, err := csvfile.ReadHeader(strings.NewReader("\uFEFF\"BilledCost\", Tags \r\n1,{}\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h, "|"); got != "BilledCost|Tags" {
		t.Errorf("header %q, want BilledCost|Tags", got)
	}
}

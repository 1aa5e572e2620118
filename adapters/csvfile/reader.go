package csvfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/truecost/truecost/domain/billing"
)

// bufferSize is the read-ahead between a file and the parser: large enough
// for few system calls, small enough to keep memory flat. It also bounds the
// header row.
const bufferSize = 1 << 20

var bom = []byte("\uFEFF")

// Reader reads the records of a CSV file that starts with a header row.
// Records are checked to have one field per header column.
type Reader struct {
	name   string
	p      *parser
	header []string
	index  map[string]int
	line   int // where the last record read (or the header) starts
}

// Open reads the header row of the CSV text in r and returns a Reader on
// the records after it. A UTF-8 byte-order mark is dropped and header names
// are trimmed of spaces. name is used in errors, which are the billing
// domain's: an empty file is domain.Invalid and says that want (for example
// "a FOCUS header row") is required; a first line longer than 1 MiB (a file
// with no line ends) is refused rather than read whole into memory; read
// failures are described by ReadError.
func Open(name string, r io.Reader, want string) (*Reader, error) {
	br, err := start(name, r)
	if err != nil {
		return nil, err
	}
	p := &parser{br: br}
	rec, err := p.read()
	if err == io.EOF {
		return nil, billing.InputError(name, 1, "", "empty file: %s is required", want)
	}
	if err != nil {
		return nil, ReadError(name, 1, err)
	}
	header := clean(rec)
	if len(header) == 1 && header[0] == "" {
		return nil, billing.InputError(name, 1, "", "empty file: %s is required", want)
	}
	p.fields = len(header)
	rd := &Reader{name: name, p: p}
	rd.line = p.fieldLine(0)
	rd.SetHeader(header)
	return rd, nil
}

// start buffers r, drops a byte-order mark, and checks that the first line
// ends within the buffer.
func start(name string, r io.Reader) (*bufio.Reader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < bufferSize {
		br = bufio.NewReaderSize(r, bufferSize)
	}
	head, err := br.Peek(bufferSize)
	if len(head) == bufferSize && bytes.IndexByte(head, '\n') < 0 {
		return nil, billing.InputError(name, 1, "", "no header row: the first line is longer than %d bytes", bufferSize)
	}
	if err != nil && err != io.EOF {
		// Peek has taken the read error from br: give the parser the bytes
		// before it, then the error, so it is reported where it happened.
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(head)), failingReader{err}), bufferSize)
	}
	if bytes.HasPrefix(head, bom) {
		_, _ = br.Discard(len(bom))
	}
	return br, nil
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// clean copies a header row without spaces around its names.
func clean(rec []string) []string {
	header := make([]string, len(rec))
	for i, h := range rec {
		header[i] = strings.TrimSpace(h)
	}
	return header
}

// ReadHeader returns the first row of the CSV text in r as Open reads it
// (byte-order mark dropped, names trimmed), for telling what a file holds
// without decoding it. Its errors are r's or encoding/csv's, unmapped.
func ReadHeader(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(len(bom)); bytes.Equal(head, bom) {
		_, _ = br.Discard(len(bom))
	}
	rec, err := csv.NewReader(br).Read()
	if err != nil {
		return nil, err
	}
	return clean(rec), nil
}

// Name is the file name the Reader's errors give.
func (r *Reader) Name() string { return r.name }

// Header returns the column names. The slice belongs to the Reader: rename
// columns with SetHeader.
func (r *Reader) Header() []string { return r.header }

// SetHeader renames the columns, for instance from a provider's spelling to
// the one a decoder reads. h must hold one name per column.
func (r *Reader) SetHeader(h []string) {
	if r.header != nil && len(h) != len(r.header) {
		panic(fmt.Sprintf("csvfile: SetHeader with %d names for %d columns", len(h), len(r.header)))
	}
	r.header = h
	r.index = make(map[string]int, len(h))
	for i, name := range h {
		if _, dup := r.index[name]; !dup {
			r.index[name] = i
		}
	}
}

// Column returns the index of the first column with exactly this name, or
// -1.
func (r *Reader) Column(name string) int {
	if i, ok := r.index[name]; ok {
		return i
	}
	return -1
}

// Line returns the line the last record read starts on; right after Open,
// the header's.
func (r *Reader) Line() int { return r.line }

// FieldLine returns the line field i of the last record read starts on,
// which is after Line when an earlier field holds quoted line breaks.
func (r *Reader) FieldLine(i int) int {
	return r.p.fieldLine(i)
}

// Read returns the next record, or io.EOF after the last one. The slice is
// reused by the next Read; the strings in it are not, so they may be kept.
// A record whose field count differs from the header's, malformed CSV, and
// a failure to read the bytes are errors from ReadError.
func (r *Reader) Read() ([]string, error) {
	rec, err := r.p.read()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, ReadError(r.name, r.line+1, err)
	}
	r.line = r.p.fieldLine(0)
	return rec, nil
}

// Each calls fn with every remaining record and the line it starts on,
// until the file ends, an error occurs, or ctx is done (checked before each
// record). The record slice is reused: fn must copy it to keep it. A
// *billing.RowError that fn returns is placed at the record's line; other
// errors from fn are returned as they are.
func (r *Reader) Each(ctx context.Context, fn func(rec []string, line int) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec, r.line); err != nil {
			return billing.LocateRowError(r.name, r.line, err)
		}
	}
}

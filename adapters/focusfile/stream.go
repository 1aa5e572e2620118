package focusfile

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/truecost/truecost/domain/billing"
)

// CountingReader passes reads through and reports the bytes read so far,
// for progress.
type CountingReader struct {
	R      io.Reader
	N      int64
	Report func(n int64)
}

// Read reads from R and reports the running total.
func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	if n > 0 {
		c.N += int64(n)
		if c.Report != nil {
			c.Report(c.N)
		}
	}
	return n, err
}

// fileBufferSize is large enough for few system calls and small enough to
// keep memory flat.
const fileBufferSize = 1 << 20

var gzipMagic = []byte{0x1f, 0x8b}

// Decompress returns the text of a billing file read from br, gunzipped
// when it starts with the gzip magic number (the content decides, not the
// name). A file named .gz that is not gzip, or a broken gzip header, is an
// billing.InputError naming the file. close releases the decompressor.
func Decompress(name string, br *bufio.Reader) (text *bufio.Reader, close func(), err error) {
	magic, _ := br.Peek(len(gzipMagic))
	if !bytes.Equal(magic, gzipMagic) {
		if strings.HasSuffix(strings.ToLower(name), ".gz") {
			return nil, nil, billing.InputError(name, 1, "", "named .gz but not gzip-compressed")
		}
		return br, func() {}, nil
	}
	gz, err := gzip.NewReader(br)
	if err != nil {
		return nil, nil, billing.InputError(name, 1, "", "not a valid gzip file: %v", err)
	}
	return bufio.NewReaderSize(gz, fileBufferSize), func() { gz.Close() }, nil
}

// NewFileReader buffers r for Decompress.
func NewFileReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, fileBufferSize) }

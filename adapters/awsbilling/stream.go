package awsbilling

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// readBufferSize is the read-ahead between the network (or disk) and the
// decompressor: large enough for few system calls, small enough to keep
// memory flat.
const readBufferSize = 1 << 20

var (
	parquetMagic = []byte("PAR1")
	zipMagic     = []byte("PK\x03\x04")
)

// decompress returns the text of a CSV file, gunzipping it when it starts
// with the gzip magic number. The returned closer releases the decompressor.
func decompress(name string, r io.Reader) (*bufio.Reader, func(), error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, readBufferSize)
	}
	switch p, _ := br.Peek(4); {
	case bytes.Equal(p, parquetMagic):
		return nil, nil, billing.InputError(name, 1, "", "a Parquet file where CSV was expected")
	case bytes.Equal(p, zipMagic):
		return nil, nil, billing.InputError(name, 1, "", "ZIP-compressed reports cannot be streamed; set the report's compression to GZIP or Parquet")
	}
	return focusfile.Decompress(name, br)
}

func contextError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// readerAt gives random access to an opened object, as Parquet needs: a
// local file is used in place; anything else (an S3 stream) is copied to a
// temporary file first, which keeps memory flat for any file size. The
// returned cleanup closes and removes what was created.
func readerAt(name string, rc io.Reader, progress func(int64)) (io.ReaderAt, int64, func(), error) {
	if f, ok := rc.(*os.File); ok {
		info, err := f.Stat()
		if err != nil {
			return nil, 0, nil, domain.WrapError(domain.Invalid, err, "cannot read %s", name)
		}
		if progress != nil {
			progress(info.Size())
		}
		return f, info.Size(), func() {}, nil
	}
	tmp, err := os.CreateTemp("", "truecost-aws-*.parquet")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spool %s: %w", name, err)
	}
	cleanup := func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	n, err := io.Copy(tmp, &focusfile.CountingReader{R: rc, Report: progress})
	if err != nil {
		cleanup()
		if ctxErr := contextError(err); ctxErr != nil {
			return nil, 0, nil, ctxErr
		}
		return nil, 0, nil, domain.WrapError(domain.Unavailable, err, "cannot download %s: %v", name, err)
	}
	return tmp, n, cleanup, nil
}

package awsbilling

import (
	"context"
	"io"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/domain/billing"
)

// chunkRows is how many records travel together from the goroutine that
// reads a CUR's CSV to the one that maps them.
const chunkRows = 256

// recordChunk is a run of records of one width, one after the other, with
// the line each starts on, and what ended reading after them (io.EOF at
// the end of the file), if anything did.
type recordChunk struct {
	fields []string
	lines  []int
	err    error
}

// eachRecord calls fn with every remaining record of rd and the line it
// starts on, as csvfile.Reader.Each does, but reads and parses the CSV on a
// goroutine of its own, so that decompressing and parsing a file overlap
// with mapping its rows. fn runs on the caller's goroutine, in file order;
// a read error is returned after the records before it were handed to fn.
// The record slice is only valid during the call; its strings may be kept.
// When eachRecord returns, the reading goroutine has stopped reading rd.
func eachRecord(ctx context.Context, name string, rd *csvfile.Reader, fn func(rec []string, line int) error) error {
	width := len(rd.Header())
	const chunks = 3
	full, free := make(chan *recordChunk, chunks), make(chan *recordChunk, chunks)
	for range chunks {
		free <- &recordChunk{fields: make([]string, 0, chunkRows*width), lines: make([]int, 0, chunkRows)}
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		defer close(full)
		for {
			var c *recordChunk
			select {
			case c = <-free:
			case <-stop:
				return
			}
			c.fields, c.lines, c.err = c.fields[:0], c.lines[:0], nil
			for len(c.lines) < chunkRows && c.err == nil {
				select {
				case <-stop:
					return
				default:
				}
				if c.err = ctx.Err(); c.err != nil {
					break
				}
				var rec []string
				switch rec, c.err = rd.Read(); {
				case c.err != nil:
				case len(rec) != width: // the reader refuses these; be sure
					c.err = billing.InputError(name, rd.Line(), "", "%d fields where the header has %d", len(rec), width)
				default:
					c.fields = append(c.fields, rec...)
					c.lines = append(c.lines, rd.Line())
				}
			}
			select {
			case full <- c:
			case <-stop:
				return
			}
			if c.err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		<-stopped
	}()
	for c := range full {
		for i, line := range c.lines {
			rec := c.fields[i*width : (i+1)*width : (i+1)*width]
			if err := fn(rec, line); err != nil {
				return billing.LocateRowError(name, line, err)
			}
		}
		if c.err == io.EOF {
			return nil
		}
		if c.err != nil {
			return c.err
		}
		free <- c
	}
	return nil
}

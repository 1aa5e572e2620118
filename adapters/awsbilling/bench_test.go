package awsbilling_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/domain/billing"
)

// BenchmarkDecodeCUR measures the streaming path on the September sample
// (4,320 rows of 196 columns, gzipped): gunzip, CSV, FOCUS mapping.
func BenchmarkDecodeCUR(b *testing.B) {
	data, err := readFile("testdata/bucket/" + septemberCSV)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rows := 0
		err := awsbilling.DecodeCUR(context.Background(), "sep.csv.gz", bytes.NewReader(data), func(*billing.LineItem) error {
			rows++
			return nil
		})
		if err != nil || rows != 4320 {
			b.Fatalf("%d rows, %v", rows, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*4320), "ns/row")
}

// repeatedCUR streams a gzipped CUR of the sample's header followed by its
// rows repeated times times, produced while it is read so that no copy of
// the whole file exists.
func repeatedCUR(t testing.TB, times int) io.Reader {
	t.Helper()
	raw, err := readFile("testdata/bucket/" + septemberCSV)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.IndexByte(text, '\n')
	header, body := text[:i+1], text[i+1:]
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriter(pw)
		zw := gzip.NewWriter(bw)
		_, err := zw.Write(header)
		for n := 0; n < times && err == nil; n++ {
			_, err = zw.Write(body)
		}
		if err == nil {
			err = zw.Close()
		}
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

func TestDecodeCURMemoryStaysFlatWhateverTheFileSize(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("streams a large file; skipped with -short and -race")
	}
	const times = 12 // 51,840 rows, about 50 MB of CSV text
	var peak uint64
	var ms runtime.MemStats
	rows := 0
	err := awsbilling.DecodeCUR(context.Background(), "big.csv.gz", repeatedCUR(t, times), func(*billing.LineItem) error {
		if rows++; rows%4000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows != 4320*times {
		t.Errorf("decoded %d rows, want %d", rows, 4320*times)
	}
	// The source text alone is several times this; a decoder holding rows
	// would exceed it.
	if peak > 24<<20 {
		t.Errorf("live heap reached %d MiB while streaming", peak>>20)
	}
}

package ocibilling_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/truecost/truecost/adapters/ocibilling"
	"github.com/truecost/truecost/domain/billing"
)

// BenchmarkDecodeCostReport measures the proprietary cost report path on
// the September sample (2,880 rows): CSV and FOCUS mapping.
func BenchmarkDecodeCostReport(b *testing.B) {
	data, err := os.ReadFile(sampleSep)
	if err != nil {
		b.Fatal(err)
	}
	const n = 2880
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rows := 0
		err := ocibilling.DecodeCostReport(context.Background(), "sep.csv", bytes.NewReader(data), func(*billing.LineItem) error {
			rows++
			return nil
		})
		if err != nil || rows != n {
			b.Fatalf("%d rows, %v", rows, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

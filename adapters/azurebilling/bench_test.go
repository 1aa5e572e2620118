package azurebilling_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/truecost/truecost/adapters/azurebilling"
	"github.com/truecost/truecost/domain/billing"
)

// BenchmarkDecodeCostDetails measures the cost-details CSV path on the
// September sample (3,000 rows): CSV and FOCUS mapping.
func BenchmarkDecodeCostDetails(b *testing.B) {
	data, err := os.ReadFile(sepFile)
	if err != nil {
		b.Fatal(err)
	}
	const n = 3000
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rows := 0
		err := azurebilling.Decode(context.Background(), "sep.csv", bytes.NewReader(data), azurebilling.DecodeOptions{}, func(*billing.LineItem) error {
			rows++
			return nil
		})
		if err != nil || rows != n {
			b.Fatalf("%d rows, %v", rows, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

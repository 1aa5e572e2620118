package focusfile_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain/billing"
)

// focusRows writes a FOCUS CSV of every FOCUS column plus two extras, with
// n rows whose values vary the way an export's do (repeated periods and
// tags, distinct amounts and resources).
func focusRows(n int) []byte {
	var b bytes.Buffer
	for _, f := range billing.Fields {
		b.WriteString(f.Name)
		b.WriteByte(',')
	}
	b.WriteString("x_Discount,x_Operation\r\n")
	for i := range n {
		day := 1 + i%28
		for _, f := range billing.Fields {
			switch f.Kind {
			case billing.KindTime:
				switch f.Name {
				case "BillingPeriodStart":
					b.WriteString("2024-09-01T00:00:00Z")
				case "BillingPeriodEnd":
					b.WriteString("2024-10-01T00:00:00Z")
				default:
					fmt.Fprintf(&b, "2024-09-%02dT%02d:00:00Z", day, i%24)
				}
			case billing.KindDecimal:
				fmt.Fprintf(&b, "%d.%06d", i%97, (i*7919)%1000000)
			case billing.KindJSON:
				if f.Name == "Tags" {
					fmt.Fprintf(&b, `"{""team"": ""t%d"", ""env"": ""prod""}"`, i%5)
				}
			default:
				switch f.Name {
				case "BillingCurrency":
					b.WriteString("USD")
				case "ProviderName":
					b.WriteString("AWS")
				case "ResourceId":
					fmt.Fprintf(&b, "arn:aws:ec2:us-east-1:123456789012:instance/i-%08x", i)
				default:
					b.WriteString(strings.ToLower(f.Name[:3]) + "-value")
				}
			}
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "-0.%d,RunInstances\r\n", i%10)
	}
	return b.Bytes()
}

// BenchmarkDecodeFOCUS measures the FOCUS CSV path: CSV, column parsing and
// checks, per row.
func BenchmarkDecodeFOCUS(b *testing.B) {
	const n = 10_000
	data := focusRows(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rows := 0
		err := focusfile.Decode(context.Background(), "bench.csv", bytes.NewReader(data), func(*billing.LineItem) error {
			rows++
			return nil
		})
		if err != nil || rows != n {
			b.Fatalf("%d rows, %v", rows, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

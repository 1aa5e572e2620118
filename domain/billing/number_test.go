package billing_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/domain/billing"
)

func TestParseNumberAcceptsDecimalsAndRejectsTheRest(t *testing.T) {
	for _, ok := range []string{"0", "-3", "+2.5", "370.3400000000", ".5", "5.", "1.7e-05", "2E+3", "0.22255356620000002"} {
		if _, err := billing.ParseNumber(ok); err != nil {
			t.Errorf("ParseNumber(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-", ".", "abc", "1,5", "1.2.3", "1e", "1e99999", "NaN", "Inf", " 1", "$1", "0x10"} {
		if _, err := billing.ParseNumber(bad); err == nil {
			t.Errorf("ParseNumber(%q) accepted", bad)
		}
	}
}

// TestSumIsExact adds random amounts of every shape — short and long,
// negative, scientific — and compares with arbitrary-precision addition.
func TestSumIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := 0; round < 200; round++ {
		var s billing.Sum
		want := decimal.Zero
		for i := 0; i < 500; i++ {
			var text string
			switch rng.IntN(6) {
			case 0:
				text = fmt.Sprintf("%d.%0*d", rng.Int64N(1e6)-5e5, rng.IntN(12)+1, rng.Int64N(1e12))
			case 1:
				text = fmt.Sprintf("%d", rng.Int64()-rng.Int64())
			case 2:
				text = fmt.Sprintf("%de-%02d", rng.Int64N(1e6), rng.IntN(20))
			case 3:
				text = fmt.Sprintf("188.%d%d", rng.Int64(), rng.Int64()) // beyond int64
			case 4:
				text = fmt.Sprintf("-0.%020d", rng.Int64())
			default:
				text = "0.22255356620000002"
			}
			n, err := billing.ParseNumber(text)
			if err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			s.Add(n)
			want = want.Add(decimal.RequireFromString(text))
		}
		if got := s.Decimal(); !got.Equal(want) {
			t.Fatalf("round %d: sum %s, want %s", round, got, want)
		}
		var merged billing.Sum
		merged.AddSum(s)
		merged.AddSum(s)
		if got := merged.Decimal(); !got.Equal(want.Add(want)) {
			t.Fatalf("round %d: AddSum %s, want %s", round, got, want.Add(want))
		}
	}
}

func BenchmarkSum(b *testing.B) {
	n := billing.Number("468.17049576")
	for i := 0; i < b.N; i++ {
		var s billing.Sum
		for j := 0; j < 100; j++ {
			s.Add(n)
		}
	}
}

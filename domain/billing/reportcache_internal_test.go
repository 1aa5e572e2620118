package billing

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestReportCacheComputesOnceForConcurrentAskers has 20 askers of one
// question at one data version: the answer is computed once, a new version
// computes it again, and the oldest entries make room for new ones.
func TestReportCacheComputesOnceForConcurrentAskers(t *testing.T) {
	c := newReportCache(2)
	var computed atomic.Int32
	compute := func() (CostReport, error) {
		computed.Add(1)
		time.Sleep(20 * time.Millisecond)
		return CostReport{Totals: []Money{{Amount: decimal.RequireFromString("1.5"), Currency: "USD"}}}, nil
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := c.do("q", "v1", compute)
			if err != nil || len(rep.Totals) != 1 {
				t.Errorf("answer %+v, %v", rep, err)
			}
		}()
	}
	wg.Wait()
	if n := computed.Load(); n != 1 {
		t.Errorf("computed %d times for 20 concurrent askers, want once", n)
	}
	if _, _ = c.do("q", "v2", compute); computed.Load() != 2 {
		t.Errorf("a new data version did not compute again (%d)", computed.Load())
	}
	c.do("a", "v2", compute)
	c.do("b", "v2", compute)
	if _, ok := c.entries["q"]; ok || len(c.entries) != 2 {
		t.Errorf("entries %d, oldest kept: %v", len(c.entries), ok)
	}
}

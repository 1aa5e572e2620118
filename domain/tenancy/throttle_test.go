package tenancy_test

import (
	"testing"
	"time"

	"github.com/truecost/truecost/domain/tenancy"
)

func TestBackoffDoublesAfterTheFreeFailuresAndForgets(t *testing.T) {
	t.Parallel()
	b := tenancy.Backoff{Free: 2, Base: time.Second, Max: 10 * time.Second, Forget: time.Hour}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var a tenancy.Attempt
	var waits []time.Duration
	for range 8 {
		a = b.Fail(a, now)
		waits = append(waits, b.Wait(a, now))
	}
	want := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits after each failure = %v, want %v", waits, want)
		}
	}
	if w := b.Wait(a, now.Add(11*time.Second)); w != 0 {
		t.Errorf("wait once the block is over = %v, want 0", w)
	}
	if a = b.Fail(a, now.Add(2*time.Hour)); a.Failures != 1 || b.Wait(a, now.Add(2*time.Hour)) != 0 {
		t.Errorf("a failure after Forget = %+v, want a fresh count of 1 without a wait", a)
	}
	// Many failures cap at Max rather than overflow.
	for range 100 {
		a = b.Fail(a, now)
	}
	if w := b.Wait(a, now); w != b.Max {
		t.Errorf("wait after 100 failures = %v, want %v", w, b.Max)
	}
}

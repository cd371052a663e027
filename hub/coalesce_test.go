package hub

import (
	"testing"
	"time"
)

// TestCoalesceThreshold: writers start waiting once the node writes faster
// than the threshold, and stop once it writes slower than half of it.
func TestCoalesceThreshold(t *testing.T) {
	var co coalescer
	window, delay := 100*time.Millisecond, 5*time.Millisecond
	for _, step := range []struct {
		writes int
		above  int
		want   time.Duration
	}{
		{4_000, 50_000, 0},     // 40,000/s: below
		{5_000, 50_000, 0},     // exactly at the threshold: not above
		{6_000, 50_000, delay}, // 60,000/s: above
		{3_000, 50_000, delay}, // 30,000/s: coalescing lowered the rate; above half, it stays
		{2_000, 50_000, 0},     // 20,000/s: below half, off
		{3_000, 50_000, 0},     // between: stays off
		{6_000, -1, 0},         // coalescing disabled
	} {
		for range step.writes {
			co.wrote()
		}
		co.measure(window, step.above, delay)
		if got := co.wait(); got != step.want {
			t.Errorf("%d writes in %v, threshold %d/s: wait %v, want %v", step.writes, window, step.above, got, step.want)
		}
	}
}

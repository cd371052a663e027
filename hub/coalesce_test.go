package hub

import (
	"testing"
	"time"
)

// TestCoalesceThreshold: writers wait only while the node writes faster
// than the threshold, and stop waiting in the first window below it.
func TestCoalesceThreshold(t *testing.T) {
	var co coalescer
	window, delay := 100*time.Millisecond, 5*time.Millisecond
	for _, step := range []struct {
		writes int
		above  int
		want   time.Duration
	}{
		{4_000, 50_000, 0},     // 40,000/s: below
		{6_000, 50_000, delay}, // 60,000/s: above
		{6_000, 50_000, delay},
		{100, 50_000, 0},   // quiet again: no wait
		{6_000, -1, 0},     // coalescing off
		{5_000, 50_000, 0}, // exactly at the threshold: not above
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

package hub

import (
	"testing"
	"time"
)

// TestCoalesceThreshold: writers start waiting once the node writes frames
// faster than the threshold, and stop once it writes them slower than half
// of it. What counts is frames, not writes: coalescing puts many frames in
// one write, and must not switch itself off by doing so.
func TestCoalesceThreshold(t *testing.T) {
	var co coalescer
	window, delay := 100*time.Millisecond, 5*time.Millisecond
	for _, step := range []struct {
		writes, perWrite int
		above            int
		want             time.Duration
	}{
		{4_000, 1, 50_000, 0},     // 40,000 frames/s: below
		{5_000, 1, 50_000, 0},     // exactly at the threshold: not above
		{6_000, 1, 50_000, delay}, // 60,000/s: above
		{400, 15, 50_000, delay},  // coalesced: 4,000 writes/s, still 60,000 frames/s: stays on
		{3_000, 1, 50_000, delay}, // 30,000/s: above half, it stays
		{2_000, 1, 50_000, 0},     // 20,000/s: below half, off
		{3_000, 1, 50_000, 0},     // between: stays off
		{6_000, 1, -1, 0},         // coalescing disabled
	} {
		for range step.writes {
			co.wrote(step.perWrite)
		}
		co.measure(window, step.above, delay)
		if got := co.wait(); got != step.want {
			t.Errorf("%d writes of %d frames in %v, threshold %d/s: wait %v, want %v", step.writes, step.perWrite, window, step.above, got, step.want)
		}
	}
}

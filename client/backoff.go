package client

import (
	"math/rand/v2"
	"time"
)

// Backoff says how long the real-time client waits before reconnecting:
// exponential from Initial, doubling per failed attempt up to Max, with
// "equal jitter" (a random wait in the upper half of the step) so that the
// clients of a restarted server do not come back all at once. The zero
// value means DefaultBackoff.
type Backoff struct {
	Initial time.Duration // the step of the first retry; 250 ms if zero
	Max     time.Duration // the largest step; 30 s if zero
}

// DefaultBackoff is the backoff used when RealtimeOptions leave it zero.
var DefaultBackoff = Backoff{Initial: 250 * time.Millisecond, Max: 30 * time.Second}

// Delay returns the wait before retry number attempt (0 for the first
// retry): a random duration in [step/2, step], where step is
// Initial·2^attempt capped at Max.
func (b Backoff) Delay(attempt int) time.Duration {
	return b.delay(attempt, rand.Float64())
}

// delay is Delay with the random number r in [0, 1) given.
func (b Backoff) delay(attempt int, r float64) time.Duration {
	initial, most := b.Initial, b.Max
	if initial <= 0 {
		initial = DefaultBackoff.Initial
	}
	if most <= 0 {
		most = DefaultBackoff.Max
	}
	if most < initial {
		most = initial
	}
	step := initial
	for i := 0; i < attempt && step < most; i++ {
		step *= 2
	}
	step = min(step, most)
	half := step / 2
	return half + time.Duration(r*float64(step-half))
}

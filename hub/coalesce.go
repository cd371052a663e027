package hub

import (
	"sync/atomic"
	"time"
)

// Write coalescing. Every socket write is a system call, and on a busy node
// system calls are most of the CPU: at 1,000 recipients of 200 messages a
// second, 200,000 writes a second, one event each. When the frames the
// node writes pass Config.CoalesceAbove a second, each connection's writer
// waits Config.CoalesceDelay after waking before it takes its queue, so
// that one write carries the events of that interval: fewer, larger
// writes, and latencies that stay bounded instead of queueing up behind
// the CPU (bench/README.md, fanout-1000). Below the threshold nothing
// waits, so a quiet node keeps its lowest latency.
//
// The rate measured is of frames, not of writes: coalescing divides the
// writes, so a write rate falls below the threshold as soon as coalescing
// works, and coalescing went off and on every window under a steady load
// (throughput-100 spent 23% of its CPU in writev for it).
type coalescer struct {
	frames atomic.Int64 // frames written since the last measure
	delay  atomic.Int64 // the wait in force, nanoseconds; 0 below the threshold
}

// coalesceWindow is how often the node's frame rate is measured.
const coalesceWindow = 100 * time.Millisecond

// wrote counts the frames of one socket write.
func (co *coalescer) wrote(frames int) { co.frames.Add(int64(frames)) }

// wait returns how long a writer waits before taking its queue now.
func (co *coalescer) wait() time.Duration { return time.Duration(co.delay.Load()) }

// measure sets the wait from the frames of the last window: the delay once
// they come faster than above per second, none once they fall below half
// of it (between the two the wait stays as it is, so that a load near the
// threshold does not flap on and off).
func (co *coalescer) measure(window time.Duration, above int, delay time.Duration) {
	rate := float64(co.frames.Swap(0)) / window.Seconds()
	switch {
	case above <= 0 || rate < float64(above)/2:
		co.delay.Store(0)
	case rate > float64(above):
		co.delay.Store(int64(delay))
	}
}

// coalesceEvery measures the node's frame rate every coalesceWindow until
// Close.
func (h *Hub) coalesceEvery() {
	defer h.wg.Done()
	for {
		t := h.clock.NewTimer(coalesceWindow)
		select {
		case <-h.stop:
			t.Stop()
			return
		case <-t.C():
		}
		h.co.measure(coalesceWindow, h.cfg.CoalesceAbove, h.cfg.CoalesceDelay)
	}
}

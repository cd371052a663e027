package clocktest

import (
	"slices"
	"sync"
	"time"

	"github.com/herald-chat/herald"
)

// Clock is a settable herald.Clock. Its wall time changes only through
// Advance and Set. Its timers fire when Advance or Set reaches their
// deadline; with RealTimers they also fire once their duration has passed
// in real time, for tests that drive real connections whose heartbeats and
// backoff must keep running while the wall time stands still.
//
// It is safe for concurrent use.
type Clock struct {
	real bool

	mu      sync.Mutex // guards the fields below
	now     time.Time
	timers  []*timer      // armed, unordered
	changed chan struct{} // closed and replaced whenever timers changes
}

var _ herald.Clock = (*Clock)(nil)

// Option configures a Clock.
type Option func(*Clock)

// RealTimers makes timers also fire after their duration in real time.
func RealTimers() Option { return func(c *Clock) { c.real = true } }

// New returns a Clock reading start.
func New(start time.Time, opts ...Option) *Clock {
	c := &Clock{now: start, changed: make(chan struct{})}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d forward and fires every timer whose deadline
// it reaches. A negative d moves it back and fires nothing.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// Set moves the clock to t, forward or back; moving forward fires the
// timers whose deadline t reaches. Timers keep their deadlines, so moving
// back makes them wait longer, as a wall-clock step would not; use Advance
// for time that passes.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(t)
}

func (c *Clock) setLocked(t time.Time) {
	c.now = t
	for _, tm := range slices.Clone(c.timers) {
		if !tm.at.After(t) {
			c.fireLocked(tm)
		}
	}
}

// NewTimer returns a timer that fires d from now.
func (c *Clock) NewTimer(d time.Duration) herald.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: c, ch: make(chan time.Time, 1), at: c.now.Add(d)}
	if d <= 0 {
		t.fired = true
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	c.notifyLocked()
	if c.real {
		t.real = time.AfterFunc(d, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.fireLocked(t)
		})
	}
	return t
}

// Timers returns how many timers are armed (made, not yet fired or
// stopped).
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitTimers waits until at least n timers are armed, or until within has
// passed in real time; it reports whether n were reached. A test calls it
// before Advance to know that the code under test is waiting on the clock.
func (c *Clock) WaitTimers(n int, within time.Duration) bool {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		got, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

func (c *Clock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// fireLocked sends the current time on t's channel once and disarms it.
func (c *Clock) fireLocked(t *timer) {
	if t.fired || t.stopped {
		return
	}
	t.fired = true
	t.ch <- c.now // buffered 1 and sent once: never blocks
	c.removeLocked(t)
}

func (c *Clock) removeLocked(t *timer) {
	if i := slices.Index(c.timers, t); i >= 0 {
		c.timers = slices.Delete(c.timers, i, i+1)
		c.notifyLocked()
	}
	if t.real != nil {
		t.real.Stop()
	}
}

// timer is one timer of a Clock; its state is guarded by the clock's mu.
type timer struct {
	c       *Clock
	ch      chan time.Time
	at      time.Time
	real    *time.Timer // with RealTimers
	fired   bool
	stopped bool
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.fired || t.stopped {
		return false
	}
	t.stopped = true
	t.c.removeLocked(t)
	return true
}

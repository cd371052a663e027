package client

import (
	"time"

	"github.com/herald-chat/herald"
)

// Clock tells the time and waits for the real-time client and the
// refreshing credential. Inject a fake one in tests so that refreshes,
// heartbeats, acknowledgement batching and backoff run without sleeping and
// on any date; a nil Clock means the system clock. It is herald.Clock, so
// one clock can drive a test server and the SDK that talks to it.
type Clock = herald.Clock

// Timer is a one-shot timer made by a Clock.
type Timer = herald.Timer

// systemClock is the real clock, with full precision (herald.SystemClock
// truncates to milliseconds for storage).
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return herald.SystemClock{}.NewTimer(d) }

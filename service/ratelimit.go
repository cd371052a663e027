package service

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/herald-chat/herald"
)

// limiter is a token bucket per user for write operations. The buckets use
// the service's clock, so tests control time.
type limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex // guards users
	users map[herald.UserID]*rate.Limiter
}

// maxBuckets bounds the map; past it the buckets start over (every user
// gets a full burst again), which errs on the side of serving.
const maxBuckets = 100_000

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, users: map[herald.UserID]*rate.Limiter{}}
}

// allow takes one token for user at now, or returns a rate_limited error
// saying when to retry. A nil limiter allows everything.
func (l *limiter) allow(user herald.UserID, now time.Time) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	b, ok := l.users[user]
	if !ok {
		if len(l.users) >= maxBuckets {
			l.users = map[herald.UserID]*rate.Limiter{}
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.users[user] = b
	}
	r := b.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if delay > 0 {
		r.CancelAt(now)
	}
	l.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	return rateLimited(delay)
}

// rateLimited is the 429 of a write over the rate, retryable after delay.
func rateLimited(delay time.Duration) error {
	return &herald.Error{Code: herald.CodeRateLimited, Reason: herald.ReasonRateLimited, RetryAfter: delay,
		Message: "too many writes from this user; retry after " + delay.Round(time.Millisecond).String()}
}

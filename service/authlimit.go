package service

import (
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/herald-chat/herald"
)

// failures is a token bucket per client address for failed
// authentications: each guess (a wrong admin key, a token or ticket this
// server did not issue) takes a token, and an address whose bucket is
// empty is refused before its credential is even looked at. The buckets
// use the service's clock, so tests control time.
type failures struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex // guards addrs
	addrs map[string]*rate.Limiter
}

func newFailures(perSecond float64, burst int) *failures {
	if perSecond <= 0 {
		return nil
	}
	return &failures{rate: rate.Limit(perSecond), burst: max(burst, 1), addrs: map[string]*rate.Limiter{}}
}

// guesses are the refusals that count against an address: credentials
// that could be guesses. A missing, expired or revoked credential was
// issued by this server (or is absent) and guesses nothing.
var guesses = map[herald.Reason]bool{
	herald.ReasonAdminKeyInvalid:  true,
	herald.ReasonTokenInvalid:     true,
	herald.ReasonTicketInvalid:    true,
	herald.ReasonSignatureInvalid: true,
}

// CheckAuthFailures refuses addr (a client address, without port) with
// 429 too_many_auth_failures when it has used up its budget of failed
// authentications (Limits.AuthFailureRate and AuthFailureBurst), saying
// when to retry. Transports call it before authenticating anyone from addr.
func (s *Service) CheckAuthFailures(addr string) error {
	f := s.failures
	if f == nil {
		return nil
	}
	now := s.clock.Now()
	f.mu.Lock()
	b, ok := f.addrs[addr]
	tokens := float64(f.burst)
	if ok {
		tokens = b.TokensAt(now)
	}
	f.mu.Unlock()
	if tokens >= 1 {
		return nil
	}
	wait := time.Duration(math.Ceil((1 - tokens) / float64(f.rate) * float64(time.Second)))
	return &herald.Error{Code: herald.CodeRateLimited, Reason: herald.ReasonTooManyAuthFailures, RetryAfter: wait,
		Message: "too many failed authentications from this address; retry after " + wait.Round(time.Second).String()}
}

// AuthFailed counts err against addr if it is a refused credential that
// could be a guess; any other error (or nil) counts nothing.
func (s *Service) AuthFailed(addr string, err error) {
	f := s.failures
	var e *herald.Error
	if f == nil || !errors.As(err, &e) || !guesses[e.Reason] {
		return
	}
	now := s.clock.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.addrs[addr]
	if !ok {
		if len(f.addrs) >= maxBuckets {
			f.addrs = map[string]*rate.Limiter{} // errs on the side of serving, as the write limiter
		}
		b = rate.NewLimiter(f.rate, f.burst)
		f.addrs[addr] = b
	}
	b.AllowN(now, 1)
}

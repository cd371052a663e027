package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// RefreshingCredential is a Credential that can renew its token while it
// is in use. The real-time client uses it to keep a connection open past
// the token's expiry: it sends every new token in-band (a refresh frame)
// and, after a 4101 token_expired close, refreshes and reconnects instead
// of stopping. TokenCredential implements it.
type RefreshingCredential interface {
	Credential
	// Refresh obtains a new token now, whatever the current one's expiry,
	// and returns it. Concurrent calls share one refresh.
	Refresh(ctx context.Context) (string, error)
	// OnRefresh calls fn with every new token after it has replaced the old
	// one, until cancel is called. fn must not block and must not call
	// Refresh.
	OnRefresh(fn func(token string)) (cancel func())
}

// DefaultRefreshBefore is how long before its token's expiry a
// TokenCredential starts refreshing, unless WithRefreshBefore says
// otherwise. It is the lead time of ACS's refreshProactively.
const DefaultRefreshBefore = 10 * time.Minute

// MinRefreshRetry is the shortest wait between two failed proactive
// refreshes of a TokenCredential.
const MinRefreshRetry = time.Second

// expiryMargin is how long before its exp a token counts as expired: a
// token about to expire would be refused on arrival.
const expiryMargin = 5 * time.Second

// CredentialOption configures a TokenCredential.
type CredentialOption func(*TokenCredential)

// WithRefreshBefore sets how long before the token's expiry the proactive
// refresh starts (DefaultRefreshBefore if not given). A d of zero or less
// turns proactive refresh off: the token is then refreshed only when it is
// asked for after it expired, or by Refresh.
func WithRefreshBefore(d time.Duration) CredentialOption {
	return func(c *TokenCredential) { c.before = d }
}

// WithCredentialClock makes the credential read the time and wait with
// clock instead of the system clock. A nil clock is ignored.
func WithCredentialClock(clock Clock) CredentialOption {
	return func(c *TokenCredential) {
		if clock != nil {
			c.clock = clock
		}
	}
}

// TokenCredential is a Credential that renews its access token with a
// refresher, like ACS's CommunicationTokenCredential with
// refreshProactively: starting RefreshBefore ahead of the token's expiry it
// calls the refresher, retrying with increasing frequency (at half the time
// left, at least MinRefreshRetry apart) until one succeeds or the token
// expires; after that, Token refreshes on demand. Expiry is the exp claim
// of the token read as a JWT without verifying it (the server verifies); a
// token whose exp cannot be read is refreshed only on demand (Refresh, or a
// 4101 close seen by the real-time client).
//
// It is safe for concurrent use. Close stops the background refresh.
type TokenCredential struct {
	refresher func(ctx context.Context) (string, error)
	clock     Clock
	before    time.Duration

	ctx    context.Context // cancelled by Close; refreshes run in it
	cancel context.CancelFunc
	wake   chan struct{}  // buffered 1: the token changed; the proactive loop plans again
	wg     sync.WaitGroup // the proactive loop and refreshes in flight

	mu      sync.Mutex // guards the fields below
	token   string
	exp     time.Time // zero when unknown
	got     time.Time // when token was obtained
	flight  *flight   // the refresh in progress, if any
	subs    map[int]func(string)
	nextSub int
	closed  bool
}

// flight is one call of the refresher, shared by everyone who waits for it.
type flight struct {
	done  chan struct{} // closed when token and err are set
	token string
	err   error
}

var _ RefreshingCredential = (*TokenCredential)(nil)

// errCredentialClosed is returned by a TokenCredential after Close.
var errCredentialClosed = errors.New("herald: the credential is closed")

// NewTokenCredential returns a credential that starts with initial (which
// may be empty: the first Token then calls refresher) and renews it with
// refresher, which must return an unexpired token of the same user. A nil
// refresher makes a credential that never refreshes: Token returns initial
// even after it expired and lets the server refuse it. Unless proactive
// refresh is turned off (WithRefreshBefore(0)) or refresher is nil, a
// background goroutine refreshes ahead of expiry until Close.
func NewTokenCredential(initial string, refresher func(ctx context.Context) (string, error), opts ...CredentialOption) *TokenCredential {
	c := &TokenCredential{
		refresher: refresher,
		clock:     systemClock{},
		before:    DefaultRefreshBefore,
		wake:      make(chan struct{}, 1),
		subs:      map[int]func(string){},
	}
	for _, o := range opts {
		o(c)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.token, c.got = initial, c.clock.Now()
	if _, exp, ok := peekToken(initial); ok {
		c.exp = exp
	}
	if refresher != nil && c.before > 0 {
		c.wg.Add(1)
		go c.proactive()
	}
	return c
}

// Token returns the current token, or refreshes it first if it has expired
// (or is within a few seconds of expiring) or is empty. A refresh error is
// returned as is.
func (c *TokenCredential) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, exp, closed := c.token, c.exp, c.closed
	c.mu.Unlock()
	if closed {
		return "", errCredentialClosed
	}
	if c.refresher == nil || (tok != "" && (exp.IsZero() || c.clock.Now().Before(exp.Add(-expiryMargin)))) {
		return tok, nil
	}
	return c.Refresh(ctx)
}

// Refresh calls the refresher now and returns the new token. Concurrent
// callers (and the proactive refresh) share one call; ctx bounds only the
// wait of this caller, while the call itself is cancelled by Close.
func (c *TokenCredential) Refresh(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return "", errCredentialClosed
	}
	if c.refresher == nil {
		c.mu.Unlock()
		return "", errors.New("herald: the credential has no refresher")
	}
	f := c.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flight = f
		c.wg.Add(1)
		go c.run(f)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// run calls the refresher for f, stores a good token and tells the
// subscribers before it lets f's waiters go, so that subscribers see the
// tokens in the order they were obtained.
func (c *TokenCredential) run(f *flight) {
	defer c.wg.Done()
	tok, err := c.refresher(c.ctx)
	now := c.clock.Now()
	var exp time.Time
	if err != nil {
		err = fmt.Errorf("herald: refresh access token: %w", err)
	} else if tok == "" {
		err = errors.New("herald: refresh access token: the refresher returned an empty token")
	} else if _, e, ok := peekToken(tok); ok {
		exp = e
		if !now.Before(exp) {
			err = fmt.Errorf("herald: refresh access token: the refresher returned a token that expired at %s", exp.UTC().Format(time.RFC3339))
		}
	}
	var subs []func(string)
	c.mu.Lock()
	stored := err == nil && !c.closed
	if stored {
		c.token, c.exp, c.got = tok, exp, now
		for _, fn := range c.subs {
			subs = append(subs, fn)
		}
	}
	c.mu.Unlock()
	for _, fn := range subs {
		fn(tok)
	}
	if stored {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	c.mu.Lock()
	c.flight = nil
	c.mu.Unlock()
	f.token, f.err = tok, err
	if err != nil {
		f.token = ""
	}
	close(f.done)
}

// proactive refreshes ahead of expiry until Close. After a failure it tries
// again at half the time left (at least MinRefreshRetry later); once the
// token has expired it waits for an on-demand refresh to succeed.
func (c *TokenCredential) proactive() {
	defer c.wg.Done()
	var retryAt time.Time // after a failure: when to try again
	for {
		var fire <-chan time.Time
		var timer Timer
		if at, ok := c.nextRefresh(retryAt); ok {
			timer = c.clock.NewTimer(at.Sub(c.clock.Now()))
			fire = timer.C()
		}
		select {
		case <-c.ctx.Done():
			stop(timer)
			return
		case <-c.wake:
			stop(timer)
			retryAt = time.Time{}
			continue
		case <-fire:
		}
		if _, err := c.Refresh(c.ctx); err == nil || c.ctx.Err() != nil {
			retryAt = time.Time{}
			continue
		}
		now := c.clock.Now()
		c.mu.Lock()
		left := c.exp.Sub(now)
		c.mu.Unlock()
		retryAt = now.Add(max(left/2, MinRefreshRetry))
	}
}

// nextRefresh says when the proactive loop refreshes next: at retryAt after
// a failure, else RefreshBefore ahead of expiry, but never sooner than half
// the token's lifetime since it was obtained (a refresher that returns
// short tokens is not called in a loop). It reports false when there is
// nothing to plan: the expiry is unknown or past.
func (c *TokenCredential) nextRefresh(retryAt time.Time) (time.Time, bool) {
	c.mu.Lock()
	exp, got := c.exp, c.got
	c.mu.Unlock()
	if exp.IsZero() || !c.clock.Now().Before(exp) {
		return time.Time{}, false
	}
	if !retryAt.IsZero() {
		return retryAt, true
	}
	at := exp.Add(-c.before)
	if half := got.Add(exp.Sub(got) / 2); at.Before(half) {
		at = half
	}
	return at, true
}

// OnRefresh calls fn with every new token after it has replaced the old
// one, until cancel is called. fn runs on the refreshing goroutine: it must
// not block and must not call Refresh.
func (c *TokenCredential) OnRefresh(fn func(token string)) (cancel func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextSub
	c.nextSub++
	c.subs[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs, id)
	}
}

// ExpiresOn returns the current token's expiry, or the zero time if it is
// unknown.
func (c *TokenCredential) ExpiresOn() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exp
}

// Close stops the proactive refresh, cancels a refresh in progress and
// waits for both to end. Token and Refresh fail after Close.
func (c *TokenCredential) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.subs = map[int]func(string){}
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

func stop(t Timer) {
	if t != nil {
		t.Stop()
	}
}

// peekToken reads the sub and exp claims of a JWT without verifying it. It
// reports false if token is not a JWT with a numeric exp; sub may be empty.
func peekToken(token string) (sub string, exp time.Time, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", time.Time{}, false
	}
	var claims struct {
		Sub string   `json:"sub"`
		Exp *float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil || *claims.Exp <= 0 || *claims.Exp > 1e11 {
		return claims.Sub, time.Time{}, false
	}
	secs := int64(*claims.Exp)
	nanos := int64((*claims.Exp - float64(secs)) * 1e9)
	return claims.Sub, time.Unix(secs, nanos), true
}

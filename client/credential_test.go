package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// refresher is a scripted token refresher: each call takes the next answer.
type refresher struct {
	mu      sync.Mutex
	calls   int
	answers []func() (string, error)
	called  chan int // receives the call number after each call
}

func newRefresher(answers ...func() (string, error)) *refresher {
	return &refresher{answers: answers, called: make(chan int, 100)}
}

func (r *refresher) refresh(context.Context) (string, error) {
	r.mu.Lock()
	i := r.calls
	r.calls++
	var tok string
	err := errors.New("no more answers")
	if i < len(r.answers) {
		tok, err = r.answers[i]()
	}
	r.mu.Unlock()
	r.called <- i + 1
	return tok, err
}

func (r *refresher) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *refresher) waitCall(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case got := <-r.called:
			if got >= n {
				return
			}
		case <-deadline:
			tb.Fatalf("the refresher was not called %d times (got %d)", n, r.count())
		}
	}
}

func token(tok string) func() (string, error) { return func() (string, error) { return tok, nil } }

func failure() (string, error) { return "", errors.New("identity service down") }

func mustToken(tb testing.TB, c *TokenCredential) string {
	tb.Helper()
	tok, err := c.Token(context.Background())
	if err != nil {
		tb.Fatalf("Token: %v", err)
	}
	return tok
}

func TestCredentialRefreshesBeforeExpiry(t *testing.T) {
	clk := newFakeClock()
	first := jwt("u_1", clk.Now().Add(time.Hour))
	second := jwt("u_1", clk.Now().Add(3*time.Hour))
	ref := newRefresher(token(second))
	c := NewTokenCredential(first, ref.refresh, WithCredentialClock(clk))
	defer c.Close()
	var hooked atomic.Value
	cancel := c.OnRefresh(func(tok string) { hooked.Store(tok) })
	defer cancel()

	timer := clk.waitTimer(t, "proactive refresh", is(50*time.Minute))
	clk.Advance(timer.d - time.Second)
	if got := mustToken(t, c); got != first || ref.count() != 0 {
		t.Fatalf("before the refresh window: got token %q after %d refreshes, want the first token and none", got, ref.count())
	}
	clk.Advance(time.Second)
	ref.waitCall(t, 1)
	// The next refresh is planned for the new token once it is stored.
	clk.waitTimer(t, "next proactive refresh", is(3*time.Hour-50*time.Minute-10*time.Minute))
	if got := mustToken(t, c); got != second {
		t.Errorf("Token: got %q, want the refreshed token", got)
	}
	if got, _ := hooked.Load().(string); got != second {
		t.Errorf("OnRefresh: got %q, want the refreshed token", got)
	}
	if got, want := c.ExpiresOn(), clk.Now().Add(3*time.Hour-50*time.Minute).Truncate(time.Second); !got.Equal(want) {
		t.Errorf("ExpiresOn: got %v, want %v", got, want)
	}
}

func TestCredentialRetriesWithIncreasingFrequency(t *testing.T) {
	clk := newFakeClock()
	exp := clk.Now().Add(time.Hour)
	fresh := jwt("u_1", exp.Add(time.Hour))
	answers := []func() (string, error){failure, failure, failure, token(fresh)}
	ref := newRefresher(answers...)
	c := NewTokenCredential(jwt("u_1", exp), ref.refresh, WithCredentialClock(clk))
	defer c.Close()

	timer := clk.waitTimer(t, "proactive refresh", is(50*time.Minute))
	clk.Advance(timer.d)
	// Each failure waits half the time left: 5 min, 2.5 min, 1.25 min.
	for i, want := range []time.Duration{5 * time.Minute, 150 * time.Second, 75 * time.Second} {
		ref.waitCall(t, i+1)
		timer := clk.waitTimer(t, "retry", func(time.Duration) bool { return true })
		if timer.d != want {
			t.Fatalf("retry %d: got a wait of %s, want %s", i+1, timer.d, want)
		}
		clk.Advance(timer.d)
	}
	ref.waitCall(t, 4)
	clk.waitTimer(t, "next proactive refresh", func(time.Duration) bool { return true })
	if got := mustToken(t, c); got != fresh {
		t.Errorf("Token: got %q, want the token of the fourth attempt", got)
	}
}

func TestCredentialRetryWaitHasAFloor(t *testing.T) {
	clk := newFakeClock()
	c := NewTokenCredential(jwt("u_1", clk.Now().Add(3*time.Second)), newRefresher(failure).refresh,
		WithCredentialClock(clk), WithRefreshBefore(time.Hour))
	defer c.Close()
	// The lifetime rule plans the first attempt at half the 3 s; after it
	// fails, half the 1.5 s left is under MinRefreshRetry.
	timer := clk.waitTimer(t, "proactive refresh", is(1500*time.Millisecond))
	clk.Advance(timer.d)
	retry := clk.waitTimer(t, "retry", func(time.Duration) bool { return true })
	if retry.d != MinRefreshRetry {
		t.Errorf("got a retry wait of %s, want MinRefreshRetry (%s)", retry.d, MinRefreshRetry)
	}
}

func TestCredentialRefreshesOnDemandWhenExpired(t *testing.T) {
	clk := newFakeClock()
	fresh := jwt("u_1", clk.Now().Add(time.Hour))
	release := make(chan struct{})
	var calls atomic.Int32
	c := NewTokenCredential(jwt("u_1", clk.Now().Add(-time.Minute)), func(context.Context) (string, error) {
		calls.Add(1)
		<-release
		return fresh, nil
	}, WithCredentialClock(clk), WithRefreshBefore(0))
	defer c.Close()

	var wg sync.WaitGroup
	got := make([]string, 5)
	errs := make([]error, 5)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = c.Token(context.Background()) })
	}
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i, tok := range got {
		if tok != fresh || errs[i] != nil {
			t.Errorf("caller %d: got %q, %v; want the refreshed token", i, tok, errs[i])
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("got %d refresher calls for 5 concurrent callers, want 1", n)
	}
}

func TestCredentialWithOpaqueTokenRefreshesOnlyOnDemand(t *testing.T) {
	clk := newFakeClock()
	ref := newRefresher(token("opaque-2"))
	c := NewTokenCredential("opaque-1", ref.refresh, WithCredentialClock(clk))
	defer c.Close()

	select {
	case timer := <-clk.created:
		t.Fatalf("a timer of %s was armed for a token without exp, want none", timer.d)
	default:
	}
	if got := mustToken(t, c); got != "opaque-1" {
		t.Errorf("Token: got %q, want the initial token", got)
	}
	tok, err := c.Refresh(context.Background())
	if err != nil || tok != "opaque-2" {
		t.Fatalf("Refresh: got %q, %v; want opaque-2", tok, err)
	}
	if got := mustToken(t, c); got != "opaque-2" {
		t.Errorf("Token after Refresh: got %q, want opaque-2", got)
	}
}

func TestCredentialRefusesExpiredOrEmptyRefresh(t *testing.T) {
	clk := newFakeClock()
	initial := jwt("u_1", clk.Now().Add(time.Hour))
	ref := newRefresher(token(jwt("u_1", clk.Now().Add(-time.Second))), token(""))
	c := NewTokenCredential(initial, ref.refresh, WithCredentialClock(clk), WithRefreshBefore(0))
	defer c.Close()
	for i := range 2 {
		if _, err := c.Refresh(context.Background()); err == nil {
			t.Errorf("refresh %d: got no error for a bad token", i+1)
		}
	}
	if got := mustToken(t, c); got != initial {
		t.Errorf("Token: got %q, want the initial token kept", got)
	}
}

func TestCredentialClose(t *testing.T) {
	clk := newFakeClock()
	c := NewTokenCredential(jwt("u_1", clk.Now().Add(time.Hour)), newRefresher().refresh, WithCredentialClock(clk))
	clk.waitTimer(t, "proactive refresh", func(time.Duration) bool { return true })
	c.Close()
	c.Close() // twice is fine
	if _, err := c.Token(context.Background()); !errors.Is(err, errCredentialClosed) {
		t.Errorf("Token after Close: got %v, want errCredentialClosed", err)
	}
	if _, err := c.Refresh(context.Background()); !errors.Is(err, errCredentialClosed) {
		t.Errorf("Refresh after Close: got %v, want errCredentialClosed", err)
	}
}

func TestPeekToken(t *testing.T) {
	exp := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		token   string
		sub     string
		exp     time.Time
		wantExp bool
	}{
		{"jwt", jwt("u_1", exp), "u_1", exp, true},
		{"opaque", "not-a-jwt", "", time.Time{}, false},
		{"bad base64", "a.!!!.c", "", time.Time{}, false},
		{"no exp", "e30." + "eyJzdWIiOiJ1XzEifQ" + ".c", "u_1", time.Time{}, false},
		{"padded", "e30." + "eyJzdWIiOiJ1XzEifQ==" + ".c", "u_1", time.Time{}, false},
		{"string exp", "e30." + "eyJleHAiOiIxIn0" + ".c", "", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, exp, ok := peekToken(tt.token)
			if sub != tt.sub || ok != tt.wantExp || !exp.Equal(tt.exp) {
				t.Errorf("got (%q, %v, %v), want (%q, %v, %v)", sub, exp, ok, tt.sub, tt.exp, tt.wantExp)
			}
		})
	}
}

func TestBackoffBoundsAndJitter(t *testing.T) {
	b := Backoff{Initial: 250 * time.Millisecond, Max: 30 * time.Second}
	steps := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for attempt, step := range steps {
		if got := b.delay(attempt, 0); got != step/2 {
			t.Errorf("attempt %d, lowest: got %s, want %s", attempt, got, step/2)
		}
		if got := b.delay(attempt, 0.999999999); got > step || got < step-time.Millisecond {
			t.Errorf("attempt %d, highest: got %s, want just under %s", attempt, got, step)
		}
		seen := map[time.Duration]bool{}
		for range 50 {
			d := b.Delay(attempt)
			if d < step/2 || d > step {
				t.Fatalf("attempt %d: got %s, want within [%s, %s]", attempt, d, step/2, step)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: got %d distinct delays in 50, want jitter", attempt, len(seen))
		}
	}
	if got := b.delay(1000, 0); got != 15*time.Second {
		t.Errorf("attempt 1000: got %s, want the capped step's half (15s), no overflow", got)
	}
	if got := (Backoff{}).delay(0, 0); got != 125*time.Millisecond {
		t.Errorf("zero Backoff: got %s, want DefaultBackoff's 125ms", got)
	}
}

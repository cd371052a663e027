package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald/wire"
)

// These fakes stand at the edges the real-time client does not own: the
// clock and the transport. What the client decides is tested through them.

// waitLimit bounds how long a test waits for the client to do something;
// it is a safety net against hangs, never a measurement.
const waitLimit = 10 * time.Second

// fakeClock is a Clock that moves only when Advance is called. Every timer
// made is also sent on created, so a test can wait for the client to arm
// the timer it means to fire.
type fakeClock struct {
	mu      sync.Mutex // guards now and timers
	now     time.Time
	timers  []*fakeTimer
	created chan *fakeTimer
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), created: make(chan *fakeTimer, 10000)}
}

type fakeTimer struct {
	c  *fakeClock
	d  time.Duration
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{c: c, d: d, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
	} else {
		c.timers = append(c.timers, t)
	}
	c.mu.Unlock()
	c.created <- t
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	return true
}

// Advance moves the time forward by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- c.now
	}
	clear(c.timers[len(kept):])
	c.timers = kept
}

// waitTimer waits until the client arms a timer whose duration satisfies
// match, skipping the others.
func (c *fakeClock) waitTimer(tb testing.TB, what string, match func(time.Duration) bool) *fakeTimer {
	tb.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case t := <-c.created:
			if match(t.d) {
				return t
			}
		case <-deadline:
			tb.Fatalf("no %s timer was armed", what)
			return nil
		}
	}
}

func is(d time.Duration) func(time.Duration) bool {
	return func(got time.Duration) bool { return got == d }
}

func between(lo, hi time.Duration) func(time.Duration) bool {
	return func(got time.Duration) bool { return got >= lo && got <= hi }
}

// jwt returns an unsigned token with the given sub and exp, enough for
// the client, which reads claims without verifying them.
func jwt(sub string, exp time.Time) string {
	claims, _ := json.Marshal(map[string]any{"sub": sub, "exp": exp.Unix()})
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"EdDSA","typ":"JWT"}`)) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

// fakeLink is one connection as the fake server sees it.
type fakeLink struct {
	token string
	hello wire.ClientFrame
	in    chan wire.ServerFrame // frames for the client
	fail  chan error            // ends recv with this error
	out   chan wire.ClientFrame // frames the client sent

	once   sync.Once
	closed chan struct{}
	code   int // the close code the client gave; set before closed is closed
	reason string
}

var errLinkClosed = errors.New("fake link closed")

func (l *fakeLink) recv(ctx context.Context) (wire.ServerFrame, error) {
	select {
	case f := <-l.in:
		return f, nil
	case err := <-l.fail:
		return wire.ServerFrame{}, err
	case <-l.closed:
		return wire.ServerFrame{}, errLinkClosed
	case <-ctx.Done():
		return wire.ServerFrame{}, ctx.Err()
	}
}

func (l *fakeLink) send(ctx context.Context, f wire.ClientFrame) error {
	select {
	case <-l.closed:
		return errLinkClosed
	default:
	}
	select {
	case l.out <- f:
		return nil
	case <-l.closed:
		return errLinkClosed
	}
}

func (l *fakeLink) close(code int, reason string) {
	l.once.Do(func() {
		l.code, l.reason = code, reason
		close(l.closed)
	})
}

// fakeServer hands every dial to the test as a fakeLink.
type fakeServer struct {
	links  chan *fakeLink
	refuse chan error // if one is ready, the next dial fails with it
}

func newFakeServer() *fakeServer {
	return &fakeServer{links: make(chan *fakeLink, 16), refuse: make(chan error, 16)}
}

func (s *fakeServer) dial(ctx context.Context, token string, hello wire.ClientFrame, _ func()) (link, error) {
	select {
	case err := <-s.refuse:
		return nil, err
	default:
	}
	l := &fakeLink{token: token, hello: hello, in: make(chan wire.ServerFrame, 256), fail: make(chan error, 1),
		out: make(chan wire.ClientFrame, 1024), closed: make(chan struct{})}
	s.links <- l
	return l, nil
}

// accept waits for the client's next connection.
func (s *fakeServer) accept(tb testing.TB) *fakeLink {
	tb.Helper()
	select {
	case l := <-s.links:
		return l
	case <-time.After(waitLimit):
		tb.Fatal("the client did not connect")
		return nil
	}
}

// welcome sends a welcome with a long heartbeat, so that heartbeats stay
// out of tests that advance the clock for other reasons.
func (l *fakeLink) welcome(threads map[string]wire.ThreadResume) {
	l.in <- wire.ServerFrame{Type: wire.FrameWelcome, Version: 1, ConnectionID: "c_1", Transport: "websocket",
		HeartbeatMs: int64(time.Hour / time.Millisecond), TimeoutMs: int64(2 * time.Hour / time.Millisecond), Threads: threads}
}

// event sends a sequenced event (seq 0: unsequenced).
func (l *fakeLink) event(thread string, seq int64, typ string, data wire.EventData) {
	raw, _ := json.Marshal(data)
	l.in <- wire.ServerFrame{Type: wire.FrameEvent, ThreadID: thread, Seq: seq, Event: typ, Data: raw}
}

// next waits for the client's next frame of type typ, skipping others.
func (l *fakeLink) next(tb testing.TB, typ string) wire.ClientFrame {
	tb.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case f := <-l.out:
			if f.Type == typ {
				return f
			}
		case <-deadline:
			tb.Fatalf("the client sent no %s frame", typ)
		}
	}
}

// waitClosed waits until the client closes the link.
func (l *fakeLink) waitClosed(tb testing.TB) {
	tb.Helper()
	select {
	case <-l.closed:
	case <-time.After(waitLimit):
		tb.Fatal("the client did not close the connection")
	}
}

// noFrame checks that the client has sent no frame of type typ so far.
func (l *fakeLink) noFrame(tb testing.TB, typ string) {
	tb.Helper()
	for {
		select {
		case f := <-l.out:
			if f.Type == typ {
				tb.Fatalf("got a %s frame %+v, want none", typ, f)
			}
		default:
			return
		}
	}
}

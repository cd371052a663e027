package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/wire"
)

// logRules serves benchThread as a store would: events 1..head, every one
// visible to every user.
type logRules struct {
	benchRules
	head atomic.Int64
}

func (r *logRules) Positions(context.Context, herald.UserID) ([]herald.Position, error) {
	return []herald.Position{{ThreadID: benchThread, Joined: 1, Head: herald.Seq(r.head.Load())}}, nil
}

func (r *logRules) Replay(_ context.Context, u herald.UserID, _ herald.ThreadID, after herald.Seq, limit int) (herald.Catchup, error) {
	head := herald.Seq(r.head.Load())
	out := herald.Catchup{Through: after, Head: head}
	for s := after + 1; s <= head && len(out.Signals) < limit; s++ {
		out.Signals = append(out.Signals, benchSignal(s, []herald.UserID{u}))
		out.Through = s
	}
	return out, nil
}

// gateTransport records the event frames written and blocks every write
// while the gate is shut, as a client that reads slowly for a while.
type gateTransport struct {
	mu     sync.Mutex // guards the fields below
	seqs   []int64
	closed []int         // close codes
	gate   chan struct{} // nil while open; closed when it opens
	wrote  chan struct{} // a write started (buffered)

	caughtUp chan struct{} // closed once caughtUp is written
	once     sync.Once
}

// shut makes the next writes wait; release lets them go.
func (t *gateTransport) shut() { t.mu.Lock(); t.gate = make(chan struct{}); t.mu.Unlock() }
func (t *gateTransport) release() {
	t.mu.Lock()
	close(t.gate)
	t.gate = nil
	t.mu.Unlock()
}

func (t *gateTransport) Write(frames [][]byte, timeout time.Duration) error {
	t.mu.Lock()
	gate := t.gate
	t.mu.Unlock()
	select {
	case t.wrote <- struct{}{}:
	default:
	}
	if gate != nil {
		select {
		case <-gate:
		case <-time.After(timeout): // the transport's socket deadline
			return ErrSlowConsumer
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range frames {
		if bytes.HasPrefix(f, caughtUpPrefix) {
			t.once.Do(func() { close(t.caughtUp) })
		}
		if bytes.HasPrefix(f, eventPrefix) {
			var sf wire.ServerFrame
			if err := json.Unmarshal(f, &sf); err == nil {
				t.seqs = append(t.seqs, sf.Seq)
			}
		}
	}
	return nil
}

func (t *gateTransport) Close(code int, _ string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = append(t.closed, code)
}

// TestQueueOverflowCatchesUp: a connection whose queue overflows while its
// client is slow is not closed; once the client reads again it gets every
// event once, in order, from the store, and the hub counts the overflow.
func TestQueueOverflowCatchesUp(t *testing.T) {
	const queue, total = 8, 40
	rules := &logRules{}
	broker := inmem.New()
	clk := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	h, err := New(rules, benchLedger{}, broker, clk, herald.RandomIDs{}, Config{QueueSize: queue, WriteTimeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tr := &gateTransport{wrote: make(chan struct{}, 1), caughtUp: make(chan struct{})}
	tok := herald.Token{ID: "k", UserID: "u_slow", ExpiresAt: clk.Now().Add(time.Hour)}
	c, err := h.Open(context.Background(), tok, tr, Meta{Transport: wire.TransportWebSocket}, wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion})
	if err != nil {
		t.Fatal(err)
	}
	<-tr.caughtUp
	select { // forget the writes of welcome and caughtUp
	case <-tr.wrote:
	default:
	}
	tr.shut() // the client stops reading...
	publish := func(s herald.Seq) {
		rules.head.Store(int64(s))
		broker.Publish(context.Background(), benchSignal(s, []herald.UserID{"u_slow"}))
	}
	publish(1)
	<-tr.wrote // ...while the writer is in the middle of writing event 1
	for s := herald.Seq(2); s <= total; s++ {
		publish(s)
	}
	if got := h.Stats(); got.Overflows < 1 || got.DroppedEvents < queue {
		t.Fatalf("got stats %+v, want an overflow that dropped at least %d events", got, queue)
	}
	tr.release() // the client reads again
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		tr.mu.Lock()
		n := len(tr.seqs)
		tr.mu.Unlock()
		if n >= total {
			break
		}
		select {
		case <-c.Done():
			t.Fatalf("the connection was closed (codes %v) after %d events, want it caught up", tr.closed, n)
		case <-deadline.C:
			t.Fatalf("got %d events in 10 s, want %d", n, total)
		case <-time.After(5 * time.Millisecond):
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, s := range tr.seqs {
		if s != int64(i+1) {
			t.Fatalf("event %d has seq %d, want %d (each once, in order): %v", i, s, i+1, tr.seqs)
		}
	}
	if len(tr.closed) != 0 {
		t.Errorf("the transport was closed with %v, want it open", tr.closed)
	}
}

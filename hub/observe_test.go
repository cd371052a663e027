package hub

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/wire"
)

// countingObserver records what the hub reports.
type countingObserver struct {
	herald.NoObserver
	mu                                  sync.Mutex
	delivered, replayed, acked, resumed int
	fanouts                             []time.Duration
	open                                map[string]int
	closed                              []herald.Reason
}

func (o *countingObserver) Delivered(n int) { o.mu.Lock(); o.delivered += n; o.mu.Unlock() }
func (o *countingObserver) Replayed(n int)  { o.mu.Lock(); o.replayed += n; o.mu.Unlock() }
func (o *countingObserver) Acked(n int)     { o.mu.Lock(); o.acked += n; o.mu.Unlock() }
func (o *countingObserver) Resumed(ok bool) {
	o.mu.Lock()
	if ok {
		o.resumed++
	}
	o.mu.Unlock()
}
func (o *countingObserver) FannedOut(d time.Duration) {
	o.mu.Lock()
	o.fanouts = append(o.fanouts, d)
	o.mu.Unlock()
}
func (o *countingObserver) ConnectionOpened(tr string) { o.mu.Lock(); o.open[tr]++; o.mu.Unlock() }
func (o *countingObserver) ConnectionClosed(tr string, r herald.Reason) {
	o.mu.Lock()
	o.open[tr]--
	o.closed = append(o.closed, r)
	o.mu.Unlock()
}

// TestObserverSeesDelivery: a resuming connection reports its resume and
// the replayed event; a live event reports its delivery and its fan-out
// latency, commit to write on the hub's clock (3 ms here, exactly: the
// test clock stands still); an ack is counted; the connection counts while
// open and its close reason when it ends.
func TestObserverSeesDelivery(t *testing.T) {
	rules := &logRules{}
	rules.head.Store(1)
	broker := inmem.New()
	clk := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	obs := &countingObserver{open: map[string]int{}}
	h, err := New(rules, benchLedger{}, broker, clk, herald.RandomIDs{}, Config{Observer: obs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &gateTransport{wrote: make(chan struct{}, 1), caughtUp: make(chan struct{})}
	tok := herald.Token{ID: "k", UserID: "u_a", ExpiresAt: clk.Now().Add(time.Hour)}
	hello := wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion, Resume: true, Cursor: map[string]int64{string(benchThread): 0}}
	c, err := h.Open(context.Background(), tok, tr, Meta{Transport: wire.TransportSSE}, hello)
	if err != nil {
		t.Fatal(err)
	}
	<-tr.caughtUp // event 1 replayed
	rules.head.Store(2)
	live := benchSignal(2, []herald.UserID{"u_a"})
	live.Committed = clk.Now().Add(-3 * time.Millisecond)
	broker.Publish(context.Background(), live)
	for {
		tr.mu.Lock()
		n := len(tr.seqs)
		tr.mu.Unlock()
		if n == 2 {
			break
		}
		<-tr.wrote
	}
	if err := c.Receive(context.Background(), wire.ClientFrame{Type: wire.FrameAck, Acks: []wire.Ack{{ThreadID: string(benchThread), Seq: 2}}}); err != nil {
		t.Fatal(err)
	}
	h.Sync() // the ack has been handled once a flush queued after it ran
	obs.mu.Lock()
	if obs.open[wire.TransportSSE] != 1 {
		t.Errorf("open sse connections: got %d, want 1", obs.open[wire.TransportSSE])
	}
	obs.mu.Unlock()
	h.Close()
	h.Close() // a shutdown step, then the deferred cleanup: the second waits, does not panic

	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.delivered != 2 || obs.replayed != 1 || obs.acked != 1 || obs.resumed != 1 {
		t.Errorf("got delivered %d, replayed %d, acked %d, resumed %d; want 2, 1, 1, 1", obs.delivered, obs.replayed, obs.acked, obs.resumed)
	}
	if len(obs.fanouts) != 1 || obs.fanouts[0] != 3*time.Millisecond {
		t.Errorf("fan-out latencies: got %v, want [3ms] (the replayed event is not live)", obs.fanouts)
	}
	if obs.open[wire.TransportSSE] != 0 || len(obs.closed) != 1 || obs.closed[0] != herald.ReasonGoingAway {
		t.Errorf("after Close: got %d open, closes %v; want 0 and [going_away]", obs.open[wire.TransportSSE], obs.closed)
	}
}

// TestOpenWhileClosing: a connection opened while the hub closes (a
// client reconnecting to a node that is shutting down) is closed at once
// with going_away, to reconnect elsewhere; it is not served by a hub that
// no longer hears the broker.
func TestOpenWhileClosing(t *testing.T) {
	rules := &logRules{}
	clk := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	h, err := New(rules, benchLedger{}, inmem.New(), clk, herald.RandomIDs{}, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	tr := &gateTransport{wrote: make(chan struct{}, 1), caughtUp: make(chan struct{})}
	tok := herald.Token{ID: "k", UserID: "u_a", ExpiresAt: clk.Now().Add(time.Hour)}
	c, err := h.Open(context.Background(), tok, tr, Meta{Transport: wire.TransportWebSocket}, wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion})
	if err != nil {
		t.Fatalf("Open after Close: got %v, want a connection closed with going_away", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatalf("Open after Close: the connection is open, want it closed")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.closed) != 1 || tr.closed[0] != wire.CloseGoingAway {
		t.Errorf("close codes: got %v, want [%d]", tr.closed, wire.CloseGoingAway)
	}
	if n := h.Count(); n != 0 {
		t.Errorf("open connections: got %d, want 0", n)
	}
}

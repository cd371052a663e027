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

// ackLedger counts the acknowledgements recorded.
type ackLedger struct {
	benchLedger
	mu   sync.Mutex
	acks int
}

func (l *ackLedger) RecordAcks(_ context.Context, acks []herald.Ack) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks += len(acks)
	return nil
}

func (l *ackLedger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acks
}

// A client's acknowledgements are evidence: while its writer is stuck on a
// slow write, far more acks than the writer's control queue holds arrive,
// and every one is recorded once the writer moves on (the client's reader
// waits instead of dropping them).
func TestAcksNeverDropped(t *testing.T) {
	const acks = 300 // the control queue holds 64
	rules := &logRules{}
	rules.head.Store(1)
	ledger := &ackLedger{}
	broker := inmem.New()
	clk := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	h, err := New(rules, ledger, broker, clk, herald.RandomIDs{}, Config{WriteTimeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tr := &gateTransport{wrote: make(chan struct{}, 1), caughtUp: make(chan struct{})}
	tok := herald.Token{ID: "k", UserID: "u_a", ExpiresAt: clk.Now().Add(time.Hour)}
	hello := wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion, Resume: true, Cursor: map[string]int64{string(benchThread): 0}}
	c, err := h.Open(context.Background(), tok, tr, Meta{Transport: wire.TransportWebSocket}, hello)
	if err != nil {
		t.Fatal(err)
	}
	<-tr.caughtUp // event 1 was replayed: acks of it are valid
	select {
	case <-tr.wrote:
	default:
	}
	tr.shut()
	rules.head.Store(2)
	broker.Publish(context.Background(), benchSignal(2, []herald.UserID{"u_a"}))
	<-tr.wrote // the writer is now stuck writing event 2
	sent := make(chan error, 1)
	go func() {
		for range acks {
			if err := c.Receive(context.Background(), wire.ClientFrame{Type: wire.FrameAck, Acks: []wire.Ack{{ThreadID: string(benchThread), Seq: 1}}}); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	tr.release()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ledger.count() < acks {
		if time.Now().After(deadline) {
			t.Fatalf("got %d acks recorded, want %d (Stats %+v)", ledger.count(), acks, h.Stats())
		}
		h.Sync()
		time.Sleep(5 * time.Millisecond)
	}
	if got := ledger.count(); got != acks {
		t.Errorf("got %d acks recorded, want %d", got, acks)
	}
}

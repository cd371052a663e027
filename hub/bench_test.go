package hub

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/wire"
)

// benchThread is the one thread of the dispatch benchmarks.
const benchThread herald.ThreadID = "t_bench"

// benchRules answers the hub as the service would for users who are in
// benchThread at Seq 0, with nothing to replay.
type benchRules struct{}

func (benchRules) Verify(context.Context, string) (herald.Token, error) { return herald.Token{}, nil }
func (benchRules) Recheck(context.Context, herald.Token) error          { return nil }
func (benchRules) Positions(context.Context, herald.UserID) ([]herald.Position, error) {
	return []herald.Position{{ThreadID: benchThread, Joined: 0, Head: 0}}, nil
}
func (benchRules) Replay(_ context.Context, _ herald.UserID, _ herald.ThreadID, after herald.Seq, _ int) (herald.Catchup, error) {
	return herald.Catchup{Through: after}, nil
}

// benchLedger records nothing; the hub writes the ledger off its hot path.
type benchLedger struct{ herald.Ledger }

func (benchLedger) CreateConnection(context.Context, herald.Connection) error { return nil }
func (benchLedger) UpdateConnection(context.Context, herald.Connection) error { return nil }
func (benchLedger) RecordDeliveries(context.Context, []herald.Delivery) error { return nil }
func (benchLedger) RecordAcks(context.Context, []herald.Ack) error            { return nil }

// benchTransport is a client that takes every write at once: it counts the
// event frames it is given on events and says when caughtUp arrived.
type benchTransport struct {
	events   *sync.WaitGroup
	caughtUp chan struct{}
	once     sync.Once
}

var (
	eventPrefix    = []byte(`{"type":"event"`)
	caughtUpPrefix = []byte(`{"type":"caughtUp"`)
)

func (t *benchTransport) Write(frames [][]byte, _ time.Duration) error {
	for _, f := range frames {
		switch {
		case bytes.HasPrefix(f, eventPrefix):
			t.events.Done()
		case bytes.HasPrefix(f, caughtUpPrefix):
			t.once.Do(func() { close(t.caughtUp) })
		}
	}
	return nil
}

func (t *benchTransport) Close(int, string) {}

// benchHub opens n live connections, one user each, all in benchThread, and
// returns the broker, their recipients and the counter of event frames
// written.
func benchHub(b *testing.B, n int) (*inmem.Broker, []herald.UserID, *sync.WaitGroup) {
	b.Helper()
	broker := inmem.New()
	h, err := New(benchRules{}, benchLedger{}, broker, herald.SystemClock{}, herald.RandomIDs{}, Config{QueueSize: 1024}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.Close)
	events := &sync.WaitGroup{}
	users := make([]herald.UserID, n)
	for i := range users {
		users[i] = herald.UserID(fmt.Sprintf("u_%d", i))
		t := &benchTransport{events: events, caughtUp: make(chan struct{})}
		tok := herald.Token{ID: "k", UserID: users[i], ExpiresAt: time.Now().Add(time.Hour)}
		if _, err := h.Open(context.Background(), tok, t, Meta{Transport: wire.TransportWebSocket}, wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion}); err != nil {
			b.Fatal(err)
		}
		<-t.caughtUp
	}
	return broker, users, events
}

// benchSignal is a committed text message as the service publishes it.
func benchSignal(seq herald.Seq, to []herald.UserID) herald.Signal {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	m := &herald.Message{ID: "m_01JD7Y3K9V5X2Q8W4R6T0M1N3P", ThreadID: benchThread, Seq: seq, Type: herald.MessageText,
		SenderID: "u_sender", SenderDisplayName: "Alice", Content: "hb:12345:1732622400000000000: a message of a usual length, about sixty bytes",
		CreatedAt: at, Version: 1}
	return herald.Signal{Kind: herald.SignalEvent, ThreadID: benchThread, Seq: seq, Message: m, At: at, Recipients: to,
		Event: &herald.Event{ThreadID: benchThread, Seq: seq, Type: herald.EventMessageReceived, MessageID: m.ID, Actor: m.SenderID, At: at}}
}

// BenchmarkDispatch measures fan-out to a thread's connections: from the
// broker's publish of one message to the last of n connection writers
// handing its frame to the transport (a fake that takes every write at
// once, so the network is not measured). "one" publishes a message and
// waits for all n writes, so it is the fan-out latency; "burst" publishes
// 256 at a time, so the writers batch, as they do under load.
//
//	go test ./hub -run '^$' -bench Dispatch
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		for _, burst := range []int{1, 256} {
			name := "one"
			if burst > 1 {
				name = "burst"
			}
			b.Run(fmt.Sprintf("conns=%d/%s", n, name), func(b *testing.B) {
				broker, users, events := benchHub(b, n)
				ctx := context.Background()
				var seq herald.Seq
				for b.Loop() {
					events.Add(n * burst)
					for range burst {
						seq++
						broker.Publish(ctx, benchSignal(seq, users))
					}
					events.Wait()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*burst), "ns/delivery")
			})
		}
	}
}

// BenchmarkSignalFrame measures encoding a message event as its frame,
// which the hub does once per message, not per recipient.
func BenchmarkSignalFrame(b *testing.B) {
	s := benchSignal(7, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signalFrame(s); err != nil {
			b.Fatal(err)
		}
	}
}

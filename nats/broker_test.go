package nats_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/brokertest"
	"github.com/herald-chat/herald/nats"
)

// testURL returns the NATS server the tests may use, from HERALD_TEST_NATS
// (for example nats://127.0.0.1:4222), and skips the test when it is unset.
func testURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("HERALD_TEST_NATS")
	if u == "" {
		tb.Skip("HERALD_TEST_NATS is not set")
	}
	return u
}

// testPrefix returns a subject prefix of the test's own, so tests sharing
// the server do not hear each other.
func testPrefix() string {
	var b [8]byte
	rand.Read(b[:])
	return "herald_test." + hex.EncodeToString(b[:])
}

// mustNew connects a Broker, closed when the test ends.
func mustNew(tb testing.TB, url string, opts ...nats.Option) *nats.Broker {
	tb.Helper()
	b, err := nats.New(url, opts...)
	if err != nil {
		tb.Fatalf("New: got error %v, want nil", err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// TestBroker runs the suite with two connections, as two nodes.
func TestBroker(t *testing.T) {
	url := testURL(t)
	brokertest.Run(t, func(t *testing.T) (herald.Broker, herald.Broker) {
		prefix := testPrefix()
		return mustNew(t, url, nats.WithPrefix(prefix), nats.WithName("node-a")),
			mustNew(t, url, nats.WithPrefix(prefix), nats.WithName("node-b"))
	})
}

// signals collects received signals for a test to wait on.
type signals struct {
	mu  sync.Mutex
	got []herald.Signal
	ch  chan struct{}
}

func newSignals() *signals { return &signals{ch: make(chan struct{}, 1)} }

func (s *signals) add(sig herald.Signal) {
	s.mu.Lock()
	s.got = append(s.got, sig)
	s.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

// wait returns the signals once n have arrived, failing after 5 s.
func (s *signals) wait(tb testing.TB, n int) []herald.Signal {
	tb.Helper()
	deadline := time.After(5 * time.Second)
	for {
		s.mu.Lock()
		got := append([]herald.Signal(nil), s.got...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-s.ch:
		case <-deadline:
			tb.Fatalf("got %d signals in 5s, want %d", len(got), n)
		}
	}
}

// event is a whole signal as the service publishes one after a commit.
func event(seq herald.Seq) herald.Signal {
	at := time.UnixMilli(1_700_000_000_000 + int64(seq)).UTC()
	return herald.Signal{
		Kind: herald.SignalEvent, ThreadID: "t_a", Seq: seq,
		Event: &herald.Event{ThreadID: "t_a", Seq: seq, Type: herald.EventMessageReceived,
			MessageID: "m_1", Actor: "u_a", At: at},
		Message:    &herald.Message{ID: "m_1", ThreadID: "t_a", Seq: seq, Type: herald.MessageText, Content: "hi", CreatedAt: at, Version: 1},
		Recipients: []herald.UserID{"u_a", "u_b"},
		At:         at,
	}
}

// TestSignalAcrossNodes checks that a whole signal published on one node
// arrives on another with every field.
func TestSignalAcrossNodes(t *testing.T) {
	url, prefix := testURL(t), testPrefix()
	a := mustNew(t, url, nats.WithPrefix(prefix))
	b := mustNew(t, url, nats.WithPrefix(prefix))
	got := newSignals()
	unsub, err := b.Subscribe(got.add)
	if err != nil {
		t.Fatalf("Subscribe: got error %v, want nil", err)
	}
	defer unsub()
	want := event(7)
	if err := a.Publish(t.Context(), want); err != nil {
		t.Fatalf("Publish: got error %v, want nil", err)
	}
	s := got.wait(t, 1)[0]
	if s.Seq != 7 || s.Event == nil || s.Event.Seq != 7 || s.Message == nil || s.Message.Content != "hi" ||
		!s.At.Equal(want.At) || len(s.Recipients) != 2 {
		t.Errorf("received signal: got %+v, want %+v", s, want)
	}
}

// TestPrefixesApart checks that brokers with different prefixes on one
// server do not hear each other.
func TestPrefixesApart(t *testing.T) {
	url := testURL(t)
	a := mustNew(t, url, nats.WithPrefix(testPrefix()))
	b := mustNew(t, url, nats.WithPrefix(testPrefix()))
	gotA, gotB := newSignals(), newSignals()
	for br, got := range map[*nats.Broker]*signals{a: gotA, b: gotB} {
		unsub, err := br.Subscribe(got.add)
		if err != nil {
			t.Fatal(err)
		}
		defer unsub()
	}
	// Once a's own subscriber has a's signal, the server has routed it to
	// every interested subscriber; b's signal, published after, comes to b
	// after anything of a's would have.
	a.Publish(t.Context(), event(1))
	gotA.wait(t, 1)
	b.Publish(t.Context(), event(2))
	if s := gotB.wait(t, 1); len(s) != 1 || s[0].Seq != 2 {
		t.Errorf("signals under another prefix: got %d (first Seq %d), want only Seq 2", len(s), s[0].Seq)
	}
}

// TestUndecodableIsDropped publishes a message that is not a signal on the
// broker's subject: OnDrop hears of it, subscribers do not, and the next
// signal still arrives.
func TestUndecodableIsDropped(t *testing.T) {
	url, prefix := testURL(t), testPrefix()
	drops := make(chan error, 10)
	b := mustNew(t, url, nats.WithPrefix(prefix), nats.OnDrop(func(err error) { drops <- err }))
	got := newSignals()
	unsub, err := b.Subscribe(got.add)
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()

	raw, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Publish(prefix+".signals", []byte("not a signal")); err != nil {
		t.Fatal(err)
	}
	raw.Flush()
	select {
	case err := <-drops:
		if err == nil {
			t.Error("OnDrop: got a nil error, want the decoding error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnDrop not called in 5s for an undecodable message")
	}
	b.Publish(t.Context(), event(1))
	if s := got.wait(t, 1); len(s) != 1 || s[0].Seq != 1 {
		t.Errorf("signals after an undecodable message: got %d (first Seq %d), want only Seq 1", len(s), s[0].Seq)
	}
}

// proxy forwards TCP connections from a local port to target until cut:
// a way to break a client's connection to the real server without stopping
// the server.
type proxy struct {
	target string
	l      net.Listener
	mu     sync.Mutex // guards conns
	conns  []net.Conn
}

func newProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &proxy{target: target, l: l}
	go p.serve()
	tb.Cleanup(func() { l.Close(); p.cut() })
	return p
}

func (p *proxy) serve() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// cut closes every connection made so far; new ones are still forwarded.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestReconnect breaks a node's connection: OnDisconnect is called, the
// broker reconnects by itself, OnReconnect is called, and its subscription
// receives again.
func TestReconnect(t *testing.T) {
	raw := testURL(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("HERALD_TEST_NATS %q: %v", raw, err)
	}
	p := newProxy(t, u.Host)
	prefix := testPrefix()
	disconnected, reconnected := make(chan error, 10), make(chan struct{}, 10)
	b := mustNew(t, "nats://"+p.l.Addr().String(), nats.WithPrefix(prefix),
		nats.WithReconnectWait(50*time.Millisecond),
		nats.OnDisconnect(func(err error) { disconnected <- err }),
		nats.OnReconnect(func() { reconnected <- struct{}{} }))
	other := mustNew(t, raw, nats.WithPrefix(prefix))
	got := newSignals()
	unsub, err := b.Subscribe(got.add)
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()

	p.cut()
	for name, ch := range map[string]<-chan struct{}{
		"OnDisconnect": chanOf(disconnected),
		"OnReconnect":  reconnected,
	} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not called in 10s after the connection was cut", name)
		}
	}

	// The subscription is back: signals from another node arrive again.
	// (A signal published before the server has it again could be missed,
	// which is what OnReconnect warns of; publish until one arrives.)
	deadline := time.Now().Add(5 * time.Second)
	for seq := herald.Seq(1); ; seq++ {
		if err := other.Publish(t.Context(), event(seq)); err != nil {
			t.Fatal(err)
		}
		got.mu.Lock()
		n := len(got.got)
		got.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no signal reached the reconnected broker in 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chanOf turns an error channel into a signal channel for select.
func chanOf(errs <-chan error) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		<-errs
		close(ch)
	}()
	return ch
}

// TestClose checks that Close is idempotent, that it does not report the
// disconnection it causes, and that Subscribe fails afterwards.
func TestClose(t *testing.T) {
	url := testURL(t)
	disconnected := make(chan error, 1)
	b, err := nats.New(url, nats.WithPrefix(testPrefix()), nats.OnDisconnect(func(err error) { disconnected <- err }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(func(herald.Signal) {}); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(t.Context()); err != nil {
		t.Errorf("Ping while connected: got error %v, want nil", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: got error %v, want nil", err)
	}
	if err := b.Ping(t.Context()); !errors.Is(err, nats.ErrClosed) {
		t.Errorf("Ping after Close: got error %v, want ErrClosed (GET /readyz: not ready)", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close again: got error %v, want nil", err)
	}
	if _, err := b.Subscribe(func(herald.Signal) {}); !errors.Is(err, nats.ErrClosed) {
		t.Errorf("Subscribe after Close: got error %v, want ErrClosed", err)
	}
	if err := b.Publish(context.Background(), event(1)); !errors.Is(err, nats.ErrClosed) {
		t.Errorf("Publish after Close: got error %v, want ErrClosed", err)
	}
	select {
	case err := <-disconnected:
		t.Errorf("OnDisconnect called for Close (error %v), want it not called", err)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestNewUnreachable needs no server: New fails when nothing listens.
func TestNewUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if b, err := nats.New("nats://" + addr); err == nil {
		b.Close()
		t.Error("New where nothing listens: got nil error, want an error")
	}
}

// TestBadPrefix needs no server: a prefix that is not literal subject
// tokens is refused before connecting.
func TestBadPrefix(t *testing.T) {
	for _, prefix := range []string{"", "a.", ".a", "a..b", "a.*", "a.>", "a b"} {
		if b, err := nats.New("nats://127.0.0.1:1", nats.WithPrefix(prefix)); err == nil {
			b.Close()
			t.Errorf("New with prefix %q: got nil error, want an error", prefix)
		}
	}
}

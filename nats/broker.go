package nats

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/herald-chat/herald"
)

// DefaultPrefix starts every subject the Broker uses unless WithPrefix says
// otherwise.
const DefaultPrefix = "herald"

// Connection timings.
const (
	// defaultReconnectWait is the pause between reconnection attempts (NATS
	// adds up to 100 ms of jitter).
	defaultReconnectWait = 500 * time.Millisecond
	// pingInterval and maxPingsOut bound how long a dead connection goes
	// unnoticed (about 10-15 s), so OnDisconnect fires and reconnection
	// starts.
	pingInterval = 5 * time.Second
	maxPingsOut  = 2
	// flushTimeout bounds Subscribe's wait for the server to register it.
	flushTimeout = 5 * time.Second
	// drainTimeout bounds Close's wait for subscriptions to drain.
	drainTimeout = 5 * time.Second
)

// ErrClosed is returned by Publish and Subscribe after Close.
var ErrClosed = errors.New("nats: broker closed")

var _ herald.Broker = (*Broker)(nil)

// Broker is a herald.Broker over one core NATS connection: one per node.
type Broker struct {
	conn    *natsgo.Conn
	subject string
	opts    options
	// closing is set when Close starts; Publish and Subscribe then fail, and
	// the disconnection that closing causes is not reported.
	closing   atomic.Bool
	closeOnce sync.Once
	closed    chan struct{} // closed when the connection has closed
}

// Option configures New.
type Option func(*options)

type options struct {
	prefix        string
	name          string
	reconnectWait time.Duration
	onDisconnect  func(error)
	onReconnect   func()
	onDrop        func(error)
}

// WithPrefix sets the first tokens of the Broker's subjects (default
// "herald"): signals go on <prefix>.signals. Deployments (or tests) sharing
// one NATS server keep apart by prefix; every node of one deployment must
// use the same.
func WithPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithName names the connection as NATS monitoring shows it (the node name).
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithReconnectWait sets the pause between reconnection attempts (default
// 500 ms). The Broker reconnects forever.
func WithReconnectWait(d time.Duration) Option { return func(o *options) { o.reconnectWait = d } }

// OnDisconnect registers fn, called (with the cause, possibly nil) when the
// connection to NATS is lost. Until OnReconnect's function is called,
// signals published on other nodes do not reach this node's subscribers, and
// are not replayed: a hub should treat every thread as possibly behind and
// catch up from the Store. Not called for Close.
func OnDisconnect(fn func(err error)) Option { return func(o *options) { o.onDisconnect = fn } }

// OnReconnect registers fn, called when the connection is back and the
// subscriptions are restored. Signals published while it was down are lost;
// this is the moment to catch up from the Store.
func OnReconnect(fn func()) Option { return func(o *options) { o.onReconnect = fn } }

// OnDrop registers fn, called when signals were or may have been lost
// without a disconnection: a subscription fell so far behind that the
// client discarded messages (nats: slow consumer), a message on the subject
// could not be decoded as a signal, or the server reported an error (for
// example a permissions violation). As after a reconnection, a hub should
// catch up from the Store.
func OnDrop(fn func(err error)) Option { return func(o *options) { o.onDrop = fn } }

// New connects to the NATS server at url (one URL, or several separated by
// commas) and returns the Broker. It fails if no server answers now; once
// connected, it reconnects forever, pausing briefly between attempts.
// Callbacks run one at a time on the connection's callback goroutine and
// must not block.
func New(url string, opts ...Option) (*Broker, error) {
	o := options{prefix: DefaultPrefix, reconnectWait: defaultReconnectWait}
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkPrefix(o.prefix); err != nil {
		return nil, err
	}
	b := &Broker{subject: o.prefix + ".signals", opts: o, closed: make(chan struct{})}
	conn, err := natsgo.Connect(url,
		natsgo.Name(o.name),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(o.reconnectWait),
		natsgo.PingInterval(pingInterval),
		natsgo.MaxPingsOutstanding(maxPingsOut),
		natsgo.DrainTimeout(drainTimeout),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			if o.onDisconnect != nil && !b.closing.Load() {
				o.onDisconnect(err)
			}
		}),
		natsgo.ReconnectHandler(func(*natsgo.Conn) {
			if o.onReconnect != nil {
				o.onReconnect()
			}
		}),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			if !b.closing.Load() {
				b.dropped(err)
			}
		}),
		natsgo.ClosedHandler(func(*natsgo.Conn) { close(b.closed) }),
	)
	if err != nil {
		// The URL may hold credentials: it stays out of the message.
		return nil, fmt.Errorf("nats: connect: %w", err)
	}
	b.conn = conn
	return b, nil
}

// checkPrefix reports whether prefix is one or more literal subject tokens.
func checkPrefix(prefix string) error {
	for _, token := range strings.Split(prefix, ".") {
		if token == "" || token == "*" || token == ">" || strings.ContainsAny(token, " \t\r\n") {
			return fmt.Errorf("nats: subject prefix %q: want dot-separated tokens without spaces or wildcards", prefix)
		}
	}
	return nil
}

// dropped reports a possible loss of signals to the OnDrop function.
func (b *Broker) dropped(err error) {
	if b.opts.onDrop != nil {
		b.opts.onDrop(err)
	}
}

// Publish sends s, as JSON, to every node's subscribers (this node's
// included). It does not wait for them, or for the server: the client
// buffers (also while reconnecting, up to its buffer's size) and sends in
// order, so the signals of one publisher arrive in the order published.
// Delivery is best effort.
func (b *Broker) Publish(ctx context.Context, s herald.Signal) error {
	if b.closing.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := encode(s)
	if err != nil {
		return fmt.Errorf("nats: encode signal %s of %s: %w", s.Kind, s.ThreadID, err)
	}
	if err := b.conn.Publish(b.subject, data); err != nil {
		return fmt.Errorf("nats: publish signal %s of %s: %w", s.Kind, s.ThreadID, err)
	}
	return nil
}

// Subscribe registers fn for every signal published on any node until the
// returned function is called. Each subscription has its own goroutine
// (the client's), so fn is never called concurrently with itself and sees
// each publisher's signals in order. Subscribe returns once the server has
// the subscription, so a signal published after it returns reaches fn
// (unless the connection is down at that moment: then the subscription
// starts with the reconnection). Unsubscribing waits for a call of fn in
// progress and prevents any later one; it must not be called from fn.
func (b *Broker) Subscribe(fn func(herald.Signal)) (func(), error) {
	if b.closing.Load() {
		return nil, ErrClosed
	}
	d := &delivery{fn: fn}
	sub, err := b.conn.Subscribe(b.subject, func(m *natsgo.Msg) {
		s, err := decode(m.Data)
		if err != nil {
			b.dropped(fmt.Errorf("nats: decode a signal on %s: %w", m.Subject, err))
			return
		}
		d.deliver(s)
	})
	if err != nil {
		return nil, fmt.Errorf("nats: subscribe to %s: %w", b.subject, err)
	}
	if err := b.conn.FlushTimeout(flushTimeout); err != nil && !b.conn.IsReconnecting() {
		sub.Unsubscribe()
		return nil, fmt.Errorf("nats: subscribe to %s: %w", b.subject, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			d.stop()
			// Fails only if the connection is closed, which ends the
			// subscription anyway.
			_ = sub.Unsubscribe()
		})
	}, nil
}

// delivery hands one subscription's signals to its function until stopped.
type delivery struct {
	mu      sync.Mutex // held while fn runs; guards stopped
	fn      func(herald.Signal)
	stopped bool
}

func (d *delivery) deliver(s herald.Signal) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.stopped {
		d.fn(s)
	}
}

func (d *delivery) stop() {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
}

// Close drains the connection: the signals the subscriptions already hold
// are delivered, what was published is flushed to the server, and then it
// closes (waiting at most a few seconds). Publish and Subscribe fail with
// ErrClosed from the moment Close starts.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.closing.Store(true)
		if err := b.conn.Drain(); err != nil {
			// Closed already, or reconnecting: nothing to drain.
			b.conn.Close()
		}
		select {
		case <-b.closed:
		case <-time.After(drainTimeout + time.Second):
			b.conn.Close()
		}
	})
	return nil
}

var _ herald.Pinger = (*Broker)(nil)

// Ping reports whether the broker is connected to a NATS server now (GET
// /readyz). While it reconnects, signals from other nodes are missed.
func (b *Broker) Ping(ctx context.Context) error {
	if b.closing.Load() {
		return ErrClosed
	}
	if !b.conn.IsConnected() {
		return fmt.Errorf("nats: not connected (%s)", b.conn.Status())
	}
	return nil
}

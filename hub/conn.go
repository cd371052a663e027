package hub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// Transport is one connection's way to the client. The hub calls Write
// from the connection's single writer only.
type Transport interface {
	// Write sends encoded frames in order, or fails: the client is gone,
	// or did not take them within timeout (ErrSlowConsumer). The timeout
	// is the transport's to enforce: a socket deadline is kept by the
	// kernel on the wall clock, whatever clock the hub runs on.
	Write(frames [][]byte, timeout time.Duration) error
	// Close ends the transport with a close code and reason.
	Close(code int, reason string)
}

// item is one queued signal; frame is its encoding, shared by every
// recipient.
type item struct {
	sig   herald.Signal
	frame []byte
}

// ErrUnsupportedVersion is returned by Open for a hello of another protocol
// version; the transport closes with CloseUnsupportedVersion.
var ErrUnsupportedVersion = errors.New("hub: unsupported protocol version")

// Conn is one open connection: a user, a transport, a single writer.
type Conn struct {
	hub       *Hub
	id        herald.ConnectionID
	key       string
	user      herald.UserID
	transport string
	t         Transport
	hello     wire.ClientFrame
	row       herald.Connection

	// The queue of signals for the writer: a slice that grows with what is
	// waiting and is dropped after a burst, so that an idle connection
	// holds no queue memory (a buffered channel would hold QueueSize slots
	// from the start).
	qmu    sync.Mutex         // guards q and spare
	q      []*item            // waiting signals, oldest first; at most QueueSize
	spare  []*item            // the writer's last batch, emptied, for reuse
	behind bool               // the queue overflowed since the writer last took it: catch up from the store
	wake   chan struct{}      // buffered 1: q became non-empty
	cancel context.CancelFunc // ends the writer's context; called by Close

	ctl    chan func() // work for the writer: control frames, acks, refreshes
	done   chan struct{}
	once   sync.Once
	heard  atomic.Bool  // a frame came from the client since the writer's last tick
	misses atomic.Int64 // pings sent with nothing heard for a whole heartbeat before them

	mu         sync.Mutex // guards tok and afterClose
	tok        herald.Token
	afterClose []func()

	// Owned by the writer goroutine.
	cursor  map[herald.ThreadID]herald.Seq
	ended   map[herald.ThreadID]bool
	runs    map[herald.ThreadID]*herald.Delivery
	dirty   map[herald.ThreadID]bool
	warned  bool
	batch   [][]byte
	pending []herald.Signal // sequenced signals in batch, recorded after the write
}

// Open registers a connection for an authenticated user and starts its
// writer, which sends welcome, replays what hello's cursor lacks, and then
// continues live. The connection is logged as opened.
func (h *Hub) Open(ctx context.Context, tok herald.Token, t Transport, meta Meta, hello wire.ClientFrame) (*Conn, error) {
	if hello.Version != wire.ProtocolVersion {
		h.Refuse(ctx, meta, tok.UserID, herald.ReasonUnsupportedVersion)
		return nil, ErrUnsupportedVersion
	}
	var key [16]byte
	rand.Read(key[:])
	c := &Conn{
		hub: h, id: herald.ConnectionID(h.ids.New(h.cfg.connectionPrefix())), key: base64.RawURLEncoding.EncodeToString(key[:]),
		user: tok.UserID, transport: meta.Transport, t: t, hello: hello, tok: tok,
		wake: make(chan struct{}, 1), ctl: make(chan func(), 64), done: make(chan struct{}),
		cursor: map[herald.ThreadID]herald.Seq{}, ended: map[herald.ThreadID]bool{},
		runs: map[herald.ThreadID]*herald.Delivery{}, dirty: map[herald.ThreadID]bool{},
	}
	handles := make([]herald.EventType, len(hello.Handles))
	for i, e := range hello.Handles {
		handles[i] = herald.EventType(e)
	}
	c.row = herald.Connection{ID: c.id, UserID: c.user, TokenID: tok.ID, Transport: meta.Transport, Remote: meta.Remote,
		Origin: meta.Origin, UserAgent: meta.UserAgent, OpenedAt: h.clock.Now(), Handles: handles, Node: h.cfg.Node}
	if err := h.ledger.CreateConnection(context.WithoutCancel(ctx), c.row); err != nil {
		h.log.Error("connection log", "err", err)
	}
	// The writer's context ends when the connection closes (Close cancels
	// it), which stops a replay's store reads.
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	// Register before reading positions: live signals queue up and are
	// de-duplicated by Seq.
	registered := h.register(c)
	h.obs.ConnectionOpened(c.transport)
	if !registered {
		// The node is shutting down: the client reconnects elsewhere.
		c.Close(herald.ReasonGoingAway, "server")
		return c, nil
	}
	go c.run(ctx)
	return c, nil
}

// ID returns the connection id.
func (c *Conn) ID() herald.ConnectionID { return c.id }

// Key returns the secret that authorizes frames POSTed for this
// connection (SSE and long-polling).
func (c *Conn) Key() string { return c.key }

// User returns the connection's user.
func (c *Conn) User() herald.UserID { return c.user }

// Done is closed when the connection ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close ends the connection once for reason, with the close code the one
// table gives it (wire.CloseCodeOf), and who closed it ("server" or
// "client"), and logs it.
func (c *Conn) Close(reason herald.Reason, by string) {
	c.CloseCode(wire.CloseCodeOf(reason), reason, by)
}

// CloseCode is Close with a code the peer or the framing decided: the
// client's own close code, or a WebSocket protocol error (1002).
func (c *Conn) CloseCode(code int, r herald.Reason, by string) {
	reason := string(r)
	c.once.Do(func() {
		close(c.done)
		c.cancel()
		if by == "server" {
			c.t.Close(code, reason)
		}
		c.hub.unregister(c)
		c.hub.obs.ConnectionClosed(c.transport, r)
		c.row.ClosedAt, c.row.CloseCode, c.row.CloseReason, c.row.ClosedBy = c.hub.clock.Now(), code, r, by
		c.row.HeartbeatMisses = int(c.misses.Load())
		if err := c.hub.ledger.UpdateConnection(context.Background(), c.row); err != nil {
			c.hub.log.Error("connection log", "conn", c.id, "err", err)
		}
		c.mu.Lock()
		fns := c.afterClose
		c.afterClose = nil
		c.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	})
}

// AfterClose runs fn once the connection has closed (at once if it has):
// releasing what the transport reserved for it, without a goroutine that
// waits on Done for every open connection.
func (c *Conn) AfterClose(fn func()) {
	c.mu.Lock()
	select {
	case <-c.done:
	default:
		c.afterClose = append(c.afterClose, fn)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	fn()
}

// Heard records that the client is alive (any frame, or a poll).
func (c *Conn) Heard() { c.heard.Store(true) }

// enqueue hands a signal to the writer without blocking; a full queue
// means the client does not keep up.
//
// A full queue does not close the connection: a client can fall behind
// without being gone (a burst, or the backlog a broker delivers when it
// comes back). The queue is dropped instead and the writer catches every
// thread up from the store, as a resume would; the sequenced events are
// read again, the typing and receipt signals in it are lost, and both are
// counted and logged. A client that really does not read is closed by the
// write timeout (slow_consumer).
func (c *Conn) enqueue(it *item) {
	c.qmu.Lock()
	if len(c.q) >= c.hub.cfg.QueueSize {
		var events, others int64
		for _, q := range append(c.q, it) {
			if q.sig.Kind == herald.SignalEvent {
				events++
			} else {
				others++
			}
		}
		clear(c.q)
		c.q, c.behind = c.q[:0], true
		c.qmu.Unlock()
		c.hub.overflows.Add(1)
		c.hub.droppedEvents.Add(events)
		c.hub.droppedSignals.Add(others)
		c.hub.log.Warn("connection queue overflowed: catching up from the store", "conn", c.id, "user", c.user,
			"events_to_reread", events, "typing_and_receipts_lost", others)
		c.signal()
		return
	}
	c.q = append(c.q, it)
	first := len(c.q) == 1
	c.qmu.Unlock()
	if first {
		c.signal()
	}
}

// signal wakes the writer.
func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take hands the writer every waiting signal, oldest first, and whether
// the queue overflowed since the last take (the writer must then catch up
// from the store first).
func (c *Conn) take() (items []*item, behind bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	items, behind = c.q, c.behind
	c.q, c.spare, c.behind = c.spare, nil, false
	return items, behind
}

// recycle gives the writer's batch back for reuse, unless a burst made it
// large: an idle connection keeps no queue memory.
func (c *Conn) recycle(items []*item) {
	clear(items)
	if cap(items) > 64 {
		return
	}
	c.qmu.Lock()
	c.spare = items[:0]
	c.qmu.Unlock()
}

// control runs fn on the writer; what names the work for the log. Work
// the hub gives (a resync, a ledger flush) must not wait on one slow
// writer, so when the writer's control queue is full fn is dropped,
// counted (Stats.DroppedControl) and logged: a dropped resync waits for
// the next period, a dropped flush for the next tick.
func (c *Conn) control(what string, fn func()) {
	select {
	case c.ctl <- fn:
	case <-c.done:
	default:
		c.hub.droppedControl.Add(1)
		c.hub.log.Warn("connection control queue full: work dropped", "conn", c.id, "user", c.user, "work", what)
	}
}

// fromClient runs fn, the handling of a client's frame, on the writer,
// waiting for room in its control queue: acknowledgements are evidence
// and pongs are answers, so they are never dropped; a client that sends
// faster than its writer handles is slowed down instead (its frames wait
// in the network), until the connection closes.
func (c *Conn) fromClient(fn func()) {
	select {
	case c.ctl <- fn:
	case <-c.done:
	}
}

// TokenID returns the id of the token the connection is authenticated
// with now; an in-band refresh changes it.
func (c *Conn) TokenID() herald.TokenID { return c.token().ID }

func (c *Conn) token() herald.Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tok
}

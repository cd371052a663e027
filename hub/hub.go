package hub

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/herald-chat/herald"
)

// Rules is what the hub asks the service: authentication, positions and
// history as a user may see them. *service.Service implements it.
type Rules interface {
	Verify(ctx context.Context, bearer string) (herald.Token, error)
	Recheck(ctx context.Context, tok herald.Token) error
	Positions(ctx context.Context, user herald.UserID) ([]herald.Position, error)
	Replay(ctx context.Context, user herald.UserID, thread herald.ThreadID, after herald.Seq, limit int) (herald.Catchup, error)
}

// Config tunes the hub. Zero values take the defaults.
type Config struct {
	Heartbeat    time.Duration // ping interval (default 25 s)
	Timeout      time.Duration // silence before heartbeat_timeout (default 2×Heartbeat+5 s)
	TokenWarning time.Duration // tokenExpiring this long before exp (default 5 min, at most half the lifetime)
	Recheck      time.Duration // re-validate each connection's token this often (default 60 s)
	Tick         time.Duration // how often a connection checks its clocks (default 1 s)
	QueueSize    int           // per-connection queue (default 1024 signals)
	WriteTimeout time.Duration // one write (default 10 s)
	ReplayPage   int           // events per replay query (default 500)
	FlushEvery   time.Duration // ledger flush interval (default 500 ms)
	Node         string        // this node's name in the connection log
	// CoalesceAbove is the frames per second the node writes above which
	// writers coalesce (coalesce.go); default 50,000, negative never.
	CoalesceAbove int
	// CoalesceDelay is how long a writer then gathers events before a
	// write (default 5 ms).
	CoalesceDelay time.Duration
	// Route, when set, is put in every connection id (c_<route>_…), so
	// that another node can relay the connection's requests here (see
	// RouteOf and herald.Relay).
	Route string
	// ResyncEvery, when positive, catches every connection up from the
	// store once per this period (spread over it, one connection at a
	// time): the backstop for signals a networked broker lost without
	// telling (the last signal of a thread, lost, leaves no gap for the next
	// one to reveal). Zero (the default) never does; the in-process broker
	// loses nothing.
	ResyncEvery time.Duration
	// Observer receives the hub's measurements (deliveries, fan-out
	// latency, acks, resumes, connections); nil records nothing.
	Observer herald.Observer
	// Tracer, when set, records a span for each socket write of a traced
	// event (herald.Signal.TraceParent), a child of the span that published
	// it; nil records nothing.
	Tracer trace.TracerProvider
}

// RouteOf returns the route in a connection id made by a hub with
// Config.Route, or "".
func RouteOf(id herald.ConnectionID) string {
	rest, ok := strings.CutPrefix(string(id), herald.PrefixConnection)
	if !ok {
		return ""
	}
	route, _, ok := strings.Cut(rest, "_")
	if !ok {
		return ""
	}
	return route
}

// connectionPrefix starts the ids of the connections this hub opens.
func (c *Config) connectionPrefix() string {
	if c.Route == "" {
		return herald.PrefixConnection
	}
	return herald.PrefixConnection + c.Route + "_"
}

func (c *Config) defaults() {
	if c.CoalesceAbove == 0 {
		c.CoalesceAbove = 50_000
	}
	if c.CoalesceDelay <= 0 {
		c.CoalesceDelay = 5 * time.Millisecond
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 25 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2*c.Heartbeat + 5*time.Second
	}
	if c.TokenWarning <= 0 {
		c.TokenWarning = 5 * time.Minute
	}
	if c.Recheck <= 0 {
		c.Recheck = 60 * time.Second
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.Tick > c.Heartbeat {
		c.Tick = c.Heartbeat
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.ReplayPage <= 0 {
		c.ReplayPage = 500
	}
	if c.FlushEvery <= 0 {
		c.FlushEvery = 500 * time.Millisecond
	}
	if c.Observer == nil {
		c.Observer = herald.NoObserver{}
	}
}

// Hub is one node's registry of connections.
type Hub struct {
	rules  Rules
	ledger herald.Ledger
	clock  herald.Clock
	ids    herald.IDs
	cfg    Config
	log    *slog.Logger
	rec    *recorder
	obs    herald.Observer // cfg.Observer
	tracer trace.Tracer    // from cfg.Tracer; nil when tracing is off
	unsub  func()
	stop   chan struct{} // closed by Close; ends the periodic resync
	closed sync.Once     // Close's

	// Counters of what full connection queues dropped (see Conn.enqueue).
	overflows      atomic.Int64 // queues that overflowed
	droppedEvents  atomic.Int64 // sequenced signals dropped, read again from the store
	droppedSignals atomic.Int64 // typing and receipt signals dropped, lost
	droppedControl atomic.Int64 // hub work for a writer dropped on a full control queue (Conn.control)

	mu      sync.RWMutex // guards users, conns and closing
	closing bool         // Close has begun: no connection registers any more
	users   map[herald.UserID]map[*Conn]struct{}
	conns   map[herald.ConnectionID]*Conn
	wg      sync.WaitGroup
	co      coalescer // the node's write rate, and the writers' wait
}

// New returns a Hub subscribed to broker.
func New(rules Rules, ledger herald.Ledger, broker herald.Broker, clock herald.Clock, ids herald.IDs, cfg Config, log *slog.Logger) (*Hub, error) {
	if rules == nil || ledger == nil || broker == nil || clock == nil || ids == nil {
		return nil, errors.New("hub.New: rules, ledger, broker, clock and ids are required")
	}
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{rules: rules, ledger: ledger, clock: clock, ids: ids, cfg: cfg, log: log, obs: cfg.Observer, stop: make(chan struct{}),
		users: map[herald.UserID]map[*Conn]struct{}{}, conns: map[herald.ConnectionID]*Conn{}}
	h.rec = newRecorder(ledger, clock, cfg.FlushEvery, log, cfg.Observer)
	if cfg.Tracer != nil {
		h.tracer = cfg.Tracer.Tracer("github.com/herald-chat/herald/hub")
	}
	unsub, err := broker.Subscribe(h.dispatch)
	if err != nil {
		h.rec.close()
		return nil, err
	}
	h.unsub = unsub
	if cfg.ResyncEvery > 0 {
		h.wg.Add(1)
		go h.resyncEvery(cfg.ResyncEvery)
	}
	h.wg.Add(1)
	go h.recheckEvery(cfg.Recheck)
	if h.cfg.CoalesceAbove > 0 {
		h.wg.Add(1)
		go h.coalesceEvery()
	}
	return h, nil
}

// recheckEvery re-validates every connection's token against the store
// once per period until Close, one connection after another, spread over
// the period: the backstop for a revocation or deletion whose credential
// signal a networked broker lost.
func (h *Hub) recheckEvery(period time.Duration) {
	defer h.wg.Done()
	h.spread(period, h.checkCredential)
}

// resyncEvery catches every connection up from the store once per period
// until Close, spreading the connections evenly over the period so that
// the store sees a steady trickle of catch-ups rather than a spike.
func (h *Hub) resyncEvery(period time.Duration) {
	defer h.wg.Done()
	h.spread(period, func(c *Conn) { c.control("periodic resync", c.resync) })
}

// spread calls fn for every connection once per period until Close, the
// connections evenly spaced over the period.
func (h *Hub) spread(period time.Duration, fn func(*Conn)) {
	for {
		all := h.all()
		step := period / time.Duration(len(all)+1)
		for i := 0; i <= len(all); i++ {
			t := h.clock.NewTimer(step)
			select {
			case <-h.stop:
				t.Stop()
				return
			case <-t.C():
			}
			if i < len(all) {
				fn(all[i])
			}
		}
	}
}

// all returns the open connections.
func (h *Hub) all() []*Conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	all := make([]*Conn, 0, len(h.conns))
	for _, c := range h.conns {
		all = append(all, c)
	}
	return all
}

// LostLedgerRows returns how many delivery-ledger rows (pushes and acks)
// the store failed to write on this node, and when the first was lost:
// the doctor's reports list them as incomplete evidence, since a lost push
// row makes a delivered message look undelivered.
func (h *Hub) LostLedgerRows() (int64, time.Time) {
	n := h.rec.lost.Load()
	if n == 0 {
		return 0, time.Time{}
	}
	return n, time.UnixMilli(h.rec.lostSince.Load()).UTC()
}

// Stats counts what the hub's full queues dropped since it started, and
// what waits in them now.
type Stats struct {
	Overflows      int64 // connection queues that overflowed and were caught up from the store
	DroppedEvents  int64 // sequenced signals dropped from them (read again from the store: not lost)
	DroppedSignals int64 // typing and read-receipt signals dropped from them (lost live; receipts stay listable)
	DroppedControl int64 // resyncs and ledger flushes dropped on a writer's full control queue (retried by their period)
	Queued         int64 // signals waiting in every connection's queue now
	MaxQueued      int64 // signals waiting in the fullest queue now (of Config.QueueSize)
}

// Stats returns the hub's counters. It takes every connection's queue lock
// in turn to count what is queued: call it when scraped, not per event.
func (h *Hub) Stats() Stats {
	st := Stats{Overflows: h.overflows.Load(), DroppedEvents: h.droppedEvents.Load(), DroppedSignals: h.droppedSignals.Load(),
		DroppedControl: h.droppedControl.Load()}
	for _, c := range h.all() {
		c.qmu.Lock()
		n := int64(len(c.q))
		c.qmu.Unlock()
		st.Queued += n
		st.MaxQueued = max(st.MaxQueued, n)
	}
	return st
}

// Config returns the configuration in force.
func (h *Hub) Config() Config { return h.cfg }

// Close closes every connection with going_away and flushes the ledger.
// A connection opened while it runs, or after, is closed with going_away
// at once: its client reconnects to another node.
//
// Close may be called more than once (a shutdown's step, then the deferred
// cleanup); the later calls wait for the first to finish.
func (h *Hub) Close() {
	h.closed.Do(func() {
		close(h.stop)
		h.mu.Lock()
		h.closing = true
		h.mu.Unlock()
		h.unsub()
		for _, c := range h.all() {
			c.Close(herald.ReasonGoingAway, "server")
		}
		h.wg.Wait()
		h.rec.close()
	})
}

// Conn returns an open connection of this node by id.
func (h *Hub) Conn(id herald.ConnectionID) (*Conn, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c, ok := h.conns[id]
	return c, ok
}

// Count returns the number of open connections.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// dispatch is the broker subscriber: it only enqueues, never blocks.
func (h *Hub) dispatch(s herald.Signal) {
	if s.Kind == herald.SignalCredential {
		var conns []*Conn
		h.forUser(s.User, func(c *Conn) { conns = append(conns, c) })
		if len(conns) > 0 {
			go func() { // off the broker's goroutine: each check reads the store
				for _, c := range conns {
					h.checkCredential(c)
				}
			}()
		}
		return
	}
	it := &item{sig: s}
	if s.Kind == herald.SignalEvent || s.Kind == herald.SignalTyping || s.Kind == herald.SignalReceipt {
		frame, err := signalFrame(s)
		if err != nil {
			h.log.Error("encode signal", "thread", s.ThreadID, "seq", s.Seq, "err", err)
			return // the next signal of the thread or a resume fills the gap from the store
		}
		it.frame = frame
	}
	// One read lock for every recipient, and no slice per user: a thread
	// of 1,000 makes this loop run 1,000 times per event. enqueue takes
	// only the connection's own lock, never h.mu.
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, u := range s.Recipients {
		for c := range h.users[u] {
			c.enqueue(it)
		}
	}
}

func (h *Hub) forUser(u herald.UserID, fn func(*Conn)) {
	h.mu.RLock()
	set := h.users[u]
	conns := make([]*Conn, 0, len(set))
	for c := range set {
		conns = append(conns, c)
	}
	h.mu.RUnlock()
	for _, c := range conns {
		fn(c)
	}
}

// register adds c to the hub and counts its writer in h.wg (under h.mu, so
// that Close, which sets closing under it, waits for every writer), unless
// the hub is closing: then it reports false.
func (h *Hub) register(c *Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	set := h.users[c.user]
	if set == nil {
		set = map[*Conn]struct{}{}
		h.users[c.user] = set
	}
	set[c] = struct{}{}
	h.conns[c.id] = c
	h.wg.Add(1) // c.run's
	return true
}

func (h *Hub) unregister(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.users[c.user]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.users, c.user)
		}
	}
	delete(h.conns, c.id)
}

// Refuse logs an upgrade attempt refused before opening.
func (h *Hub) Refuse(ctx context.Context, meta Meta, user herald.UserID, reason herald.Reason) {
	row := herald.Connection{ID: herald.ConnectionID(h.ids.New(herald.PrefixConnection)), UserID: user, Transport: meta.Transport,
		Remote: meta.Remote, Origin: meta.Origin, UserAgent: meta.UserAgent, Refused: reason, OpenedAt: h.clock.Now(), Node: h.cfg.Node}
	if err := h.ledger.CreateConnection(context.WithoutCancel(ctx), row); err != nil {
		h.log.Error("connection log", "err", err)
	}
}

// Meta describes where a connection comes from.
type Meta struct {
	Transport string
	Remote    string
	Origin    string
	UserAgent string
}

// Resync makes every connection read each of its threads from the store up
// to the head. Call it when signals may have been lost (the broker
// reconnected, or periodically as a backstop): the database is the truth,
// and a connection that missed the last signal of a thread would otherwise
// wait for the next one.
func (h *Hub) Resync() {
	for _, c := range h.all() {
		c.control("resync", c.resync)
	}
}

// Sync writes the delivery ledger of every connection now; for shutdown,
// tests and the doctor's freshest view.
func (h *Hub) Sync() { h.sync(h.all()) }

// SyncUser is Sync for the connections of one user: what the doctor needs
// before diagnosing that user, without flushing the whole node.
func (h *Hub) SyncUser(u herald.UserID) {
	var conns []*Conn
	h.forUser(u, func(c *Conn) { conns = append(conns, c) })
	h.sync(conns)
}

func (h *Hub) sync(conns []*Conn) {
	for _, c := range conns {
		done := make(chan struct{})
		c.control("ledger flush", func() { c.flushRuns(false); close(done) })
		select {
		case <-done:
		case <-c.done:
		case <-time.After(time.Second):
		}
	}
	h.rec.sync()
}

package hub

import (
	"context"
	"errors"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// maxBatch bounds the frames one write carries.
const maxBatch = 64

// run is the connection's single writer: welcome, replay, then live.
func (c *Conn) run(ctx context.Context) {
	defer c.hub.wg.Done()
	defer c.flushRuns(true)
	defer c.cancel()
	if err := c.start(ctx); err != nil {
		c.fail(err)
		return
	}
	h := c.hub
	// Intervals are counted in ticks of the injected clock, never by
	// subtracting wall-clock times: a wall clock that is set (or a test
	// clock moved by an hour) must not count as an hour of silence.
	pingEvery, timeoutTicks := ticks(h.cfg.Heartbeat, h.cfg.Tick), ticks(h.cfg.Timeout, h.cfg.Tick)
	tick := h.clock.NewTimer(h.cfg.Tick)
	defer func() { tick.Stop() }()
	var n, silent int // ticks so far; ticks since the client was last heard
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
			if d := h.co.wait(); d > 0 && !c.gather(d) {
				return
			}
			items, behind := c.take()
			if behind {
				// What overflowed is in the store: read it from there (the
				// signals still queued are then duplicates, dropped by Seq).
				if err := c.flush(ctx); err != nil {
					c.fail(err)
					return
				}
				c.resync()
			}
			for _, it := range items {
				if len(c.batch) >= maxBatch {
					if err := c.flush(ctx); err != nil {
						c.fail(err)
						return
					}
				}
				c.handle(ctx, it)
			}
			c.recycle(items)
		case fn := <-c.ctl:
			fn()
		case <-tick.C():
			tick = h.clock.NewTimer(h.cfg.Tick)
			n++
			if c.heard.Swap(false) {
				silent = 0
			} else {
				silent++
			}
			if silent >= timeoutTicks {
				c.Close(herald.ReasonHeartbeatTimeout, "server")
				return
			}
			if n%pingEvery == 0 {
				if silent >= pingEvery {
					c.misses.Add(1)
				}
				c.send(pingFrame)
			}
			c.checkExpiry()
			c.flushRuns(false)
		}
		if err := c.flush(ctx); err != nil {
			c.fail(err)
			return
		}
	}
}

// gather waits d for more events to queue (write coalescing); false if the
// connection ended meanwhile.
func (c *Conn) gather(d time.Duration) bool {
	t := c.hub.clock.NewTimer(d)
	select {
	case <-c.done:
		t.Stop()
		return false
	case <-t.C():
		return true
	}
}

// ticks returns how many ticks of length tick make up d, at least one.
func ticks(d, tick time.Duration) int {
	return max(1, int((d+tick-1)/tick))
}

// start sends welcome, replays and sends caughtUp.
func (c *Conn) start(ctx context.Context) error {
	h := c.hub
	positions, err := h.rules.Positions(ctx, c.user)
	if err != nil {
		return err
	}
	resumed := true
	threads := map[string]wire.ThreadResume{}
	var replay []herald.ThreadID
	known := map[herald.ThreadID]bool{}
	for _, p := range positions {
		known[p.ThreadID] = true
		from, asked := c.hello.Cursor[string(p.ThreadID)]
		head := int64(p.Head)
		switch {
		case !c.hello.Resume || (!asked && p.Ended):
			// A fresh start begins at each head; a thread the client never
			// knew and can no longer receive is not replayed.
			threads[string(p.ThreadID)] = wire.ThreadResume{Resumed: true, From: head, To: head, Ended: p.Ended}
			c.cursor[p.ThreadID] = p.Head
		case asked && herald.Seq(from) > p.Head:
			resumed = false
			threads[string(p.ThreadID)] = wire.ThreadResume{Resumed: false, Reason: wire.ResumeCursorAhead, From: from, To: head, Ended: p.Ended}
			c.cursor[p.ThreadID] = p.Head
		default:
			if !asked {
				from = int64(p.Joined) - 1 // added while away: from the event that added the user
			}
			threads[string(p.ThreadID)] = wire.ThreadResume{Resumed: true, From: from, To: head, Ended: p.Ended}
			c.cursor[p.ThreadID] = herald.Seq(from)
			if herald.Seq(from) < p.Head {
				replay = append(replay, p.ThreadID)
			}
		}
		if p.Ended && c.cursor[p.ThreadID] >= p.Head {
			c.ended[p.ThreadID] = true
		}
	}
	for t, from := range c.hello.Cursor {
		if !known[herald.ThreadID(t)] {
			resumed = false
			threads[t] = wire.ThreadResume{Resumed: false, Reason: wire.ResumeThreadNotFound, From: from}
		}
	}
	tok := c.token()
	welcome := wire.ServerFrame{Type: wire.FrameWelcome, Version: wire.ProtocolVersion, ConnectionID: string(c.id), ConnectionKey: c.key,
		Transport: c.transport, HeartbeatMs: h.cfg.Heartbeat.Milliseconds(), TimeoutMs: h.cfg.Timeout.Milliseconds(),
		Threads: threads, TokenExpiresOn: &tok.ExpiresAt}
	if c.hello.Resume {
		welcome.Resumed = &resumed
		h.obs.Resumed(resumed)
	}
	c.send(frame(welcome))
	if err := c.flush(ctx); err != nil {
		return err
	}
	for _, t := range replay {
		if err := c.catchUp(ctx, t); err != nil {
			return err
		}
	}
	c.send(frame(wire.ServerFrame{Type: wire.FrameCaughtUp}))
	return c.flush(ctx)
}

// handle processes one queued signal: sequenced events are written only as
// the next Seq of their thread (a gap is filled from the store first, a
// duplicate dropped); typing and receipts pass through.
func (c *Conn) handle(ctx context.Context, it *item) {
	s := it.sig
	if c.ended[s.ThreadID] {
		return
	}
	if s.Kind != herald.SignalEvent {
		c.send(it.frame)
		return
	}
	cur, known := c.cursor[s.ThreadID]
	if !known || s.Seq > cur+1 {
		// A gap (or a thread this connection has not seen yet): read the
		// missing events from the store, through the rules.
		if err := c.flush(ctx); err != nil {
			c.fail(err)
			return
		}
		if !known {
			c.cursor[s.ThreadID] = 0
		}
		if err := c.catchUp(ctx, s.ThreadID); err != nil {
			c.fail(err)
			return
		}
		cur = c.cursor[s.ThreadID]
	}
	if s.Seq != cur+1 || c.ended[s.ThreadID] {
		return // already delivered (by replay), or past the user's view
	}
	c.sendEvent(s, it.frame)
}

// catchUp replays the thread from the connection's cursor to the user's
// head, in pages, writing as it goes.
func (c *Conn) catchUp(ctx context.Context, t herald.ThreadID) error {
	for {
		// sendEvent moves the cursor as it goes: progress is measured
		// against where this page started.
		before := c.cursor[t]
		cu, err := c.hub.rules.Replay(ctx, c.user, t, before, c.hub.cfg.ReplayPage)
		if herald.IsNotFound(err) {
			c.ended[t] = true
			return nil
		}
		if err != nil {
			return err
		}
		c.hub.obs.Replayed(len(cu.Signals))
		for _, s := range cu.Signals {
			f, err := signalFrame(s)
			if err != nil {
				return err
			}
			c.sendEvent(s, f)
		}
		if err := c.flush(ctx); err != nil {
			return err
		}
		progressed := cu.Through > before
		if cu.Through > c.cursor[t] {
			c.cursor[t] = cu.Through // past events the user may not see
		}
		if cu.Ended && c.cursor[t] >= cu.Head {
			c.ended[t] = true
		}
		if !progressed || c.cursor[t] >= cu.Head {
			return nil
		}
	}
}

// sendEvent queues a sequenced event frame and advances the cursor.
func (c *Conn) sendEvent(s herald.Signal, f []byte) {
	c.send(f)
	c.cursor[s.ThreadID] = s.Seq
	c.pending = append(c.pending, herald.Signal{ThreadID: s.ThreadID, Seq: s.Seq, Committed: s.Committed, TraceParent: s.TraceParent})
	if ends(s, c.user) {
		c.ended[s.ThreadID] = true
	}
}

// send queues an encoded frame for the next write.
func (c *Conn) send(f []byte) { c.batch = append(c.batch, f) }

// flush writes the queued frames and records the sequenced ones as pushed.
func (c *Conn) flush(ctx context.Context) error {
	if len(c.batch) == 0 {
		return nil
	}
	var began time.Time
	if c.hub.tracer != nil { // the write's span needs its start; without tracing, no extra clock read per write
		began = c.hub.clock.Now()
	}
	err := c.t.Write(c.batch, c.hub.cfg.WriteTimeout)
	frames := len(c.batch)
	c.hub.co.wrote(frames)
	clear(c.batch) // the frames are shared with other connections: do not keep them alive
	c.batch = c.batch[:0]
	now := c.hub.clock.Now()
	if c.hub.tracer != nil {
		c.traceWrite(began, now, frames, err)
	}
	if err != nil {
		c.pending = c.pending[:0]
		return err
	}
	// One observation per write, not per event: under load a write carries
	// up to maxBatch events, and the oldest live one is the write's latency.
	var oldest time.Time
	for _, s := range c.pending {
		c.pushed(s.ThreadID, s.Seq, now)
		if !s.Committed.IsZero() && (oldest.IsZero() || s.Committed.Before(oldest)) {
			oldest = s.Committed
		}
	}
	if len(c.pending) > 0 {
		c.hub.obs.Delivered(len(c.pending))
	}
	if !oldest.IsZero() {
		c.hub.obs.FannedOut(now.Sub(oldest))
	}
	c.pending = c.pending[:0]
	return nil
}

// pushed extends the thread's current delivery run, or starts a new one.
func (c *Conn) pushed(t herald.ThreadID, seq herald.Seq, at time.Time) {
	r := c.runs[t]
	if r != nil && seq == r.ToSeq+1 {
		r.ToSeq, r.LastAt = seq, at
		c.dirty[t] = true
		return
	}
	if r != nil && c.dirty[t] {
		c.hub.rec.deliveries(*r)
	}
	c.runs[t] = &herald.Delivery{UserID: c.user, ThreadID: t, ConnectionID: c.id, Transport: c.transport, FromSeq: seq, ToSeq: seq, FirstAt: at, LastAt: at}
	c.dirty[t] = true
}

// flushRuns hands changed runs to the recorder.
func (c *Conn) flushRuns(final bool) {
	for t := range c.dirty {
		c.hub.rec.deliveries(*c.runs[t])
		delete(c.dirty, t)
	}
	if final {
		c.runs = nil
	}
}

// ErrSlowConsumer is what a Transport returns when the client does not
// take frames fast enough; the connection closes with slow_consumer.
var ErrSlowConsumer = &herald.Error{Code: herald.CodeUnavailable, Reason: herald.ReasonSlowConsumer, Message: "the client did not read within the write timeout"}

var errSlow = ErrSlowConsumer

// fail closes the connection after a writer error.
func (c *Conn) fail(err error) {
	select {
	case <-c.done:
		return // already closed; the write failed because of it
	default:
	}
	switch {
	case errors.Is(err, errSlow):
		c.Close(herald.ReasonSlowConsumer, "server")
	case isStoreError(err):
		c.hub.obs.StoreError("connection")
		c.hub.log.Error("connection failed", "conn", c.id, "err", err)
		c.Close(herald.ReasonResync, "server")
	default:
		c.Close(herald.ReasonConnectionLost, "client")
	}
}

// checkExpiry warns before the token expires and closes at expiry.
func (c *Conn) checkExpiry() {
	tok := c.token()
	now := c.hub.clock.Now()
	if !now.Before(tok.ExpiresAt) {
		c.Close(herald.ReasonTokenExpired, "server")
		return
	}
	warn := min(c.hub.cfg.TokenWarning, tok.ExpiresAt.Sub(tok.IssuedAt)/2)
	if !c.warned && now.After(tok.ExpiresAt.Add(-warn)) {
		c.warned = true
		exp := tok.ExpiresAt
		c.send(frame(wire.ServerFrame{Type: wire.FrameTokenExpiring, ExpiresOn: &exp}))
	}
}

// checkCredential closes c if its token was revoked or its identity
// deleted. It runs on the hub's rechecker (or, after a credential signal,
// on a goroutine of its own), never on c's writer: the store read it makes
// would grow the stack of every idle connection's writer for good.
func (h *Hub) checkCredential(c *Conn) {
	err := h.rules.Recheck(context.Background(), c.token())
	switch herald.ErrorReason(err) {
	case herald.ReasonNone:
	case herald.ReasonTokenRevoked:
		c.Close(herald.ReasonTokenRevoked, "server")
	case herald.ReasonIdentityDeleted:
		c.Close(herald.ReasonIdentityDeleted, "server")
	default:
		h.log.Error("recheck credential", "conn", c.id, "err", err)
	}
}

// resync catches every thread of the user up to its head, including
// threads the user joined while signals were lost.
func (c *Conn) resync() {
	ctx := context.Background()
	positions, err := c.hub.rules.Positions(ctx, c.user)
	if err != nil {
		c.fail(err)
		return
	}
	for _, p := range positions {
		if c.ended[p.ThreadID] {
			continue
		}
		if cur, known := c.cursor[p.ThreadID]; known && cur >= p.Head {
			continue
		} else if !known {
			c.cursor[p.ThreadID] = p.Joined - 1
		}
		if err := c.catchUp(ctx, p.ThreadID); err != nil {
			c.fail(err)
			return
		}
	}
}

// isStoreError tells a failure of the rules or the store (a *herald.Error:
// resume later) from a failure to write to the client (the network).
func isStoreError(err error) bool {
	var e *herald.Error
	return errors.As(err, &e)
}

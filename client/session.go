package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// Timing of a connection. The server's welcome sets the heartbeat and the
// timeout; these apply until it does, or when it leaves them out.
const (
	welcomeTimeout   = 30 * time.Second // from opening to welcome
	defaultHeartbeat = 25 * time.Second
	closeTimeout     = 5 * time.Second // for the last acks after Close
	// stableAfter is how long a connection must have lasted for the next
	// reconnect to start the backoff over: a server that accepts and drops
	// at once is not hammered.
	stableAfter = 10 * time.Second
)

// Acknowledgements are batched: sent when ackBatch events are pending, or
// ackDelay after the first pending one, and before closing.
const (
	ackBatch = 100
	ackDelay = 50 * time.Millisecond
)

// ending is how one connection attempt ended.
type ending struct {
	code       int
	reason     string
	err        error
	openedAt   time.Time     // when the welcome came; zero if it never did
	retryAfter time.Duration // the server's Retry-After on a refusal
	handler    bool          // a handler (or the cursor store) failed
}

// stable reports whether the connection lasted long enough for the backoff
// to start over.
func (e ending) stable(now time.Time) bool {
	return !e.openedAt.IsZero() && !e.handler && now.Sub(e.openedAt) >= stableAfter
}

// decide says whether to reconnect after end; if not, it returns the
// terminal error. A token that expired is refreshed first when the
// credential can refresh.
func (r *Realtime) decide(ctx context.Context, end ending) (retry bool, terminal error) {
	var ce *CloseError
	var he *herald.Error
	switch {
	case errors.As(end.err, &ce):
		// 1000 from the server is no reason to stay away.
		if wire.Reconnect(ce.Code) || ce.Code == 1000 {
			return true, nil
		}
		terminal = closeError(ce)
	case errors.As(end.err, &he):
		switch he.Code {
		case herald.CodeUnauthorized, herald.CodeForbidden, herald.CodeInvalid, herald.CodeMethodNotAllowed,
			herald.CodeUnsupportedMedia, herald.CodeTooLarge:
			terminal = he
		case herald.CodeNotFound:
			if he.Reason == herald.ReasonRouteNotFound { // the server has no real-time endpoint
				terminal = he
			}
		}
		if terminal == nil {
			return true, nil
		}
	case errors.Is(end.err, errCredentialClosed):
		return false, end.err
	default:
		return true, nil
	}
	if herald.ErrorReason(terminal) == herald.ReasonTokenExpired {
		if rc, ok := r.client.conn.cred.(RefreshingCredential); ok {
			if _, err := rc.Refresh(ctx); err != nil {
				r.report(err)
			}
			return true, nil
		}
	}
	return false, terminal
}

// closeError rebuilds the *herald.Error of a terminal close code, so that
// callers branch on the same Code and Reason as for an HTTP refusal.
func closeError(ce *CloseError) *herald.Error {
	e := &herald.Error{Code: herald.CodeInvalid, Reason: herald.Reason(ce.Reason), Err: ce,
		Message: fmt.Sprintf("the server refused a frame of this client (%d %s)", ce.Code, ce.Reason)}
	switch ce.Code {
	case wire.CloseTokenExpired:
		e.Code, e.Reason, e.Message = herald.CodeUnauthorized, herald.ReasonTokenExpired,
			"the access token expired before a refresh reached the server; get a new token (refresh before expiry)"
	case wire.CloseTokenRevoked:
		e.Code, e.Reason, e.Message = herald.CodeUnauthorized, herald.ReasonTokenRevoked,
			"the access token was revoked; sign the user in again"
	case wire.CloseIdentityDeleted:
		e.Code, e.Reason, e.Message = herald.CodeUnauthorized, herald.ReasonIdentityDeleted, "the identity was deleted"
	case wire.CloseAuthTimeout:
		e.Message = "the server did not receive hello in time"
	case wire.CloseUnsupportedVersion:
		e.Message = fmt.Sprintf("the server does not speak protocol version %d; upgrade the client", wire.ProtocolVersion)
	}
	return e
}

// connect opens one connection and runs it until it ends.
func (r *Realtime) connect(ctx context.Context) ending {
	var token string
	if cred := r.client.conn.cred; cred != nil {
		t, err := cred.Token(ctx)
		if err != nil {
			return ending{reason: CloseReasonNoToken, err: fmt.Errorf("herald: get access token: %w", err)}
		}
		token = t
	}
	if sub, _, _ := peekToken(token); sub != "" {
		r.mu.Lock()
		r.userID = sub
		r.mu.Unlock()
	}
	// A token offered before this connection opened is already in use.
	select {
	case <-r.refreshed:
	default:
	}
	hello := r.hello()
	s := &session{r: r, token: token, resume: hello.Resume, frames: make(chan wire.ServerFrame, 64)}
	s.heard()
	lk, err := r.dial(ctx, token, hello, s.heard)
	if err != nil {
		return refusal(err)
	}
	s.link = lk
	return s.run(ctx)
}

// refusal describes a failure to open a connection.
func refusal(err error) ending {
	var he *herald.Error
	if errors.As(err, &he) {
		var h *HTTPError
		end := ending{reason: CloseReasonRefused, err: err}
		if errors.As(err, &h) {
			end.retryAfter = h.RetryAfter
		}
		return end
	}
	if errors.Is(err, errMalformed) {
		return ending{code: 1002, reason: CloseReasonMalformed, err: err}
	}
	return ending{code: 1006, reason: CloseReasonAbnormal, err: err}
}

// session is one open connection. Its reader goroutine receives frames,
// answers pings and hands the rest to run, which owns everything else.
type session struct {
	r          *Realtime
	link       link
	token      string                // the token the server knows this connection by
	resume     bool                  // the hello asked to resume
	frames     chan wire.ServerFrame // from the reader; closed when it stops
	err        error                 // why the reader stopped; set before frames is closed
	heardSince atomic.Bool           // a frame came from the server since the last heartbeat tick

	connectionID string
	caughtUp     bool
	ackTimer     Timer // armed while acks are pending; nil otherwise
	helpers      sync.WaitGroup
}

func (s *session) heard() { s.heardSince.Store(true) }

// read runs the reader until the link fails.
func (s *session) read(ctx context.Context) {
	defer close(s.frames)
	for {
		f, err := s.link.recv(ctx)
		if err != nil {
			s.err = err
			return
		}
		s.heard()
		if f.Type == wire.FramePing {
			s.link.send(ctx, wire.ClientFrame{Type: wire.FramePong}) // a failure shows in recv
			continue
		}
		select {
		case s.frames <- f:
		case <-ctx.Done():
			s.err = ctx.Err()
			return
		}
	}
}

// run processes the connection's frames until it ends.
func (s *session) run(ctx context.Context) ending {
	r := s.r
	// The reader outlives ctx until the link is closed, so that the last
	// acks can still be sent after Close.
	readCtx, stopReader := context.WithCancel(context.WithoutCancel(ctx))
	go s.read(readCtx)
	helperCtx, stopHelpers := context.WithCancel(ctx)
	defer func() {
		stopReader()
		s.link.close(0, "")
		for range s.frames {
		}
		stop(s.ackTimer)
		s.ackTimer = nil
		stopHelpers()
		s.helpers.Wait()
	}()

	heartbeat, timeout, fail := s.welcome(ctx)
	if fail != nil {
		return *fail
	}
	openedAt := r.clock.Now()
	tick := r.clock.NewTimer(heartbeat)
	defer func() { tick.Stop() }()
	// Silence is counted in heartbeat ticks, never by subtracting wall-clock
	// times, so that a wall clock that is set does not look like silence.
	var silent time.Duration
	for {
		var ackC <-chan time.Time
		if s.ackTimer != nil {
			ackC = s.ackTimer.C()
		}
		var end *ending
		select {
		case f, ok := <-s.frames:
			if !ok {
				e := lost(s.err)
				end = &e
				break
			}
			end = s.handle(ctx, helperCtx, f)
		case <-tick.C():
			if s.heardSince.Swap(false) || len(s.frames) > 0 {
				silent = 0
			} else {
				silent += heartbeat
			}
			if silent >= timeout {
				s.link.close(0, "")
				end = &ending{code: wire.CloseHeartbeatTimeout, reason: CloseReasonHeartbeatTimeout,
					err: &CloseError{Code: wire.CloseHeartbeatTimeout, Reason: CloseReasonHeartbeatTimeout}}
				break
			}
			if err := s.link.send(ctx, wire.ClientFrame{Type: wire.FramePing}); err != nil {
				e := lost(err)
				end = &e
				break
			}
			tick = r.clock.NewTimer(heartbeat)
		case <-ackC:
			s.ackTimer = nil
			end = s.flush(ctx)
		case token := <-r.refreshed:
			end = s.refresh(ctx, token)
		case <-ctx.Done():
			s.lastFlush(ctx)
			s.link.close(1000, CloseReasonClientClosed)
			end = &ending{code: 1000, reason: CloseReasonClientClosed}
		}
		if end != nil {
			end.openedAt = openedAt
			return *end
		}
	}
}

// lost describes a link that failed under the session.
func lost(err error) ending {
	var ce *CloseError
	var he *herald.Error
	switch {
	case errors.As(err, &ce):
		return ending{code: ce.Code, reason: ce.Reason, err: ce}
	case errors.As(err, &he):
		return ending{reason: string(he.Reason), err: err}
	case errors.Is(err, errMalformed):
		return ending{code: 1002, reason: CloseReasonMalformed, err: err}
	}
	return ending{code: 1006, reason: CloseReasonAbnormal, err: err}
}

// welcome waits for the server's answer to hello and applies it. It
// returns the heartbeat interval and the silence after which the server
// counts as gone, or how the connection ended.
func (s *session) welcome(ctx context.Context) (heartbeat, timeout time.Duration, end *ending) {
	r := s.r
	t := r.clock.NewTimer(welcomeTimeout)
	defer t.Stop()
	var f wire.ServerFrame
	select {
	case got, ok := <-s.frames:
		if !ok {
			e := lost(s.err)
			return 0, 0, &e
		}
		f = got
	case <-t.C():
		return 0, 0, &ending{code: wire.CloseHeartbeatTimeout, reason: CloseReasonHeartbeatTimeout,
			err: &CloseError{Code: wire.CloseHeartbeatTimeout, Reason: "no welcome"}}
	case <-ctx.Done():
		s.link.close(1000, CloseReasonClientClosed)
		return 0, 0, &ending{code: 1000, reason: CloseReasonClientClosed}
	}
	if f.Type != wire.FrameWelcome {
		s.link.close(wire.CloseProtocolError, "expected welcome")
		return 0, 0, &ending{code: 1002, reason: CloseReasonMalformed,
			err: fmt.Errorf("%w: the first frame is %q, not welcome", errMalformed, f.Type)}
	}
	s.connectionID = f.ConnectionID
	failed := r.applyWelcome(ctx, f, s.resume)
	r.resumed = true
	heartbeat = time.Duration(f.HeartbeatMs) * time.Millisecond
	if heartbeat <= 0 {
		heartbeat = defaultHeartbeat
	}
	timeout = time.Duration(f.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = 2 * heartbeat
	}
	transport := f.Transport
	if transport == "" {
		transport = r.transport
	}
	welcome := f
	r.emit(StateChange{State: StateConnected, Transport: transport, ConnectionID: f.ConnectionID,
		Welcome: &welcome, ResumeFailed: failed})
	for _, t := range slices.Sorted(maps.Keys(failed)) {
		for _, fn := range r.onResumeFailed {
			fn(t, failed[t])
		}
	}
	// Acks left over from the last connection go out first.
	return heartbeat, timeout, s.flush(ctx)
}

// applyWelcome updates the thread set and cursors from a welcome and
// returns the threads whose resume failed, with the reason. Without
// resume the connection starts at each thread's head, so the cursors move
// there; a cursor past the head is moved back to it (else the events up
// to it would be dropped as duplicates); a thread the server does not know
// is forgotten.
func (r *Realtime) applyWelcome(ctx context.Context, f wire.ServerFrame, resume bool) map[string]string {
	failed := map[string]string{}
	for _, t := range slices.Sorted(maps.Keys(f.Threads)) {
		tr := f.Threads[t]
		switch {
		case !resume:
			r.track(t)
			if tr.To > r.cursorOf(t) {
				if err := r.advance(ctx, t, tr.To); err != nil {
					r.report(err)
				}
			}
			continue
		case tr.Resumed:
			r.track(t)
			continue
		}
		failed[t] = tr.Reason
		switch tr.Reason {
		case wire.ResumeThreadNotFound:
			r.forget(ctx, t, "")
		case wire.ResumeCursorAhead:
			r.track(t)
			r.mu.Lock()
			r.cursor[t] = tr.To
			r.mu.Unlock()
			if err := r.cursors.Save(ctx, t, tr.To); err != nil {
				r.report(fmt.Errorf("herald: save cursor of %s: %w", t, err))
			}
		default:
			r.track(t)
		}
	}
	if resume && f.Resumed != nil && !*f.Resumed && len(failed) == 0 {
		failed[""] = ""
	}
	return failed
}

// handle processes one frame; it returns an ending when the connection
// must end.
// Helpers started for the frame run in helperCtx, which ends with the
// connection.
func (s *session) handle(ctx, helperCtx context.Context, f wire.ServerFrame) *ending {
	r := s.r
	switch f.Type {
	case wire.FrameEvent:
		return s.event(ctx, f)
	case wire.FrameCaughtUp:
		s.caughtUp = true
		r.emit(StateChange{State: StateConnected, Transport: r.transport, ConnectionID: s.connectionID, CaughtUp: true})
	case wire.FrameTokenExpiring:
		s.expiring(helperCtx)
	case wire.FrameError:
		if f.Error != nil {
			r.report(&herald.Error{Code: herald.Code(f.Error.Code), Reason: herald.Reason(f.Error.Reason),
				Message: f.Error.Message, Target: f.Error.Target})
		}
	case wire.FrameClose:
		ce := &CloseError{Code: f.Code, Reason: f.Reason}
		s.link.close(0, "")
		return &ending{code: f.Code, reason: f.Reason, err: ce}
	}
	// pong, refreshed, a second welcome and frame types newer than this
	// client need nothing.
	return nil
}

// event hands an event to its handlers and, for a sequenced one, dedups
// it, saves the cursor and schedules the ack.
func (s *session) event(ctx context.Context, f wire.ServerFrame) *ending {
	r := s.r
	ev := Event{ThreadID: f.ThreadID, Seq: f.Seq, Type: herald.EventType(f.Event), Replayed: !s.caughtUp,
		ConnectionID: s.connectionID, Frame: f}
	if len(f.Data) > 0 {
		if err := json.Unmarshal(f.Data, &ev.Data); err != nil {
			s.link.close(1007, CloseReasonMalformed)
			return &ending{code: 1002, reason: CloseReasonMalformed,
				err: fmt.Errorf("%w: data of %s %s seq %d: %v", errMalformed, f.Event, f.ThreadID, f.Seq, err)}
		}
	}
	handlers := r.handlers[ev.Type]
	if f.Seq <= 0 {
		for _, h := range handlers {
			if err := h(ctx, ev); err != nil {
				r.report(&HandlerError{Event: ev, Err: err})
			}
		}
		return nil
	}
	if f.Seq <= r.cursorOf(f.ThreadID) {
		return nil // a duplicate: the handlers already took it
	}
	r.joined(ev)
	for _, h := range handlers {
		if err := h(ctx, ev); err != nil {
			return s.fail(ctx, &HandlerError{Event: ev, Err: err})
		}
	}
	if err := r.advance(ctx, f.ThreadID, f.Seq); err != nil {
		return s.fail(ctx, &HandlerError{Event: ev, Err: err})
	}
	r.left(ctx, ev)
	if len(handlers) == 0 {
		return nil // not acknowledged: the app does not listen for this type
	}
	r.pending[f.ThreadID] = f.Seq
	r.pendingN++
	if r.pendingN >= ackBatch {
		return s.flush(ctx)
	}
	if s.ackTimer == nil {
		s.ackTimer = r.clock.NewTimer(ackDelay)
	}
	return nil
}

// fail ends the connection after a handler or the cursor store failed, so
// that the event is replayed after reconnecting. What was taken before is
// acknowledged first.
func (s *session) fail(ctx context.Context, err *HandlerError) *ending {
	s.lastFlush(ctx)
	s.link.close(1000, CloseReasonHandlerFailed)
	return &ending{code: 1000, reason: CloseReasonHandlerFailed, err: err, handler: true}
}

// flush sends the pending acknowledgements: for each thread the highest
// seq its handlers took.
func (s *session) flush(ctx context.Context) *ending {
	r := s.r
	stop(s.ackTimer)
	s.ackTimer = nil
	if len(r.pending) == 0 {
		return nil
	}
	acks := make([]wire.Ack, 0, len(r.pending))
	for _, t := range slices.Sorted(maps.Keys(r.pending)) {
		acks = append(acks, wire.Ack{ThreadID: t, Seq: r.pending[t]})
	}
	if err := s.link.send(ctx, wire.ClientFrame{Type: wire.FrameAck, Acks: acks}); err != nil {
		e := lost(err)
		return &e // kept pending for the next connection
	}
	clear(r.pending)
	r.pendingN = 0
	return nil
}

// lastFlush sends the pending acknowledgements before the connection is
// closed, even if ctx is done.
func (s *session) lastFlush(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	s.flush(ctx)
}

// refresh sends a new token in-band, unless the connection has it already.
func (s *session) refresh(ctx context.Context, token string) *ending {
	if token == "" || token == s.token {
		return nil
	}
	if err := s.link.send(ctx, wire.ClientFrame{Type: wire.FrameRefresh, Token: token}); err != nil {
		e := lost(err)
		return &e
	}
	s.token = token
	return nil
}

// expiring answers tokenExpiring: it asks the credential for a token
// (refreshing one that can) off the session's goroutine; the new token
// arrives through r.refreshed.
func (s *session) expiring(ctx context.Context) {
	r, current := s.r, s.token
	cred := r.client.conn.cred
	if cred == nil {
		r.report(errors.New("herald: the token expires soon and the client has no credential to refresh it"))
		return
	}
	s.helpers.Go(func() {
		token, err := cred.Token(ctx)
		if err == nil && token != "" && token != current {
			r.offerToken(token)
			return
		}
		rc, ok := cred.(RefreshingCredential)
		if !ok {
			r.report(errors.New("herald: the token expires soon and the credential cannot refresh it; the server will close the connection with 4101 token_expired"))
			return
		}
		if _, err := rc.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.report(err) // the hook offers the token on success
		}
	})
}

// cursorOf returns thread t's cursor, or the last one of an ended
// thread (0 if none).
func (r *Realtime) cursorOf(t string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq, ok := r.cursor[t]; ok {
		return seq
	}
	return r.ended[t]
}

// advance moves thread t's cursor to seq and saves it.
func (r *Realtime) advance(ctx context.Context, t string, seq int64) error {
	if err := r.cursors.Save(ctx, t, seq); err != nil {
		return fmt.Errorf("herald: save cursor of %s: %w", t, err)
	}
	r.mu.Lock()
	r.cursor[t] = seq
	delete(r.ended, t)
	r.mu.Unlock()
	return nil
}

// track adds t to the thread set, unless it was deleted or left.
func (r *Realtime) track(t string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, gone := r.gone[t]; !gone {
		r.threads[t] = true
	}
}

// joined updates the thread set before the handlers of ev run: any
// sequenced event names a thread of the user, and chatThreadCreated or
// participantsAdded naming the user make a deleted-or-left thread usable
// again.
func (r *Realtime) joined(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Type {
	case herald.EventThreadDeleted:
		return
	case herald.EventParticipantsRemoved:
		if r.names(ev.Data.Participants) {
			return
		}
	case herald.EventThreadCreated:
		delete(r.gone, ev.ThreadID)
	case herald.EventParticipantsAdded:
		if r.names(ev.Data.Participants) {
			delete(r.gone, ev.ThreadID)
		}
	}
	if _, gone := r.gone[ev.ThreadID]; !gone {
		r.threads[ev.ThreadID] = true
	}
}

// left drops a thread after the handlers of its chatThreadDeleted, or of a
// participantsRemoved naming the user, have run.
func (r *Realtime) left(ctx context.Context, ev Event) {
	switch ev.Type {
	case herald.EventThreadDeleted:
		r.forget(ctx, ev.ThreadID, herald.ReasonThreadDeleted)
	case herald.EventParticipantsRemoved:
		r.mu.Lock()
		me := r.names(ev.Data.Participants)
		r.mu.Unlock()
		if me {
			r.forget(ctx, ev.ThreadID, herald.ReasonNotParticipant)
		}
	}
}

// names reports whether ps includes the current user. r.mu must be held.
func (r *Realtime) names(ps []wire.ChatParticipant) bool {
	if r.userID == "" {
		return false
	}
	for _, p := range ps {
		if p.CommunicationIdentifier.UserID() == r.userID {
			return true
		}
	}
	return false
}

// forget drops thread t from the thread set, the cursors and the cursor
// store. With a reason (the thread ended for the user), Send refuses the
// thread from now on and later hellos still carry its last cursor.
func (r *Realtime) forget(ctx context.Context, t string, why herald.Reason) {
	r.mu.Lock()
	delete(r.threads, t)
	if why != "" {
		r.gone[t] = why
		r.ended[t] = r.cursor[t]
	} else {
		delete(r.ended, t)
	}
	delete(r.cursor, t)
	r.mu.Unlock()
	if err := r.cursors.Drop(ctx, t); err != nil {
		r.report(fmt.Errorf("herald: drop cursor of %s: %w", t, err))
	}
}

package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// RealtimeOptions configure a Realtime. The zero value is a WebSocket
// connection with cursors in memory, DefaultBackoff and the system clock.
type RealtimeOptions struct {
	// Transport is wire.TransportWebSocket (the default when empty),
	// wire.TransportSSE or wire.TransportLongPoll. The three carry the same
	// frames with the same guarantees.
	Transport string
	// Cursors keeps the per-thread cursors across connections and, if it is
	// durable, across restarts. Nil means a new MemoryCursors.
	Cursors CursorStore
	// Backoff paces reconnection; the zero value means DefaultBackoff.
	Backoff Backoff
	// Clock times heartbeats, acknowledgement batches and backoff; nil
	// means the Client's clock (WithClock), by default the system clock.
	Clock Clock
}

// Handler receives one event. Returning nil means the app has taken it:
// the client then saves the cursor and acknowledges the event to the
// server. Returning an error for a sequenced event means "give it to me
// again": the connection is closed and reopened after backoff, resuming
// from the cursor, so the event is replayed (at-least-once delivery). An
// error for an unsequenced event (typing, read receipt), which cannot be
// replayed, is reported to OnError. ctx is cancelled when the Realtime
// stops.
type Handler func(ctx context.Context, ev Event) error

// Event is a thread event as handed to a Handler.
type Event struct {
	ThreadID string
	// Seq is the event's place in the thread's history; 0 for unsequenced
	// events (typing indicators, read receipts).
	Seq  int64
	Type herald.EventType
	Data wire.EventData
	// Replayed reports that the event was sent from history, before the
	// connection caught up with each thread's head.
	Replayed bool
	// ConnectionID is the connection the event arrived on.
	ConnectionID string
	// Frame is the frame as received, for logging.
	Frame wire.ServerFrame
}

// HandlerError is a handler's failure to take an event; it is the Err of
// the StateDisconnected change that follows (sequenced events) or is
// passed to OnError (unsequenced events).
type HandlerError struct {
	Event Event
	Err   error
}

// Error implements error.
func (e *HandlerError) Error() string {
	return fmt.Sprintf("herald: handler of %s %s seq %d: %v", e.Event.Type, e.Event.ThreadID, e.Event.Seq, e.Err)
}

// Unwrap returns the handler's error.
func (e *HandlerError) Unwrap() error { return e.Err }

// CloseError is how a real-time connection ended: the close code and
// reason of the server's close frame (WebSocket) or close frame (SSE,
// long-polling), or what the client concluded (1006 for a network failure,
// 4001 for a silent server, 1000 handler_failed). wire.Reconnect tells the
// reconnect range from the terminal one.
type CloseError struct {
	Code   int
	Reason string
}

// Error implements error.
func (e *CloseError) Error() string {
	return fmt.Sprintf("closed with %d %s", e.Code, e.Reason)
}

// Client-side close reasons, with the server's in the same field of
// StateChange and CloseError.
const (
	// CloseReasonClientClosed: Close was called or Start's context ended.
	CloseReasonClientClosed = "client_closed"
	// CloseReasonHandlerFailed: a handler returned an error; the event is
	// replayed after reconnecting.
	CloseReasonHandlerFailed = "handler_failed"
	// CloseReasonHeartbeatTimeout: the server was silent for timeoutMs.
	CloseReasonHeartbeatTimeout = "heartbeat_timeout"
	// CloseReasonAbnormal: the connection failed without a close frame.
	CloseReasonAbnormal = "abnormal_closure"
	// CloseReasonMalformed: the server sent a frame the client cannot read.
	CloseReasonMalformed = "malformed_frame"
	// CloseReasonRefused: the server refused to open the connection; Err is
	// its *herald.Error.
	CloseReasonRefused = "refused"
	// CloseReasonNoToken: the credential gave no token; Err says why.
	CloseReasonNoToken = "token_unavailable"
)

// State is where a Realtime stands.
type State string

// The states. A Realtime goes connecting → connected, then on every loss
// disconnected (WillReconnect) → reconnecting → connected, and finally
// disconnected without WillReconnect.
const (
	StateConnecting   State = "connecting"   // the first attempt
	StateConnected    State = "connected"    // welcome received; again with CaughtUp when the replay is done
	StateReconnecting State = "reconnecting" // a later attempt, after backoff
	StateDisconnected State = "disconnected" // the connection ended; see Code, Reason, Err, WillReconnect
)

// StateChange tells the app where the connection stands. Fields beyond
// State and At are set as the state calls for.
type StateChange struct {
	State State
	At    time.Time
	// Attempt counts the attempts since the last stable connection
	// (connecting, reconnecting).
	Attempt int
	// Transport and ConnectionID name the connection (connected).
	Transport    string
	ConnectionID string
	// Welcome is the server's welcome (connected).
	Welcome *wire.ServerFrame
	// CaughtUp reports that the replay reached every thread's head and all
	// that follows is live (connected, second report).
	CaughtUp bool
	// ResumeFailed maps each thread whose gap could not be filled to the
	// reason (connected): wire.ResumeCursorAhead, ResumeThreadNotFound,
	// ResumeHistoryPruned. OnResumeFailed is called for each too.
	ResumeFailed map[string]string
	// Code and Reason are the close code and reason (disconnected): the
	// server's, or one of the CloseReason constants.
	Code   int
	Reason string
	// Err is the cause (disconnected): a *CloseError, a *herald.Error (the
	// server refused the connection or closed it for a terminal reason), a
	// *HandlerError or a network error.
	Err error
	// WillReconnect says whether the client will try again (disconnected),
	// after RetryIn.
	WillReconnect bool
	RetryIn       time.Duration
}

// Realtime is one user's live connection to a Herald server: every event
// of every thread the user is in, over WebSocket, SSE or long-polling. It
// resumes after any interruption from per-thread cursors, acknowledges what
// its handlers took, keeps the token fresh in-band, answers and sends
// heartbeats, and keeps a local set of the user's threads so that Send
// fails fast on threads that were deleted or that the user left.
//
// Register handlers with On (and callbacks with OnState, OnResumeFailed,
// OnError) before Start. Callbacks and handlers run one at a time on
// Start's goroutine, in the order of the frames: they must not block for
// long (a handler slower than the heartbeat timeout gets the connection
// closed, and events are replayed after it reopens).
type Realtime struct {
	client    *Client
	transport string
	dial      dialer
	dialErr   error // why the transport is unusable; returned by Start
	cursors   CursorStore
	backoff   Backoff
	clock     Clock
	refreshed chan string // the newest token from the credential's OnRefresh; buffered 1

	// Set before Start, read-only after.
	handlers       map[herald.EventType][]Handler
	onState        []func(StateChange)
	onResumeFailed []func(threadID, reason string)
	onError        []func(error)

	// Used only by Start's goroutine.
	pending  map[string]int64 // handled seq not yet acknowledged, per thread; kept across connections
	pendingN int              // events behind pending
	resumed  bool             // a connection has been welcomed: later hellos resume

	reportMu sync.Mutex // serializes the OnError callbacks

	mu      sync.Mutex // guards the fields below
	started bool
	stop    context.CancelFunc // cancels Start; nil before Start
	closed  bool
	userID  string                   // the token's sub
	cursor  map[string]int64         // per-thread cursor, as saved in cursors
	threads map[string]bool          // the user's threads as far as the client knows
	gone    map[string]herald.Reason // threads Send refuses: ReasonThreadDeleted or ReasonNotParticipant
	// ended keeps the last cursor of each thread dropped because it was
	// deleted or the user removed, and hello still sends it: a thread left
	// out of the cursor is one the server replays from the user's joining
	// (as if added while away), on every connection.
	ended map[string]int64
}

// Realtime returns a live connection for the client's user. It does
// nothing until Start.
func (c *Client) Realtime(opts RealtimeOptions) *Realtime {
	r := &Realtime{
		client:    c,
		transport: opts.Transport,
		cursors:   opts.Cursors,
		backoff:   opts.Backoff,
		clock:     cmp.Or(opts.Clock, c.conn.clock),
		refreshed: make(chan string, 1),
		handlers:  map[herald.EventType][]Handler{},
		pending:   map[string]int64{},
		cursor:    map[string]int64{},
		threads:   map[string]bool{},
		gone:      map[string]herald.Reason{},
		ended:     map[string]int64{},
	}
	if r.transport == "" {
		r.transport = wire.TransportWebSocket
	}
	if r.cursors == nil {
		r.cursors = NewMemoryCursors()
	}
	r.dial, r.dialErr = c.conn.transportDialer(r.transport)
	return r
}

// On registers h for events of type t; several handlers of one type run in
// the order registered. The types with a handler are what hello declares
// in handles, so the server's evidence can tell "delivered, but the app
// does not listen for it". On panics after Start.
func (r *Realtime) On(t herald.EventType, h Handler) {
	r.mustNotHaveStarted("On")
	r.handlers[t] = append(r.handlers[t], h)
}

// OnState registers fn for every state change. OnState panics after Start.
func (r *Realtime) OnState(fn func(StateChange)) {
	r.mustNotHaveStarted("OnState")
	r.onState = append(r.onState, fn)
}

// OnResumeFailed registers fn for every thread whose missed events could
// not be replayed, with the reason (wire.ResumeCursorAhead,
// wire.ResumeThreadNotFound, wire.ResumeHistoryPruned): the app should
// reload that thread over REST. threadID is "" when the server reports an
// overall failure without naming threads. OnResumeFailed panics after
// Start.
func (r *Realtime) OnResumeFailed(fn func(threadID, reason string)) {
	r.mustNotHaveStarted("OnResumeFailed")
	r.onResumeFailed = append(r.onResumeFailed, fn)
}

// OnError registers fn for problems that do not end the connection: an
// error frame from the server (as a *herald.Error), a failed handler of an
// unsequenced event (*HandlerError), a failed cursor Drop, a failed token
// refresh. Unlike the other callbacks it may run on another goroutine than
// the handlers (never two at once). OnError panics after Start.
func (r *Realtime) OnError(fn func(error)) {
	r.mustNotHaveStarted("OnError")
	r.onError = append(r.onError, fn)
}

func (r *Realtime) mustNotHaveStarted(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		panic("herald: Realtime." + what + " called after Start")
	}
}

// Start connects and runs until ctx is done, Close is called (it then
// returns nil) or the connection ends for a terminal reason, which it
// returns: a *herald.Error whose Code and Reason say why (unauthorized
// token_revoked, identity_deleted, token_expired with a credential that
// cannot refresh; the server's refusal to open), wrapping a *CloseError
// when the server closed the connection. Everything else (network
// failures, the reconnect range of close codes, a failing handler) makes it
// reconnect with backoff and resume. Start may be called once.
func (r *Realtime) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("herald: Realtime.Start called twice")
	}
	r.started = true
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	r.stop = stop
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil
	}
	if r.dialErr != nil {
		return r.dialErr
	}
	cursors, err := r.cursors.Load(ctx)
	if err != nil {
		return fmt.Errorf("herald: load cursors: %w", err)
	}
	r.mu.Lock()
	for t, seq := range cursors {
		r.cursor[t] = seq
		r.threads[t] = true
	}
	r.mu.Unlock()
	if rc, ok := r.client.conn.cred.(RefreshingCredential); ok {
		defer rc.OnRefresh(r.offerToken)()
	}
	return r.run(ctx)
}

// run connects again and again until ctx is done or an ending is terminal.
func (r *Realtime) run(ctx context.Context) error {
	attempt := 0
	for {
		state := StateConnecting
		if attempt > 0 || r.resumed {
			state = StateReconnecting
		}
		r.emit(StateChange{State: state, Attempt: attempt})
		end := r.connect(ctx)
		if ctx.Err() != nil {
			r.emit(StateChange{State: StateDisconnected, Code: 1000, Reason: CloseReasonClientClosed})
			return nil
		}
		if end.stable(r.clock.Now()) {
			attempt = 0
		}
		retry, terminal := r.decide(ctx, end)
		if !retry {
			r.emit(StateChange{State: StateDisconnected, Code: end.code, Reason: end.reason, Err: terminal})
			return terminal
		}
		delay := max(r.backoff.Delay(attempt), end.retryAfter)
		attempt++
		r.emit(StateChange{State: StateDisconnected, Code: end.code, Reason: end.reason, Err: end.err,
			WillReconnect: true, RetryIn: delay})
		t := r.clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			r.emit(StateChange{State: StateDisconnected, Code: 1000, Reason: CloseReasonClientClosed})
			return nil
		case <-t.C():
		}
	}
}

// Close stops the Realtime: it acknowledges what the handlers took, closes
// the connection and makes Start return nil. It does not wait for Start to
// return, so a handler may call it.
func (r *Realtime) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.stop != nil {
		r.stop()
	}
}

// UserID returns the current user's id, read from the token's sub claim
// when connecting; "" before the first connection or if the token is not
// a JWT.
func (r *Realtime) UserID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.userID
}

// Threads returns the ids of the user's threads as the client knows them,
// sorted: those in the cursors and the welcome, and those joined since;
// without those deleted or left since.
func (r *Realtime) Threads() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.threads))
}

// Cursors returns a copy of the per-thread cursors: the highest seq the
// handlers have taken (or skipped, for types without a handler).
func (r *Realtime) Cursors() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.cursor)
}

// Send sends a message to a thread over REST, unless the client already
// knows it cannot: it fails fast with a *herald.Error of Code not_found and
// Reason thread_deleted when the thread was deleted, or Code forbidden and
// Reason not_participant when the user was removed from it. A REST answer
// with either reason updates that knowledge.
func (r *Realtime) Send(ctx context.Context, threadID string, req wire.SendMessageRequest) (*wire.SendMessageResponse, error) {
	r.mu.Lock()
	reason := r.gone[threadID]
	r.mu.Unlock()
	switch reason {
	case herald.ReasonThreadDeleted:
		return nil, &herald.Error{Code: herald.CodeNotFound, Reason: reason, Target: threadID,
			Message: fmt.Sprintf("thread %s was deleted", threadID)}
	case herald.ReasonNotParticipant:
		return nil, &herald.Error{Code: herald.CodeForbidden, Reason: reason, Target: threadID,
			Message: fmt.Sprintf("you were removed from thread %s", threadID)}
	}
	resp, err := r.client.SendMessage(ctx, threadID, req, "")
	if reason := herald.ErrorReason(err); reason == herald.ReasonThreadDeleted || reason == herald.ReasonNotParticipant {
		r.mu.Lock()
		r.gone[threadID] = reason
		delete(r.threads, threadID)
		r.mu.Unlock()
	}
	return resp, err
}

// emit stamps sc and calls the state callbacks.
func (r *Realtime) emit(sc StateChange) {
	sc.At = r.clock.Now()
	for _, fn := range r.onState {
		fn(sc)
	}
}

// report calls the error callbacks, one report at a time.
func (r *Realtime) report(err error) {
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	for _, fn := range r.onError {
		fn(err)
	}
}

// offerToken hands a new token to the connection, replacing one not yet
// taken. It is the credential's OnRefresh hook, so it never blocks.
func (r *Realtime) offerToken(token string) {
	for {
		select {
		case r.refreshed <- token:
			return
		default:
		}
		select {
		case <-r.refreshed:
		default:
		}
	}
}

// hello is the first frame of a connection.
func (r *Realtime) hello() wire.ClientFrame {
	r.mu.Lock()
	cursor := maps.Clone(r.cursor)
	for t, seq := range r.ended {
		cursor[t] = seq
	}
	r.mu.Unlock()
	var handles []string
	for t := range r.handlers {
		handles = append(handles, string(t))
	}
	slices.Sort(handles)
	return wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion, Cursor: cursor,
		Resume: len(cursor) > 0 || r.resumed, Handles: handles}
}

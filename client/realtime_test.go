package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// These tests pin the real-time client's own decisions (hello, dedup,
// cursors, ack batching, thread dropping, heartbeats, reconnect and token
// handling) against a fake transport and a fake clock.

const me = "u_me"

// rig is a Realtime wired to a fake server and a fake clock.
type rig struct {
	t       *testing.T
	clk     *fakeClock
	srv     *fakeServer
	rt      *Realtime
	cursors *MemoryCursors
	states  chan StateChange
	errs    chan error
	resumes chan [2]string
	done    chan error
	cancel  context.CancelFunc
	rest    atomic.Int32 // REST requests the rest server answered
}

type rigOption func(*rigConfig)

type rigConfig struct {
	cred    Credential
	cursors map[string]int64
	setup   func(*Realtime)
	refuse  error
}

func withCredential(c Credential) rigOption    { return func(rc *rigConfig) { rc.cred = c } }
func withCursors(m map[string]int64) rigOption { return func(rc *rigConfig) { rc.cursors = m } }
func withSetup(f func(*Realtime)) rigOption    { return func(rc *rigConfig) { rc.setup = f } }
func withRefusal(err error) rigOption          { return func(rc *rigConfig) { rc.refuse = err } }

// startRig starts a Realtime whose REST calls go to a server that accepts
// every message.
func startRig(t *testing.T, opts ...rigOption) *rig {
	t.Helper()
	rg := &rig{t: t, clk: newFakeClock(), srv: newFakeServer(), cursors: NewMemoryCursors(),
		states: make(chan StateChange, 1000), errs: make(chan error, 100), resumes: make(chan [2]string, 100),
		done: make(chan error, 1)}
	cfg := rigConfig{cred: StaticToken(jwt(me, rg.clk.Now().Add(24*time.Hour)))}
	for _, o := range opts {
		o(&cfg)
	}
	for thread, seq := range cfg.cursors {
		rg.cursors.Save(context.Background(), thread, seq)
	}
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rg.rest.Add(1)
		answerJSON(w, http.StatusCreated, `{"id":"m_1","sequenceId":"9"}`)
	}))
	t.Cleanup(rest.Close)
	rg.rt = New(rest.URL, cfg.cred).Realtime(RealtimeOptions{Cursors: rg.cursors, Clock: rg.clk,
		Backoff: Backoff{Initial: time.Second, Max: time.Second}})
	rg.rt.dial = rg.srv.dial
	rg.rt.OnState(func(sc StateChange) { rg.states <- sc })
	rg.rt.OnError(func(err error) { rg.errs <- err })
	rg.rt.OnResumeFailed(func(thread, reason string) { rg.resumes <- [2]string{thread, reason} })
	if cfg.setup != nil {
		cfg.setup(rg.rt)
	}
	if cfg.refuse != nil {
		rg.srv.refuse <- cfg.refuse
	}
	ctx, cancel := context.WithCancel(context.Background())
	rg.cancel = cancel
	go func() { rg.done <- rg.rt.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rg.done:
		case <-time.After(waitLimit):
			t.Error("Start did not return after its context was cancelled")
		}
	})
	return rg
}

func answerJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// state waits for a state change that satisfies match, skipping others.
func (rg *rig) state(match func(StateChange) bool) StateChange {
	rg.t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case sc := <-rg.states:
			if match(sc) {
				return sc
			}
		case <-deadline:
			rg.t.Fatal("the expected state change did not come")
			return StateChange{}
		}
	}
}

func in(s State) func(StateChange) bool { return func(sc StateChange) bool { return sc.State == s } }

// connect accepts the next connection and welcomes it.
func (rg *rig) connect(threads map[string]wire.ThreadResume) *fakeLink {
	rg.t.Helper()
	l := rg.srv.accept(rg.t)
	l.welcome(threads)
	rg.state(in(StateConnected))
	return l
}

// reconnect lets the backoff elapse and accepts the next connection.
func (rg *rig) reconnect() *fakeLink {
	rg.t.Helper()
	sc := rg.state(in(StateDisconnected))
	if !sc.WillReconnect {
		rg.t.Fatalf("got %+v, want a disconnection that reconnects", sc)
	}
	timer := rg.clk.waitTimer(rg.t, "backoff", is(sc.RetryIn))
	rg.clk.Advance(timer.d)
	return rg.srv.accept(rg.t)
}

// result waits for Start to return.
func (rg *rig) result() error {
	rg.t.Helper()
	select {
	case err := <-rg.done:
		rg.done <- err // for the cleanup
		return err
	case <-time.After(waitLimit):
		rg.t.Fatal("Start did not return")
		return nil
	}
}

// flushAcks fires the ack batch timer and returns the ack frame.
func (rg *rig) flushAcks(l *fakeLink) []wire.Ack {
	rg.t.Helper()
	rg.clk.waitTimer(rg.t, "ack batch", is(ackDelay))
	rg.clk.Advance(ackDelay)
	return l.next(rg.t, wire.FrameAck).Acks
}

// seen records the events a handler receives.
type seen chan Event

func (s seen) handler(ctx context.Context, ev Event) error {
	s <- ev
	return nil
}

func (s seen) next(tb testing.TB) Event {
	tb.Helper()
	select {
	case ev := <-s:
		return ev
	case <-time.After(waitLimit):
		tb.Fatal("the handler was not called")
		return Event{}
	}
}

func (s seen) none(tb testing.TB) {
	tb.Helper()
	select {
	case ev := <-s:
		tb.Fatalf("the handler got %s %s seq %d, want nothing", ev.Type, ev.ThreadID, ev.Seq)
	default:
	}
}

func message() wire.EventData {
	return wire.EventData{Message: &wire.ChatMessage{ID: "m", Type: "text"}}
}

func mustCursors(tb testing.TB, rg *rig, want map[string]int64) {
	tb.Helper()
	stored, _ := rg.cursors.Load(context.Background())
	if diff := cmp.Diff(want, stored); diff != "" {
		tb.Errorf("stored cursors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, rg.rt.Cursors()); diff != "" {
		tb.Errorf("Cursors() (-want +got):\n%s", diff)
	}
}

func TestHelloResumesFromStoredCursors(t *testing.T) {
	got := make(seen, 10)
	rg := startRig(t, withCursors(map[string]int64{"t1": 5}), withSetup(func(r *Realtime) {
		r.On(herald.EventTypingIndicatorReceived, got.handler)
		r.On(herald.EventMessageReceived, got.handler)
		r.On(herald.EventMessageReceived, got.handler)
	}))
	l := rg.srv.accept(t)
	want := wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion, Cursor: map[string]int64{"t1": 5},
		Resume: true, Handles: []string{"chatMessageReceived", "typingIndicatorReceived"}}
	if diff := cmp.Diff(want, l.hello); diff != "" {
		t.Errorf("hello (-want +got):\n%s", diff)
	}
	if want := jwt(me, rg.clk.Now().Add(24*time.Hour)); l.token != want {
		t.Errorf("dialled with token %q, want the credential's", l.token)
	}
	sc := rg.state(in(StateConnecting))
	if sc.Attempt != 0 {
		t.Errorf("first state: got attempt %d, want 0", sc.Attempt)
	}
}

func TestFirstConnectionStartsAtHeadThenResumes(t *testing.T) {
	got := make(seen, 10)
	rg := startRig(t, withSetup(func(r *Realtime) { r.On(herald.EventMessageReceived, got.handler) }))
	l := rg.srv.accept(t)
	if l.hello.Resume || len(l.hello.Cursor) != 0 {
		t.Errorf("first hello with no cursors: got resume %v cursor %v, want a live start", l.hello.Resume, l.hello.Cursor)
	}
	l.welcome(map[string]wire.ThreadResume{"t1": {Resumed: true, To: 7}, "t2": {Resumed: true, To: 3}})
	sc := rg.state(in(StateConnected))
	if sc.ConnectionID != "c_1" || sc.Welcome == nil || len(sc.ResumeFailed) != 0 {
		t.Errorf("connected: got %+v, want connection c_1 with its welcome and no resume failure", sc)
	}
	mustCursors(t, rg, map[string]int64{"t1": 7, "t2": 3})
	if diff := cmp.Diff([]string{"t1", "t2"}, rg.rt.Threads()); diff != "" {
		t.Errorf("Threads (-want +got):\n%s", diff)
	}
	if rg.rt.UserID() != me {
		t.Errorf("UserID: got %q, want %q from the token's sub", rg.rt.UserID(), me)
	}

	l.event("t1", 8, "chatMessageReceived", message())
	if ev := got.next(t); ev.Seq != 8 || ev.ConnectionID != "c_1" || ev.Data.Message == nil || !ev.Replayed {
		t.Errorf("got %+v, want t1 seq 8 on c_1 with its message, before caughtUp", ev)
	}
	l.in <- wire.ServerFrame{Type: wire.FrameCaughtUp}
	if sc := rg.state(in(StateConnected)); !sc.CaughtUp {
		t.Errorf("after caughtUp: got %+v, want CaughtUp", sc)
	}

	l.fail <- &CloseError{Code: wire.CloseGoingAway, Reason: "going_away"}
	l2 := rg.reconnect()
	want := map[string]int64{"t1": 8, "t2": 3}
	if !l2.hello.Resume || !cmp.Equal(want, l2.hello.Cursor) {
		t.Errorf("second hello: got resume %v cursor %v, want resume from %v", l2.hello.Resume, l2.hello.Cursor, want)
	}
}

func TestDedupCursorsAndAckBatching(t *testing.T) {
	got := make(seen, 200)
	rg := startRig(t, withCursors(map[string]int64{"t1": 2}), withSetup(func(r *Realtime) {
		r.On(herald.EventMessageReceived, got.handler)
	}))
	l := rg.connect(nil)
	for _, seq := range []int64{1, 2, 3, 3, 4} {
		l.event("t1", seq, "chatMessageReceived", message())
	}
	l.event("t2", 1, "chatMessageReceived", message())
	for _, want := range []string{"t1/3", "t1/4", "t2/1"} {
		if ev := got.next(t); fmt.Sprintf("%s/%d", ev.ThreadID, ev.Seq) != want {
			t.Fatalf("got %s/%d, want %s", ev.ThreadID, ev.Seq, want)
		}
	}
	acks := rg.flushAcks(l)
	got.none(t)
	if diff := cmp.Diff([]wire.Ack{{ThreadID: "t1", Seq: 4}, {ThreadID: "t2", Seq: 1}}, acks); diff != "" {
		t.Errorf("acks (-want +got):\n%s", diff)
	}
	mustCursors(t, rg, map[string]int64{"t1": 4, "t2": 1})

	// A full batch goes out without waiting for the timer.
	for seq := int64(1); seq <= ackBatch; seq++ {
		l.event("t3", seq, "chatMessageReceived", message())
	}
	if acks := l.next(t, wire.FrameAck).Acks; !cmp.Equal([]wire.Ack{{ThreadID: "t3", Seq: ackBatch}}, acks) {
		t.Errorf("after %d events: got acks %v, want t3 up to %d", ackBatch, acks, ackBatch)
	}
}

func TestUnhandledAndUnsequencedEvents(t *testing.T) {
	got := make(seen, 10)
	rg := startRig(t, withCursors(map[string]int64{"t1": 0}), withSetup(func(r *Realtime) {
		r.On(herald.EventMessageReceived, got.handler)
		r.On(herald.EventTypingIndicatorReceived, got.handler)
	}))
	l := rg.connect(nil)
	l.event("t1", 1, "chatMessageReceived", message())
	l.event("t1", 2, "chatThreadPropertiesUpdated", wire.EventData{Thread: &wire.ChatThreadProperties{ID: "t1"}})
	l.event("t2", 1, "participantsAdded", wire.EventData{})
	l.event("t1", 0, "typingIndicatorReceived", wire.EventData{ChatMessageID: ""})
	if ev := got.next(t); ev.Seq != 1 {
		t.Fatalf("got seq %d, want 1", ev.Seq)
	}
	if ev := got.next(t); ev.Type != herald.EventTypingIndicatorReceived || ev.Seq != 0 {
		t.Fatalf("got %s seq %d, want the typing indicator", ev.Type, ev.Seq)
	}
	acks := rg.flushAcks(l)
	if diff := cmp.Diff([]wire.Ack{{ThreadID: "t1", Seq: 1}}, acks); diff != "" {
		t.Errorf("acks: only what a handler took (-want +got):\n%s", diff)
	}
	// Unhandled sequenced events still move the cursor; typing does not.
	mustCursors(t, rg, map[string]int64{"t1": 2, "t2": 1})
	if diff := cmp.Diff([]string{"t1", "t2"}, rg.rt.Threads()); diff != "" {
		t.Errorf("Threads (-want +got):\n%s", diff)
	}
}

func TestHandlerErrorReplaysTheEvent(t *testing.T) {
	got := make(seen, 10)
	failOnce := errors.New("database busy")
	var failed atomic.Bool
	rg := startRig(t, withCursors(map[string]int64{"t1": 0}), withSetup(func(r *Realtime) {
		r.On(herald.EventMessageReceived, func(ctx context.Context, ev Event) error {
			if ev.Seq == 2 && !failed.Swap(true) {
				return failOnce
			}
			return got.handler(ctx, ev)
		})
	}))
	l := rg.connect(nil)
	for seq := int64(1); seq <= 3; seq++ {
		l.event("t1", seq, "chatMessageReceived", message())
	}
	got.next(t)
	if acks := l.next(t, wire.FrameAck).Acks; !cmp.Equal([]wire.Ack{{ThreadID: "t1", Seq: 1}}, acks) {
		t.Errorf("before closing: got acks %v, want t1 up to 1", acks)
	}
	l.waitClosed(t)
	if l.code != 1000 || l.reason != CloseReasonHandlerFailed {
		t.Errorf("closed with %d %q, want 1000 %q", l.code, l.reason, CloseReasonHandlerFailed)
	}
	sc := rg.state(in(StateDisconnected))
	var he *HandlerError
	if !errors.As(sc.Err, &he) || !errors.Is(sc.Err, failOnce) || he.Event.Seq != 2 || !sc.WillReconnect {
		t.Errorf("got %+v, want a HandlerError for seq 2 and a reconnect", sc)
	}
	rg.states <- sc // for reconnect
	l2 := rg.reconnect()
	if !cmp.Equal(map[string]int64{"t1": 1}, l2.hello.Cursor) {
		t.Errorf("hello after the failure: got cursor %v, want t1 at 1", l2.hello.Cursor)
	}
	l2.welcome(nil)
	l2.event("t1", 2, "chatMessageReceived", message())
	if ev := got.next(t); ev.Seq != 2 {
		t.Errorf("after reconnecting: got seq %d, want the replayed 2", ev.Seq)
	}
}

func TestThreadDeletedIsDroppedAndSendFailsFast(t *testing.T) {
	got := make(seen, 10)
	rg := startRig(t, withCursors(map[string]int64{"t1": 1, "t2": 1}), withSetup(func(r *Realtime) {
		r.On(herald.EventThreadDeleted, func(ctx context.Context, ev Event) error {
			// The handler still sees the thread: it is dropped afterwards.
			if !slices.Contains(r.Threads(), ev.ThreadID) {
				return errors.New("dropped before the handler ran")
			}
			return got.handler(ctx, ev)
		})
	}))
	l := rg.connect(nil)
	l.event("t1", 2, "chatThreadDeleted", wire.EventData{Thread: &wire.ChatThreadProperties{ID: "t1"}})
	got.next(t)
	if acks := rg.flushAcks(l); !cmp.Equal([]wire.Ack{{ThreadID: "t1", Seq: 2}}, acks) {
		t.Errorf("got acks %v, want the deletion acknowledged", acks)
	}
	if diff := cmp.Diff([]string{"t2"}, rg.rt.Threads()); diff != "" {
		t.Errorf("Threads (-want +got):\n%s", diff)
	}
	mustCursors(t, rg, map[string]int64{"t2": 1})

	_, err := rg.rt.Send(context.Background(), "t1", wire.SendMessageRequest{Content: "hi"})
	mustReason(t, err, herald.CodeNotFound, herald.ReasonThreadDeleted)
	if n := rg.rest.Load(); n != 0 {
		t.Errorf("Send to a deleted thread made %d requests, want none", n)
	}
	if _, err := rg.rt.Send(context.Background(), "t2", wire.SendMessageRequest{Content: "hi"}); err != nil {
		t.Errorf("Send to a live thread: %v", err)
	}
	if n := rg.rest.Load(); n != 1 {
		t.Errorf("Send to a live thread made %d requests, want 1", n)
	}

	// The next hello still carries the deleted thread's last cursor: the
	// server replays a thread left out of the cursor from the user's
	// joining.
	l.fail <- &CloseError{Code: wire.CloseGoingAway, Reason: "going_away"}
	l2 := rg.reconnect()
	if want := map[string]int64{"t1": 2, "t2": 1}; !cmp.Equal(want, l2.hello.Cursor) {
		t.Errorf("hello after the deletion: got cursor %v, want %v", l2.hello.Cursor, want)
	}
	l2.welcome(map[string]wire.ThreadResume{"t1": {Resumed: true, From: 2, To: 2}, "t2": {Resumed: true, From: 1, To: 1}})
	rg.state(in(StateConnected))
	if diff := cmp.Diff([]string{"t2"}, rg.rt.Threads()); diff != "" {
		t.Errorf("Threads after reconnecting (-want +got):\n%s", diff)
	}
}

func TestRemovedFromThread(t *testing.T) {
	got := make(seen, 10)
	rg := startRig(t, withCursors(map[string]int64{"t1": 1}), withSetup(func(r *Realtime) {
		r.On(herald.EventParticipantsRemoved, got.handler)
		r.On(herald.EventParticipantsAdded, got.handler)
	}))
	l := rg.connect(nil)
	someone := wire.EventData{Participants: []wire.ChatParticipant{{CommunicationIdentifier: wire.Identifier("u_other")}}}
	mine := wire.EventData{Participants: []wire.ChatParticipant{{CommunicationIdentifier: wire.Identifier(me)}}}

	l.event("t1", 2, "participantsRemoved", someone)
	got.next(t)
	rg.flushAcks(l)
	if diff := cmp.Diff([]string{"t1"}, rg.rt.Threads()); diff != "" {
		t.Errorf("after another user left (-want +got):\n%s", diff)
	}

	l.event("t1", 3, "participantsRemoved", mine)
	got.next(t)
	rg.flushAcks(l)
	if got := rg.rt.Threads(); len(got) != 0 {
		t.Errorf("after the user was removed: got threads %v, want none", got)
	}
	_, err := rg.rt.Send(context.Background(), "t1", wire.SendMessageRequest{Content: "hi"})
	mustReason(t, err, herald.CodeForbidden, herald.ReasonNotParticipant)

	// Added back: the thread is usable again.
	l.event("t1", 7, "participantsAdded", mine)
	got.next(t)
	rg.flushAcks(l)
	if _, err := rg.rt.Send(context.Background(), "t1", wire.SendMessageRequest{Content: "hi"}); err != nil {
		t.Errorf("Send after being added back: %v", err)
	}
	mustCursors(t, rg, map[string]int64{"t1": 7})
}

func mustReason(tb testing.TB, err error, code herald.Code, reason herald.Reason) {
	tb.Helper()
	var he *herald.Error
	if !errors.As(err, &he) || he.Code != code || he.Reason != reason {
		tb.Fatalf("got %v, want a *herald.Error %s/%s", err, code, reason)
	}
}

func TestHeartbeats(t *testing.T) {
	rg := startRig(t)
	l := rg.srv.accept(t)
	l.in <- wire.ServerFrame{Type: wire.FrameWelcome, ConnectionID: "c_1", HeartbeatMs: 1000, TimeoutMs: 3000}
	rg.state(in(StateConnected))
	l.in <- wire.ServerFrame{Type: wire.FramePing}
	l.next(t, wire.FramePong)

	// Silent server: the client pings every second and gives up at the
	// first tick after 3 s of silence (silence is counted in whole ticks, so
	// a frame heard just before a tick never makes it give up early).
	for range 3 {
		rg.clk.waitTimer(t, "heartbeat", is(time.Second))
		rg.clk.Advance(time.Second)
		l.next(t, wire.FramePing)
	}
	rg.clk.waitTimer(t, "heartbeat", is(time.Second))
	rg.clk.Advance(time.Second)
	l.waitClosed(t)
	sc := rg.state(in(StateDisconnected))
	if sc.Code != wire.CloseHeartbeatTimeout || sc.Reason != CloseReasonHeartbeatTimeout || !sc.WillReconnect {
		t.Errorf("got %+v, want 4001 heartbeat_timeout and a reconnect", sc)
	}
	rg.states <- sc
	rg.reconnect()
}

func TestServerPingsKeepTheConnection(t *testing.T) {
	rg := startRig(t)
	l := rg.srv.accept(t)
	l.in <- wire.ServerFrame{Type: wire.FrameWelcome, ConnectionID: "c_1", HeartbeatMs: 1000, TimeoutMs: 3000}
	rg.state(in(StateConnected))
	for range 5 {
		rg.clk.waitTimer(t, "heartbeat", is(time.Second))
		rg.clk.Advance(time.Second)
		l.in <- wire.ServerFrame{Type: wire.FramePing}
		l.next(t, wire.FramePong)
	}
	select {
	case <-l.closed:
		t.Fatal("the client closed a connection whose server keeps pinging")
	default:
	}
}

func TestCloseCodes(t *testing.T) {
	tests := []struct {
		name      string
		err       error // how the connection ends
		reconnect bool
		code      herald.Code
		reason    herald.Reason
	}{
		{"going away", &CloseError{Code: wire.CloseGoingAway, Reason: "going_away"}, true, "", ""},
		{"slow consumer", &CloseError{Code: wire.CloseSlowConsumer, Reason: "slow_consumer"}, true, "", ""},
		{"network", errors.New("connection reset by peer"), true, "", ""},
		{"abnormal 1006", &CloseError{Code: 1006}, true, "", ""},
		{"revoked", &CloseError{Code: wire.CloseTokenRevoked, Reason: "token_revoked"}, false, herald.CodeUnauthorized, herald.ReasonTokenRevoked},
		{"identity deleted", &CloseError{Code: wire.CloseIdentityDeleted, Reason: "identity_deleted"}, false, herald.CodeUnauthorized, herald.ReasonIdentityDeleted},
		{"expired, static token", &CloseError{Code: wire.CloseTokenExpired, Reason: "token_expired"}, false, herald.CodeUnauthorized, herald.ReasonTokenExpired},
		{"protocol error", &CloseError{Code: wire.CloseProtocolError, Reason: "protocol_error"}, false, herald.CodeInvalid, "protocol_error"},
		{"too big", &CloseError{Code: wire.CloseMessageTooBig, Reason: "message_too_big"}, false, herald.CodeInvalid, "message_too_big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := startRig(t)
			l := rg.connect(nil)
			l.fail <- tt.err
			if tt.reconnect {
				rg.reconnect()
				return
			}
			err := rg.result()
			mustReason(t, err, tt.code, tt.reason)
			var ce *CloseError
			if !errors.As(err, &ce) {
				t.Errorf("got %v, want it to wrap the *CloseError", err)
			}
			sc := rg.state(in(StateDisconnected))
			if sc.WillReconnect || sc.Code != ce.Code {
				t.Errorf("got %+v, want a final disconnection with code %d", sc, ce.Code)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	refused := func(status int, code herald.Code, reason herald.Reason, retryAfter time.Duration) error {
		return &herald.Error{Code: code, Reason: reason, Message: "no", Err: &HTTPError{Status: status, RetryAfter: retryAfter}}
	}
	t.Run("revoked is final", func(t *testing.T) {
		rg := startRig(t, withRefusal(refused(401, herald.CodeUnauthorized, herald.ReasonTokenRevoked, 0)))
		mustReason(t, rg.result(), herald.CodeUnauthorized, herald.ReasonTokenRevoked)
		if Status(rg.result()) != 401 {
			t.Errorf("got status %d, want the refusal's 401", Status(rg.result()))
		}
	})
	t.Run("unavailable waits Retry-After", func(t *testing.T) {
		rg := startRig(t, withRefusal(refused(503, herald.CodeUnavailable, herald.ReasonStoreUnavailable, 7*time.Second)))
		sc := rg.state(in(StateDisconnected))
		if !sc.WillReconnect || sc.RetryIn != 7*time.Second || sc.Reason != CloseReasonRefused {
			t.Errorf("got %+v, want a reconnect after the server's 7s", sc)
		}
		rg.states <- sc
		rg.reconnect()
		if sc := rg.state(in(StateReconnecting)); sc.Attempt != 1 {
			t.Errorf("got attempt %d, want 1", sc.Attempt)
		}
	})
}

func TestTokenExpiredReconnectsWithRefreshedToken(t *testing.T) {
	credClock := newFakeClock()
	first := jwt(me, credClock.Now().Add(time.Hour))
	second := jwt(me, credClock.Now().Add(2*time.Hour))
	cred := NewTokenCredential(first, newRefresher(token(second)).refresh, WithCredentialClock(credClock), WithRefreshBefore(0))
	defer cred.Close()
	rg := startRig(t, withCredential(cred))
	l := rg.connect(nil)
	if l.token != first {
		t.Fatalf("dialled with %q, want the first token", l.token)
	}
	l.fail <- &CloseError{Code: wire.CloseTokenExpired, Reason: "token_expired"}
	l2 := rg.reconnect()
	if l2.token != second {
		t.Errorf("reconnected with %q, want the refreshed token", l2.token)
	}
}

func TestTokenExpiringSendsRefreshInBand(t *testing.T) {
	credClock := newFakeClock()
	first := jwt(me, credClock.Now().Add(time.Hour))
	second := jwt(me, credClock.Now().Add(2*time.Hour))
	cred := NewTokenCredential(first, newRefresher(token(second)).refresh, WithCredentialClock(credClock), WithRefreshBefore(0))
	defer cred.Close()
	rg := startRig(t, withCredential(cred))
	l := rg.connect(nil)
	l.in <- wire.ServerFrame{Type: wire.FrameTokenExpiring}
	if f := l.next(t, wire.FrameRefresh); f.Token != second {
		t.Errorf("refresh frame: got token %q, want the refreshed one", f.Token)
	}
	l.in <- wire.ServerFrame{Type: wire.FrameRefreshed}
	select {
	case <-l.closed:
		t.Error("the connection was closed; a refresh keeps it")
	default:
	}
}

func TestProactiveRefreshSendsRefreshInBand(t *testing.T) {
	credClock := newFakeClock()
	first := jwt(me, credClock.Now().Add(time.Hour))
	second := jwt(me, credClock.Now().Add(2*time.Hour))
	cred := NewTokenCredential(first, newRefresher(token(second)).refresh, WithCredentialClock(credClock))
	defer cred.Close()
	rg := startRig(t, withCredential(cred))
	l := rg.connect(nil)
	timer := credClock.waitTimer(t, "proactive refresh", is(50*time.Minute))
	credClock.Advance(timer.d)
	if f := l.next(t, wire.FrameRefresh); f.Token != second {
		t.Errorf("refresh frame: got token %q, want the refreshed one", f.Token)
	}
}

func TestResumeFailuresAreSurfaced(t *testing.T) {
	got := make(seen, 10)
	rg := startRig(t, withCursors(map[string]int64{"t1": 50, "t2": 5, "t3": 9}), withSetup(func(r *Realtime) {
		r.On(herald.EventMessageReceived, got.handler)
	}))
	l := rg.srv.accept(t)
	l.welcome(map[string]wire.ThreadResume{
		"t1": {Resumed: false, Reason: wire.ResumeCursorAhead, From: 50, To: 40},
		"t2": {Resumed: true, From: 5, To: 5},
		"t3": {Resumed: false, Reason: wire.ResumeThreadNotFound, From: 9},
	})
	sc := rg.state(in(StateConnected))
	want := map[string]string{"t1": wire.ResumeCursorAhead, "t3": wire.ResumeThreadNotFound}
	if diff := cmp.Diff(want, sc.ResumeFailed); diff != "" {
		t.Errorf("StateChange.ResumeFailed (-want +got):\n%s", diff)
	}
	for _, w := range [][2]string{{"t1", wire.ResumeCursorAhead}, {"t3", wire.ResumeThreadNotFound}} {
		select {
		case g := <-rg.resumes:
			if g != w {
				t.Errorf("OnResumeFailed: got %v, want %v", g, w)
			}
		case <-time.After(waitLimit):
			t.Fatalf("OnResumeFailed was not called for %v", w)
		}
	}
	// The cursor past the head moves back to it, so nothing new is
	// mistaken for a duplicate; the unknown thread is forgotten.
	mustCursors(t, rg, map[string]int64{"t1": 40, "t2": 5})
	l.event("t1", 41, "chatMessageReceived", message())
	if ev := got.next(t); ev.Seq != 41 {
		t.Errorf("got seq %d, want 41", ev.Seq)
	}
}

func TestCloseSendsPendingAcks(t *testing.T) {
	got := make(seen, 10)
	rg := startRig(t, withCursors(map[string]int64{"t1": 0}), withSetup(func(r *Realtime) {
		r.On(herald.EventMessageReceived, got.handler)
	}))
	l := rg.connect(nil)
	l.event("t1", 1, "chatMessageReceived", message())
	got.next(t)
	rg.clk.waitTimer(t, "ack batch", is(ackDelay)) // the event is fully taken
	rg.rt.Close()
	if acks := l.next(t, wire.FrameAck).Acks; !cmp.Equal([]wire.Ack{{ThreadID: "t1", Seq: 1}}, acks) {
		t.Errorf("got acks %v, want t1 up to 1 before closing", acks)
	}
	l.waitClosed(t)
	if l.code != 1000 || l.reason != CloseReasonClientClosed {
		t.Errorf("closed with %d %q, want 1000 %q", l.code, l.reason, CloseReasonClientClosed)
	}
	if err := rg.result(); err != nil {
		t.Errorf("Start after Close: got %v, want nil", err)
	}
	if sc := rg.state(in(StateDisconnected)); sc.WillReconnect || sc.Reason != CloseReasonClientClosed {
		t.Errorf("got %+v, want a final client_closed", sc)
	}
}

func TestServerErrorFrameIsReported(t *testing.T) {
	rg := startRig(t)
	l := rg.connect(nil)
	l.in <- wire.ServerFrame{Type: wire.FrameError, Error: &wire.ErrorBody{Code: "invalid", Reason: "token_invalid", Message: "bad refresh"}}
	select {
	case err := <-rg.errs:
		mustReason(t, err, herald.CodeInvalid, herald.ReasonTokenInvalid)
	case <-time.After(waitLimit):
		t.Fatal("OnError was not called")
	}
}

func TestRegistrationAfterStartPanics(t *testing.T) {
	rg := startRig(t)
	rg.srv.accept(t)
	defer func() {
		if recover() == nil {
			t.Error("On after Start did not panic")
		}
	}()
	rg.rt.On(herald.EventMessageReceived, func(context.Context, Event) error { return nil })
}

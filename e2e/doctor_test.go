package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

// secret is the content of every message of the fault matrix; no report
// may contain it.
const secret = "SECRET-e2e-content-d0c7"

// dq is a doctor query: a user in a thread, optionally one message.
type dq struct{ user, thread, message string }

// cite is an evidence row (table and id) a finding must cite.
type cite struct{ source, id string }

// scene is what a fault case produced: the query to ask, the evidence the
// leading finding must cite, and words the summary must contain.
type scene struct {
	q     dq
	cites []cite
	words []string
}

// faultCase drives the real API and real connections into a state, then
// says what the doctor must answer about it.
type faultCase struct {
	name   string
	kind   string // single, pair or healthy
	limits func(*service.Limits)
	hub    func(*hub.Config)
	run    func(t *testing.T, e *env) scene
	status string
	cause  doctor.Check
	tag    doctor.Tag // of the leading finding, when there is a cause
	// also gives further checks and the verdict each must have; a pair's
	// second cause is here as confirmed.
	also map[doctor.Check]doctor.Verdict
}

// TestDoctorFaultMatrix injects each fault (and some pairs) with real
// clients against a real server and asks GET /admin/doctor why the
// message did not arrive.
func TestDoctorFaultMatrix(t *testing.T) {
	sizes, ran, passed := map[string]int{}, 0, 0
	for _, fc := range faultMatrix {
		sizes[fc.kind]++
		started := false
		ok := t.Run(fc.name, func(t *testing.T) {
			started = true
			runFault(t, fc)
		})
		if started {
			ran++
			if ok {
				passed++
			}
		}
	}
	t.Logf("doctor fault matrix: %d single faults, %d pairs, %d healthy cases; %d run, %d passed",
		sizes["single"], sizes["pair"], sizes["healthy"], ran, passed)
}

func runFault(t *testing.T, fc faultCase) {
	var edits []func(*service.Limits)
	if fc.limits != nil {
		edits = append(edits, fc.limits)
	}
	old := hubConfig
	if fc.hub != nil {
		fc.hub(&hubConfig)
	}
	e := start(t, edits...)
	hubConfig = old // start has read it
	sc := fc.run(t, e)
	// The request log and the delivery ledger are written behind the
	// requests and pushes: ask until the evidence has landed.
	var rep doctor.Report
	var problems []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.Hub.Sync()
		rep = e.diagnose(sc.q)
		if problems = fc.check(rep, sc); len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if t.Failed() {
		b, _ := json.MarshalIndent(rep, "", "  ")
		t.Logf("report:\n%s", b)
	}
	text := e.do("GET", "/admin/doctor?"+sc.q.values().Encode()+"&format=text", adminKey, nil)
	if text.Status != 200 || !strings.HasPrefix(string(text.Body), "Delivery report for user "+sc.q.user) {
		t.Errorf("text report: got %d %q", text.Status, text.Body)
	}
	if raw, _ := json.Marshal(rep); strings.Contains(string(raw), secret) || strings.Contains(string(text.Body), secret) {
		t.Errorf("the report contains message content")
	}
}

// check returns what is wrong with rep, or nothing.
func (fc faultCase) check(rep doctor.Report, sc scene) []string {
	var out []string
	if rep.Version != doctor.ReportVersion || rep.User != sc.q.user || rep.Thread != sc.q.thread {
		out = append(out, fmt.Sprintf("got version %d user %s thread %s, want %d %s %s", rep.Version, rep.User, rep.Thread, doctor.ReportVersion, sc.q.user, sc.q.thread))
	}
	if rep.Status != fc.status || rep.Cause != fc.cause {
		out = append(out, fmt.Sprintf("got status %q cause %q, want %q %q (%s)", rep.Status, rep.Cause, fc.status, fc.cause, rep.Summary))
	}
	if len(rep.Findings) == 0 {
		return append(out, "no findings")
	}
	first := rep.Findings[0]
	if fc.cause != "" {
		if first.Check != fc.cause || first.Verdict != doctor.Confirmed || first.Tag != fc.tag {
			out = append(out, fmt.Sprintf("got first finding %s %s [%s], want %s confirmed [%s]", first.Check, first.Verdict, first.Tag, fc.cause, fc.tag))
		}
		for _, c := range sc.cites {
			if !slices.ContainsFunc(first.Evidence, func(e doctor.Evidence) bool { return e.Source == c.source && e.ID == c.id }) {
				out = append(out, fmt.Sprintf("%s: got evidence %+v, want a %s row %s", first.Check, first.Evidence, c.source, c.id))
			}
		}
	} else if first.Verdict == doctor.Confirmed && first.Check.Fault() {
		out = append(out, fmt.Sprintf("got first finding %s confirmed, want no confirmed fault", first.Check))
	}
	for _, f := range rep.Findings {
		if f.Verdict == doctor.Confirmed && len(f.Evidence) == 0 {
			out = append(out, fmt.Sprintf("%s is confirmed without evidence", f.Check))
		}
		if want, ok := fc.also[f.Check]; ok && f.Verdict != want {
			out = append(out, fmt.Sprintf("%s: got %s, want %s (%s)", f.Check, f.Verdict, want, f.Summary))
		}
	}
	if fc.kind == "healthy" && (rep.Delivered == nil || rep.Delivered.AckedAt == nil) {
		out = append(out, fmt.Sprintf("got delivery %+v, want an acknowledged one", rep.Delivered))
	}
	for _, w := range sc.words {
		if !strings.Contains(rep.Summary, w) {
			out = append(out, fmt.Sprintf("summary %q lacks %q", rep.Summary, w))
		}
	}
	return out
}

func (q dq) values() url.Values {
	v := url.Values{"user": {q.user}, "thread": {q.thread}}
	if q.message != "" {
		v.Set("message", q.message)
	}
	return v
}

// diagnose asks GET /admin/doctor for the JSON report.
func (e *env) diagnose(q dq) doctor.Report {
	e.t.Helper()
	var rep doctor.Report
	e.ok(e.do("GET", "/admin/doctor?"+q.values().Encode(), adminKey, nil), 200, &rep)
	return rep
}

// newUserFor creates an identity with a chat token valid for minutes.
func (e *env) newUserFor(minutes int) user {
	e.t.Helper()
	var out wire.CreateIdentityResponse
	e.ok(e.do("POST", "/identities", adminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}, ExpiresInMinutes: ptr(minutes)}), 201, &out)
	return user{ID: out.Identity.ID, Token: out.AccessToken.Token, TokID: out.AccessToken.ID}
}

// closedConns waits until the user's connection log has n rows, all
// closed, and returns them, newest first.
func (e *env) closedConns(u user, n int) []herald.Connection {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, err := e.Store.ListConnections(context.Background(), herald.ConnectionFilter{User: herald.UserID(u.ID)})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(rows) == n && !slices.ContainsFunc(rows, func(c herald.Connection) bool { return c.ClosedAt.IsZero() }) {
			return rows
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("got connection rows %+v, want %d closed", rows, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// remove removes u from the thread, as by.
func (e *env) remove(by user, thread string, u user) {
	e.t.Helper()
	e.ok(e.do("POST", "/chat/threads/"+thread+"/participants/:remove", by.Token, wire.Identifier(u.ID)), 204, nil)
}

// restCalls makes u call the REST API with its token (a client whose API
// calls get through), each call with a known request id.
func (e *env) restCalls(u user, thread string, ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		e.ok(e.do("GET", "/chat/threads/"+thread+"/messages", u.Token, nil, wire.HeaderRequestID, id), 200, nil)
	}
}

// sdkAt starts a Go SDK Realtime for u resuming from cursors, with a
// chatMessageReceived handler that records what it takes; it reports the
// connection it is on.
func (e *env) sdkAt(u user, transport string, cursors map[string]int64) (*events, func() string) {
	e.t.Helper()
	store := client.NewMemoryCursors()
	for th, seq := range cursors {
		if err := store.Save(context.Background(), th, seq); err != nil {
			e.t.Fatal(err)
		}
	}
	ev := newEvents()
	var mu sync.Mutex
	current := ""
	r := client.New(e.URL, client.StaticToken(u.Token), client.WithClock(e.Clock)).Realtime(client.RealtimeOptions{Transport: transport, Cursors: store,
		Backoff: client.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond}})
	r.On(herald.EventMessageReceived, ev.handler)
	r.OnState(func(sc client.StateChange) {
		if sc.State == client.StateConnected && sc.CaughtUp {
			mu.Lock()
			current = sc.ConnectionID
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		r.Close()
		<-done
	})
	conn := func() string { mu.Lock(); defer mu.Unlock(); return current }
	ev.wait(e.t, 5*time.Second, "connected", func([]client.Event) bool { return conn() != "" })
	return ev, conn
}

// slowReader opens a WebSocket for u that reads welcome and caughtUp and
// then nothing more.
func (e *env) slowReader(u user) *websocket.Conn {
	e.t.Helper()
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(e.URL, "http")+"/realtime/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + u.Token}}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ws.CloseNow() })
	hello, _ := json.Marshal(wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion})
	ws.Write(context.Background(), websocket.MessageText, hello)
	for range 2 {
		if _, _, err := ws.Read(context.Background()); err != nil {
			e.t.Fatal(err)
		}
	}
	return ws
}

var handlesMessages = wire.ClientFrame{Handles: []string{string(herald.EventMessageReceived)}}

var faultMatrix = []faultCase{
	{name: "token_expired", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUserFor(60)
		th := e.newThread(alice, bob)
		c := e.connect(bob, handlesMessages) // no refresh
		e.Clock.Advance(61 * time.Minute)
		if cl := c.waitClose(3 * time.Second); cl.Reason != string(herald.ReasonTokenExpired) {
			t.Fatalf("got close %d %q, want token_expired", cl.Code, cl.Reason)
		}
		m := e.send(alice, th, secret)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"tokens", bob.TokID}, {"connections", c.connID}}}
	}, status: "not_delivered", cause: doctor.CheckTokenExpired, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckTokenRevoked: doctor.RuledOut, doctor.CheckNetworkBlocked: doctor.RuledOut}},

	{name: "token_revoked", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		c := e.connect(bob, handlesMessages)
		e.ok(e.do("POST", "/identities/"+bob.ID+"/:revokeAccessTokens", adminKey, nil), 204, nil)
		if cl := c.waitClose(5 * time.Second); cl.Reason != string(herald.ReasonTokenRevoked) {
			t.Fatalf("got close %d %q, want token_revoked", cl.Code, cl.Reason)
		}
		m := e.send(alice, th, secret)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"tokens", bob.TokID}, {"connections", c.connID}}}
	}, status: "not_delivered", cause: doctor.CheckTokenRevoked, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckTokenExpired: doctor.RuledOut, doctor.CheckIdentityDeleted: doctor.RuledOut}},

	{name: "identity_deleted", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		c := e.connect(bob, handlesMessages)
		e.ok(e.do("DELETE", "/identities/"+bob.ID, adminKey, nil), 204, nil)
		if cl := c.waitClose(5 * time.Second); cl.Reason != string(herald.ReasonIdentityDeleted) {
			t.Fatalf("got close %d %q, want identity_deleted", cl.Code, cl.Reason)
		}
		m := e.send(alice, th, secret)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"identities", bob.ID}}}
	}, status: "not_delivered", cause: doctor.CheckIdentityDeleted, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckTokenRevoked: doctor.RuledOut, doctor.CheckParticipantRemove: doctor.RuledOut}},

	{name: "participant_removed", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		c := e.connect(bob, handlesMessages)
		e.remove(alice, th, bob)
		c.event("participantsRemoved")
		m := e.send(alice, th, secret)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"participants", bob.ID}}}
	}, status: "not_delivered", cause: doctor.CheckParticipantRemove, tag: doctor.Measured,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckNotParticipant: doctor.RuledOut, doctor.CheckOffline: doctor.RuledOut, doctor.CheckNetworkBlocked: doctor.RuledOut}},

	{name: "thread_deleted", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		c := e.connect(bob, handlesMessages)
		e.ok(e.do("DELETE", "/chat/threads/"+th, alice.Token, nil), 204, nil)
		c.event("chatThreadDeleted")
		e.fails(e.do("POST", "/chat/threads/"+th+"/messages", alice.Token, wire.SendMessageRequest{Content: secret}, wire.HeaderRequestID, "r_to_deleted"), 404, herald.ReasonThreadDeleted)
		return scene{q: dq{user: bob.ID, thread: th}, cites: []cite{{"threads", th}}}
	}, status: "not_delivered", cause: doctor.CheckThreadDeleted, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckSendRejected: doctor.Confirmed}},

	{name: "network_blocks_websocket", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		// bob's app calls the API with its token, but its WebSocket never
		// reaches the server.
		e.restCalls(bob, th, "r_bob_list1", "r_bob_list2")
		m := e.send(alice, th, secret)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"requests", "r_bob_list2"}}}
	}, status: "not_delivered", cause: doctor.CheckNetworkBlocked, tag: doctor.Correlated,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckOffline: doctor.RuledOut}},

	{name: "network_cuts_connections", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		for i := range 3 {
			c := e.connect(bob, handlesMessages)
			c.ws.CloseNow() // no close frame: a middlebox cut it
			e.closedConns(bob, i+1)
		}
		rows := e.closedConns(bob, 3)
		for _, r := range rows {
			if r.CloseReason != herald.ReasonConnectionLost {
				t.Fatalf("got close reason %q, want connection_lost", r.CloseReason)
			}
		}
		e.restCalls(bob, th, "r_bob_list1")
		m := e.send(alice, th, secret)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"requests", "r_bob_list1"}, {"connections", string(rows[0].ID)}, {"connections", string(rows[2].ID)}}}
	}, status: "not_delivered", cause: doctor.CheckNetworkBlocked, tag: doctor.Correlated,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckOffline: doctor.RuledOut, doctor.CheckSlowConsumer: doctor.RuledOut}},

	{name: "app_not_listening", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		c := e.connect(bob, wire.ClientFrame{}) // declares no handlers, never acks
		m := e.send(alice, th, secret)
		c.event("chatMessageReceived")
		e.Clock.Advance(31 * time.Second)
		e.Hub.Sync()
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"deliveries", c.connID}, {"connections", c.connID}}}
	}, status: "delivered", cause: doctor.CheckAppNotListening, tag: doctor.Inferred,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckOffline: doctor.RuledOut, doctor.CheckNetworkBlocked: doctor.RuledOut}},

	{name: "history_not_shared", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice)
		m := e.send(alice, th, secret)
		e.Clock.Advance(time.Minute)
		from := e.Clock.Now()
		e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token, wire.AddParticipantsRequest{Participants: []wire.ChatParticipant{
			{CommunicationIdentifier: wire.Identifier(bob.ID), ShareHistoryTime: &from}}}), 201, nil)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"participants", bob.ID}, {"messages", m.ID}}}
	}, status: "not_delivered", cause: doctor.CheckHistoryNotShared, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckNotParticipant: doctor.RuledOut}},

	{name: "message_deleted", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		m := e.send(alice, th, secret)
		e.ok(e.do("DELETE", "/chat/threads/"+th+"/messages/"+m.ID, alice.Token, nil), 204, nil)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"messages", m.ID}}}
	}, status: "not_delivered", cause: doctor.CheckMessageDeleted, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckSendRejected: doctor.RuledOut}},

	{name: "send_rejected", kind: "single", limits: func(l *service.Limits) { l.WriteRate, l.WriteBurst = 0.001, 1 },
		run: func(t *testing.T, e *env) scene {
			alice, bob := e.newUser(), e.newUser()
			th := e.newThread(alice, bob) // alice's one write
			e.connect(bob, handlesMessages)
			e.fails(e.do("POST", "/chat/threads/"+th+"/messages", alice.Token, wire.SendMessageRequest{Content: secret}, wire.HeaderRequestID, "r_refused_send"), 429, herald.ReasonRateLimited)
			return scene{q: dq{user: bob.ID, thread: th}, cites: []cite{{"requests", "r_refused_send"}}}
		}, status: "not_delivered", cause: doctor.CheckSendRejected, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckOffline: doctor.RuledOut}},

	// Large messages fill the socket buffers in few sends (the request body
	// limit is 512 KiB).
	{name: "slow_consumer", kind: "single", limits: func(l *service.Limits) { l.WriteRate, l.MaxContentBytes = 0, 400<<10 },
		hub: func(c *hub.Config) { c.QueueSize, c.WriteTimeout, c.Timeout = 8, 3*time.Second, time.Minute },
		run: func(t *testing.T, e *env) scene {
			alice, bob := e.newUser(), e.newUser()
			th := e.newThread(alice, bob)
			e.slowReader(bob)
			// Fill the socket buffers and the queue until the server gives up.
			big := strings.Repeat("x", 400<<10)
			var rows []herald.Connection
			for i := 0; ; i++ {
				e.send(alice, th, big)
				if i%5 != 4 {
					continue
				}
				rows, _ = e.Store.ListConnections(context.Background(), herald.ConnectionFilter{User: herald.UserID(bob.ID)})
				if len(rows) == 1 && !rows[0].ClosedAt.IsZero() {
					break
				}
				if i > 500 {
					t.Fatalf("the connection was not closed after %d sends", i)
				}
			}
			if rows[0].CloseReason != herald.ReasonSlowConsumer {
				t.Fatalf("got close %d %q, want slow_consumer", rows[0].CloseCode, rows[0].CloseReason)
			}
			m := e.send(alice, th, secret)
			return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"connections", string(rows[0].ID)}}}
		}, status: "not_delivered", cause: doctor.CheckSlowConsumer, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckNetworkBlocked: doctor.RuledOut, doctor.CheckOffline: doctor.RuledOut}},

	{name: "recipient_offline", kind: "single", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		m := e.send(alice, th, secret) // bob never connected and made no call
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"messages", m.ID}}}
	}, status: "pending",
		also: map[doctor.Check]doctor.Verdict{doctor.CheckNetworkBlocked: doctor.Inconclusive}},

	// Two faults at once: the priority list decides which leads; the other
	// is confirmed too.
	{name: "removed_and_token_expired", kind: "pair", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUserFor(60)
		th := e.newThread(alice, bob)
		e.remove(alice, th, bob)
		e.Clock.Advance(61 * time.Minute)
		m := e.send(alice, th, secret)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"tokens", bob.TokID}}}
	}, status: "not_delivered", cause: doctor.CheckTokenExpired, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckParticipantRemove: doctor.Confirmed}},

	{name: "thread_deleted_and_app_not_listening", kind: "pair", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		c := e.connect(bob, wire.ClientFrame{})
		m := e.send(alice, th, secret)
		c.event("chatMessageReceived")
		e.ok(e.do("DELETE", "/chat/threads/"+th, alice.Token, nil), 204, nil)
		c.event("chatThreadDeleted")
		e.Clock.Advance(31 * time.Second)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"threads", th}}}
	}, status: "delivered", cause: doctor.CheckThreadDeleted, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckAppNotListening: doctor.Confirmed}},

	{name: "identity_deleted_and_removed", kind: "pair", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		e.remove(alice, th, bob)
		e.ok(e.do("DELETE", "/identities/"+bob.ID, adminKey, nil), 204, nil)
		m := e.send(alice, th, secret)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"identities", bob.ID}}}
	}, status: "not_delivered", cause: doctor.CheckIdentityDeleted, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckParticipantRemove: doctor.Confirmed}},

	{name: "token_revoked_and_offline", kind: "pair", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		e.ok(e.do("POST", "/identities/"+bob.ID+"/:revokeAccessTokens", adminKey, nil), 204, nil)
		m := e.send(alice, th, secret)
		return scene{q: dq{bob.ID, th, m.ID}, cites: []cite{{"tokens", bob.TokID}}}
	}, status: "not_delivered", cause: doctor.CheckTokenRevoked, tag: doctor.Observed,
		also: map[doctor.Check]doctor.Verdict{doctor.CheckOffline: doctor.RuledOut}},

	// Healthy deliveries are reported as delivered, not as alarms.
	{name: "healthy_websocket", kind: "healthy", run: healthy(wire.TransportWebSocket), status: "delivered",
		also: map[doctor.Check]doctor.Verdict{doctor.CheckAppNotListening: doctor.RuledOut, doctor.CheckOffline: doctor.RuledOut}},
	{name: "healthy_sse", kind: "healthy", run: healthy(wire.TransportSSE), status: "delivered",
		also: map[doctor.Check]doctor.Verdict{doctor.CheckAppNotListening: doctor.RuledOut}},

	{name: "offline_then_resumed", kind: "healthy", run: func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		m := e.send(alice, th, secret)
		e.Clock.Advance(10 * time.Minute) // offline for a while
		// bob's app comes back with the cursor it saved: the creation event.
		ev, conn := e.sdkAt(bob, wire.TransportWebSocket, map[string]int64{th: 1})
		got := ev.wait(t, 5*time.Second, "the message", func(es []client.Event) bool { return count(herald.EventMessageReceived, th)(es) == 1 })
		if !got[0].Replayed {
			t.Errorf("got a live event, want it replayed on resume")
		}
		return scene{q: dq{bob.ID, th, m.ID}, words: []string{conn(), "acknowledged"}}
	}, status: "delivered", also: map[doctor.Check]doctor.Verdict{doctor.CheckOffline: doctor.RuledOut}},
}

// healthy sends to an SDK recipient with a chatMessageReceived handler.
func healthy(transport string) func(t *testing.T, e *env) scene {
	return func(t *testing.T, e *env) scene {
		alice, bob := e.newUser(), e.newUser()
		th := e.newThread(alice, bob)
		ev, conn := e.sdkAt(bob, transport, nil)
		m := e.send(alice, th, secret)
		ev.wait(t, 5*time.Second, "the message", func(es []client.Event) bool { return count(herald.EventMessageReceived, th)(es) == 1 })
		return scene{q: dq{bob.ID, th, m.ID}, words: []string{"connection " + conn(), "over " + transport, "acknowledged"}}
	}
}

// TestDoctorEvidenceTables reads every evidence table after a delivery
// over the SDK: each answers with its columns and rows of that width.
func TestDoctorEvidenceTables(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	ev, _ := e.sdkAt(bob, wire.TransportWebSocket, nil)
	m := e.send(alice, th, secret)
	ev.wait(t, 5*time.Second, "the message", func(es []client.Event) bool { return count(herald.EventMessageReceived, th)(es) == 1 })
	queries := map[string]url.Values{
		"ChatMessageSentEvents":     {"thread": {th}, "message": {m.ID}},
		"ChatMessageReceivedEvents": {"user": {bob.ID}, "thread": {th}, "message": {m.ID}},
		"Acks":                      {"user": {bob.ID}, "thread": {th}, "message": {m.ID}},
		"Requests":                  {"thread": {th}, "since": {"1h"}},
		"Connections":               {"user": {bob.ID}},
		"Membership":                {"thread": {th}, "user": {bob.ID}},
		"ThreadLifecycle":           {"thread": {th}},
		"Tokens":                    {"user": {bob.ID}},
	}
	for _, name := range doctor.Tables {
		deadline := time.Now().Add(5 * time.Second)
		var tab doctor.Table
		for {
			e.Hub.Sync()
			e.ok(e.do("GET", "/admin/events/"+name+"?"+queries[name].Encode(), adminKey, nil), 200, &tab)
			if len(tab.Rows) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
		if tab.Name != name || len(tab.Columns) == 0 || len(tab.Rows) == 0 {
			t.Errorf("%s: got table %q with columns %v and %d rows, want rows", name, tab.Name, tab.Columns, len(tab.Rows))
		}
		for _, row := range tab.Rows {
			if len(row) != len(tab.Columns) {
				t.Errorf("%s: got row %v, want %d columns", name, row, len(tab.Columns))
			}
			if slices.Contains(row, secret) {
				t.Errorf("%s: a row holds message content", name)
			}
		}
	}
	e.fails(e.do("GET", "/admin/events/NoSuchTable", adminKey, nil), 404, herald.ReasonRouteNotFound)
	e.fails(e.do("GET", "/admin/events/Tokens", adminKey, nil), 400, herald.ReasonMissingField)
	e.fails(e.do("GET", "/admin/events/Membership", adminKey, nil), 400, herald.ReasonMissingField)
	e.fails(e.do("GET", "/admin/events/Acks?thread="+th+"&message=m_nope", adminKey, nil), 404, herald.ReasonMessageNotFound)
	e.fails(e.do("GET", "/admin/doctor?user="+bob.ID, adminKey, nil), 400, herald.ReasonMissingField)
	e.fails(e.do("GET", "/admin/doctor?user="+bob.ID+"&thread="+th, bob.Token, nil), 401, herald.ReasonAdminKeyInvalid)
}

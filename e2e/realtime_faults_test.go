package e2e

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// connect opens a live WebSocket for u and reads welcome and caughtUp.
func (e *env) connect(u user, hello wire.ClientFrame) *rt {
	e.t.Helper()
	c, res, err := e.dialWS(u.Token, hello)
	if err != nil {
		e.t.Fatalf("dial: %v (%v)", err, res)
	}
	e.t.Cleanup(c.close)
	c.expect(wire.FrameWelcome)
	c.expect(wire.FrameCaughtUp)
	return c
}

func TestTokenExpiryOnLiveConnection(t *testing.T) { testTokenExpiryOnLiveConnection(t, epoch) }

func testTokenExpiryOnLiveConnection(t *testing.T, at time.Time) {
	e := startAt(t, at)
	var created wire.CreateIdentityResponse
	e.ok(e.do("POST", "/identities", adminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}, ExpiresInMinutes: ptr(60)}), 201, &created)
	bob := user{ID: created.Identity.ID, Token: created.AccessToken.Token}
	c := e.connect(bob, wire.ClientFrame{})
	e.Clock.Advance(56 * time.Minute) // inside the 5-minute warning
	f := c.expect(wire.FrameTokenExpiring)
	if f.ExpiresOn == nil || !f.ExpiresOn.Equal(created.AccessToken.ExpiresOn) {
		t.Errorf("got tokenExpiring %v, want %v", f.ExpiresOn, created.AccessToken.ExpiresOn)
	}
	e.Clock.Advance(5 * time.Minute)
	cl := c.waitClose(10 * time.Second)
	if cl.Code != wire.CloseTokenExpired || cl.Reason != "token_expired" {
		t.Errorf("got close %d %q, want %d token_expired", cl.Code, cl.Reason, wire.CloseTokenExpired)
	}
	if wire.Reconnect(cl.Code) {
		t.Errorf("token_expired must be terminal")
	}
}

func TestInBandRefreshSurvivesExpiries(t *testing.T) { testInBandRefreshSurvivesExpiries(t, epoch) }

func testInBandRefreshSurvivesExpiries(t *testing.T, at time.Time) {
	e := startAt(t, at)
	alice := e.newUser()
	var created wire.CreateIdentityResponse
	e.ok(e.do("POST", "/identities", adminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}, ExpiresInMinutes: ptr(60)}), 201, &created)
	bob := user{ID: created.Identity.ID, Token: created.AccessToken.Token}
	th := e.newThread(alice, bob)
	c := e.connect(bob, wire.ClientFrame{})
	for round := range 3 {
		// Into the 5-minute warning of the current token (issued 10 minutes
		// ago in later rounds).
		if round == 0 {
			e.Clock.Advance(56 * time.Minute)
		} else {
			e.Clock.Advance(46 * time.Minute)
		}
		c.expect(wire.FrameTokenExpiring)
		var tok wire.AccessToken
		e.ok(e.do("POST", "/identities/"+bob.ID+"/:issueAccessToken", adminKey, wire.IssueTokenRequest{Scopes: []string{"chat"}, ExpiresInMinutes: ptr(60)}), 200, &tok)
		c.sendFrame(wire.ClientFrame{Type: wire.FrameRefresh, Token: tok.Token})
		f := c.expect(wire.FrameRefreshed)
		if !f.ExpiresOn.Equal(tok.ExpiresOn) {
			t.Errorf("round %d: refreshed until %v, want %v", round, f.ExpiresOn, tok.ExpiresOn)
		}
		e.Clock.Advance(10 * time.Minute) // past the old token's expiry
		m := e.send(alice, th, "round")
		f, _ = c.event("chatMessageReceived")
		if f.ThreadID != th || m.SequenceID == "" {
			t.Fatalf("round %d: got %+v", round, f)
		}
	}
	// A token of another user is refused and the connection stays.
	c.sendFrame(wire.ClientFrame{Type: wire.FrameRefresh, Token: alice.Token})
	f := c.expect(wire.FrameError)
	if f.Error == nil || f.Error.Reason != string(herald.ReasonTokenInvalid) {
		t.Errorf("got %+v, want token_invalid error frame", f.Error)
	}
	e.send(alice, th, "still connected")
	c.event("chatMessageReceived")
}

func TestRevocationAndDeletionClose(t *testing.T) { testRevocationAndDeletionClose(t, epoch) }

func testRevocationAndDeletionClose(t *testing.T, at time.Time) {
	e := startAt(t, at)
	bob, carol := e.newUser(), e.newUser()
	c := e.connect(bob, wire.ClientFrame{})
	start := time.Now()
	e.ok(e.do("POST", "/identities/"+bob.ID+"/:revokeAccessTokens", adminKey, nil), 204, nil)
	cl := c.waitClose(5 * time.Second)
	if cl.Code != wire.CloseTokenRevoked {
		t.Errorf("got close %d %q, want %d", cl.Code, cl.Reason, wire.CloseTokenRevoked)
	}
	t.Logf("closed %v after revocation", time.Since(start))
	d := e.connect(carol, wire.ClientFrame{})
	e.ok(e.do("DELETE", "/identities/"+carol.ID, adminKey, nil), 204, nil)
	if cl := d.waitClose(5 * time.Second); cl.Code != wire.CloseIdentityDeleted {
		t.Errorf("got close %d %q, want %d", cl.Code, cl.Reason, wire.CloseIdentityDeleted)
	}
}

func TestRemovalAndDeletionStopDelivery(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	c := e.connect(bob, wire.ClientFrame{})
	e.send(alice, th, "before")
	c.event("chatMessageReceived")
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:remove", alice.Token, wire.Identifier(bob.ID)), 204, nil)
	f, d := c.event("participantsRemoved")
	if len(d.Participants) != 1 || d.Participants[0].CommunicationIdentifier.UserID() != bob.ID {
		t.Errorf("got %+v", d)
	}
	removedAt := f.Seq
	e.send(alice, th, "after")
	e.ok(e.do("PATCH", "/chat/threads/"+th, alice.Token, map[string]string{"topic": "secret"}), 204, nil)
	// Nothing of the thread reaches bob after his removal: the next event
	// he gets is a later one, from a new thread.
	marker := e.newThread(alice, bob)
	if f, _ := c.event("chatThreadCreated"); f.ThreadID != marker {
		t.Errorf("got an event of thread %s, want the marker thread %s", f.ThreadID, marker)
	}
	if got := e.threadSeq(th); int64(got) != removedAt+2 {
		t.Fatalf("thread at %d, want %d", got, removedAt+2)
	}

	carol := e.newUser()
	th2 := e.newThread(alice, carol)
	c2 := e.connect(carol, wire.ClientFrame{})
	e.ok(e.do("DELETE", "/chat/threads/"+th2, alice.Token, nil), 204, nil)
	f, _ = c2.event("chatThreadDeleted")
	if f.Seq != createdSeq+1 {
		t.Errorf("deletion at seq %d, want %d", f.Seq, createdSeq+1)
	}
	// Nothing of the deleted thread after its deletion.
	marker2 := e.newThread(alice, carol)
	if f, _ := c2.event("chatThreadCreated"); f.ThreadID != marker2 {
		t.Errorf("got an event of thread %s, want the marker thread %s", f.ThreadID, marker2)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	e := start(t)
	bob := e.newUser()
	ctx := context.Background()
	url := "ws" + strings.TrimPrefix(e.URL, "http") + "/realtime/ws"
	dial := func(h http.Header) (*http.Response, error) {
		ws, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
		if err == nil {
			ws.CloseNow()
		}
		return res, err
	}
	for _, origin := range []string{"https://evil.example", "https://app.example.com.evil.com", "null", "http://app.example.com"} {
		res, err := dial(http.Header{"Authorization": {"Bearer " + bob.Token}, "Origin": {origin}})
		if err == nil || res == nil || res.StatusCode != 403 {
			t.Errorf("origin %q: got %v %v, want 403 before the upgrade", origin, res, err)
		}
	}
	// The allowlisted origin passes.
	c, res, err := e.dialWS(bob.Token, wire.ClientFrame{}, "Origin", "https://app.example.com")
	if err != nil {
		t.Fatalf("allowed origin refused: %v %v", err, res)
	}
	c.expect(wire.FrameWelcome)
	c.close()
	for name, h := range map[string]http.Header{
		"no token":      {},
		"forged token":  {"Authorization": {"Bearer abc.def.ghi"}},
		"unused ticket": {},
	} {
		u := url
		if name == "unused ticket" {
			u += "?ticket=tk_never_issued"
		}
		_, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h})
		if err == nil || res == nil || res.StatusCode != 401 {
			t.Errorf("%s: got %v %v, want 401 before the upgrade", name, res, err)
		}
	}
	// A ticket works once.
	var tk wire.Ticket
	e.ok(e.do("POST", "/realtime/tickets", bob.Token, nil), 201, &tk)
	ws, _, err := websocket.Dial(ctx, url+"?ticket="+tk.Ticket, nil)
	if err != nil {
		t.Fatalf("ticket refused: %v", err)
	}
	ws.CloseNow()
	if _, res, err := websocket.Dial(ctx, url+"?ticket="+tk.Ticket, nil); err == nil || res.StatusCode != 401 {
		t.Errorf("reused ticket: got %v, want 401", res)
	}
	// Every refusal is in the connection log with its reason.
	want := map[herald.Reason]int{herald.ReasonOriginNotAllowed: 4, herald.ReasonTokenMissing: 1, herald.ReasonTokenInvalid: 1, herald.ReasonTicketInvalid: 2}
	var reasons map[herald.Reason]int
	eventually(t, 5*time.Second, "8 refusals in the connection log", func() bool {
		rows, err := e.Store.ListConnections(ctx, herald.ConnectionFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		reasons = map[herald.Reason]int{}
		for _, r := range rows {
			if _, ok := want[r.Refused]; ok {
				reasons[r.Refused]++
			}
		}
		if !maps.Equal(reasons, want) {
			t.Logf("refusals so far: %v", reasons)
			return false
		}
		return true
	})
}

func TestBadFramesClose(t *testing.T) {
	e := start(t)
	bob := e.newUser()
	cases := []struct {
		name string
		typ  websocket.MessageType
		data []byte
		code int
	}{
		{"malformed", websocket.MessageText, []byte(`{"type":"ack",`), wire.CloseProtocolError},
		{"unknown field", websocket.MessageText, []byte(`{"type":"ping","x":1}`), wire.CloseProtocolError},
		{"unknown type", websocket.MessageText, []byte(`{"type":"subscribe"}`), wire.CloseProtocolError},
		{"invalid utf-8", websocket.MessageText, []byte("{\"type\":\"ping\",\"token\":\"\xff\"}"), wire.CloseInvalidPayload},
		{"binary", websocket.MessageBinary, []byte{1, 2, 3}, wire.CloseUnsupportedData},
		{"oversized", websocket.MessageText, []byte(`{"type":"refresh","token":"` + strings.Repeat("a", wire.MaxFrameBytes) + `"}`), wire.CloseMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.connect(bob, wire.ClientFrame{})
			c.sendRaw(tc.typ, tc.data)
			if cl := c.waitClose(10 * time.Second); cl.Code != tc.code {
				t.Errorf("got close %d %q, want %d", cl.Code, cl.Reason, tc.code)
			}
		})
	}
	// A hello that is not hello, and a version the server lacks.
	c, _, err := e.dialWS(bob.Token, wire.ClientFrame{Type: wire.FramePing})
	if err != nil {
		t.Fatal(err)
	}
	if cl := c.waitClose(10 * time.Second); cl.Code != wire.CloseProtocolError {
		t.Errorf("ping as first frame: got %d, want %d", cl.Code, wire.CloseProtocolError)
	}
	c, _, err = e.dialWS(bob.Token, wire.ClientFrame{Version: 9})
	if err != nil {
		t.Fatal(err)
	}
	if cl := c.waitClose(10 * time.Second); cl.Code != wire.CloseUnsupportedVersion {
		t.Errorf("version 9: got %d, want %d", cl.Code, wire.CloseUnsupportedVersion)
	}
}

// TestHeartbeatTimeout: a peer that keeps its connection open but stops
// answering pings is closed by the server with 4001 heartbeat_timeout, and
// the connection log says so.
func TestHeartbeatTimeout(t *testing.T) { testHeartbeatTimeout(t, epoch) }

func testHeartbeatTimeout(t *testing.T, at time.Time) {
	e := startAt(t, at)
	bob := e.newUser()
	c, _, err := e.dialWS(bob.Token, wire.ClientFrame{})
	if err != nil {
		t.Fatal(err)
	}
	c.expect(wire.FrameWelcome)
	// The client still reads (so the close frame reaches it) but no longer
	// answers; it sends nothing of its own.
	c.mute.Store(true)
	cl := c.waitClose(10 * hubConfig.Timeout)
	if cl.Code != wire.CloseHeartbeatTimeout || cl.Reason != string(herald.ReasonHeartbeatTimeout) {
		t.Errorf("got close %d %q, want %d %s", cl.Code, cl.Reason, wire.CloseHeartbeatTimeout, herald.ReasonHeartbeatTimeout)
	}
	var rows []herald.Connection
	eventually(t, 5*time.Second, "the close in the connection log", func() bool {
		rows, err = e.Store.ListConnections(context.Background(), herald.ConnectionFilter{User: herald.UserID(bob.ID)})
		return err == nil && len(rows) == 1 && !rows[0].ClosedAt.IsZero()
	})
	if rows[0].CloseReason != herald.ReasonHeartbeatTimeout || rows[0].ClosedBy != "server" || rows[0].HeartbeatMisses < 1 {
		t.Errorf("connection log: got reason %q by %q with %d missed heartbeats, want heartbeat_timeout by server with at least 1",
			rows[0].CloseReason, rows[0].ClosedBy, rows[0].HeartbeatMisses)
	}
}

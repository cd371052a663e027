package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/httpapi"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/token"
	"github.com/herald-chat/herald/wire"
)

// Issue 13, 9: a count of seconds too large for a Duration wrapped around
// and silently matched nothing.
func TestEvidenceSinceOverflow(t *testing.T) {
	e := start(t)
	for _, v := range []string{"30000000000", "9223372036854775807"} {
		b := e.fails(e.do("GET", "/admin/events/Requests?since="+v, adminKey, nil), 400, herald.ReasonInvalidField)
		if b.Target != "since" {
			t.Errorf("since=%s: got target %q, want since", v, b.Target)
		}
	}
	e.fails(e.do("GET", "/admin/events/Requests?until=30000000000", adminKey, nil), 400, herald.ReasonInvalidField)
	e.ok(e.do("GET", "/admin/events/Requests?since=3600", adminKey, nil), 200, nil)
}

// rawRequest writes head (request line and headers, without the blank
// line) and the start of a body that promises more than it sends, then
// returns the answer the server gives, failing after a generous bound.
func rawRequest(t *testing.T, e *env, head, partial string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, head+"\r\n\r\n"+partial); err != nil {
		t.Fatal(err)
	}
	// The bound only stops a broken server from hanging the test: the
	// server answers at its read deadline, a fraction of this.
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// Issue 13, 1: a body that stalls after its headers held the connection
// (and a goroutine) forever, even unauthenticated; now the read deadline
// ends it with a clear error.
func TestSlowBodyGetsAnAnswer(t *testing.T) {
	e := startWith(t, func(c *httpapi.Config) { c.ReadTimeout = 200 * time.Millisecond })
	alice := e.newUser()
	host := strings.TrimPrefix(e.URL, "http://")

	res, body := rawRequest(t, e, "POST /chat/threads HTTP/1.1\r\nHost: "+host+
		"\r\nAuthorization: Bearer "+alice.Token+"\r\nContent-Type: application/json\r\nContent-Length: 1000", `{"topic":`)
	var er wire.ErrorResponse
	json.Unmarshal(body, &er)
	if res.StatusCode != 400 || er.Error.Reason != string(herald.ReasonBodyTimeout) || er.Error.Message == "" {
		t.Errorf("authenticated stalled body: got %d %s, want 400 %s", res.StatusCode, body, herald.ReasonBodyTimeout)
	}

	// Unauthenticated: the 401 is written without waiting for the body.
	res, body = rawRequest(t, e, "POST /chat/threads HTTP/1.1\r\nHost: "+host+
		"\r\nContent-Type: application/json\r\nContent-Length: 1000", `{`)
	if res.StatusCode != 401 {
		t.Errorf("unauthenticated stalled body: got %d %s, want 401", res.StatusCode, body)
	}

	// Nothing was created by the request that did not arrive.
	var list wire.ThreadList
	e.ok(e.do("GET", "/chat/threads", alice.Token, nil), 200, &list)
	if len(list.Value) != 0 {
		t.Errorf("got %d threads, want 0", len(list.Value))
	}
}

// The read deadline of issue 13, 1 must not cut real-time streams: a
// WebSocket and an EventSource-style SSE stream (GET, no body) on a server
// with a tiny read deadline still
// exchange heartbeats (three pings each, well past the deadline) and then
// deliver a message.
func TestStreamsOutliveReadDeadline(t *testing.T) {
	e := startWith(t, func(c *httpapi.Config) { c.ReadTimeout = 20 * time.Millisecond })
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)

	ws, _, err := e.dialWS(bob.Token, wire.ClientFrame{})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.close()
	sse := getSSE(t, e, bob.Token)
	for name, frames := range map[string]chan wire.ServerFrame{"websocket": ws.frames, "sse": sse} {
		pings, bound := 0, time.After(20*time.Second)
		for pings < 3 {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatalf("%s: closed after %d pings, want it open", name, pings)
				}
				if f.Type == wire.FramePing {
					pings++
				}
			case <-bound:
				t.Fatalf("%s: got %d pings, want 3", name, pings)
			}
		}
	}
	m := e.send(alice, th, "still there?")
	for name, frames := range map[string]chan wire.ServerFrame{"websocket": ws.frames, "sse": sse} {
		bound := time.After(20 * time.Second)
	wait:
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatalf("%s: closed before the message", name)
				}
				if f.Type == wire.FrameEvent && f.Event == string(herald.EventMessageReceived) {
					var d wire.EventData
					json.Unmarshal(f.Data, &d)
					if d.Message == nil || d.Message.ID != m.ID {
						continue
					}
					break wait
				}
			case <-bound:
				t.Fatalf("%s: no message", name)
			}
		}
	}
}

// getSSE opens an SSE stream as EventSource does (GET with the hello in
// the query) and returns its frames; pings are answered.
func getSSE(t *testing.T, e *env, token string) chan wire.ServerFrame {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/realtime/sse", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("SSE open: got %d, want 200", res.StatusCode)
	}
	frames := make(chan wire.ServerFrame, 1000)
	go func() {
		defer close(frames)
		defer res.Body.Close()
		var id, key string
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var f wire.ServerFrame
			if json.Unmarshal([]byte(line), &f) != nil {
				continue
			}
			if f.Type == wire.FrameWelcome {
				id, key = f.ConnectionID, f.ConnectionKey
			}
			if f.Type == wire.FramePing {
				b, _ := json.Marshal(wire.ClientFrame{Type: wire.FramePong})
				p, _ := http.NewRequest("POST", e.URL+"/realtime/connections/"+id+"/frames", bytes.NewReader(b))
				p.Header.Set("Content-Type", "application/json")
				p.Header.Set(wire.HeaderConnectionKey, key)
				if r, err := http.DefaultClient.Do(p); err == nil {
					r.Body.Close()
				}
			}
			frames <- f
		}
	}()
	return frames
}

// Issue 13, 8: real-time bodies are limited to one frame (64 KiB), but the
// 413 named the REST limit, and a 1 MB body could meet a connection reset
// instead of the answer (the server closed with the rest unread).
func TestRealtimeTooLargeNamesItsLimit(t *testing.T) {
	e := start(t)
	alice := e.newUser()
	big := `{"type":"hello","version":1,"pad":"` + strings.Repeat("x", 1<<20) + `"}`
	want := strconv.Itoa(wire.MaxFrameBytes)
	for _, path := range []string{"/realtime/longpoll", "/realtime/sse"} {
		for range 5 {
			b := e.fails(e.do("POST", path, alice.Token, big), 413, herald.ReasonPayloadTooLarge)
			if !strings.Contains(b.Message, want) {
				t.Fatalf("POST %s: got message %q, want it to name the limit %s", path, b.Message, want)
			}
		}
	}
}

// Issue 13, 2: a removed participant's thread list showed the topic and
// lastMessageReceivedOn as they were changed after the removal, while the
// thread itself answers 403. Now the list holds what was visible up to the
// removal: no topic, and the time of the last visible message.
func TestRemovedParticipantListShowsNothingNewer(t *testing.T) {
	e := start(t)
	alice, bob, carol := e.newUser(), e.newUser(), e.newUser()
	th := e.newThread(alice, bob, carol)
	e.send(alice, th, "before")
	e.Clock.Advance(time.Minute)
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:remove", alice.Token, wire.Identifier(bob.ID)), 204, nil)
	removedAt := e.Clock.Now()
	e.Clock.Advance(time.Hour)
	e.ok(e.do("PATCH", "/chat/threads/"+th, alice.Token, map[string]any{"topic": "after bob left"}), 204, nil)
	e.send(alice, th, "after")

	e.fails(e.do("GET", "/chat/threads/"+th, bob.Token, nil), 403, herald.ReasonNotParticipant)
	item := func(u user) wire.ChatThreadItem {
		t.Helper()
		var list wire.ThreadList
		e.ok(e.do("GET", "/chat/threads", u.Token, nil), 200, &list)
		if len(list.Value) != 1 || list.Value[0].ID != th {
			t.Fatalf("got %+v, want the one thread %s", list.Value, th)
		}
		return list.Value[0]
	}
	got := item(bob)
	if got.Topic != "" {
		t.Errorf("removed participant: got topic %q, want none", got.Topic)
	}
	if got.LastMessageReceivedOn == nil || !got.LastMessageReceivedOn.Equal(removedAt) {
		t.Errorf("removed participant: got lastMessageReceivedOn %v, want %v (the removal, the last message visible)", got.LastMessageReceivedOn, removedAt)
	}
	// A current participant still sees everything.
	if got := item(carol); got.Topic != "after bob left" || got.LastMessageReceivedOn == nil || !got.LastMessageReceivedOn.Equal(e.Clock.Now()) {
		t.Errorf("current participant: got %q at %v, want %q at %v", got.Topic, got.LastMessageReceivedOn, "after bob left", e.Clock.Now())
	}
}

// Issue 13, 3: wrong admin keys and tokens this server did not issue were
// never throttled (200 guesses in 0.05 s). Each address now has a budget
// of failures; past it every credential from the address is refused with
// 429 and Retry-After until time earns one back, and the refusals are in
// the request log.
func TestAuthFailuresThrottledPerAddress(t *testing.T) {
	e := start(t, func(l *service.Limits) { l.AuthFailureRate, l.AuthFailureBurst = 1, 3 })
	alice := e.newUser()
	e.fails(e.do("GET", "/chat/threads", "", nil), 401, herald.ReasonTokenMissing) // not a guess: not counted
	e.fails(e.do("POST", "/identities", "wrong-key", nil), 401, herald.ReasonAdminKeyInvalid)
	e.fails(e.do("GET", "/chat/threads", "not.a.token", nil), 401, herald.ReasonTokenInvalid)
	e.fails(e.do("GET", "/admin/events/Requests", "wrong-key", nil), 401, herald.ReasonAdminKeyInvalid)
	for _, c := range []struct{ method, path, auth string }{
		{"POST", "/identities", "wrong-key"},
		{"POST", "/identities", adminKey}, // the right key too: the address is refused, not the key
		{"GET", "/chat/threads", alice.Token},
		{"POST", "/realtime/tickets", alice.Token},
	} {
		r := e.do(c.method, c.path, c.auth, nil)
		e.fails(r, 429, herald.ReasonTooManyAuthFailures)
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("%s %s: got Retry-After %q, want whole seconds >= 1", c.method, c.path, r.Header.Get("Retry-After"))
		}
	}
	if _, _, err := e.dialWS(alice.Token, wire.ClientFrame{}); err == nil {
		t.Errorf("WebSocket from a throttled address: got open, want refused")
	}
	e.Clock.Advance(time.Second) // earns one failure back
	e.ok(e.do("GET", "/chat/threads", alice.Token, nil), 200, nil)

	e.flushRequests()
	rows, err := e.Store.ListRequests(context.Background(), herald.RequestFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var throttled int
	for _, r := range rows {
		if r.Reason == herald.ReasonTooManyAuthFailures && r.Status == 429 {
			throttled++
		}
	}
	if throttled < 4 {
		t.Errorf("request log: got %d rows with 429 %s, want at least 4", throttled, herald.ReasonTooManyAuthFailures)
	}
}

// Issue 13, 10: the token log's expiry was never compared with the JWT's
// exp, so a token signed with the server's key but a later exp than the
// one issued (a leaked key, a signer elsewhere) outlived its issue.
func TestTokenExpMustMatchTheLog(t *testing.T) {
	e := start(t)
	alice := e.newUser()
	toks, err := e.Store.ListTokens(context.Background(), herald.UserID(alice.ID))
	if err != nil || len(toks) != 1 {
		t.Fatalf("got %d tokens (%v), want 1", len(toks), err)
	}
	issued := toks[0]
	signer := token.New(e.Key, "", "", e.Clock)
	sign := func(exp time.Time) string {
		s, err := signer.Sign(herald.Claims{TokenID: issued.ID, UserID: issued.UserID, Scopes: issued.Scopes, IssuedAt: issued.IssuedAt, ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	e.ok(e.do("GET", "/chat/threads", sign(issued.ExpiresAt), nil), 200, nil) // the logged exp: the token as issued
	e.fails(e.do("GET", "/chat/threads", sign(issued.ExpiresAt.Add(30*24*time.Hour)), nil), 401, herald.ReasonTokenInvalid)
	e.fails(e.do("GET", "/chat/threads", sign(issued.ExpiresAt.Add(-time.Minute)), nil), 401, herald.ReasonTokenInvalid)
	if _, _, err := e.dialWS(sign(issued.ExpiresAt.Add(time.Hour)), wire.ClientFrame{}); err == nil {
		t.Errorf("WebSocket with a stretched exp: got open, want refused")
	}
}

// Issue 13, 6: the Origin check compared the host only and trusted Host.
// Origins are now compared exactly (scheme, host, port), and same origin
// counts only under an IP address or localhost, where Host cannot be an
// attacker's name (DNS rebinding). The check comes before the credential,
// so an allowed origin without a token is 401 token_missing and a refused
// one 403 origin_not_allowed.
func TestOriginComparedExactly(t *testing.T) {
	e := start(t) // allows https://app.example.com
	self := strings.TrimPrefix(e.URL, "http://")
	_, port, _ := net.SplitHostPort(self)
	for _, c := range []struct {
		origin, host string
		allowed      bool
	}{
		{"ftp://" + self, "", false},
		{"https://" + self, "", false}, // this server speaks http here
		{"http://" + self, "", true},
		{"http://" + self + "/", "", true},
		{"http://" + self + "/page", "", false},
		{"http://evil.example", "evil.example", false},
		{"http://evil.example:" + port, "evil.example:" + port, false},
		{"http://localhost:" + port, "localhost:" + port, true},
		{"https://app.example.com", "", true},
		{"https://app.example.com:443", "", true},
		{"HTTPS://App.Example.Com", "", true},
		{"http://app.example.com", "", false},
		{"https://app.example.com:8443", "", false},
		{"wss://app.example.com", "", false},
		{"null", "", false},
	} {
		req, _ := http.NewRequest("GET", e.URL+"/realtime/sse", nil)
		req.Header.Set("Origin", c.origin)
		if c.host != "" {
			req.Host = c.host
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var er wire.ErrorResponse
		json.NewDecoder(res.Body).Decode(&er)
		res.Body.Close()
		want, wantStatus := herald.ReasonOriginNotAllowed, 403
		if c.allowed {
			want, wantStatus = herald.ReasonTokenMissing, 401
		}
		if res.StatusCode != wantStatus || er.Error.Reason != string(want) {
			t.Errorf("Origin %q Host %q: got %d %s, want %d %s", c.origin, c.host, res.StatusCode, er.Error.Reason, wantStatus, want)
		}
	}
}

// Issue 13, 7: the read receipts named messages hidden from the caller by
// their shareHistoryTime. They are left out now, and paging still walks
// every receipt (skip counts the hidden ones).
func TestReadReceiptsHideMessagesBeforeShareHistory(t *testing.T) {
	e := start(t)
	alice, bob, carol, dave := e.newUser(), e.newUser(), e.newUser(), e.newUser()
	th := e.newThread(alice, bob, carol)
	early := e.send(alice, th, "early")
	e.ok(e.do("POST", "/chat/threads/"+th+"/readReceipts", bob.Token, wire.SendReadReceiptRequest{ChatMessageID: early.ID}), 200, nil)
	e.ok(e.do("POST", "/chat/threads/"+th+"/readReceipts", carol.Token, wire.SendReadReceiptRequest{ChatMessageID: early.ID}), 200, nil)
	e.Clock.Advance(time.Minute)
	cut := e.Clock.Now()
	e.Clock.Advance(time.Minute)
	late := e.send(alice, th, "late")
	e.ok(e.do("POST", "/chat/threads/"+th+"/readReceipts", alice.Token, wire.SendReadReceiptRequest{ChatMessageID: late.ID}), 200, nil)
	add := wire.AddParticipantsRequest{Participants: []wire.ChatParticipant{{CommunicationIdentifier: wire.Identifier(dave.ID), ShareHistoryTime: &cut}}}
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token, add), 201, nil)

	receipts := func(u user, pageSize int) []string {
		var ids []string
		path := "/chat/threads/" + th + "/readReceipts?maxPageSize=" + strconv.Itoa(pageSize)
		for pages := 0; path != ""; pages++ {
			if pages > 10 {
				t.Fatalf("more than 10 pages of receipts")
			}
			var list wire.ReadReceiptList
			e.ok(e.do("GET", path, u.Token, nil), 200, &list)
			for _, r := range list.Value {
				ids = append(ids, r.ChatMessageID)
			}
			path = list.NextLink
		}
		return ids
	}
	for _, size := range []int{1, 100} {
		if got := receipts(dave, size); len(got) != 1 || got[0] != late.ID {
			t.Errorf("dave (history from %v), pages of %d: got receipts of %v, want only %s (not %s)", cut, size, got, late.ID, early.ID)
		}
		if got := receipts(bob, size); len(got) != 3 {
			t.Errorf("bob (whole history), pages of %d: got %d receipts, want 3", size, len(got))
		}
	}
}

// Issue 13, 5: one user could open any number of real-time connections
// (300 seen). Past MaxConnectionsPerUser the open is refused before the
// upgrade with 429 too_many_connections; a closed connection gives its
// slot back; other users are not affected.
func TestRealtimeConnectionsPerUserCapped(t *testing.T) {
	e := startWith(t, func(c *httpapi.Config) { c.MaxConnectionsPerUser = 2 })
	bob, carol := e.newUser(), e.newUser()
	first, _, err := e.dialWS(bob.Token, wire.ClientFrame{})
	if err != nil {
		t.Fatal(err)
	}
	first.expect(wire.FrameWelcome)
	second := getSSE(t, e, bob.Token)
	if f := <-second; f.Type != wire.FrameWelcome {
		t.Fatalf("second connection: got %s, want welcome", f.Type)
	}

	third, res, err := e.dialWS(bob.Token, wire.ClientFrame{})
	if err == nil {
		third.close()
		t.Fatalf("third WebSocket: got open, want 429 before the upgrade")
	}
	if res == nil || res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("third WebSocket: got %v %v, want 429 with Retry-After before the upgrade", res, err)
	}
	req, _ := http.NewRequest("GET", e.URL+"/realtime/sse", nil)
	req.Header.Set("Authorization", "Bearer "+bob.Token)
	sse, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var er wire.ErrorResponse
	if sse.StatusCode == 429 {
		json.NewDecoder(sse.Body).Decode(&er)
	}
	sse.Body.Close() // a stream that opened ends here, instead of holding the test
	if sse.StatusCode != 429 || er.Error.Reason != string(herald.ReasonTooManyConnections) {
		t.Fatalf("third SSE: got %d %s, want 429 %s", sse.StatusCode, er.Error.Reason, herald.ReasonTooManyConnections)
	}
	e.fails(e.do("POST", "/realtime/longpoll", bob.Token, wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion}), 429, herald.ReasonTooManyConnections)

	other, _, err := e.dialWS(carol.Token, wire.ClientFrame{})
	if err != nil {
		t.Fatalf("another user: got %v, want open", err)
	}
	other.expect(wire.FrameWelcome)
	other.close()

	first.close()
	eventually(t, 10*time.Second, "bob's slot given back", func() bool {
		c, _, err := e.dialWS(bob.Token, wire.ClientFrame{})
		if err != nil {
			return false
		}
		c.close()
		return true
	})
}

package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

// TestMalformedBodies sends every malformed-JSON class to the send
// endpoint and checks the reason and that nothing was stored.
func TestMalformedBodies(t *testing.T) {
	e := start(t)
	alice := e.newUser()
	th := e.newThread(alice)
	path := "/chat/threads/" + th + "/messages"
	cases := []struct {
		name   string
		body   []byte
		status int
		reason herald.Reason
	}{
		{"truncated", []byte(`{"content":"hi`), 400, herald.ReasonInvalidJSON},
		{"empty body", []byte(``), 400, herald.ReasonInvalidJSON},
		{"array", []byte(`["content"]`), 400, herald.ReasonInvalidJSON},
		{"scalar", []byte(`"hi"`), 400, herald.ReasonInvalidJSON},
		{"null", []byte(`null`), 400, herald.ReasonInvalidJSON},
		{"trailing data", []byte(`{"content":"hi"} x`), 400, herald.ReasonInvalidJSON},
		{"two objects", []byte(`{"content":"hi"}{"content":"again"}`), 400, herald.ReasonInvalidJSON},
		{"unknown field", []byte(`{"content":"hi","senderId":"u_evil"}`), 400, herald.ReasonUnknownField},
		{"case variant field", []byte(`{"Content":"hi"}`), 400, herald.ReasonUnknownField},
		{"duplicate field", []byte(`{"content":"a","content":"b"}`), 400, herald.ReasonDuplicateField},
		{"duplicate metadata key", []byte(`{"content":"a","metadata":{"k":"1","k":"2"}}`), 400, herald.ReasonDuplicateField},
		{"invalid utf-8", []byte("{\"content\":\"\xff\xfe\"}"), 400, herald.ReasonInvalidUTF8},
		{"lone high surrogate", []byte(`{"content":"\ud800"}`), 400, herald.ReasonInvalidUTF8},
		{"lone low surrogate", []byte(`{"content":"a\udc00b"}`), 400, herald.ReasonInvalidUTF8},
		{"reversed surrogates", []byte(`{"content":"\udc00\ud800"}`), 400, herald.ReasonInvalidUTF8},
		{"nul character", []byte(`{"content":"a\u0000b"}`), 400, herald.ReasonInvalidField},
		{"wrong type", []byte(`{"content":123}`), 400, herald.ReasonInvalidField},
		{"metadata not strings", []byte(`{"content":"a","metadata":{"k":1}}`), 400, herald.ReasonInvalidField},
		{"nested object in metadata", []byte(`{"metadata":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`), 400, herald.ReasonInvalidField},
		{"empty content", []byte(`{"content":""}`), 400, herald.ReasonEmptyMessage},
		{"blank content", []byte(`{"content":"  \n"}`), 400, herald.ReasonEmptyMessage},
		{"bad type", []byte(`{"content":"a","type":"markdown"}`), 400, herald.ReasonInvalidField},
		{"oversized content", []byte(`{"content":"` + strings.Repeat("x", 28*1024+1) + `"}`), 413, herald.ReasonMessageTooLarge},
		{"oversized metadata", []byte(`{"content":"a","metadata":{"k":"` + strings.Repeat("x", 1100) + `"}}`), 413, herald.ReasonMetadataTooLarge},
		{"oversized body", []byte(`{"content":"` + strings.Repeat("x", 600<<10) + `"}`), 413, herald.ReasonPayloadTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fails(e.do("POST", path, alice.Token, c.body), c.status, c.reason)
		})
	}
	// A valid surrogate pair is accepted: the control for the surrogate cases.
	e.ok(e.do("POST", path, alice.Token, []byte(`{"content":"smile \ud83d\ude00"}`)), 201, nil)
	msgs := e.sent(alice, th)
	if len(msgs) != 1 || msgs[0].Content.Message != "smile 😀" {
		t.Errorf("got %d messages %+v; want only the valid one (nothing from the rejected requests)", len(msgs), msgs)
	}
	if got := e.threadSeq(th); got != createdSeq+1 {
		t.Errorf("rejected requests moved the sequence: got %d, want %d", got, createdSeq+1)
	}
}

func TestContentTypeMethodRoute(t *testing.T) {
	e := start(t)
	alice := e.newUser()
	th := e.newThread(alice)
	r := e.do("POST", "/chat/threads/"+th+"/messages", alice.Token, []byte(`{"content":"x"}`), "Content-Type", "text/plain")
	e.fails(r, 415, herald.ReasonUnsupportedMedia)
	r = e.do("PUT", "/chat/threads/"+th, alice.Token, nil)
	e.fails(r, 405, herald.ReasonMethodNotAllowed)
	if r.Header.Get("Allow") == "" {
		t.Errorf("405 without an Allow header")
	}
	e.fails(e.do("GET", "/nowhere", alice.Token, nil), 404, herald.ReasonRouteNotFound)
	e.fails(e.do("GET", "/chat/threads/%FF", alice.Token, nil), 400, herald.ReasonInvalidField)
	e.fails(e.do("GET", "/chat/threads/a%00b", alice.Token, nil), 400, herald.ReasonInvalidField)
}

func TestOtherBodiesStrict(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice)
	cases := []struct {
		method, path, body string
		status             int
		reason             herald.Reason
	}{
		{"POST", "/chat/threads", `{"topic":"x","createdBy":"u_evil"}`, 400, herald.ReasonUnknownField},
		{"POST", "/chat/threads", `{}`, 400, herald.ReasonMissingField},
		{"POST", "/chat/threads", `{"topic":"x","participants":[{"communicationIdentifier":{"rawId":"a","communicationUser":{"id":"b"}}}]}`, 400, herald.ReasonInvalidField},
		{"POST", "/chat/threads", `{"topic":"x","participants":[{"communicationIdentifier":{}}]}`, 400, herald.ReasonMissingField},
		{"POST", "/chat/threads", `{"topic":"x","participants":[{"communicationIdentifier":{"rawId":"a","kind":"x"}}]}`, 400, herald.ReasonUnknownField},
		{"PATCH", "/chat/threads/" + th, `{"topic":""}`, 400, herald.ReasonMissingField},
		{"PATCH", "/chat/threads/" + th, `{"topic":"a","topic":"b"}`, 400, herald.ReasonDuplicateField},
		{"POST", "/chat/threads/" + th + "/participants/:add", `{"participants":[]}`, 400, herald.ReasonMissingField},
		{"POST", "/chat/threads/" + th + "/participants/:add", `{"participants":{}}`, 400, herald.ReasonInvalidField},
		{"POST", "/chat/threads/" + th + "/participants/:remove", `{"rawId":"` + bob.ID + `","extra":1}`, 400, herald.ReasonUnknownField},
		{"POST", "/chat/threads/" + th + "/readReceipts", `{"chatMessageId":""}`, 400, herald.ReasonMissingField},
		{"POST", "/identities", `{"createTokenWithScopes":"chat"}`, 400, herald.ReasonInvalidField},
		{"POST", "/chat/threads", `{"topic":"x","participants":[{"communicationIdentifier":{"rawId":"a"},"shareHistoryTime":"yesterday"}]}`, 400, herald.ReasonInvalidField},
		{"PATCH", "/chat/threads/t_nope", `{}`, 404, herald.ReasonThreadNotFound},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path+" "+c.body, func(t *testing.T) {
			auth := alice.Token
			if strings.HasPrefix(c.path, "/identities") {
				auth = adminKey
			}
			e.fails(e.do(c.method, c.path, auth, []byte(c.body)), c.status, c.reason)
		})
	}
	var list wire.ThreadList
	e.ok(e.do("GET", "/chat/threads", alice.Token, nil), 200, &list)
	if len(list.Value) != 1 {
		t.Errorf("rejected creates made threads: got %d, want 1", len(list.Value))
	}
	if got := e.threadSeq(th); got != createdSeq {
		t.Errorf("rejected requests changed the thread: seq %d, want %d", got, createdSeq)
	}
}

func TestIdempotentSend(t *testing.T) {
	e := start(t)
	alice := e.newUser()
	th := e.newThread(alice)
	path := "/chat/threads/" + th + "/messages"
	body := wire.SendMessageRequest{Content: "once", ClientMessageID: "c-1"}
	var first, again wire.SendMessageResponse
	e.ok(e.do("POST", path, alice.Token, body), 201, &first)
	e.ok(e.do("POST", path, alice.Token, body), 201, &again)
	if again != first {
		t.Errorf("retry got %+v, want the first answer %+v", again, first)
	}
	// The header works too, and a header equal to the body's id is fine.
	e.ok(e.do("POST", path, alice.Token, wire.SendMessageRequest{Content: "hdr"}, wire.HeaderRepeatability, "c-2"), 201, &first)
	e.ok(e.do("POST", path, alice.Token, wire.SendMessageRequest{Content: "hdr"}, wire.HeaderRepeatability, "c-2"), 201, &again)
	if again != first {
		t.Errorf("header retry got %+v, want %+v", again, first)
	}
	e.fails(e.do("POST", path, alice.Token, wire.SendMessageRequest{Content: "different", ClientMessageID: "c-1"}), 409, herald.ReasonIdempotencyKeyReused)
	e.fails(e.do("POST", path, alice.Token, wire.SendMessageRequest{Content: "x", ClientMessageID: "a"}, wire.HeaderRepeatability, "b"), 400, herald.ReasonInvalidField)

	// Concurrent retries of one send store one message.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", path, alice.Token, wire.SendMessageRequest{Content: "race", ClientMessageID: "c-race"})
			var out wire.SendMessageResponse
			if r.Status == 201 {
				e.ok(r, 201, &out)
			}
			ids[i] = out.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("concurrent retries got ids %v, want one id", ids)
		}
	}
	if got := len(e.sent(alice, th)); got != 3 {
		t.Errorf("got %d messages, want 3 (once, hdr, race)", got)
	}
	// Another sender may use the same key: keys are per sender.
	bob := e.newUser()
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token, wire.AddParticipantsRequest{Participants: []wire.ChatParticipant{{CommunicationIdentifier: wire.Identifier(bob.ID)}}}), 201, nil)
	e.ok(e.do("POST", path, bob.Token, body), 201, nil)
}

func TestRequestLog(t *testing.T) {
	e := start(t)
	alice, stranger := e.newUser(), e.newUser()
	th := e.newThread(alice)
	e.send(alice, th, "hi")
	e.do("GET", "/chat/threads/"+th, stranger.Token, nil)
	e.do("GET", "/chat/threads", "forged.token.here", nil)
	e.flushRequests()
	rows, err := e.Store.ListRequests(context.Background(), herald.RequestFilter{Thread: herald.ThreadID(th)})
	if err != nil {
		t.Fatal(err)
	}
	var sawSend, saw404 bool
	for _, r := range rows {
		if r.Operation == "SendChatMessage" && r.Status == 201 && r.Caller == herald.UserID(alice.ID) && r.MessageID != "" {
			sawSend = true
		}
		if r.Operation == "GetChatThreadProperties" && r.Status == 404 && r.Reason == herald.ReasonThreadNotFound && r.Caller == herald.UserID(stranger.ID) {
			saw404 = true
		}
	}
	if !sawSend || !saw404 {
		t.Errorf("request log for the thread lacks the send (%v) or the stranger's 404 (%v): %+v", sawSend, saw404, rows)
	}
	rows, err = e.Store.ListRequests(context.Background(), herald.RequestFilter{Reason: herald.ReasonTokenInvalid})
	if err != nil || len(rows) != 1 || rows[0].Status != 401 || rows[0].Operation != "ListChatThreads" {
		t.Errorf("got %+v (%v), want the one 401 token_invalid", rows, err)
	}
}

func TestRateLimit(t *testing.T) {
	e := start(t, func(l *service.Limits) { l.WriteRate = 2; l.WriteBurst = 3 })
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob) // one write
	e.send(alice, th, "1")
	e.send(alice, th, "2")
	r := e.do("POST", "/chat/threads/"+th+"/messages", alice.Token, wire.SendMessageRequest{Content: "3"})
	e.fails(r, 429, herald.ReasonRateLimited)
	if got := r.Header.Get(wire.HeaderRetryAfter); got != "1" {
		t.Errorf("got Retry-After %q, want 1", got)
	}
	e.send(bob, th, "bob is not limited by alice")
	e.Clock.Advance(500 * time.Millisecond)
	e.send(alice, th, "3 after waiting")
	if got := len(e.sent(alice, th)); got != 4 {
		t.Errorf("got %d messages, want 4 (the limited send stored nothing)", got)
	}
}

// TestAPIVersion (issue 14): ACS's api-version is optional; when sent it
// must look like an ACS version and be given once, on every route, and a
// send refused for it stores nothing.
func TestAPIVersion(t *testing.T) {
	e := start(t)
	alice := e.newUser()
	th := e.newThread(alice)
	for _, v := range []string{"", "?api-version=2024-03-07", "?api-version=2023-10-01", "?api-version=2021-10-01-preview7"} {
		e.ok(e.do("GET", "/chat/threads"+v, alice.Token, nil), 200, nil)
	}
	for _, v := range []string{"?api-version=latest", "?api-version=2024-13-01", "?api-version=", "?api-version=2024-03-07-previewX",
		"?api-version=2024-03-07&api-version=2023-11-07"} {
		t.Run(v, func(t *testing.T) {
			body := e.fails(e.do("GET", "/chat/threads"+v, alice.Token, nil), 400, herald.ReasonInvalidField)
			if body.Target != "api-version" {
				t.Errorf("target %q, want api-version", body.Target)
			}
			e.fails(e.do("POST", "/chat/threads/"+th+"/messages"+v, alice.Token, []byte(`{"content":"x"}`)), 400, herald.ReasonInvalidField)
		})
	}
	if got := e.sent(alice, th); len(got) != 0 {
		t.Errorf("sends refused for their api-version stored %d messages, want 0", len(got))
	}
	e.fails(e.do("GET", "/identities/u_x?api-version=nope", adminKey, nil), 400, herald.ReasonInvalidField)
}

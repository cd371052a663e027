package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

func TestSSE(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	s := e.dialSSE(bob.Token, wire.ClientFrame{Handles: []string{"chatMessageReceived"}})
	defer s.cancel()
	next := func() wire.ServerFrame {
		t.Helper()
		for {
			select {
			case f := <-s.frames:
				if f.Type != wire.FramePing && f.Type != wire.FramePong {
					return f
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no SSE frame in 5s")
			}
		}
	}
	if f := next(); f.Type != wire.FrameWelcome || f.Transport != wire.TransportSSE {
		t.Fatalf("got %+v", f)
	}
	next() // caughtUp
	m := e.send(alice, th, "over sse")
	f := next()
	if f.Type != wire.FrameEvent || f.ThreadID != th || f.Event != "chatMessageReceived" {
		t.Fatalf("got %+v", f)
	}
	// Acks go by POST with the connection key; a wrong key is a 404.
	if st := s.post(wire.ClientFrame{Type: wire.FrameAck, Acks: []wire.Ack{{ThreadID: th, Seq: f.Seq}}}); st != 204 {
		t.Errorf("ack: got %d, want 204", st)
	}
	s.mu.Lock()
	s.key = "wrong"
	s.mu.Unlock()
	if st := s.post(wire.ClientFrame{Type: wire.FramePing}); st != 404 {
		t.Errorf("wrong key: got %d, want 404", st)
	}
	_ = m
}

func TestLongPoll(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	post := func(path string, body any, headers ...string) (int, []wire.ServerFrame) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", e.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bob.Token)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var fs []wire.ServerFrame
		json.NewDecoder(res.Body).Decode(&fs)
		return res.StatusCode, fs
	}
	st, fs := post("/realtime/longpoll", wire.ClientFrame{Type: wire.FrameHello, Version: 1})
	if st != 200 || len(fs) == 0 || fs[0].Type != wire.FrameWelcome {
		t.Fatalf("open: got %d %+v", st, fs)
	}
	id, key := fs[0].ConnectionID, fs[0].ConnectionKey
	poll := func() []wire.ServerFrame {
		req, _ := http.NewRequest("GET", e.URL+"/realtime/longpoll/"+id, nil)
		req.Header.Set("X-Herald-Connection-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("poll: %v %v", res, err)
		}
		defer res.Body.Close()
		var fs []wire.ServerFrame
		json.NewDecoder(res.Body).Decode(&fs)
		return fs
	}
	e.send(alice, th, "over long-polling")
	var got *wire.ServerFrame
	for i := 0; i < 20 && got == nil; i++ {
		for _, f := range poll() {
			if f.Type == wire.FrameEvent {
				got = &f
			}
		}
	}
	if got == nil || got.ThreadID != th || got.Event != "chatMessageReceived" {
		t.Fatalf("got %+v", got)
	}
}

// TestSlowConsumer fills a small per-connection queue while the client
// does not read; the server closes it with slow_consumer, logs why, and
// the client recovers every message by resuming.
func TestSlowConsumer(t *testing.T) {
	old := hubConfig
	hubConfig.QueueSize, hubConfig.WriteTimeout, hubConfig.Timeout = 8, 3*time.Second, time.Minute
	defer func() { hubConfig = old }()
	e := start(t, func(l *service.Limits) { l.WriteRate = 0 })
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	// A client that reads welcome and caughtUp, then stops reading without
	// closing: socket buffers fill, then the writer blocks, then the queue.
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(e.URL, "http")+"/realtime/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + bob.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	hello, _ := json.Marshal(wire.ClientFrame{Type: wire.FrameHello, Version: 1})
	ws.Write(context.Background(), websocket.MessageText, hello)
	for range 2 {
		if _, _, err := ws.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("x", 28*1024)
	const n = 300
	for range n {
		e.send(alice, th, big)
	}
	var row herald.Connection
	eventually(t, 10*time.Second, "the close in the connection log", func() bool {
		rows, _ := e.Store.ListConnections(context.Background(), herald.ConnectionFilter{User: herald.UserID(bob.ID)})
		if len(rows) == 1 && !rows[0].ClosedAt.IsZero() {
			row = rows[0]
			return true
		}
		return false
	})
	if row.CloseReason != herald.ReasonSlowConsumer || row.CloseCode != 4002 {
		t.Fatalf("got close %d %q, want 4002 slow_consumer", row.CloseCode, row.CloseReason)
	}
	// Resume from the creation: all n messages, in order, once.
	r := e.connectResume(bob, map[string]int64{th: createdSeq})
	for i := range n {
		f, d := r.event("chatMessageReceived")
		if f.Seq != int64(createdSeq+1+i) || d.Message.Content.Message != big {
			t.Fatalf("message %d: got seq %d", i, f.Seq)
		}
	}
}

// connectResume opens a WebSocket that resumes from cursor.
func (e *env) connectResume(u user, cursor map[string]int64) *rt {
	e.t.Helper()
	c, _, err := e.dialWS(u.Token, wire.ClientFrame{Resume: true, Cursor: cursor})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(c.close)
	c.expect(wire.FrameWelcome)
	return c
}

// TestLedger checks the evidence: the connection log names the handlers
// the client declared, the delivery ledger says which connection and
// transport each message was pushed on, and acks are recorded — only the
// ones the connection can vouch for.
func TestLedger(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	c := e.connect(bob, wire.ClientFrame{Handles: []string{"chatMessageReceived", "participantsRemoved"}})
	var seqs []int64
	for range 3 {
		e.send(alice, th, "m")
		f, _ := c.event("chatMessageReceived")
		seqs = append(seqs, f.Seq)
	}
	c.sendFrame(wire.ClientFrame{Type: wire.FrameAck, Acks: []wire.Ack{{ThreadID: th, Seq: seqs[1]}}})
	c.sendFrame(wire.ClientFrame{Type: wire.FrameAck, Acks: []wire.Ack{{ThreadID: th, Seq: 999}}})
	if f := c.expect(wire.FrameError); f.Error.Reason != string(herald.ReasonInvalidAck) {
		t.Errorf("got %+v, want invalid_ack", f.Error)
	}
	c.close()
	ctx := context.Background()
	var conns []herald.Connection
	eventually(t, 5*time.Second, "the close in the connection log", func() bool {
		conns, _ = e.Store.ListConnections(ctx, herald.ConnectionFilter{User: herald.UserID(bob.ID)})
		return len(conns) == 1 && !conns[0].ClosedAt.IsZero()
	})
	if len(conns) != 1 || conns[0].Transport != wire.TransportWebSocket || len(conns[0].Handles) != 2 || conns[0].ClosedBy != "client" {
		t.Fatalf("connection log: got %+v", conns)
	}
	// The ledger is written in the background: sync it until the runs
	// are there (bounded), then check them exactly.
	eventually(t, 5*time.Second, "the delivery runs in the ledger", func() bool {
		e.Hub.Sync()
		ds, _ := e.Store.ListDeliveries(ctx, herald.DeliveryFilter{User: herald.UserID(bob.ID), Thread: herald.ThreadID(th), Seq: herald.Seq(seqs[2])})
		return len(ds) > 0
	})
	for _, s := range seqs {
		ds, err := e.Store.ListDeliveries(ctx, herald.DeliveryFilter{User: herald.UserID(bob.ID), Thread: herald.ThreadID(th), Seq: herald.Seq(s)})
		if err != nil || len(ds) != 1 || ds[0].ConnectionID != conns[0].ID || ds[0].Transport != wire.TransportWebSocket {
			t.Errorf("seq %d: got deliveries %+v (%v), want one on %s", s, ds, err, conns[0].ID)
		}
	}
	acks, err := e.Store.ListAcks(ctx, herald.DeliveryFilter{User: herald.UserID(bob.ID), Thread: herald.ThreadID(th)})
	if err != nil || len(acks) != 1 || int64(acks[0].Seq) != seqs[1] {
		t.Errorf("got acks %+v (%v), want one up to %d", acks, err, seqs[1])
	}
	_ = hub.ErrSlowConsumer
}

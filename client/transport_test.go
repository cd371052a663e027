package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// These tests run each transport against a small server that speaks just
// enough of the protocol: it checks the client's requests and hello, sends
// a welcome and an event, waits for the ack and closes with a terminal
// code. The server's behaviour is tested against the real server
// elsewhere.

// script is what each protocol server does, whatever the transport.
type script struct {
	t      *testing.T
	token  string
	hellos chan wire.ClientFrame
	acks   chan []wire.Ack
}

func newScript(t *testing.T) *script {
	return &script{t: t, token: jwt(me, time.Now().Add(time.Hour)), hellos: make(chan wire.ClientFrame, 10), acks: make(chan []wire.Ack, 10)}
}

func (s *script) authorized(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Bearer "+s.token
}

// frames is what the server sends before waiting for the ack.
func (s *script) frames() []wire.ServerFrame {
	data, _ := json.Marshal(message())
	return []wire.ServerFrame{
		{Type: wire.FrameWelcome, ConnectionID: "c_1", ConnectionKey: "key-1", HeartbeatMs: 3600000, TimeoutMs: 7200000,
			Threads: map[string]wire.ThreadResume{"t1": {Resumed: true, To: 0}}},
		{Type: wire.FrameEvent, ThreadID: "t1", Seq: 1, Event: "chatMessageReceived", Data: data},
	}
}

// frame accepts a POSTed client frame (SSE, long-polling).
func (s *script) frame(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != "c_1" || r.Header.Get(headerConnectionKey) != "key-1" || !s.authorized(r) {
		answerJSON(w, http.StatusUnauthorized, `{"error":{"code":"unauthorized","reason":"token_invalid","message":"bad key"}}`)
		return
	}
	var f wire.ClientFrame
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
		answerJSON(w, http.StatusBadRequest, `{"error":{"code":"invalid","message":"bad frame"}}`)
		return
	}
	if f.Type == wire.FrameAck {
		s.acks <- f.Acks
	}
	w.WriteHeader(http.StatusNoContent)
}

// run starts a Realtime over transport against h and checks the
// conversation: hello, welcome, event, ack, terminal close.
func (s *script) run(transport string, h http.Handler, wantReason herald.Reason) {
	t := s.t
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rt := New(srv.URL, StaticToken(s.token)).Realtime(RealtimeOptions{Transport: transport})
	got := make(seen, 10)
	rt.On(herald.EventMessageReceived, got.handler)
	done := make(chan error, 1)
	go func() { done <- rt.Start(context.Background()) }()

	select {
	case hello := <-s.hellos:
		want := wire.ClientFrame{Type: wire.FrameHello, Version: 1, Handles: []string{"chatMessageReceived"}}
		if diff := cmp.Diff(want, hello); diff != "" {
			t.Errorf("hello (-want +got):\n%s", diff)
		}
	case err := <-done:
		t.Fatalf("Start returned before hello: %v", err)
	case <-time.After(waitLimit):
		t.Fatal("no hello")
	}
	if ev := got.next(t); ev.ThreadID != "t1" || ev.Seq != 1 || ev.Data.Message == nil {
		t.Errorf("got event %+v, want t1 seq 1 with its message", ev)
	}
	select {
	case err := <-done:
		if herald.ErrorReason(err) != wantReason {
			t.Errorf("Start: got %v, want reason %s", err, wantReason)
		}
	case <-time.After(waitLimit):
		t.Fatal("Start did not return after the terminal close")
	}
	if rt.UserID() != me {
		t.Errorf("UserID: got %q, want %q", rt.UserID(), me)
	}
	if n := len(s.hellos); n > 0 {
		t.Errorf("got %d more connections, want one", n)
	}
}

func (s *script) waitAck() {
	select {
	case acks := <-s.acks:
		if !cmp.Equal([]wire.Ack{{ThreadID: "t1", Seq: 1}}, acks) {
			s.t.Errorf("got acks %v, want t1 up to 1", acks)
		}
	case <-time.After(waitLimit):
		s.t.Error("no ack")
	}
}

func TestWebSocketTransport(t *testing.T) {
	s := newScript(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realtime/ws", func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			answerJSON(w, http.StatusUnauthorized, `{"error":{"code":"unauthorized","reason":"token_invalid","message":"no"}}`)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		read := func() wire.ClientFrame {
			var f wire.ClientFrame
			_, data, err := c.Read(ctx)
			if err == nil {
				err = json.Unmarshal(data, &f)
			}
			if err != nil {
				t.Errorf("read client frame: %v", err)
			}
			return f
		}
		s.hellos <- read()
		for _, f := range s.frames() {
			data, _ := json.Marshal(f)
			c.Write(ctx, websocket.MessageText, data)
		}
		for {
			f := read()
			if f.Type == wire.FrameAck {
				s.acks <- f.Acks
				break
			}
		}
		s.waitAck()
		c.Close(wire.CloseTokenRevoked, "token_revoked")
	})
	s.run(wire.TransportWebSocket, mux, herald.ReasonTokenRevoked)
}

func TestSSETransport(t *testing.T) {
	s := newScript(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /realtime/connections/{id}/frames", s.frame)
	mux.HandleFunc("POST /realtime/sse", func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) || r.Header.Get("Accept") != "text/event-stream" {
			answerJSON(w, http.StatusUnauthorized, `{"error":{"code":"unauthorized","reason":"token_invalid","message":"no"}}`)
			return
		}
		var hello wire.ClientFrame
		json.NewDecoder(r.Body).Decode(&hello)
		s.hellos <- hello
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		fl := w.(http.Flusher)
		frames := s.frames()
		welcome, _ := json.Marshal(frames[0])
		event, _ := json.Marshal(frames[1])
		// A comment, an event name and a frame split over two data lines
		// (joined by a newline, so split between JSON tokens) are all
		// valid SSE.
		half := strings.Index(string(event), `,"threadId"`)
		fmt.Fprintf(w, ": hi\n\ndata: %s\n\nevent: frame\ndata: %s\ndata:%s\r\n\r\n", welcome, event[:half], event[half:])
		fl.Flush()
		s.waitAck()
		fmt.Fprintf(w, "data: {\"type\":\"close\",\"code\":%d,\"reason\":\"identity_deleted\"}\n\n", wire.CloseIdentityDeleted)
		fl.Flush()
		<-r.Context().Done() // the client hangs up
	})
	s.run(wire.TransportSSE, mux, herald.ReasonIdentityDeleted)
}

func TestLongPollTransport(t *testing.T) {
	s := newScript(t)
	polls := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /realtime/connections/{id}/frames", s.frame)
	mux.HandleFunc("POST /realtime/longpoll", func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			answerJSON(w, http.StatusUnauthorized, `{"error":{"code":"unauthorized","reason":"token_invalid","message":"no"}}`)
			return
		}
		var hello wire.ClientFrame
		json.NewDecoder(r.Body).Decode(&hello)
		s.hellos <- hello
		data, _ := json.Marshal(s.frames()[:1])
		answerJSON(w, http.StatusOK, string(data))
	})
	mux.HandleFunc("GET /realtime/longpoll/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "c_1" || r.Header.Get(headerConnectionKey) != "key-1" {
			answerJSON(w, http.StatusNotFound, `{"error":{"code":"not_found","message":"no such connection"}}`)
			return
		}
		polls++
		switch polls {
		case 1:
			answerJSON(w, http.StatusOK, `[]`) // a poll that timed out
		case 2:
			data, _ := json.Marshal(s.frames()[1:])
			answerJSON(w, http.StatusOK, string(data))
		default:
			s.waitAck()
			answerJSON(w, http.StatusOK, fmt.Sprintf(`[{"type":"close","code":%d,"reason":"token_revoked"}]`, wire.CloseTokenRevoked))
		}
	})
	s.run(wire.TransportLongPoll, mux, herald.ReasonTokenRevoked)
}

func TestWebSocketRefusalIsAHeraldError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(wire.HeaderRequestID, "req-7")
		answerJSON(w, http.StatusUnauthorized, `{"error":{"code":"unauthorized","reason":"identity_deleted","message":"the identity was deleted"}}`)
	}))
	defer srv.Close()
	rt := New(srv.URL, StaticToken("tok")).Realtime(RealtimeOptions{})
	err := rt.Start(context.Background())
	mustReason(t, err, herald.CodeUnauthorized, herald.ReasonIdentityDeleted)
	if Status(err) != http.StatusUnauthorized {
		t.Errorf("got status %d, want 401", Status(err))
	}
}

func TestUnknownTransport(t *testing.T) {
	rt := New("http://127.0.0.1:1", StaticToken("tok")).Realtime(RealtimeOptions{Transport: "pigeon"})
	if err := rt.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "pigeon") {
		t.Errorf("got %v, want an error naming the transport", err)
	}
}

func TestSSERefusesAnotherContentType(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>a proxy's login page</html>")
	}))
	defer srv.Close()
	c := New(srv.URL, StaticToken("tok"))
	if _, err := c.conn.dialSSE(context.Background(), "tok", wire.ClientFrame{Type: wire.FrameHello}, nil); err == nil ||
		!strings.Contains(err.Error(), "text/event-stream") {
		t.Errorf("got %v, want a refusal naming text/event-stream", err)
	}
}

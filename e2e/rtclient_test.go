package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-chat/herald/wire"
)

// rt is a bare protocol client for the suite: it opens a WebSocket or SSE
// connection and collects frames, so the tests see exactly what the server
// sends (the SDK is tested on top of this separately).
type rt struct {
	t      testing.TB
	e      *env
	ws     *websocket.Conn
	frames chan wire.ServerFrame
	closed chan wire.ServerFrame // the close code and reason, once
	connID string
	key    string
	cancel context.CancelFunc
	mute   atomic.Bool // stop answering pings (a peer that went silent)
}

// dialWS opens a WebSocket with the token and sends hello.
func (e *env) dialWS(token string, hello wire.ClientFrame, headers ...string) (*rt, *http.Response, error) {
	e.t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.URL, "http")+"/realtime/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		cancel()
		return nil, res, err
	}
	ws.SetReadLimit(1 << 20)
	c := &rt{t: e.t, e: e, ws: ws, frames: make(chan wire.ServerFrame, 100000), closed: make(chan wire.ServerFrame, 1), cancel: cancel}
	if hello.Type == "" {
		hello.Type = wire.FrameHello
	}
	if hello.Version == 0 {
		hello.Version = wire.ProtocolVersion
	}
	c.sendFrame(hello)
	go c.readWS(ctx)
	return c, res, nil
}

func (c *rt) readWS(ctx context.Context) {
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			c.closed <- wire.ServerFrame{Type: wire.FrameClose, Code: int(websocket.CloseStatus(err)), Reason: closeReason(err)}
			close(c.frames)
			return
		}
		var f wire.ServerFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.t.Errorf("server sent a frame that is not JSON: %q", data)
			continue
		}
		if f.Type == wire.FramePing && !c.mute.Load() {
			c.sendFrame(wire.ClientFrame{Type: wire.FramePong})
		}
		c.frames <- f
	}
}

func closeReason(err error) string {
	var ce websocket.CloseError
	if ok := asCloseError(err, &ce); ok {
		return ce.Reason
	}
	return ""
}

func (c *rt) sendFrame(f wire.ClientFrame) {
	b, _ := json.Marshal(f)
	c.sendRaw(websocket.MessageText, b)
}

func (c *rt) sendRaw(typ websocket.MessageType, b []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.ws.Write(ctx, typ, b) // errors show up as a close on the read side
}

// next returns the next frame that is not a ping or pong, failing after 5 s.
func (c *rt) next() wire.ServerFrame {
	c.t.Helper()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				cl := <-c.closed
				c.t.Fatalf("connection closed (%d %q) while waiting for a frame", cl.Code, cl.Reason)
			}
			if f.Type == wire.FramePing || f.Type == wire.FramePong {
				continue
			}
			if f.Type == wire.FrameWelcome && c.connID == "" {
				c.connID, c.key = f.ConnectionID, f.ConnectionKey
			}
			return f
		case <-time.After(5 * time.Second):
			c.t.Fatalf("no frame in 5s")
			return wire.ServerFrame{}
		}
	}
}

// expect returns the next frame and checks its type.
func (c *rt) expect(typ string) wire.ServerFrame {
	c.t.Helper()
	f := c.next()
	if f.Type != typ {
		c.t.Fatalf("got frame %s (%+v), want %s", f.Type, f, typ)
	}
	return f
}

// event returns the next event frame and its data.
func (c *rt) event(name string) (wire.ServerFrame, wire.EventData) {
	c.t.Helper()
	f := c.expect(wire.FrameEvent)
	if f.Event != name {
		c.t.Fatalf("got event %s (thread %s seq %d), want %s", f.Event, f.ThreadID, f.Seq, name)
	}
	var d wire.EventData
	if err := json.Unmarshal(f.Data, &d); err != nil {
		c.t.Fatal(err)
	}
	return f, d
}

// waitClose returns the close code and reason, skipping frames, failing
// after wait.
func (c *rt) waitClose(wait time.Duration) wire.ServerFrame {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case f := <-c.closed:
			return f
		case _, ok := <-c.frames:
			if !ok {
				continue
			}
		case <-deadline:
			c.t.Fatalf("not closed within %v", wait)
		}
	}
}

func (c *rt) close() {
	c.ws.Close(websocket.StatusNormalClosure, "bye")
	c.cancel()
}

// sse is an SSE connection: frames stream from a POST response.
type sse struct {
	t      testing.TB
	frames chan wire.ServerFrame
	cancel context.CancelFunc
	id     string
	key    string
	e      *env
	token  string
	mu     sync.Mutex
}

func (e *env) dialSSE(token string, hello wire.ClientFrame) *sse {
	e.t.Helper()
	hello.Type, hello.Version = wire.FrameHello, wire.ProtocolVersion
	b, _ := json.Marshal(hello)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", e.URL+"/realtime/sse", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		e.t.Fatalf("SSE open: got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &sse{t: e.t, frames: make(chan wire.ServerFrame, 100000), cancel: cancel, e: e, token: token}
	go func() {
		defer close(s.frames)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "data: ") {
				continue
			}
			var f wire.ServerFrame
			if err := json.Unmarshal([]byte(line[6:]), &f); err != nil {
				e.t.Errorf("bad SSE frame %q", line)
				continue
			}
			if f.Type == wire.FrameWelcome {
				s.mu.Lock()
				s.id, s.key = f.ConnectionID, f.ConnectionKey
				s.mu.Unlock()
			}
			if f.Type == wire.FramePing {
				go s.post(wire.ClientFrame{Type: wire.FramePong})
			}
			s.frames <- f
		}
	}()
	return s
}

// post sends a client frame for the SSE connection.
func (s *sse) post(f wire.ClientFrame) int {
	s.mu.Lock()
	id, key := s.id, s.key
	s.mu.Unlock()
	b, _ := json.Marshal(f)
	req, _ := http.NewRequest("POST", s.e.URL+"/realtime/connections/"+id+"/frames", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Herald-Connection-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

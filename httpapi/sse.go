package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/wire"
)

// realtimeSSE opens a Server-Sent Events connection: the response streams
// frames; the client's frames come by POST to the frames endpoint.
func (s *Server) realtimeSSE(w http.ResponseWriter, r *http.Request) error {
	meta := metaOf(r, wire.TransportSSE)
	tok, hello, release, err := s.admitStream(w, r, meta)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	t := &sseTransport{w: w, rc: rc}
	conn, err := s.cfg.Hub.Open(r.Context(), tok, t, meta, hello)
	if err != nil {
		release()
	}
	if errors.Is(err, hub.ErrUnsupportedVersion) {
		return unsupported()
	}
	if err != nil {
		return err
	}
	conn.AfterClose(release)
	select {
	case <-conn.Done():
	case <-r.Context().Done():
		conn.Close(herald.ReasonConnectionLost, "client")
	}
	t.finish()
	return nil
}

// sseTransport writes frames as `data:` lines. Its mutex keeps writes
// from racing the handler's return.
type sseTransport struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	mu      sync.Mutex // guards closed and the writer
	started bool
	closed  bool
}

func (t *sseTransport) Write(frames [][]byte, timeout time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("sse: closed")
	}
	t.rc.SetWriteDeadline(time.Now().Add(timeout)) // a socket deadline: the kernel's wall clock
	var buf bytes.Buffer
	for _, f := range frames {
		buf.WriteString("data: ")
		buf.Write(f)
		buf.WriteString("\n\n")
	}
	if !t.started {
		t.started = true
		t.w.WriteHeader(http.StatusOK)
	}
	_, err := t.w.Write(buf.Bytes())
	if err == nil {
		err = t.rc.Flush()
	}
	if isTimeout(err) {
		return hub.ErrSlowConsumer
	}
	return err
}

// Close sends a close frame and ends the stream.
func (t *sseTransport) Close(code int, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.rc.SetWriteDeadline(time.Now().Add(time.Second))
	if !t.started {
		t.started = true
		t.w.WriteHeader(http.StatusOK)
	}
	t.w.Write([]byte("data: " + string(closeFrame(code, reason)) + "\n\n"))
	t.rc.Flush()
	t.closed = true
}

// finish stops all writes before the handler returns.
func (t *sseTransport) finish() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}

func closeFrame(code int, reason string) []byte {
	b, _ := json.Marshal(wire.ServerFrame{Type: wire.FrameClose, Code: code, Reason: reason})
	return b
}

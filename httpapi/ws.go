package httpapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/wire"
)

// The WebSocket transport sits on github.com/gobwas/ws, a frame-level
// library, rather than on a connection object that writes one message per
// call (see docs/dependencies.md): every frame the hub has queued for a
// connection goes out in one writev(2), the bytes of an event frame are
// shared by all its recipients, and an idle connection holds one goroutine
// (its reader) and no buffers beyond a small read buffer.

const (
	closeGrace   = 5 * time.Second        // how long a server close waits for the client's close frame
	controlWrite = time.Second            // the write deadline of a control frame (pong, close)
	closeNow     = 100 * time.Millisecond // the write deadline of a close frame sent by Close itself
	readBuffer   = 512                    // bytes buffered per connection for reading client frames
)

// realtimeWS authenticates and checks the Origin before the upgrade, then
// reads hello, hands the connection to the hub and leaves the reading to a
// goroutine of its own: the HTTP server's goroutine returns, and its
// buffers and request with it.
func (s *Server) realtimeWS(w http.ResponseWriter, r *http.Request) error {
	meta := metaOf(r, wire.TransportWebSocket)
	if !isUpgrade(r) {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonProtocolError,
			"GET /realtime/ws is a WebSocket endpoint: send Connection: Upgrade and Upgrade: websocket")
	}
	tok, err := s.realtimeAuth(r, meta)
	if err != nil {
		return err
	}
	release, err := s.reserve(r.Context(), meta, tok.UserID)
	if err != nil {
		return err
	}
	opened := false
	defer func() {
		if !opened {
			release()
		}
	}()
	stream(w) // the hijacked connection would keep the read deadline
	nc, rw, _, err := ws.HTTPUpgrader{}.Upgrade(r, w)
	rec := recordOf(r)
	if err != nil {
		var rej *ws.ConnectionRejectedError
		if rec != nil && errors.As(err, &rej) && rej.StatusCode() != 0 {
			rec.Status = rej.StatusCode()
		}
		if nc != nil {
			nc.Close()
		}
		return nil // the upgrader has answered
	}
	if rec != nil {
		rec.Status = http.StatusSwitchingProtocols
	}
	t := newWSTransport(nc, rw.Reader)
	nc.SetReadDeadline(time.Now().Add(authTimeout))
	hello, code, reason := t.readFrame()
	nc.SetReadDeadline(time.Time{})
	if code == 0 && hello.Type != wire.FrameHello {
		code, reason = wire.CloseProtocolError, herald.ReasonProtocolError
	}
	if code != 0 {
		if reason == herald.ReasonConnectionLost && t.timedOut {
			code, reason = wire.CloseAuthTimeout, herald.ReasonAuthTimeout
		}
		s.cfg.Hub.Refuse(r.Context(), meta, tok.UserID, reason)
		t.Close(code, string(reason))
		return nil
	}
	conn, err := s.cfg.Hub.Open(r.Context(), tok, t, meta, hello)
	if errors.Is(err, hub.ErrUnsupportedVersion) {
		t.Close(wire.CloseUnsupportedVersion, string(herald.ReasonUnsupportedVersion))
		return nil
	}
	if err != nil {
		t.Close(wire.CloseResync, string(herald.ReasonResync))
		return nil
	}
	opened = true
	conn.AfterClose(release)
	go t.readLoop(conn)
	return nil
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// wsTransport is one server-side WebSocket on a hijacked TCP connection.
type wsTransport struct {
	nc net.Conn
	rd wsutil.Reader // owned by the reading goroutine

	// timedOut is set by the reader when a read failed on its deadline.
	timedOut bool

	mu       sync.Mutex // guards writes to nc, deadline and closing
	deadline time.Time  // the write deadline set on nc (wall clock: the kernel's)
	closing  bool       // a close frame went out: nothing more is written

	closeOnce sync.Once
	sent      chan struct{} // closed once Close has written its close frame (or failed to)
}

// newWSTransport reads from br while it holds bytes the client sent with
// its handshake, and from a small buffer of its own after that.
func newWSTransport(nc net.Conn, br interface {
	io.Reader
	Buffered() int
}) *wsTransport {
	t := &wsTransport{nc: nc, sent: make(chan struct{})}
	var src io.Reader = bufio.NewReaderSize(nc, readBuffer)
	if br != nil && br.Buffered() > 0 {
		src = io.MultiReader(io.LimitReader(br, int64(br.Buffered())), src)
	}
	t.rd = wsutil.Reader{Source: src, State: ws.StateServerSide, CheckUTF8: true,
		MaxMessageSize: wire.MaxFrameBytes, OnIntermediate: t.control}
	return t
}

// Write sends frames as text messages in one write: their headers are
// built here, their bytes (shared with every other recipient) are not
// copied. timeout bounds the write; the deadline is renewed only when less
// than half of it is left, so a busy connection does not reset a kernel
// timer for every batch, and a write always has at least timeout/2.
func (t *wsTransport) Write(frames [][]byte, timeout time.Duration) error {
	if len(frames) == 0 {
		return nil
	}
	// Each header is built in place in hdrs (WriteHeaderBuffer needs
	// MaxHeaderSize bytes of room, and uses at most that).
	hdrs := make([]byte, len(frames)*ws.MaxHeaderSize)
	bufs := make(net.Buffers, 0, 2*len(frames))
	var n counter
	off := 0
	for _, f := range frames {
		n = 0
		if err := ws.WriteHeaderBuffer(&n, ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(f))}, hdrs[off:]); err != nil {
			return err
		}
		end := off + int(n)
		bufs = append(bufs, hdrs[off:end:end], f)
		off = end
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return net.ErrClosed
	}
	t.renewDeadline(timeout)
	_, err := bufs.WriteTo(t.nc)
	if isTimeout(err) {
		return hub.ErrSlowConsumer
	}
	return err
}

// renewDeadline makes sure at least half of timeout is left for the next
// write. t.mu must be held.
func (t *wsTransport) renewDeadline(timeout time.Duration) {
	now := time.Now()
	if t.deadline.Sub(now) >= timeout/2 {
		return
	}
	t.deadline = now.Add(timeout)
	t.nc.SetWriteDeadline(t.deadline)
}

// Close sends the close frame and ends the connection when the client
// answers with its own, or after closeGrace. The frame goes out before
// Close returns when no write is in progress (a shutdown then sends it
// before the process exits); otherwise Close does not wait for it: a
// writer stuck on a slow client holds the socket until its deadline.
func (t *wsTransport) Close(code int, reason string) {
	t.closeOnce.Do(func() {
		send := func(timeout time.Duration) {
			defer close(t.sent)
			if !t.closing {
				t.closing = true
				t.deadline = time.Now().Add(timeout)
				t.nc.SetWriteDeadline(t.deadline)
				ws.WriteFrame(t.nc, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusCode(code), reason)))
			}
			t.mu.Unlock()
			time.AfterFunc(closeGrace, func() { t.nc.Close() })
		}
		if t.mu.TryLock() {
			send(closeNow) // a caller such as a shutdown closing every connection must not wait long on one
			return
		}
		go func() {
			t.mu.Lock()
			send(controlWrite)
		}()
	})
}

// control answers a control frame from the client: a pong for a ping, the
// close handshake for a close (wsutil.ClosedError then ends the reading).
func (t *wsTransport) control(h ws.Header, r io.Reader) error {
	return wsutil.ControlHandler{Src: r, Dst: controlWriter{t}, State: ws.StateServerSide, DisableSrcCiphering: true}.Handle(h)
}

// controlWriter writes one control frame per Write, between batches, and
// nothing once a close frame went out.
type controlWriter struct{ t *wsTransport }

func (w controlWriter) Write(p []byte) (int, error) {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return len(p), nil // the close handshake is under way: the echo is not needed
	}
	if len(p) > 0 && ws.OpCode(p[0]&0x0f) == ws.OpClose {
		t.closing = true
	}
	t.renewDeadline(controlWrite)
	return t.nc.Write(p)
}

// readLoop hands the client's frames to the hub until the connection ends,
// then closes the socket.
func (t *wsTransport) readLoop(conn *hub.Conn) {
	defer t.nc.Close()
	ctx := context.Background()
	for {
		f, code, reason := t.readFrame()
		switch {
		case code == 0:
			if err := conn.Receive(ctx, f); err != nil {
				conn.Close(herald.ReasonProtocolError, "server")
				t.drain()
				return
			}
			continue
		case reason == herald.ReasonConnectionLost:
			// The socket died. If the writer killed it (a write timed out:
			// slow consumer, or the server closed), let its reason win the
			// race to the log.
			select {
			case <-conn.Done():
			case <-time.After(200 * time.Millisecond):
				conn.CloseCode(code, reason, "client")
			}
		case reason == herald.ReasonClientClosed:
			conn.CloseCode(code, reason, "client")
		default:
			conn.CloseCode(code, reason, "server")
			t.drain()
		}
		return
	}
}

// drain waits for the close frame the server just sent to go out, then
// reads until the client's close frame answers it (or the grace period
// ends), so that the client sees our close frame rather than a reset.
func (t *wsTransport) drain() {
	<-t.sent
	t.nc.SetReadDeadline(time.Now().Add(closeGrace))
	t.rd.Discard() // the rest of the offending message, if any
	for {
		h, err := t.rd.NextFrame()
		if err != nil {
			return
		}
		if h.OpCode.IsControl() {
			if t.control(h, &t.rd) != nil {
				return // the client's close frame (or garbage)
			}
			continue
		}
		if t.rd.Discard() != nil {
			return
		}
	}
}

// readFrame reads one client frame, answering control frames on the way.
// A non-zero code says why there is none: the client closed (its code),
// the connection was lost (1006), or the frame breaks the protocol (1002,
// 1003, 1007, 1009, 4100).
func (t *wsTransport) readFrame() (wire.ClientFrame, int, herald.Reason) {
	var f wire.ClientFrame
	fail := func(err error) (wire.ClientFrame, int, herald.Reason) {
		code, reason := t.readError(err)
		return f, code, reason
	}
	for {
		h, err := t.rd.NextFrame()
		if err != nil {
			return fail(err)
		}
		if h.OpCode.IsControl() {
			if err := t.control(h, &t.rd); err != nil {
				return fail(err)
			}
			continue
		}
		if h.OpCode != ws.OpText {
			return f, wire.CloseUnsupportedData, herald.ReasonProtocolError
		}
		data, err := io.ReadAll(&t.rd)
		if err != nil {
			return fail(err)
		}
		if err := wire.Decode(data, &f); err != nil {
			return f, wire.CloseProtocolError, herald.ReasonProtocolError
		}
		return f, 0, ""
	}
}

// readError classifies a failed read.
func (t *wsTransport) readError(err error) (int, herald.Reason) {
	var closed wsutil.ClosedError
	var proto ws.ProtocolError
	switch {
	case errors.As(err, &closed):
		return int(closed.Code), herald.ReasonClientClosed
	case errors.Is(err, wsutil.ErrMessageTooLarge), errors.Is(err, wsutil.ErrFrameTooLarge):
		return wire.CloseMessageTooBig, herald.ReasonPayloadTooLarge
	case errors.Is(err, wsutil.ErrInvalidUTF8):
		return wire.CloseInvalidPayload, herald.ReasonInvalidUTF8
	case errors.As(err, &proto):
		return int(ws.StatusProtocolError), herald.ReasonProtocolError
	}
	t.timedOut = isTimeout(err)
	return wire.CloseConnectionLost, herald.ReasonConnectionLost
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// counter is an io.Writer that only counts: WriteHeaderBuffer has
// already put the header where it belongs.
type counter int

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

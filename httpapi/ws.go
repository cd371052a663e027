package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/wire"
)

// realtimeWS authenticates and checks the Origin before the upgrade, then
// reads hello and hands the connection to the hub.
func (s *Server) realtimeWS(w http.ResponseWriter, r *http.Request) error {
	meta := metaOf(r, wire.TransportWebSocket)
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
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the Origin was checked above, against our allowlist
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return nil // Accept has answered
	}
	if rec := recordOf(r); rec != nil {
		rec.Status = http.StatusSwitchingProtocols
	}
	ws.SetReadLimit(4 * wire.MaxFrameBytes) // larger frames are refused below with 1009 and logged
	t := &wsTransport{ws: ws}
	hctx, cancel := context.WithTimeout(r.Context(), authTimeout)
	hello, code, reason := readFrame(hctx, ws)
	cancel()
	if code == 0 && hello.Type != wire.FrameHello {
		code, reason = wire.CloseProtocolError, herald.ReasonProtocolError
	}
	if code != 0 {
		if hctx.Err() == context.DeadlineExceeded {
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
	releaseWhenDone(conn, release)
	for {
		f, code, reason := readFrame(r.Context(), ws)
		switch {
		case code == 0:
			if err := conn.Receive(r.Context(), f); err != nil {
				conn.Close(wire.CloseProtocolError, string(herald.ReasonProtocolError), "server")
				return nil
			}
			continue
		case reason == herald.ReasonConnectionLost:
			// The socket died. If the writer killed it (a write timed out:
			// slow consumer), let its reason win the race to the log.
			select {
			case <-conn.Done():
			case <-time.After(200 * time.Millisecond):
				conn.Close(code, string(reason), "client")
			}
		case reason == herald.ReasonClientClosed:
			conn.Close(code, string(reason), "client")
		default:
			conn.Close(code, string(reason), "server")
		}
		return nil
	}
}

// readFrame reads one client frame. A non-zero code says why there is
// none: the client closed (its code), the connection was lost (1006), or
// the frame breaks the protocol (1003, 1007, 1009, 4100).
func readFrame(ctx context.Context, ws *websocket.Conn) (wire.ClientFrame, int, herald.Reason) {
	var f wire.ClientFrame
	typ, data, err := ws.Read(ctx)
	if err != nil {
		if st := websocket.CloseStatus(err); st != -1 {
			return f, int(st), herald.ReasonClientClosed
		}
		return f, 1006, herald.ReasonConnectionLost
	}
	switch {
	case typ != websocket.MessageText:
		return f, wire.CloseUnsupportedData, herald.ReasonProtocolError
	case len(data) > wire.MaxFrameBytes:
		return f, wire.CloseMessageTooBig, herald.ReasonPayloadTooLarge
	case !utf8.Valid(data):
		return f, wire.CloseInvalidPayload, herald.ReasonInvalidUTF8
	}
	if err := wire.Decode(data, &f); err != nil {
		return f, wire.CloseProtocolError, herald.ReasonProtocolError
	}
	return f, 0, ""
}

// wsTransport writes frames as WebSocket text messages.
type wsTransport struct{ ws *websocket.Conn }

func (t *wsTransport) Write(ctx context.Context, frames [][]byte) error {
	for _, f := range frames {
		if err := t.ws.Write(ctx, websocket.MessageText, f); err != nil {
			if ctx.Err() == context.DeadlineExceeded {
				return hub.ErrSlowConsumer
			}
			return err
		}
	}
	return nil
}

// Close sends the close frame without waiting for the handshake (the read
// loop sees the end and returns).
func (t *wsTransport) Close(code int, reason string) {
	go t.ws.Close(websocket.StatusCode(code), reason)
}

package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/herald-chat/herald/wire"
)

// stream is one lightweight real-time connection of the load
// generator: it hands back raw frames and parses nothing it need not.
// next is called from one goroutine; close from any.
type stream interface {
	// next returns the next frame; the slice is valid until the next call.
	// When the connection ends it returns a *closedError or the read error.
	next() ([]byte, error)
	// pong answers a server ping.
	pong() error
	close()
}

// closedError is how the server ended a stream: a WebSocket close frame
// or an SSE close frame.
type closedError struct {
	Code   int
	Reason string
}

func (e *closedError) Error() string { return fmt.Sprintf("closed with %d %s", e.Code, e.Reason) }

// helloFrame is the first frame of every bench connection: protocol 1, live
// from each thread's head, handling messages only.
var helloFrame = mustJSON(wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion, Handles: []string{"chatMessageReceived"}})

var pongFrame = mustJSON(wire.ClientFrame{Type: wire.FramePong})

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// dialStream opens a stream of the given transport as the holder of token.
func dialStream(ctx context.Context, transport string, base *url.URL, hc *http.Client, token string) (stream, error) {
	if transport == wire.TransportSSE {
		return dialSSE(ctx, base, hc, token)
	}
	return dialWS(ctx, base, token)
}

// --- WebSocket: a minimal RFC 6455 client, enough for Herald's frames ---

type wsStream struct {
	c   net.Conn
	r   *bufio.Reader
	buf []byte // the current message, reused
	hdr [14]byte
}

// dialWS opens GET /realtime/ws with the token as bearer and sends hello.
func dialWS(ctx context.Context, base *url.URL, token string) (*wsStream, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", hostPort(base))
	if err != nil {
		return nil, err
	}
	if deliveriesInt, ok := ctx.Deadline(); ok {
		c.SetDeadline(deliveriesInt)
	}
	var raw [16]byte
	rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	req := fmt.Sprintf("GET %s/realtime/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\nUser-Agent: %s\r\n\r\n",
		strings.TrimSuffix(base.EscapedPath(), "/"), base.Host, key, token, userAgent)
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	s := &wsStream{c: c, r: bufio.NewReaderSize(c, 4096)}
	resp, err := http.ReadResponse(s.r, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		c.Close()
		return nil, errors.New("websocket handshake: wrong Sec-WebSocket-Accept")
	}
	if err := s.write(0x1, helloFrame); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return s, nil
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// write sends one masked frame with FIN set.
func (s *wsStream) write(op byte, p []byte) error {
	b := make([]byte, 0, 14+len(p))
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	b = append(b, mask[:]...)
	for i, c := range p {
		b = append(b, c^mask[i&3])
	}
	_, err := s.c.Write(b)
	return err
}

// next reads frames until a whole text message, answering WebSocket pings.
func (s *wsStream) next() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		h := s.hdr[:2]
		if _, err := io.ReadFull(s.r, h); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		if h[1]&0x80 != 0 {
			return nil, errors.New("websocket: masked frame from the server")
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(s.r, s.hdr[2:4]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(s.hdr[2:4]))
		case 127:
			if _, err := io.ReadFull(s.r, s.hdr[2:10]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(s.hdr[2:10])
		}
		if n > 16<<20 {
			return nil, fmt.Errorf("websocket: a frame of %d bytes", n)
		}
		start := len(s.buf)
		s.buf = slices.Grow(s.buf, int(n))[:start+int(n)]
		if _, err := io.ReadFull(s.r, s.buf[start:]); err != nil {
			return nil, err
		}
		switch op {
		case 0x8: // close
			p := s.buf[start:]
			e := &closedError{Code: 1005}
			if len(p) >= 2 {
				e.Code, e.Reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
			}
			s.write(0x8, p[:min(len(p), 2)])
			return nil, e
		case 0x9: // ping
			if err := s.write(0xA, s.buf[start:]); err != nil {
				return nil, err
			}
			s.buf = s.buf[:start]
			continue
		case 0xA: // pong
			s.buf = s.buf[:start]
			continue
		}
		if fin {
			return s.buf, nil
		}
	}
}

func (s *wsStream) pong() error { return s.write(0x1, pongFrame) }

func (s *wsStream) close() { s.c.Close() }

// --- Server-Sent Events ---

type sseStream struct {
	base  *url.URL
	hc    *http.Client
	token string
	body  io.ReadCloser
	r     *bufio.Reader
	id    string // connection id and key, from welcome: for POSTed frames
	key   string
	buf   []byte
}

// dialSSE opens POST /realtime/sse with hello as the body.
func dialSSE(ctx context.Context, base *url.URL, hc *http.Client, token string) (*sseStream, error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost,
		strings.TrimSuffix(base.String(), "/")+"/realtime/sse", bytes.NewReader(helloFrame))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", userAgent)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		return nil, fmt.Errorf("open SSE: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return &sseStream{base: base, hc: hc, token: token, body: resp.Body, r: bufio.NewReaderSize(resp.Body, 4096)}, nil
}

// next returns the data of the next event; it remembers the connection id
// and key from welcome, and turns a close frame into *closedError.
func (s *sseStream) next() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		line, err := s.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			s.buf = append(s.buf, line...)
			continue
		}
		if err != nil {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if len(s.buf) == 0 {
				continue
			}
			return s.frame()
		}
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			s.buf = append(s.buf, bytes.TrimPrefix(d, []byte(" "))...)
		}
	}
}

func (s *sseStream) frame() ([]byte, error) {
	f := s.buf
	switch {
	case bytes.HasPrefix(f, []byte(`{"type":"welcome"`)):
		var w wire.ServerFrame
		if err := json.Unmarshal(f, &w); err == nil {
			s.id, s.key = w.ConnectionID, w.ConnectionKey
		}
	case bytes.HasPrefix(f, []byte(`{"type":"close"`)):
		var c wire.ServerFrame
		json.Unmarshal(f, &c)
		return nil, &closedError{Code: c.Code, Reason: c.Reason}
	}
	return f, nil
}

// pong POSTs a pong frame for the connection.
func (s *sseStream) pong() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimSuffix(s.base.String(), "/")+"/realtime/connections/"+url.PathEscape(s.id)+"/frames", bytes.NewReader(pongFrame))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(wire.HeaderConnectionKey, s.key)
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("pong: %s", resp.Status)
	}
	return nil
}

func (s *sseStream) close() { s.body.Close() }

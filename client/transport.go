package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/coder/websocket"

	"github.com/herald-chat/herald/wire"
)

// headerConnectionKey carries welcome.connectionKey on the frames POSTed
// for SSE and long-polling, and on long-poll GETs.
const headerConnectionKey = wire.HeaderConnectionKey

// link is one open real-time connection, whatever the transport. One
// goroutine calls recv; send and close may be called from any goroutine.
type link interface {
	// recv returns the next frame from the server. When the connection
	// ends it returns a *CloseError (the server's close frame, or a close
	// frame of SSE and long-polling), a *herald.Error (an HTTP refusal of a
	// poll) or the network error.
	recv(ctx context.Context) (wire.ServerFrame, error)
	// send sends one frame to the server.
	send(ctx context.Context, f wire.ClientFrame) error
	// close ends the connection, telling the server code and reason where
	// the transport can; code 0 drops it without a goodbye.
	close(code int, reason string)
}

// dialer opens a link as the holder of token and sends hello on it; the
// first frame recv returns answers the hello. alive is called whenever the
// transport hears from the server without a frame to show for it (an empty
// long-poll answer).
type dialer func(ctx context.Context, token string, hello wire.ClientFrame, alive func()) (link, error)

// errMalformed marks a frame from the server the client cannot read; the
// connection is dropped and opened again.
var errMalformed = errors.New("herald: malformed frame from the server")

func decodeFrame(data []byte) (wire.ServerFrame, error) {
	var f wire.ServerFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if f.Type == "" {
		return f, fmt.Errorf("%w: no type", errMalformed)
	}
	return f, nil
}

// --- WebSocket ---

type wsLink struct {
	c *websocket.Conn
}

// dialWebSocket opens GET /realtime/ws with the token as bearer.
func (c *conn) dialWebSocket(ctx context.Context, token string, hello wire.ClientFrame, _ func()) (link, error) {
	if c.baseErr != nil {
		return nil, c.baseErr
	}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if c.userAgent != "" {
		h.Set("User-Agent", c.userAgent)
	}
	ws, resp, err := websocket.Dial(ctx, c.base.String()+"/realtime/ws", &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != 0 {
			var body []byte
			if resp.Body != nil {
				body, _ = io.ReadAll(resp.Body)
			}
			return nil, responseError(resp, body, c.clock.Now())
		}
		return nil, fmt.Errorf("herald: open WebSocket: %w", err)
	}
	ws.SetReadLimit(MaxResponseBytes)
	l := &wsLink{c: ws}
	if err := l.send(ctx, hello); err != nil {
		ws.CloseNow()
		return nil, err
	}
	return l, nil
}

func (l *wsLink) recv(ctx context.Context) (wire.ServerFrame, error) {
	typ, data, err := l.c.Read(ctx)
	if err != nil {
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return wire.ServerFrame{}, &CloseError{Code: int(ce.Code), Reason: ce.Reason}
		}
		return wire.ServerFrame{}, fmt.Errorf("herald: read frame: %w", err)
	}
	if typ != websocket.MessageText {
		return wire.ServerFrame{}, fmt.Errorf("%w: a binary message", errMalformed)
	}
	return decodeFrame(data)
}

func (l *wsLink) send(ctx context.Context, f wire.ClientFrame) error {
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("herald: encode %s frame: %w", f.Type, err)
	}
	if err := l.c.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("herald: send %s frame: %w", f.Type, err)
	}
	return nil
}

func (l *wsLink) close(code int, reason string) {
	if code == 0 {
		l.c.CloseNow()
		return
	}
	l.c.Close(websocket.StatusCode(code), reason)
}

// --- SSE and long-polling: frames go up by POST ---

// upstream POSTs client frames to /realtime/connections/{id}/frames, once
// the welcome has said which connection and key.
type upstream struct {
	c *conn

	mu  sync.Mutex // guards id and key
	id  string
	key string
}

// learn records the connection id and key of a welcome.
func (u *upstream) learn(f wire.ServerFrame) {
	if f.Type != wire.FrameWelcome {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.id, u.key = f.ConnectionID, f.ConnectionKey
}

func (u *upstream) connection() (id, key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.id, u.key
}

func (u *upstream) send(ctx context.Context, f wire.ClientFrame) error {
	id, key := u.connection()
	if id == "" {
		return fmt.Errorf("herald: send %s frame: no welcome yet", f.Type)
	}
	s, err := segment("connectionId", id)
	r := request{method: http.MethodPost, path: "/realtime/connections/" + s + "/frames", body: f, err: err,
		header: http.Header{headerConnectionKey: {key}}}
	if err := u.c.do(ctx, r, nil); err != nil {
		return fmt.Errorf("herald: send %s frame: %w", f.Type, err)
	}
	return nil
}

// lifetime returns a context for requests that outlive the dial: it is
// cancelled by the returned cancel, and by ctx until stop is called.
func lifetime(ctx context.Context) (life context.Context, cancel context.CancelFunc, stop func() bool) {
	life, cancel = context.WithCancel(context.WithoutCancel(ctx))
	stop = context.AfterFunc(ctx, cancel)
	return life, cancel, stop
}

// --- Server-Sent Events ---

type sseLink struct {
	upstream
	resp   *http.Response
	lines  *bufio.Scanner
	cancel context.CancelFunc // ends the stream
	closed *CloseError        // the close frame, once received
}

// dialSSE POSTs hello to /realtime/sse and keeps the event stream open.
func (c *conn) dialSSE(ctx context.Context, _ string, hello wire.ClientFrame, _ func()) (link, error) {
	life, cancel, stop := lifetime(ctx)
	req, err := c.newRequest(life, request{method: http.MethodPost, path: "/realtime/sse", body: hello})
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.http.Do(req)
	stop()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("herald: open SSE stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		body, _ := readCapped(resp.Body)
		return nil, responseError(resp, body, c.clock.Now())
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("%w: the SSE answer is %q, not text/event-stream", errMalformed, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 0, 64<<10), MaxResponseBytes)
	return &sseLink{upstream: upstream{c: c}, resp: resp, lines: lines, cancel: cancel}, nil
}

// recv reads one event of the stream: "data:" lines up to a blank line.
// Comments, event names and ids are skipped.
func (l *sseLink) recv(context.Context) (wire.ServerFrame, error) {
	if l.closed != nil {
		return wire.ServerFrame{}, l.closed
	}
	var data bytes.Buffer
	for l.lines.Scan() {
		line := l.lines.Bytes()
		if len(line) == 0 {
			if data.Len() == 0 {
				continue
			}
			f, err := decodeFrame(data.Bytes())
			if err != nil {
				return f, err
			}
			l.learn(f)
			if f.Type == wire.FrameClose {
				l.closed = &CloseError{Code: f.Code, Reason: f.Reason}
				l.close(0, "")
				return wire.ServerFrame{}, l.closed
			}
			return f, nil
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if string(field) != "data" {
			continue
		}
		if data.Len() > 0 {
			data.WriteByte('\n')
		}
		data.Write(bytes.TrimPrefix(value, []byte(" ")))
	}
	if err := l.lines.Err(); err != nil {
		return wire.ServerFrame{}, fmt.Errorf("herald: read SSE stream: %w", err)
	}
	return wire.ServerFrame{}, fmt.Errorf("herald: read SSE stream: %w", io.ErrUnexpectedEOF)
}

// close ends the stream; SSE has no way to send a close code.
func (l *sseLink) close(int, string) {
	l.cancel()
	l.resp.Body.Close()
}

// --- Long-polling ---

type pollLink struct {
	upstream
	life   context.Context // polls run in it; cancelled by close
	cancel context.CancelFunc
	alive  func()
	queue  []wire.ServerFrame // received, not yet returned by recv
	closed *CloseError        // the close frame, once received
}

// dialLongPoll POSTs hello to /realtime/longpoll; the answer holds the
// welcome and whatever followed it.
func (c *conn) dialLongPoll(ctx context.Context, _ string, hello wire.ClientFrame, alive func()) (link, error) {
	frames, err := c.poll(ctx, request{method: http.MethodPost, path: "/realtime/longpoll", body: hello})
	if err != nil {
		return nil, err
	}
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &pollLink{upstream: upstream{c: c}, life: life, cancel: cancel, alive: alive, queue: frames}
	if len(l.queue) == 0 || l.queue[0].Type != wire.FrameWelcome {
		cancel()
		return nil, fmt.Errorf("%w: the long-poll open did not start with welcome", errMalformed)
	}
	return l, nil
}

// recv returns the next queued frame, polling
// GET /realtime/longpoll/{id} while there is none.
func (l *pollLink) recv(context.Context) (wire.ServerFrame, error) {
	for len(l.queue) == 0 {
		if l.closed != nil {
			return wire.ServerFrame{}, l.closed
		}
		id, key := l.connection()
		s, err := segment("connectionId", id)
		r := request{method: http.MethodGet, path: "/realtime/longpoll/" + s, err: err,
			header: http.Header{headerConnectionKey: {key}}}
		frames, err := l.c.poll(l.life, r)
		if err != nil {
			return wire.ServerFrame{}, fmt.Errorf("herald: poll: %w", err)
		}
		if l.alive != nil {
			l.alive()
		}
		l.queue = frames
	}
	f := l.queue[0]
	l.queue = l.queue[1:]
	if f.Type == "" {
		return f, fmt.Errorf("%w: no type", errMalformed)
	}
	l.learn(f)
	if f.Type == wire.FrameClose {
		l.closed = &CloseError{Code: f.Code, Reason: f.Reason}
		l.queue = nil
		l.cancel()
		return wire.ServerFrame{}, l.closed
	}
	return f, nil
}

// close stops polling; long-polling has no way to send a close code.
func (l *pollLink) close(int, string) { l.cancel() }

// maxPollAnswer bounds one long-poll answer. It is larger than
// MaxResponseBytes because the server hands over everything buffered since
// the last poll (a whole replay after a reconnect), and an answer refused
// for its size would be asked for again, and again.
const maxPollAnswer = 256 << 20

// poll sends a long-poll request and decodes the array of frames it
// answers.
func (c *conn) poll(ctx context.Context, r request) ([]wire.ServerFrame, error) {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("herald: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := readCapped(resp.Body)
		return nil, responseError(resp, body, c.clock.Now())
	}
	var frames []wire.ServerFrame
	body := io.LimitReader(resp.Body, maxPollAnswer+1)
	if err := json.NewDecoder(body).Decode(&frames); err != nil {
		return nil, fmt.Errorf("%w: long-poll answer: %v", errMalformed, err)
	}
	return frames, nil
}

// transportDialer returns the dialer of a transport name, or an error
// naming the valid ones.
func (c *conn) transportDialer(transport string) (dialer, error) {
	switch strings.ToLower(transport) {
	case "", wire.TransportWebSocket:
		return c.dialWebSocket, nil
	case wire.TransportSSE:
		return c.dialSSE, nil
	case wire.TransportLongPoll:
		return c.dialLongPoll, nil
	}
	return nil, fmt.Errorf("herald: unknown transport %q: want %s, %s or %s", transport,
		wire.TransportWebSocket, wire.TransportSSE, wire.TransportLongPoll)
}

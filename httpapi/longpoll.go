package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/wire"
)

// maxPollBuffer bounds the frames a long-polling connection holds between
// polls; past it the client is a slow consumer.
const maxPollBuffer = 10000

// longPollOpen opens a long-polling connection and answers with the first
// frames (welcome first).
func (s *Server) longPollOpen(w http.ResponseWriter, r *http.Request) error {
	meta := metaOf(r, wire.TransportLongPoll)
	tok, hello, release, err := s.admitStream(w, r, meta)
	if err != nil {
		return err
	}
	t := &pollTransport{ready: make(chan struct{}, 1)}
	conn, err := s.cfg.Hub.Open(detached(r), tok, t, meta, hello)
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
	s.sweepPolls()
	s.polls.Store(conn.ID(), &pollSession{conn: conn, t: t})
	frames, _ := t.take(r.Context(), 5*time.Second)
	writeFrames(w, frames)
	return nil
}

// pollSession outlives its connection until the client has taken the
// close frame (or a minute has passed).
type pollSession struct {
	conn *hub.Conn
	t    *pollTransport
}

// sweepPolls forgets sessions closed more than a minute ago.
func (s *Server) sweepPolls() {
	s.polls.Range(func(k, v any) bool {
		if ps := v.(*pollSession); ps.t.closedBefore(time.Now().Add(-time.Minute)) {
			s.polls.Delete(k)
		}
		return true
	})
}

// longPoll answers with the frames written since the last poll, waiting up
// to pollWait for some. A connection of another node is polled there,
// through the relay.
func (s *Server) longPoll(w http.ResponseWriter, r *http.Request) error {
	id := herald.ConnectionID(r.PathValue("connectionId"))
	key := r.Header.Get(HeaderConnectionKey)
	if s.remote(id) {
		stream(w)
		frames, err := s.relayPoll(r.Context(), id, key)
		if err != nil {
			return err
		}
		writeFrames(w, frames)
		return nil
	}
	frames, err := s.pollLocal(r.Context(), id, key, func(u herald.UserID) {
		if rec := recordOf(r); rec != nil {
			rec.Caller = u
		}
		stream(w)
	})
	if err != nil {
		return err
	}
	writeFrames(w, frames)
	return nil
}

// pollLocal takes the frames of this node's long-polling connection id,
// waiting up to pollWait; found is called once the connection and its key
// are known good.
func (s *Server) pollLocal(ctx context.Context, id herald.ConnectionID, key string, found func(herald.UserID)) ([][]byte, error) {
	v, ok := s.polls.Load(id)
	if !ok || subtle.ConstantTimeCompare([]byte(key), []byte(v.(*pollSession).conn.Key())) != 1 {
		return nil, herald.Errorf(herald.CodeNotFound, herald.ReasonConnectionNotFound,
			"no long-polling connection %s with that key; open a new one", id).WithTarget(string(id))
	}
	ps := v.(*pollSession)
	if found != nil {
		found(ps.conn.User())
	}
	ps.conn.Heard()
	frames, closed := ps.t.take(ctx, pollWait)
	if closed && len(frames) == 0 {
		s.polls.Delete(id)
		return nil, herald.Errorf(herald.CodeNotFound, herald.ReasonConnectionNotFound, "the connection %s is closed; open a new one", id).WithTarget(string(id))
	}
	return frames, nil
}

func writeFrames(w http.ResponseWriter, frames [][]byte) {
	raw := make([]json.RawMessage, len(frames))
	for i, f := range frames {
		raw[i] = f
	}
	writeJSON(w, http.StatusOK, raw)
}

// pollTransport buffers frames until the next poll takes them.
type pollTransport struct {
	mu       sync.Mutex // guards frames, closed and closedAt
	frames   [][]byte
	closed   bool
	closedAt time.Time
	ready    chan struct{}
}

func (t *pollTransport) closedBefore(at time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed && t.closedAt.Before(at)
}

func (t *pollTransport) Write(frames [][]byte, _ time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("longpoll: closed")
	}
	if len(t.frames)+len(frames) > maxPollBuffer {
		return hub.ErrSlowConsumer
	}
	t.frames = append(t.frames, frames...)
	t.signal()
	return nil
}

func (t *pollTransport) Close(code int, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.frames = append(t.frames, closeFrame(code, reason))
	t.closed, t.closedAt = true, time.Now()
	t.signal()
}

func (t *pollTransport) signal() {
	select {
	case t.ready <- struct{}{}:
	default:
	}
}

// take waits up to wait for frames and returns all buffered ones, and
// whether the transport is closed.
func (t *pollTransport) take(ctx context.Context, wait time.Duration) ([][]byte, bool) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		t.mu.Lock()
		out, closed := t.frames, t.closed
		t.frames = nil
		t.mu.Unlock()
		if len(out) > 0 || closed {
			return out, closed
		}
		select {
		case <-t.ready:
		case <-timer.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

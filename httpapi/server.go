package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/webhook"
	"github.com/herald-chat/herald/wire"
)

// Config configures the HTTP edge.
type Config struct {
	// AdminKey authorizes the identity endpoints. It or AdminKeyHash is
	// required.
	AdminKey string
	// AdminKeyHash is herald.HashAdminKey of the admin key, for a node
	// that knows only the hash its deployment stored.
	AdminKeyHash string
	// Doctor answers the /admin/doctor endpoints. Required: cmd/herald
	// wires it (doctor.New over the same store and clock).
	Doctor *doctor.Doctor
	// Keys, if set, serves the JWKS and the signing-key admin endpoints.
	Keys KeyRing
	// Webhooks, if set, serves the webhook subscription endpoints.
	Webhooks *webhook.Dispatcher
	// Relay and Route, when both are set, let SSE frames and long-polls
	// reach any node: Route is this node's (the hub's Config.Route), and
	// requests for another route's connections are relayed (relay.go).
	Relay herald.Relay
	Route string
	// MaxBodyBytes bounds every request body (default 512 KiB).
	MaxBodyBytes int64
	// Logger receives errors; nil discards.
	Logger *slog.Logger
	// Hub, if set, serves the real-time endpoints.
	Hub *hub.Hub
	// AllowedOrigins may open real-time connections from a browser
	// (exact scheme://host[:port]); same-origin pages always may.
	AllowedOrigins []string
	// DevLogin enables POST /dev/login, which creates identities for
	// anyone who asks: development only (herald serve --dev-login).
	DevLogin bool
	// ReadTimeout bounds the time to read a request's body, from the end of
	// its headers (default 30 s). A body that trickles in slower is answered
	// 400 body_timeout. Real-time streams are exempt once their hello has
	// been read.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time to write a REST answer (default 60 s).
	// Real-time streams (WebSocket, SSE, long-poll waits) are exempt; their
	// transports set a deadline per write.
	WriteTimeout time.Duration
	// MaxConnectionsPerUser bounds each user's open real-time connections
	// on this node (default 100); more are refused before the upgrade with
	// 429 too_many_connections.
	MaxConnectionsPerUser int
	// RequestLogQueue is how many request-log rows wait for the writer
	// before requests wait for room (default 4096).
	RequestLogQueue int
	// Observer receives a count of every request by operation, status and
	// reason, and the causes the doctor confirms; nil records nothing.
	Observer herald.Observer
	// Tracer, when set, records a server span per request (continuing a
	// caller's traceparent), named after its operation; nil records
	// nothing.
	Tracer trace.TracerProvider
	// Metrics, if set, answers GET /metrics (outside the request log).
	Metrics http.Handler
	// Checks are what GET /readyz asks, in order: the store and the broker.
	Checks []Check
}

// Server serves the REST API.
type Server struct {
	svc     *service.Service
	store   herald.Store
	clock   herald.Clock
	ids     herald.IDs
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	reqlog  chan herald.Request
	logMu   sync.RWMutex // guards logDone: no send on reqlog after Close
	logDone bool
	// lost counts request-log rows the store refused to write, and
	// lostSince is when the first was lost. lostMu guards lostSince; it is
	// not logMu, which senders hold while they wait for room.
	lost      atomic.Int64
	lostMu    sync.Mutex
	lostSince time.Time
	doctor    *doctor.Doctor
	polls     sync.Map // herald.ConnectionID → *pollSession
	stopRelay func()
	conns     userConns
	done      chan struct{}
	closing   sync.Once
	obs       herald.Observer // cfg.Observer, or NoObserver
	tracer    trace.Tracer    // from cfg.Tracer; nil when tracing is off
	draining  atomic.Bool     // Drain was called: /readyz answers 503
}

// New returns a Server. Close it to flush the request log.
func New(svc *service.Service, store herald.Store, clock herald.Clock, ids herald.IDs, cfg Config) (*Server, error) {
	if cfg.AdminKeyHash == "" && cfg.AdminKey != "" {
		cfg.AdminKeyHash = herald.HashAdminKey(cfg.AdminKey)
	}
	if cfg.AdminKeyHash == "" {
		return nil, errors.New("httpapi.New: an admin key is required")
	}
	if cfg.Doctor == nil {
		return nil, errors.New("httpapi.New: a doctor is required (doctor.New)")
	}
	for _, o := range cfg.AllowedOrigins {
		if _, ok := canonicalOrigin(o); !ok {
			return nil, fmt.Errorf("httpapi.New: allowed origin %q is not an http(s) origin: want scheme://host[:port], no path", o)
		}
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 512 << 10
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 60 * time.Second
	}
	if cfg.MaxConnectionsPerUser <= 0 {
		cfg.MaxConnectionsPerUser = 100
	}
	if cfg.RequestLogQueue <= 0 {
		cfg.RequestLogQueue = 4096
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	obs := cfg.Observer
	if obs == nil {
		obs = herald.NoObserver{}
	}
	s := &Server{svc: svc, store: store, clock: clock, ids: ids, cfg: cfg, log: log, obs: obs,
		mux: http.NewServeMux(), reqlog: make(chan herald.Request, cfg.RequestLogQueue), done: make(chan struct{}),
		conns: userConns{n: map[herald.UserID]int{}}, doctor: cfg.Doctor}
	if cfg.Tracer != nil {
		s.tracer = cfg.Tracer.Tracer("github.com/herald-chat/herald/httpapi")
	}
	s.routes()
	stop, err := s.serveRelay()
	if err != nil {
		return nil, err
	}
	s.stopRelay = stop
	go s.writeRequests()
	return s, nil
}

// Close stops taking request-log rows and writes those still queued.
func (s *Server) Close() error {
	s.closing.Do(func() {
		s.stopRelay()
		s.logMu.Lock()
		s.logDone = true
		close(s.reqlog)
		s.logMu.Unlock()
	})
	<-s.done
	return nil
}

// route registers a handler under an operation name for the request log.
func (s *Server) route(pattern, op string, h func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		for _, name := range []string{"userId", "threadId", "messageId", "connectionId"} {
			if v := r.PathValue(name); !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				s.writeError(w, r, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "%s is not valid UTF-8 text", name).WithTarget(name))
				return
			}
		}
		q := query{r: r}
		if q.apiVersion(); q.err != nil {
			s.writeError(w, r, q.err)
			return
		}
		if rec := recordOf(r); rec != nil {
			rec.Operation = op
			rec.ThreadID = herald.ThreadID(r.PathValue("threadId"))
			rec.MessageID = herald.MessageID(r.PathValue("messageId"))
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

type recordKey struct{}

// recordOf returns the request-log row being filled for r, if any.
func recordOf(r *http.Request) *herald.Request {
	rec, _ := r.Context().Value(recordKey{}).(*herald.Request)
	return rec
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController and the WebSocket upgrade reach the
// underlying writer (Flush, Hijack, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP records every call in the request log and answers unknown
// routes and methods with the JSON error shape.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.probe(w, r) {
		return
	}
	start := time.Now()
	rec := &herald.Request{At: s.clock.Now(), RequestID: r.Header.Get(wire.HeaderRequestID)}
	if rec.RequestID == "" || len(rec.RequestID) > 64 {
		rec.RequestID = s.ids.New(herald.PrefixRequest)
	}
	w.Header().Set(wire.HeaderRequestID, rec.RequestID)
	r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
	sw := &statusWriter{ResponseWriter: w}
	_, pattern := s.mux.Handler(r)
	if s.tracer != nil {
		var span trace.Span
		r, span = s.startSpan(r, pattern)
		defer func() { endRequestSpan(span, pattern, rec) }()
	}
	s.deadlines(w, r, pattern)
	if pattern == "" {
		s.unrouted(sw, r)
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	if sw.status != 0 || rec.Status == 0 {
		rec.Status = sw.status // a hijacked WebSocket keeps the 101 its handler set
	}
	rec.Duration = time.Since(start)
	s.obs.Request(rec.Operation, rec.Status, rec.Reason, rec.Duration)
	// The access log: the path, never the query (it may carry a ticket),
	// and never a header (they carry tokens and the admin key).
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", rec.RequestID),
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("operation", rec.Operation),
		slog.Int("status", rec.Status), slog.String("reason", string(rec.Reason)), slog.Duration("duration", rec.Duration))
	s.logMu.RLock()
	defer s.logMu.RUnlock()
	if s.logDone {
		return // a hijacked connection outlived Close
	}
	// Evidence is never dropped for lack of room: when the writer falls
	// behind (a burst), the request waits here, before its connection is
	// free for the next one. That is the back-pressure.
	s.reqlog <- *rec
}

// longLived are the routes whose answer is a stream or a wait: they get a
// read deadline for their hello only (the handler lifts it with stream),
// and no write deadline.
var longLived = map[string]bool{
	"GET /realtime/ws":                      true,
	"GET /realtime/sse":                     true,
	"POST /realtime/sse":                    true,
	"POST /realtime/longpoll":               true,
	"GET /realtime/longpoll/{connectionId}": true,
}

// deadlines bounds the time the connection may take to deliver the body and
// to take the answer, so that a client trickling bytes cannot hold it (nor
// a goroutine) forever. They are network deadlines, in wall-clock time:
// the injected clock governs what Herald decides, not how long a socket
// may stall.
//
// The read deadline is set only on a request with a body: without one, net/http
// is already reading ahead in the background (to notice the client leave),
// and a deadline there would cancel the request's context instead. Once a
// body has been read to its end, net/http lifts the deadline itself.
func (s *Server) deadlines(w http.ResponseWriter, r *http.Request, pattern string) {
	rc := http.NewResponseController(w)
	now := time.Now()
	if r.ContentLength != 0 { // -1: chunked, length unknown
		rc.SetReadDeadline(now.Add(s.cfg.ReadTimeout)) // ErrNotSupported (a test recorder) leaves it unbounded
	}
	if !longLived[pattern] {
		rc.SetWriteDeadline(now.Add(s.cfg.WriteTimeout))
	}
}

// stream lifts the read deadline of a long-lived route once its request has
// been read: the connection then lives as long as the stream, watched by
// the hub's heartbeats. (net/http lifts it too when a body is read to its
// end; this keeps the rule where the stream starts, whatever the body.)
func stream(w http.ResponseWriter) {
	http.NewResponseController(w).SetReadDeadline(time.Time{})
}

// unrouted answers a request no pattern matches: 405 if the path exists
// with another method, else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	probe := httptest.NewRecorder()
	s.mux.ServeHTTP(probe, r)
	recordOf(r).Operation = "Unrouted"
	if probe.Code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.Header().Get("Allow"))
		s.writeError(w, r, herald.Errorf(herald.CodeMethodNotAllowed, herald.ReasonMethodNotAllowed,
			"%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, probe.Header().Get("Allow")))
		return
	}
	s.writeError(w, r, herald.Errorf(herald.CodeNotFound, herald.ReasonRouteNotFound, "no operation at %s %s", r.Method, r.URL.Path))
}

// writeRequests drains the request-log queue into the store.
func (s *Server) writeRequests() {
	defer close(s.done)
	for rec := range s.reqlog {
		// Take what else is queued: one commit for the batch, not one per
		// request (the log shares SQLite's single writer with sends).
		batch := []herald.Request{rec}
	more:
		for len(batch) < 512 {
			select {
			case r, ok := <-s.reqlog:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		if err := s.store.LogRequests(context.Background(), batch); err != nil {
			s.lostMu.Lock()
			if s.lost.Load() == 0 {
				s.lostSince = s.clock.Now()
			}
			s.lost.Add(int64(len(batch)))
			s.lostMu.Unlock()
			s.obs.StoreError("request_log")
			s.log.Error("request log: rows lost", "table", "Requests", "rows", len(batch), "lost in all", s.lost.Load(), "err", err)
		}
	}
}

// LostRequestRows returns how many request-log rows the store failed to
// write on this node, and since when (zero if none).
func (s *Server) LostRequestRows() (int64, time.Time) {
	s.lostMu.Lock()
	defer s.lostMu.Unlock()
	return s.lost.Load(), s.lostSince
}

// user authenticates the caller's bearer token.
func (s *Server) user(r *http.Request) (service.Caller, error) {
	if err := s.svc.CheckAuthFailures(clientAddr(r)); err != nil {
		return service.Caller{}, err
	}
	c, err := s.svc.Authenticate(r.Context(), bearer(r))
	s.svc.AuthFailed(clientAddr(r), err)
	if rec := recordOf(r); rec != nil {
		rec.Caller, rec.TokenID = c.User, c.Token.ID // also on refusal: whose token was refused is evidence
	}
	return c, err
}

// admin checks the admin key.
func (s *Server) admin(r *http.Request) error {
	if err := s.svc.CheckAuthFailures(clientAddr(r)); err != nil {
		return err
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, hmacScheme) {
		err := s.verifySignature(r, auth)
		s.svc.AuthFailed(clientAddr(r), err)
		return err
	}
	got := bearer(r)
	if got == "" {
		return herald.Errorf(herald.CodeUnauthorized, herald.ReasonTokenMissing,
			"no admin key: send Authorization: Bearer <admin key>, or sign the request with an access key (HMAC-SHA256)")
	}
	if subtle.ConstantTimeCompare([]byte(herald.HashAdminKey(got)), []byte(s.cfg.AdminKeyHash)) != 1 {
		err := herald.Errorf(herald.CodeUnauthorized, herald.ReasonAdminKeyInvalid, "the admin key is not valid")
		s.svc.AuthFailed(clientAddr(r), err)
		return err
	}
	return nil
}

// clientAddr is the address failed authentications are counted against:
// the peer's IP, without its port. Behind a proxy every client shares the
// proxy's address; forwarded headers are not trusted (they are the
// client's to choose).
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// maxDiscardBytes bounds how much of an oversized body is read and thrown
// away so that its client, still sending, reads the 413 instead of a
// connection reset (closing a socket with unread bytes resets it).
const maxDiscardBytes = 4 << 20

// decode reads the body into v strictly. optional bodies may be empty.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	return s.decodeMax(w, r, v, optional, s.cfg.MaxBodyBytes)
}

// decodeMax is decode with the body limited to limit bytes.
func (s *Server) decodeMax(w http.ResponseWriter, r *http.Request, v any, optional bool, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		io.CopyN(io.Discard, r.Body, maxDiscardBytes) // bounded in bytes, and in time by the read deadline
		return herald.Errorf(herald.CodeTooLarge, herald.ReasonPayloadTooLarge, "the request body is larger than %d bytes", limit)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonBodyTimeout,
			"the request body did not arrive within %v of the headers; send it at once", s.cfg.ReadTimeout)
	}
	if err != nil {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidJSON, "the request body could not be read: %v", err)
	}
	if len(body) == 0 {
		if optional {
			return nil
		}
		return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidJSON, "the request body is empty; a JSON object is required")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
			return herald.Errorf(herald.CodeUnsupportedMedia, herald.ReasonUnsupportedMedia, "Content-Type must be application/json, not %q", ct)
		}
	}
	return wire.Decode(body, v)
}

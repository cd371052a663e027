package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/wire"
)

// Real-time defaults.
const (
	authTimeout = 10 * time.Second // a WebSocket must send hello within it
	pollWait    = 25 * time.Second
)

// HeaderConnectionKey authorizes frames POSTed for an SSE or long-polling
// connection.
const HeaderConnectionKey = wire.HeaderConnectionKey

func (s *Server) realtimeRoutes() {
	if s.cfg.Hub == nil {
		return
	}
	s.route("POST /realtime/tickets", "CreateRealtimeTicket", s.createTicket)
	s.route("GET /realtime/ws", "ConnectWebSocket", s.realtimeWS)
	s.route("GET /realtime/sse", "ConnectSSE", s.realtimeSSE)
	s.route("POST /realtime/sse", "ConnectSSE", s.realtimeSSE)
	s.route("POST /realtime/longpoll", "ConnectLongPoll", s.longPollOpen)
	s.route("GET /realtime/longpoll/{connectionId}", "LongPoll", s.longPoll)
	s.route("POST /realtime/connections/{connectionId}/frames", "SendRealtimeFrame", s.postFrame)
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	id, exp, err := s.svc.CreateTicket(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, wire.Ticket{Ticket: id, ExpiresOn: exp})
	return nil
}

// realtimeAuth authenticates a real-time request by ticket or bearer token
// and checks its Origin; refusals are logged in the connection log.
func (s *Server) realtimeAuth(r *http.Request, meta hub.Meta) (herald.Token, error) {
	if !s.originAllowed(r) {
		s.cfg.Hub.Refuse(r.Context(), meta, "", herald.ReasonOriginNotAllowed)
		return herald.Token{}, herald.Errorf(herald.CodeForbidden, herald.ReasonOriginNotAllowed,
			"the Origin %q is not allowed to open real-time connections; add it with --allowed-origins", meta.Origin)
	}
	if err := s.svc.CheckAuthFailures(clientAddr(r)); err != nil {
		s.cfg.Hub.Refuse(r.Context(), meta, "", herald.ErrorReason(err))
		return herald.Token{}, err
	}
	var tok herald.Token
	var err error
	if tk := r.URL.Query().Get("ticket"); tk != "" {
		tok, err = s.svc.RedeemTicket(r.Context(), tk)
	} else {
		tok, err = s.svc.Verify(r.Context(), bearer(r))
	}
	s.svc.AuthFailed(clientAddr(r), err)
	if err != nil {
		s.cfg.Hub.Refuse(r.Context(), meta, tok.UserID, herald.ErrorReason(err))
		if rec := recordOf(r); rec != nil {
			rec.Caller, rec.TokenID = tok.UserID, tok.ID
		}
		return tok, err
	}
	if rec := recordOf(r); rec != nil {
		rec.Caller, rec.TokenID = tok.UserID, tok.ID
	}
	return tok, nil
}

// originAllowed accepts requests without Origin (not a browser), the
// configured origins, and same-origin pages whose host cannot be an
// attacker's. Origins are compared exactly: scheme, host and port (the
// default port made explicit), so https:// is not http:// and ftp:// is
// nothing.
//
// Same origin means the Origin is the scheme and Host this request came
// to. Under a DNS name both are the attacker's to choose (DNS rebinding:
// Host: evil.example, Origin: http://evil.example), so same origin is
// trusted only when the Host is an IP address or localhost, names a page
// cannot be served under by anyone but this server. A page served under a
// DNS name must be listed in AllowedOrigins.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	origin, ok := canonicalOrigin(o)
	if !ok {
		return false
	}
	for _, a := range s.cfg.AllowedOrigins {
		if c, _ := canonicalOrigin(a); c == origin {
			return true
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	self, ok := canonicalOrigin(scheme + "://" + r.Host)
	if !ok || self != origin {
		return false
	}
	u, _ := url.Parse(self)
	return u.Hostname() == "localhost" || net.ParseIP(u.Hostname()) != nil
}

// canonicalOrigin returns an http or https origin as scheme://host:port,
// lower-cased, with the default port explicit; ok is false for anything
// else (another scheme, a path, a query, user info, "null").
func canonicalOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.TrimSuffix(o, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	switch {
	case scheme == "http" && port == "":
		port = "80"
	case scheme == "https" && port == "":
		port = "443"
	case scheme != "http" && scheme != "https":
		return "", false
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}

func metaOf(r *http.Request, transport string) hub.Meta {
	return hub.Meta{Transport: transport, Remote: r.RemoteAddr, Origin: r.Header.Get("Origin"), UserAgent: r.UserAgent()}
}

// postFrame takes a client frame for an SSE or long-polling connection.
func (s *Server) postFrame(w http.ResponseWriter, r *http.Request) error {
	id := herald.ConnectionID(r.PathValue("connectionId"))
	key := r.Header.Get(HeaderConnectionKey)
	var f wire.ClientFrame
	if s.remote(id) { // checked here, relayed as JSON the other node decodes again
		if err := s.decodeFrame(w, r, &f); err != nil {
			return err
		}
		raw, err := json.Marshal(f)
		if err != nil {
			return err
		}
		if err := s.relayFrame(r.Context(), id, key, raw); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	c, err := s.connOf(id, key)
	if err != nil {
		return err
	}
	if rec := recordOf(r); rec != nil {
		rec.Caller = c.User()
	}
	if err := s.decodeFrame(w, r, &f); err != nil {
		return err
	}
	if err := receive(r.Context(), c, f); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// receive hands a client frame to its connection; a frame the protocol
// does not allow closes the connection.
func receive(ctx context.Context, c *hub.Conn, f wire.ClientFrame) error {
	if err := c.Receive(ctx, f); err != nil {
		c.Close(herald.ReasonProtocolError, "server")
		return herald.Errorf(herald.CodeInvalid, herald.ReasonProtocolError, "%v; the connection is closed", err)
	}
	return nil
}

// connOf finds this node's connection id, authorized by its key. A wrong
// key looks like a missing connection.
func (s *Server) connOf(id herald.ConnectionID, key string) (*hub.Conn, error) {
	c, ok := s.cfg.Hub.Conn(id)
	if !ok || subtle.ConstantTimeCompare([]byte(key), []byte(c.Key())) != 1 {
		return nil, herald.Errorf(herald.CodeNotFound, herald.ReasonConnectionNotFound,
			"no open connection %s with that key; open a new one", id).WithTarget(string(id))
	}
	return c, nil
}

// decodeFrame reads one client frame from a request body.
func (s *Server) decodeFrame(w http.ResponseWriter, r *http.Request, f *wire.ClientFrame) error {
	return s.decodeMax(w, r, f, false, wire.MaxFrameBytes)
}

// admitStream opens a connection streamed over HTTP (SSE, long-polling):
// the caller's token, its hello frame, and a place under the per-user
// connection limit, which release gives back.
func (s *Server) admitStream(w http.ResponseWriter, r *http.Request, meta hub.Meta) (tok herald.Token, hello wire.ClientFrame, release func(), err error) {
	if tok, err = s.realtimeAuth(r, meta); err != nil {
		return
	}
	if hello, err = s.helloOf(w, r); err != nil {
		return
	}
	if release, err = s.reserve(r.Context(), meta, tok.UserID); err != nil {
		return
	}
	stream(w)
	return
}

// helloOf reads the hello of an SSE or long-polling open: the body of a
// POST, or the base64url hello parameter of a GET (EventSource).
func (s *Server) helloOf(w http.ResponseWriter, r *http.Request) (wire.ClientFrame, error) {
	var f wire.ClientFrame
	if r.Method == http.MethodPost {
		if err := s.decodeFrame(w, r, &f); err != nil {
			return f, err
		}
	} else if h := r.URL.Query().Get("hello"); h != "" {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(h, "="))
		if err != nil || len(raw) > wire.MaxFrameBytes {
			return f, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "hello must be a base64url-encoded JSON hello frame").WithTarget("hello")
		}
		if err := wire.Decode(raw, &f); err != nil {
			return f, err
		}
	} else {
		f = wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion}
	}
	if f.Type != wire.FrameHello {
		return f, herald.Errorf(herald.CodeInvalid, herald.ReasonProtocolError, "the first frame must be hello, not %q", f.Type)
	}
	return f, nil
}

func unsupported() error {
	return herald.Errorf(herald.CodeInvalid, herald.ReasonUnsupportedVersion, "this server speaks protocol version %d", wire.ProtocolVersion)
}

// detached returns a context for work that outlives the request's
// cancellation but not the server.
func detached(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }

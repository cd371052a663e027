package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// Check is one dependency GET /readyz asks: Ping returns nil when it is
// reachable. Reason is what /readyz answers when it is not (for example
// store_unavailable).
type Check struct {
	Name   string
	Reason herald.Reason
	Ping   func(ctx context.Context) error
}

// readyTimeout bounds each readiness check.
const readyTimeout = 2 * time.Second

// readyRetryAfter is the Retry-After of a 503 from /readyz, in seconds.
const readyRetryAfter = 5

// Readiness is the body of GET /readyz.
type Readiness struct {
	Status  string `json:"status"`            // "ready" or "unavailable"
	Reason  string `json:"reason,omitempty"`  // why not: going_away, store_unavailable, broker_unavailable
	Check   string `json:"check,omitempty"`   // the check that failed
	Message string `json:"message,omitempty"` // its error, safe to show (no addresses with credentials)
}

// probe answers the operational endpoints (health, readiness, metrics),
// which stay out of the request log and the access log: a probe every few
// seconds is not evidence. It reports false for every other path.
func (s *Server) probe(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch r.URL.Path {
	case "/healthz":
		// The process is up and serving HTTP: nothing else is asked, so that
		// a restart is never triggered by a dependency's outage.
		writeJSON(w, http.StatusOK, Readiness{Status: "ok"})
	case "/readyz":
		s.ready(w, r)
	case "/metrics":
		if s.cfg.Metrics == nil {
			return false
		}
		s.cfg.Metrics.ServeHTTP(w, r)
	default:
		return false
	}
	return true
}

// ready answers GET /readyz: 200 when every check passes, else 503 with a
// JSON reason and Retry-After. A server that is shutting down is not ready
// (reason going_away), so that a load balancer sends no new client to it.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.notReady(w, Readiness{Status: "unavailable", Reason: string(herald.ReasonGoingAway), Message: "the server is shutting down"})
		return
	}
	for _, c := range s.cfg.Checks {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := c.Ping(ctx)
		cancel()
		if err != nil {
			s.log.Warn("not ready", "check", c.Name, "reason", c.Reason, "err", err)
			s.notReady(w, Readiness{Status: "unavailable", Reason: string(c.Reason), Check: c.Name, Message: c.Name + " is unreachable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, Readiness{Status: "ready"})
}

func (s *Server) notReady(w http.ResponseWriter, body Readiness) {
	w.Header().Set(wire.HeaderRetryAfter, strconv.Itoa(readyRetryAfter))
	writeJSON(w, http.StatusServiceUnavailable, body)
}

// Drain makes GET /readyz answer 503 going_away from now on: the first
// step of a graceful shutdown, before the listener closes.
func (s *Server) Drain() { s.draining.Store(true) }

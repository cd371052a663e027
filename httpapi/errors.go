package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// statusOf is the one table from Code to HTTP status.
var statusOf = map[herald.Code]int{
	herald.CodeInvalid:          http.StatusBadRequest,
	herald.CodeUnauthorized:     http.StatusUnauthorized,
	herald.CodeForbidden:        http.StatusForbidden,
	herald.CodeNotFound:         http.StatusNotFound,
	herald.CodeConflict:         http.StatusConflict,
	herald.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	herald.CodeRateLimited:      http.StatusTooManyRequests,
	herald.CodeUnavailable:      http.StatusServiceUnavailable,
	herald.CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	herald.CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	herald.CodeInternal:         http.StatusInternalServerError,
}

// Status returns the HTTP status for a Code.
func Status(c herald.Code) int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// toError turns any error into the *herald.Error to show: internal errors
// lose their cause (logged, never sent).
func toError(err error) *herald.Error {
	var e *herald.Error
	if errors.As(err, &e) && e.Code != herald.CodeInternal {
		return e
	}
	return &herald.Error{Code: herald.CodeInternal, Reason: herald.ReasonInternal, Message: "internal error; see the server log", Err: err}
}

// writeError answers with the error body and records the outcome in rec.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toError(err)
	status := Status(e.Code)
	if status == http.StatusInternalServerError && r.Context().Err() != nil {
		// The client went away and took the request's context with it: the
		// store call failed for that, not for a fault of the server.
		e = &herald.Error{Code: e.Code, Reason: herald.ReasonClientCancelled, Message: "the client closed the request before it was answered"}
		status = StatusClientClosedRequest
		s.log.Info("request cancelled by the client", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusInternalServerError {
		s.obs.StoreError("request")
		s.log.Error("request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if rec := recordOf(r); rec != nil {
		rec.Reason = e.Reason
	}
	switch status {
	case http.StatusUnauthorized:
		if e.Reason == herald.ReasonTokenMissing {
			w.Header().Set("WWW-Authenticate", `Bearer`) // RFC 6750 §3.1: no error code without a credential
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+string(e.Reason)+`"`)
		}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		secs := int(math.Ceil(e.RetryAfter.Seconds()))
		w.Header().Set(wire.HeaderRetryAfter, strconv.Itoa(max(secs, 1)))
	}
	writeJSON(w, status, wire.ErrorResponse{Error: wire.ErrorBody{
		Code: string(e.Code), Message: e.Message, Reason: string(e.Reason), Target: e.Target,
	}})
}

// requestID returns the id of the request r (X-Request-Id), for log lines.
func requestID(r *http.Request) string {
	if rec := recordOf(r); rec != nil {
		return rec.RequestID
	}
	return ""
}

// StatusClientClosedRequest is the status the request log records for a
// request its client cancelled before the answer (nginx's 499).
const StatusClientClosedRequest = 499

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode response", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encode failed","reason":"internal_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

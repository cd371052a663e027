package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// HTTPError describes the HTTP answer behind a *herald.Error returned by
// the client; it is that error's Err. Use errors.As to reach it.
type HTTPError struct {
	Status     int           // the HTTP status code
	RetryAfter time.Duration // from the Retry-After header; 0 if absent
	RequestID  string        // from the x-request-id header; "" if absent
}

// Error implements error.
func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, ", request id %s", e.RequestID)
	}
	return b.String()
}

// Status returns the HTTP status of the answer behind err, or 0 if err
// carries none (nil, a transport failure, or a request refused before it
// was sent).
func Status(err error) int {
	var h *HTTPError
	if errors.As(err, &h) {
		return h.Status
	}
	return 0
}

// responseError rebuilds the server's *herald.Error from a non-2xx answer.
// A body that is not wire.ErrorResponse still yields one, classified by the
// status alone. now dates a Retry-After given as an HTTP date.
func responseError(resp *http.Response, body []byte, now time.Time) *herald.Error {
	e := &herald.Error{
		Code:    statusCode(resp.StatusCode),
		Message: fmt.Sprintf("the server answered %d %s without an error body", resp.StatusCode, http.StatusText(resp.StatusCode)),
		Err: &HTTPError{
			Status:     resp.StatusCode,
			RetryAfter: retryAfter(resp.Header.Get(wire.HeaderRetryAfter), now),
			RequestID:  resp.Header.Get(wire.HeaderRequestID),
		},
	}
	var er wire.ErrorResponse
	if json.Unmarshal(body, &er) != nil || (er.Error.Code == "" && er.Error.Message == "") {
		return e
	}
	if er.Error.Code != "" {
		e.Code = herald.Code(er.Error.Code)
	}
	if er.Error.Message != "" {
		e.Message = er.Error.Message
	}
	e.Reason = herald.Reason(er.Error.Reason)
	e.Target = er.Error.Target
	return e
}

// statusCode classifies an answer whose body names no code: the inverse of
// the server's Code → status table.
func statusCode(status int) herald.Code {
	switch status {
	case http.StatusBadRequest:
		return herald.CodeInvalid
	case http.StatusUnauthorized:
		return herald.CodeUnauthorized
	case http.StatusForbidden:
		return herald.CodeForbidden
	case http.StatusNotFound:
		return herald.CodeNotFound
	case http.StatusMethodNotAllowed:
		return herald.CodeMethodNotAllowed
	case http.StatusConflict:
		return herald.CodeConflict
	case http.StatusRequestEntityTooLarge:
		return herald.CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return herald.CodeUnsupportedMedia
	case http.StatusTooManyRequests:
		return herald.CodeRateLimited
	case http.StatusServiceUnavailable:
		return herald.CodeUnavailable
	}
	return herald.CodeInternal
}

// retryAfter parses a Retry-After value, either delay-seconds or an
// HTTP-date (measured from now). It returns 0 for an absent, malformed or
// past value.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 || secs > int64(time.Duration(1<<63-1)/time.Second) {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

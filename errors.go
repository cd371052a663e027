package herald

import (
	"errors"
	"fmt"
	"time"
)

// Code is the broad class of an error. Codes are API: append only. Each edge
// translates a Code once (httpapi maps it to an HTTP status, the real-time
// layer to a close code).
type Code string

// The error codes.
const (
	CodeInvalid          Code = "invalid"            // the request is malformed or breaks a limit
	CodeUnauthorized     Code = "unauthorized"       // no valid credential
	CodeForbidden        Code = "forbidden"          // valid credential, action not allowed
	CodeNotFound         Code = "not_found"          // the resource does not exist for this caller
	CodeConflict         Code = "conflict"           // the request conflicts with stored state
	CodeTooLarge         Code = "too_large"          // a body or field exceeds its size limit
	CodeRateLimited      Code = "rate_limited"       // too many requests; retry later
	CodeUnavailable      Code = "unavailable"        // a dependency is down; retry later
	CodeMethodNotAllowed Code = "method_not_allowed" // the path exists, the verb does not
	CodeUnsupportedMedia Code = "unsupported_media"  // the body is not JSON
	CodeInternal         Code = "internal"           // a bug; logged with its cause
)

// Reason says why, machine-readably. Reasons are API: append only. The same
// reasons label evidence records, so the doctor can cite them.
type Reason string

// The reasons. Every error a caller can see carries one.
const (
	ReasonNone Reason = ""

	// Malformed input.
	ReasonInvalidJSON         Reason = "invalid_json"
	ReasonUnknownField        Reason = "unknown_field"
	ReasonDuplicateField      Reason = "duplicate_field"
	ReasonInvalidUTF8         Reason = "invalid_utf8"
	ReasonInvalidField        Reason = "invalid_field"
	ReasonMissingField        Reason = "missing_field"
	ReasonPayloadTooLarge     Reason = "payload_too_large"
	ReasonMessageTooLarge     Reason = "message_too_large"
	ReasonMetadataTooLarge    Reason = "metadata_too_large"
	ReasonTooManyParticipants Reason = "too_many_participants"
	ReasonInvalidPageSize     Reason = "invalid_page_size"
	ReasonInvalidCursor       Reason = "invalid_cursor"
	ReasonInvalidScope        Reason = "invalid_scope"
	ReasonInvalidExpiry       Reason = "invalid_expiry"
	ReasonEmptyMessage        Reason = "empty_message"
	ReasonUnsupportedMedia    Reason = "unsupported_media_type"
	ReasonMethodNotAllowed    Reason = "method_not_allowed"
	ReasonRouteNotFound       Reason = "route_not_found"
	// ReasonBodyTimeout: the request body trickled in slower than the read
	// deadline allows.
	ReasonBodyTimeout Reason = "body_timeout"

	// Credentials.
	ReasonTokenMissing    Reason = "token_missing"
	ReasonTokenInvalid    Reason = "token_invalid"
	ReasonTokenExpired    Reason = "token_expired"
	ReasonTokenRevoked    Reason = "token_revoked"
	ReasonIdentityDeleted Reason = "identity_deleted"
	ReasonAdminKeyInvalid Reason = "admin_key_invalid"
	// ReasonSignatureInvalid: an access-key (HMAC-SHA256) signed request
	// whose signature, date or body hash does not hold.
	ReasonSignatureInvalid  Reason = "signature_invalid"
	ReasonScopeInsufficient Reason = "scope_insufficient"

	// Membership and ownership.
	ReasonNotParticipant Reason = "not_participant"
	ReasonNotSender      Reason = "not_sender"
	ReasonNotCreator     Reason = "not_creator"

	// Missing or gone resources.
	ReasonIdentityNotFound    Reason = "identity_not_found"
	ReasonThreadNotFound      Reason = "thread_not_found"
	ReasonThreadDeleted       Reason = "thread_deleted"
	ReasonMessageNotFound     Reason = "message_not_found"
	ReasonParticipantNotFound Reason = "participant_not_found"
	ReasonMessageDeleted      Reason = "message_deleted"
	ReasonNotSystemMessage    Reason = "system_message_immutable"

	// Conflicts.
	ReasonIdempotencyKeyReused Reason = "idempotency_key_reused"
	ReasonVersionMismatch      Reason = "version_mismatch"
	// Two signing-key rotations at once: one made the key, the other did nothing.
	ReasonKeyRotationConflict Reason = "key_rotation_conflict"

	// Webhooks.
	ReasonWebhookNotFound         Reason = "webhook_not_found"
	ReasonWebhookDeliveryNotFound Reason = "webhook_delivery_not_found"
	// The endpoint did not answer the validation handshake as asked.
	ReasonWebhookValidationFailed Reason = "webhook_validation_failed"
	// Only a dead letter can be retried; a pending one is retried already.
	ReasonWebhookDeliveryNotDead Reason = "webhook_delivery_not_dead"

	// Real-time connections: refusals and close reasons (the connection log).
	ReasonOriginNotAllowed   Reason = "origin_not_allowed"
	ReasonTicketInvalid      Reason = "ticket_invalid"
	ReasonUnsupportedVersion Reason = "unsupported_version"
	ReasonConnectionNotFound Reason = "connection_not_found"
	ReasonHeartbeatTimeout   Reason = "heartbeat_timeout"
	ReasonSlowConsumer       Reason = "slow_consumer"
	ReasonGoingAway          Reason = "going_away"
	ReasonResync             Reason = "resync"
	ReasonProtocolError      Reason = "protocol_error"
	ReasonAuthTimeout        Reason = "auth_timeout"
	ReasonClientClosed       Reason = "client_closed"
	ReasonConnectionLost     Reason = "connection_lost"
	ReasonInvalidAck         Reason = "invalid_ack"
	// ReasonTooManyConnections: the user has the most real-time
	// connections allowed open on this node.
	ReasonTooManyConnections Reason = "too_many_connections"

	// Load and dependencies.
	ReasonRateLimited Reason = "rate_limited"
	// ReasonTooManyAuthFailures: the client address made too many failed
	// authentications (wrong admin keys, tokens this server did not issue).
	ReasonTooManyAuthFailures Reason = "too_many_auth_failures"
	ReasonStoreUnavailable    Reason = "store_unavailable"
	// ReasonBrokerUnavailable: the broker that carries signals between
	// nodes cannot be reached (GET /readyz).
	ReasonBrokerUnavailable Reason = "broker_unavailable"
	ReasonInternal          Reason = "internal_error"
	// ReasonClientCancelled: the client went away before the answer; the
	// request log records it with status 499, not as a server failure.
	ReasonClientCancelled Reason = "client_cancelled"
)

// Error is Herald's one error type. It is made where the decision is made
// and translated once at each edge.
type Error struct {
	Code    Code   // the broad class; chooses the HTTP status
	Reason  Reason // why, machine-readable
	Message string // safe to show to the caller
	Target  string // the offending field or resource, if any
	// RetryAfter, for rate_limited and unavailable, says when to retry.
	RetryAfter time.Duration
	Err        error // the cause; logged, never sent
}

// Errorf makes an *Error with a formatted message.
func Errorf(code Code, reason Reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// WithTarget returns a copy of e naming the offending field or resource.
func (e *Error) WithTarget(target string) *Error {
	c := *e
	c.Target = target
	return &c
}

// Error implements error.
func (e *Error) Error() string {
	s := string(e.Code)
	if e.Reason != "" {
		s += "/" + string(e.Reason)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the Code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorReason returns the Reason of the first *Error in err's chain,
// ReasonInternal for any other non-nil error, and "" for nil.
func ErrorReason(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonInternal
}

// IsNotFound reports whether err is a not_found *Error.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }

// IsConflict reports whether err is a conflict *Error.
func IsConflict(err error) bool { return ErrorCode(err) == CodeConflict }

// ErrNotFound is returned by Store engines when a Get finds nothing. The
// service replaces it with a specific reason before it reaches a caller.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}

// ErrConflict is returned by Store engines when a unique constraint fails.
var ErrConflict = &Error{Code: CodeConflict, Message: "conflict"}

// ErrUnavailable is returned by Store engines when the database cannot be
// reached; the request may be retried.
var ErrUnavailable = &Error{Code: CodeUnavailable, Reason: ReasonStoreUnavailable, Message: "the store is unavailable; retry"}

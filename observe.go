package herald

import (
	"context"
	"time"
)

// Observer receives the measurements an operator graphs: counts and
// latencies of this node, never users, threads or messages. The metrics
// package implements it; service, hub and httpapi call it on their hot
// paths (a send, every delivery to every connection), so an implementation
// must be cheap: an atomic add or a histogram observation, no allocation,
// no lock per call. Every method may be called concurrently.
//
// A package given no Observer uses NoObserver, which records nothing.
type Observer interface {
	// Request counts one answered HTTP request: its operation (the route's
	// name, "Unrouted" for none), status, reason (empty on success) and
	// how long it took to answer.
	Request(operation string, status int, reason Reason, d time.Duration)
	// SendCommitted observes the time a send took from the start of its
	// transaction to its durable commit.
	SendCommitted(d time.Duration)
	// Delivered counts n sequenced events written to a connection.
	Delivered(n int)
	// FannedOut observes, once per write to one connection that carries
	// live events, the time from the commit of the oldest of them to the
	// write (events read again from the store are not live). Alone in its
	// write, as when the node is not busy, an event is observed by itself.
	FannedOut(d time.Duration)
	// Replayed counts n events a connection read from the store: a resume,
	// a gap, or a catch-up after its queue overflowed.
	Replayed(n int)
	// Acked counts n acknowledgements a connection's client sent.
	Acked(n int)
	// Resumed counts a connection that asked to resume; ok is false when
	// some thread could not be resumed from the client's cursor.
	Resumed(ok bool)
	// ConnectionOpened and ConnectionClosed track the open real-time
	// connections by transport, and why each ended.
	ConnectionOpened(transport string)
	ConnectionClosed(transport string, reason Reason)
	// StoreError counts a failed store operation; where names the part of
	// Herald that saw it (request, ledger, connection, request_log).
	StoreError(where string)
	// DoctorCause counts a cause the doctor confirmed in a report.
	DoctorCause(cause string)
	// WebhookAttempt counts one POST of a webhook delivery by its result
	// (delivered, retry, dead) and observes how long it took.
	WebhookAttempt(result string, d time.Duration)
}

// NoObserver is the Observer that records nothing.
type NoObserver struct{}

// WebhookAttempt records nothing.
func (NoObserver) WebhookAttempt(string, time.Duration) {}

var _ Observer = NoObserver{}

// Request records nothing.
func (NoObserver) Request(string, int, Reason, time.Duration) {}

// SendCommitted records nothing.
func (NoObserver) SendCommitted(time.Duration) {}

// Delivered records nothing.
func (NoObserver) Delivered(int) {}

// FannedOut records nothing.
func (NoObserver) FannedOut(time.Duration) {}

// Replayed records nothing.
func (NoObserver) Replayed(int) {}

// Acked records nothing.
func (NoObserver) Acked(int) {}

// Resumed records nothing.
func (NoObserver) Resumed(bool) {}

// ConnectionOpened records nothing.
func (NoObserver) ConnectionOpened(string) {}

// ConnectionClosed records nothing.
func (NoObserver) ConnectionClosed(string, Reason) {}

// StoreError records nothing.
func (NoObserver) StoreError(string) {}

// DoctorCause records nothing.
func (NoObserver) DoctorCause(string) {}

// Pinger is implemented by a Store or Broker that can tell whether it is
// reachable now, for the readiness check (GET /readyz). Ping returns nil
// when it is, and must return within ctx's deadline.
type Pinger interface {
	Ping(ctx context.Context) error
}

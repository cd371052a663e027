package herald

import (
	"context"
	"time"
)

// ConnectionID identifies one real-time connection (any transport).
type ConnectionID string

// PrefixConnection starts every ConnectionID.
const PrefixConnection = "c_"

// Signal is what the service publishes after a commit, and what brokers
// carry between nodes. It only signals: the database is the truth, and a
// node that misses a signal catches up from the Store by Seq.
type Signal struct {
	Kind SignalKind
	// ThreadID and Seq identify a sequenced event (Seq > 0), or the thread of
	// an unsequenced one (typing, read receipt).
	ThreadID ThreadID
	Seq      Seq
	Event    *Event
	// Message is the message the event created, edited or deleted.
	Message *Message
	// Thread is the thread after the event.
	Thread *Thread
	// Recipients are the users who receive the event: the participants at
	// commit, plus those it removes.
	Recipients []UserID
	// Sender, DisplayName and MessageID describe typing and read receipts.
	Sender      UserID
	DisplayName string
	MessageID   MessageID
	At          time.Time
	// Committed is when the transaction that made a sequenced event
	// committed, on the publishing node's clock: the start of its fan-out
	// latency. Zero for an event read again from the store.
	Committed time.Time
	// User is the identity a credential signal concerns.
	User UserID
	// TraceParent is the W3C traceparent of the span that published a
	// sequenced event, when that span is sampled: the parent of the spans
	// of its socket writes, on every node. Empty when tracing is off.
	TraceParent string
}

// SignalKind says what a Signal is about.
type SignalKind string

// The signal kinds.
const (
	SignalEvent      SignalKind = "event"      // a sequenced thread event was committed
	SignalTyping     SignalKind = "typing"     // a participant is typing
	SignalReceipt    SignalKind = "receipt"    // a participant read up to a message
	SignalCredential SignalKind = "credential" // a user's tokens were revoked or identity deleted
)

// Broker carries Signals to every node's hub. Publish never blocks on
// slow subscribers; delivery is best effort and a node that misses a
// signal repairs the gap from the Store.
type Broker interface {
	Publish(ctx context.Context, s Signal) error
	// Subscribe registers fn for every signal published on any node until
	// the returned function is called. fn must not block.
	Subscribe(fn func(Signal)) (unsubscribe func(), err error)
	// Close stops the broker. When it returns, the signals it had already
	// received have been handed to their subscribers, and no fn is called
	// after.
	Close() error
}

// Relay carries a request for a real-time connection to the node that
// holds it: an SSE connection's frames and a long-polling connection's
// polls are separate HTTP requests, which a load balancer may send to any
// node. Brokers that span nodes (nats) implement it; one node needs none.
type Relay interface {
	// ServeRelay answers, until stop is called, the requests forwarded to
	// node. fn runs on a goroutine of its own per request and may wait
	// (a long-poll does, up to its poll time).
	ServeRelay(node string, fn func(ctx context.Context, req []byte) []byte) (stop func(), err error)
	// Forward sends req to node and returns its answer, waiting at most
	// until ctx ends. ErrNotFound when no such node is listening (it is
	// gone), ErrUnavailable when the broker cannot be reached.
	Forward(ctx context.Context, node string, req []byte) ([]byte, error)
}

// Connection is a row of the connection log: an upgrade attempt, refused or
// opened, and how an opened connection ended.
type Connection struct {
	ID        ConnectionID
	UserID    UserID // empty if the attempt could not be authenticated
	TokenID   TokenID
	Transport string
	Remote    string
	Origin    string
	UserAgent string
	// Refused is the reason an attempt was refused before opening; empty
	// for an opened connection.
	Refused  Reason
	OpenedAt time.Time // when the attempt was made (and, if not refused, opened)
	ClosedAt time.Time // zero while open
	// CloseCode and CloseReason say how it ended; ClosedBy is "server" or
	// "client".
	CloseCode   int
	CloseReason Reason
	ClosedBy    string
	// Handles are the event types the client declared it handles.
	Handles         []EventType
	HeartbeatMisses int
	Node            string
}

// Delivery is a run of consecutive events of one thread pushed to one
// connection: every Seq in [FromSeq, ToSeq] was written to the connection
// between FirstAt and LastAt.
type Delivery struct {
	UserID       UserID
	ThreadID     ThreadID
	ConnectionID ConnectionID
	Transport    string
	FromSeq      Seq
	ToSeq        Seq
	FirstAt      time.Time
	LastAt       time.Time
}

// Ack records that the app on a connection acknowledged every event of a
// thread up to Seq, at At.
type Ack struct {
	UserID       UserID
	ThreadID     ThreadID
	ConnectionID ConnectionID
	Seq          Seq
	At           time.Time
}

// ConnectionFilter selects connection-log rows.
type ConnectionFilter struct {
	User  UserID
	Since time.Time
	Until time.Time
	Limit int
}

// DeliveryFilter selects delivery-ledger rows for a user and thread; with
// Seq > 0, only the rows that cover it (deliveries) or reach it (acks).
type DeliveryFilter struct {
	User   UserID
	Thread ThreadID
	Seq    Seq
	Limit  int
}

// Ledger records and reads the real-time evidence: the connection log and
// the per-recipient delivery ledger. Writes happen outside transactions.
type Ledger interface {
	// CreateConnection logs an upgrade attempt (refused or opened).
	CreateConnection(ctx context.Context, c Connection) error
	// UpdateConnection stores the close fields, handles and heartbeat
	// misses of a logged connection; ErrNotFound if it was never logged.
	UpdateConnection(ctx context.Context, c Connection) error
	GetConnection(ctx context.Context, id ConnectionID) (Connection, error)
	// ListConnections returns rows matching f, newest first.
	ListConnections(ctx context.Context, f ConnectionFilter) ([]Connection, error)
	// RecordDeliveries stores delivery runs; a run with the same
	// (ConnectionID, ThreadID, FromSeq) as a stored one replaces its ToSeq
	// and LastAt (runs grow as pushes continue).
	RecordDeliveries(ctx context.Context, ds []Delivery) error
	// RecordAcks appends acknowledgements.
	RecordAcks(ctx context.Context, as []Ack) error
	// ListDeliveries returns runs matching f, oldest first.
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// ListAcks returns acks matching f (with Seq > 0: those with Seq >= it),
	// oldest first.
	ListAcks(ctx context.Context, f DeliveryFilter) ([]Ack, error)
	// PruneEvidence deletes evidence older than before — request-log rows,
	// connections closed or refused before it, delivery runs last pushed
	// before it, acks — and returns how many rows it deleted. Open
	// connections and thread history are kept.
	PruneEvidence(ctx context.Context, before time.Time) (int64, error)
}

// Position is where a user stands in one thread: the part of its history
// the user may see.
type Position struct {
	ThreadID ThreadID
	// Joined is the Seq of the event that added the user (1 for the creator).
	Joined Seq
	// Head is the newest Seq the user may see: the thread's head, or the
	// removal or deletion event.
	Head Seq
	// Ended reports that nothing more will come to the user from the thread
	// (removed, or the thread deleted).
	Ended bool
}

// Catchup is a page of one thread's history as one user may see it.
type Catchup struct {
	// Signals are the visible events, in Seq order.
	Signals []Signal
	// Through is the highest Seq this page covers, visible or not; continue
	// after it.
	Through Seq
	// Head is the newest Seq the user may see (as in Position).
	Head Seq
	// Ended reports that the user's view of the thread ends at Head.
	Ended bool
}

package herald

import (
	"context"
	"time"
)

// Store is Herald's durable state: the truth every other component defers
// to. Engines (sqlite, postgres) hold no rules: authorization and
// validation live in the service, which runs its checks and writes inside
// one Update so that a rejected request changes nothing.
//
// Errors: Get methods return ErrNotFound when nothing matches; writes that
// break a uniqueness rule return ErrConflict; a database that cannot be
// reached gives ErrUnavailable. Other errors are internal.
type Store interface {
	Reader
	Ledger
	// Update runs fn in one write transaction and commits it durably before
	// returning nil. If fn returns an error, nothing fn wrote is kept and
	// Update returns that error unchanged. Updates of one thread are
	// serialized by Tx.NextSeq.
	Update(ctx context.Context, fn func(Tx) error) error
	// LogRequest appends a row to the request log, outside any transaction.
	LogRequest(ctx context.Context, r Request) error
	// LogRequests appends rows to the request log in one transaction (one
	// commit for many rows: the log shares the writer with sends).
	LogRequests(ctx context.Context, rs []Request) error
	// Close releases the store.
	Close() error
}

// Reader holds the read operations. Inside an Update they see the
// transaction's own writes.
type Reader interface {
	GetIdentity(ctx context.Context, id UserID) (Identity, error)
	// ListIdentities returns up to limit identities that have a display
	// name starting with prefix (case-insensitively, ASCII; "" matches
	// every name) and are not deleted, by name.
	ListIdentities(ctx context.Context, prefix string, limit int) ([]Identity, error)
	GetToken(ctx context.Context, id TokenID) (Token, error)
	// ListSigningKeys returns the token signing keys, oldest generation
	// first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// GetAdminKey returns the deployment's admin key hash; ErrNotFound if
	// none was stored.
	GetAdminKey(ctx context.Context) (AdminKey, error)
	// ListAccessKeys returns the deployment's access keys, by name.
	ListAccessKeys(ctx context.Context) ([]AccessKey, error)
	// ListTokens returns the user's tokens, newest first.
	ListTokens(ctx context.Context, user UserID) ([]Token, error)

	GetThread(ctx context.Context, id ThreadID) (Thread, error)
	// GetThreadByRequest finds the thread creator made with a repeatability
	// id, and the hash of that request's body.
	GetThreadByRequest(ctx context.Context, creator UserID, requestID string) (Thread, string, error)
	// ListThreads returns the threads user is or was a participant of,
	// most recently active first.
	ListThreads(ctx context.Context, user UserID, f ThreadFilter) ([]Thread, error)

	GetParticipant(ctx context.Context, thread ThreadID, user UserID) (Participant, error)
	// ListMemberships returns every thread user is or was a participant
	// of with user's membership of it, in ListThreads order: one read per
	// page (resume and resync ask it for every connection).
	ListMemberships(ctx context.Context, user UserID, p Page) ([]Membership, error)
	// ListParticipants returns current participants in the order they were
	// added.
	ListParticipants(ctx context.Context, thread ThreadID, p Page) ([]Participant, error)
	// ListMembers returns the current participants in the order of
	// ListParticipants, with only what deciding an event's recipients
	// needs: the send path reads it inside its transaction.
	ListMembers(ctx context.Context, thread ThreadID) ([]Member, error)
	// CountParticipants counts current participants.
	CountParticipants(ctx context.Context, thread ThreadID) (int, error)

	GetMessage(ctx context.Context, thread ThreadID, id MessageID) (Message, error)
	// GetMessages returns the thread's messages with the given ids, in no
	// particular order, in one read; ids it does not hold are left out.
	GetMessages(ctx context.Context, thread ThreadID, ids []MessageID) ([]Message, error)
	// GetMessageByClientID finds a message by its sender's idempotency key.
	GetMessageByClientID(ctx context.Context, thread ThreadID, sender UserID, clientID string) (Message, error)
	// ListMessages returns messages in the window f describes.
	ListMessages(ctx context.Context, thread ThreadID, f MessageFilter) ([]Message, error)

	// ListEvents returns the thread's events with Seq > after, in Seq order,
	// at most limit of them.
	ListEvents(ctx context.Context, thread ThreadID, after Seq, limit int) ([]Event, error)

	// ListReadReceipts returns the newest receipt of each user.
	ListReadReceipts(ctx context.Context, thread ThreadID, p Page) ([]ReadReceipt, error)

	// ListRequests returns request-log rows matching f, newest first.
	ListRequests(ctx context.Context, f RequestFilter) ([]Request, error)

	// SearchPeople returns up to limit users, other than user, who are or
	// were participants of a thread user is or was a participant of, and
	// whose name (a participant display name, or the identity's) starts
	// with prefix, case-insensitively (ASCII); by name. Deleted identities
	// are left out. Each user once, with the name that matched.
	SearchPeople(ctx context.Context, user UserID, prefix string, limit int) ([]Person, error)

	// ListWebhooks returns the subscriptions that are not deleted, oldest
	// first.
	ListWebhooks(ctx context.Context) ([]Webhook, error)
	// GetWebhook returns a subscription, deleted or not.
	GetWebhook(ctx context.Context, id WebhookID) (Webhook, error)
	// GetWebhookDelivery returns one delivery.
	GetWebhookDelivery(ctx context.Context, id int64) (WebhookDelivery, error)
	// ListWebhookDeliveries returns the deliveries f selects, newest first.
	ListWebhookDeliveries(ctx context.Context, f WebhookDeliveryFilter) ([]WebhookDelivery, error)
	// CountWebhookDeliveries counts a subscription's deliveries by state.
	CountWebhookDeliveries(ctx context.Context, id WebhookID) (map[DeliveryState]int, error)
	// ListWebhookAttempts returns a delivery's attempts, oldest first.
	ListWebhookAttempts(ctx context.Context, delivery int64) ([]WebhookAttempt, error)
}

// Tx is one write transaction of a Store.
type Tx interface {
	Reader

	CreateIdentity(ctx context.Context, id Identity) error
	// DeleteIdentity marks the identity deleted; the record stays.
	DeleteIdentity(ctx context.Context, id UserID, at time.Time) error
	// CreateToken logs an issued token and sets the identity's
	// LastTokenIssuedAt.
	CreateToken(ctx context.Context, t Token) error
	// RevokeTokens marks every unrevoked token of user revoked at at and
	// returns how many it marked.
	RevokeTokens(ctx context.Context, user UserID, at time.Time) (int, error)

	// CreateSigningKey stores a new key; ErrConflict if its generation or
	// id exists.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// UpdateSigningKey stores the key's RotatedAt and RetiresAt;
	// ErrNotFound if its generation does not exist.
	UpdateSigningKey(ctx context.Context, k SigningKey) error
	// CreateAdminKey stores the deployment's admin key hash; ErrConflict
	// if one is stored.
	CreateAdminKey(ctx context.Context, k AdminKey) error
	// ReplaceAdminKey stores the deployment's admin key hash in place of
	// any stored one.
	ReplaceAdminKey(ctx context.Context, k AdminKey) error
	// CreateAccessKey stores an access key; ErrConflict if its name exists.
	CreateAccessKey(ctx context.Context, k AccessKey) error

	// CreateTicket stores a ticket and removes the tickets that expired
	// before it was created; ErrConflict if its id exists.
	CreateTicket(ctx context.Context, t Ticket) error
	// TakeTicket removes the ticket and returns it, expired or not;
	// ErrNotFound if there is none (never issued, or taken before).
	TakeTicket(ctx context.Context, id string) (Ticket, error)

	// CreateThread stores a new thread (LastSeq 0). requestID and
	// requestHash, if requestID is not empty, make the creation findable by
	// GetThreadByRequest; a second thread with the same creator and
	// requestID is ErrConflict.
	CreateThread(ctx context.Context, t Thread, requestID, requestHash string) error
	// UpdateThread stores the thread's topic, metadata, updated and deleted
	// fields.
	UpdateThread(ctx context.Context, t Thread) error
	// LockThread returns the thread and locks it against other writers of
	// the thread until the transaction ends, so that checks made after it
	// (membership, deletion) still hold at commit. ErrNotFound if none.
	LockThread(ctx context.Context, id ThreadID) (Thread, error)
	// NextSeq locks the thread against other writers until the transaction
	// ends, allocates its next Seq and records at as the thread's last
	// activity (and as LastMessageAt when message is true). It returns the
	// Seq with the thread's roster version, read in the same statement,
	// under the lock (see Head). ErrNotFound if the thread does not exist.
	NextSeq(ctx context.Context, thread ThreadID, at time.Time, message bool) (Head, error)
	// AppendEvent stores an event whose Seq came from NextSeq.
	AppendEvent(ctx context.Context, e Event) error

	// PutParticipant inserts or replaces the user's membership of the
	// thread, and gives the thread a new roster version (see Head). It is
	// the only write that changes a thread's participants.
	PutParticipant(ctx context.Context, p Participant) error

	// CreateMessage stores a message whose Seq came from NextSeq. A second
	// message with the same (thread, sender, ClientMessageID) is ErrConflict.
	CreateMessage(ctx context.Context, m Message) error
	// UpdateMessage stores content, metadata, edited, deleted and version.
	UpdateMessage(ctx context.Context, m Message) error

	// PutReadReceipt replaces the user's receipt in the thread.
	PutReadReceipt(ctx context.Context, r ReadReceipt) error

	// CreateWebhook stores a subscription; ErrConflict if its id exists.
	CreateWebhook(ctx context.Context, w Webhook) error
	// DeleteWebhook marks the subscription deleted at at; ErrNotFound if
	// it does not exist or was deleted.
	DeleteWebhook(ctx context.Context, id WebhookID, at time.Time) error
	// CreateWebhookDeliveries stores new deliveries (their ID is assigned
	// by the store).
	CreateWebhookDeliveries(ctx context.Context, ds []WebhookDelivery) error
	// ClaimWebhookDeliveries leases up to limit pending deliveries that are
	// due at now and not leased at now, oldest due first, until until, and
	// returns them with the new lease. Two transactions never claim the
	// same delivery while its lease holds.
	ClaimWebhookDeliveries(ctx context.Context, now, until time.Time, limit int) ([]WebhookDelivery, error)
	// UpdateWebhookDelivery stores the delivery's state, attempts, NextAt,
	// LeasedUntil, LastStatus, LastError, DeliveredAt and CreatedAt (a
	// retried dead letter starts a new retention window); ErrNotFound if it
	// does not exist.
	UpdateWebhookDelivery(ctx context.Context, d WebhookDelivery) error
	// CreateWebhookAttempt appends to a delivery's attempt log.
	CreateWebhookAttempt(ctx context.Context, a WebhookAttempt) error
}

// Head is what NextSeq returns: the Seq it allocated and the thread's
// roster version at that moment.
type Head struct {
	Seq Seq
	// Roster names one state of the thread's current participants (what
	// ListMembers returns). Every PutParticipant replaces it with a fresh
	// random non-zero value, never a counter, so a value written by a
	// transaction that rolled back is never committed by another: equal
	// rosters of one thread mean equal participants, on every node. Read
	// by NextSeq under the thread's lock, it stays current until the
	// transaction ends unless the transaction itself calls PutParticipant;
	// that is what lets the service cache a thread's members and still be
	// exact.
	Roster int64
}

// Membership is a thread and one user's membership of it.
type Membership struct {
	Thread      Thread
	Participant Participant
}

// Page is offset paging for small, slowly changing lists.
type Page struct {
	Skip  int
	Limit int // 0 means no limit
}

// ThreadFilter selects threads for ListThreads.
type ThreadFilter struct {
	// UpdatedAfter keeps threads with activity after it; zero keeps all.
	UpdatedAfter time.Time
	Page
}

// MessageFilter describes a window of a thread's messages. The service
// builds it from the caller's visibility; the store only applies it.
type MessageFilter struct {
	// Oldest returns messages oldest first; otherwise newest first.
	Oldest bool
	// After, if > 0, keeps messages with Seq > After.
	After Seq
	// Before, if > 0, keeps messages with Seq < Before.
	Before Seq
	// UpTo, if > 0, keeps messages with Seq <= UpTo.
	UpTo Seq
	// CreatedFrom keeps messages created at or after it; zero keeps all.
	CreatedFrom time.Time
	// Limit caps the number returned; it must be > 0.
	Limit int
}

// RequestFilter selects request-log rows.
type RequestFilter struct {
	Caller UserID
	Thread ThreadID
	Since  time.Time
	Until  time.Time
	Reason Reason
	// Operation keeps the rows of one operation (SendChatMessage); empty
	// keeps all.
	Operation string
	Limit     int
}

// Clock tells the time and waits. Inject one everywhere time decides
// behaviour (token expiry, heartbeats, timeouts, backoff, retention, the
// doctor's "now"); never call time.Now or time.NewTimer there, so that a
// test can move time instead of sleeping and can run on any date.
// Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current wall-clock time.
	Now() time.Time
	// NewTimer returns a Timer that fires once, d from now; a d of zero or
	// less fires at once. Intervals measured with timers do not jump when
	// the wall clock is set.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	// C returns the channel the timer sends the time on when it fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether it stopped
	// the timer (false if it had already fired or been stopped).
	Stop() bool
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time, truncated to milliseconds, in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// NewTimer returns a real timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

package herald

import (
	"encoding/json"
	"time"
)

// UserID identifies an identity (a user of the chat).
type UserID string

// ThreadID identifies a chat thread.
type ThreadID string

// MessageID identifies a message within Herald (unique across threads).
type MessageID string

// TokenID is the jti of an access token. The token itself is never stored.
type TokenID string

// Seq is a thread's gap-free, strictly increasing event sequence number.
// The first event of a thread has Seq 1. Order by Seq, never by clock time.
type Seq int64

// Scope is an access-token scope.
type Scope string

// The scopes, as in ACS.
const (
	ScopeChat            Scope = "chat"              // everything
	ScopeChatJoin        Scope = "chat.join"         // no create, update or delete of threads
	ScopeChatJoinLimited Scope = "chat.join.limited" // chat.join, and no add or remove of participants
)

// Valid reports whether s is one of the known scopes.
func (s Scope) Valid() bool {
	return s == ScopeChat || s == ScopeChatJoin || s == ScopeChatJoinLimited
}

// Identity is a user known to Herald. A deleted identity keeps its record
// (DeletedAt set) as evidence; it can no longer act.
type Identity struct {
	ID UserID
	// DisplayName is optional (a Herald extension): the default display
	// name of the user's participations.
	DisplayName       string
	CreatedAt         time.Time
	DeletedAt         time.Time // zero while the identity exists
	LastTokenIssuedAt time.Time // zero until a token is issued
}

// Deleted reports whether the identity was deleted.
func (i Identity) Deleted() bool { return !i.DeletedAt.IsZero() }

// Person is a user as another user finds them: an id and a name.
type Person struct {
	ID          UserID
	DisplayName string
}

// Token is an entry of the token issue log: what was issued, never the
// token string itself.
type Token struct {
	ID        TokenID
	UserID    UserID
	Scopes    []Scope
	IssuedAt  time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero unless revoked
}

// Revoked reports whether the token was revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// HasScope reports whether the token carries scope s.
func (t Token) HasScope(s Scope) bool {
	for _, have := range t.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

// Thread is a chat thread.
type Thread struct {
	ID        ThreadID
	Topic     string
	Metadata  map[string]string
	CreatedBy UserID
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time // zero while the thread exists
	DeletedBy UserID
	// LastSeq is the Seq of the thread's newest event.
	LastSeq Seq
	// LastMessageAt is when the newest message (of any type) was committed.
	LastMessageAt time.Time
}

// Deleted reports whether the thread was deleted.
func (t Thread) Deleted() bool { return !t.DeletedAt.IsZero() }

// Member is a current participant as the recipients of an event are
// decided: who, and from when the history is shared with them.
type Member struct {
	UserID           UserID
	ShareHistoryTime time.Time // zero shares the whole history
}

// Participant is a user's membership of a thread, current or past.
type Participant struct {
	ThreadID    ThreadID
	UserID      UserID
	DisplayName string
	Metadata    map[string]string
	// ShareHistoryTime is the time from which the thread's history is shared
	// with the participant; zero shares the whole history.
	ShareHistoryTime time.Time
	AddedAt          time.Time
	AddedBy          UserID
	AddedSeq         Seq       // the event that added the participant
	RemovedAt        time.Time // zero while a participant
	RemovedBy        UserID
	RemovedSeq       Seq // the event that removed the participant; 0 while a participant
}

// Removed reports whether the participant was removed.
func (p Participant) Removed() bool { return p.RemovedSeq != 0 }

// MessageType is the type of a message, as in ACS.
type MessageType string

// The message types. Users send text and html; Herald writes the others.
const (
	MessageText               MessageType = "text"
	MessageHTML               MessageType = "html"
	MessageTopicUpdated       MessageType = "topicUpdated"
	MessageParticipantAdded   MessageType = "participantAdded"
	MessageParticipantRemoved MessageType = "participantRemoved"
)

// System reports whether t is written by Herald rather than a user.
func (t MessageType) System() bool { return t != MessageText && t != MessageHTML }

// Message is a chat message or a system message.
type Message struct {
	ID                MessageID
	ThreadID          ThreadID
	Seq               Seq // the Seq of the event that created it
	Type              MessageType
	SenderID          UserID // the initiator for system messages
	SenderDisplayName string
	Content           string
	Metadata          map[string]string
	// Topic is set on topicUpdated messages.
	Topic string
	// Participants is set on participantAdded and participantRemoved messages.
	Participants []UserID
	CreatedAt    time.Time
	EditedAt     time.Time // zero unless edited
	DeletedAt    time.Time // zero unless deleted
	// Version starts at 1 and grows with every edit and the deletion.
	Version int64
	// ClientMessageID is the sender's idempotency key; empty if none.
	ClientMessageID string
	// BodyHash fingerprints the send request, to tell a retry from a reuse.
	BodyHash string
}

// Deleted reports whether the message was deleted.
func (m Message) Deleted() bool { return !m.DeletedAt.IsZero() }

// EventType names a thread event; the names are ACS's real-time event names.
type EventType string

// The sequenced thread events. Typing indicators and read receipts are not
// sequenced: they are ephemeral signals, not history.
const (
	EventMessageReceived         EventType = "chatMessageReceived"
	EventMessageEdited           EventType = "chatMessageEdited"
	EventMessageDeleted          EventType = "chatMessageDeleted"
	EventThreadCreated           EventType = "chatThreadCreated"
	EventThreadPropertiesUpdated EventType = "chatThreadPropertiesUpdated"
	EventThreadDeleted           EventType = "chatThreadDeleted"
	EventParticipantsAdded       EventType = "participantsAdded"
	EventParticipantsRemoved     EventType = "participantsRemoved"
	EventTypingIndicatorReceived EventType = "typingIndicatorReceived"
	EventReadReceiptReceived     EventType = "readReceiptReceived"
)

// EventTypes returns every event type a real-time client can handle, in
// the order above: what a client that wants everything declares in hello.
func EventTypes() []EventType {
	return []EventType{EventMessageReceived, EventMessageEdited, EventMessageDeleted, EventThreadCreated,
		EventThreadPropertiesUpdated, EventThreadDeleted, EventParticipantsAdded, EventParticipantsRemoved,
		EventTypingIndicatorReceived, EventReadReceiptReceived}
}

// Event is one entry of a thread's sequenced history. Every change to a
// thread appends exactly one Event, whose Seq is allocated in the same
// transaction that commits the change.
type Event struct {
	ThreadID  ThreadID
	Seq       Seq
	Type      EventType
	MessageID MessageID // for message events and system messages
	Actor     UserID    // who caused it
	At        time.Time
	// Users lists the participants added or removed, for membership events.
	Users []UserID
	// Data holds type-specific details as JSON (for example the new topic).
	Data json.RawMessage
}

// ReadReceipt records the newest message a user has read in a thread.
type ReadReceipt struct {
	ThreadID  ThreadID
	UserID    UserID
	MessageID MessageID
	ReadAt    time.Time
}

// Request is one row of the request log: every API call, with its outcome.
// It is the evidence the doctor reads for 401, 403 and 404 answers.
type Request struct {
	ID        int64
	At        time.Time
	RequestID string
	Caller    UserID // empty for admin or unauthenticated calls
	TokenID   TokenID
	Operation string
	ThreadID  ThreadID
	MessageID MessageID
	Status    int
	Reason    Reason
	Duration  time.Duration
}

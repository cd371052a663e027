package wire

import (
	"encoding/json"
	"time"
)

// ProtocolVersion is the version of the real-time frames. A client says
// which version it speaks in hello; the server refuses others with close
// code CloseUnsupportedVersion.
const ProtocolVersion = 1

// MaxFrameBytes bounds one client frame.
const MaxFrameBytes = 64 << 10

// Frame types, client to server.
const (
	FrameHello   = "hello"   // first frame: version, cursor, handled event types
	FrameAck     = "ack"     // the app's handlers received everything up to seq, per thread
	FrameRefresh = "refresh" // a new access token for this connection
	FramePing    = "ping"    // either side: are you there?
	FramePong    = "pong"    // either side: yes
)

// Frame types, server to client.
const (
	FrameWelcome       = "welcome"       // answer to hello: connection id, resume outcome per thread
	FrameEvent         = "event"         // a thread event; sequenced ones carry seq
	FrameCaughtUp      = "caughtUp"      // every thread has been replayed up to its head at connect
	FrameTokenExpiring = "tokenExpiring" // the token expires soon; send refresh
	FrameRefreshed     = "refreshed"     // the refresh was accepted
	FrameError         = "error"         // a frame was refused; the connection stays open
	FrameClose         = "close"         // SSE and long-polling: the server closes, with code and reason
)

// ClientFrame is a frame from client to server. Type says which fields
// are set.
type ClientFrame struct {
	Type string `json:"type"`
	// hello
	Version int              `json:"v,omitempty"`
	Cursor  map[string]int64 `json:"cursor,omitempty"`  // threadId → last seq the client has
	Resume  bool             `json:"resume,omitempty"`  // replay what was missed (cursor, and threads joined while away)
	Handles []string         `json:"handles,omitempty"` // event types the app has handlers for
	// ack
	Acks []Ack `json:"acks,omitempty"`
	// refresh
	Token string `json:"token,omitempty"`
}

// Ack says the app received every event of a thread up to Seq.
type Ack struct {
	ThreadID string `json:"threadId"`
	Seq      int64  `json:"seq"`
}

// ServerFrame is a frame from server to client. Type says which fields
// are set.
type ServerFrame struct {
	Type string `json:"type"`
	// welcome
	Version        int                     `json:"v,omitempty"`
	ConnectionID   string                  `json:"connectionId,omitempty"`
	ConnectionKey  string                  `json:"connectionKey,omitempty"` // SSE and long-polling: authorizes POSTed frames
	Transport      string                  `json:"transport,omitempty"`
	HeartbeatMs    int64                   `json:"heartbeatMs,omitempty"`
	TimeoutMs      int64                   `json:"timeoutMs,omitempty"`
	Resumed        *bool                   `json:"resumed,omitempty"`
	Threads        map[string]ThreadResume `json:"threads,omitempty"`
	TokenExpiresOn *time.Time              `json:"tokenExpiresOn,omitempty"`
	// event
	ThreadID string          `json:"threadId,omitempty"`
	Seq      int64           `json:"seq,omitempty"` // 0 for unsequenced events (typing, read receipts)
	Event    string          `json:"event,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	// tokenExpiring, refreshed
	ExpiresOn *time.Time `json:"expiresOn,omitempty"`
	// error
	Error *ErrorBody `json:"error,omitempty"`
	// close (SSE, long-polling)
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ThreadResume is the outcome of resuming one thread.
type ThreadResume struct {
	Resumed bool   `json:"resumed"`
	Reason  string `json:"reason,omitempty"` // why not: cursor_ahead, thread_not_found, history_pruned
	From    int64  `json:"from"`             // where delivery starts: the client's cursor, or the head
	To      int64  `json:"to"`               // the thread's head (as the user may see it) when the connection opened
	// Ended says nothing more will come from the thread to this user
	// (removed, or the thread deleted): drop it once To is reached.
	Ended bool `json:"ended,omitempty"`
}

// HeaderConnectionKey carries welcome.connectionKey on frames POSTed for
// an SSE or long-polling connection, and on polls.
const HeaderConnectionKey = "X-Herald-Connection-Key"

// Resume failure reasons.
const (
	ResumeCursorAhead    = "cursor_ahead"     // the cursor is past the thread's head
	ResumeThreadNotFound = "thread_not_found" // not a thread of this user
	ResumeHistoryPruned  = "history_pruned"   // events after the cursor are past retention
)

// EventData is the payload of an event frame. Fields are set by event type:
// message events carry Message; thread events carry Thread; membership
// events carry Participants; typing and read receipts carry the sender and
// ChatMessageID.
type EventData struct {
	Message      *ChatMessage          `json:"message,omitempty"`
	Thread       *ChatThreadProperties `json:"thread,omitempty"`
	Participants []ChatParticipant     `json:"participants,omitempty"`
	// Actor is who caused the event (sender, creator, adder, remover, deleter).
	Actor *CommunicationIdentifier `json:"actor,omitempty"`
	// At is when the event happened (createdOn, editedOn, deletedOn, ...).
	At                time.Time `json:"at"`
	SenderDisplayName string    `json:"senderDisplayName,omitempty"`
	ChatMessageID     string    `json:"chatMessageId,omitempty"`
}

// Close codes. 4000–4099: reconnect (with backoff) and resume; nothing is
// lost. 4100–4199: terminal; reconnecting with the same credentials fails
// the same way until the cause is fixed. Standard codes 1003, 1007 and
// 1009 are used for binary, invalid UTF-8 and oversized frames (terminal).
const (
	CloseGoingAway        = 4000 // the server is shutting down or restarting
	CloseHeartbeatTimeout = 4001 // nothing heard from the peer within the timeout
	CloseSlowConsumer     = 4002 // the client did not read fast enough; resume to recover
	CloseResync           = 4003 // the server cannot continue this stream; resume to recover

	CloseProtocolError      = 4100 // a malformed or unexpected frame
	CloseTokenExpired       = 4101 // the access token expired without a refresh
	CloseTokenRevoked       = 4102 // the access token was revoked
	CloseIdentityDeleted    = 4103 // the identity was deleted
	CloseAuthTimeout        = 4104 // no hello within the timeout
	CloseUnsupportedVersion = 4105 // the hello asked for a protocol version the server lacks

	CloseUnsupportedData = 1003 // a binary frame
	CloseInvalidPayload  = 1007 // a text frame that is not valid UTF-8
	CloseMessageTooBig   = 1009 // a frame larger than MaxFrameBytes
)

// Reconnect reports whether a client should reconnect after close code c.
func Reconnect(c int) bool {
	return (c >= 4000 && c < 4100) || c == 1001 || c == 1006 || c == 1011 || c == 1012 || c == 1013
}

// Transports.
const (
	TransportWebSocket = "websocket"
	TransportSSE       = "sse"
	TransportLongPoll  = "longpoll"
)

// Ticket answers POST /realtime/tickets: a short-lived, single-use
// credential for a browser's WebSocket or EventSource, which cannot send an
// Authorization header. A long-lived token never goes in a URL.
type Ticket struct {
	Ticket    string    `json:"ticket"`
	ExpiresOn time.Time `json:"expiresOn"`
}

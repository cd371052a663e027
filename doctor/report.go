package doctor

import (
	"time"

	"github.com/herald-chat/herald"
)

// Verdict is the outcome of one check.
type Verdict string

// The verdicts.
const (
	Confirmed    Verdict = "confirmed"
	RuledOut     Verdict = "ruled_out"
	Inconclusive Verdict = "inconclusive"
)

// Tag is the playbook's evidence tag: how the verdict was reached.
type Tag string

// The tags, as the playbook uses them.
const (
	Observed   Tag = "Observed"   // read directly from a record
	Measured   Tag = "Measured"   // read from current state
	Correlated Tag = "Correlated" // two signals that co-occur
	Inferred   Tag = "Inferred"   // deduced when the others are ruled out
)

// Check names a hypothesis. The names are stable API (JSON output).
type Check string

// The checks, in the order the playbook and Herald list them.
const (
	CheckIdentityDeleted   Check = "identity_deleted"
	CheckTokenRevoked      Check = "token_revoked"
	CheckTokenExpired      Check = "token_expired"
	CheckNotParticipant    Check = "not_participant"
	CheckParticipantRemove Check = "participant_removed"
	CheckThreadDeleted     Check = "thread_deleted"
	CheckHistoryNotShared  Check = "history_not_shared"
	CheckMessageDeleted    Check = "message_deleted"
	CheckSendRejected      Check = "send_rejected"
	CheckSlowConsumer      Check = "slow_consumer"
	CheckNetworkBlocked    Check = "network_blocks_websocket"
	CheckAppNotListening   Check = "app_not_listening"
	CheckOffline           Check = "recipient_offline"
)

// Evidence is one record a verdict rests on.
type Evidence struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"` // the table: identities, tokens, requests, participants, threads, messages, connections, deliveries, acks
	ID     string    `json:"id"`     // the row's id (token, request, connection, message, ...)
	Detail string    `json:"detail"`
}

// Finding is the result of one check.
type Finding struct {
	Check      Check      `json:"check"`
	Title      string     `json:"title"`
	Verdict    Verdict    `json:"verdict"`
	Tag        Tag        `json:"tag"`
	Reason     string     `json:"reason,omitempty"` // Herald's reason code, when one applies
	Summary    string     `json:"summary"`
	Evidence   []Evidence `json:"evidence"`
	Mitigation string     `json:"mitigation,omitempty"`
}

// Delivery describes a delivery that happened.
type Delivery struct {
	ConnectionID string     `json:"connectionId"`
	Transport    string     `json:"transport"`
	PushedAt     time.Time  `json:"pushedAt"`
	AckedAt      *time.Time `json:"ackedAt,omitempty"`
	// LatencyMs is from the message's commit to the push.
	LatencyMs int64 `json:"latencyMs"`
	// AckMs is from the push to the acknowledgement.
	AckMs *int64 `json:"ackMs,omitempty"`
}

// Report is the doctor's answer. Findings come likeliest cause first:
// confirmed ones, then inconclusive, then ruled out.
type Report struct {
	Version     int       `json:"version"`
	GeneratedAt time.Time `json:"generatedAt"`
	User        string    `json:"user"`
	Thread      string    `json:"thread"`
	Message     string    `json:"message,omitempty"`
	Seq         int64     `json:"seq,omitempty"`
	// Picked says how the message in question was chosen when none was
	// named: the newest message of the thread the user did not send.
	Picked string `json:"picked,omitempty"`
	// Sender and SentAt describe the message in question (never its
	// content).
	Sender string     `json:"sender,omitempty"`
	SentAt *time.Time `json:"sentAt,omitempty"`
	Since  time.Time  `json:"since"`
	// Status is one of the Status* constants.
	Status string `json:"status"`
	// Cause is the leading confirmed fault: set exactly when a check
	// other than recipient_offline is confirmed, and then it is the first
	// finding.
	Cause   Check  `json:"cause,omitempty"`
	Summary string `json:"summary"`
	// Received is how the user got the message, the strongest proof found
	// (one of the Received* constants); empty when nothing shows they did.
	Received string `json:"received,omitempty"`
	// Receipts lists every proof found, strongest first.
	Receipts  []Receipt `json:"receipts,omitempty"`
	Delivered *Delivery `json:"delivered,omitempty"`
	// Incomplete says why the evidence may miss rows (for example
	// request-log rows the store failed to write); empty when complete.
	Incomplete []string  `json:"incomplete,omitempty"`
	Findings   []Finding `json:"findings"`
}

// The statuses of a report: exactly one holds.
const (
	// StatusDelivered: the user got the message (Received says how).
	StatusDelivered = "delivered"
	// StatusNotDelivered: a fault stops the message (Cause names it).
	StatusNotDelivered = "not_delivered"
	// StatusPending: no fault; the message is stored and arrives when the
	// client resumes, or its delivery is in flight.
	StatusPending = "pending"
	// StatusUnknown: nothing shows the message arrived, and no check
	// confirmed why.
	StatusUnknown = "unknown"
	// StatusUnknownUser and StatusUnknownThread: the id asked about was
	// never created; there is nothing to diagnose.
	StatusUnknownUser   = "unknown_user"
	StatusUnknownThread = "unknown_thread"
)

// Query asks about a user in a thread, optionally about one message.
type Query struct {
	User    herald.UserID
	Thread  herald.ThreadID
	Message herald.MessageID
	// Since bounds the evidence read (request log, connections); zero
	// means 24 hours before now.
	Since time.Time
}

// ReportVersion is the version of the JSON report shape.
const ReportVersion = 1

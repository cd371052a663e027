package wire

import "time"

// The doctor's answers as JSON: GET /admin/doctor (DoctorReport),
// /admin/doctor/thread and /admin/doctor/recent (DoctorTriage) and
// /admin/events (EvidenceTable). The server's doctor package builds them,
// the Go SDK and the CLI read them; docs/doctor.md documents each field.

// Verdict is the outcome of one check.
type Verdict string

// The verdicts.
const (
	VerdictConfirmed    Verdict = "confirmed"
	VerdictRuledOut     Verdict = "ruled_out"
	VerdictInconclusive Verdict = "inconclusive"
)

// EvidenceTag is the playbook's evidence tag: how the verdict was reached.
type EvidenceTag string

// The tags, as the playbook uses them.
const (
	TagObserved   EvidenceTag = "Observed"   // read directly from a record
	TagMeasured   EvidenceTag = "Measured"   // read from current state
	TagCorrelated EvidenceTag = "Correlated" // two signals that co-occur
	TagInferred   EvidenceTag = "Inferred"   // deduced when the others are ruled out
)

// Check names a hypothesis. The names are stable API.
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

// Fault reports whether a confirmed c is a fault: every check but
// recipient_offline, which says the message will arrive.
func (c Check) Fault() bool { return c != CheckOffline }

// DoctorEvidence is one record a verdict rests on.
type DoctorEvidence struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"` // the table: identities, tokens, requests, participants, threads, messages, connections, deliveries, acks
	ID     string    `json:"id"`     // the row's id (token, request, connection, message, ...)
	Detail string    `json:"detail"`
}

// DoctorFinding is the result of one check.
type DoctorFinding struct {
	Check      Check            `json:"check"`
	Title      string           `json:"title"`
	Verdict    Verdict          `json:"verdict"`
	Tag        EvidenceTag      `json:"tag"`
	Reason     string           `json:"reason,omitempty"` // Herald's reason code, when one applies
	Summary    string           `json:"summary"`
	Evidence   []DoctorEvidence `json:"evidence"`
	Mitigation string           `json:"mitigation,omitempty"`
	// Fault is true when the check is confirmed and is a fault: it stops
	// the message (every check but recipient_offline, which says the
	// message arrives on resume). Show these as the alarm.
	Fault bool `json:"fault"`
}

// DoctorDelivery describes a delivery that happened.
type DoctorDelivery struct {
	ConnectionID string     `json:"connectionId"`
	Transport    string     `json:"transport"`
	PushedAt     time.Time  `json:"pushedAt"`
	AckedAt      *time.Time `json:"ackedAt,omitempty"`
	// LatencyMs is from the message's commit to the push.
	LatencyMs int64 `json:"latencyMs"`
	// AckMs is from the push to the acknowledgement.
	AckMs *int64 `json:"ackMs,omitempty"`
}

// DoctorWebhook is one webhook delivery of the message's event.
type DoctorWebhook struct {
	WebhookID  string `json:"webhookId"`
	DeliveryID int64  `json:"deliveryId"`
	State      string `json:"state"`
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"lastStatus,omitempty"`
	LastError  string `json:"lastError,omitempty"`
	// ForUser says whether the batch has per-user events for the user in
	// question (ChatMessageReceived with them as recipient).
	ForUser     bool       `json:"forUser"`
	DeliveredAt *time.Time `json:"deliveredAt,omitempty"`
	NextAt      *time.Time `json:"nextAttemptAt,omitempty"`
}

// How the user got the message, strongest proof first.
// DoctorReport.Received holds the strongest one found.
const (
	// ReceivedRead: the user sent a read receipt at or past the message.
	ReceivedRead = "read"
	// ReceivedAcknowledged: the message was pushed and the app
	// acknowledged it.
	ReceivedAcknowledged = "pushed_acknowledged"
	// ReceivedFetched: a REST read by the user returned it after its
	// commit.
	ReceivedFetched = "fetched"
	// ReceivedPushed: it was written to a live connection of the user, but
	// nothing says the app took it.
	ReceivedPushed = "pushed"
)

// DoctorReceipt is one proof that the user got the message, with the
// evidence row it rests on.
type DoctorReceipt struct {
	How      string         `json:"how"`
	Tag      EvidenceTag    `json:"tag"`
	Evidence DoctorEvidence `json:"evidence"`
}

// DoctorReport is the doctor's answer for one user and message. Findings
// come likeliest cause first: confirmed ones, then inconclusive, then
// ruled out.
type DoctorReport struct {
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
	// Status is one of the DoctorStatus* constants.
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
	Receipts  []DoctorReceipt `json:"receipts,omitempty"`
	Delivered *DoctorDelivery `json:"delivered,omitempty"`
	// Webhooks lists the webhook deliveries of the message's event: a
	// server-side path, separate from the user's devices (an event that
	// reached a webhook did not necessarily reach the user, and the other
	// way round).
	Webhooks []DoctorWebhook `json:"webhooks,omitempty"`
	// Incomplete says why the evidence may miss rows (for example
	// request-log rows the store failed to write); empty when complete.
	Incomplete []string        `json:"incomplete,omitempty"`
	Findings   []DoctorFinding `json:"findings"`
}

// The statuses of a report: exactly one holds.
const (
	// DoctorStatusDelivered: the user got the message (Received says how).
	DoctorStatusDelivered = "delivered"
	// DoctorStatusNotDelivered: a fault stops the message (Cause names it).
	DoctorStatusNotDelivered = "not_delivered"
	// DoctorStatusPending: no fault; the message is stored and arrives
	// when the client resumes, or its delivery is in flight.
	DoctorStatusPending = "pending"
	// DoctorStatusUnknown: nothing shows the message arrived, and no check
	// confirmed why.
	DoctorStatusUnknown = "unknown"
	// DoctorStatusUnknownUser and DoctorStatusUnknownThread: the id asked
	// about was never created; there is nothing to diagnose.
	DoctorStatusUnknownUser   = "unknown_user"
	DoctorStatusUnknownThread = "unknown_thread"
)

// DoctorReportVersion is the version of the report's JSON shape.
const DoctorReportVersion = 1

// DoctorTriage is the answer across users: the status of each (user,
// message) pair, grouped by status and cause, faults first.
type DoctorTriage struct {
	Version     int        `json:"version"`
	GeneratedAt time.Time  `json:"generatedAt"`
	Since       time.Time  `json:"since"`
	Thread      string     `json:"thread,omitempty"`
	Message     string     `json:"message,omitempty"`
	Seq         int64      `json:"seq,omitempty"`
	Sender      string     `json:"sender,omitempty"`
	SentAt      *time.Time `json:"sentAt,omitempty"`
	// Status is ok, or unknown_thread / unknown_message when the ids name
	// nothing (then there are no groups).
	Status  string `json:"status"`
	Summary string `json:"summary"`
	// Messages is how many messages were examined, Pairs how many
	// (recipient, message) pairs.
	Messages int `json:"messages"`
	Pairs    int `json:"pairs"`
	// Incomplete says why the answer may miss pairs (limits reached);
	// empty when it covers everything asked.
	Incomplete []string      `json:"incomplete,omitempty"`
	Groups     []DoctorGroup `json:"groups"`
}

// DoctorGroup is the pairs that share a status, cause and receipt.
type DoctorGroup struct {
	Status   string `json:"status"`
	Cause    Check  `json:"cause,omitempty"`
	Received string `json:"received,omitempty"`
	Count    int    `json:"count"`
	// Pairs lists the pairs, at most a page of them (Count has them all).
	Pairs []DoctorPair `json:"pairs"`
}

// DoctorPair is one recipient and message, and what the doctor says of it.
type DoctorPair struct {
	User    string `json:"user"`
	Thread  string `json:"thread"`
	Message string `json:"message"`
	Summary string `json:"summary"`
}

// EvidenceTable is an evidence table the doctor reads, as rows of named
// columns (GET /admin/events).
type EvidenceTable struct {
	Name    string     `json:"table"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

package doctor

import (
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// The report's schema lives in package wire (the JSON that crosses the
// network), so that the Go SDK reads it without importing the doctor;
// these names keep the doctor's code in its own vocabulary.
type (
	// Verdict is the outcome of one check.
	Verdict = wire.Verdict
	// Tag is the playbook's evidence tag: how the verdict was reached.
	Tag = wire.EvidenceTag
	// Check names a hypothesis. The names are stable API (JSON output).
	Check = wire.Check
	// Evidence is one record a verdict rests on.
	Evidence = wire.DoctorEvidence
	// Finding is the result of one check.
	Finding = wire.DoctorFinding
	// Delivery describes a delivery that happened.
	Delivery = wire.DoctorDelivery
	// Report is the doctor's answer.
	Report = wire.DoctorReport
)

// The verdicts.
const (
	Confirmed    = wire.VerdictConfirmed
	RuledOut     = wire.VerdictRuledOut
	Inconclusive = wire.VerdictInconclusive
)

// The tags, as the playbook uses them.
const (
	Observed   = wire.TagObserved
	Measured   = wire.TagMeasured
	Correlated = wire.TagCorrelated
	Inferred   = wire.TagInferred
)

// The checks, in the order the playbook and Herald list them.
const (
	CheckIdentityDeleted   = wire.CheckIdentityDeleted
	CheckTokenRevoked      = wire.CheckTokenRevoked
	CheckTokenExpired      = wire.CheckTokenExpired
	CheckNotParticipant    = wire.CheckNotParticipant
	CheckParticipantRemove = wire.CheckParticipantRemove
	CheckThreadDeleted     = wire.CheckThreadDeleted
	CheckHistoryNotShared  = wire.CheckHistoryNotShared
	CheckMessageDeleted    = wire.CheckMessageDeleted
	CheckSendRejected      = wire.CheckSendRejected
	CheckSlowConsumer      = wire.CheckSlowConsumer
	CheckNetworkBlocked    = wire.CheckNetworkBlocked
	CheckAppNotListening   = wire.CheckAppNotListening
	CheckOffline           = wire.CheckOffline
)

// The statuses of a report: exactly one holds (see wire.DoctorReport).
const (
	StatusDelivered     = wire.DoctorStatusDelivered
	StatusNotDelivered  = wire.DoctorStatusNotDelivered
	StatusPending       = wire.DoctorStatusPending
	StatusUnknown       = wire.DoctorStatusUnknown
	StatusUnknownUser   = wire.DoctorStatusUnknownUser
	StatusUnknownThread = wire.DoctorStatusUnknownThread
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
const ReportVersion = wire.DoctorReportVersion

package doctor

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/herald-chat/herald"
)

// exclusive are pairs of findings that cannot both be the answer: each
// says something about the message the other denies. No report may
// confirm both.
var exclusive = [][2]Check{
	// Where the user stood when the message was sent: one answer.
	{CheckNotParticipant, CheckParticipantRemove}, {CheckNotParticipant, CheckHistoryNotShared}, {CheckParticipantRemove, CheckHistoryNotShared},
	// Pushed (the app did not take it) against not pushed (why not).
	{CheckAppNotListening, CheckNetworkBlocked}, {CheckAppNotListening, CheckSlowConsumer}, {CheckAppNotListening, CheckOffline},
	// No message was stored against what happened to the stored one.
	{CheckSendRejected, CheckMessageDeleted}, {CheckSendRejected, CheckHistoryNotShared},
}

// checkInvariants fails t unless r holds the report's invariants: exactly
// one known status; a cause exactly when a fault is confirmed, and then it
// heads the findings; every confirmed finding cites evidence; no two
// exclusive findings confirmed; "nothing to fix" never beside a fault; a
// user who got the message has no confirmed finding against it.
func checkInvariants(t *testing.T, r Report) {
	t.Helper()
	statuses := []string{StatusDelivered, StatusNotDelivered, StatusPending, StatusUnknown, StatusUnknownUser, StatusUnknownThread}
	if !slices.Contains(statuses, r.Status) {
		t.Errorf("got status %q, want one of %v", r.Status, statuses)
	}
	if r.Status == StatusUnknownUser || r.Status == StatusUnknownThread {
		if r.Cause != "" || len(r.Findings) != 0 || r.Received != "" {
			t.Errorf("unknown id: got cause %q, %d findings, received %q; want none", r.Cause, len(r.Findings), r.Received)
		}
		return
	}
	if len(r.Findings) != len(priority) {
		t.Errorf("got %d findings, want %d", len(r.Findings), len(priority))
	}
	confirmed := map[Check]bool{}
	fault := false
	for _, f := range r.Findings {
		if f.Verdict != Confirmed {
			continue
		}
		confirmed[f.Check] = true
		fault = fault || f.Check.Fault()
		if len(f.Evidence) == 0 {
			t.Errorf("%s is confirmed without evidence: %s", f.Check, f.Summary)
		}
	}
	if (r.Cause != "") != fault {
		t.Errorf("got cause %q with a confirmed fault: %v; want a cause exactly when a fault is confirmed", r.Cause, fault)
	}
	if r.Cause != "" && (r.Findings[0].Check != r.Cause || r.Findings[0].Verdict != Confirmed) {
		t.Errorf("cause %s does not head the findings (%s %s)", r.Cause, r.Findings[0].Check, r.Findings[0].Verdict)
	}
	for _, p := range exclusive {
		if confirmed[p[0]] && confirmed[p[1]] {
			t.Errorf("both %s and %s are confirmed", p[0], p[1])
		}
	}
	if confirmed[CheckOffline] && fault {
		t.Errorf("recipient_offline (nothing to fix) is confirmed beside the fault %s", r.Cause)
	}
	got := r.Received != "" && r.Received != ReceivedPushed
	if got && len(confirmed) > 0 {
		t.Errorf("the user got the message (%s) yet %v are confirmed", r.Received, confirmed)
	}
	switch r.Status {
	case StatusDelivered:
		if r.Received == "" {
			t.Errorf("delivered without a receipt")
		}
	case StatusNotDelivered:
		if r.Cause == "" || r.Received != "" {
			t.Errorf("not delivered with cause %q, received %q", r.Cause, r.Received)
		}
	default:
		if r.Cause != "" || r.Received != "" {
			t.Errorf("%s with cause %q, received %q", r.Status, r.Cause, r.Received)
		}
	}
	for _, rc := range r.Receipts {
		if rc.Evidence.Source == "" || rc.Evidence.At.IsZero() {
			t.Errorf("receipt %s lacks its evidence row: %+v", rc.How, rc.Evidence)
		}
	}
}

// TestReportProperties generates evidence at random (joins and removals in
// any order, deletions, revocations and expiries, connections cut or open,
// REST reads, read receipts, pushes and acks) and checks the invariants of
// every report.
func TestReportProperties(t *testing.T) {
	const iterations = 5_000
	rng := rand.New(rand.NewPCG(18, 2026))
	for i := range iterations {
		f := randomFacts(rng)
		r := diagnose(f)
		ok := t.Run(fmt.Sprint(i), func(t *testing.T) { checkInvariants(t, r) })
		if !ok {
			t.Fatalf("case %d: status %s cause %s received %s: %s", i, r.Status, r.Cause, r.Received, r.Summary)
		}
	}
}

// randomFacts builds the evidence of one diagnosis of bob and message 10
// (or none), around noon.
func randomFacts(rng *rand.Rand) *facts {
	noon := at("12:00:00.000")
	tm := func() time.Time { return noon.Add(-time.Duration(rng.IntN(3*3600_000)) * time.Millisecond) }
	chance := func(p float64) bool { return rng.Float64() < p }
	f := base()
	f.identityFound, f.threadFound = chance(0.97), chance(0.97)
	if chance(0.1) {
		f.identity.DeletedAt = tm()
	}
	f.tokens = nil
	for j := range rng.IntN(4) {
		issued := tm()
		tok := herald.Token{ID: herald.TokenID(fmt.Sprintf("k_%d", j)), UserID: bob, IssuedAt: issued, ExpiresAt: issued.Add(time.Duration(1+rng.IntN(3)) * time.Hour)}
		if chance(0.3) {
			tok.RevokedAt = issued.Add(time.Duration(rng.IntN(7200)) * time.Second)
		}
		f.tokens = append(f.tokens, tok)
	}
	if chance(0.15) {
		f.thread.DeletedAt, f.thread.DeletedBy = tm(), alice
	}
	// Membership: alternating adds and removals at increasing sequences.
	f.history, f.member, f.memberFound = nil, herald.Participant{}, false
	seq := herald.Seq(0)
	for j := range rng.IntN(5) {
		seq += herald.Seq(1 + rng.IntN(5))
		f.history = append(f.history, change{Seq: seq, At: tm(), By: alice, Added: j%2 == 0})
	}
	for _, c := range f.history {
		if c.Added {
			f.member = herald.Participant{ThreadID: thread, UserID: bob, AddedAt: c.At, AddedBy: c.By, AddedSeq: c.Seq}
			if chance(0.2) {
				f.member.ShareHistoryTime = tm()
			}
		} else {
			f.member.RemovedAt, f.member.RemovedBy, f.member.RemovedSeq = c.At, c.By, c.Seq
		}
		f.memberFound = true
	}
	f.historyCapped = chance(0.05)
	f.msgFound = chance(0.9)
	f.q.Message = msgID
	if !f.msgFound {
		f.msg = herald.Message{}
		if chance(0.5) {
			f.q.Message = ""
		}
	} else {
		f.msg.Seq, f.msg.CreatedAt = herald.Seq(1+rng.IntN(20)), tm()
		if chance(0.15) {
			f.msg.DeletedAt = f.msg.CreatedAt.Add(time.Minute)
		}
	}
	ops := []string{"ListChatMessages", "GetChatMessage", "SendChatMessage", "ListChatThreads", "LongPoll"}
	reasons := []herald.Reason{"", herald.ReasonTokenExpired, herald.ReasonTokenRevoked, herald.ReasonNotParticipant, herald.ReasonThreadDeleted, herald.ReasonThreadNotFound, herald.ReasonIdentityDeleted}
	f.requests = nil
	for j := range rng.IntN(6) {
		r := herald.Request{ID: int64(j), At: tm(), RequestID: fmt.Sprintf("r_%d", j), Caller: bob, Operation: ops[rng.IntN(len(ops))], ThreadID: thread, Status: 200}
		if chance(0.5) {
			r.MessageID = msgID
		}
		if chance(0.4) {
			r.Status, r.Reason = 400+rng.IntN(30), reasons[rng.IntN(len(reasons))]
		}
		f.requests = append(f.requests, r)
	}
	slices.SortFunc(f.requests, func(a, b herald.Request) int { return b.At.Compare(a.At) })
	f.threadRequests = nil
	if chance(0.3) {
		f.threadRequests = []herald.Request{{At: tm(), RequestID: "r_send", Caller: alice, Operation: "SendChatMessage", ThreadID: thread, Status: 429, Reason: herald.ReasonRateLimited}}
	}
	closeReasons := []herald.Reason{herald.ReasonClientClosed, herald.ReasonConnectionLost, herald.ReasonHeartbeatTimeout, herald.ReasonSlowConsumer, herald.ReasonTokenExpired, herald.ReasonTokenRevoked}
	f.conns = nil
	for j := range rng.IntN(4) {
		c := conn(fmt.Sprintf("c_%d", j), "09:00:00.000")
		c.OpenedAt = tm()
		if chance(0.5) {
			c.Handles = listening
		}
		if chance(0.7) {
			c.ClosedAt, c.CloseReason, c.CloseCode, c.ClosedBy = c.OpenedAt.Add(time.Duration(rng.IntN(3600))*time.Second), closeReasons[rng.IntN(len(closeReasons))], 1006, "server"
		}
		if chance(0.1) {
			c.Refused = herald.ReasonTokenExpired
		}
		f.conns = append(f.conns, c)
	}
	f.deliveries, f.acks = nil, nil
	if f.msgFound {
		for j := range rng.IntN(3) {
			p := tm()
			f.deliveries = append(f.deliveries, herald.Delivery{UserID: bob, ThreadID: thread, ConnectionID: herald.ConnectionID(fmt.Sprintf("c_%d", j)), Transport: "websocket",
				FromSeq: f.msg.Seq, ToSeq: f.msg.Seq, FirstAt: p, LastAt: p})
		}
		for j := range rng.IntN(3) {
			f.acks = append(f.acks, herald.Ack{UserID: bob, ThreadID: thread, ConnectionID: herald.ConnectionID(fmt.Sprintf("c_%d", j)), Seq: f.msg.Seq + herald.Seq(rng.IntN(3)), At: tm()})
		}
	}
	f.receipt, f.receiptSeq = herald.ReadReceipt{}, 0
	if chance(0.3) {
		f.receipt = herald.ReadReceipt{ThreadID: thread, UserID: bob, MessageID: "m_read", ReadAt: tm()}
		f.receiptSeq = herald.Seq(1 + rng.IntN(20))
		if chance(0.3) {
			f.receipt.MessageID, f.receiptSeq = msgID, f.msg.Seq
		}
	}
	f.now, f.at = noon, noon
	if f.msgFound {
		f.at = f.msg.CreatedAt
		if chance(0.1) {
			f.now = f.msg.CreatedAt.Add(time.Duration(rng.IntN(20_000)) * time.Millisecond)
		}
	}
	return f
}

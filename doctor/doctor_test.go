package doctor

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The cast of every scenario. The content strings are distinctive so that
// a report leaking any of them is caught.
const (
	bob    herald.UserID    = "u_bob"
	alice  herald.UserID    = "u_alice"
	thread herald.ThreadID  = "t_support"
	msgID  herald.MessageID = "m_five"

	secretContent = "SECRET-CONTENT-7f3a: my card number is 4111"
	secretTopic   = "SECRET-TOPIC-e21c"
	secretMeta    = "SECRET-METADATA-90bd"
	secretName    = "SECRET-DISPLAY-NAME-44aa"
)

// at is a time on the day of every scenario, from "15:04:05.000".
func at(clock string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.000", "2026-11-26 "+clock)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// base is bob, a participant since the thread's creation with a valid
// token, asked about alice's message 5 sent at 11:50; it is noon. Scenarios
// change what they need.
func base() *facts {
	now := at("12:00:00.000")
	return &facts{
		q:             Query{User: bob, Thread: thread, Message: msgID, Since: now.Add(-DefaultWindow)},
		now:           now,
		identity:      herald.Identity{ID: bob, CreatedAt: at("09:00:00.000"), LastTokenIssuedAt: at("09:00:00.000")},
		identityFound: true,
		tokens: []herald.Token{{ID: "k_bob1", UserID: bob, Scopes: []herald.Scope{herald.ScopeChat},
			IssuedAt: at("09:00:00.000"), ExpiresAt: at("09:00:00.000").Add(24 * time.Hour)}},
		thread: herald.Thread{ID: thread, Topic: secretTopic, Metadata: map[string]string{"k": secretMeta}, CreatedBy: alice,
			CreatedAt: at("09:30:00.000"), UpdatedAt: at("09:30:00.000"), LastSeq: 5, LastMessageAt: at("11:50:00.000")},
		threadFound: true,
		member: herald.Participant{ThreadID: thread, UserID: bob, DisplayName: secretName, Metadata: map[string]string{"k": secretMeta},
			AddedAt: at("09:30:00.000"), AddedBy: alice, AddedSeq: 1},
		memberFound: true,
		msg: herald.Message{ID: msgID, ThreadID: thread, Seq: 5, Type: herald.MessageText, SenderID: alice, SenderDisplayName: secretName,
			Content: secretContent, Metadata: map[string]string{"k": secretMeta}, CreatedAt: at("11:50:00.000"), Version: 1},
		msgFound: true,
	}
}

// conn is a WebSocket connection row of bob's, open unless closed is set.
func conn(id string, opened string, handles ...herald.EventType) herald.Connection {
	return herald.Connection{ID: herald.ConnectionID(id), UserID: bob, TokenID: "k_bob1", Transport: "websocket",
		OpenedAt: at(opened), Handles: handles, Node: "n1"}
}

func closed(c herald.Connection, when string, code int, reason herald.Reason, by string) herald.Connection {
	c.ClosedAt, c.CloseCode, c.CloseReason, c.ClosedBy = at(when), code, reason, by
	return c
}

var listening = []herald.EventType{herald.EventMessageReceived, herald.EventParticipantsRemoved, herald.EventThreadDeleted}

// restCalls are bob's successful REST calls, newest first, all before
// message 5 was committed (a read after it would be a receipt).
func restCalls() []herald.Request {
	return []herald.Request{
		{ID: 3, At: at("11:45:00.000"), RequestID: "r_list2", Caller: bob, TokenID: "k_bob1", Operation: "ListChatMessages", ThreadID: thread, Status: 200, Duration: 3 * time.Millisecond},
		{ID: 2, At: at("11:20:00.000"), RequestID: "r_send1", Caller: bob, TokenID: "k_bob1", Operation: "SendChatMessage", ThreadID: thread, MessageID: "m_four", Status: 201, Duration: 9 * time.Millisecond},
		{ID: 1, At: at("11:00:00.000"), RequestID: "r_list1", Caller: bob, TokenID: "k_bob1", Operation: "ListChatThreads", Status: 200, Duration: 2 * time.Millisecond},
	}
}

// pushed is the delivery run [from, to] on connection id.
func pushed(id string, from, to herald.Seq, first, last string) herald.Delivery {
	return herald.Delivery{UserID: bob, ThreadID: thread, ConnectionID: herald.ConnectionID(id), Transport: "websocket",
		FromSeq: from, ToSeq: to, FirstAt: at(first), LastAt: at(last)}
}

func ack(id string, seq herald.Seq, when string) herald.Ack {
	return herald.Ack{UserID: bob, ThreadID: thread, ConnectionID: herald.ConnectionID(id), Seq: seq, At: at(when)}
}

type scenario struct {
	name   string
	edit   func(f *facts)
	status string
	cause  Check
	// received is how the user got the message ("" for none).
	received string
	// first is the head of the findings: its check, verdict and tag.
	first   Check
	verdict Verdict
	tag     Tag
	// also lists other checks and the verdict each must have.
	also map[Check]Verdict
}

var scenarios = []scenario{
	{name: "delivered_acked", edit: func(f *facts) {
		f.conns = []herald.Connection{conn("c_one", "11:00:00.000", listening...)}
		f.requests = restCalls()
		f.deliveries = []herald.Delivery{pushed("c_one", 2, 5, "11:40:00.000", "11:50:00.012")}
		f.acks = []herald.Ack{ack("c_one", 5, "11:50:00.140")}
	}, status: "delivered", received: ReceivedAcknowledged, first: CheckIdentityDeleted, verdict: RuledOut, tag: Observed,
		also: map[Check]Verdict{CheckAppNotListening: RuledOut, CheckNetworkBlocked: RuledOut, CheckOffline: RuledOut}},

	{name: "pushed_not_acked_no_handler", edit: func(f *facts) {
		f.conns = []herald.Connection{conn("c_one", "11:00:00.000")}
		f.deliveries = []herald.Delivery{pushed("c_one", 5, 5, "11:50:00.010", "11:50:00.010")}
	}, status: "delivered", received: ReceivedPushed, cause: CheckAppNotListening, first: CheckAppNotListening, verdict: Confirmed, tag: Inferred,
		also: map[Check]Verdict{CheckOffline: RuledOut, CheckNetworkBlocked: RuledOut}},

	{name: "token_expired", edit: func(f *facts) {
		f.tokens[0].IssuedAt, f.tokens[0].ExpiresAt = at("10:00:00.000"), at("11:00:00.000")
		f.conns = []herald.Connection{closed(conn("c_one", "10:05:00.000", listening...), "11:00:00.020", 4101, herald.ReasonTokenExpired, "server")}
	}, status: "not_delivered", cause: CheckTokenExpired, first: CheckTokenExpired, verdict: Confirmed, tag: Observed,
		also: map[Check]Verdict{CheckTokenRevoked: RuledOut, CheckOffline: RuledOut}},

	{name: "token_revoked", edit: func(f *facts) {
		f.tokens[0].RevokedAt = at("11:30:00.000")
		f.conns = []herald.Connection{closed(conn("c_one", "10:05:00.000", listening...), "11:30:00.400", 4102, herald.ReasonTokenRevoked, "server")}
	}, status: "not_delivered", cause: CheckTokenRevoked, first: CheckTokenRevoked, verdict: Confirmed, tag: Observed,
		also: map[Check]Verdict{CheckTokenExpired: RuledOut, CheckOffline: RuledOut}},

	{name: "identity_deleted", edit: func(f *facts) {
		f.identity.DeletedAt = at("11:30:00.000")
		f.tokens[0].RevokedAt = at("11:30:00.000")
		f.conns = []herald.Connection{closed(conn("c_one", "10:05:00.000", listening...), "11:30:00.400", 4103, herald.ReasonIdentityDeleted, "server")}
	}, status: "not_delivered", cause: CheckIdentityDeleted, first: CheckIdentityDeleted, verdict: Confirmed, tag: Observed,
		also: map[Check]Verdict{CheckTokenRevoked: RuledOut, CheckTokenExpired: RuledOut}},

	{name: "never_participant", edit: func(f *facts) {
		f.member, f.memberFound = herald.Participant{}, false
		f.conns = []herald.Connection{conn("c_one", "11:00:00.000", listening...)}
	}, status: "not_delivered", cause: CheckNotParticipant, first: CheckNotParticipant, verdict: Confirmed, tag: Measured,
		also: map[Check]Verdict{CheckParticipantRemove: RuledOut}},

	{name: "removed_before_message", edit: func(f *facts) {
		f.member.RemovedAt, f.member.RemovedBy, f.member.RemovedSeq = at("11:40:00.000"), alice, 4
		f.conns = []herald.Connection{conn("c_one", "11:00:00.000", listening...)}
	}, status: "not_delivered", cause: CheckParticipantRemove, first: CheckParticipantRemove, verdict: Confirmed, tag: Measured,
		also: map[Check]Verdict{CheckNotParticipant: RuledOut, CheckOffline: RuledOut}},

	{name: "removed_after_message", edit: func(f *facts) {
		f.member.RemovedAt, f.member.RemovedBy, f.member.RemovedSeq = at("11:55:00.000"), alice, 6
		f.thread.LastSeq = 6
		f.conns = []herald.Connection{closed(conn("c_one", "11:00:00.000", listening...), "11:45:00.000", 1000, herald.ReasonClientClosed, "client")}
	}, status: "pending", first: CheckOffline, verdict: Confirmed, tag: Inferred,
		also: map[Check]Verdict{CheckParticipantRemove: RuledOut, CheckNetworkBlocked: RuledOut}},

	{name: "thread_deleted", edit: func(f *facts) {
		f.thread.DeletedAt, f.thread.DeletedBy, f.thread.LastSeq = at("11:55:00.000"), alice, 6
		f.conns = []herald.Connection{closed(conn("c_one", "11:00:00.000", listening...), "11:45:00.000", 1000, herald.ReasonClientClosed, "client")}
	}, status: "not_delivered", cause: CheckThreadDeleted, first: CheckThreadDeleted, verdict: Confirmed, tag: Observed,
		also: map[Check]Verdict{CheckOffline: RuledOut}},

	{name: "history_not_shared", edit: func(f *facts) {
		f.member.AddedAt, f.member.AddedSeq, f.member.ShareHistoryTime = at("11:55:00.000"), 6, at("11:55:00.000")
		f.thread.LastSeq = 6
		f.conns = []herald.Connection{conn("c_one", "11:56:00.000", listening...)}
	}, status: "not_delivered", cause: CheckHistoryNotShared, first: CheckHistoryNotShared, verdict: Confirmed, tag: Observed,
		also: map[Check]Verdict{CheckNotParticipant: RuledOut, CheckParticipantRemove: RuledOut}},

	{name: "message_deleted", edit: func(f *facts) {
		f.msg.DeletedAt, f.msg.Version, f.thread.LastSeq = at("11:52:00.000"), 2, 6
		f.conns = []herald.Connection{closed(conn("c_one", "11:00:00.000", listening...), "11:45:00.000", 1000, herald.ReasonClientClosed, "client")}
	}, status: "not_delivered", cause: CheckMessageDeleted, first: CheckMessageDeleted, verdict: Confirmed, tag: Observed,
		also: map[Check]Verdict{CheckSendRejected: RuledOut, CheckOffline: RuledOut}},

	{name: "send_rejected", edit: func(f *facts) {
		f.q.Message = ""
		f.msg, f.msgFound = herald.Message{}, false
		f.thread.LastSeq, f.thread.LastMessageAt = 1, time.Time{}
		f.conns = []herald.Connection{conn("c_one", "11:00:00.000", listening...)}
		f.threadRequests = []herald.Request{
			{ID: 12, At: at("11:50:00.300"), RequestID: "r_send3", Caller: alice, TokenID: "k_alice1", Operation: "SendChatMessage", ThreadID: thread, Status: 429, Reason: herald.ReasonRateLimited, Duration: time.Millisecond},
			{ID: 11, At: at("11:50:00.100"), RequestID: "r_send2", Caller: alice, TokenID: "k_alice1", Operation: "SendChatMessage", ThreadID: thread, Status: 429, Reason: herald.ReasonRateLimited, Duration: time.Millisecond},
			{ID: 10, At: at("09:30:00.000"), RequestID: "r_create", Caller: alice, TokenID: "k_alice1", Operation: "CreateChatThread", ThreadID: thread, Status: 201, Duration: 4 * time.Millisecond},
		}
	}, status: "not_delivered", cause: CheckSendRejected, first: CheckSendRejected, verdict: Confirmed, tag: Observed,
		also: map[Check]Verdict{CheckOffline: RuledOut, CheckMessageDeleted: RuledOut}},

	{name: "slow_consumer", edit: func(f *facts) {
		f.conns = []herald.Connection{closed(conn("c_one", "11:00:00.000", listening...), "11:50:03.000", 4002, herald.ReasonSlowConsumer, "server")}
	}, status: "not_delivered", cause: CheckSlowConsumer, first: CheckSlowConsumer, verdict: Confirmed, tag: Observed,
		also: map[Check]Verdict{CheckNetworkBlocked: RuledOut, CheckOffline: RuledOut}},

	{name: "network_blocked_no_connection", edit: func(f *facts) {
		f.requests = restCalls()
	}, status: "not_delivered", cause: CheckNetworkBlocked, first: CheckNetworkBlocked, verdict: Confirmed, tag: Correlated,
		also: map[Check]Verdict{CheckOffline: RuledOut, CheckAppNotListening: RuledOut}},

	{name: "network_blocked_connections_cut", edit: func(f *facts) {
		f.requests = append([]herald.Request{{ID: 4, At: at("11:52:00.000"), RequestID: "r_lp", Caller: bob, Operation: "LongPoll", Status: 200}}, restCalls()...)
		f.conns = []herald.Connection{
			closed(conn("c_three", "11:52:00.000", listening...), "11:52:05.000", 1006, herald.ReasonConnectionLost, "client"),
			closed(conn("c_two", "11:49:00.000", listening...), "11:49:30.000", 4001, herald.ReasonHeartbeatTimeout, "server"),
			closed(conn("c_one", "11:30:00.000", listening...), "11:31:00.000", 1006, herald.ReasonConnectionLost, "client"),
		}
	}, status: "not_delivered", cause: CheckNetworkBlocked, first: CheckNetworkBlocked, verdict: Confirmed, tag: Correlated,
		also: map[Check]Verdict{CheckOffline: RuledOut, CheckSlowConsumer: RuledOut}},

	{name: "offline", edit: func(f *facts) {}, status: "pending", first: CheckOffline, verdict: Confirmed, tag: Inferred,
		also: map[Check]Verdict{CheckNetworkBlocked: Inconclusive}},

	// Beyond the list of faults: the cases behind the fixes to delivery
	// and diagnose.
	{name: "acked_on_later_connection", edit: func(f *facts) {
		f.conns = []herald.Connection{conn("c_two", "11:51:00.000", listening...),
			closed(conn("c_one", "11:00:00.000", listening...), "11:50:02.000", 1006, herald.ReasonConnectionLost, "client")}
		f.deliveries = []herald.Delivery{pushed("c_one", 5, 5, "11:50:00.010", "11:50:00.010")}
		f.acks = []herald.Ack{ack("c_two", 5, "11:51:00.050")}
	}, status: "delivered", received: ReceivedAcknowledged, first: CheckIdentityDeleted, verdict: RuledOut, tag: Observed,
		also: map[Check]Verdict{CheckAppNotListening: RuledOut}},

	{name: "pushed_awaiting_ack", edit: func(f *facts) {
		f.msg.CreatedAt = at("11:59:50.000")
		f.conns = []herald.Connection{conn("c_one", "11:00:00.000", listening...)}
		f.deliveries = []herald.Delivery{pushed("c_one", 5, 5, "11:59:50.008", "11:59:50.008")}
	}, status: "delivered", received: ReceivedPushed, first: CheckAppNotListening, verdict: Inconclusive, tag: Inferred},

	{name: "thread_deleted_after_unacked_push", edit: func(f *facts) {
		f.thread.DeletedAt, f.thread.DeletedBy, f.thread.LastSeq = at("11:55:00.000"), alice, 6
		f.conns = []herald.Connection{conn("c_one", "11:00:00.000")}
		f.deliveries = []herald.Delivery{pushed("c_one", 5, 6, "11:50:00.010", "11:55:00.004")}
	}, status: "delivered", received: ReceivedPushed, cause: CheckThreadDeleted, first: CheckThreadDeleted, verdict: Confirmed, tag: Observed,
		also: map[Check]Verdict{CheckAppNotListening: Confirmed}},

	// Receipts beyond the real-time push (issue 18): a REST read after the
	// commit, a read receipt, an ack each prove the user got it.
	{name: "fetched_by_list", edit: func(f *facts) {
		// Bob reads over REST, holds no live connection, and sends a
		// message himself: the README walkthrough.
		f.requests = append([]herald.Request{
			{ID: 5, At: at("11:56:00.000"), RequestID: "r_send5", Caller: bob, Operation: "SendChatMessage", ThreadID: thread, MessageID: "m_six", Status: 201},
			{ID: 4, At: at("11:55:00.000"), RequestID: "r_list3", Caller: bob, Operation: "ListChatMessages", ThreadID: thread, Status: 200},
		}, restCalls()...)
	}, status: "delivered", received: ReceivedFetched, first: CheckIdentityDeleted, verdict: RuledOut, tag: Observed,
		also: map[Check]Verdict{CheckNetworkBlocked: RuledOut, CheckOffline: RuledOut}},

	{name: "fetched_by_get", edit: func(f *facts) {
		f.requests = append([]herald.Request{{ID: 4, At: at("11:51:00.000"), RequestID: "r_get", Caller: bob, Operation: "GetChatMessage", ThreadID: thread, MessageID: msgID, Status: 200}}, restCalls()...)
	}, status: "delivered", received: ReceivedFetched, first: CheckIdentityDeleted, verdict: RuledOut, tag: Observed,
		also: map[Check]Verdict{CheckNetworkBlocked: RuledOut, CheckOffline: RuledOut}},

	{name: "read_receipt_past_it", edit: func(f *facts) {
		f.conns = []herald.Connection{closed(conn("c_one", "11:00:00.000", listening...), "11:45:00.000", 1000, herald.ReasonClientClosed, "client")}
		f.receipt, f.receiptSeq = herald.ReadReceipt{ThreadID: thread, UserID: bob, MessageID: "m_seven", ReadAt: at("11:58:00.000")}, 7
	}, status: "delivered", received: ReceivedRead, first: CheckIdentityDeleted, verdict: RuledOut, tag: Observed,
		also: map[Check]Verdict{CheckOffline: RuledOut}},

	{name: "pushed_acked_and_read", edit: func(f *facts) {
		f.conns = []herald.Connection{conn("c_one", "11:00:00.000", listening...)}
		f.deliveries = []herald.Delivery{pushed("c_one", 5, 5, "11:50:00.010", "11:50:00.010")}
		f.acks = []herald.Ack{ack("c_one", 5, "11:50:00.090")}
		f.receipt, f.receiptSeq = herald.ReadReceipt{ThreadID: thread, UserID: bob, MessageID: msgID, ReadAt: at("11:50:02.000")}, 5
	}, status: "delivered", received: ReceivedRead, first: CheckIdentityDeleted, verdict: RuledOut, tag: Observed},

	// The full membership history: removed, the message sent, added again.
	{name: "removed_then_readded", edit: func(f *facts) {
		f.history = []change{{Seq: 1, At: at("09:30:00.000"), By: alice, Added: true}, {Seq: 4, At: at("11:40:00.000"), By: alice},
			{Seq: 6, At: at("11:55:00.000"), By: alice, Added: true}}
		f.member.AddedAt, f.member.AddedSeq, f.thread.LastSeq = at("11:55:00.000"), 6, 6
		f.conns = []herald.Connection{conn("c_one", "11:56:00.000", listening...)}
		// A list after the re-add does not return a message of the gap.
		f.requests = []herald.Request{{ID: 4, At: at("11:57:00.000"), RequestID: "r_list4", Caller: bob, Operation: "ListChatMessages", ThreadID: thread, Status: 200}}
	}, status: "not_delivered", cause: CheckParticipantRemove, first: CheckParticipantRemove, verdict: Confirmed, tag: Measured,
		also: map[Check]Verdict{CheckNotParticipant: RuledOut, CheckHistoryNotShared: RuledOut, CheckOffline: RuledOut}},

	{name: "in_flight", edit: func(f *facts) {
		f.msg.CreatedAt = at("11:59:59.500")
		f.conns = []herald.Connection{conn("c_one", "11:00:00.000", listening...)}
	}, status: "pending", first: CheckIdentityDeleted, verdict: RuledOut, tag: Observed},
}

// run builds the scenario's facts and diagnoses them.
func (s scenario) run() Report {
	f := base()
	s.edit(f)
	f.at = f.now
	if f.msgFound {
		f.at = f.msg.CreatedAt
	}
	return diagnose(f)
}

func TestGolden(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			r := s.run()
			var text bytes.Buffer
			if err := WriteText(&text, r); err != nil {
				t.Fatal(err)
			}
			js, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, s.name+".txt.golden", text.Bytes())
			golden(t, s.name+".json.golden", append(js, '\n'))
		})
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./doctor -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestDiagnoseVerdicts(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			r := s.run()
			if r.Status != s.status {
				t.Errorf("got status %q, want %q (%s)", r.Status, s.status, r.Summary)
			}
			if r.Cause != s.cause {
				t.Errorf("got cause %q, want %q", r.Cause, s.cause)
			}
			if r.Received != s.received {
				t.Errorf("got received %q, want %q (%+v)", r.Received, s.received, r.Receipts)
			}
			first := r.Findings[0]
			if first.Check != s.first || first.Verdict != s.verdict || first.Tag != s.tag {
				t.Errorf("got first finding %s %s [%s], want %s %s [%s]", first.Check, first.Verdict, first.Tag, s.first, s.verdict, s.tag)
			}
			for c, v := range s.also {
				if got := finding(r, c).Verdict; got != v {
					t.Errorf("%s: got %s, want %s", c, got, v)
				}
			}
		})
	}
}

func finding(r Report, c Check) Finding {
	for _, f := range r.Findings {
		if f.Check == c {
			return f
		}
	}
	return Finding{}
}

// TestReportInvariants holds for every scenario: one finding per check,
// confirmed before inconclusive before ruled out, each group in priority
// order; no confirmed verdict without evidence (and evidence is never
// null); the cause is the head of the findings whenever the app did not
// acknowledge the message; the version is 1.
func TestReportInvariants(t *testing.T) {
	rank := map[Verdict]int{Confirmed: 0, Inconclusive: 1, RuledOut: 2}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			r := s.run()
			if r.Version != ReportVersion || r.User != string(bob) || r.Thread != string(thread) {
				t.Errorf("got version %d user %s thread %s, want %d %s %s", r.Version, r.User, r.Thread, ReportVersion, bob, thread)
			}
			var checks []Check
			for i, f := range r.Findings {
				checks = append(checks, f.Check)
				if f.Evidence == nil {
					t.Errorf("%s: evidence is nil (null in JSON), want an array", f.Check)
				}
				if f.Verdict == Confirmed && len(f.Evidence) == 0 {
					t.Errorf("%s is confirmed without evidence: %s", f.Check, f.Summary)
				}
				if f.Verdict == Confirmed && f.Mitigation == "" {
					t.Errorf("%s is confirmed without a mitigation", f.Check)
				}
				for _, e := range f.Evidence {
					if e.Source == "" || e.At.IsZero() || e.Detail == "" {
						t.Errorf("%s: evidence lacks source, time or detail: %+v", f.Check, e)
					}
				}
				if i == 0 {
					continue
				}
				prev := r.Findings[i-1]
				if rank[prev.Verdict] > rank[f.Verdict] ||
					(prev.Verdict == f.Verdict && slices.Index(priority, prev.Check) > slices.Index(priority, f.Check)) {
					t.Errorf("finding %s (%s) after %s (%s): not in verdict and priority order", f.Check, f.Verdict, prev.Check, prev.Verdict)
				}
			}
			slices.Sort(checks)
			want := slices.Clone(priority)
			slices.Sort(want)
			if !slices.Equal(checks, want) {
				t.Errorf("got checks %v, want one finding per check %v", checks, want)
			}
			checkInvariants(t, r)
		})
	}
}

// TestNoContent: the report holds ids, times and reasons, never what
// people wrote (content, topic, metadata, display names).
func TestNoContent(t *testing.T) {
	for _, s := range scenarios {
		r := s.run()
		var text bytes.Buffer
		if err := WriteText(&text, r); err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{secretContent, secretTopic, secretMeta, secretName, "SECRET"} {
			if strings.Contains(text.String(), secret) || bytes.Contains(js, []byte(secret)) {
				t.Errorf("%s: the report contains %q", s.name, secret)
			}
		}
	}
}

// TestDeliveryPicksAckedRun: when the message was pushed on several
// connections, the report names the one whose app acknowledged it.
func TestDeliveryPicksAckedRun(t *testing.T) {
	f := base()
	f.at = f.msg.CreatedAt
	f.deliveries = []herald.Delivery{pushed("c_one", 5, 5, "11:50:00.010", "11:50:00.010"), pushed("c_two", 3, 7, "11:51:00.000", "11:51:00.020")}
	f.acks = []herald.Ack{ack("c_two", 7, "11:51:00.090")}
	d := f.delivery()
	if d == nil || d.ConnectionID != "c_two" || d.AckedAt == nil || !d.AckedAt.Equal(at("11:51:00.090")) || *d.AckMs != 90 {
		t.Fatalf("got %+v, want the push on c_two acknowledged 90 ms later", d)
	}
	// A push in the middle of a run is dated by the run's start.
	if !d.PushedAt.Equal(at("11:51:00.000")) {
		t.Errorf("got pushed at %v, want the run's first push", d.PushedAt)
	}
	f.acks = nil
	if d := f.delivery(); d.ConnectionID != "c_one" || d.AckedAt != nil {
		t.Errorf("got %+v, want the first push, unacknowledged", d)
	}
}

// TestUnknownIDs: an id that was never created is an answer of its own,
// not a diagnosis (issue 18: a typo was diagnosed as "Identity deleted").
func TestUnknownIDs(t *testing.T) {
	for _, c := range []struct {
		name           string
		user, thread   bool
		status, phrase string
	}{
		{"user", false, true, StatusUnknownUser, "no identity u_bob was ever created"},
		{"thread", true, false, StatusUnknownThread, "no thread t_support was ever created"},
		{"both", false, false, StatusUnknownUser, "no identity u_bob and no thread t_support"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := base()
			f.identityFound, f.threadFound = c.user, c.thread
			r := diagnose(f)
			if r.Status != c.status || r.Cause != "" || len(r.Findings) != 0 || !strings.Contains(r.Summary, c.phrase) {
				t.Errorf("got status %q cause %q, %d findings, summary %q; want %s, no cause, no findings, %q",
					r.Status, r.Cause, len(r.Findings), r.Summary, c.status, c.phrase)
			}
			var text bytes.Buffer
			if err := WriteText(&text, r); err != nil || !strings.Contains(text.String(), c.phrase) {
				t.Errorf("text report lacks %q: %v\n%s", c.phrase, err, text.String())
			}
		})
	}
}

// TestWebhookNote: what the doctor says about the webhooks of a message
// the user's devices did not get, including a delivered row without its
// time (never written so by the dispatcher, but read from a store).
func TestWebhookNote(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ws   []wire.DoctorWebhook
		want string
	}{
		{nil, ""},
		{[]wire.DoctorWebhook{{WebhookID: "wh_1", DeliveryID: 7, State: "delivered", ForUser: false, DeliveredAt: &at}}, ""},
		{[]wire.DoctorWebhook{{WebhookID: "wh_1", DeliveryID: 7, State: "delivered", ForUser: true, DeliveredAt: &at}},
			"the webhook wh_1 did get this user's event (delivery 7, " + stamp(at) + "): a server-side path, not the user's device"},
		{[]wire.DoctorWebhook{{WebhookID: "wh_1", DeliveryID: 7, State: "delivered", ForUser: true}},
			"the webhook wh_1 did get this user's event (delivery 7): a server-side path, not the user's device"},
		{[]wire.DoctorWebhook{{WebhookID: "wh_2", DeliveryID: 9, State: "dead", ForUser: true, Attempts: 11, LastError: "503"}},
			"the webhook wh_2 never got this user's event either: delivery 9 is a dead letter after 11 attempts (last: 503)"},
	}
	for i, tt := range tests {
		if got := webhookNote(tt.ws); got != tt.want {
			t.Errorf("%d: got %q, want %q", i, got, tt.want)
		}
	}
}

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/wire"
)

// The scenarios of issue 18: the doctor without false alarms.

// TestDoctorRESTReaderIsNotBlocked follows the README walkthrough: bob
// reads alice's message over REST (no live connection), then sends one
// himself. Asked without a message, the doctor takes alice's message (the
// newest bob did not send), says so, and finds it fetched — not blocked.
func TestDoctorRESTReaderIsNotBlocked(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	m := e.send(alice, th, secret)
	e.Clock.Advance(time.Second)
	e.restCalls(bob, th, "r_bob_reads")
	e.send(bob, th, "bob's own message")
	rep := e.settledDiagnose(dq{bob.ID, th, ""}, func(r doctor.Report) bool { return r.Received != "" })
	if rep.Message != m.ID || rep.Picked == "" {
		t.Errorf("got message %q picked %q, want alice's %s picked as the newest bob did not send", rep.Message, rep.Picked, m.ID)
	}
	if rep.Status != doctor.StatusDelivered || rep.Received != doctor.ReceivedFetched || rep.Cause != "" {
		t.Errorf("got status %q received %q cause %q (%s), want delivered, fetched, no cause", rep.Status, rep.Received, rep.Cause, rep.Summary)
	}
	if len(rep.Receipts) == 0 || rep.Receipts[0].Evidence.ID != "r_bob_reads" || rep.Receipts[0].Evidence.Source != "requests" {
		t.Errorf("got receipts %+v, want the list r_bob_reads as the evidence", rep.Receipts)
	}
	for _, f := range rep.Findings {
		if f.Verdict == doctor.Confirmed {
			t.Errorf("%s is confirmed (%s); want nothing confirmed for a message the user fetched", f.Check, f.Summary)
		}
	}
}

// TestDoctorReceiptsProveReceipt: a read receipt and a get of the message
// by id each prove the user got it, with their own evidence row and tag.
func TestDoctorReceiptsProveReceipt(t *testing.T) {
	e := start(t)
	alice, bob, carol := e.newUser(), e.newUser(), e.newUser()
	th := e.newThread(alice, bob, carol)
	m := e.send(alice, th, secret)
	e.Clock.Advance(time.Second)
	e.ok(e.do("POST", "/chat/threads/"+th+"/readReceipts", bob.Token, wire.SendReadReceiptRequest{ChatMessageID: m.ID}), 200, nil)
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages/"+m.ID, carol.Token, nil, wire.HeaderRequestID, "r_carol_get"), 200, nil)
	for _, c := range []struct {
		u        user
		received string
		source   string
		id       string
		tag      doctor.Tag
	}{
		{bob, doctor.ReceivedRead, "readReceipts", m.ID, doctor.Observed},
		{carol, doctor.ReceivedFetched, "requests", "r_carol_get", doctor.Observed},
	} {
		rep := e.settledDiagnose(dq{c.u.ID, th, m.ID}, func(r doctor.Report) bool { return r.Received == c.received })
		if rep.Status != doctor.StatusDelivered || rep.Received != c.received || rep.Cause != "" {
			t.Errorf("%s: got status %q received %q cause %q (%s), want delivered %s", c.received, rep.Status, rep.Received, rep.Cause, rep.Summary, c.received)
			continue
		}
		ev := rep.Receipts[0]
		if ev.Evidence.Source != c.source || ev.Evidence.ID != c.id || ev.Tag != c.tag {
			t.Errorf("%s: got receipt %+v, want a %s row %s tagged %s", c.received, ev, c.source, c.id, c.tag)
		}
	}
}

// TestDoctorUnknownIDs: a typo is not a diagnosis.
func TestDoctorUnknownIDs(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	e.send(alice, th, secret)
	for _, c := range []struct {
		q      dq
		status string
		words  string
	}{
		{dq{"u_nope", th, ""}, doctor.StatusUnknownUser, "no identity u_nope was ever created"},
		{dq{bob.ID, "t_nope", ""}, doctor.StatusUnknownThread, "no thread t_nope was ever created"},
	} {
		rep := e.diagnose(c.q)
		if rep.Status != c.status || rep.Cause != "" || len(rep.Findings) != 0 || !strings.Contains(rep.Summary, c.words) {
			t.Errorf("got status %q cause %q, %d findings, summary %q; want %s, no cause, no findings, %q",
				rep.Status, rep.Cause, len(rep.Findings), rep.Summary, c.status, c.words)
		}
	}
}

// TestDoctorRemovalWindowAfterReadd: removed, a message sent, added again.
// The message fell in the removal window: participant_removed, citing the
// removal and the re-add, not "unknown".
func TestDoctorRemovalWindowAfterReadd(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	e.remove(alice, th, bob)
	m := e.send(alice, th, secret)
	add := wire.AddParticipantsRequest{Participants: []wire.ChatParticipant{{CommunicationIdentifier: wire.Identifier(bob.ID)}}}
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token, add), 201, nil)
	rep := e.diagnose(dq{bob.ID, th, m.ID})
	if rep.Status != doctor.StatusNotDelivered || rep.Cause != doctor.CheckParticipantRemove {
		t.Fatalf("got status %q cause %q (%s), want not_delivered participant_removed", rep.Status, rep.Cause, rep.Summary)
	}
	var details []string
	for _, ev := range rep.Findings[0].Evidence {
		details = append(details, ev.Detail)
	}
	if !slices.ContainsFunc(details, func(d string) bool { return strings.HasPrefix(d, "removed by "+alice.ID) }) ||
		!slices.ContainsFunc(details, func(d string) bool { return strings.HasPrefix(d, "added by "+alice.ID) }) {
		t.Errorf("got evidence %q, want the removal and the re-add", details)
	}
}

// TestDoctorNoLagAfterDelivery: with the ledger flushed only hourly, a
// message the client just received is still reported delivered at once:
// the doctor syncs the node's ledger before reading it.
func TestDoctorNoLagAfterDelivery(t *testing.T) {
	old := hubConfig
	hubConfig.FlushEvery = time.Hour
	e := start(t)
	hubConfig = old
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	c := e.connect(bob, handlesMessages)
	defer c.close()
	m := e.send(alice, th, secret)
	c.event(string(herald.EventMessageReceived))
	rep := e.diagnose(dq{bob.ID, th, m.ID}) // once: no waiting for a flush
	if rep.Status != doctor.StatusDelivered || rep.Delivered == nil {
		t.Errorf("got status %q (%s), want delivered at once", rep.Status, rep.Summary)
	}
}

// settledDiagnose asks the doctor until done holds of its answer or the
// request log (written behind the requests) has had 5 s to land.
func (e *env) settledDiagnose(q dq, done func(doctor.Report) bool) doctor.Report {
	e.t.Helper()
	var rep doctor.Report
	eventually(e.t, 5*time.Second, "the doctor's answer", func() bool {
		rep = e.diagnose(q)
		return done(rep)
	})
	return rep
}

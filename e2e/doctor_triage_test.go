package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
)

// TestDoctorTriage asks about one message across every participant, and
// about every undelivered pair of the last hour: bob got it live, carol was
// removed before it, dave never connected.
func TestDoctorTriage(t *testing.T) {
	e := start(t)
	alice, bob, carol, dave := e.newUser(), e.newUser(), e.newUser(), e.newUser()
	th := e.newThread(alice, bob, carol, dave)
	e.remove(alice, th, carol)
	c := e.connect(bob, handlesMessages)
	defer c.close()
	m := e.send(alice, th, secret)
	c.event(string(herald.EventMessageReceived))

	want := map[string]struct {
		status string
		cause  doctor.Check
	}{
		bob.ID:   {doctor.StatusDelivered, ""},
		carol.ID: {doctor.StatusNotDelivered, doctor.CheckParticipantRemove},
		dave.ID:  {doctor.StatusPending, ""},
	}
	var tr doctor.Triage
	e.ok(e.do("GET", "/admin/doctor/thread?"+url.Values{"thread": {th}, "message": {m.ID}}.Encode(), adminKey, nil), 200, &tr)
	if tr.Message != m.ID || tr.Sender != alice.ID || tr.Pairs != 3 {
		t.Errorf("got message %q sender %q, %d pairs; want %s from %s, 3 pairs (the sender is not a recipient)", tr.Message, tr.Sender, tr.Pairs, m.ID, alice.ID)
	}
	got := map[string]doctor.Group{}
	for _, g := range tr.Groups {
		for _, p := range g.Pairs {
			got[p.User] = g
		}
		if g.Count != len(g.Pairs) {
			t.Errorf("group %s/%s: got count %d with %d pairs listed", g.Status, g.Cause, g.Count, len(g.Pairs))
		}
	}
	for u, w := range want {
		if g := got[u]; g.Status != w.status || g.Cause != w.cause {
			t.Errorf("%s: got %s/%s, want %s/%s", u, g.Status, g.Cause, w.status, w.cause)
		}
	}
	if len(tr.Groups) != 3 || tr.Groups[0].Cause != doctor.CheckParticipantRemove {
		t.Errorf("got groups %+v, want three, the fault first", tr.Groups)
	}

	// The last hour: the two pairs not delivered, grouped by cause.
	var recent doctor.Triage
	eventually(t, 5*time.Second, "the send in the request log", func() bool {
		e.ok(e.do("GET", "/admin/doctor/recent?since=1h", adminKey, nil), 200, &recent)
		return recent.Messages == 1
	})
	counts := map[string]int{}
	for _, g := range recent.Groups {
		counts[g.Status+"/"+string(g.Cause)] = g.Count
	}
	if recent.Pairs != 3 || len(counts) != 2 || counts["not_delivered/participant_removed"] != 1 || counts["pending/"] != 1 {
		t.Errorf("got %d pairs, groups %v; want 3 pairs of which not_delivered/participant_removed 1 and pending 1", recent.Pairs, counts)
	}
	text := e.do("GET", "/admin/doctor/recent?since=1h&format=text", adminKey, nil)
	if text.Status != 200 || !strings.Contains(string(text.Body), "NOT DELIVERED (PARTICIPANT REMOVED): 1") || strings.Contains(string(text.Body), secret) {
		t.Errorf("text triage: got %d\n%s", text.Status, text.Body)
	}
	e.fails(e.do("GET", "/admin/doctor/thread", adminKey, nil), 400, herald.ReasonMissingField)
}

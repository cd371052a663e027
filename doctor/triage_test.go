package doctor

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestTriageGroups: pairs are grouped by status, cause and receipt; faults
// first in priority order, then pending, unknown, and the delivered ones;
// every group counts all its pairs. The text and JSON forms are golden.
func TestTriageGroups(t *testing.T) {
	rep := func(user, status string, cause Check, received string) Report {
		return Report{User: user, Thread: string(thread), Message: string(msgID), Status: status, Cause: cause, Received: received, Summary: strings.Join(strings.Fields(status+" "+string(cause)+" "+received), " ")}
	}
	// Summaries as Diagnose writes them, "Title [Tag]: …", for the tags the
	// text must explain: Measured, Correlated and Inferred, not Observed.
	tagged := func(r Report, summary string) Report {
		r.Summary = summary
		return r
	}
	reports := []Report{
		rep("u_d1", StatusDelivered, "", ReceivedRead),
		tagged(rep("u_p1", StatusPending, "", ""), "Recipient offline (not a fault) [Inferred]: no connection of the user is open"),
		tagged(rep("u_n1", StatusNotDelivered, CheckNetworkBlocked, ""), "Network blocks the WebSocket [Correlated]: 2 REST calls succeeded, no connection opened"),
		tagged(rep("u_r1", StatusNotDelivered, CheckParticipantRemove, ""), "Participant removed [Measured]: removed at sequence 4, before the message"),
		rep("u_n2", StatusNotDelivered, CheckNetworkBlocked, ""),
		rep("u_d2", StatusDelivered, "", ReceivedPushed),
		rep("u_u1", StatusUnknown, "", ""),
		rep("u_a1", StatusDelivered, CheckAppNotListening, ReceivedPushed),
	}
	gs := group(reports, nil)
	var got []string
	for _, g := range gs {
		got = append(got, groupName(g))
		if g.Count != len(g.Pairs) {
			t.Errorf("%s: got count %d, %d pairs", groupName(g), g.Count, len(g.Pairs))
		}
	}
	want := []string{"not_delivered (participant_removed)", "not_delivered (network_blocks_websocket)", "delivered (app_not_listening)",
		"pending", "unknown", "delivered (pushed)", "delivered (read)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got groups %q, want %q", got, want)
	}
	undelivered := group(reports, func(r Report) bool { return r.Status != StatusDelivered })
	if len(undelivered) != 4 || undelivered[1].Count != 2 {
		t.Errorf("got %d undelivered groups (%+v), want 4 with network_blocks_websocket counting 2", len(undelivered), undelivered)
	}
	sent := at("11:50:00.000")
	tr := Triage{Version: ReportVersion, GeneratedAt: at("12:00:00.000"), Since: at("12:00:00.000").Add(-24 * time.Hour), Thread: string(thread),
		Message: string(msgID), Seq: 5, Sender: string(alice), SentAt: &sent, Status: "ok", Messages: 1, Pairs: len(reports), Groups: gs}
	tr.Summary = "message m_five (sequence 5) from u_alice: " + tally(gs, len(reports))
	var text bytes.Buffer
	if err := WriteTriage(&text, tr); err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(tr, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// The tags the pairs use are explained, one line each; the others are not.
	for tag, want := range map[Tag]bool{Observed: false, Measured: true, Correlated: true, Inferred: true} {
		if got := strings.Contains(text.String(), "\n  ["+string(tag)+"]"); got != want {
			t.Errorf("text triage explains [%s]: got %v, want %v", tag, got, want)
		}
	}
	golden(t, "triage_thread.txt.golden", text.Bytes())
	golden(t, "triage_thread.json.golden", append(js, '\n'))
}

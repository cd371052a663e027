package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

func TestThreadLifecycle(t *testing.T) {
	e := start(t)
	alice, bob, gone := e.newUser(), e.newUser(), e.newUser()
	e.ok(e.do("DELETE", "/identities/"+gone.ID, adminKey, nil), 204, nil)

	req := wire.CreateThreadRequest{Topic: "launch", Metadata: map[string]string{"k": "v"}, Participants: []wire.ChatParticipant{
		{CommunicationIdentifier: wire.Identifier(bob.ID), DisplayName: "Bob"},
		{CommunicationIdentifier: wire.CommunicationIdentifier{RawID: gone.ID}},
		{CommunicationIdentifier: wire.CommunicationIdentifier{RawID: "u_never"}},
	}}
	var created wire.CreateThreadResponse
	r := e.do("POST", "/chat/threads", alice.Token, req, wire.HeaderRepeatability, "create-1")
	e.ok(r, 201, &created)
	th := created.ChatThread
	if th.Topic != "launch" || th.CreatedByCommunicationIdentifier.UserID() != alice.ID || th.Metadata["k"] != "v" || th.SequenceID != "2" {
		t.Errorf("got %+v, want topic launch by alice with metadata, sequenceId 2 (creation and its topic)", th)
	}
	if r.Header.Get("Location") != "/chat/threads/"+th.ID {
		t.Errorf("got Location %q", r.Header.Get("Location"))
	}
	reasons := map[string]string{}
	for _, ip := range created.InvalidParticipants {
		reasons[ip.Target] = ip.Reason
	}
	if reasons[gone.ID] != string(herald.ReasonIdentityDeleted) || reasons["u_never"] != string(herald.ReasonIdentityNotFound) || len(reasons) != 2 {
		t.Errorf("got invalidParticipants %+v, want deleted and unknown identities", created.InvalidParticipants)
	}

	// Repeating the request creates nothing new; reusing the id for another body is refused.
	var again wire.CreateThreadResponse
	e.ok(e.do("POST", "/chat/threads", alice.Token, req, wire.HeaderRepeatability, "create-1"), 201, &again)
	if again.ChatThread.ID != th.ID {
		t.Errorf("repeat created thread %s, want %s", again.ChatThread.ID, th.ID)
	}
	req.Topic = "other"
	e.fails(e.do("POST", "/chat/threads", alice.Token, req, wire.HeaderRepeatability, "create-1"), 409, herald.ReasonIdempotencyKeyReused)

	var ps wire.ParticipantList
	e.ok(e.do("GET", "/chat/threads/"+th.ID+"/participants", bob.Token, nil), 200, &ps)
	if len(ps.Value) != 2 {
		t.Fatalf("got %d participants, want alice and bob", len(ps.Value))
	}

	var list wire.ThreadList
	e.ok(e.do("GET", "/chat/threads", bob.Token, nil), 200, &list)
	if len(list.Value) != 1 || list.Value[0].ID != th.ID {
		t.Fatalf("bob's threads: got %+v", list.Value)
	}

	// Topic update writes a topicUpdated system message under the next seq.
	e.ok(e.do("PATCH", "/chat/threads/"+th.ID, alice.Token, map[string]any{"topic": "launch v2"}), 204, nil)
	e.ok(e.do("PATCH", "/chat/threads/"+th.ID, alice.Token, map[string]any{"topic": "launch v2"}), 204, nil) // no change: no event
	var props wire.ChatThreadProperties
	e.ok(e.do("GET", "/chat/threads/"+th.ID, bob.Token, nil), 200, &props)
	if props.Topic != "launch v2" || props.SequenceID != "3" {
		t.Errorf("got %+v, want topic launch v2 at sequence 3", props)
	}
	// As in ACS, the history starts with the creation's system messages:
	// participantAdded (everyone added, the creator included) at 1, the
	// topic at 2; the update follows at 3.
	msgs := e.messages(bob, th.ID)
	if len(msgs) != 3 {
		t.Fatalf("got messages %+v, want participantAdded, topicUpdated, topicUpdated", msgs)
	}
	added := map[string]bool{}
	for _, p := range msgs[0].Content.Participants {
		added[p.CommunicationIdentifier.UserID()] = true
	}
	if msgs[0].Type != "participantAdded" || msgs[0].SequenceID != "1" || len(added) != 2 || !added[alice.ID] || !added[bob.ID] ||
		msgs[0].Content.InitiatorCommunicationIdentifier == nil || msgs[0].Content.InitiatorCommunicationIdentifier.UserID() != alice.ID {
		t.Errorf("first message %+v, want participantAdded of alice and bob by alice at 1", msgs[0])
	}
	if msgs[1].Type != "topicUpdated" || msgs[1].Content.Topic != "launch" || msgs[1].SequenceID != "2" {
		t.Errorf("second message %+v, want topicUpdated launch at 2", msgs[1])
	}
	if msgs[2].Type != "topicUpdated" || msgs[2].Content.Topic != "launch v2" || msgs[2].SequenceID != "3" {
		t.Errorf("third message %+v, want topicUpdated launch v2 at 3", msgs[2])
	}

	// Delete: participants see thread_deleted, strangers thread_not_found, the list shows deletedOn.
	stranger := e.newUser()
	e.ok(e.do("DELETE", "/chat/threads/"+th.ID, bob.Token, nil), 204, nil)
	e.fails(e.do("GET", "/chat/threads/"+th.ID, alice.Token, nil), 404, herald.ReasonThreadDeleted)
	e.fails(e.do("POST", "/chat/threads/"+th.ID+"/messages", alice.Token, wire.SendMessageRequest{Content: "hi"}), 404, herald.ReasonThreadDeleted)
	e.fails(e.do("GET", "/chat/threads/"+th.ID+"/messages", alice.Token, nil), 404, herald.ReasonThreadDeleted)
	e.fails(e.do("DELETE", "/chat/threads/"+th.ID, alice.Token, nil), 404, herald.ReasonThreadDeleted)
	e.fails(e.do("GET", "/chat/threads/"+th.ID, stranger.Token, nil), 404, herald.ReasonThreadNotFound)
	e.ok(e.do("GET", "/chat/threads", alice.Token, nil), 200, &list)
	if len(list.Value) != 1 || list.Value[0].DeletedOn == nil {
		t.Errorf("got %+v, want the deleted thread listed with deletedOn", list.Value)
	}
	if got := e.threadSeq(th.ID); got != createdSeq+2 {
		t.Errorf("got last seq %d after create, update, delete; want %d", got, createdSeq+2)
	}
}

func TestNonParticipantVersusRemoved(t *testing.T) {
	e := start(t)
	alice, bob, stranger := e.newUser(), e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	before := e.send(alice, th, "before removal")
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:remove", alice.Token, wire.Identifier(bob.ID)), 204, nil)
	after := e.send(alice, th, "after removal")

	// A stranger learns nothing: the same 404 as a thread that does not exist.
	nf := e.fails(e.do("GET", "/chat/threads/"+th, stranger.Token, nil), 404, herald.ReasonThreadNotFound)
	nx := e.fails(e.do("GET", "/chat/threads/t_doesnotexist", stranger.Token, nil), 404, herald.ReasonThreadNotFound)
	if nf.Code != nx.Code || nf.Reason != nx.Reason {
		t.Errorf("existing and missing thread answers differ: %+v vs %+v", nf, nx)
	}
	for _, path := range []string{"/messages", "/messages/" + before.ID, "/participants", "/readReceipts"} {
		e.fails(e.do("GET", "/chat/threads/"+th+path, stranger.Token, nil), 404, herald.ReasonThreadNotFound)
	}
	e.fails(e.do("POST", "/chat/threads/"+th+"/messages", stranger.Token, wire.SendMessageRequest{Content: "x"}), 404, herald.ReasonThreadNotFound)

	// The removed participant reads history up to the removal, nothing after, and cannot act.
	msgs := e.messages(bob, th)
	var contents []string
	for _, m := range msgs {
		if m.Type == "text" {
			contents = append(contents, m.Content.Message)
		}
	}
	if len(contents) != 1 || contents[0] != "before removal" {
		t.Errorf("removed participant sees %v, want only the message before removal", contents)
	}
	last := msgs[len(msgs)-1]
	if last.Type != "participantRemoved" {
		t.Errorf("removed participant's last visible message is %s, want the participantRemoved system message", last.Type)
	}
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages/"+before.ID, bob.Token, nil), 200, nil)
	e.fails(e.do("GET", "/chat/threads/"+th+"/messages/"+after.ID, bob.Token, nil), 403, herald.ReasonNotParticipant)
	e.fails(e.do("POST", "/chat/threads/"+th+"/messages", bob.Token, wire.SendMessageRequest{Content: "x"}), 403, herald.ReasonNotParticipant)
	e.fails(e.do("GET", "/chat/threads/"+th+"/participants", bob.Token, nil), 403, herald.ReasonNotParticipant)
	e.fails(e.do("GET", "/chat/threads/"+th, bob.Token, nil), 403, herald.ReasonNotParticipant)
	e.fails(e.do("POST", "/chat/threads/"+th+"/typing", bob.Token, nil), 403, herald.ReasonNotParticipant)
	var since wire.MessageList
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages?since="+msgs[len(msgs)-1].SequenceID, bob.Token, nil), 200, &since)
	if len(since.Value) != 0 {
		t.Errorf("since the removal: got %d messages, want 0", len(since.Value))
	}
}

func TestMessages(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	sent := e.do("POST", "/chat/threads/"+th+"/messages", alice.Token, wire.SendMessageRequest{
		Content: "<b>hi</b>", Type: "html", SenderDisplayName: "Alice", Metadata: map[string]string{"a": "1"}})
	var out wire.SendMessageResponse
	e.ok(sent, 201, &out)
	if out.SequenceID != "3" {
		t.Errorf("got sequenceId %s, want 3 (1 and 2 are the thread's creation and topic)", out.SequenceID)
	}
	var m wire.ChatMessage
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages/"+out.ID, bob.Token, nil), 200, &m)
	if m.Type != "html" || m.Content.Message != "<b>hi</b>" || m.SenderDisplayName != "Alice" || m.Metadata["a"] != "1" ||
		m.Version != "1" || m.SenderCommunicationIdentifier.UserID() != alice.ID {
		t.Errorf("got %+v", m)
	}

	// Only the sender edits or deletes.
	e.fails(e.do("PATCH", "/chat/threads/"+th+"/messages/"+out.ID, bob.Token, map[string]string{"content": "x"}), 403, herald.ReasonNotSender)
	e.fails(e.do("DELETE", "/chat/threads/"+th+"/messages/"+out.ID, bob.Token, nil), 403, herald.ReasonNotSender)
	e.ok(e.do("PATCH", "/chat/threads/"+th+"/messages/"+out.ID, alice.Token, map[string]string{"content": "edited"}), 204, nil)
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages/"+out.ID, bob.Token, nil), 200, &m)
	if m.Content.Message != "edited" || m.Version != "2" || m.EditedOn == nil {
		t.Errorf("after edit got %+v, want edited content, version 2, editedOn", m)
	}
	e.ok(e.do("DELETE", "/chat/threads/"+th+"/messages/"+out.ID, alice.Token, nil), 204, nil)
	e.ok(e.do("DELETE", "/chat/threads/"+th+"/messages/"+out.ID, alice.Token, nil), 204, nil) // idempotent
	m = wire.ChatMessage{}
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages/"+out.ID, bob.Token, nil), 200, &m)
	if m.DeletedOn == nil || m.Content != nil || m.Version != "3" {
		t.Errorf("after delete got %+v, want deletedOn, no content, version 3", m)
	}
	e.fails(e.do("PATCH", "/chat/threads/"+th+"/messages/"+out.ID, alice.Token, map[string]string{"content": "x"}), 404, herald.ReasonMessageDeleted)
	e.fails(e.do("GET", "/chat/threads/"+th+"/messages/m_nope", bob.Token, nil), 404, herald.ReasonMessageNotFound)
	if got := e.threadSeq(th); got != createdSeq+3 {
		t.Errorf("got seq %d after create, send, edit, delete; want %d", got, createdSeq+3)
	}

	// Read receipts and typing.
	e.ok(e.do("POST", "/chat/threads/"+th+"/readReceipts", bob.Token, wire.SendReadReceiptRequest{ChatMessageID: out.ID}), 200, nil)
	e.fails(e.do("POST", "/chat/threads/"+th+"/readReceipts", bob.Token, wire.SendReadReceiptRequest{ChatMessageID: "m_nope"}), 404, herald.ReasonMessageNotFound)
	var rr wire.ReadReceiptList
	e.ok(e.do("GET", "/chat/threads/"+th+"/readReceipts", alice.Token, nil), 200, &rr)
	if len(rr.Value) != 1 || rr.Value[0].ChatMessageID != out.ID || rr.Value[0].SenderCommunicationIdentifier.UserID() != bob.ID {
		t.Errorf("got receipts %+v", rr.Value)
	}
	// An older message does not move the receipt back.
	e.ok(e.do("POST", "/chat/threads/"+th+"/messages", alice.Token, wire.SendMessageRequest{Content: "newer"}), 201, nil)
	var newer wire.MessageList
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages?maxPageSize=1", bob.Token, nil), 200, &newer)
	e.ok(e.do("POST", "/chat/threads/"+th+"/readReceipts", bob.Token, wire.SendReadReceiptRequest{ChatMessageID: newer.Value[0].ID}), 200, nil)
	e.ok(e.do("POST", "/chat/threads/"+th+"/readReceipts", bob.Token, wire.SendReadReceiptRequest{ChatMessageID: out.ID}), 200, nil)
	e.ok(e.do("GET", "/chat/threads/"+th+"/readReceipts", alice.Token, nil), 200, &rr)
	if len(rr.Value) != 1 || rr.Value[0].ChatMessageID != newer.Value[0].ID {
		t.Errorf("receipt moved back: got %+v, want %s", rr.Value, newer.Value[0].ID)
	}
	e.ok(e.do("POST", "/chat/threads/"+th+"/typing", bob.Token, nil), 200, nil)
	e.ok(e.do("POST", "/chat/threads/"+th+"/typing", bob.Token, wire.TypingRequest{SenderDisplayName: "Bob"}), 200, nil)
}

func TestPagingAndSince(t *testing.T) {
	e := start(t)
	alice := e.newUser()
	th := e.newThread(alice)
	for i := range 25 {
		e.send(alice, th, fmt.Sprint("m", i))
	}
	// Newest first, pages of 10, following nextLink.
	var seqs []int
	path := "/chat/threads/" + th + "/messages?maxPageSize=10"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("nextLink does not end")
		}
		var page wire.MessageList
		e.ok(e.do("GET", path, alice.Token, nil), 200, &page)
		for _, m := range page.Value {
			n, _ := strconv.Atoi(m.SequenceID)
			seqs = append(seqs, n)
		}
		path = page.NextLink
	}
	if len(seqs) != 27 || seqs[0] != 27 || seqs[26] != 1 {
		t.Fatalf("got %v, want 27 down to 1 (25 sends after the creation's participantAdded and topicUpdated)", seqs)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]-1 {
			t.Fatalf("gap or disorder at %d: %v", i, seqs)
		}
	}
	// since: oldest first after a sequence number.
	var page wire.MessageList
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages?since=20", alice.Token, nil), 200, &page)
	if len(page.Value) != 7 || page.Value[0].SequenceID != "21" || page.Value[6].SequenceID != "27" {
		t.Errorf("since=20: got %d messages starting %v", len(page.Value), page.Value)
	}
	// startTime filters by creation time.
	e.Clock.Advance(time.Minute)
	e.send(alice, th, "later")
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages?startTime="+e.Clock.Now().Format(time.RFC3339), alice.Token, nil), 200, &page)
	if len(page.Value) != 1 || page.Value[0].Content.Message != "later" {
		t.Errorf("startTime: got %+v", page.Value)
	}
	for _, q := range []string{"maxPageSize=0", "maxPageSize=201", "maxPageSize=-1", "maxPageSize=abc"} {
		e.fails(e.do("GET", "/chat/threads/"+th+"/messages?"+q, alice.Token, nil), 400, herald.ReasonInvalidPageSize)
	}
	e.fails(e.do("GET", "/chat/threads/"+th+"/messages?since=abc", alice.Token, nil), 400, herald.ReasonInvalidCursor)
	e.fails(e.do("GET", "/chat/threads/"+th+"/messages?since=3&before=9", alice.Token, nil), 400, herald.ReasonInvalidCursor)
	e.fails(e.do("GET", "/chat/threads?maxPageSize=500", alice.Token, nil), 400, herald.ReasonInvalidPageSize)
	e.fails(e.do("GET", "/chat/threads?skip=-1", alice.Token, nil), 400, herald.ReasonInvalidCursor)

	// Skip paging (threads; participants and receipts page the same way):
	// a full page links to the next, the last page has no link.
	e.newThread(alice)
	e.newThread(alice)
	var first, second wire.ThreadList
	e.ok(e.do("GET", "/chat/threads?maxPageSize=2", alice.Token, nil), 200, &first)
	if len(first.Value) != 2 || first.NextLink == "" {
		t.Fatalf("first page: got %d threads, nextLink %q; want 2 and a link", len(first.Value), first.NextLink)
	}
	e.ok(e.do("GET", first.NextLink, alice.Token, nil), 200, &second)
	if len(second.Value) != 1 || second.NextLink != "" || second.Value[0].ID == first.Value[0].ID || second.Value[0].ID == first.Value[1].ID {
		t.Errorf("second page: got %+v, want the third thread and no link", second)
	}
}

func TestShareHistoryTime(t *testing.T) {
	e := start(t)
	alice, bob, carol := e.newUser(), e.newUser(), e.newUser()
	th := e.newThread(alice)
	early := e.send(alice, th, "early")
	e.Clock.Advance(time.Minute)
	cut := e.Clock.Now()
	e.Clock.Advance(time.Minute)
	late := e.send(alice, th, "late")
	add := wire.AddParticipantsRequest{Participants: []wire.ChatParticipant{
		{CommunicationIdentifier: wire.Identifier(bob.ID), ShareHistoryTime: &cut},
		{CommunicationIdentifier: wire.Identifier(carol.ID)},
	}}
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token, add), 201, nil)
	texts := func(u user) []string {
		var out []string
		for _, m := range e.messages(u, th) {
			if m.Type == "text" {
				out = append(out, m.Content.Message)
			}
		}
		return out
	}
	if got := texts(bob); len(got) != 1 || got[0] != "late" {
		t.Errorf("bob (history from %v) sees %v, want [late]", cut, got)
	}
	if got := texts(carol); len(got) != 2 {
		t.Errorf("carol (whole history) sees %v, want [early late]", got)
	}
	e.fails(e.do("GET", "/chat/threads/"+th+"/messages/"+early.ID, bob.Token, nil), 404, herald.ReasonMessageNotFound)
	e.ok(e.do("GET", "/chat/threads/"+th+"/messages/"+late.ID, bob.Token, nil), 200, nil)
}

func TestParticipantLimits(t *testing.T) {
	e := start(t, func(l *service.Limits) { l.MaxParticipants = 5; l.MaxAddBatch = 3 })
	alice := e.newUser()
	th := e.newThread(alice)
	add := func(users ...user) resp {
		var req wire.AddParticipantsRequest
		for _, u := range users {
			req.Participants = append(req.Participants, wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(u.ID)})
		}
		return e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token, req)
	}
	us := []user{e.newUser(), e.newUser(), e.newUser(), e.newUser(), e.newUser()}
	e.fails(add(us[:4]...), 400, herald.ReasonTooManyParticipants) // batch of 4 > 3
	e.ok(add(us[:3]...), 201, nil)
	e.ok(add(us[:3]...), 201, nil) // already there: no change
	e.ok(add(us[3]), 201, nil)     // the 5th participant
	seq := e.threadSeq(th)
	e.fails(add(us[4]), 400, herald.ReasonTooManyParticipants) // the 6th
	if got := e.threadSeq(th); got != seq {
		t.Errorf("a refused add changed the thread: seq %d → %d", seq, got)
	}
	var ps wire.ParticipantList
	e.ok(e.do("GET", "/chat/threads/"+th+"/participants", alice.Token, nil), 200, &ps)
	if len(ps.Value) != 5 {
		t.Errorf("got %d participants, want 5", len(ps.Value))
	}
	e.fails(e.do("POST", "/chat/threads/"+th+"/participants/:remove", alice.Token, wire.Identifier(us[4].ID)), 404, herald.ReasonParticipantNotFound)
}

// The default limit: the 251st participant is refused.
func TestDefaultParticipantLimit(t *testing.T) {
	e := start(t)
	alice := e.newUser()
	th := e.newThread(alice)
	var batch []wire.ChatParticipant
	for range 249 {
		var out wire.CreateIdentityResponse
		e.ok(e.do("POST", "/identities", adminKey, nil), 201, &out)
		batch = append(batch, wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(out.Identity.ID)})
	}
	e.fails(e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token, wire.AddParticipantsRequest{Participants: batch}), 400, herald.ReasonTooManyParticipants)
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token, wire.AddParticipantsRequest{Participants: batch[:200]}), 201, nil)
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token, wire.AddParticipantsRequest{Participants: batch[200:]}), 201, nil)
	last := e.newUser()
	e.fails(e.do("POST", "/chat/threads/"+th+"/participants/:add", alice.Token,
		wire.AddParticipantsRequest{Participants: []wire.ChatParticipant{{CommunicationIdentifier: wire.Identifier(last.ID)}}}), 400, herald.ReasonTooManyParticipants)
}

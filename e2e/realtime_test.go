package e2e

import (
	"fmt"
	"testing"

	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

func TestLiveDelivery(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	c, _, err := e.dialWS(bob.Token, wire.ClientFrame{Handles: []string{"chatMessageReceived"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	w := c.expect(wire.FrameWelcome)
	if w.ConnectionID == "" || w.HeartbeatMs == 0 || w.TokenExpiresOn == nil || w.Resumed != nil {
		t.Errorf("got welcome %+v", w)
	}
	c.expect(wire.FrameCaughtUp)
	sent := e.send(alice, th, "hello bob")
	f, d := c.event("chatMessageReceived")
	if f.ThreadID != th || fmt.Sprint(f.Seq) != sent.SequenceID || d.Message == nil || d.Message.Content.Message != "hello bob" || d.Message.ID != sent.ID {
		t.Errorf("got %+v %+v, want the message at seq %s", f, d.Message, sent.SequenceID)
	}
	// Typing and read receipts arrive unsequenced.
	e.ok(e.do("POST", "/chat/threads/"+th+"/typing", alice.Token, wire.TypingRequest{SenderDisplayName: "Alice"}), 200, nil)
	f, d = c.event("typingIndicatorReceived")
	if f.Seq != 0 || d.SenderDisplayName != "Alice" || d.Actor.UserID() != alice.ID {
		t.Errorf("typing: got %+v %+v", f, d)
	}
	e.ok(e.do("POST", "/chat/threads/"+th+"/readReceipts", alice.Token, wire.SendReadReceiptRequest{ChatMessageID: sent.ID}), 200, nil)
	_, d = c.event("readReceiptReceived")
	if d.ChatMessageID != sent.ID {
		t.Errorf("receipt: got %+v", d)
	}
	// Edits, deletions and topic changes are sequenced events.
	e.ok(e.do("PATCH", "/chat/threads/"+th+"/messages/"+sent.ID, alice.Token, map[string]string{"content": "edited"}), 204, nil)
	_, d = c.event("chatMessageEdited")
	if d.Message.Content.Message != "edited" || d.Message.Version != "2" {
		t.Errorf("edit: got %+v", d.Message)
	}
	e.ok(e.do("DELETE", "/chat/threads/"+th+"/messages/"+sent.ID, alice.Token, nil), 204, nil)
	c.event("chatMessageDeleted")
	e.ok(e.do("PATCH", "/chat/threads/"+th, alice.Token, map[string]string{"topic": "new"}), 204, nil)
	_, d = c.event("chatThreadPropertiesUpdated")
	if d.Thread == nil || d.Thread.Topic != "new" {
		t.Errorf("topic: got %+v", d.Thread)
	}
	// A thread created with bob arrives as chatThreadCreated.
	th2 := e.newThread(alice, bob)
	f, d = c.event("chatThreadCreated")
	if f.ThreadID != th2 || f.Seq != 1 || len(d.Participants) != 2 {
		t.Errorf("created: got %+v %+v", f, d)
	}
}

func TestResume(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	kept := e.newThread(alice, bob)
	left := e.newThread(alice, bob)
	doomed := e.newThread(alice, bob)
	first := e.send(alice, kept, "before")

	c, _, err := e.dialWS(bob.Token, wire.ClientFrame{})
	if err != nil {
		t.Fatal(err)
	}
	c.expect(wire.FrameWelcome)
	c.expect(wire.FrameCaughtUp)
	e.send(alice, kept, "live")
	f, _ := c.event("chatMessageReceived")
	cursor := map[string]int64{kept: f.Seq, left: createdSeq, doomed: createdSeq}
	c.close()

	// While bob is away: messages, an edit, a deletion, a new thread,
	// a removal and a thread deletion.
	var sent []string
	for i := range 5 {
		sent = append(sent, e.send(alice, kept, fmt.Sprint("away ", i)).ID)
	}
	e.ok(e.do("PATCH", "/chat/threads/"+kept+"/messages/"+first.ID, alice.Token, map[string]string{"content": "edited away"}), 204, nil)
	e.ok(e.do("DELETE", "/chat/threads/"+kept+"/messages/"+sent[0], alice.Token, nil), 204, nil)
	joined := e.newThread(alice, bob)
	e.send(alice, joined, "in the new thread")
	e.ok(e.do("POST", "/chat/threads/"+left+"/participants/:remove", alice.Token, wire.Identifier(bob.ID)), 204, nil)
	e.send(alice, left, "after bob left") // bob must not get this
	e.ok(e.do("DELETE", "/chat/threads/"+doomed, alice.Token, nil), 204, nil)

	c, _, err = e.dialWS(bob.Token, wire.ClientFrame{Resume: true, Cursor: cursor})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	w := c.expect(wire.FrameWelcome)
	if w.Resumed == nil || !*w.Resumed {
		t.Fatalf("got resumed %v (%+v), want true", w.Resumed, w.Threads)
	}
	got := map[string][]string{}
	lastSeq := map[string]int64{}
	for {
		f := c.next()
		if f.Type == wire.FrameCaughtUp {
			break
		}
		if f.Type != wire.FrameEvent {
			t.Fatalf("got %s during replay", f.Type)
		}
		if f.Seq != lastSeq[f.ThreadID]+1 && lastSeq[f.ThreadID] != 0 {
			t.Errorf("thread %s: seq %d after %d", f.ThreadID, f.Seq, lastSeq[f.ThreadID])
		}
		lastSeq[f.ThreadID] = f.Seq
		got[f.ThreadID] = append(got[f.ThreadID], f.Event)
	}
	want := map[string][]string{
		kept:   {"chatMessageReceived", "chatMessageReceived", "chatMessageReceived", "chatMessageReceived", "chatMessageReceived", "chatMessageEdited", "chatMessageDeleted"},
		joined: {"chatThreadCreated", "chatThreadPropertiesUpdated", "chatMessageReceived"}, // the topic at 2, as in ACS
		left:   {"participantsRemoved"},
		doomed: {"chatThreadDeleted"},
	}
	for th, evs := range want {
		if fmt.Sprint(got[th]) != fmt.Sprint(evs) {
			t.Errorf("thread %s: replayed %v, want %v", th, got[th], evs)
		}
	}
	// Live continues after the replay, with no duplicate at the hand-over,
	// and nothing from the thread bob left or the deleted one.
	e.send(alice, left, "still not for bob")
	m := e.send(alice, kept, "after resume")
	f, _ = c.event("chatMessageReceived")
	if fmt.Sprint(f.Seq) != m.SequenceID || f.ThreadID != kept {
		t.Errorf("got %s seq %d, want %s seq %s", f.ThreadID, f.Seq, kept, m.SequenceID)
	}
	// No duplicate of it follows: the next event is the next message.
	m2 := e.send(alice, kept, "marker")
	if f, _ = c.event("chatMessageReceived"); fmt.Sprint(f.Seq) != m2.SequenceID {
		t.Errorf("got %s seq %d after the hand-over, want the marker seq %s", f.ThreadID, f.Seq, m2.SequenceID)
	}
}

func TestResumeRefused(t *testing.T) {
	e := start(t)
	alice, bob, carol := e.newUser(), e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	other := e.newThread(alice, carol)
	c, _, err := e.dialWS(bob.Token, wire.ClientFrame{Resume: true, Cursor: map[string]int64{th: 99, other: 1, "t_nope": 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	w := c.expect(wire.FrameWelcome)
	if w.Resumed == nil || *w.Resumed {
		t.Errorf("got resumed %v, want false", w.Resumed)
	}
	for id, reason := range map[string]string{th: wire.ResumeCursorAhead, other: wire.ResumeThreadNotFound, "t_nope": wire.ResumeThreadNotFound} {
		if r := w.Threads[id]; r.Resumed || r.Reason != reason {
			t.Errorf("thread %s: got %+v, want resumed=false reason %s", id, r, reason)
		}
	}
	// Nothing from carol's thread leaks, and live delivery continues from the head.
	c.expect(wire.FrameCaughtUp)
	e.send(alice, other, "not for bob")
	m := e.send(alice, th, "for bob")
	f, _ := c.event("chatMessageReceived")
	if fmt.Sprint(f.Seq) != m.SequenceID {
		t.Errorf("got seq %d, want %s", f.Seq, m.SequenceID)
	}
}

// TestResumeLongAbsence: after an absence longer than several replay pages,
// every missed event arrives before caughtUp, in order, without a live
// message to push the replay along; caughtUp means the replay reached the
// head.
func TestResumeLongAbsence(t *testing.T) {
	const missed = 1100 // more than two replay pages (500 events each)
	e := start(t, func(l *service.Limits) { l.WriteRate = 0 })
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	from := int64(e.threadSeq(th))
	e.sendMany(alice, th, missed, 4)
	c := e.connectResume(bob, map[string]int64{th: from})
	next := from + 1
	for {
		f := c.next()
		if f.Type == wire.FrameCaughtUp {
			break
		}
		if f.Type != wire.FrameEvent || f.ThreadID != th || f.Seq != next {
			t.Fatalf("got %s %s seq %d, want event seq %d of %s", f.Type, f.ThreadID, f.Seq, next, th)
		}
		next++
	}
	if got := next - from - 1; got != missed {
		t.Errorf("got %d events before caughtUp, want all %d missed", got, missed)
	}
}

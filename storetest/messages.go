package storetest

import (
	"cmp"
	"encoding/json"
	"slices"
	"testing"

	"github.com/herald-chat/herald"
)

// createMessage stores m in its own Update and returns the Update's error.
func createMessage(tb testing.TB, s herald.Store, m herald.Message) error {
	tb.Helper()
	return s.Update(tb.Context(), func(tx herald.Tx) error { return tx.CreateMessage(tb.Context(), m) })
}

// testMessage: messages round-trip every field and are found by id within
// their thread and by their sender's idempotency key.
func testMessage(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))
	text := herald.Message{
		ID: "m_text", ThreadID: "t_a", Seq: 1, Type: herald.MessageHTML, SenderID: "u_a",
		SenderDisplayName: "Ann", Content: "<p>héllo ✓</p>", Metadata: map[string]string{"x": "1", "y": ""},
		CreatedAt: at(1001), EditedAt: at(2002), DeletedAt: at(3003), Version: 3,
		ClientMessageID: "c_1", BodyHash: "sha256:abc",
	}
	system := herald.Message{
		ID: "m_system", ThreadID: "t_a", Seq: 2, Type: herald.MessageParticipantAdded, SenderID: "u_a",
		Topic: "a topic", Participants: []herald.UserID{"u_b", "u_c"}, CreatedAt: at(4004), Version: 1,
	}
	for _, m := range []herald.Message{text, system} {
		if err := createMessage(t, s, m); err != nil {
			t.Fatalf("CreateMessage(%s): got error %v, want nil", m.ID, err)
		}
		got, err := s.GetMessage(ctx, m.ThreadID, m.ID)
		if err != nil {
			t.Fatalf("GetMessage(%s): got error %v, want nil", m.ID, err)
		}
		wantDiff(t, "GetMessage("+string(m.ID)+")", m, got)
	}
	got, err := s.GetMessageByClientID(ctx, "t_a", "u_a", "c_1")
	if err != nil {
		t.Fatalf("GetMessageByClientID: got error %v, want nil", err)
	}
	wantDiff(t, "GetMessageByClientID", text, got)

	// GetMessages: both at once, whole; ids of another thread or of nothing
	// are left out; no ids, no messages.
	many, err := s.GetMessages(ctx, "t_a", []herald.MessageID{"m_system", "m_missing", "m_text"})
	if err != nil {
		t.Fatalf("GetMessages: got error %v, want nil", err)
	}
	slices.SortFunc(many, func(a, b herald.Message) int { return cmp.Compare(a.ID, b.ID) })
	wantDiff(t, "GetMessages", []herald.Message{system, text}, many)
	if other, err := s.GetMessages(ctx, "t_b", []herald.MessageID{"m_text"}); err != nil || len(other) != 0 {
		t.Errorf("GetMessages in the wrong thread: got %v, %v, want none", other, err)
	}
	if none, err := s.GetMessages(ctx, "t_a", nil); err != nil || len(none) != 0 {
		t.Errorf("GetMessages of no ids: got %v, %v, want none", none, err)
	}

	_, err = s.GetMessage(ctx, "t_b", "m_text")
	wantErr(t, "GetMessage in the wrong thread", err, herald.ErrNotFound)
	_, err = s.GetMessageByClientID(ctx, "t_b", "u_a", "c_1")
	wantErr(t, "GetMessageByClientID in the wrong thread", err, herald.ErrNotFound)
	_, err = s.GetMessageByClientID(ctx, "t_a", "u_b", "c_1")
	wantErr(t, "GetMessageByClientID of another sender", err, herald.ErrNotFound)
	_, err = s.GetMessageByClientID(ctx, "t_a", "u_a", "")
	wantErr(t, "GetMessageByClientID of the empty key", err, herald.ErrNotFound)
}

// testMessageConflicts: a message id, a (thread, Seq) and a sender's
// non-empty idempotency key in a thread are each used once.
func testMessageConflicts(t *testing.T, s herald.Store) {
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))
	msg := func(id herald.MessageID, thread herald.ThreadID, seq herald.Seq, sender herald.UserID, clientID string) herald.Message {
		return herald.Message{ID: id, ThreadID: thread, Seq: seq, Type: herald.MessageText, SenderID: sender,
			Content: string(id), CreatedAt: at(int(seq)), Version: 1, ClientMessageID: clientID}
	}
	tests := []struct {
		name string
		m    herald.Message
		want *herald.Error // nil: stored
	}{
		{"first", msg("m_1", "t_a", 1, "u_a", "c_1"), nil},
		{"same key, same sender and thread", msg("m_2", "t_a", 2, "u_a", "c_1"), herald.ErrConflict},
		{"same key, other sender", msg("m_3", "t_a", 3, "u_b", "c_1"), nil},
		{"same key, other thread", msg("m_4", "t_b", 1, "u_a", "c_1"), nil},
		{"no key", msg("m_5", "t_a", 4, "u_a", ""), nil},
		{"no key again", msg("m_6", "t_a", 5, "u_a", ""), nil},
		{"used id", msg("m_1", "t_a", 6, "u_a", "c_6"), herald.ErrConflict},
		{"used id in another thread", msg("m_1", "t_b", 2, "u_a", "c_7"), herald.ErrConflict},
		{"used seq", msg("m_8", "t_a", 5, "u_a", "c_8"), herald.ErrConflict},
	}
	for _, tc := range tests {
		err := createMessage(t, s, tc.m)
		if tc.want == nil {
			if err != nil {
				t.Errorf("CreateMessage %s: got error %v, want nil", tc.name, err)
			}
			continue
		}
		wantErr(t, "CreateMessage "+tc.name, err, tc.want)
	}
	got, err := s.GetMessageByClientID(t.Context(), "t_a", "u_a", "c_1")
	if err != nil || got.ID != "m_1" {
		t.Errorf("GetMessageByClientID after conflicts: got %s and error %v, want m_1 and nil", got.ID, err)
	}
	list, err := s.ListMessages(t.Context(), "t_a", herald.MessageFilter{Limit: 100})
	if err != nil {
		t.Fatalf("ListMessages: got error %v, want nil", err)
	}
	wantDiff(t, "Seqs stored in t_a", []herald.Seq{5, 4, 3, 1}, ids(list, messageSeq))
}

// testUpdateMessage: UpdateMessage stores content, metadata, edited,
// deleted and version, and nothing else.
func testUpdateMessage(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))
	orig := sendMessages(t, s, "t_a", "u_a", 1, 1000)[0]

	edited := orig
	edited.Content, edited.Metadata, edited.EditedAt, edited.Version = "edited", map[string]string{"e": "1"}, at(2000), 2
	deleted := edited
	deleted.DeletedAt, deleted.Version = at(3000), 3
	for _, want := range []herald.Message{edited, deleted} {
		changed := want
		changed.Seq, changed.SenderID, changed.Type, changed.CreatedAt = 99, "u_other", herald.MessageHTML, at(9)
		changed.ClientMessageID, changed.BodyHash, changed.Topic = "c_other", "other", "other"
		update(t, s, func(tx herald.Tx) error { return tx.UpdateMessage(ctx, changed) })
		got, err := s.GetMessage(ctx, "t_a", orig.ID)
		if err != nil {
			t.Fatalf("GetMessage: got error %v, want nil", err)
		}
		wantDiff(t, "message after UpdateMessage", want, got)
	}

	wrongThread := edited
	wrongThread.ThreadID = "t_b"
	err := s.Update(ctx, func(tx herald.Tx) error { return tx.UpdateMessage(ctx, wrongThread) })
	wantErr(t, "UpdateMessage in the wrong thread", err, herald.ErrNotFound)
	missing := edited
	missing.ID = "m_missing"
	err = s.Update(ctx, func(tx herald.Tx) error { return tx.UpdateMessage(ctx, missing) })
	wantErr(t, "UpdateMessage of a missing message", err, herald.ErrNotFound)
}

// testListMessages: every MessageFilter field, alone and combined.
func testListMessages(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))
	// Seq n of t_a is created at n*1000 ms; t_b's messages must never show.
	sent := sendMessages(t, s, "t_a", "u_a", 10, 1000)
	sendMessages(t, s, "t_b", "u_a", 3, 1000)

	tests := []struct {
		name string
		f    herald.MessageFilter
		want []herald.Seq
	}{
		{"newest first", herald.MessageFilter{Limit: 100}, []herald.Seq{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"limit", herald.MessageFilter{Limit: 3}, []herald.Seq{10, 9, 8}},
		{"oldest", herald.MessageFilter{Oldest: true, Limit: 100}, []herald.Seq{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"oldest, limit", herald.MessageFilter{Oldest: true, Limit: 3}, []herald.Seq{1, 2, 3}},
		{"after", herald.MessageFilter{After: 7, Limit: 100}, []herald.Seq{10, 9, 8}},
		{"after, limit", herald.MessageFilter{After: 2, Limit: 3}, []herald.Seq{10, 9, 8}},
		{"oldest after", herald.MessageFilter{Oldest: true, After: 7, Limit: 100}, []herald.Seq{8, 9, 10}},
		{"oldest after, limit", herald.MessageFilter{Oldest: true, After: 2, Limit: 3}, []herald.Seq{3, 4, 5}},
		{"oldest after the end", herald.MessageFilter{Oldest: true, After: 10, Limit: 100}, nil},
		{"before", herald.MessageFilter{Before: 5, Limit: 100}, []herald.Seq{4, 3, 2, 1}},
		{"before, limit", herald.MessageFilter{Before: 5, Limit: 2}, []herald.Seq{4, 3}},
		{"before the start", herald.MessageFilter{Before: 1, Limit: 100}, nil},
		{"up to", herald.MessageFilter{UpTo: 6, Limit: 100}, []herald.Seq{6, 5, 4, 3, 2, 1}},
		{"up to, limit", herald.MessageFilter{UpTo: 6, Limit: 2}, []herald.Seq{6, 5}},
		{"created from", herald.MessageFilter{CreatedFrom: at(7000), Limit: 100}, []herald.Seq{10, 9, 8, 7}},
		{"created from, between", herald.MessageFilter{CreatedFrom: at(6999), Limit: 100}, []herald.Seq{10, 9, 8, 7}},
		{"after, up to", herald.MessageFilter{After: 3, UpTo: 6, Limit: 100}, []herald.Seq{6, 5, 4}},
		{"oldest after, up to", herald.MessageFilter{Oldest: true, After: 3, UpTo: 6, Limit: 100}, []herald.Seq{4, 5, 6}},
		{"oldest after, before", herald.MessageFilter{Oldest: true, After: 3, Before: 6, Limit: 100}, []herald.Seq{4, 5}},
		{"oldest before", herald.MessageFilter{Oldest: true, Before: 6, Limit: 2}, []herald.Seq{1, 2}},
		{"before, up to", herald.MessageFilter{Before: 8, UpTo: 5, Limit: 100}, []herald.Seq{5, 4, 3, 2, 1}},
		{"before, created from", herald.MessageFilter{Before: 9, CreatedFrom: at(4000), Limit: 100}, []herald.Seq{8, 7, 6, 5, 4}},
		{"up to, created from", herald.MessageFilter{UpTo: 6, CreatedFrom: at(5000), Limit: 100}, []herald.Seq{6, 5}},
		{"oldest, created from", herald.MessageFilter{Oldest: true, CreatedFrom: at(8000), Limit: 100}, []herald.Seq{8, 9, 10}},
		{"oldest after, created from", herald.MessageFilter{Oldest: true, After: 2, CreatedFrom: at(8000), Limit: 2}, []herald.Seq{8, 9}},
		{"all, newest first", herald.MessageFilter{After: 2, Before: 9, UpTo: 8, CreatedFrom: at(5000), Limit: 2}, []herald.Seq{8, 7}},
		{"all, oldest first", herald.MessageFilter{Oldest: true, After: 2, Before: 9, UpTo: 8, CreatedFrom: at(5000), Limit: 2}, []herald.Seq{5, 6}},
		{"empty window", herald.MessageFilter{After: 5, UpTo: 5, Limit: 100}, nil},
	}
	for _, tc := range tests {
		got, err := s.ListMessages(ctx, "t_a", tc.f)
		if err != nil {
			t.Errorf("ListMessages %s: got error %v, want nil", tc.name, err)
			continue
		}
		wantDiff(t, "ListMessages "+tc.name, tc.want, ids(got, messageSeq))
	}

	got, err := s.ListMessages(ctx, "t_a", herald.MessageFilter{Oldest: true, After: 4, Limit: 1})
	if err != nil {
		t.Fatalf("ListMessages: got error %v, want nil", err)
	}
	wantDiff(t, "listed message", sent[4:5], got)
}

// testEvents: events round-trip, list after a Seq in order, and take each
// Seq of a thread once.
func testEvents(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))
	var want []herald.Event
	update(t, s, func(tx herald.Tx) error {
		for i := range 6 {
			h, err := tx.NextSeq(ctx, "t_a", at(i*1000), false)
			if err != nil {
				return err
			}
			seq := h.Seq
			e := herald.Event{ThreadID: "t_a", Seq: seq, Type: herald.EventParticipantsAdded,
				Actor: "u_a", At: at(i * 1000), Users: []herald.UserID{"u_b", "u_c"},
				Data: json.RawMessage(`{"topic":"new","n":1}`)}
			if i%2 == 1 {
				e = herald.Event{ThreadID: "t_a", Seq: seq, Type: herald.EventMessageReceived,
					MessageID: "m_x", Actor: "u_b", At: at(i * 1000)}
			}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			want = append(want, e)
		}
		return nil
	})
	sendMessages(t, s, "t_b", "u_a", 2, 0)

	all, err := s.ListEvents(ctx, "t_a", 0, 100)
	if err != nil {
		t.Fatalf("ListEvents: got error %v, want nil", err)
	}
	wantDiff(t, "ListEvents", want, all)
	for _, tc := range []struct {
		after herald.Seq
		limit int
		want  []herald.Seq
	}{
		{0, 2, []herald.Seq{1, 2}},
		{2, 3, []herald.Seq{3, 4, 5}},
		{4, 100, []herald.Seq{5, 6}},
		{6, 100, nil},
	} {
		got, err := s.ListEvents(ctx, "t_a", tc.after, tc.limit)
		if err != nil {
			t.Fatalf("ListEvents(after %d, limit %d): got error %v, want nil", tc.after, tc.limit, err)
		}
		wantDiff(t, "ListEvents Seqs", tc.want, ids(got, eventSeq))
	}

	err = s.Update(ctx, func(tx herald.Tx) error {
		return tx.AppendEvent(ctx, herald.Event{ThreadID: "t_a", Seq: 3, Type: herald.EventThreadDeleted, At: at(1)})
	})
	wantErr(t, "AppendEvent of a used Seq", err, herald.ErrConflict)
	got, _ := s.ListEvents(ctx, "t_a", 2, 1)
	wantDiff(t, "event 3 after the conflict", want[2:3], got)
}

// testLimitRequired: ListMessages and ListEvents refuse a limit that is not
// positive rather than returning everything.
func testLimitRequired(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0))
	sendMessages(t, s, "t_a", "u_a", 2, 0)
	for _, limit := range []int{0, -1} {
		if got, err := s.ListMessages(ctx, "t_a", herald.MessageFilter{Limit: limit}); err == nil {
			t.Errorf("ListMessages with limit %d: got %d messages and no error, want an error", limit, len(got))
		}
		if got, err := s.ListEvents(ctx, "t_a", 0, limit); err == nil {
			t.Errorf("ListEvents with limit %d: got %d events and no error, want an error", limit, len(got))
		}
	}
}

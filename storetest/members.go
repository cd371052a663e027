package storetest

import (
	"errors"
	"testing"

	"github.com/herald-chat/herald"
)

// mustCount returns CountParticipants of thread.
func mustCount(tb testing.TB, r herald.Reader, thread herald.ThreadID) int {
	tb.Helper()
	n, err := r.CountParticipants(tb.Context(), thread)
	if err != nil {
		tb.Fatalf("CountParticipants(%s): got error %v, want nil", thread, err)
	}
	return n
}

// testParticipants: memberships round-trip; lists and counts hold current
// participants in the order they were added; PutParticipant replaces.
func testParticipants(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))
	full := herald.Participant{
		ThreadID: "t_a", UserID: "u_b", DisplayName: "Bea", Metadata: map[string]string{"role": "agent"},
		ShareHistoryTime: at(500), AddedAt: at(2000), AddedBy: "u_a", AddedSeq: 2,
	}
	gone := member("t_a", "u_e", 4)
	gone.RemovedAt, gone.RemovedBy, gone.RemovedSeq = at(5000), "u_a", 5
	putParticipants(t, s,
		member("t_a", "u_d", 1), full, member("t_a", "u_a", 2), member("t_a", "u_c", 3), gone,
		member("t_b", "u_z", 1))

	for _, want := range []herald.Participant{full, gone} {
		got, err := s.GetParticipant(ctx, want.ThreadID, want.UserID)
		if err != nil {
			t.Fatalf("GetParticipant(%s): got error %v, want nil", want.UserID, err)
		}
		wantDiff(t, "GetParticipant("+string(want.UserID)+")", want, got)
	}

	// ListMembers: the same current participants in the same order, with
	// their shareHistoryTime; removed ones and other threads' left out.
	members, err := s.ListMembers(ctx, "t_a")
	if err != nil {
		t.Fatalf("ListMembers: got error %v, want nil", err)
	}
	wantDiff(t, "ListMembers", []herald.Member{{UserID: "u_d"}, {UserID: "u_a"}, {UserID: "u_b", ShareHistoryTime: at(500)}, {UserID: "u_c"}}, members)
	if none, err := s.ListMembers(ctx, "t_missing"); err != nil || len(none) != 0 {
		t.Errorf("ListMembers of a missing thread: got %v, %v, want none and no error", none, err)
	}

	list := func(p herald.Page) []herald.UserID {
		t.Helper()
		got, err := s.ListParticipants(ctx, "t_a", p)
		if err != nil {
			t.Fatalf("ListParticipants(%+v): got error %v, want nil", p, err)
		}
		return ids(got, participantUser)
	}
	for _, tc := range []struct {
		name string
		p    herald.Page
		want []herald.UserID
	}{
		{"all", herald.Page{}, []herald.UserID{"u_d", "u_a", "u_b", "u_c"}},
		{"limit", herald.Page{Limit: 2}, []herald.UserID{"u_d", "u_a"}},
		{"skip and limit", herald.Page{Skip: 1, Limit: 2}, []herald.UserID{"u_a", "u_b"}},
		{"skip", herald.Page{Skip: 3}, []herald.UserID{"u_c"}},
		{"past the end", herald.Page{Skip: 4}, nil},
	} {
		wantDiff(t, "ListParticipants "+tc.name, tc.want, list(tc.p))
	}
	if n := mustCount(t, s, "t_a"); n != 4 {
		t.Errorf("CountParticipants: got %d, want 4", n)
	}

	// Re-adding the removed participant replaces the whole row; removing
	// another takes it out of the list.
	back := member("t_a", "u_e", 6)
	back.DisplayName = "Eve again"
	left := member("t_a", "u_d", 1)
	left.RemovedAt, left.RemovedBy, left.RemovedSeq = at(7000), "u_d", 7
	putParticipants(t, s, back, left)
	got, err := s.GetParticipant(ctx, "t_a", "u_e")
	if err != nil {
		t.Fatalf("GetParticipant(u_e): got error %v, want nil", err)
	}
	wantDiff(t, "re-added participant", back, got)
	wantDiff(t, "ListParticipants after changes", []herald.UserID{"u_a", "u_b", "u_c", "u_e"}, list(herald.Page{}))
	if n := mustCount(t, s, "t_a"); n != 4 {
		t.Errorf("CountParticipants after changes: got %d, want 4", n)
	}
	if n := mustCount(t, s, "t_b"); n != 1 {
		t.Errorf("CountParticipants of t_b: got %d, want 1", n)
	}
}

// testReadReceipts: one receipt per user, replaced by the next, listed most
// recent first.
func testReadReceipts(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))
	put := func(rs ...herald.ReadReceipt) {
		t.Helper()
		update(t, s, func(tx herald.Tx) error {
			for _, r := range rs {
				if err := tx.PutReadReceipt(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
	}
	put(
		herald.ReadReceipt{ThreadID: "t_a", UserID: "u_a", MessageID: "m_1", ReadAt: at(1000)},
		herald.ReadReceipt{ThreadID: "t_a", UserID: "u_c", MessageID: "m_2", ReadAt: at(3000)},
		herald.ReadReceipt{ThreadID: "t_a", UserID: "u_b", MessageID: "m_2", ReadAt: at(3000)},
		herald.ReadReceipt{ThreadID: "t_b", UserID: "u_a", MessageID: "m_9", ReadAt: at(9000)},
	)
	newest := herald.ReadReceipt{ThreadID: "t_a", UserID: "u_a", MessageID: "m_3", ReadAt: at(5000)}
	put(newest)

	got, err := s.ListReadReceipts(ctx, "t_a", herald.Page{})
	if err != nil {
		t.Fatalf("ListReadReceipts: got error %v, want nil", err)
	}
	wantDiff(t, "ListReadReceipts", []herald.ReadReceipt{
		newest,
		{ThreadID: "t_a", UserID: "u_b", MessageID: "m_2", ReadAt: at(3000)},
		{ThreadID: "t_a", UserID: "u_c", MessageID: "m_2", ReadAt: at(3000)},
	}, got)

	paged, err := s.ListReadReceipts(ctx, "t_a", herald.Page{Skip: 1, Limit: 1})
	if err != nil {
		t.Fatalf("ListReadReceipts paged: got error %v, want nil", err)
	}
	wantDiff(t, "ListReadReceipts skip 1 limit 1", []herald.UserID{"u_b"}, ids(paged, receiptUser))
}

// testMissingThread: rows of a thread that does not exist are not_found
// and not stored.
func testMissingThread(t *testing.T, s herald.Store) {
	ctx := t.Context()
	const thread = herald.ThreadID("t_missing")
	writes := map[string]func(tx herald.Tx) error{
		"PutParticipant": func(tx herald.Tx) error { return tx.PutParticipant(ctx, member(thread, "u_a", 1)) },
		"CreateMessage": func(tx herald.Tx) error {
			return tx.CreateMessage(ctx, herald.Message{ID: "m_1", ThreadID: thread, Seq: 1,
				Type: herald.MessageText, SenderID: "u_a", Content: "hi", CreatedAt: at(1), Version: 1})
		},
		"AppendEvent": func(tx herald.Tx) error {
			return tx.AppendEvent(ctx, herald.Event{ThreadID: thread, Seq: 1, Type: herald.EventThreadCreated, At: at(1)})
		},
		"PutReadReceipt": func(tx herald.Tx) error {
			return tx.PutReadReceipt(ctx, herald.ReadReceipt{ThreadID: thread, UserID: "u_a", MessageID: "m_1", ReadAt: at(1)})
		},
		"UpdateMessage": func(tx herald.Tx) error {
			return tx.UpdateMessage(ctx, herald.Message{ID: "m_1", ThreadID: thread, Content: "edited", Version: 2})
		},
	}
	for name, write := range writes {
		wantErr(t, name+" in a missing thread", s.Update(ctx, write), herald.ErrNotFound)
	}
	if n := mustCount(t, s, thread); n != 0 {
		t.Errorf("CountParticipants: got %d, want 0", n)
	}
}

// errRollback makes an Update roll back.
var errRollback = errors.New("roll back")

// testRoster: the roster NextSeq returns changes with every PutParticipant
// of the thread (seen by NextSeq in the same transaction too) and with
// nothing else; a rolled-back PutParticipant leaves the committed roster,
// and its value is not the one the next committed change gets.
func testRoster(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))
	putParticipants(t, s, member("t_a", "u_a", 1))
	r0 := nextHead(t, s, "t_a", 1000, false).Roster
	putParticipants(t, s, member("t_a", "u_b", 2))
	r1 := nextHead(t, s, "t_a", 2000, false).Roster
	if r1 == r0 {
		t.Errorf("roster after PutParticipant: got %d, the same as before; want a new one", r1)
	}
	removed := member("t_a", "u_b", 2)
	removed.RemovedAt, removed.RemovedBy, removed.RemovedSeq = at(2500), "u_a", 3
	putParticipants(t, s, removed)
	r2 := nextHead(t, s, "t_a", 3000, false).Roster
	if r2 == r1 || r2 == r0 {
		t.Errorf("roster after a removal: got %d, one of the earlier %d, %d; want a new one", r2, r0, r1)
	}

	// Sends, other thread writes and another thread's membership keep it.
	sendMessages(t, s, "t_a", "u_a", 3, 4000)
	th, err := s.GetThread(ctx, "t_a")
	if err != nil {
		t.Fatalf("GetThread: got error %v, want nil", err)
	}
	th.Topic, th.UpdatedAt = "renamed", at(5000)
	update(t, s, func(tx herald.Tx) error {
		if err := tx.UpdateThread(ctx, th); err != nil {
			return err
		}
		return tx.PutReadReceipt(ctx, herald.ReadReceipt{ThreadID: "t_a", UserID: "u_a", MessageID: "m_x", ReadAt: at(5000)})
	})
	putParticipants(t, s, member("t_b", "u_c", 1))
	if got := nextHead(t, s, "t_a", 6000, true).Roster; got != r2 {
		t.Errorf("roster after sends, a thread update, a receipt and another thread's change: got %d, want %d (unchanged)", got, r2)
	}

	// A rolled-back change: NextSeq inside it sees its new roster; after
	// it, the committed one is back, and the next committed change gets
	// another value (a counter would hand out the rolled-back one again).
	var inside herald.Head
	err = s.Update(ctx, func(tx herald.Tx) error {
		if err := tx.PutParticipant(ctx, member("t_a", "u_d", 7)); err != nil {
			return err
		}
		var err error
		if inside, err = tx.NextSeq(ctx, "t_a", at(7000), false); err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatalf("rolled-back Update: got error %v, want errRollback", err)
	}
	if inside.Roster == r2 {
		t.Errorf("roster inside the transaction that changed the membership: got %d, the committed one; want its own", inside.Roster)
	}
	if got := nextHead(t, s, "t_a", 8000, false).Roster; got != r2 {
		t.Errorf("roster after a rolled-back PutParticipant: got %d, want the committed %d", got, r2)
	}
	putParticipants(t, s, member("t_a", "u_d", 9))
	if got := nextHead(t, s, "t_a", 9000, false).Roster; got == r2 || got == inside.Roster {
		t.Errorf("roster after a committed change following a rolled-back one: got %d; want neither the old %d nor the rolled-back %d",
			got, r2, inside.Roster)
	}
}

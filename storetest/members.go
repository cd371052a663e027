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

// roster reads thread's roster version in a transaction of its own.
func roster(tb testing.TB, s herald.Store, thread herald.ThreadID) int64 {
	tb.Helper()
	var r int64
	update(tb, s, func(tx herald.Tx) error {
		var err error
		r, err = tx.Roster(tb.Context(), thread)
		return err
	})
	return r
}

// testRoster: every PutParticipant gives the thread a new roster version,
// other writes keep it, a rolled-back PutParticipant leaves the committed
// one, and Roster of a missing thread is not_found.
func testRoster(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))
	r0 := roster(t, s, "t_a")
	putParticipants(t, s, member("t_a", "u_b", 1))
	r1 := roster(t, s, "t_a")
	if r1 == r0 {
		t.Errorf("roster after PutParticipant: got %d, the same as before; want a new one", r1)
	}
	nextSeq(t, s, "t_a", 2000, true) // a send: the membership is unchanged
	if got := roster(t, s, "t_a"); got != r1 {
		t.Errorf("roster after NextSeq: got %d, want %d (unchanged)", got, r1)
	}
	putParticipants(t, s, member("t_b", "u_c", 1)) // another thread's membership
	if got := roster(t, s, "t_a"); got != r1 {
		t.Errorf("roster after a change to another thread: got %d, want %d (unchanged)", got, r1)
	}
	err := s.Update(ctx, func(tx herald.Tx) error {
		if err := tx.PutParticipant(ctx, member("t_a", "u_d", 3)); err != nil {
			return err
		}
		inside, err := tx.Roster(ctx, "t_a")
		if err != nil {
			return err
		}
		if inside == r1 {
			t.Errorf("roster inside the transaction that changed the membership: got %d, the committed one; want its own", inside)
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatalf("rolled-back update: got %v, want errRollback", err)
	}
	if got := roster(t, s, "t_a"); got != r1 {
		t.Errorf("roster after a rolled-back PutParticipant: got %d, want the committed %d", got, r1)
	}
	err = s.Update(ctx, func(tx herald.Tx) error { _, err := tx.Roster(ctx, "t_missing"); return err })
	if !herald.IsNotFound(err) {
		t.Errorf("Roster of a missing thread: got %v, want not_found", err)
	}
}

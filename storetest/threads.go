package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
)

// testThread: threads round-trip every field, start at LastSeq 0, and
// cannot be created twice.
func testThread(t *testing.T, s herald.Store) {
	ctx := t.Context()
	full := herald.Thread{
		ID: "t_full", Topic: "all fields", Metadata: map[string]string{"a": "1", "b": "two"},
		CreatedBy: "u_a", CreatedAt: at(1000), UpdatedAt: at(2000), DeletedAt: at(3000), DeletedBy: "u_b",
		LastSeq: 7, LastMessageAt: at(1500),
	}
	bare := herald.Thread{ID: "t_bare", CreatedBy: "u_a", CreatedAt: at(1000), UpdatedAt: at(1000)}
	createThreads(t, s, full, bare)

	full.LastSeq = 0 // Seqs come only from NextSeq
	for _, want := range []herald.Thread{full, bare} {
		got, err := s.GetThread(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetThread(%s): got error %v, want nil", want.ID, err)
		}
		wantDiff(t, "GetThread("+string(want.ID)+")", want, got)
	}

	err := s.Update(ctx, func(tx herald.Tx) error {
		return tx.CreateThread(ctx, newThread("t_bare", "u_b", 5000), "", "")
	})
	wantErr(t, "CreateThread with a used id", err, herald.ErrConflict)
	if got, _ := s.GetThread(ctx, "t_bare"); got.CreatedBy != "u_a" {
		t.Errorf("t_bare after conflict: got creator %s, want u_a", got.CreatedBy)
	}
}

// testThreadByRequest: a creator's repeatability id finds its thread and
// hash, and cannot make a second thread.
func testThreadByRequest(t *testing.T, s herald.Store) {
	ctx := t.Context()
	create := func(th herald.Thread, requestID, hash string) error {
		return s.Update(ctx, func(tx herald.Tx) error { return tx.CreateThread(ctx, th, requestID, hash) })
	}
	first := newThread("t_1", "u_a", 1000)
	if err := create(first, "req_1", "hash_1"); err != nil {
		t.Fatalf("CreateThread: got error %v, want nil", err)
	}
	err := create(newThread("t_2", "u_a", 2000), "req_1", "hash_2")
	wantErr(t, "CreateThread with the creator's used request id", err, herald.ErrConflict)

	others := newThread("t_3", "u_b", 3000)
	if err := create(others, "req_1", "hash_3"); err != nil {
		t.Errorf("CreateThread with another creator's request id: got error %v, want nil", err)
	}
	for _, id := range []herald.ThreadID{"t_4", "t_5"} {
		if err := create(newThread(id, "u_a", 4000), "", ""); err != nil {
			t.Errorf("CreateThread(%s) without request id: got error %v, want nil", id, err)
		}
	}

	for _, tc := range []struct {
		creator herald.UserID
		want    herald.Thread
		hash    string
	}{{"u_a", first, "hash_1"}, {"u_b", others, "hash_3"}} {
		got, hash, err := s.GetThreadByRequest(ctx, tc.creator, "req_1")
		if err != nil {
			t.Fatalf("GetThreadByRequest(%s, req_1): got error %v, want nil", tc.creator, err)
		}
		wantDiff(t, "GetThreadByRequest("+string(tc.creator)+")", tc.want, got)
		if hash != tc.hash {
			t.Errorf("GetThreadByRequest(%s, req_1): got hash %q, want %q", tc.creator, hash, tc.hash)
		}
	}
	_, err = s.GetThread(ctx, "t_2")
	wantErr(t, "GetThread of the conflicting thread", err, herald.ErrNotFound)
	_, _, err = s.GetThreadByRequest(ctx, "u_a", "req_2")
	wantErr(t, "GetThreadByRequest of an unused id", err, herald.ErrNotFound)
	_, _, err = s.GetThreadByRequest(ctx, "u_a", "")
	wantErr(t, "GetThreadByRequest of the empty id", err, herald.ErrNotFound)
}

// testUpdateThread: UpdateThread stores topic, metadata, updated and deleted
// fields, and nothing else.
func testUpdateThread(t *testing.T, s herald.Store) {
	ctx := t.Context()
	orig := newThread("t_a", "u_a", 1000)
	createThreads(t, s, orig)
	update(t, s, func(tx herald.Tx) error { _, err := tx.NextSeq(ctx, "t_a", at(1500), true); return err })

	changed := herald.Thread{
		ID: "t_a", Topic: "new topic", Metadata: map[string]string{"new": "yes"},
		CreatedBy: "u_other", CreatedAt: at(9), UpdatedAt: at(2000), DeletedAt: at(2000), DeletedBy: "u_a",
		LastSeq: 99, LastMessageAt: at(9),
	}
	update(t, s, func(tx herald.Tx) error { return tx.UpdateThread(ctx, changed) })
	want := orig
	want.Topic, want.Metadata, want.UpdatedAt = changed.Topic, changed.Metadata, changed.UpdatedAt
	want.DeletedAt, want.DeletedBy = changed.DeletedAt, changed.DeletedBy
	want.LastSeq, want.LastMessageAt = 1, at(1500)
	got, err := s.GetThread(ctx, "t_a")
	if err != nil {
		t.Fatalf("GetThread: got error %v, want nil", err)
	}
	wantDiff(t, "thread after UpdateThread", want, got)

	err = s.Update(ctx, func(tx herald.Tx) error { return tx.UpdateThread(ctx, newThread("t_missing", "u_a", 0)) })
	wantErr(t, "UpdateThread of a missing thread", err, herald.ErrNotFound)
}

// nextSeq allocates one Seq of thread in its own Update.
func nextSeq(tb testing.TB, s herald.Store, thread herald.ThreadID, ms int, message bool) herald.Seq {
	tb.Helper()
	return nextHead(tb, s, thread, ms, message).Seq
}

// nextHead allocates one Seq of thread in its own Update and returns it
// with the thread's roster.
func nextHead(tb testing.TB, s herald.Store, thread herald.ThreadID, ms int, message bool) herald.Head {
	tb.Helper()
	var h herald.Head
	update(tb, s, func(tx herald.Tx) error {
		var err error
		h, err = tx.NextSeq(tb.Context(), thread, at(ms), message)
		return err
	})
	return h
}

// testNextSeq: Seqs count 1, 2, 3... per thread, and NextSeq records the
// thread's activity.
func testNextSeq(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))

	if got := nextSeq(t, s, "t_a", 1000, false); got != 1 {
		t.Errorf("first NextSeq: got %d, want 1", got)
	}
	if got := nextSeq(t, s, "t_a", 2000, true); got != 2 {
		t.Errorf("second NextSeq: got %d, want 2", got)
	}
	th, _ := s.GetThread(ctx, "t_a")
	if th.LastSeq != 2 || !th.UpdatedAt.Equal(at(2000)) || !th.LastMessageAt.Equal(at(2000)) {
		t.Errorf("after a message: got LastSeq %d, UpdatedAt %v, LastMessageAt %v; want 2, %v, %v",
			th.LastSeq, th.UpdatedAt, th.LastMessageAt, at(2000), at(2000))
	}
	if got := nextSeq(t, s, "t_a", 3000, false); got != 3 {
		t.Errorf("third NextSeq: got %d, want 3", got)
	}
	th, _ = s.GetThread(ctx, "t_a")
	if th.LastSeq != 3 || !th.UpdatedAt.Equal(at(3000)) || !th.LastMessageAt.Equal(at(2000)) {
		t.Errorf("after a non-message: got LastSeq %d, UpdatedAt %v, LastMessageAt %v; want 3, %v, %v",
			th.LastSeq, th.UpdatedAt, th.LastMessageAt, at(3000), at(2000))
	}

	var got []herald.Seq
	update(t, s, func(tx herald.Tx) error {
		for _, thread := range []herald.ThreadID{"t_b", "t_a", "t_b", "t_a"} {
			h, err := tx.NextSeq(ctx, thread, at(4000), false)
			if err != nil {
				return err
			}
			got = append(got, h.Seq)
		}
		return nil
	})
	wantDiff(t, "NextSeq of t_b, t_a, t_b, t_a in one Update", []herald.Seq{1, 4, 2, 5}, got)

	err := s.Update(ctx, func(tx herald.Tx) error { _, err := tx.NextSeq(ctx, "t_missing", at(1), false); return err })
	wantErr(t, "NextSeq of a missing thread", err, herald.ErrNotFound)
}

// testNextSeqRollback: a Seq allocated by a failed Update is allocated again:
// the sequence has no gaps.
func testNextSeqRollback(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0))
	nextSeq(t, s, "t_a", 1000, true)
	failed := fmt.Errorf("rejected")
	err := s.Update(ctx, func(tx herald.Tx) error {
		if h, err := tx.NextSeq(ctx, "t_a", at(2000), true); err != nil || h.Seq != 2 {
			t.Errorf("NextSeq in the failing Update: got %d and error %v, want 2 and nil", h.Seq, err)
		}
		return failed
	})
	if err != failed {
		t.Fatalf("Update: got error %v, want %v", err, failed)
	}
	th, _ := s.GetThread(ctx, "t_a")
	if th.LastSeq != 1 || !th.UpdatedAt.Equal(at(1000)) || !th.LastMessageAt.Equal(at(1000)) {
		t.Errorf("after the failed Update: got LastSeq %d, UpdatedAt %v, LastMessageAt %v; want 1, %v, %v",
			th.LastSeq, th.UpdatedAt, th.LastMessageAt, at(1000), at(1000))
	}
	if got := nextSeq(t, s, "t_a", 3000, false); got != 2 {
		t.Errorf("NextSeq after the failed Update: got %d, want 2", got)
	}
}

// testNextSeqConcurrent: concurrent Updates of one thread get every Seq
// exactly once, with no gaps, and the events land in Seq order.
func testNextSeqConcurrent(t *testing.T, s herald.Store) {
	const workers, perWorker = 8, 25
	ctx := t.Context()
	createThreads(t, s, newThread("t_a", "u_a", 0), newThread("t_b", "u_a", 0))

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			thread := herald.ThreadID("t_a")
			if w == 0 {
				thread = "t_b" // one writer on another thread, interleaved
			}
			for i := range perWorker {
				err := s.Update(ctx, func(tx herald.Tx) error {
					h, err := tx.NextSeq(ctx, thread, at(w*1000+i), false)
					if err != nil {
						return err
					}
					return tx.AppendEvent(ctx, herald.Event{ThreadID: thread, Seq: h.Seq,
						Type: herald.EventThreadPropertiesUpdated, Actor: herald.UserID(fmt.Sprintf("u_%d", w)), At: at(i)})
				})
				if err != nil {
					t.Errorf("worker %d, Update %d: got error %v, want nil", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()

	for thread, n := range map[herald.ThreadID]int{"t_a": (workers - 1) * perWorker, "t_b": perWorker} {
		events, err := s.ListEvents(ctx, thread, 0, 1000)
		if err != nil {
			t.Fatalf("ListEvents(%s): got error %v, want nil", thread, err)
		}
		want := make([]herald.Seq, n)
		for i := range want {
			want[i] = herald.Seq(i + 1)
		}
		wantDiff(t, "Seqs of "+string(thread), want, ids(events, eventSeq))
		if th, _ := s.GetThread(ctx, thread); th.LastSeq != herald.Seq(n) {
			t.Errorf("LastSeq of %s: got %d, want %d", thread, th.LastSeq, n)
		}
	}
}

// testListThreads: a user's threads, current and past memberships, most
// recently active first, filtered and paged.
func testListThreads(t *testing.T, s herald.Store) {
	ctx := t.Context()
	ths := []herald.Thread{
		newThread("t_1", "u_a", 1000),
		newThread("t_2", "u_a", 2000), // u_a removed from it
		newThread("t_3", "u_b", 3000), // u_a never in it
		newThread("t_4", "u_b", 4000),
		newThread("t_5", "u_b", 4000), // same activity time as t_4
		newThread("t_6", "u_a", 500),  // deleted, still listed
	}
	ths[5].DeletedAt, ths[5].DeletedBy = at(600), "u_a"
	createThreads(t, s, ths...)
	removed := member("t_2", "u_a", 1)
	removed.RemovedAt, removed.RemovedBy, removed.RemovedSeq = at(2500), "u_a", 2
	putParticipants(t, s,
		member("t_1", "u_a", 1), removed, member("t_3", "u_b", 1), member("t_4", "u_a", 1),
		member("t_5", "u_a", 1), member("t_6", "u_a", 1), member("t_1", "u_b", 2))

	list := func(f herald.ThreadFilter) []herald.ThreadID {
		t.Helper()
		got, err := s.ListThreads(ctx, "u_a", f)
		if err != nil {
			t.Fatalf("ListThreads(%+v): got error %v, want nil", f, err)
		}
		return ids(got, threadID)
	}
	all := list(herald.ThreadFilter{})
	wantDiff(t, "ListThreads", []herald.ThreadID{"t_5", "t_4", "t_2", "t_1", "t_6"}, all)
	got, _ := s.ListThreads(ctx, "u_a", herald.ThreadFilter{})
	if len(got) == 5 {
		wantDiff(t, "a listed thread", ths[5], got[4])
	}

	// Activity moves a thread to the front.
	nextSeq(t, s, "t_1", 5000, true)
	tests := []struct {
		name string
		f    herald.ThreadFilter
		want []herald.ThreadID
	}{
		{"all", herald.ThreadFilter{}, []herald.ThreadID{"t_1", "t_5", "t_4", "t_2", "t_6"}},
		{"updated after", herald.ThreadFilter{UpdatedAfter: at(2000)}, []herald.ThreadID{"t_1", "t_5", "t_4"}},
		{"updated after, exclusive", herald.ThreadFilter{UpdatedAfter: at(1999)}, []herald.ThreadID{"t_1", "t_5", "t_4", "t_2"}},
		{"limit", herald.ThreadFilter{Page: herald.Page{Limit: 2}}, []herald.ThreadID{"t_1", "t_5"}},
		{"skip", herald.ThreadFilter{Page: herald.Page{Skip: 3}}, []herald.ThreadID{"t_2", "t_6"}},
		{"skip and limit", herald.ThreadFilter{Page: herald.Page{Skip: 1, Limit: 2}}, []herald.ThreadID{"t_5", "t_4"}},
		{"past the end", herald.ThreadFilter{Page: herald.Page{Skip: 9}}, nil},
		{"filter and page", herald.ThreadFilter{UpdatedAfter: at(2000), Page: herald.Page{Skip: 1, Limit: 1}}, []herald.ThreadID{"t_5"}},
	}
	for _, tc := range tests {
		wantDiff(t, "ListThreads "+tc.name, tc.want, list(tc.f))
	}

	others, err := s.ListThreads(ctx, "u_b", herald.ThreadFilter{})
	if err != nil {
		t.Fatalf("ListThreads(u_b): got error %v, want nil", err)
	}
	wantDiff(t, "ListThreads(u_b)", []herald.ThreadID{"t_1", "t_3"}, ids(others, threadID))
}

// lockWaiter is what the suite needs of an engine to see a transaction
// wait for another's lock. Every engine implements it.
type lockWaiter interface {
	// LockWaits returns how many of the store's write transactions are
	// waiting for a lock now.
	LockWaits(ctx context.Context) (int, error)
}

// testLockThread checks LockThread: not_found for a missing thread, and a
// second writer that locks the thread while a first holds it waits until
// the first commits, then reads what it committed.
//
// Where the second writer waits differs by engine, and the test sees it
// wait either way: PostgreSQL runs transactions concurrently and the
// second blocks in LockThread on the thread's row lock (without FOR UPDATE
// it would not wait, and this test fails); SQLite has one writer, so the
// second blocks at the start of its Update and LockThread is a plain read
// (if SQLite's writers stopped being serialized, this test fails).
func testLockThread(t *testing.T, s herald.Store) {
	ctx := t.Context()
	lw, ok := s.(lockWaiter)
	if !ok {
		t.Fatalf("%T does not implement LockWaits, which the suite needs to see a writer wait", s)
	}
	createThreads(t, s, newThread("t_a", "u_a", 0))
	err := s.Update(ctx, func(tx herald.Tx) error {
		_, err := tx.LockThread(ctx, "t_missing")
		return err
	})
	if !herald.IsNotFound(err) {
		t.Errorf("LockThread of a missing thread: got %v, want not_found", err)
	}
	waitsBefore, err := lw.LockWaits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx, func(tx herald.Tx) error {
			th, err := tx.LockThread(ctx, "t_a")
			if err != nil {
				return err
			}
			close(locked)
			<-release
			th.DeletedAt, th.DeletedBy = at(5), "u_a"
			return tx.UpdateThread(ctx, th)
		})
	}()
	<-locked
	var seen herald.Thread
	second := make(chan error, 1)
	go func() {
		second <- s.Update(ctx, func(tx herald.Tx) error {
			th, err := tx.LockThread(ctx, "t_a")
			seen = th
			return err
		})
	}()
	// The second writer must be seen waiting while the first holds the lock.
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for waiting := false; !waiting; {
		select {
		case err := <-second:
			close(release)
			<-first
			t.Fatalf("a second writer locked the thread while the first held it (error %v), want it to wait", err)
		case <-deadline.C:
			close(release)
			<-first
			<-second
			t.Fatal("the second writer was not seen waiting for the first's lock within 10 s")
		case <-time.After(5 * time.Millisecond):
			n, err := lw.LockWaits(ctx)
			if err != nil {
				t.Fatal(err)
			}
			waiting = n > waitsBefore
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if !seen.Deleted() {
		t.Errorf("a writer that waited for another's lock read the thread before its commit: got %+v", seen)
	}
}

// testMemberships: ListMemberships is ListThreads with the user's
// membership of each thread, in the same order and pages.
func testMemberships(t *testing.T, s herald.Store) {
	ctx := t.Context()
	ths := []herald.Thread{newThread("t_1", "u_a", 1000), newThread("t_2", "u_a", 2000), newThread("t_3", "u_b", 3000)}
	ths[0].DeletedAt, ths[0].DeletedBy = at(1500), "u_a"
	createThreads(t, s, ths...)
	removed := member("t_2", "u_a", 1)
	removed.RemovedAt, removed.RemovedBy, removed.RemovedSeq = at(2500), "u_a", 2
	removed.Metadata = map[string]string{"k": "v"}
	putParticipants(t, s, member("t_1", "u_a", 1), removed, member("t_3", "u_b", 1), member("t_2", "u_b", 1))
	for _, pg := range []herald.Page{{}, {Limit: 1}, {Skip: 1, Limit: 5}} {
		got, err := s.ListMemberships(ctx, "u_a", pg)
		if err != nil {
			t.Fatalf("ListMemberships(%+v): %v", pg, err)
		}
		threads, err := s.ListThreads(ctx, "u_a", herald.ThreadFilter{Page: pg})
		if err != nil {
			t.Fatal(err)
		}
		var want []herald.Membership
		for _, th := range threads {
			p, err := s.GetParticipant(ctx, th.ID, "u_a")
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, herald.Membership{Thread: th, Participant: p})
		}
		wantDiff(t, fmt.Sprintf("ListMemberships(%+v)", pg), want, got)
	}
	if got, err := s.ListMemberships(ctx, "u_c", herald.Page{}); err != nil || len(got) != 0 {
		t.Errorf("ListMemberships of a user in no thread: got %v, %v; want none", got, err)
	}
}

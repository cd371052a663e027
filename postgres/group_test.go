package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/postgres"
)

// Two nodes whose group transactions lock two threads in opposite orders
// would wait for each other until PostgreSQL's deadlock detector broke one
// off (after a second) with an error for its caller. The later Updates of a
// group give up on a lock quickly and run again first in the next group,
// so all four Updates here succeed.
//
// Node A's group is [a1: lock t1, a2: lock t2]; node B's is [b1: lock t2,
// b2: lock t1]; a1 and b1 each hold their lock until the other has taken
// its own, so a2 and b2 find their thread locked by the other group.
func TestGroupsDoNotDeadlock(t *testing.T) {
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	open := func() *postgres.Store {
		s, err := postgres.Open(t.Context(), dsn, postgres.WithSchema(schema), postgres.WithMaxConns(4), postgres.WithWriters(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	ctx := t.Context()
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for _, id := range []herald.ThreadID{"t1", "t2"} {
		if err := a.Update(ctx, func(tx herald.Tx) error {
			return tx.CreateThread(ctx, herald.Thread{ID: id, Topic: "x", CreatedBy: "u", CreatedAt: at, UpdatedAt: at}, "", "")
		}); err != nil {
			t.Fatal(err)
		}
	}
	lock := func(tx herald.Tx, id herald.ThreadID) error {
		_, err := tx.LockThread(ctx, id)
		return err
	}
	aLocked, bLocked := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	update := func(s *postgres.Store, fn func(herald.Tx) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Update(ctx, fn)
		}()
	}
	// Hold each node's writer so that the two Updates queue up behind it and
	// form one group, in order.
	holdA, holdB := make(chan struct{}), make(chan struct{})
	heldA, heldB := make(chan struct{}), make(chan struct{})
	update(a, func(herald.Tx) error { close(heldA); <-holdA; return nil })
	update(b, func(herald.Tx) error { close(heldB); <-holdB; return nil })
	<-heldA
	<-heldB
	update(a, func(tx herald.Tx) error {
		if err := lock(tx, "t1"); err != nil {
			return err
		}
		close(aLocked)
		<-bLocked
		return nil
	})
	waitQueued(t, a, 1)
	update(a, func(tx herald.Tx) error { return lock(tx, "t2") })
	waitQueued(t, a, 2)
	update(b, func(tx herald.Tx) error {
		if err := lock(tx, "t2"); err != nil {
			return err
		}
		close(bLocked)
		<-aLocked
		return nil
	})
	waitQueued(t, b, 1)
	update(b, func(tx herald.Tx) error { return lock(tx, "t1") })
	waitQueued(t, b, 2)
	close(holdA)
	close(holdB)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("an Update failed: %v (want every one to succeed, none broken off as a deadlock)", err)
		}
	}
}

// waitQueued waits until n Updates are queued on s behind its busy writer
// (LockWaits counts them; no session of s waits for a lock here).
func waitQueued(t *testing.T, s *postgres.Store, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		got, err := s.LockWaits(ctx)
		if err != nil {
			t.Fatalf("waiting for %d queued Updates: %v", n, err)
		}
		if got == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("got %d queued Updates, want %d", got, n)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

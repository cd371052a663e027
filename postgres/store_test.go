package postgres_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/postgres"
	"github.com/herald-chat/herald/postgres/pgtest"
	"github.com/herald-chat/herald/storetest"
)

// testDSN returns the database the tests may use, or skips.
func testDSN(tb testing.TB) string { tb.Helper(); return pgtest.DSN(tb) }

// schemaName returns a fresh schema name, dropped when the test ends.
func schemaName(tb testing.TB, dsn string) string { tb.Helper(); return pgtest.Schema(tb, dsn) }

// newSchema creates a fresh, empty schema, dropped when the test ends.
func newSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	name := schemaName(tb, dsn)
	if err := execSQL(tb.Context(), dsn, `CREATE SCHEMA `+name); err != nil {
		tb.Fatalf("create schema %s: got error %v, want nil", name, err)
	}
	return name
}

// execSQL runs one statement on a connection of its own.
func execSQL(ctx context.Context, dsn, sql string) error { return pgtest.Exec(ctx, dsn, sql) }

// mustOpen opens a store on schema with a small pool (the suite opens many
// at once), closed when the test ends.
func mustOpen(tb testing.TB, dsn, schema string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), dsn, postgres.WithSchema(schema), postgres.WithMaxConns(4))
	if err != nil {
		tb.Fatalf("Open: got error %v, want nil", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: got error %v, want nil", err)
		}
	})
	return s
}

// open opens a fresh store in a schema of its own.
func open(t *testing.T) herald.Store {
	t.Helper()
	dsn := testDSN(t)
	return mustOpen(t, dsn, newSchema(t, dsn))
}

func TestStore(t *testing.T) {
	testDSN(t)
	storetest.Run(t, open)
}

// TestNextSeqAcrossNodes runs writers of one thread on three pools, as three
// nodes would, opened at once on a schema none of them has seen (so the
// schema creation and the migrations race too). The thread's row lock must
// give every Seq exactly once: 1 to 600, each with its event.
func TestNextSeqAcrossNodes(t *testing.T) {
	const nodes, writers, perWriter = 3, 4, 50
	dsn := testDSN(t)
	ctx := t.Context()
	schema := schemaName(t, dsn)

	stores := make([]*postgres.Store, nodes)
	var opening sync.WaitGroup
	for i := range stores {
		opening.Go(func() {
			s, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema), postgres.WithMaxConns(4))
			if err != nil {
				t.Errorf("Open node %d: got error %v, want nil", i, err)
				return
			}
			stores[i] = s
		})
	}
	opening.Wait()
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	if err := stores[0].Update(ctx, func(tx herald.Tx) error {
		return tx.CreateThread(ctx, herald.Thread{ID: "t_a", CreatedBy: "u_a"}, "", "")
	}); err != nil {
		t.Fatalf("CreateThread: got error %v, want nil", err)
	}

	var wg sync.WaitGroup
	for n, s := range stores {
		for w := range writers {
			wg.Go(func() {
				actor := herald.UserID(fmt.Sprintf("u_%d_%d", n, w))
				for i := range perWriter {
					err := s.Update(ctx, func(tx herald.Tx) error {
						head, err := tx.NextSeq(ctx, "t_a", time.UnixMilli(int64(i+1)), true)
						if err != nil {
							return err
						}
						seq := head.Seq
						return tx.AppendEvent(ctx, herald.Event{ThreadID: "t_a", Seq: seq,
							Type: herald.EventMessageReceived, Actor: actor, At: time.UnixMilli(int64(i + 1))})
					})
					if err != nil {
						t.Errorf("node %d, writer %d, Update %d: got error %v, want nil", n, w, i, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()

	const total = nodes * writers * perWriter
	events, err := stores[1].ListEvents(ctx, "t_a", 0, 2*total)
	if err != nil {
		t.Fatalf("ListEvents: got error %v, want nil", err)
	}
	if len(events) != total {
		t.Errorf("ListEvents: got %d events, want %d", len(events), total)
	}
	for i, e := range events {
		if e.Seq != herald.Seq(i+1) {
			t.Fatalf("event %d: got Seq %d, want %d (gap-free, each once)", i, e.Seq, i+1)
		}
	}
	th, err := stores[2].GetThread(ctx, "t_a")
	if err != nil || th.LastSeq != total {
		t.Errorf("GetThread: got LastSeq %d and error %v, want %d and nil", th.LastSeq, err, total)
	}
}

// TestConflictKeepsTransaction checks that a conflict inside an Update, as
// in SQLite, leaves the transaction usable: the caller may go on and commit.
func TestConflictKeepsTransaction(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	id := func(u herald.UserID) herald.Identity { return herald.Identity{ID: u, CreatedAt: time.UnixMilli(1000)} }
	if err := s.Update(ctx, func(tx herald.Tx) error { return tx.CreateIdentity(ctx, id("u_a")) }); err != nil {
		t.Fatalf("CreateIdentity: got error %v, want nil", err)
	}
	th := herald.Thread{ID: "t_a", CreatedBy: "u_a"}
	err := s.Update(ctx, func(tx herald.Tx) error {
		if err := tx.CreateIdentity(ctx, id("u_a")); !herald.IsConflict(err) {
			t.Errorf("CreateIdentity of an existing identity: got error %v, want conflict", err)
		}
		if err := tx.CreateThread(ctx, th, "req", "hash"); err != nil {
			return err
		}
		if err := tx.CreateThread(ctx, herald.Thread{ID: "t_b", CreatedBy: "u_a"}, "req", "other"); !herald.IsConflict(err) {
			t.Errorf("CreateThread with a used request id: got error %v, want conflict", err)
		}
		return tx.CreateIdentity(ctx, id("u_b"))
	})
	if err != nil {
		t.Fatalf("Update going on after conflicts: got error %v, want nil", err)
	}
	for _, u := range []herald.UserID{"u_a", "u_b"} {
		if _, err := s.GetIdentity(ctx, u); err != nil {
			t.Errorf("GetIdentity(%s): got error %v, want nil", u, err)
		}
	}
	if _, hash, err := s.GetThreadByRequest(ctx, "u_a", "req"); err != nil || hash != "hash" {
		t.Errorf("GetThreadByRequest: got hash %q and error %v, want hash and nil", hash, err)
	}
}

// TestReopenKeepsData checks that committed data survives closing and
// reopening, and that reopening a migrated schema works.
func TestReopenKeepsData(t *testing.T) {
	dsn := testDSN(t)
	ctx := t.Context()
	schema := newSchema(t, dsn)
	s, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema))
	if err != nil {
		t.Fatalf("Open: got error %v, want nil", err)
	}
	err = s.Update(ctx, func(tx herald.Tx) error {
		if err := tx.CreateThread(ctx, herald.Thread{ID: "t_a", Topic: "kept", CreatedBy: "u_a"}, "req", "hash"); err != nil {
			return err
		}
		_, err := tx.NextSeq(ctx, "t_a", time.UnixMilli(1000), true)
		return err
	})
	if err != nil {
		t.Fatalf("Update: got error %v, want nil", err)
	}
	s.Close()

	s = mustOpen(t, dsn, schema) // migrations already applied: a no-op
	got, hash, err := s.GetThreadByRequest(ctx, "u_a", "req")
	if err != nil {
		t.Fatalf("GetThreadByRequest after reopening: got error %v, want nil", err)
	}
	if got.Topic != "kept" || got.LastSeq != 1 || hash != "hash" {
		t.Errorf("after reopening: got topic %q, LastSeq %d, hash %q; want kept, 1, hash", got.Topic, got.LastSeq, hash)
	}
}

// wantUnavailable fails the test unless err carries herald.CodeUnavailable.
func wantUnavailable(tb testing.TB, op string, err error) {
	tb.Helper()
	if got := herald.ErrorCode(err); got != herald.CodeUnavailable || herald.ErrorReason(err) != herald.ReasonStoreUnavailable {
		tb.Errorf("%s: got error %v (code %q), want %s/%s", op, err, got, herald.CodeUnavailable, herald.ReasonStoreUnavailable)
	}
}

// TestOpenUnreachable opens a database where nothing listens. It needs no
// PostgreSQL, so it always runs.
func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, "postgres://herald@"+addr+"/herald?sslmode=disable&connect_timeout=5")
	if err == nil {
		s.Close()
		t.Fatal("Open where nothing listens: got nil error, want unavailable")
	}
	wantUnavailable(t, "Open where nothing listens", err)
}

// TestClosedStore checks that every kind of call on a closed store is
// unavailable (the node is shutting down: retry elsewhere), not internal.
func TestClosedStore(t *testing.T) {
	dsn := testDSN(t)
	ctx := t.Context()
	s, err := postgres.Open(ctx, dsn, postgres.WithSchema(newSchema(t, dsn)), postgres.WithMaxConns(2))
	if err != nil {
		t.Fatalf("Open: got error %v, want nil", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping while open: got error %v, want nil", err)
	}
	s.Close()
	if err := s.Ping(ctx); err == nil {
		t.Errorf("Ping after Close: got nil, want an error (GET /readyz: not ready)")
	}

	_, err = s.GetIdentity(ctx, "u_a")
	wantUnavailable(t, "GetIdentity", err)
	_, err = s.ListThreads(ctx, "u_a", herald.ThreadFilter{})
	wantUnavailable(t, "ListThreads", err)
	called := false
	err = s.Update(ctx, func(tx herald.Tx) error { called = true; return nil })
	wantUnavailable(t, "Update", err)
	if called {
		t.Error("Update on a closed store called its function, want it not called")
	}
	wantUnavailable(t, "LogRequest", s.LogRequest(ctx, herald.Request{RequestID: "r_1"}))
	wantUnavailable(t, "CreateConnection", s.CreateConnection(ctx, herald.Connection{ID: "c_1"}))
	wantUnavailable(t, "RecordAcks", s.RecordAcks(ctx, []herald.Ack{{UserID: "u_a", Seq: 1}}))
}

// TestRateLimiter runs the rate-limiter suite on one store, then checks that
// two nodes on one schema share each key's bucket.
func TestRateLimiter(t *testing.T) {
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	a, b := mustOpen(t, dsn, schema), mustOpen(t, dsn, schema)
	var n int
	var mu sync.Mutex
	newKey := func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("key%d", n) }
	storetest.RunRateLimiter(t, a, newKey)

	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range []*postgres.Store{a, b, a} {
		wait, err := s.Take(t.Context(), "shared", now, time.Minute, 2)
		if err != nil {
			t.Fatalf("take %d: %v", i+1, err)
		}
		if allowed := wait == 0; allowed != (i < 2) {
			t.Errorf("take %d of a burst of 2, alternating nodes: got wait %v, want allowed=%v", i+1, wait, i < 2)
		}
	}
}

// BenchmarkTake measures the deployment-wide rate limit's cost per write:
// one statement on the pool (run with -cpu 1,8 for concurrent writers).
func BenchmarkTake(b *testing.B) {
	dsn := testDSN(b)
	s := mustOpen(b, dsn, newSchema(b, dsn))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		key := fmt.Sprint("user", n.Add(1))
		for pb.Next() {
			if _, err := s.Take(b.Context(), key, now, time.Millisecond, 1<<30); err != nil {
				b.Fatal(err)
			}
		}
	})
}

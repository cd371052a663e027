package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-chat/herald"
)

// mustOpen opens a store in a fresh schema of HERALD_TEST_POSTGRES (skipping
// when it is unset), with the DSN extended by query; the schema is dropped
// when the test ends.
func mustOpen(tb testing.TB, query string, opts ...Option) *Store {
	tb.Helper()
	dsn := os.Getenv("HERALD_TEST_POSTGRES")
	if dsn == "" {
		tb.Skip("HERALD_TEST_POSTGRES is not set")
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "h_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	s, err := Open(tb.Context(), dsn+query, append([]Option{WithSchema(schema), WithMaxConns(4)}, opts...)...)
	if err != nil {
		tb.Fatalf("Open: got error %v, want nil", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestClassify(t *testing.T) {
	s := mustOpen(t, "")
	ctx := t.Context()
	if _, err := s.pool.Exec(ctx, `INSERT INTO identities (id) VALUES ('u_a')`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		query string
		want  herald.Code
	}{
		{"primary key", `INSERT INTO identities (id) VALUES ('u_a')`, herald.CodeConflict},
		{"foreign key", `INSERT INTO events (thread_id, seq, type) VALUES ('t_missing', 1, 'x')`, herald.CodeNotFound},
		{"missing table", `INSERT INTO no_such_table VALUES (1)`, herald.CodeInternal},
		{"admin shutdown", `DO $$ BEGIN RAISE EXCEPTION 'going away' USING ERRCODE = '57P01'; END $$`, herald.CodeUnavailable},
		{"connection exception", `DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = '08006'; END $$`, herald.CodeUnavailable},
		{"deadlock", `DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$`, herald.CodeUnavailable},
	} {
		_, err := s.pool.Exec(ctx, tc.query)
		if got := herald.ErrorCode(classify(err, "%s", tc.name)); got != tc.want {
			t.Errorf("%s: got code %q from %v, want %q", tc.name, got, err, tc.want)
		}
	}
	if got := classify(pgx.ErrNoRows, "get"); !herald.IsNotFound(got) || !errors.Is(got, herald.ErrNotFound) {
		t.Errorf("pgx.ErrNoRows: got %v, want not_found", got)
	}
}

// TestTerminatedBackend kills the server process of an Update's connection
// in the middle of it, as a database restart or failover would: the Update
// fails as unavailable, nothing of it is kept, and the next Update works on
// a fresh connection.
func TestTerminatedBackend(t *testing.T) {
	s := mustOpen(t, "")
	ctx := t.Context()
	err := s.Update(ctx, func(htx herald.Tx) error {
		q := htx.(*tx).q
		if err := htx.CreateIdentity(ctx, herald.Identity{ID: "u_lost"}); err != nil {
			return err
		}
		var pid int32
		if err := q.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return err
		}
		var killed bool
		if err := s.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&killed); err != nil || !killed {
			t.Fatalf("pg_terminate_backend: got %t and error %v, want true and nil", killed, err)
		}
		return htx.CreateIdentity(ctx, herald.Identity{ID: "u_after"})
	})
	if got := herald.ErrorCode(err); got != herald.CodeUnavailable {
		t.Errorf("Update whose backend was terminated: got %v (code %q), want %s", err, got, herald.CodeUnavailable)
	}
	if _, err := s.GetIdentity(ctx, "u_lost"); !herald.IsNotFound(err) {
		t.Errorf("GetIdentity of the lost Update's write: got error %v, want not_found", err)
	}
	if err := s.Update(ctx, func(tx herald.Tx) error {
		return tx.CreateIdentity(ctx, herald.Identity{ID: "u_next"})
	}); err != nil {
		t.Errorf("the next Update: got error %v, want nil", err)
	}
}

// TestAcquireDeadline holds the only connection of the pool: a call that
// cannot get one before its deadline is unavailable, not internal.
func TestAcquireDeadline(t *testing.T) {
	s := mustOpen(t, "", WithMaxConns(1))
	conn, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = s.GetIdentity(ctx, "u_a")
	if got := herald.ErrorCode(err); got != herald.CodeUnavailable {
		t.Errorf("GetIdentity with every connection busy: got %v (code %q), want %s", err, got, herald.CodeUnavailable)
	}
}

// TestReadCommitted checks that Update asks for READ COMMITTED itself, even
// where the server's or role's default is another level.
func TestReadCommitted(t *testing.T) {
	s := mustOpen(t, "&default_transaction_isolation=serializable")
	ctx := t.Context()
	var level string
	err := s.Update(ctx, func(htx herald.Tx) error {
		return htx.(*tx).q.QueryRow(ctx, `SELECT current_setting('transaction_isolation')`).Scan(&level)
	})
	if err != nil || level != "read committed" {
		t.Errorf("isolation in an Update: got %q and error %v, want read committed and nil", level, err)
	}
}

// TestLedgerBatchAtomic makes the last row of a batch fail, through a
// trigger standing in for any failure mid-batch, and checks that a batch is
// one transaction: nothing of it is kept, and the pool is usable afterwards.
func TestLedgerBatchAtomic(t *testing.T) {
	s := mustOpen(t, "")
	ctx := t.Context()
	for _, q := range []string{
		`CREATE FUNCTION fail_13() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
		`CREATE TRIGGER fail_deliveries BEFORE INSERT ON deliveries
			FOR EACH ROW WHEN (NEW.from_seq = 13) EXECUTE FUNCTION fail_13()`,
		`CREATE TRIGGER fail_acks BEFORE INSERT ON acks
			FOR EACH ROW WHEN (NEW.seq = 13) EXECUTE FUNCTION fail_13()`,
	} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatalf("create trigger: got error %v, want nil", err)
		}
	}
	ok := herald.Delivery{UserID: "u_a", ThreadID: "t_a", ConnectionID: "c_a", FromSeq: 1, ToSeq: 12}
	bad := herald.Delivery{UserID: "u_a", ThreadID: "t_a", ConnectionID: "c_a", FromSeq: 13, ToSeq: 13}
	if err := s.RecordDeliveries(ctx, []herald.Delivery{ok, bad, ok}); err == nil {
		t.Error("RecordDeliveries with a failing row: got nil error, want an error")
	}
	ackOK := herald.Ack{UserID: "u_a", ThreadID: "t_a", ConnectionID: "c_a", Seq: 12}
	ackBad := herald.Ack{UserID: "u_a", ThreadID: "t_a", ConnectionID: "c_a", Seq: 13}
	if err := s.RecordAcks(ctx, []herald.Ack{ackOK, ackBad}); err == nil {
		t.Error("RecordAcks with a failing row: got nil error, want an error")
	}
	if ds, err := s.ListDeliveries(ctx, herald.DeliveryFilter{}); len(ds) != 0 || err != nil {
		t.Errorf("ListDeliveries after a failed batch: got %d rows and error %v, want 0 and nil", len(ds), err)
	}
	if as, err := s.ListAcks(ctx, herald.DeliveryFilter{}); len(as) != 0 || err != nil {
		t.Errorf("ListAcks after a failed batch: got %d rows and error %v, want 0 and nil", len(as), err)
	}
	if err := s.RecordDeliveries(ctx, []herald.Delivery{ok}); err != nil {
		t.Fatalf("RecordDeliveries after a failed batch: got error %v, want nil", err)
	}
	if err := s.RecordAcks(ctx, []herald.Ack{ackOK}); err != nil {
		t.Fatalf("RecordAcks after a failed batch: got error %v, want nil", err)
	}
}

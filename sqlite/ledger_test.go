package sqlite

import (
	"strings"
	"testing"

	"github.com/herald-chat/herald"
)

// TestLedgerBatchAtomic makes the last row of a batch fail, through a
// trigger standing in for any failure mid-batch, and checks that a batch is
// one transaction: nothing of it is kept, and the writer is free afterwards.
func TestLedgerBatchAtomic(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	for _, q := range []string{
		`CREATE TRIGGER fail_deliveries BEFORE INSERT ON deliveries WHEN NEW.from_seq = 13
			BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
		`CREATE TRIGGER fail_acks BEFORE INSERT ON acks WHEN NEW.seq = 13
			BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
	} {
		if _, err := s.writer.ExecContext(ctx, q); err != nil {
			t.Fatalf("create trigger: got error %v, want nil", err)
		}
	}
	ok := herald.Delivery{UserID: "u_a", ThreadID: "t_a", ConnectionID: "c_a", FromSeq: 1, ToSeq: 12}
	bad := herald.Delivery{UserID: "u_a", ThreadID: "t_a", ConnectionID: "c_a", FromSeq: 13, ToSeq: 13}
	if err := s.RecordDeliveries(ctx, []herald.Delivery{ok, bad}); err == nil {
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

	// The failed batches left no transaction open on the writer.
	if err := s.RecordDeliveries(ctx, []herald.Delivery{ok}); err != nil {
		t.Fatalf("RecordDeliveries after a failed batch: got error %v, want nil", err)
	}
	if err := s.RecordAcks(ctx, []herald.Ack{ackOK}); err != nil {
		t.Fatalf("RecordAcks after a failed batch: got error %v, want nil", err)
	}
	if err := s.Update(ctx, func(tx herald.Tx) error {
		return tx.CreateIdentity(ctx, herald.Identity{ID: "u_a"})
	}); err != nil {
		t.Fatalf("Update after a failed batch: got error %v, want nil", err)
	}
}

// TestLedgerIndexes checks that the Ledger lists of one user are served by
// the indexes the migration made for them, not by a scan of the table.
func TestLedgerIndexes(t *testing.T) {
	s := mustOpen(t)
	for _, tc := range []struct {
		query string
		index string
	}{
		{`SELECT id FROM connections WHERE user_id = 'u_a' ORDER BY opened_at DESC, id DESC LIMIT 100`, "connections_user"},
		{`SELECT id FROM connections ORDER BY opened_at DESC, id DESC LIMIT 100`, "connections_opened_at"},
		{`SELECT to_seq FROM deliveries WHERE user_id = 'u_a' AND thread_id = 't_a' AND from_seq <= 5 AND to_seq >= 5 ORDER BY first_at, from_seq LIMIT 1000`, "deliveries_user"},
		{`SELECT id FROM acks WHERE user_id = 'u_a' AND thread_id = 't_a' AND seq >= 5 ORDER BY at, id LIMIT 1000`, "acks_user"},
	} {
		rows, err := s.readers.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tc.query)
		if err != nil {
			t.Fatalf("EXPLAIN QUERY PLAN %s: got error %v, want nil", tc.query, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		found := false
		for _, d := range plan {
			if strings.Contains(d, tc.index) {
				found = true
			}
		}
		if !found {
			t.Errorf("plan of %s: got %q, want it to use %s", tc.query, plan, tc.index)
		}
	}
}

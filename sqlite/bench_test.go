package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-chat/herald"
)

// benchStore opens a Store in a temporary directory with one thread of n
// participants.
func benchStore(b *testing.B, n int) (*Store, herald.ThreadID) {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "herald.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	const th herald.ThreadID = "t_bench"
	now := time.Now()
	err = s.Update(ctx, func(tx herald.Tx) error {
		if err := tx.CreateThread(ctx, herald.Thread{ID: th, Topic: "bench", CreatedBy: "u_0", CreatedAt: now}, "", ""); err != nil {
			return err
		}
		for i := range n {
			p := herald.Participant{ThreadID: th, UserID: herald.UserID(fmt.Sprintf("u_%d", i)), AddedAt: now, AddedBy: "u_0", AddedSeq: 1}
			if err := tx.PutParticipant(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, th
}

// BenchmarkCommit measures the floor of every write: a transaction that
// allocates a Seq and appends one event, committed durably (WAL,
// synchronous=FULL: one fsync).
//
//	go test ./sqlite -run '^$' -bench .
func BenchmarkCommit(b *testing.B) {
	s, th := benchStore(b, 1)
	ctx := context.Background()
	for b.Loop() {
		err := s.Update(ctx, func(tx herald.Tx) error {
			head, err := tx.NextSeq(ctx, th, time.Now(), true)
			if err != nil {
				return err
			}
			seq := head.Seq
			return tx.AppendEvent(ctx, herald.Event{ThreadID: th, Seq: seq, Type: herald.EventMessageReceived, Actor: "u_0", At: time.Now()})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogRequest measures one request-log row: it takes the same
// writer as the transactions, with a commit (and fsync) of its own, once
// per API request.
func BenchmarkLogRequest(b *testing.B) {
	s, th := benchStore(b, 1)
	ctx := context.Background()
	for b.Loop() {
		if err := s.LogRequest(ctx, herald.Request{At: time.Now(), RequestID: "r", Caller: "u_0", Operation: "SendMessage", ThreadID: th, Status: 201}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListParticipants measures reading a thread's participants, as
// every send does inside its transaction to name the recipients; Recipients
// reads only the two columns that decision needs, for comparison.
func BenchmarkListParticipants(b *testing.B) {
	for _, n := range []int{100, 1000} {
		s, th := benchStore(b, n)
		ctx := context.Background()
		b.Run(fmt.Sprintf("participants=%d/all-columns", n), func(b *testing.B) {
			for b.Loop() {
				ps, err := s.ListParticipants(ctx, th, herald.Page{})
				if err != nil || len(ps) != n {
					b.Fatalf("got %d participants, %v; want %d", len(ps), err, n)
				}
			}
		})
		b.Run(fmt.Sprintf("participants=%d/recipient-columns", n), func(b *testing.B) {
			for b.Loop() {
				rows, err := s.readers.QueryContext(ctx, `SELECT user_id, share_history_time FROM participants
					WHERE thread_id = ? AND removed_seq = 0`, th)
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for rows.Next() {
					var u string
					var share int64
					if err := rows.Scan(&u, &share); err != nil {
						b.Fatal(err)
					}
					got++
				}
				rows.Close()
				if got != n {
					b.Fatalf("got %d rows, want %d", got, n)
				}
			}
		})
	}
}

// BenchmarkListEvents measures the first read of a resume: 500 events.
func BenchmarkListEvents(b *testing.B) {
	s, th := benchStore(b, 1)
	ctx := context.Background()
	err := s.Update(ctx, func(tx herald.Tx) error {
		for range 500 {
			head, err := tx.NextSeq(ctx, th, time.Now(), true)
			if err != nil {
				return err
			}
			seq := head.Seq
			if err := tx.AppendEvent(ctx, herald.Event{ThreadID: th, Seq: seq, Type: herald.EventMessageReceived, Actor: "u_0", At: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		es, err := s.ListEvents(ctx, th, 0, 500)
		if err != nil || len(es) != 500 {
			b.Fatalf("got %d events, %v; want 500", len(es), err)
		}
	}
}

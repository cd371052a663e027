package doctor_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/sqlite"
)

// The doctor must answer in under a second with 1,000,000 messages and
// 10,000 users in the store. The store built here has 10,000 identities
// with a token each, 1,000 threads of 10 participants, 1,000,000 messages
// (and their events), 1,000,000 request-log rows, 100,000 connections and
// 1,000,000 delivery runs, on the embedded default (SQLite).
//
//	go test ./doctor -run '^$' -bench Diagnose -benchtime 200x
const (
	benchUsers    = 10_000
	benchThreads  = 1_000
	benchPerThr   = 1_000 // messages per thread
	benchMembers  = 10
	benchRequests = 1_000_000
	benchConns    = 100_000
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func uid(i int) herald.UserID       { return herald.UserID(fmt.Sprintf("u_%05d", i)) }
func tid(i int) herald.ThreadID     { return herald.ThreadID(fmt.Sprintf("t_%04d", i)) }
func mid(t, j int) herald.MessageID { return herald.MessageID(fmt.Sprintf("m_%04d_%04d", t, j)) }

func BenchmarkDiagnose(b *testing.B) {
	ctx := context.Background()
	dir := os.Getenv("HERALD_BENCH_DIR") // reuse a store built by an earlier run
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, "doctor-bench.db")
	_, statErr := os.Stat(path)
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if statErr != nil {
		start := time.Now()
		load(b, store, path)
		b.Logf("built the store in %v", time.Since(start).Round(time.Second))
	}
	d := doctor.New(store, fixedClock{t: t0.Add(48 * time.Hour)})
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	var worst time.Duration
	for b.Loop() {
		th := rng.IntN(benchThreads)
		q := doctor.Query{User: uid(th*benchMembers + rng.IntN(benchMembers)), Thread: tid(th), Message: mid(th, rng.IntN(benchPerThr)), Since: t0}
		start := time.Now()
		rep, err := d.Diagnose(ctx, q)
		if el := time.Since(start); el > worst {
			worst = el
		}
		if err != nil || len(rep.Findings) == 0 {
			b.Fatalf("diagnose: %v", err)
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// fixedClock reads a fixed time; its timers (the doctor sets none) are
// the system's.
type fixedClock struct {
	herald.SystemClock
	t time.Time
}

func (c fixedClock) Now() time.Time { return c.t }

// load fills the store: through the Store interface where it batches, and
// with plain SQL for the logs that have no batch write.
func load(b *testing.B, s herald.Store, path string) {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(s.Update(ctx, func(tx herald.Tx) error {
		for i := range benchUsers {
			if err := tx.CreateIdentity(ctx, herald.Identity{ID: uid(i), CreatedAt: t0}); err != nil {
				return err
			}
			if err := tx.CreateToken(ctx, herald.Token{ID: herald.TokenID(fmt.Sprintf("k_%05d", i)), UserID: uid(i), Scopes: []herald.Scope{herald.ScopeChat},
				IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	}))
	for th := range benchThreads {
		must(s.Update(ctx, func(tx herald.Tx) error {
			id := tid(th)
			if err := tx.CreateThread(ctx, herald.Thread{ID: id, Topic: "bench", CreatedBy: uid(th * benchMembers), CreatedAt: t0, UpdatedAt: t0}, "", ""); err != nil {
				return err
			}
			head, err := tx.NextSeq(ctx, id, t0, false)
			if err != nil {
				return err
			}
			seq := head.Seq
			if err := tx.AppendEvent(ctx, herald.Event{ThreadID: id, Seq: seq, Type: herald.EventThreadCreated, Actor: uid(th * benchMembers), At: t0}); err != nil {
				return err
			}
			for m := range benchMembers {
				if err := tx.PutParticipant(ctx, herald.Participant{ThreadID: id, UserID: uid(th*benchMembers + m), AddedAt: t0, AddedSeq: 1}); err != nil {
					return err
				}
			}
			for j := range benchPerThr {
				at := t0.Add(time.Duration(j) * time.Second)
				head, err := tx.NextSeq(ctx, id, at, true)
				if err != nil {
					return err
				}
				seq := head.Seq
				msg := herald.Message{ID: mid(th, j), ThreadID: id, Seq: seq, Type: herald.MessageText, SenderID: uid(th*benchMembers + j%benchMembers),
					Content: "benchmark message", CreatedAt: at, Version: 1}
				if err := tx.CreateMessage(ctx, msg); err != nil {
					return err
				}
				if err := tx.AppendEvent(ctx, herald.Event{ThreadID: id, Seq: seq, Type: herald.EventMessageReceived, MessageID: msg.ID, Actor: msg.SenderID, At: at}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	// Delivery runs: one per (message, one recipient), in batches.
	var runs []herald.Delivery
	for th := range benchThreads {
		for j := range benchPerThr {
			at := t0.Add(time.Duration(j) * time.Second)
			runs = append(runs, herald.Delivery{UserID: uid(th*benchMembers + (j+1)%benchMembers), ThreadID: tid(th),
				ConnectionID: herald.ConnectionID(fmt.Sprintf("c_%06d", (th*benchPerThr+j)%benchConns)), Transport: "websocket",
				FromSeq: herald.Seq(j + 2), ToSeq: herald.Seq(j + 2), FirstAt: at, LastAt: at})
			if len(runs) == 20_000 {
				must(s.RecordDeliveries(ctx, runs))
				runs = runs[:0]
			}
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	must(err)
	defer db.Close()
	tx, err := db.Begin()
	must(err)
	for i := range benchRequests {
		th, j := (i/benchPerThr)%benchThreads, i%benchPerThr
		_, err := tx.Exec(`INSERT INTO requests (at, request_id, caller, operation, thread_id, message_id, status) VALUES (?, ?, ?, 'SendChatMessage', ?, ?, 201)`,
			t0.Add(time.Duration(j)*time.Second).UnixMilli(), fmt.Sprintf("r_%07d", i), uid(th*benchMembers+j%benchMembers), tid(th), mid(th, j))
		must(err)
	}
	for i := range benchConns {
		at := t0.Add(time.Duration(i) * time.Second)
		_, err := tx.Exec(`INSERT INTO connections (id, user_id, transport, opened_at, closed_at, close_code, close_reason, closed_by, handles)
			VALUES (?, ?, 'websocket', ?, ?, 1000, 'client_closed', 'client', '["chatMessageReceived"]')`,
			fmt.Sprintf("c_%06d", i), uid(i%benchUsers), at.UnixMilli(), at.Add(time.Hour).UnixMilli())
		must(err)
	}
	must(tx.Commit())
}

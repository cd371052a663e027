package doctor_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/sqlite"
)

// BenchmarkThreadTriage: the triage of a message across a 250-member
// thread (every member pushed, acknowledged, connected, with requests in
// the window), on a store that also holds HERALD_BENCH_MESSAGES messages
// in 10-member threads (default 20,000, so that a plain -bench run stays
// small; the target is 1,000,000). HERALD_BENCH_DIR reuses a built store.
//
//	HERALD_BENCH_MESSAGES=1000000 go test ./doctor -run '^$' -bench ThreadTriage -benchtime 20x
func BenchmarkThreadTriage(b *testing.B) {
	ctx := context.Background()
	messages := 20_000
	if v := os.Getenv("HERALD_BENCH_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("HERALD_BENCH_MESSAGES=%q: want a number of at least 1000", v)
		}
		messages = n
	}
	dir := os.Getenv("HERALD_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("triage-bench-%d.db", messages))
	_, statErr := os.Stat(path)
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if statErr != nil {
		start := time.Now()
		loadTriage(b, store, path, messages)
		b.Logf("built the store (%d messages besides the big thread) in %v", messages, time.Since(start).Round(time.Second))
	}
	d := doctor.New(store, fixedClock{t: t0.Add(2 * time.Hour)})
	b.ResetTimer()
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		tr, err := d.ThreadTriage(ctx, doctor.ThreadQuery{Thread: "t_big", Message: bigMsg(bigMessages / 2), Since: t0})
		if el := time.Since(start); el > worst {
			worst = el
		}
		if err != nil || tr.Pairs != bigMembers-1 {
			b.Fatalf("triage: %v, %d pairs, want %d", err, tr.Pairs, bigMembers-1)
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

const (
	bigMembers  = 250
	bigMessages = 1000
)

func bigUser(i int) herald.UserID       { return herald.UserID(fmt.Sprintf("u_big%03d", i)) }
func bigMsg(j int) herald.MessageID     { return herald.MessageID(fmt.Sprintf("m_big%04d", j)) }
func bigConn(i int) herald.ConnectionID { return herald.ConnectionID(fmt.Sprintf("c_big%03d", i)) }

func loadTriage(b *testing.B, s herald.Store, path string, messages int) {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	threads := messages / benchPerThr
	users := threads * benchMembers
	must(s.Update(ctx, func(tx herald.Tx) error {
		for i := range users {
			if err := tx.CreateIdentity(ctx, herald.Identity{ID: uid(i), CreatedAt: t0}); err != nil {
				return err
			}
		}
		for i := range bigMembers {
			if err := tx.CreateIdentity(ctx, herald.Identity{ID: bigUser(i), CreatedAt: t0}); err != nil {
				return err
			}
			if err := tx.CreateToken(ctx, herald.Token{ID: herald.TokenID(fmt.Sprintf("k_big%03d", i)), UserID: bigUser(i), Scopes: []herald.Scope{herald.ScopeChat},
				IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	}))
	thread := func(id herald.ThreadID, members []herald.UserID, n int, msg func(j int) herald.MessageID) {
		must(s.Update(ctx, func(tx herald.Tx) error {
			if err := tx.CreateThread(ctx, herald.Thread{ID: id, Topic: "bench", CreatedBy: members[0], CreatedAt: t0, UpdatedAt: t0}, "", ""); err != nil {
				return err
			}
			head, err := tx.NextSeq(ctx, id, t0, false)
			if err != nil {
				return err
			}
			seq := head.Seq
			if err := tx.AppendEvent(ctx, herald.Event{ThreadID: id, Seq: seq, Type: herald.EventThreadCreated, Actor: members[0], At: t0, Users: members}); err != nil {
				return err
			}
			for _, u := range members {
				if err := tx.PutParticipant(ctx, herald.Participant{ThreadID: id, UserID: u, AddedAt: t0, AddedBy: members[0], AddedSeq: 1}); err != nil {
					return err
				}
			}
			for j := range n {
				at := t0.Add(time.Duration(j) * time.Second)
				head, err := tx.NextSeq(ctx, id, at, true)
				if err != nil {
					return err
				}
				seq := head.Seq
				m := herald.Message{ID: msg(j), ThreadID: id, Seq: seq, Type: herald.MessageText, SenderID: members[j%len(members)], Content: "benchmark message", CreatedAt: at, Version: 1}
				if err := tx.CreateMessage(ctx, m); err != nil {
					return err
				}
				if err := tx.AppendEvent(ctx, herald.Event{ThreadID: id, Seq: seq, Type: herald.EventMessageReceived, MessageID: m.ID, Actor: m.SenderID, At: at}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	for th := range threads {
		members := make([]herald.UserID, benchMembers)
		for m := range members {
			members[m] = uid(th*benchMembers + m)
		}
		thread(tid(th), members, benchPerThr, func(j int) herald.MessageID { return mid(th, j) })
	}
	big := make([]herald.UserID, bigMembers)
	for i := range big {
		big[i] = bigUser(i)
	}
	thread("t_big", big, bigMessages, bigMsg)
	// Every member of the big thread: an open connection, one run of every
	// message pushed on it, an ack of everything, 100 requests.
	var runs []herald.Delivery
	var acks []herald.Ack
	last := t0.Add(bigMessages * time.Second)
	for i := range bigMembers {
		runs = append(runs, herald.Delivery{UserID: bigUser(i), ThreadID: "t_big", ConnectionID: bigConn(i), Transport: "websocket",
			FromSeq: 2, ToSeq: bigMessages + 1, FirstAt: t0, LastAt: last})
		acks = append(acks, herald.Ack{UserID: bigUser(i), ThreadID: "t_big", ConnectionID: bigConn(i), Seq: bigMessages + 1, At: last})
	}
	must(s.RecordDeliveries(ctx, runs))
	must(s.RecordAcks(ctx, acks))
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	must(err)
	defer db.Close()
	tx, err := db.Begin()
	must(err)
	for i := range bigMembers {
		_, err := tx.Exec(`INSERT INTO connections (id, user_id, transport, opened_at, handles) VALUES (?, ?, 'websocket', ?, '["chatMessageReceived"]')`,
			string(bigConn(i)), string(bigUser(i)), t0.UnixMilli())
		must(err)
		for j := range 100 {
			_, err := tx.Exec(`INSERT INTO requests (at, request_id, caller, operation, thread_id, status) VALUES (?, ?, ?, 'ListChatMessages', 't_big', 200)`,
				t0.Add(time.Duration(j)*time.Minute).UnixMilli(), fmt.Sprintf("r_big%03d_%03d", i, j), string(bigUser(i)))
			must(err)
		}
	}
	must(tx.Commit())
}

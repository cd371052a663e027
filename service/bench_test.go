package service_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/postgres"
	"github.com/herald-chat/herald/postgres/pgtest"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// benchService is a Service on SQLite in a temporary directory (the
// embedded default: WAL, synchronous=FULL), with the write limit off.
func benchService(tb testing.TB) (*service.Service, *inmem.Broker) {
	tb.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "herald.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	limits := service.DefaultLimits()
	limits.WriteRate, limits.MaxParticipants = 0, 1000
	clock, broker := herald.SystemClock{}, inmem.New()
	svc, err := service.New(store, token.New(key, "", "", clock), broker, clock, herald.RandomIDs{}, limits)
	if err != nil {
		tb.Fatal(err)
	}
	return svc, broker
}

// mustCaller creates an identity with a chat token.
func mustCaller(tb testing.TB, svc *service.Service) service.Caller {
	tb.Helper()
	id, tok, err := svc.CreateIdentity(context.Background(), service.NewIdentity{Scopes: []herald.Scope{herald.ScopeChat}})
	if err != nil {
		tb.Fatal(err)
	}
	return service.Caller{User: id.ID, Token: tok.Token}
}

// mustThread creates a thread of the creator and n-1 other participants.
func mustThread(tb testing.TB, svc *service.Service, creator service.Caller, n int) herald.ThreadID {
	tb.Helper()
	ctx := context.Background()
	th, _, err := svc.CreateThread(ctx, creator, service.NewThread{Topic: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	for added := 1; added < n; {
		var batch []service.NewParticipant
		for ; added < n && len(batch) < 200; added++ {
			batch = append(batch, service.NewParticipant{User: mustCaller(tb, svc).User})
		}
		if refused, err := svc.AddParticipants(ctx, creator, th.ID, batch); err != nil || len(refused) > 0 {
			tb.Fatalf("add participants: %v %v", err, refused)
		}
	}
	return th.ID
}

// BenchmarkSendMessage measures committing one message durably (one
// transaction, one fsync of the WAL) and publishing its signal, for
// threads of 1, 100 and 1,000 participants (the recipients are read in the
// transaction). There is no subscriber: fan-out is BenchmarkDispatch in
// package hub.
//
//	go test ./service -run '^$' -bench SendMessage
func BenchmarkSendMessage(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("participants=%d", n), func(b *testing.B) {
			svc, _ := benchService(b)
			alice := mustCaller(b, svc)
			th := mustThread(b, svc, alice, n)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				i++
				if _, err := svc.SendMessage(ctx, alice, th, service.NewMessage{Content: "hello " + strconv.Itoa(i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSendMessageParallel is BenchmarkSendMessage with concurrent
// senders in one thread of 100: the commits are serialized by SQLite's one
// writer, so this is the ceiling of sends per second on one node.
func BenchmarkSendMessageParallel(b *testing.B) {
	svc, _ := benchService(b)
	alice := mustCaller(b, svc)
	th := mustThread(b, svc, alice, 100)
	ctx := context.Background()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.SendMessage(ctx, alice, th, service.NewMessage{Content: "hello"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkReplay measures the resume path: reading 500 events (messages)
// of a thread as one participant may see them, with their messages.
//
//	go test ./service -run '^$' -bench Replay
func BenchmarkReplay(b *testing.B) {
	svc, _ := benchService(b)
	alice := mustCaller(b, svc)
	th := mustThread(b, svc, alice, 2)
	ctx := context.Background()
	for i := range 500 {
		if _, err := svc.SendMessage(ctx, alice, th, service.NewMessage{Content: "message " + strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
	pos, err := svc.Positions(ctx, alice.User)
	if err != nil || len(pos) != 1 {
		b.Fatalf("positions: %v %v", pos, err)
	}
	from := pos[0].Head - 500
	for b.Loop() {
		cu, err := svc.Replay(ctx, alice.User, th, from, 500)
		if err != nil {
			b.Fatal(err)
		}
		if len(cu.Signals) != 500 {
			b.Fatalf("got %d signals, want 500", len(cu.Signals))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/500, "µs/event")
}

// BenchmarkPositions measures what resume and resync ask for every
// connection: where a user stands in each of their threads, here 1,000
// (ListMemberships: one query per 500 threads, where it was one per
// thread), on SQLite and, where HERALD_TEST_POSTGRES is set, PostgreSQL.
//
//	go test ./service -run '^$' -bench Positions
func BenchmarkPositions(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		svc, _ := benchService(b)
		benchPositions(b, svc)
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := pgtest.DSN(b)
		schema := pgtest.Schema(b, dsn)
		store, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(schema))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { store.Close() })
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		limits := service.DefaultLimits()
		limits.WriteRate = 0
		clock := herald.SystemClock{}
		svc, err := service.New(store, token.New(key, "", "", clock), inmem.New(), clock, herald.RandomIDs{}, limits)
		if err != nil {
			b.Fatal(err)
		}
		benchPositions(b, svc)
	})
}

func benchPositions(b *testing.B, svc *service.Service) {
	ctx := context.Background()
	user := mustCaller(b, svc)
	for range 1000 {
		if _, _, err := svc.CreateThread(ctx, user, service.NewThread{Topic: "p"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		ps, err := svc.Positions(ctx, user.User)
		if err != nil || len(ps) != 1000 {
			b.Fatalf("Positions: %d, %v", len(ps), err)
		}
	}
}

package service_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/postgres"
	"github.com/herald-chat/herald/postgres/pgtest"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// countingStore counts the ListMembers calls made inside Updates.
type countingStore struct {
	herald.Store
	lists *atomic.Int64
}

func (s countingStore) Update(ctx context.Context, fn func(herald.Tx) error) error {
	return s.Store.Update(ctx, func(tx herald.Tx) error { return fn(countingTx{tx, s.lists}) })
}

type countingTx struct {
	herald.Tx
	lists *atomic.Int64
}

func (t countingTx) ListMembers(ctx context.Context, thread herald.ThreadID) ([]herald.Member, error) {
	t.lists.Add(1)
	return t.Tx.ListMembers(ctx, thread)
}

// node is one Service over a shared store, as one node of a deployment,
// with the event signals it publishes.
type node struct {
	svc   *service.Service
	lists atomic.Int64
	mu    sync.Mutex
	last  herald.Signal // the last event signal published
}

func (n *node) lastRecipients() []herald.UserID {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := slices.Clone(n.last.Recipients)
	slices.Sort(r)
	return r
}

// engines opens, per Store engine, the stores of two nodes of one
// deployment: SQLite shares one Store (one file, one writer); PostgreSQL
// gives each node its own Store on one schema, as two servers would.
// PostgreSQL is skipped where HERALD_TEST_POSTGRES is unset.
var engines = []struct {
	name string
	open func(t *testing.T) (herald.Store, herald.Store)
}{
	{"sqlite", func(t *testing.T) (herald.Store, herald.Store) {
		store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "herald.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		return store, store
	}},
	{"postgres", func(t *testing.T) (herald.Store, herald.Store) {
		dsn := pgtest.DSN(t)
		schema := pgtest.Schema(t, dsn)
		open := func() herald.Store {
			store, err := postgres.Open(t.Context(), dsn, postgres.WithSchema(schema), postgres.WithMaxConns(4))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			return store
		}
		return open(), open()
	}},
}

// forEngines runs test once per engine.
func forEngines(t *testing.T, test func(t *testing.T, a, b herald.Store)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			a, b := e.open(t)
			test(t, a, b)
		})
	}
}

// twoNodes returns two Services, one on each store, sharing a signing key
// and a clock, each with its own caches and broker.
func twoNodes(t *testing.T, storeA, storeB herald.Store) (*node, *node, *clocktest.Clock) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
	limits := service.DefaultLimits()
	limits.WriteRate = 0
	mk := func(store herald.Store) *node {
		n := &node{}
		broker := inmem.New()
		if _, err := broker.Subscribe(func(s herald.Signal) {
			if s.Kind == herald.SignalEvent {
				n.mu.Lock()
				n.last = s
				n.mu.Unlock()
			}
		}); err != nil {
			t.Fatal(err)
		}
		svc, err := service.New(countingStore{store, &n.lists}, token.New(key, "", "", clock), broker, clock, herald.RandomIDs{}, limits)
		if err != nil {
			t.Fatal(err)
		}
		n.svc = svc
		return n
	}
	return mk(storeA), mk(storeB), clock
}

func users(cs ...service.Caller) []herald.UserID {
	out := make([]herald.UserID, len(cs))
	for i, c := range cs {
		out[i] = c.User
	}
	slices.Sort(out)
	return out
}

// A send's recipients come from a cache of each thread's members, and the
// cache is exact across nodes: a participant added or removed through
// another node is in (or out of) the next send's recipients here, and a
// send that hits the cache reads no member list.
func TestRecipientsCacheAcrossNodes(t *testing.T) {
	forEngines(t, testRecipientsCacheAcrossNodes)
}

func testRecipientsCacheAcrossNodes(t *testing.T, storeA, storeB herald.Store) {
	a, b, _ := twoNodes(t, storeA, storeB)
	ctx := context.Background()
	alice, bob, carol := mustCaller(t, a.svc), mustCaller(t, a.svc), mustCaller(t, a.svc)
	th, _, err := a.svc.CreateThread(ctx, alice, service.NewThread{Topic: "t", Participants: []service.NewParticipant{{User: bob.User}}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(n *node) []herald.UserID {
		t.Helper()
		if _, err := n.svc.SendMessage(ctx, alice, th.ID, service.NewMessage{Content: "hi"}); err != nil {
			t.Fatal(err)
		}
		return n.lastRecipients()
	}
	if got, want := send(a), users(alice, bob); !slices.Equal(got, want) {
		t.Fatalf("first send: got recipients %v, want %v", got, want)
	}
	before := a.lists.Load()
	if got, want := send(a), users(alice, bob); !slices.Equal(got, want) {
		t.Fatalf("second send: got recipients %v, want %v", got, want)
	}
	if got := a.lists.Load() - before; got != 0 {
		t.Errorf("second send to an unchanged thread listed the members %d times, want 0 (cached)", got)
	}
	// Node B adds carol: node A's next send reaches her.
	if refused, err := b.svc.AddParticipants(ctx, alice, th.ID, []service.NewParticipant{{User: carol.User}}); err != nil || len(refused) > 0 {
		t.Fatalf("add on node B: %v %v", err, refused)
	}
	if got, want := send(a), users(alice, bob, carol); !slices.Equal(got, want) {
		t.Errorf("send on A after B added carol: got recipients %v, want %v", got, want)
	}
	// Node B removes bob: node A's next send no longer reaches him.
	if err := b.svc.RemoveParticipant(ctx, alice, th.ID, bob.User); err != nil {
		t.Fatalf("remove on node B: %v", err)
	}
	if got, want := send(a), users(alice, carol); !slices.Equal(got, want) {
		t.Errorf("send on A after B removed bob: got recipients %v, want %v", got, want)
	}
}

// A participant added with a shareHistoryTime after a message's creation
// does not receive it, on a cache hit as on a miss; a later message, from
// the same cached members, reaches them.
func TestRecipientsCacheKeepsShareHistoryTime(t *testing.T) {
	forEngines(t, testRecipientsCacheKeepsShareHistoryTime)
}

func testRecipientsCacheKeepsShareHistoryTime(t *testing.T, storeA, storeB herald.Store) {
	a, _, clock := twoNodes(t, storeA, storeB)
	ctx := context.Background()
	alice, dan := mustCaller(t, a.svc), mustCaller(t, a.svc)
	later := clock.Now().Add(time.Hour)
	th, _, err := a.svc.CreateThread(ctx, alice, service.NewThread{Topic: "t",
		Participants: []service.NewParticipant{{User: dan.User, ShareHistoryTime: later}}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(step string, want []herald.UserID) {
		t.Helper()
		before := a.lists.Load()
		if _, err := a.svc.SendMessage(ctx, alice, th.ID, service.NewMessage{Content: step}); err != nil {
			t.Fatal(err)
		}
		if got := a.lastRecipients(); !slices.Equal(got, want) {
			t.Errorf("%s: got recipients %v, want %v", step, got, want)
		}
		if step != "miss" && a.lists.Load() != before {
			t.Errorf("%s: listed the members; want a cache hit", step)
		}
	}
	send("miss", users(alice))
	send("hit before dan's shareHistoryTime", users(alice))
	clock.Advance(2 * time.Hour)
	send("hit after dan's shareHistoryTime", users(alice, dan))
}

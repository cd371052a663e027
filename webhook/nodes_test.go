package webhook_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/postgres"
	"github.com/herald-chat/herald/postgres/pgtest"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/token"
	"github.com/herald-chat/herald/webhook"
)

// TestNodesShareTheOutbox: two nodes on one PostgreSQL store (each its own
// pool, service and dispatcher) send and deliver at once; every event
// arrives, and none twice (each delivery is claimed by one node under its
// lease).
func TestNodesShareTheOutbox(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	clock := clocktest.New(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	type node struct {
		svc *service.Service
		d   *webhook.Dispatcher
	}
	var nodes []node
	for i := range 2 {
		store, err := postgres.Open(t.Context(), dsn, postgres.WithSchema(schema), postgres.WithMaxConns(4))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		d := webhook.New(store, clock, herald.RandomIDs{}, webhook.Options{Node: string(rune('a' + i)), Batch: 4})
		limits := service.DefaultLimits()
		limits.WriteRate = 0
		svc, err := service.New(store, token.New(key, "", "", clock), inmem.New(), clock, herald.RandomIDs{}, limits, service.WithOutbox(d))
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, node{svc, d})
	}
	r := newReceiver(t)
	w, err := nodes[0].d.Create(t.Context(), webhook.Spec{URL: r.srv.URL, EventTypes: []string{webhook.TypeMessageReceivedInThread}})
	if err != nil {
		t.Fatal(err)
	}
	r.secret = w.Secret
	if err := nodes[1].d.Load(t.Context()); err != nil { // what its Run does every 5 s
		t.Fatal(err)
	}
	f := &fixture{svc: nodes[0].svc}
	alice := f.caller(t)
	th, _, err := nodes[0].svc.CreateThread(t.Context(), alice, service.NewThread{Topic: "x"})
	must(t, err)

	const perNode = 40
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() {
			for i := range perNode {
				if _, err := n.svc.SendMessage(t.Context(), alice, th.ID, service.NewMessage{Content: "m"}); err != nil {
					t.Errorf("send: %v", err)
					return
				}
				if i%5 == 0 {
					if _, err := n.d.RunOnce(t.Context()); err != nil {
						t.Errorf("RunOnce: %v", err)
					}
				}
			}
			for range 50 {
				if k, err := n.d.RunOnce(t.Context()); err != nil || k == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, n := range nodes { // what is left
		for range 50 {
			if k, _ := n.d.RunOnce(t.Context()); k == 0 {
				break
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if got := r.types[webhook.TypeMessageReceivedInThread]; got != 2*perNode {
		t.Errorf("events arrived: %d, want %d", got, 2*perNode)
	}
	if r.dupes != 0 {
		t.Errorf("%d events arrived twice from two nodes under one lease", r.dupes)
	}
}

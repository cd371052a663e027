package service_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// commitObserver counts the send commits observed.
type commitObserver struct {
	herald.NoObserver
	mu    sync.Mutex
	sends int
}

func (o *commitObserver) SendCommitted(time.Duration) { o.mu.Lock(); o.sends++; o.mu.Unlock() }

// recordingBroker keeps what is published.
type recordingBroker struct {
	herald.Broker
	mu      sync.Mutex
	signals []herald.Signal
}

func (b *recordingBroker) Publish(ctx context.Context, s herald.Signal) error {
	b.mu.Lock()
	b.signals = append(b.signals, s)
	b.mu.Unlock()
	return b.Broker.Publish(ctx, s)
}

// TestSendCommitObserved: each committed send is observed once (other
// writes, and a send that is an idempotent retry, are not), and every
// signal published carries its commit time, where fan-out latency starts.
func TestSendCommitObserved(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	clock := clocktest.New(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
	obs := &commitObserver{}
	broker := &recordingBroker{Broker: inmem.New()}
	svc, err := service.New(store, token.New(key, "", "", clock), broker, clock, herald.RandomIDs{}, service.DefaultLimits(),
		service.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	alice := mustCaller(t, svc)
	th, _, err := svc.CreateThread(context.Background(), alice, service.NewThread{Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"one", "two", "two"} { // the second "two" is a retry: nothing new commits
		if _, err := svc.SendMessage(context.Background(), alice, th.ID, service.NewMessage{Content: "hi", ClientMessageID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if obs.sends != 2 {
		t.Errorf("send commits observed: got %d, want 2", obs.sends)
	}
	broker.mu.Lock()
	defer broker.mu.Unlock()
	if len(broker.signals) == 0 {
		t.Fatalf("got no signals published, want the thread's and the sends'")
	}
	for _, s := range broker.signals {
		if !s.Committed.Equal(clock.Now()) {
			t.Errorf("signal %s seq %d: got Committed %v, want the commit time %v", s.Kind, s.Seq, s.Committed, clock.Now())
		}
	}
}

package service_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// failingBroker refuses every signal.
type failingBroker struct{ herald.Broker }

func (failingBroker) Publish(context.Context, herald.Signal) error { return errors.New("broker down") }

// A signal the broker refuses does not fail the send (the commit is
// durable; receivers read it from the store), and is counted and logged,
// never dropped silently.
func TestPublishFailureCountedAndLogged(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	clock := clocktest.New(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
	var logged bytes.Buffer
	limits := service.DefaultLimits()
	limits.WriteRate = 0
	svc, err := service.New(store, token.New(key, "", "", clock), failingBroker{inmem.New()}, clock, herald.RandomIDs{}, limits,
		service.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	alice := mustCaller(t, svc)
	th, _, err := svc.CreateThread(context.Background(), alice, service.NewThread{Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	before := svc.PublishFailures()
	if _, err := svc.SendMessage(context.Background(), alice, th.ID, service.NewMessage{Content: "hi"}); err != nil {
		t.Fatalf("send with the broker down: got %v, want it stored and acknowledged", err)
	}
	if got := svc.PublishFailures() - before; got != 1 {
		t.Errorf("got %d publish failures counted for one send, want 1", got)
	}
	if !strings.Contains(logged.String(), "publish failed") || !strings.Contains(logged.String(), string(th.ID)) {
		t.Errorf("log %q does not say that the publish for %s failed", logged.String(), th.ID)
	}
}

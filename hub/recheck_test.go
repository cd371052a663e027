package hub

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/wire"
)

// revocableRules answers Recheck with token_revoked once revoked is set.
type revocableRules struct {
	logRules
	revoked atomic.Bool
	checks  atomic.Int64
}

func (r *revocableRules) Recheck(context.Context, herald.Token) error {
	r.checks.Add(1)
	if r.revoked.Load() {
		return herald.Errorf(herald.CodeUnauthorized, herald.ReasonTokenRevoked, "revoked")
	}
	return nil
}

func openRevocable(t *testing.T, recheck time.Duration) (*revocableRules, *inmem.Broker, *clocktest.Clock, *gateTransport, *Hub) {
	t.Helper()
	rules := &revocableRules{}
	broker := inmem.New()
	clk := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	h, err := New(rules, benchLedger{}, broker, clk, herald.RandomIDs{}, Config{Recheck: recheck, WriteTimeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	tr := &gateTransport{wrote: make(chan struct{}, 1), caughtUp: make(chan struct{})}
	tok := herald.Token{ID: "k", UserID: "u_a", ExpiresAt: clk.Now().Add(24 * time.Hour)}
	if _, err := h.Open(context.Background(), tok, tr, Meta{Transport: wire.TransportWebSocket}, wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion}); err != nil {
		t.Fatal(err)
	}
	<-tr.caughtUp
	return rules, broker, clk, tr, h
}

func closedWith(tr *gateTransport, code int) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Contains(tr.closed, code)
}

// A revocation whose credential signal was lost (a networked broker can
// lose one) still closes the connection: the hub re-checks every
// connection's token once per Recheck period, on its clock.
func TestPeriodicRecheckClosesRevoked(t *testing.T) {
	const period = time.Minute
	rules, _, clk, tr, _ := openRevocable(t, period)
	rules.revoked.Store(true) // no signal
	for i := 0; !closedWith(tr, wire.CloseTokenRevoked); i++ {
		if i == 20 { // 20 periods: far more than the one the rule needs
			t.Fatalf("not closed with token_revoked after %d periods (%d rechecks)", i, rules.checks.Load())
		}
		clk.Advance(period / 2)
		time.Sleep(10 * time.Millisecond) // let the rechecker run; the clock moves only here
	}
}

// A credential signal (a revocation on any node) re-checks the user's
// connections at once, without waiting for the period.
func TestCredentialSignalRechecksAtOnce(t *testing.T) {
	rules, broker, _, tr, _ := openRevocable(t, 24*time.Hour)
	rules.revoked.Store(true)
	broker.Publish(context.Background(), herald.Signal{Kind: herald.SignalCredential, User: "u_a"})
	deadline := time.Now().Add(10 * time.Second)
	for !closedWith(tr, wire.CloseTokenRevoked) {
		if time.Now().After(deadline) {
			t.Fatal("not closed with token_revoked after the credential signal")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

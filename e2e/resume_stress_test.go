package e2e

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

// stream is one connection of the stress test: its frames, and a way to
// cut it abruptly.
type stream struct {
	frames <-chan wire.ServerFrame
	cut    func()
}

// TestResumeUnderRandomDisconnects sends 2,000 messages (10,000 with
// -stress) across several threads while a receiver is cut at random points
// — including in the middle of a replay — and reconnects with its cursor
// each time. Every message must arrive exactly once, in per-thread order.
func TestResumeUnderRandomDisconnects(t *testing.T) {
	for _, transport := range []string{wire.TransportWebSocket, wire.TransportSSE} {
		t.Run(transport, func(t *testing.T) { resumeStress(t, transport) })
	}
}

func resumeStress(t *testing.T, transport string) {
	const threads = 5
	total := size(2000, 10000)
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	e := start(t, func(l *service.Limits) { l.WriteRate = 0 })
	alice, bob := e.newUser(), e.newUser()
	ids := make([]string, threads)
	for i := range ids {
		ids[i] = e.newThread(alice, bob)
	}
	open := func(cursor map[string]int64) stream {
		hello := wire.ClientFrame{Resume: true, Cursor: cursor}
		if transport == wire.TransportSSE {
			s := e.dialSSE(bob.Token, hello)
			return stream{frames: s.frames, cut: s.cancel}
		}
		c, _, err := e.dialWS(bob.Token, hello)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		return stream{frames: c.frames, cut: func() { c.ws.CloseNow(); c.cancel() }}
	}

	var sent atomic.Int64
	var wg sync.WaitGroup
	for i, th := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range total / threads {
				e.send(alice, th, fmt.Sprintf("t%d-%d", i, n))
				sent.Add(1)
			}
		}()
	}

	// Bob has seen each thread's creation and its topic (seq 1 and 2) before the run.
	cursor := map[string]int64{}
	for _, th := range ids {
		cursor[th] = createdSeq
	}
	received, dups, cuts := 0, 0, 0
	deadline := time.Now().Add(5 * time.Minute)
	for received < total {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d in 5 minutes (cuts %d)", received, total, cuts)
		}
		s := open(cursor)
		budget := 1 + rng.IntN(800) // events to take before the next cut
		for budget > 0 {
			var f wire.ServerFrame
			var ok bool
			select {
			case f, ok = <-s.frames:
			case <-time.After(10 * time.Second):
				t.Fatalf("no frame for 10s: received %d of %d, sent %d", received, total, sent.Load())
			}
			if !ok {
				break
			}
			if f.Type != wire.FrameEvent {
				continue
			}
			if f.Event != "chatMessageReceived" {
				t.Fatalf("unexpected %s", f.Event)
			}
			switch {
			case f.Seq <= cursor[f.ThreadID]:
				dups++
			case f.Seq == cursor[f.ThreadID]+1:
				cursor[f.ThreadID] = f.Seq
				received++
				budget--
			default:
				t.Fatalf("thread %s: gap, got seq %d after %d", f.ThreadID, f.Seq, cursor[f.ThreadID])
			}
			if received == total {
				break
			}
		}
		s.cut()
		cuts++
	}
	wg.Wait()
	if dups != 0 {
		t.Errorf("got %d duplicate events, want 0", dups)
	}
	for _, th := range ids {
		if want := int64(createdSeq + total/threads); cursor[th] != want {
			t.Errorf("thread %s: cursor %d, want %d", th, cursor[th], want)
		}
	}
	t.Logf("%s: sent %d, received %d, duplicates %d, disconnects %d", transport, sent.Load(), received, dups, cuts)
}

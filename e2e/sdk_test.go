package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

// sdk starts a Realtime for u with the given handlers and returns it
// running; it is stopped at cleanup.
func (e *env) sdk(cred client.Credential, transport string, setup func(r *client.Realtime)) *client.Realtime {
	e.t.Helper()
	c := client.New(e.URL, cred, client.WithClock(e.Clock))
	r := c.Realtime(client.RealtimeOptions{Transport: transport, Backoff: client.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond}})
	setup(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		r.Close()
		<-done
	})
	return r
}

// events collects what handlers receive, in order.
type events struct {
	mu  sync.Mutex
	got []client.Event
	ch  chan struct{}
}

func newEvents() *events { return &events{ch: make(chan struct{}, 1)} }

func (ev *events) handler(_ context.Context, e client.Event) error {
	ev.mu.Lock()
	ev.got = append(ev.got, e)
	ev.mu.Unlock()
	select {
	case ev.ch <- struct{}{}:
	default:
	}
	return nil
}

// wait returns the events once pred holds, failing after d.
func (ev *events) wait(t testing.TB, d time.Duration, what string, pred func([]client.Event) bool) []client.Event {
	t.Helper()
	deadline := time.After(d)
	for {
		ev.mu.Lock()
		got := slices.Clone(ev.got)
		ev.mu.Unlock()
		if pred(got) {
			return got
		}
		select {
		case <-ev.ch:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("waiting for %s: got %d events", what, len(got))
		}
	}
}

func count(typ herald.EventType, thread string) func([]client.Event) int {
	return func(es []client.Event) int {
		n := 0
		for _, e := range es {
			if e.Type == typ && (thread == "" || e.ThreadID == thread) {
				n++
			}
		}
		return n
	}
}

func TestSDKDropsThreadsAndAcks(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th, doomed := e.newThread(alice, bob), e.newThread(alice, bob)
	ev := newEvents()
	r := e.sdk(client.StaticToken(bob.Token), "", func(r *client.Realtime) {
		for _, typ := range []herald.EventType{herald.EventMessageReceived, herald.EventParticipantsRemoved, herald.EventThreadDeleted} {
			r.On(typ, ev.handler)
		}
	})
	ev.wait(t, 5*time.Second, "connect", func([]client.Event) bool { return len(r.Threads()) == 2 })
	m := e.send(alice, th, "to the sdk")
	ev.wait(t, 5*time.Second, "the message", func(es []client.Event) bool { return count(herald.EventMessageReceived, th)(es) == 1 })

	// The ack reaches the ledger once the handler has returned.
	eventually(t, 5*time.Second, "the ack of seq "+m.SequenceID, func() bool {
		e.Hub.Sync()
		acks, _ := e.Store.ListAcks(context.Background(), herald.DeliveryFilter{User: herald.UserID(bob.ID), Thread: herald.ThreadID(th)})
		return len(acks) > 0 && fmt.Sprint(acks[len(acks)-1].Seq) == m.SequenceID
	})

	// Removal and deletion drop the threads; sends fail fast with the reason.
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:remove", alice.Token, wire.Identifier(bob.ID)), 204, nil)
	e.ok(e.do("DELETE", "/chat/threads/"+doomed, alice.Token, nil), 204, nil)
	ev.wait(t, 5*time.Second, "drops", func([]client.Event) bool { return len(r.Threads()) == 0 })
	before := e.threadSeq(th)
	_, err := r.Send(context.Background(), th, wire.SendMessageRequest{Content: "x"})
	if herald.ErrorReason(err) != herald.ReasonNotParticipant {
		t.Errorf("send after removal: got %v, want not_participant", err)
	}
	_, err = r.Send(context.Background(), doomed, wire.SendMessageRequest{Content: "x"})
	if herald.ErrorReason(err) != herald.ReasonThreadDeleted {
		t.Errorf("send to deleted thread: got %v, want thread_deleted", err)
	}
	if e.threadSeq(th) != before {
		t.Errorf("a fail-fast send reached the server")
	}
	// Nothing from the thread after the removal reaches the app: a message
	// sent afterwards on a thread bob still has is delivered after it would
	// have been (one connection, signals in commit order), so once that one
	// arrived the other had its chance.
	e.send(alice, th, "after removal")
	marker := e.newThread(alice, bob)
	ev.wait(t, 5*time.Second, "the marker thread", func([]client.Event) bool { return len(r.Threads()) == 1 })
	e.send(alice, marker, "marker")
	got := ev.wait(t, 5*time.Second, "the marker", func(es []client.Event) bool { return count(herald.EventMessageReceived, marker)(es) == 1 })
	if n := count(herald.EventMessageReceived, th)(got); n != 1 {
		t.Errorf("got %d messages from the thread, want 1 (none after removal)", n)
	}
}

func TestSDKRefreshKeepsConnection(t *testing.T) { testSDKRefreshKeepsConnection(t, epoch) }

func testSDKRefreshKeepsConnection(t *testing.T, at time.Time) {
	e := startAt(t, at)
	alice := e.newUser()
	var created wire.CreateIdentityResponse
	e.ok(e.do("POST", "/identities", adminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}, ExpiresInMinutes: ptr(60)}), 201, &created)
	bob := created.Identity.ID
	th := e.newThread(alice, user{ID: bob})
	var refreshes atomic.Int64
	cred := client.NewTokenCredential(created.AccessToken.Token, func(ctx context.Context) (string, error) {
		var tok wire.AccessToken
		r := e.do("POST", "/identities/"+bob+"/:issueAccessToken", adminKey, wire.IssueTokenRequest{Scopes: []string{"chat"}, ExpiresInMinutes: ptr(60)})
		if err := jsonInto(r, &tok); err != nil {
			return "", err
		}
		refreshes.Add(1)
		return tok.Token, nil
	}, client.WithRefreshBefore(0), client.WithCredentialClock(e.Clock))
	defer cred.Close()
	ev := newEvents()
	var mu sync.Mutex
	var conns []string
	e.sdk(cred, "", func(r *client.Realtime) {
		r.On(herald.EventMessageReceived, ev.handler)
		r.OnState(func(sc client.StateChange) {
			if sc.State == client.StateConnected && !sc.CaughtUp {
				mu.Lock()
				conns = append(conns, sc.ConnectionID)
				mu.Unlock()
			}
		})
	})
	ev.wait(t, 5*time.Second, "connect", func([]client.Event) bool { mu.Lock(); defer mu.Unlock(); return len(conns) == 1 })
	mu.Lock()
	conn, _ := e.Hub.Conn(herald.ConnectionID(conns[0]))
	mu.Unlock()
	if conn == nil {
		t.Fatal("the SDK's connection is not open on the server")
	}
	for round := range 3 {
		before := conn.TokenID()
		if round == 0 {
			e.Clock.Advance(56 * time.Minute)
		} else {
			e.Clock.Advance(46 * time.Minute)
		}
		want := int64(round + 1)
		ev.wait(t, 5*time.Second, "refresh", func([]client.Event) bool { return refreshes.Load() >= want })
		eventually(t, 5*time.Second, "the server to take the refreshed token", func() bool { return conn.TokenID() != before })
		e.Clock.Advance(10 * time.Minute) // the old token is now expired
		e.send(alice, th, fmt.Sprint("round ", round))
		ev.wait(t, 5*time.Second, "message", func(es []client.Event) bool { return len(es) == round+1 })
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 1 {
		t.Errorf("got %d connections %v, want one that survived 3 expiries", len(conns), conns)
	}
}

// TestSDKResumeAcrossServerCloses closes the SDK's connection from the
// server at random moments while messages flow; the SDK reconnects and
// resumes, and its handlers see every message once, in order.
func TestSDKResumeAcrossServerCloses(t *testing.T) {
	for _, transport := range []string{wire.TransportWebSocket, wire.TransportSSE, wire.TransportLongPoll} {
		t.Run(transport, func(t *testing.T) {
			const threads = 3
			total := size(600, 1500)
			e := start(t, func(l *service.Limits) { l.WriteRate = 0 })
			alice, bob := e.newUser(), e.newUser()
			ids := make([]string, threads)
			for i := range ids {
				ids[i] = e.newThread(alice, bob)
			}
			ev := newEvents()
			var mu sync.Mutex
			current := ""
			rr := e.sdk(client.StaticToken(bob.Token), transport, func(r *client.Realtime) {
				r.On(herald.EventMessageReceived, ev.handler)
				r.OnState(func(sc client.StateChange) {
					if sc.State == client.StateConnected {
						mu.Lock()
						current = sc.ConnectionID
						mu.Unlock()
					}
				})
			})
			// A first connection starts live at each thread's head: wait for it
			// before sending.
			ev.wait(t, 5*time.Second, "connect", func([]client.Event) bool { mu.Lock(); defer mu.Unlock(); return current != "" })
			stop := make(chan struct{})
			var kills atomic.Int64
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Duration(30+rand.IntN(120)) * time.Millisecond):
					}
					mu.Lock()
					id := current
					mu.Unlock()
					if c, ok := e.Hub.Conn(herald.ConnectionID(id)); ok {
						c.Close(herald.ReasonGoingAway, "server")
						kills.Add(1)
					}
				}
			}()
			var wg sync.WaitGroup
			for i, th := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range total / threads {
						e.send(alice, th, fmt.Sprintf("t%d-%d", i, n))
					}
				}()
			}
			wg.Wait()
			close(stop) // the closes stop with the sends; then everything must arrive
			ev.wait(t, 30*time.Second, "every message", func(es []client.Event) bool { return len(es) >= total })
			// One more message per thread: a duplicate or a late replay of an
			// earlier one would reach the handlers before it.
			for _, th := range ids {
				e.send(alice, th, "marker")
			}
			got := ev.wait(t, 30*time.Second, "the markers", func(es []client.Event) bool { return len(es) >= total+threads })
			last := map[string]int64{}
			for _, g := range got {
				if g.Seq <= last[g.ThreadID] {
					t.Fatalf("thread %s: seq %d after %d (duplicate or disorder)", g.ThreadID, g.Seq, last[g.ThreadID])
				}
				if last[g.ThreadID] != 0 && g.Seq != last[g.ThreadID]+1 {
					t.Fatalf("thread %s: gap, seq %d after %d", g.ThreadID, g.Seq, last[g.ThreadID])
				}
				last[g.ThreadID] = g.Seq
			}
			if len(got) != total+threads {
				t.Errorf("got %d messages, want %d; sdk cursors %v; handled up to %v", len(got), total+threads, rr.Cursors(), last)
			}
			t.Logf("%s: sent %d, handled %d, server-side closes %d", transport, total, len(got), kills.Load())
		})
	}
}

package service

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// A transaction that changed a thread's membership after its NextSeq
// bypasses the members cache: its roster names the state before its own
// change. Reading the cache would miss the participant it added; filling
// it would file the new members under the old roster, which is the
// committed one again once the transaction rolls back.
func TestRecipientsBypassCacheAfterOwnChange(t *testing.T) {
	for _, warm := range []bool{true, false} {
		name := map[bool]string{true: "warm cache", false: "cold cache"}[warm]
		t.Run(name, func(t *testing.T) {
			s, last := rosterService(t)
			ctx := context.Background()
			alice, bob, carol := mustIdentity(t, s), mustIdentity(t, s), mustIdentity(t, s)
			th, _, err := s.CreateThread(ctx, alice, NewThread{Topic: "t", Participants: []NewParticipant{{User: bob.User}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.SendMessage(ctx, alice, th.ID, NewMessage{Content: "fill"}); err != nil {
				t.Fatal(err)
			}
			if !warm {
				s.rosters.mu.Lock()
				s.rosters.m = nil
				s.rosters.mu.Unlock()
			}

			// NextSeq, then add carol, then record under that head.
			errRollback := errors.New("roll back")
			var inside []herald.UserID
			err = s.update(ctx, func(tx herald.Tx, b *batch) error {
				now := s.clock.Now()
				head, err := tx.NextSeq(ctx, th.ID, now, true)
				if err != nil {
					return err
				}
				if err := tx.PutParticipant(ctx, herald.Participant{ThreadID: th.ID, UserID: carol.User, AddedAt: now, AddedBy: alice.User, AddedSeq: head.Seq}); err != nil {
					return err
				}
				_, err = s.record(ctx, tx, b, change{event: herald.Event{ThreadID: th.ID, Type: herald.EventMessageReceived, Actor: alice.User, At: now},
					head: head, create: &herald.Message{Type: herald.MessageText, Content: "inside"}})
				if err != nil {
					return err
				}
				inside = sorted(b.signals[0].Recipients)
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("update: got error %v, want errRollback", err)
			}
			if want := sorted([]herald.UserID{alice.User, bob.User, carol.User}); !slices.Equal(inside, want) {
				t.Errorf("recipients in the transaction that added carol: got %v, want %v", inside, want)
			}

			if _, err := s.SendMessage(ctx, alice, th.ID, NewMessage{Content: "after"}); err != nil {
				t.Fatal(err)
			}
			if got, want := sorted(last().Recipients), sorted([]herald.UserID{alice.User, bob.User}); !slices.Equal(got, want) {
				t.Errorf("recipients after carol's addition rolled back: got %v, want %v", got, want)
			}
		})
	}
}

// rosterService returns a Service on SQLite and a function that returns
// the last event signal it published.
func rosterService(t *testing.T) (*Service, func() herald.Signal) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last herald.Signal
	broker := inmem.New()
	if _, err := broker.Subscribe(func(sig herald.Signal) {
		if sig.Kind == herald.SignalEvent {
			mu.Lock()
			last = sig
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	limits := DefaultLimits()
	limits.WriteRate = 0
	clock := herald.SystemClock{}
	s, err := New(store, token.New(key, "", "", clock), broker, clock, herald.RandomIDs{}, limits)
	if err != nil {
		t.Fatal(err)
	}
	return s, func() herald.Signal {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// mustIdentity creates an identity with a chat token.
func mustIdentity(tb testing.TB, s *Service) Caller {
	tb.Helper()
	id, tok, err := s.CreateIdentity(context.Background(), NewIdentity{Scopes: []herald.Scope{herald.ScopeChat}})
	if err != nil {
		tb.Fatal(err)
	}
	return Caller{User: id.ID, Token: tok.Token}
}

func sorted(us []herald.UserID) []herald.UserID {
	us = slices.Clone(us)
	slices.Sort(us)
	return us
}

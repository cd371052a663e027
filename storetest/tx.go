package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/herald-chat/herald"
)

// testUpdateError: an Update whose function fails keeps nothing and returns
// the function's error value itself.
func testUpdateError(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createIdentities(t, s, "u_a")
	createThreads(t, s, newThread("t_a", "u_a", 0))

	plain := errors.New("plain failure")
	typed := herald.Errorf(herald.CodeForbidden, herald.ReasonNotParticipant, "typed failure")
	for _, want := range []error{plain, typed} {
		got := s.Update(ctx, func(tx herald.Tx) error {
			if err := tx.CreateIdentity(ctx, herald.Identity{ID: "u_new", CreatedAt: at(1)}); err != nil {
				return err
			}
			if err := tx.CreateThread(ctx, newThread("t_new", "u_new", 1), "req", "hash"); err != nil {
				return err
			}
			if _, err := tx.NextSeq(ctx, "t_a", at(5), true); err != nil {
				return err
			}
			if err := tx.PutParticipant(ctx, member("t_a", "u_new", 1)); err != nil {
				return err
			}
			if err := tx.DeleteIdentity(ctx, "u_a", at(5)); err != nil {
				return err
			}
			return want
		})
		if got != want {
			t.Errorf("Update: got error %#v, want the function's own %#v", got, want)
		}
	}

	_, err := s.GetIdentity(ctx, "u_new")
	wantErr(t, "GetIdentity of an identity created in a failed Update", err, herald.ErrNotFound)
	_, err = s.GetThread(ctx, "t_new")
	wantErr(t, "GetThread of a thread created in a failed Update", err, herald.ErrNotFound)
	_, _, err = s.GetThreadByRequest(ctx, "u_new", "req")
	wantErr(t, "GetThreadByRequest of a failed Update", err, herald.ErrNotFound)
	_, err = s.GetParticipant(ctx, "t_a", "u_new")
	wantErr(t, "GetParticipant added in a failed Update", err, herald.ErrNotFound)
	th, err := s.GetThread(ctx, "t_a")
	if err != nil {
		t.Fatalf("GetThread: got error %v, want nil", err)
	}
	wantDiff(t, "thread after failed Updates", newThread("t_a", "u_a", 0), th)
	if id, _ := s.GetIdentity(ctx, "u_a"); id.Deleted() {
		t.Errorf("u_a after a failed Update deleted it: got deleted at %v, want not deleted", id.DeletedAt)
	}
}

// testUpdateErrorFromStore: a store error the function passes on comes back
// unchanged, and the writes before it are undone.
func testUpdateErrorFromStore(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createIdentities(t, s, "u_a")
	var inner error
	got := s.Update(ctx, func(tx herald.Tx) error {
		if err := tx.CreateIdentity(ctx, herald.Identity{ID: "u_b", CreatedAt: at(1)}); err != nil {
			return err
		}
		inner = tx.CreateIdentity(ctx, herald.Identity{ID: "u_a", CreatedAt: at(1)})
		return inner
	})
	wantErr(t, "CreateIdentity of an existing identity", inner, herald.ErrConflict)
	if got != inner {
		t.Errorf("Update: got error %v, want the function's own %v", got, inner)
	}
	if !herald.IsConflict(got) {
		t.Errorf("herald.IsConflict(%v): got false, want true", got)
	}
	_, err := s.GetIdentity(ctx, "u_b")
	wantErr(t, "GetIdentity of an identity created before the failure", err, herald.ErrNotFound)
}

// testUpdatePanic: a panicking function keeps nothing, the panic reaches the
// caller, and the store stays usable.
func testUpdatePanic(t *testing.T, s herald.Store) {
	ctx := t.Context()
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want boom", r)
			}
		}()
		_ = s.Update(ctx, func(tx herald.Tx) error {
			if err := tx.CreateIdentity(ctx, herald.Identity{ID: "u_a", CreatedAt: at(1)}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	_, err := s.GetIdentity(ctx, "u_a")
	wantErr(t, "GetIdentity after a panicking Update", err, herald.ErrNotFound)
	createIdentities(t, s, "u_a")
	if _, err := s.GetIdentity(ctx, "u_a"); err != nil {
		t.Errorf("GetIdentity after the next Update: got error %v, want nil", err)
	}
}

// testReadYourWrites: the Reader methods of a Tx see its writes; the Store
// sees them only after the commit.
func testReadYourWrites(t *testing.T, s herald.Store) {
	ctx := t.Context()
	if err := s.LogRequest(ctx, herald.Request{At: at(1), RequestID: "r_1", Caller: "u_a", Status: 200}); err != nil {
		t.Fatalf("LogRequest: got error %v, want nil", err)
	}
	tok := herald.Token{ID: "k_1", UserID: "u_a", Scopes: []herald.Scope{herald.ScopeChat}, IssuedAt: at(1), ExpiresAt: at(100_000)}
	th := newThread("t_a", "u_a", 1)
	m := herald.Message{ID: "m_1", ThreadID: "t_a", Seq: 2, Type: herald.MessageText, SenderID: "u_a",
		Content: "hello", CreatedAt: at(3), Version: 1, ClientMessageID: "c_1", BodyHash: "h"}
	receipt := herald.ReadReceipt{ThreadID: "t_a", UserID: "u_a", MessageID: "m_1", ReadAt: at(4)}

	update(t, s, func(tx herald.Tx) error {
		steps := []func() error{
			func() error { return tx.CreateIdentity(ctx, herald.Identity{ID: "u_a", CreatedAt: at(1)}) },
			func() error { return tx.CreateToken(ctx, tok) },
			func() error { return tx.CreateThread(ctx, th, "req_1", "hash_1") },
			func() error { _, err := tx.NextSeq(ctx, "t_a", at(2), false); return err },
			func() error { return tx.PutParticipant(ctx, member("t_a", "u_a", 1)) },
			func() error { _, err := tx.NextSeq(ctx, "t_a", at(3), true); return err },
			func() error { return tx.CreateMessage(ctx, m) },
			func() error {
				return tx.AppendEvent(ctx, herald.Event{ThreadID: "t_a", Seq: 2, Type: herald.EventMessageReceived, MessageID: "m_1", Actor: "u_a", At: at(3)})
			},
			func() error { return tx.PutReadReceipt(ctx, receipt) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}

		for name, check := range committedReads(ctx) {
			if seen, err := check(tx); !seen || err != nil {
				t.Errorf("%s in the Update: got seen=%t and error %v, want its own write and nil", name, seen, err)
			}
			if seen, _ := check(s); seen {
				t.Errorf("%s on the Store during the Update: got the uncommitted write, want it hidden", name)
			}
		}
		if v, err := tx.ListRequests(ctx, herald.RequestFilter{}); len(v) != 1 || err != nil {
			t.Errorf("ListRequests in the Update: got %d rows and error %v, want 1 and nil", len(v), err)
		}
		return nil
	})

	if got, err := s.GetMessageByClientID(ctx, "t_a", "u_a", "c_1"); err != nil {
		t.Errorf("GetMessageByClientID after the commit: got error %v, want nil", err)
	} else {
		wantDiff(t, "message after the commit", m, got)
	}
}

// committedReads returns, by method name, a read that reports whether it
// sees what testReadYourWrites writes.
func committedReads(ctx context.Context) map[string]func(r herald.Reader) (bool, error) {
	return map[string]func(r herald.Reader) (bool, error){
		"GetIdentity": func(r herald.Reader) (bool, error) { _, err := r.GetIdentity(ctx, "u_a"); return err == nil, err },
		"GetToken":    func(r herald.Reader) (bool, error) { _, err := r.GetToken(ctx, "k_1"); return err == nil, err },
		"ListTokens":  func(r herald.Reader) (bool, error) { v, err := r.ListTokens(ctx, "u_a"); return len(v) == 1, err },
		"GetThread": func(r herald.Reader) (bool, error) {
			v, err := r.GetThread(ctx, "t_a")
			return err == nil && v.LastSeq == 2 && v.LastMessageAt.Equal(at(3)), err
		},
		"GetThreadByRequest": func(r herald.Reader) (bool, error) {
			_, hash, err := r.GetThreadByRequest(ctx, "u_a", "req_1")
			return hash == "hash_1", err
		},
		"ListThreads": func(r herald.Reader) (bool, error) {
			v, err := r.ListThreads(ctx, "u_a", herald.ThreadFilter{})
			return len(v) == 1, err
		},
		"GetParticipant": func(r herald.Reader) (bool, error) {
			_, err := r.GetParticipant(ctx, "t_a", "u_a")
			return err == nil, err
		},
		"ListParticipants": func(r herald.Reader) (bool, error) {
			v, err := r.ListParticipants(ctx, "t_a", herald.Page{})
			return len(v) == 1, err
		},
		"CountParticipants": func(r herald.Reader) (bool, error) { n, err := r.CountParticipants(ctx, "t_a"); return n == 1, err },
		"GetMessage":        func(r herald.Reader) (bool, error) { _, err := r.GetMessage(ctx, "t_a", "m_1"); return err == nil, err },
		"GetMessageByClientID": func(r herald.Reader) (bool, error) {
			_, err := r.GetMessageByClientID(ctx, "t_a", "u_a", "c_1")
			return err == nil, err
		},
		"ListMessages": func(r herald.Reader) (bool, error) {
			v, err := r.ListMessages(ctx, "t_a", herald.MessageFilter{Limit: 10})
			return len(v) == 1, err
		},
		"ListEvents": func(r herald.Reader) (bool, error) {
			v, err := r.ListEvents(ctx, "t_a", 0, 10)
			return len(v) == 1, err
		},
		"ListReadReceipts": func(r herald.Reader) (bool, error) {
			v, err := r.ListReadReceipts(ctx, "t_a", herald.Page{})
			return len(v) == 1, err
		},
	}
}

// testUpdatesIsolated runs many Updates at once, a third of which fail
// after writing and a third of which panic after writing: exactly the
// others' writes are kept. An engine that commits concurrent Updates
// together (SQLite's group commit) must roll back only the failing ones.
func testUpdatesIsolated(t *testing.T, s herald.Store) {
	ctx := t.Context()
	const n = 60
	errFail := errors.New("fail on purpose")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("panicked: %v", r)
				}
			}()
			errs[i] = s.Update(ctx, func(tx herald.Tx) error {
				if err := tx.CreateIdentity(ctx, herald.Identity{ID: herald.UserID(fmt.Sprintf("u_%02d", i)), CreatedAt: at(i)}); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return errFail
				case 2:
					panic("boom")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range n {
		_, err := s.GetIdentity(ctx, herald.UserID(fmt.Sprintf("u_%02d", i)))
		switch i % 3 {
		case 0:
			if errs[i] != nil || err != nil {
				t.Errorf("update %d: got %v, then GetIdentity %v; want it committed", i, errs[i], err)
			}
		case 1:
			if !errors.Is(errs[i], errFail) {
				t.Errorf("update %d: got %v, want its own error back", i, errs[i])
			}
			wantErr(t, fmt.Sprintf("GetIdentity after failed update %d", i), err, herald.ErrNotFound)
		case 2:
			if errs[i] == nil || !strings.Contains(errs[i].Error(), "boom") {
				t.Errorf("update %d: got %v, want its panic", i, errs[i])
			}
			wantErr(t, fmt.Sprintf("GetIdentity after panicked update %d", i), err, herald.ErrNotFound)
		}
	}
}

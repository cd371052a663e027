package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
)

// testSigningKeys: keys are listed oldest generation first with their
// seed; a generation or id that exists is a conflict; a rotation's times
// are stored.
func testSigningKeys(t *testing.T, s herald.Store) {
	ctx := t.Context()
	ks, err := s.ListSigningKeys(ctx)
	if err != nil || len(ks) != 0 {
		t.Fatalf("ListSigningKeys of a new store: got %v, %v; want none", ks, err)
	}
	k1 := herald.SigningKey{Generation: 1, ID: "kid1", Seed: bytes.Repeat([]byte{1}, 32), CreatedAt: at(0)}
	k2 := herald.SigningKey{Generation: 2, ID: "kid2", Seed: bytes.Repeat([]byte{2}, 32), CreatedAt: at(10)}
	update(t, s, func(tx herald.Tx) error { return tx.CreateSigningKey(ctx, k2) })
	update(t, s, func(tx herald.Tx) error { return tx.CreateSigningKey(ctx, k1) })

	err = s.Update(ctx, func(tx herald.Tx) error {
		return tx.CreateSigningKey(ctx, herald.SigningKey{Generation: 1, ID: "other", Seed: k1.Seed, CreatedAt: at(20)})
	})
	wantErr(t, "CreateSigningKey of an existing generation", err, herald.ErrConflict)
	err = s.Update(ctx, func(tx herald.Tx) error {
		return tx.CreateSigningKey(ctx, herald.SigningKey{Generation: 3, ID: "kid1", Seed: k1.Seed, CreatedAt: at(20)})
	})
	wantErr(t, "CreateSigningKey of an existing id", err, herald.ErrConflict)
	err = s.Update(ctx, func(tx herald.Tx) error {
		return tx.UpdateSigningKey(ctx, herald.SigningKey{Generation: 9, RotatedAt: at(1)})
	})
	wantErr(t, "UpdateSigningKey of a missing generation", err, herald.ErrNotFound)

	k1.RotatedAt, k1.RetiresAt = at(10), at(1000)
	update(t, s, func(tx herald.Tx) error { return tx.UpdateSigningKey(ctx, k1) })
	ks, err = s.ListSigningKeys(ctx)
	if err != nil {
		t.Fatalf("ListSigningKeys: %v", err)
	}
	wantDiff(t, "ListSigningKeys", []herald.SigningKey{k1, k2}, ks)
}

// testSigningKeyRace: nodes creating the first key at once agree on one.
func testSigningKeyRace(t *testing.T, s herald.Store) {
	ctx := t.Context()
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() {
			errs[i] = s.Update(ctx, func(tx herald.Tx) error {
				ks, err := tx.ListSigningKeys(ctx)
				if err != nil || len(ks) > 0 {
					return err
				}
				return tx.CreateSigningKey(ctx, herald.SigningKey{Generation: 1, ID: string(rune('a' + i)),
					Seed: bytes.Repeat([]byte{byte(i)}, 32), CreatedAt: at(i)})
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !herald.IsConflict(err) {
			t.Errorf("node %d: got error %v, want nil or a conflict", i, err)
		}
	}
	ks, err := s.ListSigningKeys(ctx)
	if err != nil || len(ks) != 1 {
		t.Fatalf("ListSigningKeys after concurrent first starts: got %d keys (%v), want 1", len(ks), err)
	}
}

// testAdminKey: one admin key hash per store.
func testAdminKey(t *testing.T, s herald.Store) {
	ctx := t.Context()
	_, err := s.GetAdminKey(ctx)
	wantErr(t, "GetAdminKey of a new store", err, herald.ErrNotFound)
	k := herald.AdminKey{Hash: "abc", CreatedAt: at(5)}
	update(t, s, func(tx herald.Tx) error { return tx.CreateAdminKey(ctx, k) })
	err = s.Update(ctx, func(tx herald.Tx) error { return tx.CreateAdminKey(ctx, herald.AdminKey{Hash: "def"}) })
	wantErr(t, "CreateAdminKey when one is stored", err, herald.ErrConflict)
	got, err := s.GetAdminKey(ctx)
	if err != nil {
		t.Fatalf("GetAdminKey: %v", err)
	}
	wantDiff(t, "GetAdminKey", k, got)

	k2 := herald.AdminKey{Hash: "ghi", CreatedAt: at(9)}
	update(t, s, func(tx herald.Tx) error { return tx.ReplaceAdminKey(ctx, k2) })
	if got, err = s.GetAdminKey(ctx); err != nil {
		t.Fatalf("GetAdminKey after ReplaceAdminKey: %v", err)
	}
	wantDiff(t, "GetAdminKey after ReplaceAdminKey", k2, got)
}

// testTickets: a ticket is taken once; creating one removes the expired.
func testTickets(t *testing.T, s herald.Store) {
	ctx := t.Context()
	old := herald.Ticket{ID: "h_old", TokenID: "k_1", UserID: "u_a", CreatedAt: at(0), ExpiresAt: at(60_000)}
	fresh := herald.Ticket{ID: "h_new", TokenID: "k_2", UserID: "u_b", CreatedAt: at(1000), ExpiresAt: at(61_000)}
	update(t, s, func(tx herald.Tx) error { return tx.CreateTicket(ctx, old) })
	update(t, s, func(tx herald.Tx) error { return tx.CreateTicket(ctx, fresh) })
	err := s.Update(ctx, func(tx herald.Tx) error { return tx.CreateTicket(ctx, fresh) })
	wantErr(t, "CreateTicket of an existing id", err, herald.ErrConflict)

	take := func(id string) (herald.Ticket, error) {
		var tk herald.Ticket
		err := s.Update(ctx, func(tx herald.Tx) error {
			var err error
			tk, err = tx.TakeTicket(ctx, id)
			return err
		})
		return tk, err
	}
	got, err := take("h_new")
	if err != nil {
		t.Fatalf("TakeTicket: %v", err)
	}
	wantDiff(t, "TakeTicket", fresh, got)
	_, err = take("h_new")
	wantErr(t, "TakeTicket a second time", err, herald.ErrNotFound)

	// A ticket created after old expired removes it.
	update(t, s, func(tx herald.Tx) error {
		return tx.CreateTicket(ctx, herald.Ticket{ID: "h_later", TokenID: "k_3", UserID: "u_c", CreatedAt: at(60_001), ExpiresAt: at(120_000)})
	})
	_, err = take("h_old")
	wantErr(t, "TakeTicket of an expired, removed ticket", err, herald.ErrNotFound)

	// Concurrent takers of one ticket: exactly one gets it.
	update(t, s, func(tx herald.Tx) error {
		return tx.CreateTicket(ctx, herald.Ticket{ID: "h_race", TokenID: "k_4", UserID: "u_d", CreatedAt: at(60_002), ExpiresAt: at(120_000)})
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 4 {
		wg.Go(func() {
			if _, err := take("h_race"); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if !herald.IsNotFound(err) {
				t.Errorf("concurrent TakeTicket: got error %v, want nil or not found", err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("concurrent TakeTicket: %d takers got the ticket, want 1", won)
	}
}

// RunRateLimiter is the conformance suite of a herald.RateLimiter. newKey
// returns a key no other test uses (implementations may be shared).
func RunRateLimiter(t *testing.T, l herald.RateLimiter, newKey func() string) {
	ctx := context.Background()
	t.Run("Burst", func(t *testing.T) {
		key := newKey()
		now := at(0)
		for i := range 3 {
			if wait, err := l.Take(ctx, key, now, time.Second, 3); err != nil || wait != 0 {
				t.Fatalf("take %d of a burst of 3: got wait %v, err %v; want allowed", i+1, wait, err)
			}
		}
		wait, err := l.Take(ctx, key, now, time.Second, 3)
		if err != nil || wait <= 0 || wait > time.Second {
			t.Fatalf("take 4 of a burst of 3: got wait %v, err %v; want a wait in (0, 1s]", wait, err)
		}
		// A refused take takes nothing: still refused a little later, and
		// allowed once the wait has passed.
		if wait, err := l.Take(ctx, key, now.Add(500*time.Millisecond), time.Second, 3); err != nil || wait <= 0 {
			t.Fatalf("take after half the wait: got wait %v, err %v; want refused", wait, err)
		}
		if wait, err := l.Take(ctx, key, now.Add(time.Second), time.Second, 3); err != nil || wait != 0 {
			t.Fatalf("take after the wait: got wait %v, err %v; want allowed", wait, err)
		}
	})
	t.Run("KeysApart", func(t *testing.T) {
		a, b := newKey(), newKey()
		now := at(0)
		if wait, _ := l.Take(ctx, a, now, time.Minute, 1); wait != 0 {
			t.Fatalf("first take of %s: got wait %v, want allowed", a, wait)
		}
		if wait, _ := l.Take(ctx, b, now, time.Minute, 1); wait != 0 {
			t.Fatalf("first take of %s after %s's: got wait %v, want allowed (keys apart)", b, a, wait)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		key := newKey()
		now := at(0)
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := 0
		for range 20 {
			wg.Go(func() {
				wait, err := l.Take(ctx, key, now, time.Hour, 5)
				if err != nil {
					t.Errorf("Take: %v", err)
					return
				}
				if wait == 0 {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if allowed != 5 {
			t.Errorf("20 concurrent takes of a burst of 5: %d allowed, want 5", allowed)
		}
	})
}

// testAccessKeys: access keys are listed by name with their secret; a name
// that exists is a conflict.
func testAccessKeys(t *testing.T, s herald.Store) {
	ctx := t.Context()
	if ks, err := s.ListAccessKeys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("ListAccessKeys of a new store: got %v, %v; want none", ks, err)
	}
	k := herald.AccessKey{Name: "primary", Secret: bytes.Repeat([]byte{7}, 32), CreatedAt: at(3)}
	update(t, s, func(tx herald.Tx) error { return tx.CreateAccessKey(ctx, k) })
	err := s.Update(ctx, func(tx herald.Tx) error {
		return tx.CreateAccessKey(ctx, herald.AccessKey{Name: "primary", Secret: []byte{1}})
	})
	wantErr(t, "CreateAccessKey of an existing name", err, herald.ErrConflict)
	ks, err := s.ListAccessKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantDiff(t, "ListAccessKeys", []herald.AccessKey{k}, ks)
}

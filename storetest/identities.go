package storetest

import (
	"testing"

	"github.com/herald-chat/herald"
)

// testGetMissing: every Get of a missing row is not_found, on the Store and
// inside an Update, and every List of nothing is empty.
func testGetMissing(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createIdentities(t, s, "u_a")
	createThreads(t, s, newThread("t_a", "u_a", 0))
	sendMessages(t, s, "t_a", "u_a", 1, 0)

	check := func(t *testing.T, r herald.Reader) {
		t.Helper()
		_, err := r.GetIdentity(ctx, "u_missing")
		wantErr(t, "GetIdentity", err, herald.ErrNotFound)
		_, err = r.GetToken(ctx, "k_missing")
		wantErr(t, "GetToken", err, herald.ErrNotFound)
		_, err = r.GetThread(ctx, "t_missing")
		wantErr(t, "GetThread", err, herald.ErrNotFound)
		_, _, err = r.GetThreadByRequest(ctx, "u_a", "req_missing")
		wantErr(t, "GetThreadByRequest", err, herald.ErrNotFound)
		_, err = r.GetParticipant(ctx, "t_a", "u_missing")
		wantErr(t, "GetParticipant", err, herald.ErrNotFound)
		_, err = r.GetParticipant(ctx, "t_missing", "u_a")
		wantErr(t, "GetParticipant of a missing thread", err, herald.ErrNotFound)
		_, err = r.GetMessage(ctx, "t_a", "m_missing")
		wantErr(t, "GetMessage", err, herald.ErrNotFound)
		_, err = r.GetMessage(ctx, "t_missing", "m_t_a_1")
		wantErr(t, "GetMessage in another thread", err, herald.ErrNotFound)
		_, err = r.GetMessageByClientID(ctx, "t_a", "u_a", "c_missing")
		wantErr(t, "GetMessageByClientID", err, herald.ErrNotFound)

		lists := map[string]func() (int, error){
			"ListTokens": func() (int, error) { v, err := r.ListTokens(ctx, "u_missing"); return len(v), err },
			"ListThreads": func() (int, error) {
				v, err := r.ListThreads(ctx, "u_missing", herald.ThreadFilter{})
				return len(v), err
			},
			"ListParticipants": func() (int, error) {
				v, err := r.ListParticipants(ctx, "t_missing", herald.Page{})
				return len(v), err
			},
			"CountParticipants": func() (int, error) { return r.CountParticipants(ctx, "t_missing") },
			"ListMessages": func() (int, error) {
				v, err := r.ListMessages(ctx, "t_missing", herald.MessageFilter{Limit: 10})
				return len(v), err
			},
			"ListEvents": func() (int, error) { v, err := r.ListEvents(ctx, "t_missing", 0, 10); return len(v), err },
			"ListReadReceipts": func() (int, error) {
				v, err := r.ListReadReceipts(ctx, "t_missing", herald.Page{})
				return len(v), err
			},
			"ListRequests": func() (int, error) {
				v, err := r.ListRequests(ctx, herald.RequestFilter{Caller: "u_missing"})
				return len(v), err
			},
		}
		for name, list := range lists {
			if n, err := list(); n != 0 || err != nil {
				t.Errorf("%s of nothing: got %d rows and error %v, want 0 and nil", name, n, err)
			}
		}
	}
	t.Run("Store", func(t *testing.T) { check(t, s) })
	t.Run("Tx", func(t *testing.T) {
		update(t, s, func(tx herald.Tx) error { check(t, tx); return nil })
	})
}

// testIdentity: identities round-trip every field and cannot be created twice.
func testIdentity(t *testing.T, s herald.Store) {
	ctx := t.Context()
	fresh := herald.Identity{ID: "u_fresh", CreatedAt: at(1)}
	full := herald.Identity{ID: "u_full", DisplayName: "Zoë Full", CreatedAt: at(1000), DeletedAt: at(3000), LastTokenIssuedAt: at(2000)}
	update(t, s, func(tx herald.Tx) error {
		if err := tx.CreateIdentity(ctx, fresh); err != nil {
			return err
		}
		return tx.CreateIdentity(ctx, full)
	})
	for _, want := range []herald.Identity{fresh, full} {
		got, err := s.GetIdentity(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetIdentity(%s): got error %v, want nil", want.ID, err)
		}
		wantDiff(t, "GetIdentity("+string(want.ID)+")", want, got)
	}

	err := s.Update(ctx, func(tx herald.Tx) error {
		return tx.CreateIdentity(ctx, herald.Identity{ID: "u_fresh", CreatedAt: at(5000)})
	})
	wantErr(t, "CreateIdentity twice", err, herald.ErrConflict)
	got, err := s.GetIdentity(ctx, "u_fresh")
	if err != nil {
		t.Fatalf("GetIdentity after conflict: got error %v, want nil", err)
	}
	wantDiff(t, "GetIdentity after conflict", fresh, got)
}

// testDeleteIdentity: deletion keeps the record and the first deletion time.
func testDeleteIdentity(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createIdentities(t, s, "u_a", "u_b")
	update(t, s, func(tx herald.Tx) error { return tx.DeleteIdentity(ctx, "u_a", at(5000)) })
	update(t, s, func(tx herald.Tx) error { return tx.DeleteIdentity(ctx, "u_a", at(9000)) })

	got, err := s.GetIdentity(ctx, "u_a")
	if err != nil {
		t.Fatalf("GetIdentity of a deleted identity: got error %v, want nil", err)
	}
	wantDiff(t, "deleted identity", herald.Identity{ID: "u_a", CreatedAt: epoch, DeletedAt: at(5000)}, got)
	if other, _ := s.GetIdentity(ctx, "u_b"); other.Deleted() {
		t.Errorf("u_b: got deleted at %v, want not deleted", other.DeletedAt)
	}

	err = s.Update(ctx, func(tx herald.Tx) error { return tx.DeleteIdentity(ctx, "u_missing", at(5000)) })
	wantErr(t, "DeleteIdentity of a missing identity", err, herald.ErrNotFound)
}

// testToken: tokens round-trip, set LastTokenIssuedAt, list newest first,
// and need an identity and a unique id.
func testToken(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createIdentities(t, s, "u_a", "u_b")
	first := herald.Token{ID: "k_1", UserID: "u_a", Scopes: []herald.Scope{herald.ScopeChat, herald.ScopeChatJoin},
		IssuedAt: at(1000), ExpiresAt: at(3_601_000)}
	second := herald.Token{ID: "k_2", UserID: "u_a", Scopes: []herald.Scope{herald.ScopeChatJoinLimited},
		IssuedAt: at(2000), ExpiresAt: at(3_602_000), RevokedAt: at(2500)}
	others := herald.Token{ID: "k_3", UserID: "u_b", Scopes: []herald.Scope{herald.ScopeChat},
		IssuedAt: at(1500), ExpiresAt: at(3_601_500)}

	createToken := func(tok herald.Token) error {
		return s.Update(ctx, func(tx herald.Tx) error { return tx.CreateToken(ctx, tok) })
	}
	if err := createToken(first); err != nil {
		t.Fatalf("CreateToken: got error %v, want nil", err)
	}
	id, err := s.GetIdentity(ctx, "u_a")
	if err != nil {
		t.Fatalf("GetIdentity: got error %v, want nil", err)
	}
	if !id.LastTokenIssuedAt.Equal(first.IssuedAt) {
		t.Errorf("LastTokenIssuedAt after the first token: got %v, want %v", id.LastTokenIssuedAt, first.IssuedAt)
	}
	for _, tok := range []herald.Token{second, others} {
		if err := createToken(tok); err != nil {
			t.Fatalf("CreateToken(%s): got error %v, want nil", tok.ID, err)
		}
	}
	id, _ = s.GetIdentity(ctx, "u_a")
	if !id.LastTokenIssuedAt.Equal(second.IssuedAt) {
		t.Errorf("LastTokenIssuedAt after the second token: got %v, want %v", id.LastTokenIssuedAt, second.IssuedAt)
	}

	for _, want := range []herald.Token{first, second, others} {
		got, err := s.GetToken(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetToken(%s): got error %v, want nil", want.ID, err)
		}
		wantDiff(t, "GetToken("+string(want.ID)+")", want, got)
	}
	list, err := s.ListTokens(ctx, "u_a")
	if err != nil {
		t.Fatalf("ListTokens: got error %v, want nil", err)
	}
	wantDiff(t, "ListTokens", []herald.Token{second, first}, list)

	err = createToken(herald.Token{ID: "k_1", UserID: "u_b", IssuedAt: at(9000), ExpiresAt: at(10000)})
	wantErr(t, "CreateToken with a used id", err, herald.ErrConflict)
	err = createToken(herald.Token{ID: "k_9", UserID: "u_missing", IssuedAt: at(9000), ExpiresAt: at(10000)})
	wantErr(t, "CreateToken for a missing identity", err, herald.ErrNotFound)
	if got, _ := s.GetToken(ctx, "k_1"); got.UserID != "u_a" {
		t.Errorf("k_1 after conflict: got user %s, want u_a", got.UserID)
	}
}

// testRevokeTokens: RevokeTokens marks only the user's unrevoked tokens,
// counts them, and never re-revokes.
func testRevokeTokens(t *testing.T, s herald.Store) {
	ctx := t.Context()
	createIdentities(t, s, "u_a", "u_b")
	toks := []herald.Token{
		{ID: "k_1", UserID: "u_a", IssuedAt: at(100), ExpiresAt: at(100_000)},
		{ID: "k_2", UserID: "u_a", IssuedAt: at(200), ExpiresAt: at(100_000)},
		{ID: "k_3", UserID: "u_a", IssuedAt: at(300), ExpiresAt: at(100_000), RevokedAt: at(500)},
		{ID: "k_4", UserID: "u_b", IssuedAt: at(400), ExpiresAt: at(100_000)},
	}
	update(t, s, func(tx herald.Tx) error {
		for _, tok := range toks {
			if err := tx.CreateToken(ctx, tok); err != nil {
				return err
			}
		}
		return nil
	})

	revoke := func(user herald.UserID, ms int) int {
		t.Helper()
		var n int
		update(t, s, func(tx herald.Tx) error {
			var err error
			n, err = tx.RevokeTokens(ctx, user, at(ms))
			return err
		})
		return n
	}
	if n := revoke("u_a", 9000); n != 2 {
		t.Errorf("RevokeTokens: got %d revoked, want 2", n)
	}
	if n := revoke("u_a", 12000); n != 0 {
		t.Errorf("RevokeTokens again: got %d revoked, want 0", n)
	}
	if n := revoke("u_nobody", 12000); n != 0 {
		t.Errorf("RevokeTokens of a user without tokens: got %d revoked, want 0", n)
	}

	wantRevoked := map[herald.TokenID]int{"k_1": 9000, "k_2": 9000, "k_3": 500}
	for _, tok := range toks {
		got, err := s.GetToken(ctx, tok.ID)
		if err != nil {
			t.Fatalf("GetToken(%s): got error %v, want nil", tok.ID, err)
		}
		ms, ok := wantRevoked[tok.ID]
		switch {
		case !ok && got.Revoked():
			t.Errorf("%s: got revoked at %v, want unrevoked", tok.ID, got.RevokedAt)
		case ok && !got.RevokedAt.Equal(at(ms)):
			t.Errorf("%s: got revoked at %v, want %v", tok.ID, got.RevokedAt, at(ms))
		}
	}
}

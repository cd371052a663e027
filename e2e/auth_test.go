package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/token"
	"github.com/herald-chat/herald/wire"
)

func TestIdentityLifecycle(t *testing.T) {
	e := start(t)
	var created wire.CreateIdentityResponse
	e.ok(e.do("POST", "/identities?api-version=2023-10-01", adminKey, nil), 201, &created)
	if created.Identity.ID == "" || created.AccessToken != nil {
		t.Fatalf("got %+v, want an id and no token", created)
	}
	id := created.Identity.ID

	var ident wire.Identity
	e.ok(e.do("GET", "/identities/"+id, adminKey, nil), 200, &ident)
	if ident.ID != id || ident.DeletedOn != nil || ident.LastTokenIssuedAt != nil {
		t.Errorf("got %+v, want live identity with no token yet", ident)
	}

	var tok wire.AccessToken
	e.ok(e.do("POST", "/identities/"+id+"/:issueAccessToken", adminKey, wire.IssueTokenRequest{Scopes: []string{"chat"}, ExpiresInMinutes: ptr(60)}), 200, &tok)
	if want := e.Clock.Now().Add(time.Hour); !tok.ExpiresOn.Equal(want) {
		t.Errorf("got expiresOn %v, want %v", tok.ExpiresOn, want)
	}
	var def wire.AccessToken
	e.ok(e.do("POST", "/identities/"+id+"/:issueAccessToken", adminKey, wire.IssueTokenRequest{Scopes: []string{"chat.join"}}), 200, &def)
	if want := e.Clock.Now().Add(24 * time.Hour); !def.ExpiresOn.Equal(want) {
		t.Errorf("default lifetime: got expiresOn %v, want %v", def.ExpiresOn, want)
	}
	e.ok(e.do("GET", "/identities/"+id, adminKey, nil), 200, &ident)
	if ident.LastTokenIssuedAt == nil {
		t.Errorf("lastTokenIssuedAt not set after issuing")
	}

	var list wire.TokenList
	e.ok(e.do("GET", "/identities/"+id+"/tokens", adminKey, nil), 200, &list)
	if len(list.Value) != 2 {
		t.Fatalf("got %d tokens, want 2", len(list.Value))
	}
	if strings.Contains(string(e.do("GET", "/identities/"+id+"/tokens", adminKey, nil).Body), tok.Token) {
		t.Errorf("the token list contains a token string")
	}

	// Revoke: the next request with the token fails with token_revoked.
	e.ok(e.do("GET", "/chat/threads", tok.Token, nil), 200, nil)
	e.ok(e.do("POST", "/identities/"+id+"/:revokeAccessTokens", adminKey, nil), 204, nil)
	e.fails(e.do("GET", "/chat/threads", tok.Token, nil), 401, herald.ReasonTokenRevoked)
	e.ok(e.do("GET", "/identities/"+id+"/tokens", adminKey, nil), 200, &list)
	for _, ti := range list.Value {
		if ti.RevokedOn == nil {
			t.Errorf("token %s not marked revoked", ti.ID)
		}
	}

	// Delete: tokens issued after the revocation stop working too, the
	// record stays, and no new token can be issued.
	var fresh wire.AccessToken
	e.ok(e.do("POST", "/identities/"+id+"/:issueAccessToken", adminKey, wire.IssueTokenRequest{Scopes: []string{"chat"}}), 200, &fresh)
	e.ok(e.do("GET", "/chat/threads", fresh.Token, nil), 200, nil)
	e.ok(e.do("DELETE", "/identities/"+id, adminKey, nil), 204, nil)
	e.fails(e.do("GET", "/chat/threads", fresh.Token, nil), 401, herald.ReasonIdentityDeleted)
	e.ok(e.do("GET", "/identities/"+id, adminKey, nil), 200, &ident)
	if ident.DeletedOn == nil {
		t.Errorf("deletedOn not set")
	}
	e.fails(e.do("POST", "/identities/"+id+"/:issueAccessToken", adminKey, wire.IssueTokenRequest{Scopes: []string{"chat"}}), 409, herald.ReasonIdentityDeleted)
	e.ok(e.do("GET", "/identities/"+id+"/tokens", adminKey, nil), 200, &list)
	for _, ti := range list.Value {
		if ti.RevokedOn == nil {
			t.Errorf("token %s not revoked by the deletion", ti.ID)
		}
	}
}

func TestIdentityErrors(t *testing.T) {
	e := start(t)
	e.fails(e.do("POST", "/identities", "", nil), 401, herald.ReasonTokenMissing)
	e.fails(e.do("POST", "/identities", "wrong", nil), 401, herald.ReasonAdminKeyInvalid)
	u := e.newUser()
	e.fails(e.do("POST", "/identities", u.Token, nil), 401, herald.ReasonAdminKeyInvalid)
	e.fails(e.do("GET", "/identities/u_nope", adminKey, nil), 404, herald.ReasonIdentityNotFound)
	e.fails(e.do("DELETE", "/identities/u_nope", adminKey, nil), 404, herald.ReasonIdentityNotFound)
	e.fails(e.do("POST", "/identities/u_nope/:revokeAccessTokens", adminKey, nil), 404, herald.ReasonIdentityNotFound)
	e.fails(e.do("GET", "/identities/u_nope/tokens", adminKey, nil), 404, herald.ReasonIdentityNotFound)
	issue := "/identities/" + u.ID + "/:issueAccessToken"
	for name, body := range map[string]any{
		"no scopes":      wire.IssueTokenRequest{},
		"unknown scope":  wire.IssueTokenRequest{Scopes: []string{"voip"}},
		"repeated scope": wire.IssueTokenRequest{Scopes: []string{"chat", "chat"}},
	} {
		t.Run(name, func(t *testing.T) { e.fails(e.do("POST", issue, adminKey, body), 400, herald.ReasonInvalidScope) })
	}
	for _, m := range []int{59, 1441, 0, -5} {
		e.fails(e.do("POST", issue, adminKey, wire.IssueTokenRequest{Scopes: []string{"chat"}, ExpiresInMinutes: ptr(m)}), 400, herald.ReasonInvalidExpiry)
	}
	e.fails(e.do("POST", "/identities", adminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}, ExpiresInMinutes: ptr(30)}), 400, herald.ReasonInvalidExpiry)
	var list wire.TokenList
	e.ok(e.do("GET", "/identities/"+u.ID+"/tokens", adminKey, nil), 200, &list)
	if len(list.Value) != 1 {
		t.Errorf("refused issues logged tokens: got %d, want 1", len(list.Value))
	}
}

func TestTokenExpiry(t *testing.T) { testTokenExpiry(t, epoch) }

func testTokenExpiry(t *testing.T, at time.Time) {
	e := startAt(t, at)
	var created wire.CreateIdentityResponse
	e.ok(e.do("POST", "/identities", adminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}, ExpiresInMinutes: ptr(60)}), 201, &created)
	tok := created.AccessToken.Token
	e.ok(e.do("GET", "/chat/threads", tok, nil), 200, nil)
	e.Clock.Advance(59 * time.Minute)
	e.ok(e.do("GET", "/chat/threads", tok, nil), 200, nil)
	e.Clock.Advance(time.Minute + token.Leeway + time.Second)
	r := e.do("GET", "/chat/threads", tok, nil)
	body := e.fails(r, 401, herald.ReasonTokenExpired)
	if !strings.Contains(body.Message, "expired at") {
		t.Errorf("message %q does not say when the token expired", body.Message)
	}
	if !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("got WWW-Authenticate %q, want Bearer error=invalid_token", r.Header.Get("WWW-Authenticate"))
	}
	// The refusal is evidence about this user: the request log names them.
	e.flushRequests()
	rows, err := e.Store.ListRequests(context.Background(), herald.RequestFilter{Caller: herald.UserID(created.Identity.ID), Reason: herald.ReasonTokenExpired})
	if err != nil || len(rows) != 1 || rows[0].TokenID != herald.TokenID(created.AccessToken.ID) {
		t.Errorf("request log: got %+v (%v), want the 401 token_expired attributed to the user and token", rows, err)
	}
}

func TestForgedTokens(t *testing.T) { testForgedTokens(t, epoch) }

func testForgedTokens(t *testing.T, at time.Time) {
	e := startAt(t, at)
	u := e.newUser()
	now := e.Clock.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		m := jwt.MapClaims{"iss": token.DefaultIssuer, "aud": token.DefaultAudience, "sub": u.ID, "jti": u.TokID,
			"iat": now.Unix(), "exp": now.Add(service.DefaultTokenLifetime).Unix(), "scp": []string{"chat"}} // the exp newUser's token was issued with
		if edit != nil {
			edit(m)
		}
		return m
	}
	sign := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		tk := jwt.NewWithClaims(method, c)
		tk.Header["typ"] = "at+jwt"
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	// The control: the same claims signed with the server's key pass.
	e.ok(e.do("GET", "/chat/threads", sign(jwt.SigningMethodEdDSA, e.Key, claims(nil)), nil), 200, nil)
	cases := map[string]string{
		"forged signature":  sign(jwt.SigningMethodEdDSA, other, claims(nil)),
		"alg none":          sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)),
		"HS256 public key":  sign(jwt.SigningMethodHS256, []byte(e.Key.Public().(ed25519.PublicKey)), claims(nil)),
		"wrong audience":    sign(jwt.SigningMethodEdDSA, e.Key, claims(func(m jwt.MapClaims) { m["aud"] = "someone-else" })),
		"wrong issuer":      sign(jwt.SigningMethodEdDSA, e.Key, claims(func(m jwt.MapClaims) { m["iss"] = "evil" })),
		"unknown jti":       sign(jwt.SigningMethodEdDSA, e.Key, claims(func(m jwt.MapClaims) { m["jti"] = "k_unknown" })),
		"other user's jti":  sign(jwt.SigningMethodEdDSA, e.Key, claims(func(m jwt.MapClaims) { m["sub"] = e.newUser().ID })),
		"garbage":           "abc.def.ghi",
		"exp not as issued": sign(jwt.SigningMethodEdDSA, e.Key, claims(func(m jwt.MapClaims) { m["exp"] = now.Add(time.Hour).Unix() })),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			e.fails(e.do("GET", "/chat/threads", tok, nil), 401, herald.ReasonTokenInvalid)
		})
	}
	e.fails(e.do("GET", "/chat/threads", "", nil), 401, herald.ReasonTokenMissing)
}

func TestScopes(t *testing.T) {
	e := start(t)
	owner := e.newUser("chat")
	join := e.newUser("chat.join")
	limited := e.newUser("chat.join.limited")
	extra := e.newUser()
	th := e.newThread(owner, join, limited)

	// chat.join and chat.join.limited cannot create, update or delete threads.
	for _, u := range []user{join, limited} {
		e.fails(e.do("POST", "/chat/threads", u.Token, wire.CreateThreadRequest{Topic: "x"}), 403, herald.ReasonScopeInsufficient)
		e.fails(e.do("PATCH", "/chat/threads/"+th, u.Token, map[string]string{"topic": "x"}), 403, herald.ReasonScopeInsufficient)
		e.fails(e.do("DELETE", "/chat/threads/"+th, u.Token, nil), 403, herald.ReasonScopeInsufficient)
		// But they read, send and mark read.
		e.ok(e.do("GET", "/chat/threads/"+th, u.Token, nil), 200, nil)
		e.send(u, th, "hello from "+u.ID)
	}
	// chat.join adds and removes; chat.join.limited does neither.
	add := wire.AddParticipantsRequest{Participants: []wire.ChatParticipant{{CommunicationIdentifier: wire.Identifier(extra.ID)}}}
	e.fails(e.do("POST", "/chat/threads/"+th+"/participants/:add", limited.Token, add), 403, herald.ReasonScopeInsufficient)
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:add", join.Token, add), 201, nil)
	e.fails(e.do("POST", "/chat/threads/"+th+"/participants/:remove", limited.Token, wire.Identifier(extra.ID)), 403, herald.ReasonScopeInsufficient)
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:remove", join.Token, wire.Identifier(extra.ID)), 204, nil)
	// Anyone may leave.
	e.ok(e.do("POST", "/chat/threads/"+th+"/participants/:remove", limited.Token, wire.Identifier(limited.ID)), 204, nil)
}

func ptr[T any](v T) *T { return &v }

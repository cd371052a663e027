package token_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/token"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func newSigner(t *testing.T, clock herald.Clock) (*token.Signer, ed25519.PrivateKey) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return token.New(key, "", "", clock), key
}

func claims() herald.Claims {
	return herald.Claims{TokenID: "k_1", UserID: "u_1", Scopes: []herald.Scope{herald.ScopeChat},
		IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
}

func mustSign(t *testing.T, s *token.Signer, c herald.Claims) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRoundTrip(t *testing.T) {
	clock := clocktest.New(t0)
	s, _ := newSigner(t, clock)
	got, err := s.Verify(mustSign(t, s, claims()))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := claims()
	if got.TokenID != want.TokenID || got.UserID != want.UserID || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.IssuedAt.Equal(want.IssuedAt) || len(got.Scopes) != 1 || got.Scopes[0] != herald.ScopeChat {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestExpiry(t *testing.T) {
	clock := clocktest.New(t0)
	s, _ := newSigner(t, clock)
	tok := mustSign(t, s, claims())

	clock.Set(t0.Add(time.Hour + token.Leeway - time.Second))
	if _, err := s.Verify(tok); err != nil {
		t.Errorf("within leeway: got %v, want accepted", err)
	}
	clock.Set(t0.Add(time.Hour + token.Leeway + time.Second))
	_, err := s.Verify(tok)
	if got := herald.ErrorReason(err); got != herald.ReasonTokenExpired {
		t.Errorf("past leeway: got reason %q (%v), want %q", got, err, herald.ReasonTokenExpired)
	}
}

// forge signs arbitrary claims with an arbitrary method and key.
func forge(t *testing.T, method jwt.SigningMethod, key any, mc jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tk := jwt.NewWithClaims(method, mc)
	for k, v := range header {
		tk.Header[k] = v
	}
	s, err := tk.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validMap() jwt.MapClaims {
	return jwt.MapClaims{"iss": token.DefaultIssuer, "aud": token.DefaultAudience, "sub": "u_1", "jti": "k_1",
		"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(), "scp": []string{"chat"}}
}

func TestRejects(t *testing.T) {
	clock := clocktest.New(t0)
	s, key := newSigner(t, clock)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	at := map[string]any{"typ": "at+jwt"}
	good := mustSign(t, s, claims())
	parts := strings.Split(good, ".")

	with := func(k string, v any) jwt.MapClaims {
		m := validMap()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	noneTok := forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validMap(), at)
	hsTok := forge(t, jwt.SigningMethodHS256, []byte(key.Public().(ed25519.PublicKey)), validMap(), at)
	flipped := []byte(parts[2])
	if flipped[3] == 'A' {
		flipped[3] = 'B'
	} else {
		flipped[3] = 'A'
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "u_1", "u_2", 1))) + "." + parts[2]

	cases := map[string]string{
		"alg none":          noneTok,
		"HS256 with pubkey": hsTok,
		"forged signature":  forge(t, jwt.SigningMethodEdDSA, otherKey, validMap(), at),
		"flipped signature": parts[0] + "." + parts[1] + "." + string(flipped),
		"tampered payload":  tampered,
		"wrong audience":    forge(t, jwt.SigningMethodEdDSA, key, with("aud", "other"), at),
		"wrong issuer":      forge(t, jwt.SigningMethodEdDSA, key, with("iss", "evil"), at),
		"missing exp":       forge(t, jwt.SigningMethodEdDSA, key, with("exp", nil), at),
		"missing sub":       forge(t, jwt.SigningMethodEdDSA, key, with("sub", nil), at),
		"missing jti":       forge(t, jwt.SigningMethodEdDSA, key, with("jti", nil), at),
		"iat in future":     forge(t, jwt.SigningMethodEdDSA, key, with("iat", t0.Add(time.Hour).Unix()), at),
		"wrong typ":         forge(t, jwt.SigningMethodEdDSA, key, validMap(), map[string]any{"typ": "JWT"}),
		"two segments":      parts[0] + "." + parts[1],
		"four segments":     good + ".x",
		"empty":             "",
		"garbage":           "not-a-token",
		"too long":          good + strings.Repeat("A", token.MaxLength),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.Verify(tok)
			if got := herald.ErrorReason(err); got != herald.ReasonTokenInvalid {
				t.Errorf("got reason %q (%v), want %q", got, err, herald.ReasonTokenInvalid)
			}
			if got := herald.ErrorCode(err); got != herald.CodeUnauthorized {
				t.Errorf("got code %q, want %q", got, herald.CodeUnauthorized)
			}
		})
	}
}

func TestLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "signing.pem")
	if k, err := token.LoadKey(path); k != nil || err != nil {
		t.Fatalf("missing file: got %v, %v; want nil, nil", k, err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if err := token.WriteKey(path, key); err != nil {
		t.Fatal(err)
	}
	got, err := token.LoadKey(path)
	if err != nil || !key.Equal(got) {
		t.Errorf("read back: got %v, want the written key", err)
	}
}

// A verified token is remembered, but every later Verify still applies the
// time checks: exp (TestExpiry) and iat, against the clock of that moment.
func TestRememberedTokenStillChecksTime(t *testing.T) {
	clock := clocktest.New(t0)
	s, _ := newSigner(t, clock)
	tok := mustSign(t, s, claims())
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	clock.Set(t0.Add(-token.Leeway - time.Second)) // the clock went back: the token is from the future
	if _, err := s.Verify(tok); herald.ErrorReason(err) != herald.ReasonTokenInvalid {
		t.Errorf("before iat: got %v, want token_invalid", err)
	}
	clock.Set(t0)
	got, err := s.Verify(tok)
	if err != nil {
		t.Fatalf("again at iat: %v", err)
	}
	got.Scopes[0] = herald.ScopeChatJoin // a caller's change must not reach the next caller
	if again, _ := s.Verify(tok); again.Scopes[0] != herald.ScopeChat {
		t.Errorf("scopes after a caller changed its copy: got %v, want [chat]", again.Scopes)
	}
}

// BenchmarkVerify compares the first verification of a token with the
// ones after it (remembered).
func BenchmarkVerify(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	s := token.New(key, "", "", clocktest.New(t0))
	b.Run("first", func(b *testing.B) {
		for i := range b.N {
			c := claims()
			c.TokenID = herald.TokenID(fmt.Sprint("k_", i))
			tok, _ := s.Sign(c)
			if _, err := s.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		tok, _ := s.Sign(claims())
		for range b.N {
			if _, err := s.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

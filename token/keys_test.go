package token_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustOpen(t *testing.T, s token.KeyStore, clock herald.Clock) *token.Signer {
	t.Helper()
	sg, err := token.Open(t.Context(), s, "", "", clock, token.WithRetireAfter(2*time.Hour))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return sg
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := p.Header["kid"].(string)
	return kid
}

func TestBootstrap(t *testing.T) {
	ctx := t.Context()
	t.Run("creates once", func(t *testing.T) {
		s := openStore(t)
		if did, err := token.Bootstrap(ctx, s, nil, t0); err != nil || did != token.KeyCreated {
			t.Fatalf("first Bootstrap: got %v, %v; want KeyCreated", did, err)
		}
		if did, err := token.Bootstrap(ctx, s, nil, t0); err != nil || did != token.KeyFound {
			t.Fatalf("second Bootstrap: got %v, %v; want KeyFound", did, err)
		}
		if ks, _ := s.ListSigningKeys(ctx); len(ks) != 1 {
			t.Errorf("keys after two Bootstraps: got %d, want 1", len(ks))
		}
	})
	t.Run("imports the local key", func(t *testing.T) {
		s := openStore(t)
		_, local, _ := ed25519.GenerateKey(rand.Reader)
		if did, err := token.Bootstrap(ctx, s, local, t0); err != nil || did != token.KeyImported {
			t.Fatalf("Bootstrap with a local key: got %v, %v; want KeyImported", did, err)
		}
		// A token signed before the keys were shared still verifies.
		old := mustSign(t, token.New(local, "", "", clocktest.New(t0)), claims())
		if _, err := mustOpen(t, s, clocktest.New(t0)).Verify(old); err != nil {
			t.Errorf("token signed by the imported key: %v", err)
		}
		if did, err := token.Bootstrap(ctx, s, local, t0); err != nil || did != token.KeyFound {
			t.Errorf("Bootstrap again with the same local key: got %v, %v; want KeyFound", did, err)
		}
	})
	t.Run("refuses a local key the store lacks", func(t *testing.T) {
		s := openStore(t)
		if _, err := token.Bootstrap(ctx, s, nil, t0); err != nil {
			t.Fatal(err)
		}
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		_, err := token.Bootstrap(ctx, s, other, t0)
		if err == nil || !strings.Contains(err.Error(), token.KeyID(other)) || !strings.Contains(err.Error(), "not one of this deployment's keys") {
			t.Errorf("Bootstrap with a foreign local key: got %v, want a refusal naming kid %s", err, token.KeyID(other))
		}
	})
	t.Run("concurrent first starts agree", func(t *testing.T) {
		s := openStore(t)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := token.Bootstrap(ctx, s, nil, t0); err != nil {
					t.Errorf("Bootstrap: %v", err)
				}
			})
		}
		wg.Wait()
		if ks, _ := s.ListSigningKeys(ctx); len(ks) != 1 {
			t.Errorf("keys after 4 concurrent Bootstraps: got %d, want 1", len(ks))
		}
	})
}

// Two nodes on one store: a token from one verifies on the other, through
// a rotation, until the old key retires.
func TestRotationAcrossNodes(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	clock := clocktest.New(t0)
	if _, err := token.Bootstrap(ctx, s, nil, t0); err != nil {
		t.Fatal(err)
	}
	a, b := mustOpen(t, s, clock), mustOpen(t, s, clock)
	before := mustSign(t, a, claims())
	if _, err := b.Verify(before); err != nil {
		t.Fatalf("node b verifying node a's token: %v", err)
	}

	k2, err := a.Rotate(ctx)
	if err != nil || k2.Generation != 2 || len(k2.Seed) != 0 {
		t.Fatalf("Rotate: got %+v, %v; want generation 2 without its seed", k2, err)
	}
	c := claims()
	c.TokenID = "k_2"
	after := mustSign(t, a, c)
	if kidOf(t, after) != k2.ID || kidOf(t, before) == k2.ID {
		t.Fatalf("kids: before %s, after %s; want after = the new key %s", kidOf(t, before), kidOf(t, after), k2.ID)
	}
	if _, err := b.Verify(after); err != nil {
		t.Errorf("node b verifying a token of the key node a just made: %v", err)
	}
	// Node b signs with the old key until it rereads (30 s), then the new.
	if kid := kidOf(t, mustSign(t, b, claims())); kid == k2.ID {
		t.Logf("node b already signs with the new key")
	}
	clock.Advance(31 * time.Second)
	if kid := kidOf(t, mustSign(t, b, claims())); kid != k2.ID {
		t.Errorf("node b signing 31 s after the rotation: kid %s, want the new %s", kid, k2.ID)
	}

	// The old key verifies until it retires (2 h here), then not.
	if _, err := b.Verify(before); err != nil {
		t.Errorf("old token after the rotation: %v", err)
	}
	long := claims()
	long.TokenID, long.ExpiresAt = "k_3", t0.Add(5*time.Hour)
	longOld := mustSign(t, token.New(ed25519.NewKeyFromSeed(seedOf(t, s, 1)), "", "", clock), long)
	clock.Set(t0.Add(2*time.Hour + time.Second))
	_, err = b.Verify(longOld)
	if herald.ErrorReason(err) != herald.ReasonTokenInvalid || !strings.Contains(err.Error(), "retired") {
		t.Errorf("token of the retired key: got %v, want token_invalid, retired", err)
	}

	keys, err := a.SigningKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].RetiresAt.IsZero() || len(keys[0].Seed) != 0 {
		t.Errorf("SigningKeys: got %+v, %v; want 2 keys, the first retiring, no seeds", keys, err)
	}
}

func seedOf(t *testing.T, s *sqlite.Store, gen int) []byte {
	t.Helper()
	ks, err := s.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if k.Generation == gen {
			return k.Seed
		}
	}
	t.Fatalf("no generation %d", gen)
	return nil
}

func TestUnknownKidRefused(t *testing.T) {
	s := openStore(t)
	clock := clocktest.New(t0)
	if _, err := token.Bootstrap(t.Context(), s, nil, t0); err != nil {
		t.Fatal(err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	forged := mustSign(t, token.New(other, "", "", clock), claims())
	_, err := mustOpen(t, s, clock).Verify(forged)
	if herald.ErrorReason(err) != herald.ReasonTokenInvalid || !strings.Contains(err.Error(), "does not have") {
		t.Errorf("token of a key the deployment lacks: got %v, want token_invalid naming the key", err)
	}
}

// The JWKS lets another service verify Herald tokens with a plain JWT
// library.
func TestJWKSVerifiesTokens(t *testing.T) {
	s := openStore(t)
	clock := clocktest.New(t0)
	if _, err := token.Bootstrap(t.Context(), s, nil, t0); err != nil {
		t.Fatal(err)
	}
	sg := mustOpen(t, s, clock)
	if _, err := sg.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	raw, err := sg.JWKS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kty, Crv, X, Kid, Use, Alg string }
	}
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("JWKS %s: got %d keys (%v), want 2", raw, len(set.Keys), err)
	}
	tok := mustSign(t, sg, claims())
	parsed, err := jwt.Parse(tok, func(t *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k.Kid == t.Header["kid"] && k.Kty == "OKP" && k.Crv == "Ed25519" && k.Alg == "EdDSA" {
				x, err := base64.RawURLEncoding.DecodeString(k.X)
				return ed25519.PublicKey(x), err
			}
		}
		return nil, jwt.ErrTokenUnverifiable
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(clock.Now))
	if err != nil || !parsed.Valid {
		t.Errorf("verifying a Herald token with its JWKS: %v", err)
	}
	// A retired key leaves the set.
	clock.Advance(3 * time.Hour)
	raw, _ = sg.JWKS(t.Context())
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) != 1 {
		t.Errorf("JWKS after the old key retired: %s, want 1 key", raw)
	}
}

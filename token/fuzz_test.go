package token_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/token"
)

// FuzzVerify feeds arbitrary strings (seeded with a valid token and its
// usual forgeries) to Verify. It must never panic, and whatever it accepts
// must carry exactly the claims the key signed: a changed token is refused
// or, if the encoding lets two strings decode alike, the same token.
func FuzzVerify(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s := token.New(key, "", "", clocktest.New(t0))
	good, err := s.Sign(claims())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good + "x")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1XzEifQ.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok)
		if err != nil {
			return
		}
		want := claims()
		if c.TokenID != want.TokenID || c.UserID != want.UserID || !c.ExpiresAt.Equal(want.ExpiresAt) || len(c.Scopes) != len(want.Scopes) {
			t.Fatalf("Verify accepted %q with claims %+v, want only the signed claims %+v", tok, c, want)
		}
	})
}

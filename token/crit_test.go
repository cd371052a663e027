package token_test

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
)

// TestRejectsCrit pins issue 13, 10: a token signed with the right key but
// carrying a crit header (RFC 7515 §4.1.11: extensions the recipient must
// understand) is refused; Herald understands none.
func TestRejectsCrit(t *testing.T) {
	s, key := newSigner(t, clocktest.New(t0))
	for name, crit := range map[string]any{
		"unknown extension": []string{"x-herald-unknown"},
		"empty list":        []string{},
		"not a list":        "exp",
	} {
		tok := forge(t, jwt.SigningMethodEdDSA, key, validMap(), map[string]any{"typ": "at+jwt", "crit": crit})
		_, err := s.Verify(tok)
		if got := herald.ErrorReason(err); got != herald.ReasonTokenInvalid {
			t.Errorf("%s: got reason %q (%v), want %q", name, got, err, herald.ReasonTokenInvalid)
		}
	}
	// The same token without crit is accepted: the refusal is the header's.
	if _, err := s.Verify(forge(t, jwt.SigningMethodEdDSA, key, validMap(), map[string]any{"typ": "at+jwt"})); err != nil {
		t.Fatalf("without crit: got %v, want accepted", err)
	}
}

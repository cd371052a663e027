package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// KeyRing is the deployment's token signing keys (token.Signer).
type KeyRing interface {
	// SigningKeys returns the keys, oldest first, without seeds.
	SigningKeys(ctx context.Context) ([]herald.SigningKey, error)
	// Rotate makes a new signing key and returns it.
	Rotate(ctx context.Context) (herald.SigningKey, error)
	// JWKS returns the public keys that verify tokens, as a JWK Set.
	JWKS(ctx context.Context) ([]byte, error)
}

func (s *Server) keyRoutes() {
	if s.cfg.Keys == nil {
		return
	}
	s.route("GET /.well-known/jwks.json", "GetSigningKeySet", s.jwks)
	s.route("GET /admin/signing-keys", "ListSigningKeys", s.listSigningKeys)
	s.route("POST /admin/signing-keys:rotate", "RotateSigningKey", s.rotateSigningKey)
}

// jwks serves the public keys for services that verify Herald tokens
// themselves. Public: it holds no secret.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	b, err := s.cfg.Keys.JWKS(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

func (s *Server) listSigningKeys(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	ks, err := s.cfg.Keys.SigningKeys(r.Context())
	if err != nil {
		return err
	}
	out := wire.SigningKeyList{Value: make([]wire.SigningKey, 0, len(ks))}
	now := s.clock.Now()
	for i := len(ks) - 1; i >= 0; i-- { // newest first
		out.Value = append(out.Value, wireKey(ks[i], now))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) rotateSigningKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	k, err := s.cfg.Keys.Rotate(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, wireKey(k, s.clock.Now()))
	return nil
}

func wireKey(k herald.SigningKey, now time.Time) wire.SigningKey {
	out := wire.SigningKey{KeyID: k.ID, Generation: k.Generation, CreatedOn: k.CreatedAt, State: "signing"}
	if !k.RotatedAt.IsZero() {
		rot, ret := k.RotatedAt, k.RetiresAt
		out.RotatedOn, out.RetiresOn, out.State = &rot, &ret, "verifying"
		if k.Retired(now) {
			out.State = "retired"
		}
	}
	return out
}

package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/herald-chat/herald"
)

// Bootstrapped says what Bootstrap did.
type Bootstrapped int

const (
	// KeyFound: the store already held the deployment's keys.
	KeyFound Bootstrapped = iota
	// KeyCreated: the store held none; a new key is generation 1.
	KeyCreated
	// KeyImported: the store held none; the local key is generation 1 (a
	// deployment from before keys were kept in the store keeps its tokens
	// valid).
	KeyImported
)

// Bootstrap makes sure store holds the deployment's signing keys. The first
// node to start creates generation 1 — from local, the key file of a
// deployment from before the keys were shared, when there is one — and
// nodes starting at the same time agree on it (a second generation 1 is a
// conflict: the loser reads the winner's). A local key that the store does
// not hold is refused: the node would otherwise verify with keys the rest
// of the deployment does not have.
func Bootstrap(ctx context.Context, store KeyStore, local ed25519.PrivateKey, now time.Time) (Bootstrapped, error) {
	for attempt := 0; ; attempt++ {
		var did Bootstrapped
		err := store.Update(ctx, func(tx herald.Tx) error {
			ks, err := tx.ListSigningKeys(ctx)
			if err != nil {
				return err
			}
			if len(ks) > 0 {
				did = KeyFound
				return checkLocal(ks, local)
			}
			key := local
			did = KeyImported
			if key == nil {
				if _, key, err = ed25519.GenerateKey(rand.Reader); err != nil {
					return fmt.Errorf("generate signing key: %w", err)
				}
				did = KeyCreated
			}
			return tx.CreateSigningKey(ctx, herald.SigningKey{Generation: 1, ID: KeyID(key), Seed: key.Seed(), CreatedAt: now})
		})
		if herald.IsConflict(err) && attempt < 3 {
			continue // another node created it first: read theirs
		}
		if err != nil {
			return 0, fmt.Errorf("signing keys: %w", err)
		}
		return did, nil
	}
}

// checkLocal refuses a local key the store does not hold.
func checkLocal(ks []herald.SigningKey, local ed25519.PrivateKey) error {
	if local == nil {
		return nil
	}
	kid := KeyID(local)
	for _, k := range ks {
		if k.ID == kid {
			return nil
		}
	}
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
	}
	return fmt.Errorf("the local signing key (kid %s) is not one of this deployment's keys (the store holds %v): "+
		"it belongs to another deployment, or the store was replaced. Tokens it signed would be refused by every other node. "+
		"Remove the key file to use the store's keys", kid, ids)
}

// Rotate makes a new signing key. Every node signs with it once it rereads
// the keys (at once on this node, within 30 s on the others); the key it
// replaces keeps verifying for the retire-after period (see
// WithRetireAfter), then is retired. It returns the new key, without its
// seed.
func (s *Signer) Rotate(ctx context.Context) (herald.SigningKey, error) {
	if s.store == nil {
		return herald.SigningKey{}, errors.New("rotate: this signer's key is fixed (token.New); only a store's keys rotate")
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return herald.SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	now := s.clock.Now()
	var made herald.SigningKey
	err = s.store.Update(ctx, func(tx herald.Tx) error {
		ks, err := tx.ListSigningKeys(ctx)
		if err != nil {
			return err
		}
		if len(ks) == 0 {
			return fmt.Errorf("rotate: the store holds no signing key")
		}
		newest := ks[len(ks)-1]
		newest.RotatedAt, newest.RetiresAt = now, now.Add(s.retireAfter)
		if err := tx.UpdateSigningKey(ctx, newest); err != nil {
			return err
		}
		made = herald.SigningKey{Generation: newest.Generation + 1, ID: KeyID(key), Seed: key.Seed(), CreatedAt: now}
		return tx.CreateSigningKey(ctx, made)
	})
	if herald.IsConflict(err) {
		return herald.SigningKey{}, herald.Errorf(herald.CodeConflict, herald.ReasonKeyRotationConflict,
			"another rotation happened at the same time; list the keys and rotate again if needed")
	}
	if err != nil {
		return herald.SigningKey{}, fmt.Errorf("rotate signing key: %w", err)
	}
	if err := s.refresh(ctx, true); err != nil {
		return herald.SigningKey{}, err
	}
	made.Seed = nil
	return made, nil
}

// SigningKeys returns the keys, oldest generation first, without seeds.
func (s *Signer) SigningKeys(ctx context.Context) ([]herald.SigningKey, error) {
	if err := s.refresh(ctx, true); err != nil {
		return nil, err
	}
	return slices.Clone(s.keys.Load().list), nil
}

// refreshStale rereads the keys if the last reading is older than
// refreshEvery.
func (s *Signer) refreshStale(ctx context.Context) error {
	if s.store == nil {
		return nil
	}
	s.refreshMu.Lock()
	stale := s.clock.Now().Sub(s.refreshedAt) >= refreshEvery
	s.refreshMu.Unlock()
	if !stale {
		return nil
	}
	return s.refresh(ctx, true)
}

// jwk is an Ed25519 public key as RFC 8037 writes it.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS returns the public keys that verify tokens now, as a JSON Web Key
// Set (RFC 7517), for services that verify Herald tokens themselves.
func (s *Signer) JWKS(ctx context.Context) ([]byte, error) {
	if err := s.refreshStale(ctx); err != nil {
		return nil, err
	}
	set, now := s.keys.Load(), s.clock.Now()
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for i := len(set.list) - 1; i >= 0; i-- { // newest first
		k := set.list[i]
		if k.Retired(now) {
			continue
		}
		out.Keys = append(out.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(set.verify[k.ID].key),
			Kid: k.ID, Use: "sig", Alg: "EdDSA"})
	}
	return json.Marshal(out)
}

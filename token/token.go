package token

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-chat/herald"
)

// Defaults for the claims that bind a token to this server.
const (
	DefaultIssuer   = "herald"
	DefaultAudience = "herald-chat"
	// Leeway is the clock skew tolerated on exp and iat.
	Leeway = 30 * time.Second
	// MaxLength bounds the token string; longer ones are refused unparsed.
	MaxLength = 4096
)

// Signer signs and verifies access tokens. Its keys come either from one
// fixed key (New) or from the Store every node shares (Open): then it
// signs with the newest generation, verifies with every key not retired,
// and rereads the keys when a token names a key it does not know (another
// node rotated) and periodically before signing.
type Signer struct {
	issuer   string
	audience string
	clock    herald.Clock
	parser   *jwt.Parser

	store       KeyStore // nil for a fixed key
	retireAfter time.Duration
	keys        atomic.Pointer[keyset]
	refreshMu   sync.Mutex // one reread at a time; guards refreshedAt, missAt
	refreshedAt time.Time  // of the last reread
	missAt      time.Time  // of the last reread for an unknown kid; zero before the first

	// Tokens whose signature and claims were verified, by their exact
	// string. A signature that held once holds for ever under this key, so
	// a hit skips the Ed25519 check and the JSON decoding (the largest part
	// of authenticating a request); the time checks (exp and iat, with
	// leeway) run on every hit. Revocation and deletion are not decided
	// here: the service checks the token log on every request.
	mu       sync.Mutex // guards verified
	verified map[string]herald.Claims
}

// KeyStore is where Open finds the deployment's signing keys: a
// herald.Store.
type KeyStore interface {
	ListSigningKeys(ctx context.Context) ([]herald.SigningKey, error)
	Update(ctx context.Context, fn func(herald.Tx) error) error
}

// keyset is one reading of the keys.
type keyset struct {
	kid    string // of the signing key
	signer ed25519.PrivateKey
	verify map[string]verifier
	list   []herald.SigningKey // without seeds
}

type verifier struct {
	key       ed25519.PublicKey
	retiresAt time.Time // zero: not rotated
}

// How often a store-backed Signer rereads the keys: before signing when
// the last reading is older than refreshEvery, and on a token with an
// unknown kid at most once per minRefresh.
const (
	refreshEvery = 30 * time.Second
	minRefresh   = time.Second
)

// DefaultRetireAfter is how long a rotated key keeps verifying: longer than
// the longest token lifetime (24 h), plus time for every node to reread
// the keys (a node may sign with the old key until it does).
const DefaultRetireAfter = 24*time.Hour + 10*time.Minute

// maxVerified bounds the verified-token cache; when full, expired entries
// go first, and everything if none has expired.
const maxVerified = 8192

var _ herald.Tokens = (*Signer)(nil)

// claims is the JWT body.
type claims struct {
	jwt.RegisteredClaims
	Scopes []herald.Scope `json:"scp"`
}

// KeyID returns the kid of key: the first 8 bytes of the SHA-256 of its
// public key, hex.
func KeyID(key ed25519.PrivateKey) string {
	sum := sha256.Sum256(key.Public().(ed25519.PublicKey))
	return hex.EncodeToString(sum[:8])
}

// New returns a Signer with one fixed key. issuer and audience default when
// empty.
func New(key ed25519.PrivateKey, issuer, audience string, clock herald.Clock) *Signer {
	s := newSigner(issuer, audience, clock)
	kid := KeyID(key)
	s.keys.Store(&keyset{kid: kid, signer: key, verify: map[string]verifier{kid: {key: key.Public().(ed25519.PublicKey)}},
		list: []herald.SigningKey{{Generation: 1, ID: kid}}})
	return s
}

// Option configures Open.
type Option func(*Signer)

// WithRetireAfter sets how long a rotated key keeps verifying (default
// DefaultRetireAfter): at least the longest token lifetime.
func WithRetireAfter(d time.Duration) Option { return func(s *Signer) { s.retireAfter = d } }

// Open returns a Signer over the keys in store, which must hold one
// (Bootstrap makes the first).
func Open(ctx context.Context, store KeyStore, issuer, audience string, clock herald.Clock, opts ...Option) (*Signer, error) {
	s := newSigner(issuer, audience, clock)
	s.store, s.retireAfter = store, DefaultRetireAfter
	for _, o := range opts {
		o(s)
	}
	if err := s.refresh(ctx, true); err != nil {
		return nil, err
	}
	return s, nil
}

func newSigner(issuer, audience string, clock herald.Clock) *Signer {
	if issuer == "" {
		issuer = DefaultIssuer
	}
	if audience == "" {
		audience = DefaultAudience
	}
	s := &Signer{issuer: issuer, audience: audience, clock: clock}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(clock.Now),
	)
	return s
}

// refresh rereads the keys from the store: always when force; for an
// unknown kid (miss) only if no such reread happened in the last
// minRefresh, so tokens naming made-up keys cost the store one read a
// second at most.
func (s *Signer) refresh(ctx context.Context, force bool) error {
	if s.store == nil {
		return nil
	}
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	now := s.clock.Now()
	if !force {
		if !s.missAt.IsZero() && now.Sub(s.missAt) < minRefresh && now.Sub(s.missAt) >= 0 {
			return nil
		}
		s.missAt = now
	}
	ks, err := s.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	set, err := newKeyset(ks)
	if err != nil {
		return err
	}
	s.keys.Store(set)
	s.refreshedAt = now
	return nil
}

func newKeyset(ks []herald.SigningKey) (*keyset, error) {
	if len(ks) == 0 {
		return nil, errors.New("the store holds no signing key (herald serve creates the first)")
	}
	set := &keyset{verify: make(map[string]verifier, len(ks))}
	for _, k := range ks {
		if len(k.Seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("signing key generation %d: seed of %d bytes, want %d", k.Generation, len(k.Seed), ed25519.SeedSize)
		}
		priv := ed25519.NewKeyFromSeed(k.Seed)
		if KeyID(priv) != k.ID {
			return nil, fmt.Errorf("signing key generation %d: kid %s does not match its key", k.Generation, k.ID)
		}
		set.verify[k.ID] = verifier{key: priv.Public().(ed25519.PublicKey), retiresAt: k.RetiresAt}
		set.kid, set.signer = k.ID, priv // the newest generation signs
		k.Seed = nil
		set.list = append(set.list, k)
	}
	return set, nil
}

// background is the context of a reread that no request carries.
func background() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// Sign returns the signed token for c.
func (s *Signer) Sign(c herald.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   string(c.UserID),
			Audience:  jwt.ClaimStrings{s.audience},
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ID:        string(c.TokenID),
		},
		Scopes: c.Scopes,
	})
	// Another node may have rotated; on an error keep signing with what
	// we have (the old key verifies for a day).
	ctx, cancel := background()
	_ = s.refreshStale(ctx)
	cancel()
	set := s.keys.Load()
	t.Header["kid"] = set.kid
	t.Header["typ"] = "at+jwt"
	signed, err := t.SignedString(set.signer)
	if err != nil {
		return "", fmt.Errorf("sign token %s: %w", c.TokenID, err)
	}
	return signed, nil
}

// Verify checks the token and returns its claims. Errors are *herald.Error
// with ReasonTokenExpired for a token past exp (plus leeway) and
// ReasonTokenInvalid for anything else.
func (s *Signer) Verify(tok string) (herald.Claims, error) {
	if len(tok) > MaxLength {
		return herald.Claims{}, invalid("the access token is longer than %d bytes", MaxLength)
	}
	if !strings.Contains(tok, ".") {
		return herald.Claims{}, invalid("this is not an access token (a JWT has three parts separated by dots); " +
			"if it is the admin key: chat operations take a user's access token (herald token issue USER --scopes chat)")
	}
	s.mu.Lock()
	c, hit := s.verified[tok]
	s.mu.Unlock()
	if hit && s.current(c, s.clock.Now()) {
		c.Scopes = slices.Clone(c.Scopes) // the cached claims stay as verified
		return c, nil
	}
	c, err := s.verify(tok)
	if err == nil {
		s.remember(tok, c)
	}
	return c, err
}

// current applies the parser's time checks to claims verified before: not
// past exp and not before iat, each with the leeway.
func (s *Signer) current(c herald.Claims, now time.Time) bool {
	return !now.After(c.ExpiresAt.Add(Leeway)) && !now.Add(Leeway).Before(c.IssuedAt)
}

func (s *Signer) remember(tok string, c herald.Claims) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verified == nil {
		s.verified = map[string]herald.Claims{}
	}
	if len(s.verified) >= maxVerified {
		now := s.clock.Now()
		for k, v := range s.verified {
			if now.After(v.ExpiresAt.Add(Leeway)) {
				delete(s.verified, k)
			}
		}
		if len(s.verified) >= maxVerified {
			clear(s.verified)
		}
	}
	s.verified[tok] = c
}

// verify parses and checks tok in full.
func (s *Signer) verify(tok string) (herald.Claims, error) {
	var c claims
	t, err := s.parser.ParseWithClaims(tok, &c, s.keyFor)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) && validSignature(err) {
			exp := "unknown"
			if c.ExpiresAt != nil {
				exp = c.ExpiresAt.UTC().Format(time.RFC3339)
			}
			// The signature held: say whose token it was, for the evidence.
			return herald.Claims{TokenID: herald.TokenID(c.ID), UserID: herald.UserID(c.Subject)}, &herald.Error{Code: herald.CodeUnauthorized, Reason: herald.ReasonTokenExpired,
				Message: "the access token expired at " + exp + "; issue a new one (refresh before expiry)", Err: err}
		}
		e := invalid("the access token is not valid: %v", err)
		e.Err = err
		return herald.Claims{}, e
	}
	// RFC 7515 §4.1.11: a recipient must refuse a token whose crit header
	// names extensions it does not understand; Herald understands none,
	// and never signs one.
	if crit, ok := t.Header["crit"]; ok {
		return herald.Claims{}, invalid("the token has a crit header (%v); this server understands no critical extensions", crit)
	}
	if typ, _ := t.Header["typ"].(string); typ != "at+jwt" {
		return herald.Claims{}, invalid("the token is not an access token (typ %q)", typ)
	}
	if c.Subject == "" || c.ID == "" || c.IssuedAt == nil {
		return herald.Claims{}, invalid("the access token lacks sub, jti or iat")
	}
	return herald.Claims{
		TokenID:   herald.TokenID(c.ID),
		UserID:    herald.UserID(c.Subject),
		Scopes:    c.Scopes,
		IssuedAt:  c.IssuedAt.UTC(),
		ExpiresAt: c.ExpiresAt.UTC(),
	}, nil
}

// keyFor returns the public key that must have signed t: the one its kid
// names, if that key is not retired. An unknown kid rereads the keys once
// (at most once per minRefresh), in case another node rotated.
func (s *Signer) keyFor(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" { // Herald names the key in every token; try the signing key
		kid = s.keys.Load().kid
	}
	v, ok := s.keys.Load().verify[kid]
	if !ok && s.store != nil {
		ctx, cancel := background()
		_ = s.refresh(ctx, false)
		cancel()
		v, ok = s.keys.Load().verify[kid]
	}
	if !ok {
		return nil, fmt.Errorf("the token is signed with key %q, which this deployment does not have", kid)
	}
	if now := s.clock.Now(); !v.retiresAt.IsZero() && !now.Before(v.retiresAt) {
		return nil, fmt.Errorf("the token is signed with key %q, retired at %s", kid, v.retiresAt.UTC().Format(time.RFC3339))
	}
	return v.key, nil
}

func invalid(format string, args ...any) *herald.Error {
	return &herald.Error{Code: herald.CodeUnauthorized, Reason: herald.ReasonTokenInvalid, Message: fmt.Sprintf(format, args...)}
}

// LoadKey reads the Ed25519 private key PEM at path: the key file of a
// deployment from before the keys were kept in the store (Bootstrap
// imports it, or checks it against the store). A missing file is a nil key.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "HERALD ED25519 PRIVATE KEY" || len(block.Bytes) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key %s: not a Herald Ed25519 key", path)
	}
	return ed25519.NewKeyFromSeed(block.Bytes), nil
}

// WriteKey writes key to path as LoadKey reads it (mode 0600).
func WriteKey(path string, key ed25519.PrivateKey) error {
	out := pem.EncodeToMemory(&pem.Block{Type: "HERALD ED25519 PRIVATE KEY", Bytes: key.Seed()})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("signing key dir: %w", err)
	}
	return os.WriteFile(path, out, 0o600)
}

// validSignature reports whether a parse error came from claim validation
// only (the signature was verified): golang-jwt validates claims after the
// signature, and joins ErrTokenInvalidClaims to claim errors.
func validSignature(err error) bool { return errors.Is(err, jwt.ErrTokenInvalidClaims) }

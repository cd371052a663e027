package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
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

// Signer signs and verifies access tokens with one Ed25519 key.
type Signer struct {
	key      ed25519.PrivateKey
	kid      string
	issuer   string
	audience string
	clock    herald.Clock
	parser   *jwt.Parser

	// Tokens whose signature and claims were verified, by their exact
	// string. A signature that held once holds for ever under this key, so
	// a hit skips the Ed25519 check and the JSON decoding (the largest part
	// of authenticating a request); the time checks (exp and iat, with
	// leeway) run on every hit. Revocation and deletion are not decided
	// here: the service checks the token log on every request.
	mu       sync.Mutex // guards verified
	verified map[string]herald.Claims
}

// maxVerified bounds the verified-token cache; when full, expired entries
// go first, and everything if none has expired.
const maxVerified = 8192

var _ herald.Tokens = (*Signer)(nil)

// claims is the JWT body.
type claims struct {
	jwt.RegisteredClaims
	Scopes []herald.Scope `json:"scp"`
}

// New returns a Signer for key. issuer and audience default when empty.
func New(key ed25519.PrivateKey, issuer, audience string, clock herald.Clock) *Signer {
	if issuer == "" {
		issuer = DefaultIssuer
	}
	if audience == "" {
		audience = DefaultAudience
	}
	sum := sha256.Sum256(key.Public().(ed25519.PublicKey))
	s := &Signer{key: key, kid: hex.EncodeToString(sum[:8]), issuer: issuer, audience: audience, clock: clock}
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
	t.Header["kid"] = s.kid
	t.Header["typ"] = "at+jwt"
	signed, err := t.SignedString(s.key)
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
	t, err := s.parser.ParseWithClaims(tok, &c, func(t *jwt.Token) (any, error) {
		return s.key.Public(), nil
	})
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

func invalid(format string, args ...any) *herald.Error {
	return &herald.Error{Code: herald.CodeUnauthorized, Reason: herald.ReasonTokenInvalid, Message: fmt.Sprintf(format, args...)}
}

// LoadOrCreateKey reads the Ed25519 private key PEM at path, or creates one
// (mode 0600) if the file does not exist. created reports which.
func LoadOrCreateKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "HERALD ED25519 PRIVATE KEY" || len(block.Bytes) != ed25519.SeedSize {
			return nil, false, fmt.Errorf("signing key %s: not a Herald Ed25519 key", path)
		}
		return ed25519.NewKeyFromSeed(block.Bytes), false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("generate signing key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "HERALD ED25519 PRIVATE KEY", Bytes: key.Seed()})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("signing key dir: %w", err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return nil, false, fmt.Errorf("write signing key: %w", err)
	}
	return key, true, nil
}

// validSignature reports whether a parse error came from claim validation
// only (the signature was verified): golang-jwt validates claims after the
// signature, and joins ErrTokenInvalidClaims to claim errors.
func validSignature(err error) bool { return errors.Is(err, jwt.ErrTokenInvalidClaims) }

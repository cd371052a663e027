package herald

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// SigningKey is one of the deployment's access-token signing keys. The keys
// live in the Store, so every node signs and verifies with the same ones
// and nothing is copied between nodes by hand.
type SigningKey struct {
	// Generation orders the keys: the first is 1 and each rotation adds
	// one. Creating a generation that exists is ErrConflict, which is what
	// makes concurrent first starts (and concurrent rotations) agree on
	// one key.
	Generation int
	// ID is the key id (kid) in the header of every token it signs,
	// derived from the public key.
	ID string
	// Seed is the Ed25519 private key seed (32 bytes): a secret. Empty
	// where keys are listed for display.
	Seed []byte
	// CreatedAt is when the key was made.
	CreatedAt time.Time
	// RotatedAt is when a newer generation replaced it for signing; zero
	// for the newest key.
	RotatedAt time.Time
	// RetiresAt is when it stops verifying: after every token it signed
	// has expired. Zero while it has not been rotated.
	RetiresAt time.Time
}

// Retired reports whether k no longer verifies tokens at now.
func (k SigningKey) Retired(now time.Time) bool {
	return !k.RetiresAt.IsZero() && !now.Before(k.RetiresAt)
}

// AdminKey is the hash of a deployment's admin key, kept in the Store so
// every node accepts the same key; the key itself is never stored.
type AdminKey struct {
	// Hash is the SHA-256 of the key, hex.
	Hash      string
	CreatedAt time.Time
}

// HashAdminKey returns the AdminKey.Hash of key.
func HashAdminKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// AccessKey is an ACS-style access key of the deployment: a request signed
// with it (HMAC-SHA256 over the method, path and query, date, host and
// body hash, as the ACS SDKs sign with a connection string) acts as the
// admin. Verifying a signature needs the key itself, so the store keeps it
// whole, like the signing keys.
type AccessKey struct {
	// Name is "primary" (the one made at first start).
	Name      string
	Secret    []byte // 32 random bytes; base64 in a connection string
	CreatedAt time.Time
}

// Ticket is a short-lived, single-use credential for opening a real-time
// connection where a header cannot be sent (a browser's WebSocket or
// EventSource). It stands for the access token it was issued with and is
// kept in the Store, so any node can take it, once.
type Ticket struct {
	// ID is the SHA-256 (hex) of the secret the client holds; the secret
	// itself is never stored.
	ID        string
	TokenID   TokenID
	UserID    UserID
	CreatedAt time.Time
	ExpiresAt time.Time
}

// RateLimiter decides whether one more action under key is allowed: a
// bucket of burst actions refilled at one per every. Implementations
// shared by every node (postgres) hold a deployment-wide limit; the
// service's in-memory one holds it per node.
type RateLimiter interface {
	// Take takes one action for key at now. It returns 0 when allowed;
	// otherwise how long until one is (nothing is taken).
	Take(ctx context.Context, key string, now time.Time, every time.Duration, burst int) (wait time.Duration, err error)
}

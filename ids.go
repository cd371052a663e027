package herald

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// IDs makes new identifiers. Inject one; tests use deterministic ones.
type IDs interface {
	// New returns a fresh identifier starting with prefix.
	New(prefix string) string
}

// RandomIDs makes identifiers from 128 random bits: prefix + 26 lower-case
// base32 characters, safe in URL paths.
type RandomIDs struct{}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// New returns prefix followed by 26 random characters.
func (RandomIDs) New(prefix string) string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than returning an error)
	return IDOf(prefix, b)
}

// IDOf returns the identifier that b makes, in the shape RandomIDs gives
// (prefix + 26 lower-case base32 characters): for an id something else
// decides, such as the development sign-in's name.
func IDOf(prefix string, b [16]byte) string {
	return prefix + strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// ID prefixes.
const (
	PrefixUser    = "u_"
	PrefixThread  = "t_"
	PrefixMessage = "m_"
	PrefixToken   = "k_"
	PrefixRequest = "r_"
)

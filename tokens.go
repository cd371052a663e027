package herald

import "time"

// Claims are what an access token asserts.
type Claims struct {
	TokenID   TokenID
	UserID    UserID
	Scopes    []Scope
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Tokens signs and verifies access tokens. Verify checks the signature,
// algorithm, issuer, audience and lifetime only; whether the token was
// revoked or its identity deleted is the service's question.
//
// Verify errors are *Error with CodeUnauthorized and ReasonTokenExpired or
// ReasonTokenInvalid.
type Tokens interface {
	Sign(c Claims) (string, error)
	Verify(token string) (Claims, error)
}

// Package token issues and verifies Herald access tokens: JWTs signed with
// an Ed25519 key, the algorithm fixed by the server (EdDSA only; none, HS*
// and RS* are refused whatever the header says), with exp, iat, aud, iss,
// sub, jti and the scopes. It knows nothing of revocation or identities:
// the service checks those against the store on every request.
//
// Built on github.com/golang-jwt/jwt/v5 and its strict parser options
// (WithValidMethods, WithAudience, WithIssuer, WithExpirationRequired,
// WithIssuedAt, WithLeeway, WithTimeFunc).
package token

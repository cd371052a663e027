package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/herald-chat/herald/wire"
)

// CreateIdentity creates an identity and, if req asks for scopes, issues
// its first access token. The zero req creates an identity alone.
func (a *Admin) CreateIdentity(ctx context.Context, req wire.CreateIdentityRequest) (*wire.CreateIdentityResponse, error) {
	return call[wire.CreateIdentityResponse](ctx, a.conn, request{method: http.MethodPost, path: "/identities", body: req})
}

// GetIdentity returns the identity id, deleted or not.
func (a *Admin) GetIdentity(ctx context.Context, id string) (*wire.Identity, error) {
	return call[wire.Identity](ctx, a.conn, identityRequest(http.MethodGet, id, ""))
}

// DeleteIdentity deletes the identity id; its tokens stop working.
func (a *Admin) DeleteIdentity(ctx context.Context, id string) error {
	return a.conn.do(ctx, identityRequest(http.MethodDelete, id, ""), nil)
}

// IssueToken issues an access token for the identity id with scopes (for
// example "chat") that expires after expiresInMinutes; 0 lets the server
// choose.
func (a *Admin) IssueToken(ctx context.Context, id string, scopes []string, expiresInMinutes int) (*wire.AccessToken, error) {
	body := wire.IssueTokenRequest{Scopes: scopes}
	if body.Scopes == nil {
		body.Scopes = []string{}
	}
	if expiresInMinutes != 0 {
		body.ExpiresInMinutes = &expiresInMinutes
	}
	r := identityRequest(http.MethodPost, id, "/:issueAccessToken")
	r.body = body
	return call[wire.AccessToken](ctx, a.conn, r)
}

// RevokeTokens revokes every access token issued to the identity id.
func (a *Admin) RevokeTokens(ctx context.Context, id string) error {
	return a.conn.do(ctx, identityRequest(http.MethodPost, id, "/:revokeAccessTokens"), nil)
}

// ListTokens returns the first page of the identity's token issue log.
func (a *Admin) ListTokens(ctx context.Context, id string) (*wire.TokenList, error) {
	return call[wire.TokenList](ctx, a.conn, identityRequest(http.MethodGet, id, "/tokens"))
}

// NextTokens returns the page of a token list's nextLink.
func (a *Admin) NextTokens(ctx context.Context, nextLink string) (*wire.TokenList, error) {
	return call[wire.TokenList](ctx, a.conn, a.conn.follow(nextLink))
}

// AllTokens iterates the identity's whole token issue log, page by page.
func (a *Admin) AllTokens(ctx context.Context, id string) iter.Seq2[wire.TokenInfo, error] {
	return pages(ctx, a.conn, identityRequest(http.MethodGet, id, "/tokens"),
		func(l *wire.TokenList) ([]wire.TokenInfo, string) { return l.Value, l.NextLink })
}

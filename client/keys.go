package client

import (
	"context"
	"net/http"

	"github.com/herald-chat/herald/wire"
)

// SigningKeys lists the deployment's token signing keys, newest first
// (never their private part).
func (a *Admin) SigningKeys(ctx context.Context) (*wire.SigningKeyList, error) {
	return call[wire.SigningKeyList](ctx, a.conn, request{method: http.MethodGet, path: "/admin/signing-keys"})
}

// RotateSigningKey makes a new signing key: new tokens are signed with it;
// tokens signed by the one it replaces stay valid until they expire.
func (a *Admin) RotateSigningKey(ctx context.Context) (*wire.SigningKey, error) {
	return call[wire.SigningKey](ctx, a.conn, request{method: http.MethodPost, path: "/admin/signing-keys:rotate"})
}

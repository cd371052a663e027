package main

import (
	"context"

	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// IdentityCmd groups the identity commands (admin key).
type IdentityCmd struct {
	Create IdentityCreateCmd `cmd:"" help:"Create an identity; with --scopes, issue its first access token too."`
	Get    IdentityGetCmd    `cmd:"" help:"Show an identity."`
	Delete IdentityDeleteCmd `cmd:"" help:"Delete an identity; its tokens stop working."`
	Tokens IdentityTokensCmd `cmd:"" help:"List the tokens issued to an identity (never the tokens themselves)."`
}

// IdentityCreateCmd is "identity create".
type IdentityCreateCmd struct {
	Name    string   `placeholder:"NAME" help:"Display name: the default name of the user's participations and messages."`
	Scopes  []string `placeholder:"SCOPE" help:"Also issue a token with these scopes (chat, chat.join, chat.join.limited)."`
	Expires int      `placeholder:"MINUTES" help:"Lifetime of that token in minutes; 0 lets the server choose."`
}

// Run creates the identity.
func (c *IdentityCreateCmd) Run(g *Globals) error {
	req := wire.CreateIdentityRequest{CreateTokenWithScopes: c.Scopes, DisplayName: c.Name}
	if c.Expires != 0 {
		req.ExpiresInMinutes = &c.Expires
	}
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (*wire.CreateIdentityResponse, error) {
		return a.CreateIdentity(ctx, req)
	}, printCreatedIdentity)
}

// IdentityGetCmd is "identity get".
type IdentityGetCmd struct {
	ID string `arg:"" name:"id" help:"Identity id."`
}

// Run shows the identity.
func (c *IdentityGetCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (*wire.Identity, error) {
		return a.GetIdentity(ctx, c.ID)
	}, printIdentity)
}

// IdentityDeleteCmd is "identity delete".
type IdentityDeleteCmd struct {
	ID string `arg:"" name:"id" help:"Identity id."`
}

// Run deletes the identity.
func (c *IdentityDeleteCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (done, error) {
		return done("deleted identity " + c.ID), a.DeleteIdentity(ctx, c.ID)
	}, nil)
}

// IdentityTokensCmd is "identity tokens".
type IdentityTokensCmd struct {
	ID string `arg:"" name:"id" help:"Identity id."`
}

// Run lists the identity's whole token issue log.
func (c *IdentityTokensCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (wire.TokenList, error) {
		items, link, err := collect(ctx, 0,
			func(ctx context.Context) (*wire.TokenList, error) { return a.ListTokens(ctx, c.ID) },
			a.NextTokens,
			func(l *wire.TokenList) ([]wire.TokenInfo, string) { return l.Value, l.NextLink })
		return wire.TokenList{Value: items, NextLink: link}, err
	}, printTokens)
}

// TokenCmd groups the access token commands (admin key).
type TokenCmd struct {
	Issue  TokenIssueCmd  `cmd:"" help:"Issue an access token for an identity."`
	Revoke TokenRevokeCmd `cmd:"" help:"Revoke every access token of an identity."`
}

// TokenIssueCmd is "token issue".
type TokenIssueCmd struct {
	ID      string   `arg:"" name:"id" help:"Identity id."`
	Scopes  []string `required:"" placeholder:"SCOPE" help:"Scopes of the token (chat, chat.join, chat.join.limited)."`
	Expires int      `placeholder:"MINUTES" help:"Lifetime in minutes; 0 lets the server choose."`
}

// Run issues the token.
func (c *TokenIssueCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (*wire.AccessToken, error) {
		return a.IssueToken(ctx, c.ID, c.Scopes, c.Expires)
	}, printAccessToken)
}

// TokenRevokeCmd is "token revoke".
type TokenRevokeCmd struct {
	ID string `arg:"" name:"id" help:"Identity id."`
}

// Run revokes the identity's tokens.
func (c *TokenRevokeCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (done, error) {
		return done("revoked every token of identity " + c.ID), a.RevokeTokens(ctx, c.ID)
	}, nil)
}

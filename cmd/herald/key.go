package main

import (
	"context"
	"strconv"

	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// KeyCmd groups the signing-key commands (admin key).
type KeyCmd struct {
	List   KeyListCmd   `cmd:"" help:"List the deployment's token signing keys, newest first, and their state."`
	Rotate KeyRotateCmd `cmd:"" help:"Make a new signing key; tokens signed by the old one stay valid until they expire, then it retires."`
}

// KeyListCmd is "key list".
type KeyListCmd struct{}

// Run lists the keys.
func (c *KeyListCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (*wire.SigningKeyList, error) {
		return a.SigningKeys(ctx)
	}, printSigningKeys)
}

// KeyRotateCmd is "key rotate".
type KeyRotateCmd struct{}

// Run rotates the signing key.
func (c *KeyRotateCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (*wire.SigningKey, error) {
		return a.RotateSigningKey(ctx)
	}, func(t *table, k *wire.SigningKey) {
		printSigningKeys(t, &wire.SigningKeyList{Value: []wire.SigningKey{*k}})
	})
}

func printSigningKeys(t *table, l *wire.SigningKeyList) {
	t.row("KID", "GENERATION", "STATE", "CREATED", "ROTATED", "RETIRES")
	for _, k := range l.Value {
		t.row(k.KeyID, strconv.Itoa(k.Generation), k.State, ts(k.CreatedOn), tsp(k.RotatedOn), tsp(k.RetiresOn))
	}
}

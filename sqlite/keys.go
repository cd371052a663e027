package sqlite

import (
	"context"

	"github.com/herald-chat/herald"
)

const signingKeyColumns = `generation, id, seed, created_at, rotated_at, retires_at`

func scanSigningKey(s scanner, k *herald.SigningKey) error {
	return s.Scan(&k.Generation, &k.ID, &k.Seed, timeCol{&k.CreatedAt}, timeCol{&k.RotatedAt}, timeCol{&k.RetiresAt})
}

// ListSigningKeys returns the signing keys, oldest generation first.
func (r queries) ListSigningKeys(ctx context.Context) ([]herald.SigningKey, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY generation`)
	ks, err := collect(rows, err, scanSigningKey)
	if err != nil {
		return nil, classify(err, "list signing keys")
	}
	return ks, nil
}

// GetAdminKey returns the stored admin key hash; ErrNotFound if none.
func (r queries) GetAdminKey(ctx context.Context) (herald.AdminKey, error) {
	var k herald.AdminKey
	err := r.q.QueryRowContext(ctx, `SELECT hash, created_at FROM admin_keys WHERE singleton = 1`).
		Scan(&k.Hash, timeCol{&k.CreatedAt})
	if err != nil {
		return herald.AdminKey{}, classify(err, "get admin key")
	}
	return k, nil
}

// CreateSigningKey stores k; ErrConflict if its generation or id exists.
func (t *tx) CreateSigningKey(ctx context.Context, k herald.SigningKey) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.Generation, k.ID, k.Seed, millis(k.CreatedAt), millis(k.RotatedAt), millis(k.RetiresAt))
	if err != nil {
		return classify(err, "create signing key %d", k.Generation)
	}
	return nil
}

// UpdateSigningKey stores k's RotatedAt and RetiresAt; ErrNotFound if its
// generation does not exist.
func (t *tx) UpdateSigningKey(ctx context.Context, k herald.SigningKey) error {
	res, err := t.q.ExecContext(ctx, `UPDATE signing_keys SET rotated_at = ?, retires_at = ? WHERE generation = ?`,
		millis(k.RotatedAt), millis(k.RetiresAt), k.Generation)
	return mustAffect(res, err, "update signing key %d", k.Generation)
}

// CreateAdminKey stores the admin key hash; ErrConflict if one is stored.
func (t *tx) CreateAdminKey(ctx context.Context, k herald.AdminKey) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO admin_keys (singleton, hash, created_at) VALUES (1, ?, ?)`,
		k.Hash, millis(k.CreatedAt))
	if err != nil {
		return classify(err, "create admin key")
	}
	return nil
}

// ReplaceAdminKey stores the admin key hash in place of any stored one.
func (t *tx) ReplaceAdminKey(ctx context.Context, k herald.AdminKey) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO admin_keys (singleton, hash, created_at) VALUES (1, ?, ?)
		ON CONFLICT (singleton) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`, k.Hash, millis(k.CreatedAt))
	if err != nil {
		return classify(err, "replace admin key")
	}
	return nil
}

// CreateTicket stores tk and removes the tickets that expired before it
// was created; ErrConflict if its id exists.
func (t *tx) CreateTicket(ctx context.Context, tk herald.Ticket) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM tickets WHERE expires_at < ?`, millis(tk.CreatedAt)); err != nil {
		return classify(err, "remove expired tickets")
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO tickets (id, token_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		tk.ID, tk.TokenID, tk.UserID, millis(tk.CreatedAt), millis(tk.ExpiresAt))
	if err != nil {
		return classify(err, "create ticket of %s", tk.UserID)
	}
	return nil
}

// TakeTicket removes the ticket id and returns it; ErrNotFound if none.
func (t *tx) TakeTicket(ctx context.Context, id string) (herald.Ticket, error) {
	var tk herald.Ticket
	err := t.q.QueryRowContext(ctx, `DELETE FROM tickets WHERE id = ?
		RETURNING id, token_id, user_id, created_at, expires_at`, id).
		Scan(&tk.ID, &tk.TokenID, &tk.UserID, timeCol{&tk.CreatedAt}, timeCol{&tk.ExpiresAt})
	if err != nil {
		return herald.Ticket{}, classify(err, "take ticket")
	}
	return tk, nil
}

// ListAccessKeys returns the access keys, by name.
func (r queries) ListAccessKeys(ctx context.Context) ([]herald.AccessKey, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT name, secret, created_at FROM access_keys ORDER BY name`)
	ks, err := collect(rows, err, func(s scanner, k *herald.AccessKey) error {
		return s.Scan(&k.Name, &k.Secret, timeCol{&k.CreatedAt})
	})
	if err != nil {
		return nil, classify(err, "list access keys")
	}
	return ks, nil
}

// CreateAccessKey stores k; ErrConflict if its name exists.
func (t *tx) CreateAccessKey(ctx context.Context, k herald.AccessKey) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO access_keys (name, secret, created_at) VALUES (?, ?, ?)`,
		k.Name, k.Secret, millis(k.CreatedAt))
	if err != nil {
		return classify(err, "create access key %s", k.Name)
	}
	return nil
}

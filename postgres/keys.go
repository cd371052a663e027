package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-chat/herald"
)

const signingKeyColumns = `generation, id, seed, created_at, rotated_at, retires_at`

func scanSigningKey(s pgx.Row, k *herald.SigningKey) error {
	return s.Scan(&k.Generation, &k.ID, &k.Seed, timeCol{&k.CreatedAt}, timeCol{&k.RotatedAt}, timeCol{&k.RetiresAt})
}

// ListSigningKeys returns the signing keys, oldest generation first.
func (r queries) ListSigningKeys(ctx context.Context) ([]herald.SigningKey, error) {
	rows, err := r.q.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY generation`)
	ks, err := collect(rows, err, scanSigningKey)
	if err != nil {
		return nil, classify(err, "list signing keys")
	}
	return ks, nil
}

// GetAdminKey returns the stored admin key hash; ErrNotFound if none.
func (r queries) GetAdminKey(ctx context.Context) (herald.AdminKey, error) {
	var k herald.AdminKey
	err := r.q.QueryRow(ctx, `SELECT hash, created_at FROM admin_keys WHERE singleton = 1`).
		Scan(&k.Hash, timeCol{&k.CreatedAt})
	if err != nil {
		return herald.AdminKey{}, classify(err, "get admin key")
	}
	return k, nil
}

// CreateSigningKey stores k; ErrConflict if its generation or id exists
// (also when another transaction created it first: this one waits for that
// one and inserts nothing).
func (t *tx) CreateSigningKey(ctx context.Context, k herald.SigningKey) error {
	tag, err := t.q.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`,
		k.Generation, k.ID, k.Seed, millis(k.CreatedAt), millis(k.RotatedAt), millis(k.RetiresAt))
	return mustInsert(tag, err, "create signing key %d", k.Generation)
}

// UpdateSigningKey stores k's RotatedAt and RetiresAt; ErrNotFound if its
// generation does not exist.
func (t *tx) UpdateSigningKey(ctx context.Context, k herald.SigningKey) error {
	tag, err := t.q.Exec(ctx, `UPDATE signing_keys SET rotated_at = $1, retires_at = $2 WHERE generation = $3`,
		millis(k.RotatedAt), millis(k.RetiresAt), k.Generation)
	return mustAffect(tag, err, "update signing key %d", k.Generation)
}

// CreateAdminKey stores the admin key hash; ErrConflict if one is stored.
func (t *tx) CreateAdminKey(ctx context.Context, k herald.AdminKey) error {
	tag, err := t.q.Exec(ctx, `INSERT INTO admin_keys (singleton, hash, created_at) VALUES (1, $1, $2)
		ON CONFLICT DO NOTHING`, k.Hash, millis(k.CreatedAt))
	return mustInsert(tag, err, "create admin key")
}

// ReplaceAdminKey stores the admin key hash in place of any stored one.
func (t *tx) ReplaceAdminKey(ctx context.Context, k herald.AdminKey) error {
	_, err := t.q.Exec(ctx, `INSERT INTO admin_keys (singleton, hash, created_at) VALUES (1, $1, $2)
		ON CONFLICT (singleton) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`, k.Hash, millis(k.CreatedAt))
	if err != nil {
		return classify(err, "replace admin key")
	}
	return nil
}

// CreateTicket stores tk and removes the tickets that expired before it
// was created; ErrConflict if its id exists.
func (t *tx) CreateTicket(ctx context.Context, tk herald.Ticket) error {
	if _, err := t.q.Exec(ctx, `DELETE FROM tickets WHERE expires_at < $1`, millis(tk.CreatedAt)); err != nil {
		return classify(err, "remove expired tickets")
	}
	tag, err := t.q.Exec(ctx, `INSERT INTO tickets (id, token_id, user_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		tk.ID, tk.TokenID, tk.UserID, millis(tk.CreatedAt), millis(tk.ExpiresAt))
	return mustInsert(tag, err, "create ticket of %s", tk.UserID)
}

// TakeTicket removes the ticket id and returns it; ErrNotFound if none.
// Two nodes taking one ticket at once: one gets it, the other ErrNotFound.
func (t *tx) TakeTicket(ctx context.Context, id string) (herald.Ticket, error) {
	var tk herald.Ticket
	err := t.q.QueryRow(ctx, `DELETE FROM tickets WHERE id = $1
		RETURNING id, token_id, user_id, created_at, expires_at`, id).
		Scan(&tk.ID, &tk.TokenID, &tk.UserID, timeCol{&tk.CreatedAt}, timeCol{&tk.ExpiresAt})
	if err != nil {
		return herald.Ticket{}, classify(err, "take ticket")
	}
	return tk, nil
}

var _ herald.RateLimiter = (*Store)(nil)

// Take is the deployment-wide rate limit: a generic cell rate algorithm
// (GCRA) over one row per key, one statement per allowed action, so every
// node shares the bucket. It runs outside any transaction (the table is
// UNLOGGED: a crash forgets the buckets, which only gives every key a full
// burst).
func (s *Store) Take(ctx context.Context, key string, now time.Time, every time.Duration, burst int) (time.Duration, error) {
	if burst < 1 {
		burst = 1
	}
	t, T, tau := now.UnixMicro(), every.Microseconds(), every.Microseconds()*int64(burst)
	var ok int
	err := s.pool.QueryRow(ctx, `INSERT INTO rate_limits AS r (key, tat) VALUES ($1, $2::bigint + $3::bigint)
		ON CONFLICT (key) DO UPDATE SET tat = GREATEST(r.tat, $2::bigint) + $3::bigint
		WHERE GREATEST(r.tat, $2::bigint) + $3::bigint - $2::bigint <= $4::bigint
		RETURNING 1`, key, t, T, tau).Scan(&ok)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, classify(err, "rate limit %s", key)
	}
	// Refused: nothing was written. Say when one unit is free again.
	var tat int64
	if err := s.pool.QueryRow(ctx, `SELECT tat FROM rate_limits WHERE key = $1`, key).Scan(&tat); err != nil {
		return 0, classify(err, "rate limit %s", key)
	}
	wait := max(tat, t) + T - t - tau
	if wait <= 0 {
		wait = 1 // refilled in between: retry at once
	}
	return time.Duration(wait) * time.Microsecond, nil
}

// ListAccessKeys returns the access keys, by name.
func (r queries) ListAccessKeys(ctx context.Context) ([]herald.AccessKey, error) {
	rows, err := r.q.Query(ctx, `SELECT name, secret, created_at FROM access_keys ORDER BY name`)
	ks, err := collect(rows, err, func(s pgx.Row, k *herald.AccessKey) error {
		return s.Scan(&k.Name, &k.Secret, timeCol{&k.CreatedAt})
	})
	if err != nil {
		return nil, classify(err, "list access keys")
	}
	return ks, nil
}

// CreateAccessKey stores k; ErrConflict if its name exists (also when
// another transaction created it first).
func (t *tx) CreateAccessKey(ctx context.Context, k herald.AccessKey) error {
	tag, err := t.q.Exec(ctx, `INSERT INTO access_keys (name, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		k.Name, k.Secret, millis(k.CreatedAt))
	return mustInsert(tag, err, "create access key %s", k.Name)
}

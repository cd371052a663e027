package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// pruneStatements delete evidence older than the cut-off ($1); see the
// SQLite engine for the rules, which are the same.
var pruneStatements = []string{
	`DELETE FROM requests WHERE at < $1`,
	`DELETE FROM connections WHERE (closed_at <> 0 AND closed_at < $1) OR (refused <> '' AND opened_at < $1)`,
	`DELETE FROM deliveries WHERE last_at < $1`,
	`DELETE FROM acks WHERE at < $1`,
	`DELETE FROM webhook_attempts WHERE delivery_id IN
		(SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1)`,
	`DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1`,
}

// PruneEvidence deletes evidence older than before, in one transaction,
// and returns how many rows it deleted.
func (s *Store) PruneEvidence(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.transact(ctx, "prune", func(t pgx.Tx) error {
		for _, q := range pruneStatements {
			tag, err := t.Exec(ctx, q, millis(before))
			if err != nil {
				return classify(err, "prune")
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	return n, err
}

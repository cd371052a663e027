package sqlite

import (
	"context"
	"time"
)

// pruneStatements delete evidence older than the cut-off ($1): request-log
// rows, connections that ended (or were refused) before it, delivery runs
// last pushed before it, acks, and webhook deliveries made before it that
// are no longer pending (delivered or dead) with their attempts. Thread history (events, messages) is
// not evidence and is never pruned here.
var pruneStatements = []string{
	`DELETE FROM requests WHERE at < ?`,
	`DELETE FROM connections WHERE (closed_at <> 0 AND closed_at < ?) OR (refused <> '' AND opened_at < ?)`,
	`DELETE FROM deliveries WHERE last_at < ?`,
	`DELETE FROM acks WHERE at < ?`,
	`DELETE FROM webhook_attempts WHERE delivery_id IN
		(SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ?)`,
	`DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ?`,
}

// PruneEvidence deletes evidence older than before, in one transaction,
// and returns how many rows it deleted.
func (s *Store) PruneEvidence(ctx context.Context, before time.Time) (int64, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, classify(err, "prune: begin")
	}
	defer tx.Rollback()
	cut := millis(before)
	var n int64
	for _, q := range pruneStatements {
		args := []any{cut}
		if q == pruneStatements[1] {
			args = append(args, cut)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, classify(err, "prune")
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if err := tx.Commit(); err != nil {
		return 0, classify(err, "prune: commit")
	}
	return n, nil
}

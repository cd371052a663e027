package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/herald-chat/herald"
)

// The Ledger writes go through the pool outside any Update: single rows as
// autocommit statements, batches as one transaction each, sent as one
// pipelined pgx.Batch. Its reads use the pool.

// Default limits of the Ledger lists when the filter sets none.
const (
	defaultConnectionLimit = 100
	defaultDeliveryLimit   = 1000
)

const connectionColumns = `id, user_id, token_id, transport, remote, origin, user_agent, refused,
	opened_at, closed_at, close_code, close_reason, closed_by, handles, heartbeat_misses, node`

func scanConnection(s pgx.Row, c *herald.Connection) error {
	return s.Scan(&c.ID, &c.UserID, &c.TokenID, &c.Transport, &c.Remote, &c.Origin, &c.UserAgent,
		&c.Refused, timeCol{&c.OpenedAt}, timeCol{&c.ClosedAt}, &c.CloseCode, &c.CloseReason,
		&c.ClosedBy, &c.Handles, &c.HeartbeatMisses, &c.Node)
}

// CreateConnection logs an upgrade attempt, refused or opened, with every
// field of c; ErrConflict if c.ID was logged before.
func (s *Store) CreateConnection(ctx context.Context, c herald.Connection) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO connections (`+connectionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		c.ID, c.UserID, c.TokenID, c.Transport, c.Remote, c.Origin, c.UserAgent, c.Refused,
		millis(c.OpenedAt), millis(c.ClosedAt), c.CloseCode, c.CloseReason, c.ClosedBy,
		jsonArg(c.Handles), c.HeartbeatMisses, c.Node)
	if err != nil {
		return classify(err, "create connection %s", c.ID)
	}
	return nil
}

// UpdateConnection stores c's ClosedAt, CloseCode, CloseReason, ClosedBy,
// Handles and HeartbeatMisses, and nothing else; ErrNotFound if c.ID was
// never logged. (PostgreSQL counts a matched row as affected even when its
// values do not change, as SQLite does.)
func (s *Store) UpdateConnection(ctx context.Context, c herald.Connection) error {
	tag, err := s.pool.Exec(ctx, `UPDATE connections
		SET closed_at = $1, close_code = $2, close_reason = $3, closed_by = $4, handles = $5,
			heartbeat_misses = $6
		WHERE id = $7`,
		millis(c.ClosedAt), c.CloseCode, c.CloseReason, c.ClosedBy, jsonArg(c.Handles),
		c.HeartbeatMisses, c.ID)
	return mustAffect(tag, err, "update connection %s", c.ID)
}

// GetConnection returns the logged connection id; ErrNotFound if none.
func (s *Store) GetConnection(ctx context.Context, id herald.ConnectionID) (herald.Connection, error) {
	var c herald.Connection
	row := s.pool.QueryRow(ctx, `SELECT `+connectionColumns+` FROM connections WHERE id = $1`, id)
	if err := scanConnection(row, &c); err != nil {
		return herald.Connection{}, classify(err, "get connection %s", id)
	}
	return c, nil
}

// ListConnections returns the logged connections matching f, newest opened
// first (ties by id, descending). Each non-empty field of f filters, on
// OpenedAt: Since is inclusive, Until exclusive. A Limit that is not
// positive means 100.
func (s *Store) ListConnections(ctx context.Context, f herald.ConnectionFilter) ([]herald.Connection, error) {
	var p params
	var b strings.Builder
	b.WriteString(`SELECT ` + connectionColumns + ` FROM connections WHERE true`)
	if f.User != "" {
		b.WriteString(` AND user_id = ` + p.add(f.User))
	}
	if !f.Since.IsZero() {
		b.WriteString(` AND opened_at >= ` + p.add(millis(f.Since)))
	}
	if !f.Until.IsZero() {
		b.WriteString(` AND opened_at < ` + p.add(millis(f.Until)))
	}
	b.WriteString(` ORDER BY opened_at DESC, id DESC LIMIT ` + p.add(limitOr(f.Limit, defaultConnectionLimit)))
	rows, err := s.pool.Query(ctx, b.String(), p...)
	cs, err := collect(rows, err, scanConnection)
	if err != nil {
		return nil, classify(err, "list connections")
	}
	return cs, nil
}

// RecordDeliveries stores the runs ds in one transaction: all or none. A
// run whose (ConnectionID, ThreadID, FromSeq) is stored already replaces
// that row's ToSeq and LastAt and keeps its other fields; within one batch
// the later of two runs with one key wins (each run is its own statement,
// in order). An empty batch writes nothing.
func (s *Store) RecordDeliveries(ctx context.Context, ds []herald.Delivery) error {
	return writeBatch(ctx, s, "record deliveries", `INSERT INTO deliveries
		(connection_id, thread_id, from_seq, user_id, transport, to_seq, first_at, last_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (connection_id, thread_id, from_seq) DO UPDATE SET
			to_seq = excluded.to_seq, last_at = excluded.last_at`,
		ds, func(d herald.Delivery) []any {
			return []any{d.ConnectionID, d.ThreadID, d.FromSeq, d.UserID, d.Transport, d.ToSeq,
				millis(d.FirstAt), millis(d.LastAt)}
		})
}

// RecordAcks appends the acks in one transaction: all or none, in order (the
// identity column keeps the order of equal times). An empty batch writes
// nothing.
func (s *Store) RecordAcks(ctx context.Context, as []herald.Ack) error {
	return writeBatch(ctx, s, "record acks", `INSERT INTO acks
		(user_id, thread_id, connection_id, seq, at) VALUES ($1, $2, $3, $4, $5)`,
		as, func(a herald.Ack) []any {
			return []any{a.UserID, a.ThreadID, a.ConnectionID, a.Seq, millis(a.At)}
		})
}

// writeBatch runs query once per element of vs, with the arguments args
// gives, in one transaction: the statements go to the server in one
// pipelined batch. An empty vs writes nothing.
func writeBatch[T any](ctx context.Context, s *Store, op, query string, vs []T, args func(T) []any) error {
	if len(vs) == 0 {
		return nil
	}
	return s.transact(ctx, op, func(t pgx.Tx) error {
		var b pgx.Batch
		for _, v := range vs {
			b.Queue(query, args(v)...)
		}
		res := t.SendBatch(ctx, &b)
		for i := range vs {
			if _, err := res.Exec(); err != nil {
				res.Close()
				return classify(err, "%s: row %d of %d", op, i, len(vs))
			}
		}
		if err := res.Close(); err != nil {
			return classify(err, "%s", op)
		}
		return nil
	})
}

func scanDelivery(s pgx.Row, d *herald.Delivery) error {
	return s.Scan(&d.UserID, &d.ThreadID, &d.ConnectionID, &d.Transport, &d.FromSeq, &d.ToSeq,
		timeCol{&d.FirstAt}, timeCol{&d.LastAt})
}

// ListDeliveries returns the runs matching f, oldest first: by FirstAt, then
// FromSeq (then connection and thread, so the order is total). An empty
// User or Thread matches any; with Seq > 0 only the runs with
// FromSeq <= Seq <= ToSeq match. A Limit that is not positive means 1000.
func (s *Store) ListDeliveries(ctx context.Context, f herald.DeliveryFilter) ([]herald.Delivery, error) {
	var p params
	var b strings.Builder
	b.WriteString(`SELECT user_id, thread_id, connection_id, transport, from_seq, to_seq, first_at, last_at
		FROM deliveries WHERE true`)
	deliveryFilter(&b, &p, f)
	if f.Seq > 0 {
		seq := p.add(f.Seq)
		b.WriteString(` AND from_seq <= ` + seq + ` AND to_seq >= ` + seq)
	}
	b.WriteString(` ORDER BY first_at, from_seq, connection_id, thread_id LIMIT ` +
		p.add(limitOr(f.Limit, defaultDeliveryLimit)))
	rows, err := s.pool.Query(ctx, b.String(), p...)
	ds, err := collect(rows, err, scanDelivery)
	if err != nil {
		return nil, classify(err, "list deliveries of %s in %s", f.User, f.Thread)
	}
	return ds, nil
}

func scanAck(s pgx.Row, a *herald.Ack) error {
	return s.Scan(&a.UserID, &a.ThreadID, &a.ConnectionID, &a.Seq, timeCol{&a.At})
}

// ListAcks returns the acks matching f, oldest first (equal times in the
// order they were recorded). An empty User or Thread matches any; with
// Seq > 0 only the acks with a Seq >= it match. A Limit that is not positive
// means 1000.
func (s *Store) ListAcks(ctx context.Context, f herald.DeliveryFilter) ([]herald.Ack, error) {
	var p params
	var b strings.Builder
	b.WriteString(`SELECT user_id, thread_id, connection_id, seq, at FROM acks WHERE true`)
	deliveryFilter(&b, &p, f)
	if f.Seq > 0 {
		b.WriteString(` AND seq >= ` + p.add(f.Seq))
	}
	b.WriteString(` ORDER BY at, id LIMIT ` + p.add(limitOr(f.Limit, defaultDeliveryLimit)))
	rows, err := s.pool.Query(ctx, b.String(), p...)
	as, err := collect(rows, err, scanAck)
	if err != nil {
		return nil, classify(err, "list acks of %s in %s", f.User, f.Thread)
	}
	return as, nil
}

// deliveryFilter appends the user and thread conditions of f to b and their
// arguments to p.
func deliveryFilter(b *strings.Builder, p *params, f herald.DeliveryFilter) {
	if f.User != "" {
		b.WriteString(` AND user_id = ` + p.add(f.User))
	}
	if f.Thread != "" {
		b.WriteString(` AND thread_id = ` + p.add(f.Thread))
	}
}

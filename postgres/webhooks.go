package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-chat/herald"
)

const webhookColumns = `id, url, schema, event_types, secret, created_at, validated_at, deleted_at`

func scanWebhook(s pgx.Row, w *herald.Webhook) error {
	return s.Scan(&w.ID, &w.URL, &w.Schema, &w.EventTypes, &w.Secret,
		timeCol{&w.CreatedAt}, timeCol{&w.ValidatedAt}, timeCol{&w.DeletedAt})
}

const webhookDeliveryColumns = `id, webhook_id, thread_id, seq, events, recipients, created_at, state, attempts,
	next_at, leased_until, last_status, last_error, delivered_at`

func scanWebhookDelivery(s pgx.Row, d *herald.WebhookDelivery) error {
	return s.Scan(&d.ID, &d.Webhook, &d.ThreadID, &d.Seq, rawCol{&d.Events}, &d.Recipients,
		timeCol{&d.CreatedAt}, &d.State, &d.Attempts, timeCol{&d.NextAt}, timeCol{&d.LeasedUntil}, &d.LastStatus,
		&d.LastError, timeCol{&d.DeliveredAt})
}

// defaultWebhookDeliveryLimit caps ListWebhookDeliveries when the filter sets no
// Limit.
const defaultWebhookDeliveryLimit = 100

// ListWebhooks returns the subscriptions not deleted, oldest first.
func (r queries) ListWebhooks(ctx context.Context) ([]herald.Webhook, error) {
	rows, err := r.q.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE deleted_at = 0 ORDER BY created_at, id`)
	ws, err := collect(rows, err, scanWebhook)
	if err != nil {
		return nil, classify(err, "list webhooks")
	}
	return ws, nil
}

// GetWebhook returns a subscription, deleted or not; ErrNotFound if none.
func (r queries) GetWebhook(ctx context.Context, id herald.WebhookID) (herald.Webhook, error) {
	var w herald.Webhook
	if err := scanWebhook(r.q.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id), &w); err != nil {
		return herald.Webhook{}, classify(err, "get webhook %s", id)
	}
	return w, nil
}

// GetWebhookDelivery returns one delivery; ErrNotFound if none.
func (r queries) GetWebhookDelivery(ctx context.Context, id int64) (herald.WebhookDelivery, error) {
	var d herald.WebhookDelivery
	if err := scanWebhookDelivery(r.q.QueryRow(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries WHERE id = $1`, id), &d); err != nil {
		return herald.WebhookDelivery{}, classify(err, "get webhook delivery %d", id)
	}
	return d, nil
}

// ListWebhookDeliveries returns the deliveries f selects, newest first; a
// Limit that is not positive means 100.
func (r queries) ListWebhookDeliveries(ctx context.Context, f herald.WebhookDeliveryFilter) ([]herald.WebhookDelivery, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + webhookDeliveryColumns + ` FROM webhook_deliveries WHERE 1 = 1`)
	var p params
	if f.Webhook != "" {
		b.WriteString(` AND webhook_id = ` + p.add(f.Webhook))
	}
	if f.Thread != "" {
		b.WriteString(` AND thread_id = ` + p.add(f.Thread))
	}
	if f.Seq > 0 {
		b.WriteString(` AND seq = ` + p.add(f.Seq))
	}
	if f.State != "" {
		b.WriteString(` AND state = ` + p.add(f.State))
	}
	if f.Before > 0 {
		b.WriteString(` AND id < ` + p.add(f.Before))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultWebhookDeliveryLimit
	}
	b.WriteString(` ORDER BY id DESC LIMIT ` + p.add(limit))
	rows, err := r.q.Query(ctx, b.String(), p...)
	ds, err := collect(rows, err, scanWebhookDelivery)
	if err != nil {
		return nil, classify(err, "list webhook deliveries")
	}
	return ds, nil
}

// CountWebhookDeliveries counts a subscription's deliveries by state.
func (r queries) CountWebhookDeliveries(ctx context.Context, id herald.WebhookID) (map[herald.DeliveryState]int, error) {
	rows, err := r.q.Query(ctx, `SELECT state, count(*) FROM webhook_deliveries WHERE webhook_id = $1 GROUP BY state`, id)
	type count struct {
		state herald.DeliveryState
		n     int
	}
	cs, err := collect(rows, err, func(s pgx.Row, c *count) error { return s.Scan(&c.state, &c.n) })
	if err != nil {
		return nil, classify(err, "count webhook deliveries of %s", id)
	}
	out := make(map[herald.DeliveryState]int, len(cs))
	for _, c := range cs {
		out[c.state] = c.n
	}
	return out, nil
}

// ListWebhookAttempts returns a delivery's attempts, oldest first.
func (r queries) ListWebhookAttempts(ctx context.Context, delivery int64) ([]herald.WebhookAttempt, error) {
	rows, err := r.q.Query(ctx, `SELECT delivery_id, at, node, status, error, duration_us FROM webhook_attempts
		WHERE delivery_id = $1 ORDER BY id`, delivery)
	as, err := collect(rows, err, func(s pgx.Row, a *herald.WebhookAttempt) error {
		var us int64
		err := s.Scan(&a.Delivery, timeCol{&a.At}, &a.Node, &a.Status, &a.Error, &us)
		a.Duration = time.Duration(us) * time.Microsecond
		return err
	})
	if err != nil {
		return nil, classify(err, "list attempts of webhook delivery %d", delivery)
	}
	return as, nil
}

// CreateWebhook stores w; ErrConflict if its id exists.
func (t *tx) CreateWebhook(ctx context.Context, w herald.Webhook) error {
	tag, err := t.q.Exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT DO NOTHING`,
		w.ID, w.URL, w.Schema, jsonArg(w.EventTypes), w.Secret, millis(w.CreatedAt), millis(w.ValidatedAt), millis(w.DeletedAt))
	return mustInsert(tag, err, "create webhook %s", w.ID)
}

// DeleteWebhook marks the subscription deleted; ErrNotFound if it does not
// exist or was deleted.
func (t *tx) DeleteWebhook(ctx context.Context, id herald.WebhookID, at time.Time) error {
	tag, err := t.q.Exec(ctx, `UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND deleted_at = 0`, millis(at), id)
	return mustAffect(tag, err, "delete webhook %s", id)
}

// CreateWebhookDeliveries stores new deliveries.
func (t *tx) CreateWebhookDeliveries(ctx context.Context, ds []herald.WebhookDelivery) error {
	for _, d := range ds {
		_, err := t.q.Exec(ctx, `INSERT INTO webhook_deliveries (webhook_id, thread_id, seq, events, recipients,
			created_at, state, attempts, next_at, leased_until, last_status, last_error, delivered_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			d.Webhook, d.ThreadID, d.Seq, string(d.Events), jsonArg(d.Recipients), millis(d.CreatedAt), d.State, d.Attempts,
			millis(d.NextAt), millis(d.LeasedUntil), d.LastStatus, d.LastError, millis(d.DeliveredAt))
		if err != nil {
			return classify(err, "create webhook delivery of %s/%d", d.ThreadID, d.Seq)
		}
	}
	return nil
}

// ClaimWebhookDeliveries leases up to limit due, unleased pending
// deliveries until until. Concurrent claims (other nodes) skip the rows
// one of them has locked, so none is handed out twice.
func (t *tx) ClaimWebhookDeliveries(ctx context.Context, now, until time.Time, limit int) ([]herald.WebhookDelivery, error) {
	rows, err := t.q.Query(ctx, `UPDATE webhook_deliveries SET leased_until = $1
		WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_at <= $2 AND leased_until <= $3
			ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+webhookDeliveryColumns, millis(until), millis(now), millis(now), limit)
	ds, err := collect(rows, err, scanWebhookDelivery)
	if err != nil {
		return nil, classify(err, "claim webhook deliveries")
	}
	// RETURNING keeps no order.
	slices.SortFunc(ds, func(a, b herald.WebhookDelivery) int {
		return cmp.Or(a.NextAt.Compare(b.NextAt), cmp.Compare(a.ID, b.ID))
	})
	return ds, nil
}

// UpdateWebhookDelivery stores d's progress; ErrNotFound if it does not
// exist.
func (t *tx) UpdateWebhookDelivery(ctx context.Context, d herald.WebhookDelivery) error {
	tag, err := t.q.Exec(ctx, `UPDATE webhook_deliveries SET state = $1, attempts = $2, next_at = $3, leased_until = $4,
		last_status = $5, last_error = $6, delivered_at = $7, created_at = $8 WHERE id = $9`,
		d.State, d.Attempts, millis(d.NextAt), millis(d.LeasedUntil), d.LastStatus, d.LastError, millis(d.DeliveredAt), millis(d.CreatedAt), d.ID)
	return mustAffect(tag, err, "update webhook delivery %d", d.ID)
}

// CreateWebhookAttempt appends to a delivery's attempt log.
func (t *tx) CreateWebhookAttempt(ctx context.Context, a herald.WebhookAttempt) error {
	_, err := t.q.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, at, node, status, error, duration_us)
		VALUES ($1, $2, $3, $4, $5, $6)`, a.Delivery, millis(a.At), a.Node, a.Status, a.Error, a.Duration.Microseconds())
	if err != nil {
		return classify(err, "log attempt of webhook delivery %d", a.Delivery)
	}
	return nil
}

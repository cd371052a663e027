package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/herald-chat/herald/wire"
)

// CreateWebhook subscribes an endpoint to the thread events, as Event Grid
// events; the endpoint must answer the validation handshake first. The
// answer holds the signing secret, which is shown only here.
func (a *Admin) CreateWebhook(ctx context.Context, in wire.CreateWebhookRequest) (*wire.Webhook, error) {
	return call[wire.Webhook](ctx, a.conn, request{method: http.MethodPost, path: "/admin/webhooks", body: in})
}

// Webhooks lists the subscriptions with their delivery counts.
func (a *Admin) Webhooks(ctx context.Context) (*wire.WebhookList, error) {
	return call[wire.WebhookList](ctx, a.conn, request{method: http.MethodGet, path: "/admin/webhooks"})
}

// Webhook returns one subscription.
func (a *Admin) Webhook(ctx context.Context, id string) (*wire.Webhook, error) {
	return call[wire.Webhook](ctx, a.conn, request{method: http.MethodGet, path: "/admin/webhooks/" + url.PathEscape(id)})
}

// DeleteWebhook deletes a subscription.
func (a *Admin) DeleteWebhook(ctx context.Context, id string) error {
	return a.conn.do(ctx, request{method: http.MethodDelete, path: "/admin/webhooks/" + url.PathEscape(id)}, nil)
}

// WebhookDeliveries lists a subscription's deliveries, newest first; state
// (pending, delivered, dead) and thread filter when not empty.
func (a *Admin) WebhookDeliveries(ctx context.Context, id, state, thread string, max int) (*wire.WebhookDeliveryList, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if thread != "" {
		q.Set("thread", thread)
	}
	if max > 0 {
		q.Set("maxPageSize", strconv.Itoa(max))
	}
	return call[wire.WebhookDeliveryList](ctx, a.conn, request{method: http.MethodGet,
		path: "/admin/webhooks/" + url.PathEscape(id) + "/deliveries", query: q})
}

// WebhookDelivery returns one delivery with its events and attempt log.
func (a *Admin) WebhookDelivery(ctx context.Context, id string, delivery int64) (*wire.WebhookDelivery, error) {
	return call[wire.WebhookDelivery](ctx, a.conn, request{method: http.MethodGet,
		path: "/admin/webhooks/" + url.PathEscape(id) + "/deliveries/" + strconv.FormatInt(delivery, 10)})
}

// RetryWebhookDelivery makes a dead letter pending again.
func (a *Admin) RetryWebhookDelivery(ctx context.Context, id string, delivery int64) (*wire.WebhookDelivery, error) {
	return call[wire.WebhookDelivery](ctx, a.conn, request{method: http.MethodPost,
		path: "/admin/webhooks/" + url.PathEscape(id) + "/deliveries/" + strconv.FormatInt(delivery, 10) + "/:retry"})
}

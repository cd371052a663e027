package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// WebhookCmd groups the webhook commands (admin key).
type WebhookCmd struct {
	Create     WebhookCreateCmd     `cmd:"" help:"Subscribe an endpoint to thread events (Event Grid-shaped); it must answer the validation handshake."`
	List       WebhookListCmd       `cmd:"" help:"List the subscriptions and their delivery counts."`
	Delete     WebhookDeleteCmd     `cmd:"" help:"Delete a subscription."`
	Deliveries WebhookDeliveriesCmd `cmd:"" help:"List a subscription's deliveries, newest first (--state dead: the dead letters)."`
	Delivery   WebhookDeliveryCmd   `cmd:"" help:"Show one delivery: its events and every attempt."`
	Retry      WebhookRetryCmd      `cmd:"" help:"Retry a dead letter."`
}

// WebhookCreateCmd is "webhook create".
type WebhookCreateCmd struct {
	URL        string   `arg:"" name:"url" help:"The endpoint (http or https)."`
	Schema     string   `placeholder:"SCHEMA" help:"EventGridSchema (default) or CloudEventSchemaV1_0."`
	EventTypes []string `name:"event-type" placeholder:"TYPE" help:"Deliver only these types (Microsoft.Communication.ChatMessageReceived, …); repeat or comma-separate. Default: all."`
	Secret     string   `placeholder:"whsec_…" help:"Signing secret; Herald makes one if not given (printed once)."`
}

// Run creates the subscription.
func (c *WebhookCreateCmd) Run(g *Globals) error {
	req := wire.CreateWebhookRequest{URL: c.URL, Schema: c.Schema, EventTypes: c.EventTypes, Secret: c.Secret}
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (*wire.Webhook, error) {
		return a.CreateWebhook(ctx, req)
	}, func(t *table, w *wire.Webhook) {
		printWebhooks(t, &wire.WebhookList{Value: []wire.Webhook{*w}})
		t.row("")
		t.row("SECRET", w.Secret+"   (shown once: verify the webhook-signature header with it)")
	})
}

// WebhookListCmd is "webhook list".
type WebhookListCmd struct{}

// Run lists the subscriptions.
func (c *WebhookListCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (*wire.WebhookList, error) {
		return a.Webhooks(ctx)
	}, printWebhooks)
}

func printWebhooks(t *table, l *wire.WebhookList) {
	t.row("ID", "URL", "SCHEMA", "EVENT TYPES", "PENDING", "DELIVERED", "DEAD", "CREATED")
	for _, w := range l.Value {
		types := "all"
		if len(w.EventTypes) > 0 {
			types = strings.ReplaceAll(strings.Join(w.EventTypes, ","), "Microsoft.Communication.", "")
		}
		t.row(w.ID, w.URL, w.Schema, types, strconv.Itoa(w.Deliveries["pending"]), strconv.Itoa(w.Deliveries["delivered"]),
			strconv.Itoa(w.Deliveries["dead"]), ts(w.CreatedOn))
	}
}

// WebhookDeleteCmd is "webhook delete".
type WebhookDeleteCmd struct {
	ID string `arg:"" name:"id" help:"Subscription id (w_…)."`
}

// Run deletes the subscription.
func (c *WebhookDeleteCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (done, error) {
		return done("deleted webhook " + c.ID), a.DeleteWebhook(ctx, c.ID)
	}, nil)
}

// WebhookDeliveriesCmd is "webhook deliveries".
type WebhookDeliveriesCmd struct {
	ID     string `arg:"" name:"id" help:"Subscription id (w_…)."`
	State  string `enum:",pending,delivered,dead" default:"" help:"Only deliveries in this state (pending, delivered, dead)."`
	Thread string `placeholder:"THREAD" help:"Only deliveries of this thread."`
	Max    int    `placeholder:"N" help:"At most N (default 100)."`
}

// Run lists the deliveries.
func (c *WebhookDeliveriesCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (*wire.WebhookDeliveryList, error) {
		return a.WebhookDeliveries(ctx, c.ID, c.State, c.Thread, c.Max)
	}, func(t *table, l *wire.WebhookDeliveryList) {
		t.row("ID", "THREAD", "SEQ", "STATE", "ATTEMPTS", "LAST STATUS", "NEXT ATTEMPT", "DELIVERED", "LAST ERROR")
		for _, d := range l.Value {
			t.row(strconv.FormatInt(d.ID, 10), d.ThreadID, d.SequenceID, d.State, strconv.Itoa(d.Attempts), status(d.LastStatus),
				tsp(d.NextAttemptOn), tsp(d.DeliveredOn), d.LastError)
		}
	})
}

func status(s int) string {
	if s == 0 {
		return "-"
	}
	return strconv.Itoa(s)
}

// WebhookDeliveryCmd is "webhook delivery".
type WebhookDeliveryCmd struct {
	ID       string `arg:"" name:"id" help:"Subscription id (w_…)."`
	Delivery int64  `arg:"" name:"delivery" help:"Delivery id."`
}

// Run shows the delivery.
func (c *WebhookDeliveryCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (*wire.WebhookDelivery, error) {
		return a.WebhookDelivery(ctx, c.ID, c.Delivery)
	}, func(t *table, d *wire.WebhookDelivery) {
		t.row("DELIVERY", strconv.FormatInt(d.ID, 10))
		t.row("THREAD", d.ThreadID+" seq "+d.SequenceID)
		t.row("STATE", d.State)
		t.row("RECIPIENTS", strings.Join(d.Recipients, " "))
		t.row("")
		t.row("ATTEMPT", "AT", "NODE", "STATUS", "MS", "ERROR")
		for i, a := range d.AttemptLog {
			t.row(strconv.Itoa(i+1), ts(a.At), a.Node, status(a.Status), strconv.FormatFloat(a.DurationMs, 'f', 1, 64), a.Error)
		}
	})
}

// WebhookRetryCmd is "webhook retry".
type WebhookRetryCmd struct {
	ID       string `arg:"" name:"id" help:"Subscription id (w_…)."`
	Delivery int64  `arg:"" name:"delivery" help:"Delivery id of a dead letter."`
}

// Run retries the dead letter.
func (c *WebhookRetryCmd) Run(g *Globals) error {
	return asAdmin(g, func(ctx context.Context, a *client.Admin) (done, error) {
		_, err := a.RetryWebhookDelivery(ctx, c.ID, c.Delivery)
		return done("delivery " + strconv.FormatInt(c.Delivery, 10) + " is pending again"), err
	}, nil)
}

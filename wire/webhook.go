package wire

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/herald-chat/herald"
)

// CreateWebhookRequest is the body of POST /admin/webhooks.
type CreateWebhookRequest struct {
	URL string `json:"url"`
	// Schema is EventGridSchema (default) or CloudEventSchemaV1_0.
	Schema     string   `json:"schema,omitempty"`
	EventTypes []string `json:"eventTypes,omitempty"`
	// Secret, if set, signs the deliveries (whsec_ + base64 of 16 bytes or
	// more); Herald makes one if not.
	Secret string `json:"secret,omitempty"`
}

// Webhook is a subscription. Secret is only in the answer to its creation.
type Webhook struct {
	ID          string     `json:"id"`
	URL         string     `json:"url"`
	Schema      string     `json:"schema"`
	EventTypes  []string   `json:"eventTypes"`
	Secret      string     `json:"secret,omitempty"`
	CreatedOn   time.Time  `json:"createdOn"`
	ValidatedOn *time.Time `json:"validatedOn,omitempty"`
	// Deliveries counts the subscription's deliveries by state (in
	// answers to GET).
	Deliveries map[string]int `json:"deliveries,omitempty"`
}

// WebhookList is the answer to GET /admin/webhooks.
type WebhookList struct {
	Value []Webhook `json:"value"`
}

// WebhookDelivery is one outbox row: the events one thread event made for
// one subscription, and how their delivery went.
type WebhookDelivery struct {
	ID            int64      `json:"id"`
	WebhookID     string     `json:"webhookId"`
	ThreadID      string     `json:"threadId"`
	SequenceID    string     `json:"sequenceId"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	CreatedOn     time.Time  `json:"createdOn"`
	NextAttemptOn *time.Time `json:"nextAttemptOn,omitempty"`
	DeliveredOn   *time.Time `json:"deliveredOn,omitempty"`
	LastStatus    int        `json:"lastStatus,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	Recipients    []string   `json:"recipients,omitempty"`
	// Events and AttemptLog are in the answer for one delivery.
	Events     json.RawMessage  `json:"events,omitempty"`
	AttemptLog []WebhookAttempt `json:"attemptLog,omitempty"`
}

// WebhookAttempt is one POST of a delivery.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	Node       string    `json:"node,omitempty"`
	Status     int       `json:"status,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMs float64   `json:"durationMs"`
}

// WebhookDeliveryList is a page of deliveries, newest first.
type WebhookDeliveryList struct {
	Value    []WebhookDelivery `json:"value"`
	NextLink string            `json:"nextLink,omitempty"`
}

// FromWebhook converts a subscription (without its secret).
func FromWebhook(w herald.Webhook) Webhook {
	types := w.EventTypes
	if types == nil {
		types = []string{}
	}
	return Webhook{ID: string(w.ID), URL: w.URL, Schema: string(w.Schema), EventTypes: types, CreatedOn: w.CreatedAt,
		ValidatedOn: Opt(w.ValidatedAt)}
}

// FromWebhookDelivery converts a delivery, without its events.
func FromWebhookDelivery(d herald.WebhookDelivery) WebhookDelivery {
	out := WebhookDelivery{ID: d.ID, WebhookID: string(d.Webhook), ThreadID: string(d.ThreadID),
		SequenceID: strconv.FormatInt(int64(d.Seq), 10), State: string(d.State), Attempts: d.Attempts, CreatedOn: d.CreatedAt,
		DeliveredOn: Opt(d.DeliveredAt), LastStatus: d.LastStatus, LastError: d.LastError}
	if d.State == herald.DeliveryPending {
		out.NextAttemptOn = Opt(d.NextAt)
	}
	for _, r := range d.Recipients {
		out.Recipients = append(out.Recipients, string(r))
	}
	return out
}

// FromWebhookAttempt converts an attempt.
func FromWebhookAttempt(a herald.WebhookAttempt) WebhookAttempt {
	return WebhookAttempt{At: a.At, Node: a.Node, Status: a.Status, Error: a.Error,
		DurationMs: float64(a.Duration.Microseconds()) / 1000}
}

package herald

import (
	"context"
	"encoding/json"
	"time"
)

// WebhookID identifies a webhook subscription.
type WebhookID string

// PrefixWebhook starts every WebhookID.
const PrefixWebhook = "w_"

// WebhookSchema is the envelope a webhook's events are delivered in.
type WebhookSchema string

// The schemas, as Azure Event Grid names them.
const (
	SchemaEventGrid   WebhookSchema = "EventGridSchema"
	SchemaCloudEvents WebhookSchema = "CloudEventSchemaV1_0"
)

// Webhook is a subscription: the thread events of every thread, shaped as
// ACS's Event Grid events, POSTed to URL. The secret signs each delivery.
type Webhook struct {
	ID     WebhookID
	URL    string
	Schema WebhookSchema
	// EventTypes are the Event Grid event types delivered
	// (Microsoft.Communication.ChatMessageReceived, …); empty means all.
	EventTypes []string
	Secret     string
	CreatedAt  time.Time
	// ValidatedAt is when the endpoint answered the validation handshake.
	ValidatedAt time.Time
	DeletedAt   time.Time // zero while the subscription exists
}

// Deleted reports whether the subscription was deleted.
func (w Webhook) Deleted() bool { return !w.DeletedAt.IsZero() }

// DeliveryState is where a webhook delivery stands.
type DeliveryState string

// The delivery states. A pending delivery is retried until it is delivered
// or its retry window ends, when it becomes dead (a dead letter, kept with
// its events and attempts, which an operator may retry).
const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryDead      DeliveryState = "dead"
)

// WebhookDelivery is one row of the webhook outbox: the events one thread
// event makes for one subscription (a thread-level event and the per-user
// events of its recipients), POSTed as one batch. It is written in the
// transaction that commits the thread event, so a committed event is never
// without its deliveries, whatever crashes after.
type WebhookDelivery struct {
	ID       int64
	Webhook  WebhookID
	ThreadID ThreadID
	Seq      Seq
	// Events is the batch as delivered: a JSON array in the subscription's
	// schema, built at commit (a snapshot: a later edit does not change it).
	Events json.RawMessage
	// Recipients are the users the batch has per-user events for.
	Recipients []UserID
	CreatedAt  time.Time
	State      DeliveryState
	// Attempts counts the POSTs made so far.
	Attempts int
	// NextAt is when a pending delivery is due.
	NextAt time.Time
	// LeasedUntil: a node that claimed the delivery holds it until then.
	LeasedUntil time.Time
	// LastStatus and LastError describe the latest attempt (0 and "" before
	// the first).
	LastStatus  int
	LastError   string
	DeliveredAt time.Time
}

// WebhookAttempt is one POST of a delivery: the per-subscription delivery
// log.
type WebhookAttempt struct {
	Delivery int64
	At       time.Time
	Node     string
	Status   int // the HTTP status; 0 if none was received
	Error    string
	Duration time.Duration
}

// WebhookDeliveryFilter selects webhook deliveries.
type WebhookDeliveryFilter struct {
	Webhook WebhookID // empty: every subscription
	Thread  ThreadID  // empty: every thread
	// Seq, if > 0, keeps the deliveries of one thread event.
	Seq   Seq
	State DeliveryState // empty: every state
	// Before, if > 0, keeps deliveries with ID < Before (paging, newest
	// first).
	Before int64
	Limit  int
}

// Outbox turns a transaction's thread events into webhook deliveries,
// written by the same transaction. The service calls Enqueue last inside
// every transaction that produced signals (it must not keep tx), and Wake
// after the commit when Enqueue wrote any.
type Outbox interface {
	Enqueue(ctx context.Context, tx Tx, signals []Signal) (int, error)
	Wake()
}

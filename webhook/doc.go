// Package webhook delivers thread events to subscribers' HTTP endpoints,
// shaped as Azure Communication Services' Event Grid chat events, in the
// Event Grid schema or CloudEvents 1.0, signed with HMAC-SHA256 (the
// Standard Webhooks headers).
//
// Delivery is at least once and survives restarts: the service calls
// Dispatcher.Enqueue inside every transaction that commits thread events,
// so the outbox rows (herald.WebhookDelivery) commit with the events. Every
// node runs a Dispatcher; each claims due rows under a lease, so the nodes
// share the work without handing one row to two of them while the lease
// holds. A failed POST is retried on Event Grid's schedule for 24 hours,
// then kept as a dead letter; every attempt is logged, and the doctor reads
// the log.
package webhook

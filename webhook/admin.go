package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/herald-chat/herald"
)

// Spec is what a new subscription asks for.
type Spec struct {
	URL    string
	Schema herald.WebhookSchema // SchemaEventGrid if empty
	// EventTypes filters the events (EventTypes lists them); empty: all.
	EventTypes []string
	// Secret signs the deliveries; a fresh one if empty.
	Secret string
}

// maxURL bounds a subscription's URL.
const maxURL = 2048

func invalid(target, format string, args ...any) error {
	return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, format, args...).WithTarget(target)
}

// check validates spec and fills its defaults.
func (s *Spec) check() error {
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		return herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField, "url is required").WithTarget("url")
	case len(s.URL) > maxURL:
		return invalid("url", "url is longer than %d bytes", maxURL)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return invalid("url", "url must be an absolute http or https URL, got %q", s.URL)
	case u.Fragment != "":
		return invalid("url", "url must not have a fragment")
	}
	switch s.Schema {
	case "":
		s.Schema = herald.SchemaEventGrid
	case herald.SchemaEventGrid, herald.SchemaCloudEvents:
	default:
		return invalid("schema", "schema must be %s or %s, got %q", herald.SchemaEventGrid, herald.SchemaCloudEvents, s.Schema)
	}
	known := EventTypes()
	var types []string
	for _, t := range s.EventTypes {
		if !slices.Contains(known, t) {
			return invalid("eventTypes", "unknown event type %q; the types are: %s", t, strings.Join(known, ", "))
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	s.EventTypes = types
	if s.Secret == "" {
		s.Secret = NewSecret()
	} else if _, err := secretKey(s.Secret); err != nil {
		return invalid("secret", "%v", err)
	}
	return nil
}

// Create validates spec, makes the endpoint answer the validation
// handshake of its schema (Event Grid's SubscriptionValidationEvent, or
// the CloudEvents webhook OPTIONS request), and stores the subscription.
// Nothing is stored when the handshake fails. The secret is in the answer
// only; List and Get leave it out.
func (d *Dispatcher) Create(ctx context.Context, spec Spec) (herald.Webhook, error) {
	if err := spec.check(); err != nil {
		return herald.Webhook{}, err
	}
	if err := d.handshake(ctx, spec); err != nil {
		return herald.Webhook{}, err
	}
	now := d.clock.Now()
	w := herald.Webhook{ID: herald.WebhookID(d.ids.New(herald.PrefixWebhook)), URL: spec.URL, Schema: spec.Schema,
		EventTypes: spec.EventTypes, Secret: spec.Secret, CreatedAt: now, ValidatedAt: now}
	if err := d.store.Update(ctx, func(tx herald.Tx) error { return tx.CreateWebhook(ctx, w) }); err != nil {
		return herald.Webhook{}, err
	}
	if err := d.Load(ctx); err != nil {
		d.log.Warn("webhook: cannot reread the subscriptions; the new one is used after the next refresh", "err", err)
	}
	return w, nil
}

// handshake runs the schema's validation handshake against spec.URL.
func (d *Dispatcher) handshake(ctx context.Context, spec Spec) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fail := func(format string, args ...any) error {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonWebhookValidationFailed, "the endpoint did not validate the subscription: "+format, args...).WithTarget("url")
	}
	if spec.Schema == herald.SchemaCloudEvents {
		origin := "herald"
		req, err := http.NewRequestWithContext(ctx, http.MethodOptions, spec.URL, nil)
		if err != nil {
			return fail("%v", err)
		}
		req.Header.Set("WebHook-Request-Origin", origin)
		resp, err := d.opt.Client.Do(req)
		if err != nil {
			return fail("%v", err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fail("OPTIONS answered %s, want 200 with WebHook-Allowed-Origin", resp.Status)
		}
		if got := resp.Header.Get("WebHook-Allowed-Origin"); got != origin && got != "*" {
			return fail("OPTIONS answered WebHook-Allowed-Origin %q, want %q or *", got, origin)
		}
		return nil
	}
	code := d.ids.New("")
	body, err := json.Marshal([]gridEvent{{ID: eventID("validation", code), Topic: d.opt.Topic, EventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
		EventTime: d.clock.Now(), Data: map[string]any{"validationCode": code, "validationUrl": ""}, DataVersion: "2", MetadataVersion: "1"}})
	if err != nil {
		return fail("%v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, spec.URL, bytes.NewReader(body))
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("aeg-event-type", "SubscriptionValidation")
	resp, err := d.opt.Client.Do(req)
	if err != nil {
		return fail("%v", err)
	}
	defer resp.Body.Close()
	var answer struct {
		ValidationResponse string `json:"validationResponse"`
	}
	if resp.StatusCode != http.StatusOK {
		return fail("the validation event was answered %s, want 200 with {\"validationResponse\": <validationCode>}", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&answer); err != nil || answer.ValidationResponse != code {
		return fail("the answer to the validation event did not carry {\"validationResponse\": <validationCode>}")
	}
	return nil
}

// Delete deletes a subscription: its pending deliveries become dead
// letters when they are next due.
func (d *Dispatcher) Delete(ctx context.Context, id herald.WebhookID) error {
	err := d.store.Update(ctx, func(tx herald.Tx) error { return tx.DeleteWebhook(ctx, id, d.clock.Now()) })
	if herald.IsNotFound(err) {
		return notFound(id)
	}
	if err != nil {
		return err
	}
	if err := d.Load(ctx); err != nil {
		d.log.Warn("webhook: cannot reread the subscriptions; the deleted one is dropped after the next refresh", "err", err)
	}
	return nil
}

func notFound(id herald.WebhookID) error {
	return herald.Errorf(herald.CodeNotFound, herald.ReasonWebhookNotFound, "no webhook subscription %s", id).WithTarget("id")
}

// Get returns a subscription that is not deleted.
func (d *Dispatcher) Get(ctx context.Context, id herald.WebhookID) (herald.Webhook, error) {
	w, err := d.store.GetWebhook(ctx, id)
	if herald.IsNotFound(err) || (err == nil && w.Deleted()) {
		return herald.Webhook{}, notFound(id)
	}
	return w, err
}

// Delivery returns one delivery of subscription id, with its attempts.
func (d *Dispatcher) Delivery(ctx context.Context, id herald.WebhookID, delivery int64) (herald.WebhookDelivery, []herald.WebhookAttempt, error) {
	row, err := d.store.GetWebhookDelivery(ctx, delivery)
	if herald.IsNotFound(err) || (err == nil && row.Webhook != id) {
		return herald.WebhookDelivery{}, nil, herald.Errorf(herald.CodeNotFound, herald.ReasonWebhookDeliveryNotFound,
			"webhook %s has no delivery %d", id, delivery).WithTarget("delivery")
	}
	if err != nil {
		return herald.WebhookDelivery{}, nil, err
	}
	attempts, err := d.store.ListWebhookAttempts(ctx, delivery)
	return row, attempts, err
}

// Retry makes a dead letter pending again, due now, with a new retention
// window.
func (d *Dispatcher) Retry(ctx context.Context, id herald.WebhookID, delivery int64) (herald.WebhookDelivery, error) {
	if _, err := d.Get(ctx, id); err != nil {
		return herald.WebhookDelivery{}, err
	}
	row, _, err := d.Delivery(ctx, id, delivery)
	if err != nil {
		return herald.WebhookDelivery{}, err
	}
	if row.State != herald.DeliveryDead {
		return herald.WebhookDelivery{}, herald.Errorf(herald.CodeConflict, herald.ReasonWebhookDeliveryNotDead,
			"delivery %d is %s: only a dead letter can be retried", delivery, row.State).WithTarget("delivery")
	}
	now := d.clock.Now()
	row.State, row.NextAt, row.CreatedAt, row.LeasedUntil = herald.DeliveryPending, now, now, time.Time{}
	err = d.store.Update(ctx, func(tx herald.Tx) error { return tx.UpdateWebhookDelivery(ctx, row) })
	if err != nil {
		return herald.WebhookDelivery{}, err
	}
	d.Wake()
	return row, nil
}

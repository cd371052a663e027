package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-chat/herald"
)

// Options tune a Dispatcher; the zero value of each field picks its default.
type Options struct {
	// Node names this node in the attempt log.
	Node string
	// Topic is the events' topic (Event Grid) or source (CloudEvents);
	// "/herald/chat" by default.
	Topic string
	// Client makes the POSTs; by default one with a 30 s timeout, as Event
	// Grid waits.
	Client *http.Client
	Log    *slog.Logger
	// Observer counts attempts (herald_webhook_attempt_seconds).
	Observer herald.Observer
	// Poll is how often a node looks for due deliveries when nothing woke
	// it (1 s); Refresh how often it rereads the subscriptions, which other
	// nodes may have changed (5 s); Lease how long a claimed delivery is
	// held (60 s: longer than a POST may take).
	Poll, Refresh, Lease time.Duration
	// Workers POST at once (4); Batch deliveries are claimed at a time (16).
	Workers, Batch int
}

// Retention is how long a delivery is retried before it becomes a dead
// letter, as in Event Grid.
const Retention = 24 * time.Hour

// schedule is the wait after each failed attempt, Event Grid's: 10 s,
// 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every 12 h until
// Retention ends.
var schedule = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour}

// backoff returns the wait after the attempts-th failed attempt.
func backoff(attempts int) time.Duration {
	return schedule[min(max(attempts, 1), len(schedule))-1]
}

// Dispatcher writes the outbox (Enqueue, inside the service's
// transactions) and delivers it (Run). It also answers the admin
// operations on subscriptions.
type Dispatcher struct {
	store herald.Store
	clock herald.Clock
	ids   herald.IDs
	opt   Options
	log   *slog.Logger
	obs   herald.Observer

	hooks atomic.Pointer[[]herald.Webhook] // the subscriptions Enqueue writes for
	wake  chan struct{}

	storeFailures atomic.Int64 // outbox writes that failed (retried under a new lease)
}

// New returns a Dispatcher over store. Call Load before the service
// commits events, and Run to deliver.
func New(store herald.Store, clock herald.Clock, ids herald.IDs, opt Options) *Dispatcher {
	if opt.Topic == "" {
		opt.Topic = "/herald/chat"
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Refresh <= 0 {
		opt.Refresh = 5 * time.Second
	}
	if opt.Lease <= 0 {
		opt.Lease = time.Minute
	}
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.Batch <= 0 {
		opt.Batch = 16
	}
	d := &Dispatcher{store: store, clock: clock, ids: ids, opt: opt, log: opt.Log, obs: opt.Observer, wake: make(chan struct{}, 1)}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.obs == nil {
		d.obs = herald.NoObserver{}
	}
	d.hooks.Store(&[]herald.Webhook{})
	return d
}

var _ herald.Outbox = (*Dispatcher)(nil)

// Load rereads the subscriptions.
func (d *Dispatcher) Load(ctx context.Context) error {
	hs, err := d.store.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	d.hooks.Store(&hs)
	return nil
}

// StoreFailures returns how many outbox writes failed.
func (d *Dispatcher) StoreFailures() int64 { return d.storeFailures.Load() }

// Enqueue writes, in tx, one delivery per subscription and thread event
// that has events of the subscription's types. With no subscriptions it
// costs an atomic load.
func (d *Dispatcher) Enqueue(ctx context.Context, tx herald.Tx, signals []herald.Signal) (int, error) {
	hooks := *d.hooks.Load()
	if len(hooks) == 0 {
		return 0, nil
	}
	created := map[herald.ThreadID]bool{}
	for _, s := range signals {
		if s.Event != nil && s.Event.Type == herald.EventThreadCreated {
			created[s.ThreadID] = true
		}
	}
	now := d.clock.Now()
	var rows []herald.WebhookDelivery
	for _, s := range signals {
		if s.Kind != herald.SignalEvent || s.Event == nil {
			continue
		}
		// A new thread's topic is part of ChatThreadCreated, as in ACS.
		if s.Event.Type == herald.EventThreadPropertiesUpdated && created[s.ThreadID] {
			continue
		}
		evs := build(s, d.names(ctx, tx, s.ThreadID))
		for _, h := range hooks {
			kept, recipients := filter(evs, h.EventTypes)
			if len(kept) == 0 {
				continue
			}
			body, err := encode(h.Schema, d.opt.Topic, kept)
			if err != nil {
				return 0, fmt.Errorf("encode webhook events: %w", err)
			}
			rows = append(rows, herald.WebhookDelivery{Webhook: h.ID, ThreadID: s.ThreadID, Seq: s.Seq, Events: body,
				Recipients: recipients, CreatedAt: now, State: herald.DeliveryPending, NextAt: now})
		}
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if err := tx.CreateWebhookDeliveries(ctx, rows); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// names returns a lookup of participants' display names in tx.
func (d *Dispatcher) names(ctx context.Context, tx herald.Tx, thread herald.ThreadID) names {
	seen := map[herald.UserID]string{}
	return func(u herald.UserID) string {
		if n, ok := seen[u]; ok {
			return n
		}
		p, err := tx.GetParticipant(ctx, thread, u)
		seen[u] = p.DisplayName
		if err != nil {
			seen[u] = ""
		}
		return seen[u]
	}
}

// filter keeps the events of types (all if types is empty) and returns
// the recipients of the per-user ones kept.
func filter(evs []event, types []string) ([]event, []herald.UserID) {
	var kept []event
	var recipients []herald.UserID
	seen := map[herald.UserID]bool{}
	for _, e := range evs {
		if len(types) > 0 && !contains(types, e.Type) {
			continue
		}
		kept = append(kept, e)
		if e.Recipient != "" && !seen[e.Recipient] {
			seen[e.Recipient] = true
			recipients = append(recipients, e.Recipient)
		}
	}
	return kept, recipients
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Wake makes Run look for due deliveries now (the service calls it after
// a commit that enqueued some).
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	var refreshed time.Time
	for ctx.Err() == nil {
		if now := d.clock.Now(); now.Sub(refreshed) >= d.opt.Refresh || now.Before(refreshed) {
			if err := d.Load(ctx); err != nil && ctx.Err() == nil {
				d.obs.StoreError("webhook")
				d.log.Warn("webhook: cannot read the subscriptions; using the ones read before", "err", err)
			}
			refreshed = now
		}
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.obs.StoreError("webhook")
			d.log.Warn("webhook: cannot claim deliveries", "err", err)
		}
		if n == d.opt.Batch && err == nil {
			continue // more may be due
		}
		t := d.clock.NewTimer(d.opt.Poll)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-t.C():
		}
		t.Stop()
	}
}

// RunOnce claims the deliveries due now and makes one attempt at each; it
// returns how many it claimed.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	now := d.clock.Now()
	var claimed []herald.WebhookDelivery
	err := d.store.Update(ctx, func(tx herald.Tx) error {
		var err error
		claimed, err = tx.ClaimWebhookDeliveries(ctx, now, now.Add(d.opt.Lease), d.opt.Batch)
		return err
	})
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, d.opt.Workers)
	var wg sync.WaitGroup
	for _, row := range claimed {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d.attempt(ctx, row)
		})
	}
	wg.Wait()
	return len(claimed), nil
}

// attempt POSTs one delivery and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, row herald.WebhookDelivery) {
	hook, err := d.store.GetWebhook(ctx, row.Webhook)
	start := d.clock.Now()
	a := herald.WebhookAttempt{Delivery: row.ID, At: start, Node: d.opt.Node}
	switch {
	case herald.IsNotFound(err) || (err == nil && hook.Deleted()):
		a.Error = "the subscription was deleted"
		d.finish(ctx, row, a, herald.DeliveryDead)
		return
	case err != nil:
		d.obs.StoreError("webhook")
		d.log.Warn("webhook: cannot read the subscription; the delivery is retried when its lease ends",
			"webhook", row.Webhook, "delivery", row.ID, "err", err)
		return
	}
	a.Status, a.Error = d.post(ctx, hook, row)
	a.Duration = d.clock.Now().Sub(start)
	state := herald.DeliveryPending
	switch {
	case a.Status >= 200 && a.Status < 300:
		state = herald.DeliveryDelivered
	case a.Status == http.StatusBadRequest || a.Status == http.StatusRequestEntityTooLarge:
		state = herald.DeliveryDead // the endpoint refuses these events: retrying cannot help (as in Event Grid)
	}
	d.finish(context.WithoutCancel(ctx), row, a, state) // a POST cut short by a shutdown is still recorded
}

// finish stores an attempt's outcome: delivered, dead, or pending again
// after the backoff (dead when that would pass Retention).
func (d *Dispatcher) finish(ctx context.Context, row herald.WebhookDelivery, a herald.WebhookAttempt, state herald.DeliveryState) {
	row.Attempts++
	row.LastStatus, row.LastError, row.LeasedUntil = a.Status, a.Error, time.Time{}
	result := "delivered"
	switch state {
	case herald.DeliveryDelivered:
		row.DeliveredAt = a.At.Add(a.Duration)
	case herald.DeliveryPending:
		row.NextAt = a.At.Add(backoff(row.Attempts))
		result = "retry"
		if row.NextAt.Sub(row.CreatedAt) > Retention {
			state, result = herald.DeliveryDead, "dead"
		}
	default:
		result = "dead"
	}
	row.State = state
	d.obs.WebhookAttempt(result, a.Duration)
	err := d.store.Update(ctx, func(tx herald.Tx) error {
		if err := tx.CreateWebhookAttempt(ctx, a); err != nil {
			return err
		}
		return tx.UpdateWebhookDelivery(ctx, row)
	})
	if err != nil {
		d.storeFailures.Add(1)
		d.obs.StoreError("webhook")
		d.log.Warn("webhook: cannot record an attempt; the delivery is retried when its lease ends",
			"webhook", row.Webhook, "delivery", row.ID, "status", a.Status, "err", err)
		return
	}
	if state == herald.DeliveryDead {
		d.log.Warn("webhook: delivery is a dead letter", "webhook", row.Webhook, "delivery", row.ID,
			"thread", row.ThreadID, "seq", row.Seq, "attempts", row.Attempts, "status", a.Status, "err", a.Error)
	}
}

// maxAnswer is how much of an endpoint's answer is read.
const maxAnswer = 64 << 10

// post makes one POST; it returns the status (0 if none) and, for a
// failure, what went wrong.
func (d *Dispatcher) post(ctx context.Context, hook herald.Webhook, row herald.WebhookDelivery) (int, string) {
	id := "wd_" + strconv.FormatInt(row.ID, 10)
	now := d.clock.Now()
	sig, err := Sign(hook.Secret, id, now, row.Events)
	if err != nil {
		return 0, "cannot sign: " + err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(row.Events))
	if err != nil {
		return 0, err.Error()
	}
	if hook.Schema == herald.SchemaCloudEvents {
		req.Header.Set("Content-Type", "application/cloudevents-batch+json; charset=utf-8")
	} else {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("aeg-event-type", "Notification")
	req.Header.Set("aeg-subscription-name", string(hook.ID))
	req.Header.Set("aeg-delivery-count", strconv.Itoa(row.Attempts))
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	req.Header.Set("User-Agent", "herald-webhook/1")
	resp, err := d.opt.Client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, "the endpoint answered " + resp.Status
}

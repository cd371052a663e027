package webhook_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
	"github.com/herald-chat/herald/webhook"
)

// receiver is a webhook endpoint: it answers the validation handshakes,
// checks every delivery's signature, and records the events it accepted.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	status func(n int) int // the answer to the n-th delivery POST (from 1)
	posts  int
	events map[string]map[string]any // by event id
	types  map[string]int
	dupes  int
	ctypes []string
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, events: map[string]map[string]any{}, types: map[string]int{}, status: func(int) int { return 200 }}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodOptions { // CloudEvents abuse protection
		w.Header().Set("WebHook-Allowed-Origin", req.Header.Get("WebHook-Request-Origin"))
		return
	}
	body, _ := io.ReadAll(req.Body)
	var batch []map[string]any
	if err := json.Unmarshal(body, &batch); err != nil {
		r.t.Errorf("receiver: body is not a JSON array: %v", err)
		w.WriteHeader(400)
		return
	}
	if req.Header.Get("aeg-event-type") == "SubscriptionValidation" {
		code := batch[0]["data"].(map[string]any)["validationCode"]
		json.NewEncoder(w).Encode(map[string]any{"validationResponse": code})
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhook.Verify(r.secret, req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"),
		req.Header.Get("webhook-signature"), body); err != nil {
		r.t.Errorf("receiver: %v", err)
	}
	r.posts++
	if st := r.status(r.posts); st != 200 {
		w.WriteHeader(st)
		return
	}
	r.ctypes = append(r.ctypes, req.Header.Get("Content-Type"))
	for _, e := range batch {
		id, _ := e["id"].(string)
		if _, seen := r.events[id]; seen {
			r.dupes++
			continue
		}
		r.events[id] = e
		typ, _ := e["eventType"].(string)
		if typ == "" {
			typ, _ = e["type"].(string) // CloudEvents
		}
		r.types[typ]++
	}
}

type fixture struct {
	svc   *service.Service
	store herald.Store
	clock *clocktest.Clock
	d     *webhook.Dispatcher
}

func newFixture(t testing.TB) *fixture {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
	d := webhook.New(store, clock, herald.RandomIDs{}, webhook.Options{Node: "n1"})
	limits := service.DefaultLimits()
	limits.WriteRate = 0
	svc, err := service.New(store, token.New(key, "", "", clock), inmem.New(), clock, herald.RandomIDs{}, limits, service.WithOutbox(d))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, store: store, clock: clock, d: d}
}

func (f *fixture) caller(t testing.TB) service.Caller {
	id, tok, err := f.svc.CreateIdentity(t.Context(), service.NewIdentity{Scopes: []herald.Scope{herald.ScopeChat}})
	if err != nil {
		t.Fatal(err)
	}
	return service.Caller{User: id.ID, Token: tok.Token}
}

func (f *fixture) subscribe(t testing.TB, r *receiver, spec webhook.Spec) herald.Webhook {
	spec.URL = r.srv.URL + "/hook"
	w, err := f.d.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	r.secret = w.Secret
	return w
}

// sendOne sends one message in a new thread of a new user.
func (f *fixture) sendOne(t testing.TB) {
	alice := f.caller(t)
	th, _, err := f.svc.CreateThread(t.Context(), alice, service.NewThread{Topic: "x"})
	must(t, err)
	_, err = f.svc.SendMessage(t.Context(), alice, th.ID, service.NewMessage{Content: "hi"})
	must(t, err)
}

// drain runs the dispatcher until nothing is due.
func (f *fixture) drain(t *testing.T) {
	for range 100 {
		n, err := f.d.RunOnce(t.Context())
		if err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("RunOnce kept finding due deliveries")
}

// everything makes every kind of thread event: create (with a topic),
// send, edit, delete, add, remove, topic change, thread deletion.
func everything(t *testing.T, f *fixture) (alice, bob, carol service.Caller, thread herald.ThreadID) {
	ctx := t.Context()
	alice, bob, carol = f.caller(t), f.caller(t), f.caller(t)
	th, refused, err := f.svc.CreateThread(ctx, alice, service.NewThread{Topic: "launch",
		Participants: []service.NewParticipant{{User: bob.User, DisplayName: "Bob"}}})
	if err != nil || len(refused) > 0 {
		t.Fatalf("CreateThread: %v %v", err, refused)
	}
	m, err := f.svc.SendMessage(ctx, alice, th.ID, service.NewMessage{Content: "hello bob", SenderDisplayName: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	text := "hello, bob"
	must(t, f.svc.EditMessage(ctx, alice, th.ID, m.ID, service.MessageUpdate{Content: &text}))
	must(t, f.svc.DeleteMessage(ctx, alice, th.ID, m.ID))
	if refused, err := f.svc.AddParticipants(ctx, alice, th.ID, []service.NewParticipant{{User: carol.User, DisplayName: "Carol"}}); err != nil || len(refused) > 0 {
		t.Fatalf("AddParticipants: %v %v", err, refused)
	}
	must(t, f.svc.RemoveParticipant(ctx, alice, th.ID, carol.User))
	topic := "launch day"
	must(t, f.svc.UpdateThread(ctx, alice, th.ID, service.ThreadUpdate{Topic: &topic}))
	must(t, f.svc.DeleteThread(ctx, alice, th.ID))
	return alice, bob, carol, th.ID
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestEveryEventType(t *testing.T) {
	for _, schema := range []herald.WebhookSchema{herald.SchemaEventGrid, herald.SchemaCloudEvents} {
		t.Run(string(schema), func(t *testing.T) {
			f := newFixture(t)
			r := newReceiver(t)
			f.subscribe(t, r, webhook.Spec{Schema: schema})
			_, bob, _, thread := everything(t, f)
			f.drain(t)

			r.mu.Lock()
			defer r.mu.Unlock()
			for _, typ := range webhook.EventTypes() {
				if r.types[typ] == 0 {
					t.Errorf("no %s event arrived (got %v)", typ, r.types)
				}
			}
			// Per-user events go to everyone but the actor: Bob gets one
			// ChatMessageReceived; Alice, who sent it, none.
			if got := r.types[webhook.TypeMessageReceived]; got != 1 {
				t.Errorf("ChatMessageReceived: %d events, want 1 (Bob's)", got)
			}
			if got := r.types[webhook.TypeThreadPropertiesUpdated]; got != 1 {
				t.Errorf("ChatThreadPropertiesUpdated: %d events, want 1 (the change, not the creation's topic)", got)
			}
			for _, e := range r.events {
				typ, _ := e["eventType"].(string)
				if schema == herald.SchemaCloudEvents {
					typ, _ = e["type"].(string)
					if e["specversion"] != "1.0" || e["source"] == nil {
						t.Errorf("not a CloudEvent: %v", e)
					}
				}
				if typ != webhook.TypeMessageReceived {
					continue
				}
				data := e["data"].(map[string]any)
				recipient := data["recipientCommunicationIdentifier"].(map[string]any)["rawId"]
				if data["messageBody"] != "hello bob" || data["threadId"] != string(thread) || recipient != string(bob.User) ||
					data["senderDisplayName"] != "Alice" || data["type"] != "Text" {
					t.Errorf("ChatMessageReceived data: %v", data)
				}
				if subject, _ := e["subject"].(string); subject == "" {
					t.Errorf("ChatMessageReceived without a subject: %v", e)
				}
			}
			want := "application/json; charset=utf-8"
			if schema == herald.SchemaCloudEvents {
				want = "application/cloudevents-batch+json; charset=utf-8"
			}
			for _, ct := range r.ctypes {
				if ct != want {
					t.Errorf("Content-Type %q, want %q", ct, want)
				}
			}
		})
	}
}

func TestEventTypeFilter(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	f.subscribe(t, r, webhook.Spec{EventTypes: []string{webhook.TypeMessageReceived, webhook.TypeMessageReceived}})
	everything(t, f)
	f.drain(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.types) != 1 || r.types[webhook.TypeMessageReceived] != 1 {
		t.Errorf("a subscription to ChatMessageReceived got %v", r.types)
	}
}

func TestRetriesThenDelivers(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	r.status = func(n int) int {
		if n <= 3 {
			return 500
		}
		return 200
	}
	w := f.subscribe(t, r, webhook.Spec{EventTypes: []string{webhook.TypeMessageReceivedInThread}})
	f.sendOne(t)

	f.drain(t) // first attempt: 500
	for i, wait := range []time.Duration{10 * time.Second, 30 * time.Second, time.Minute} {
		f.clock.Advance(wait - time.Millisecond)
		f.drain(t)
		if r.posts != i+1 {
			t.Fatalf("a retry came %v early: %d posts", time.Millisecond, r.posts)
		}
		f.clock.Advance(time.Millisecond)
		f.drain(t)
	}
	if r.posts != 4 || len(r.events) != 1 {
		t.Fatalf("after the backoff: %d posts, %d events; want 4 posts (3 refused), 1 event", r.posts, len(r.events))
	}
	ds, err := f.store.ListWebhookDeliveries(t.Context(), herald.WebhookDeliveryFilter{Webhook: w.ID})
	must(t, err)
	if len(ds) != 1 || ds[0].State != herald.DeliveryDelivered || ds[0].Attempts != 4 {
		t.Fatalf("delivery: %+v, want delivered after 4 attempts", ds)
	}
	_, attempts, err := f.d.Delivery(t.Context(), w.ID, ds[0].ID)
	must(t, err)
	if len(attempts) != 4 || attempts[0].Status != 500 || attempts[3].Status != 200 || attempts[0].Node != "n1" {
		t.Errorf("attempt log: %+v", attempts)
	}
}

func TestDeadLetterAndRetry(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	failing := true
	r.status = func(int) int {
		if failing {
			return 503
		}
		return 200
	}
	w := f.subscribe(t, r, webhook.Spec{EventTypes: []string{webhook.TypeMessageReceivedInThread}})
	f.sendOne(t)
	var ds []herald.WebhookDelivery
	var err error
	for range 40 { // each attempt when it is due
		f.drain(t)
		ds, err = f.store.ListWebhookDeliveries(t.Context(), herald.WebhookDeliveryFilter{Webhook: w.ID})
		must(t, err)
		if len(ds) != 1 || ds[0].State != herald.DeliveryPending {
			break
		}
		f.clock.Set(ds[0].NextAt)
	}
	if len(ds) != 1 || ds[0].State != herald.DeliveryDead {
		t.Fatalf("after 24 h of 503: %+v, want one dead letter", ds)
	}
	if ds[0].Attempts != 11 || ds[0].LastStatus != 503 {
		t.Errorf("dead letter: %d attempts, last status %d; want 11 (Event Grid's schedule within 24 h), 503", ds[0].Attempts, ds[0].LastStatus)
	}
	if _, err := f.d.Retry(t.Context(), w.ID, ds[0].ID+1); herald.ErrorReason(err) != herald.ReasonWebhookDeliveryNotFound {
		t.Errorf("Retry of a missing delivery: %v", err)
	}
	failing = false
	if _, err := f.d.Retry(t.Context(), w.ID, ds[0].ID); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if _, err := f.d.Retry(t.Context(), w.ID, ds[0].ID); herald.ErrorReason(err) != herald.ReasonWebhookDeliveryNotDead {
		t.Errorf("Retry of a pending delivery: %v, want %s", err, herald.ReasonWebhookDeliveryNotDead)
	}
	f.drain(t)
	if len(r.events) != 1 {
		t.Errorf("after Retry: %d events arrived, want 1", len(r.events))
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	ctx := t.Context()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Write([]byte(`{"validationResponse":"wrong"}`))
	}))
	defer bad.Close()
	for _, tc := range []struct {
		spec   webhook.Spec
		reason herald.Reason
		target string
	}{
		{webhook.Spec{}, herald.ReasonMissingField, "url"},
		{webhook.Spec{URL: "ftp://example.test/x"}, herald.ReasonInvalidField, "url"},
		{webhook.Spec{URL: "/relative"}, herald.ReasonInvalidField, "url"},
		{webhook.Spec{URL: r.srv.URL, Schema: "Custom"}, herald.ReasonInvalidField, "schema"},
		{webhook.Spec{URL: r.srv.URL, EventTypes: []string{"Microsoft.Communication.CallStarted"}}, herald.ReasonInvalidField, "eventTypes"},
		{webhook.Spec{URL: r.srv.URL, Secret: "whsec_short"}, herald.ReasonInvalidField, "secret"},
		{webhook.Spec{URL: bad.URL}, herald.ReasonWebhookValidationFailed, "url"},
		{webhook.Spec{URL: bad.URL, Schema: herald.SchemaCloudEvents}, herald.ReasonWebhookValidationFailed, "url"},
		{webhook.Spec{URL: "http://127.0.0.1:1/closed"}, herald.ReasonWebhookValidationFailed, "url"},
	} {
		_, err := f.d.Create(ctx, tc.spec)
		var e *herald.Error
		if !errorsAs(err, &e) || e.Reason != tc.reason || e.Target != tc.target {
			t.Errorf("Create(%+v): %v, want %s on %s", tc.spec, err, tc.reason, tc.target)
		}
	}
	if hs, err := f.store.ListWebhooks(ctx); err != nil || len(hs) != 0 {
		t.Errorf("refused subscriptions were stored: %v %v", hs, err)
	}
	if err := f.d.Delete(ctx, "w_missing"); herald.ErrorReason(err) != herald.ReasonWebhookNotFound {
		t.Errorf("Delete of a missing subscription: %v", err)
	}
}

func TestDeletedSubscription(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	w := f.subscribe(t, r, webhook.Spec{})
	alice := f.caller(t)
	_, _, err := f.svc.CreateThread(t.Context(), alice, service.NewThread{Topic: "x"})
	must(t, err)
	must(t, f.d.Delete(t.Context(), w.ID))
	f.drain(t)
	ds, err := f.store.ListWebhookDeliveries(t.Context(), herald.WebhookDeliveryFilter{Webhook: w.ID})
	must(t, err)
	if len(ds) != 1 || ds[0].State != herald.DeliveryDead || ds[0].LastError == "" || r.posts != 0 {
		t.Errorf("the delivery of a deleted subscription: %+v, %d posts; want dead, not posted", ds, r.posts)
	}
	// Later events make no deliveries.
	_, _, err = f.svc.CreateThread(t.Context(), alice, service.NewThread{Topic: "y"})
	must(t, err)
	if ds, _ := f.store.ListWebhookDeliveries(t.Context(), herald.WebhookDeliveryFilter{}); len(ds) != 1 {
		t.Errorf("deliveries after the deletion: %d, want 1", len(ds))
	}
}

// TestNoSubscriptionsNoRows: without a subscription the outbox writes
// nothing.
func TestNoSubscriptionsNoRows(t *testing.T) {
	f := newFixture(t)
	everything(t, f)
	ds, err := f.store.ListWebhookDeliveries(context.Background(), herald.WebhookDeliveryFilter{})
	if err != nil || len(ds) != 0 {
		t.Errorf("deliveries without a subscription: %d, %v", len(ds), err)
	}
}

func errorsAs(err error, target **herald.Error) bool { return errors.As(err, target) }

// TestDoctorReadsTheWebhookLog: for a user whose devices did not get a
// message, the doctor says whether a webhook got the user's event — a
// different path, which support must not take for the device's.
func TestDoctorReadsTheWebhookLog(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	w := f.subscribe(t, r, webhook.Spec{EventTypes: []string{webhook.TypeMessageReceived}})
	alice, bob := f.caller(t), f.caller(t)
	th, _, err := f.svc.CreateThread(t.Context(), alice, service.NewThread{Topic: "x", Participants: []service.NewParticipant{{User: bob.User}}})
	must(t, err)
	m, err := f.svc.SendMessage(t.Context(), alice, th.ID, service.NewMessage{Content: "hi"})
	must(t, err)
	f.drain(t)

	doc := doctor.New(f.store, f.clock)
	rep, err := doc.Diagnose(t.Context(), doctor.Query{User: bob.User, Thread: th.ID, Message: m.ID})
	must(t, err)
	if len(rep.Webhooks) != 1 || rep.Webhooks[0].WebhookID != string(w.ID) || !rep.Webhooks[0].ForUser ||
		rep.Webhooks[0].State != string(herald.DeliveryDelivered) {
		t.Fatalf("report webhooks: %+v, want one delivered delivery with Bob's event", rep.Webhooks)
	}
	if rep.Status == doctor.StatusDelivered || !strings.Contains(rep.Summary, "webhook "+string(w.ID)+" did get this user's event") {
		t.Errorf("summary %q (status %s): want not delivered to the device, and the webhook named", rep.Summary, rep.Status)
	}
	var text strings.Builder
	must(t, doctor.WriteText(&text, rep))
	if !strings.Contains(text.String(), "Webhooks (server-side deliveries") {
		t.Errorf("text report without the webhook section:\n%s", text.String())
	}
	// Alice sent it: her per-user event is not in the batch.
	rep, err = doc.Diagnose(t.Context(), doctor.Query{User: alice.User, Thread: th.ID, Message: m.ID})
	must(t, err)
	if len(rep.Webhooks) != 1 || rep.Webhooks[0].ForUser {
		t.Errorf("the sender's report: %+v, want the delivery without her event", rep.Webhooks)
	}
}

package storetest

import (
	"testing"

	"github.com/herald-chat/herald"
)

// testPrune checks that PruneEvidence deletes exactly the evidence older
// than the cut-off and keeps open connections and everything newer.
func testPrune(t *testing.T, s herald.Store) {
	ctx := t.Context()
	cut := at(1000)
	for i, ms := range []int{500, 1500} {
		if err := s.LogRequest(ctx, herald.Request{At: at(ms), RequestID: []string{"old", "new"}[i], Operation: "op", Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	conns := []herald.Connection{
		{ID: "c_closed_old", UserID: "u", OpenedAt: at(100), ClosedAt: at(500), CloseCode: 4000},
		{ID: "c_refused_old", OpenedAt: at(200), Refused: herald.ReasonTokenInvalid},
		{ID: "c_open_old", UserID: "u", OpenedAt: at(300)},
		{ID: "c_closed_new", UserID: "u", OpenedAt: at(400), ClosedAt: at(1500), CloseCode: 4000},
		{ID: "c_refused_new", OpenedAt: at(1200), Refused: herald.ReasonTokenInvalid},
	}
	for _, c := range conns {
		if err := s.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		if !c.ClosedAt.IsZero() {
			if err := s.UpdateConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.RecordDeliveries(ctx, []herald.Delivery{
		{UserID: "u", ThreadID: "t", ConnectionID: "c", FromSeq: 1, ToSeq: 2, FirstAt: at(100), LastAt: at(900)},
		{UserID: "u", ThreadID: "t", ConnectionID: "c", FromSeq: 3, ToSeq: 4, FirstAt: at(900), LastAt: at(1100)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAcks(ctx, []herald.Ack{{UserID: "u", ThreadID: "t", ConnectionID: "c", Seq: 2, At: at(950)},
		{UserID: "u", ThreadID: "t", ConnectionID: "c", Seq: 4, At: at(1000)}}); err != nil {
		t.Fatal(err)
	}
	old := pendingDelivery("w_a", 1, at(0)) // created at(0)
	oldDelivered, oldPending, newDead := old, old, pendingDelivery("w_a", 3, at(0))
	oldDelivered.State, oldDelivered.Seq = herald.DeliveryDelivered, 2
	newDead.State, newDead.CreatedAt = herald.DeliveryDead, at(1500)
	update(t, s, func(tx herald.Tx) error {
		return tx.CreateWebhookDeliveries(ctx, []herald.WebhookDelivery{oldDelivered, oldPending, newDead})
	})
	hooks, _ := s.ListWebhookDeliveries(ctx, herald.WebhookDeliveryFilter{})
	for _, d := range hooks {
		update(t, s, func(tx herald.Tx) error {
			return tx.CreateWebhookAttempt(ctx, herald.WebhookAttempt{Delivery: d.ID, At: at(100), Status: 200})
		})
	}
	n, err := s.PruneEvidence(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 { // 1 request, 2 connections, 1 delivery run, 1 ack, the delivered webhook delivery and its attempt
		t.Errorf("got %d rows pruned, want 7", n)
	}
	hooks, _ = s.ListWebhookDeliveries(ctx, herald.WebhookDeliveryFilter{})
	if len(hooks) != 2 || hooks[0].Seq != 3 || hooks[1].Seq != 1 {
		t.Errorf("webhook deliveries after prune: got %+v, want the new dead letter and the old pending one", hooks)
	}
	for _, d := range hooks {
		if as, _ := s.ListWebhookAttempts(ctx, d.ID); len(as) != 1 {
			t.Errorf("attempts of kept delivery %d after prune: %d, want 1", d.ID, len(as))
		}
	}
	reqs, _ := s.ListRequests(ctx, herald.RequestFilter{})
	if len(reqs) != 1 || reqs[0].RequestID != "new" {
		t.Errorf("requests after prune: got %+v, want only the new one", reqs)
	}
	cs, _ := s.ListConnections(ctx, herald.ConnectionFilter{})
	got := map[herald.ConnectionID]bool{}
	for _, c := range cs {
		got[c.ID] = true
	}
	if len(cs) != 3 || !got["c_open_old"] || !got["c_closed_new"] || !got["c_refused_new"] {
		t.Errorf("connections after prune: got %v, want the open one and the new ones", got)
	}
	ds, _ := s.ListDeliveries(ctx, herald.DeliveryFilter{})
	if len(ds) != 1 || ds[0].FromSeq != 3 {
		t.Errorf("deliveries after prune: got %+v, want the run last pushed after the cut", ds)
	}
	as, _ := s.ListAcks(ctx, herald.DeliveryFilter{})
	if len(as) != 1 || as[0].Seq != 4 {
		t.Errorf("acks after prune: got %+v, want the one at the cut", as)
	}
}

// testLogRequests checks the batch write of the request log.
func testLogRequests(t *testing.T, s herald.Store) {
	ctx := t.Context()
	if err := s.LogRequests(ctx, nil); err != nil {
		t.Fatalf("empty batch: got %v, want nil", err)
	}
	batch := []herald.Request{
		{At: at(1), RequestID: "r1", Caller: "u", Operation: "SendChatMessage", ThreadID: "t", MessageID: "m", Status: 201},
		{At: at(2), RequestID: "r2", Caller: "u", Operation: "GetChatThreadProperties", ThreadID: "t", Status: 404, Reason: herald.ReasonThreadNotFound},
		{At: at(3), RequestID: "r3", Operation: "ListChatThreads", Status: 401, Reason: herald.ReasonTokenInvalid},
	}
	if err := s.LogRequests(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListRequests(ctx, herald.RequestFilter{})
	if err != nil || len(got) != 3 || got[0].RequestID != "r3" || got[2].RequestID != "r1" || got[1].Reason != herald.ReasonThreadNotFound {
		t.Errorf("got %+v (%v), want the three rows newest first", got, err)
	}
}

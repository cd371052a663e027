package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
)

func testWebhooks(t *testing.T, s herald.Store) {
	ctx := t.Context()
	a := herald.Webhook{ID: "w_a", URL: "https://example.test/a", Schema: herald.SchemaEventGrid,
		EventTypes: []string{"Microsoft.Communication.ChatMessageReceived"}, Secret: "whsec_a", CreatedAt: at(0), ValidatedAt: at(5)}
	b := herald.Webhook{ID: "w_b", URL: "http://127.0.0.1:9/b", Schema: herald.SchemaCloudEvents, Secret: "whsec_b", CreatedAt: at(10)}
	update(t, s, func(tx herald.Tx) error {
		if err := tx.CreateWebhook(ctx, a); err != nil {
			return err
		}
		return tx.CreateWebhook(ctx, b)
	})
	err := s.Update(ctx, func(tx herald.Tx) error { return tx.CreateWebhook(ctx, a) })
	wantErr(t, "CreateWebhook of an existing id", err, herald.ErrConflict)

	got, err := s.ListWebhooks(ctx)
	if err != nil {
		t.Fatalf("ListWebhooks: %v", err)
	}
	wantDiff(t, "ListWebhooks", []herald.Webhook{a, b}, got)

	update(t, s, func(tx herald.Tx) error { return tx.DeleteWebhook(ctx, "w_a", at(20)) })
	err = s.Update(ctx, func(tx herald.Tx) error { return tx.DeleteWebhook(ctx, "w_a", at(30)) })
	wantErr(t, "DeleteWebhook a second time", err, herald.ErrNotFound)
	err = s.Update(ctx, func(tx herald.Tx) error { return tx.DeleteWebhook(ctx, "w_missing", at(30)) })
	wantErr(t, "DeleteWebhook of a missing id", err, herald.ErrNotFound)

	got, err = s.ListWebhooks(ctx)
	if err != nil {
		t.Fatalf("ListWebhooks: %v", err)
	}
	wantDiff(t, "ListWebhooks after a deletion", []herald.Webhook{b}, got)
	deleted, err := s.GetWebhook(ctx, "w_a")
	if err != nil {
		t.Fatalf("GetWebhook of a deleted subscription: %v", err)
	}
	a.DeletedAt = at(20)
	wantDiff(t, "GetWebhook of a deleted subscription", a, deleted)
	_, err = s.GetWebhook(ctx, "w_missing")
	wantErr(t, "GetWebhook of a missing id", err, herald.ErrNotFound)
}

// pendingDelivery is a delivery of thread t_w's event seq, due at due.
func pendingDelivery(hook herald.WebhookID, seq herald.Seq, due time.Time) herald.WebhookDelivery {
	return herald.WebhookDelivery{Webhook: hook, ThreadID: "t_w", Seq: seq,
		Events:     json.RawMessage(`[{"id":"e1","eventType":"Microsoft.Communication.ChatMessageReceivedInThread"}]`),
		Recipients: []herald.UserID{"u_a", "u_b"}, CreatedAt: at(0), State: herald.DeliveryPending, NextAt: due}
}

func claim(tb testing.TB, s herald.Store, now, until time.Time, limit int) []herald.WebhookDelivery {
	tb.Helper()
	var ds []herald.WebhookDelivery
	update(tb, s, func(tx herald.Tx) error {
		var err error
		ds, err = tx.ClaimWebhookDeliveries(tb.Context(), now, until, limit)
		return err
	})
	return ds
}

func testWebhookDeliveries(t *testing.T, s herald.Store) {
	ctx := t.Context()
	update(t, s, func(tx herald.Tx) error {
		return tx.CreateWebhookDeliveries(ctx, []herald.WebhookDelivery{
			pendingDelivery("w_a", 1, at(100)), pendingDelivery("w_a", 2, at(50)), pendingDelivery("w_b", 2, at(5000)),
		})
	})
	all, err := s.ListWebhookDeliveries(ctx, herald.WebhookDeliveryFilter{})
	if err != nil {
		t.Fatalf("ListWebhookDeliveries: %v", err)
	}
	if len(all) != 3 || all[0].ID <= all[1].ID || all[1].ID <= all[2].ID {
		t.Fatalf("ListWebhookDeliveries: got %d deliveries %v, want 3, newest first", len(all), all)
	}
	first := all[2]
	want := pendingDelivery("w_a", 1, at(100))
	want.ID = first.ID
	wantDiff(t, "the first delivery", want, first)

	// Filters.
	for _, tc := range []struct {
		f    herald.WebhookDeliveryFilter
		want int
	}{
		{herald.WebhookDeliveryFilter{Webhook: "w_a"}, 2},
		{herald.WebhookDeliveryFilter{Thread: "t_w", Seq: 2}, 2},
		{herald.WebhookDeliveryFilter{Webhook: "w_b", Seq: 2}, 1},
		{herald.WebhookDeliveryFilter{State: herald.DeliveryDead}, 0},
		{herald.WebhookDeliveryFilter{Before: all[0].ID}, 2},
		{herald.WebhookDeliveryFilter{Limit: 1}, 1},
		{herald.WebhookDeliveryFilter{Thread: "t_other"}, 0},
	} {
		got, err := s.ListWebhookDeliveries(ctx, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("ListWebhookDeliveries(%+v): got %d, %v; want %d", tc.f, len(got), err, tc.want)
		}
	}

	// Claims: due ones only, oldest due first, and not again while leased.
	got := claim(t, s, at(200), at(30_200), 10)
	if len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 1 || !got[0].LeasedUntil.Equal(at(30_200)) {
		t.Fatalf("ClaimWebhookDeliveries at 200: got %+v, want seq 2 then 1 of w_a, leased until 30200", got)
	}
	if again := claim(t, s, at(1000), at(31_000), 10); len(again) != 0 {
		t.Errorf("ClaimWebhookDeliveries under a lease: got %d, want 0", len(again))
	}
	if limited := claim(t, s, at(30_200), at(60_000), 1); len(limited) != 1 || limited[0].Seq != 2 {
		t.Errorf("ClaimWebhookDeliveries after the lease, limit 1: got %+v, want seq 2", limited)
	}

	// Progress: a delivered one is never claimed again; its attempts are logged.
	d := got[1]
	d.State, d.Attempts, d.LastStatus, d.DeliveredAt, d.LeasedUntil = herald.DeliveryDelivered, 2, 200, at(300), time.Time{}
	update(t, s, func(tx herald.Tx) error {
		if err := tx.UpdateWebhookDelivery(ctx, d); err != nil {
			return err
		}
		for i, status := range []int{500, 200} {
			a := herald.WebhookAttempt{Delivery: d.ID, At: at(250 + i), Node: "n1", Status: status, Duration: 1500 * time.Microsecond}
			if status == 500 {
				a.Error = "the endpoint answered 500"
			}
			if err := tx.CreateWebhookAttempt(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	stored, err := s.GetWebhookDelivery(ctx, d.ID)
	if err != nil {
		t.Fatalf("GetWebhookDelivery: %v", err)
	}
	wantDiff(t, "GetWebhookDelivery after UpdateWebhookDelivery", d, stored)
	attempts, err := s.ListWebhookAttempts(ctx, d.ID)
	if err != nil {
		t.Fatalf("ListWebhookAttempts: %v", err)
	}
	wantDiff(t, "ListWebhookAttempts", []herald.WebhookAttempt{
		{Delivery: d.ID, At: at(250), Node: "n1", Status: 500, Error: "the endpoint answered 500", Duration: 1500 * time.Microsecond},
		{Delivery: d.ID, At: at(251), Node: "n1", Status: 200, Duration: 1500 * time.Microsecond},
	}, attempts)
	if later := claim(t, s, at(100_000), at(130_000), 10); len(later) != 2 {
		t.Errorf("ClaimWebhookDeliveries later: got %d, want 2 (w_a seq 2 and w_b; not the delivered one)", len(later))
	} else {
		for _, l := range later {
			if l.ID == d.ID {
				t.Errorf("ClaimWebhookDeliveries handed out delivered %d", d.ID)
			}
		}
	}
	counts, err := s.CountWebhookDeliveries(ctx, "w_a")
	if err != nil {
		t.Fatalf("CountWebhookDeliveries: %v", err)
	}
	wantDiff(t, "CountWebhookDeliveries", map[herald.DeliveryState]int{herald.DeliveryPending: 1, herald.DeliveryDelivered: 1}, counts)

	err = s.Update(ctx, func(tx herald.Tx) error {
		return tx.UpdateWebhookDelivery(ctx, herald.WebhookDelivery{ID: 1 << 40, State: herald.DeliveryDead})
	})
	wantErr(t, "UpdateWebhookDelivery of a missing id", err, herald.ErrNotFound)
	_, err = s.GetWebhookDelivery(ctx, 1<<40)
	wantErr(t, "GetWebhookDelivery of a missing id", err, herald.ErrNotFound)
}

// testWebhookClaimConcurrent: nodes claiming at once never get the same
// delivery.
func testWebhookClaimConcurrent(t *testing.T, s herald.Store) {
	const n = 60
	ds := make([]herald.WebhookDelivery, n)
	for i := range ds {
		ds[i] = pendingDelivery("w_a", herald.Seq(i+1), at(i))
	}
	update(t, s, func(tx herald.Tx) error { return tx.CreateWebhookDeliveries(t.Context(), ds) })
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				var got []herald.WebhookDelivery
				err := s.Update(t.Context(), func(tx herald.Tx) error {
					var err error
					got, err = tx.ClaimWebhookDeliveries(t.Context(), at(n), at(n+60_000), 3)
					return err
				})
				if err != nil {
					t.Errorf("concurrent ClaimWebhookDeliveries: %v", err)
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("concurrent claims handed out %d distinct deliveries, want all %d", len(seen), n)
	}
	for id, times := range seen {
		if times != 1 {
			t.Errorf("delivery %d was claimed %d times under one lease", id, times)
		}
	}
}

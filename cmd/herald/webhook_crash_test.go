package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald/wire"
)

// hookReceiver is a webhook endpoint that refuses its first posts, then
// records the message ids of the ChatMessageReceivedInThread events.
type hookReceiver struct {
	mu      sync.Mutex
	refuse  int // posts still to answer 500
	posts   int
	seen    map[string]int // message id → times received
	retried int            // posts with aeg-delivery-count > 0
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var batch []struct {
		EventType string         `json:"eventType"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &batch); err != nil || len(batch) == 0 {
		w.WriteHeader(400)
		return
	}
	if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
		json.NewEncoder(w).Encode(map[string]any{"validationResponse": batch[0].Data["validationCode"]})
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.posts++
	if r.Header.Get("aeg-delivery-count") != "0" {
		h.retried++
	}
	if h.refuse > 0 {
		h.refuse--
		w.WriteHeader(500)
		return
	}
	for _, e := range batch {
		if id, ok := e.Data["messageId"].(string); ok {
			h.seen[id]++
		}
	}
}

// TestWebhooksSurviveKill subscribes a webhook, sends messages, kills
// the server with SIGKILL mid-burst while the endpoint refuses the first
// posts, restarts it, and checks that the endpoint gets an event for every
// acknowledged message (at least once).
func TestWebhooksSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	recv := &hookReceiver{refuse: 3, seen: map[string]int{}}
	endpoint := httptest.NewServer(recv)
	defer endpoint.Close()

	bin := buildHerald(t)
	data := t.TempDir()
	srv := startServer(t, bin, data)
	defer func() { srv.cmd.Process.Kill(); srv.cmd.Wait() }()

	var hook wire.Webhook
	if st, err := srv.call("POST", "/admin/webhooks", crashAdminKey, wire.CreateWebhookRequest{URL: endpoint.URL,
		EventTypes: []string{"Microsoft.Communication.ChatMessageReceivedInThread"}}, &hook); st != 201 || err != nil {
		t.Fatalf("create webhook: %d %v", st, err)
	}
	var ident wire.CreateIdentityResponse
	if st, err := srv.call("POST", "/identities", crashAdminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}}, &ident); st != 201 || err != nil {
		t.Fatalf("create identity: %d %v", st, err)
	}
	tok := ident.AccessToken.Token
	var th wire.CreateThreadResponse
	if st, err := srv.call("POST", "/chat/threads", tok, wire.CreateThreadRequest{Topic: "hooks"}, &th); st != 201 || err != nil {
		t.Fatalf("create thread: %d %v", st, err)
	}
	path := "/chat/threads/" + th.ChatThread.ID + "/messages"

	acked := sendUntilKilled(srv, path, tok, 4, 200, 150) // client id → message id
	srv = startServer(t, bin, data)

	// The refused posts are due again 10 s after they failed.
	missing := func() int {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		m := 0
		for _, msg := range acked {
			if recv.seen[msg] == 0 {
				m++
			}
		}
		return m
	}
	deadline := time.Now().Add(90 * time.Second)
	for missing() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if m := missing(); m > 0 {
		t.Fatalf("%d of %d acknowledged messages never reached the webhook", m, len(acked))
	}
	recv.mu.Lock()
	dupes := 0
	for _, times := range recv.seen {
		dupes += times - 1
	}
	retried := recv.retried
	recv.mu.Unlock()
	if retried == 0 {
		t.Errorf("no post was a retry (aeg-delivery-count > 0), yet the first 3 were refused")
	}
	var got wire.Webhook
	if st, err := srv.call("GET", "/admin/webhooks/"+hook.ID, crashAdminKey, nil, &got); st != 200 || err != nil {
		t.Fatalf("get webhook: %d %v", st, err)
	}
	if got.Deliveries["dead"] != 0 {
		t.Errorf("deliveries: %v, want no dead letters", got.Deliveries)
	}
	t.Logf("acknowledged before kill: %d; all reached the webhook; repeats (at least once): %d; deliveries %v", len(acked), dupes, got.Deliveries)

	// The CLI reads the same log.
	cli := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "HERALD_URL="+srv.url, "HERALD_ADMIN_KEY="+crashAdminKey)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("herald %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := cli("webhook", "list"); !strings.Contains(out, hook.ID) || !strings.Contains(out, strconv.Itoa(got.Deliveries["delivered"])) {
		t.Errorf("herald webhook list:\n%s\nwant %s with %d delivered", out, hook.ID, got.Deliveries["delivered"])
	}
	var page wire.WebhookDeliveryList
	if err := json.Unmarshal([]byte(cli("webhook", "deliveries", hook.ID, "--state", "delivered", "--max", "3", "-o", "json")), &page); err != nil || len(page.Value) != 3 {
		t.Fatalf("herald webhook deliveries -o json: %v, %d rows; want 3", err, len(page.Value))
	}
	first := page.Value[0]
	if out := cli("webhook", "delivery", hook.ID, strconv.FormatInt(first.ID, 10)); !strings.Contains(out, "ATTEMPT") || !strings.Contains(out, first.ThreadID) {
		t.Errorf("herald webhook delivery:\n%s\nwant the attempt log of %s", out, first.ThreadID)
	}
	retry := exec.Command(bin, "webhook", "retry", hook.ID, strconv.FormatInt(first.ID, 10))
	retry.Env = append(os.Environ(), "HERALD_URL="+srv.url, "HERALD_ADMIN_KEY="+crashAdminKey)
	if out, err := retry.CombinedOutput(); err == nil || !strings.Contains(string(out), "dead") {
		t.Errorf("herald webhook retry of a delivered delivery: %v\n%s\nwant refused (only dead letters)", err, out)
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/metrics/metricstest"
	"github.com/herald-chat/herald/wire"
)

// lockedBuffer is the server's stderr: written by its logger while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logLines returns the JSON log lines written so far; text lines that are
// not JSON (the first start's key notice goes to the process's stderr,
// not here) fail the test.
func (l *lockedBuffer) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("--log-format json: got a line that is not JSON: %q", sc.Text())
			continue
		}
		out = append(out, m)
	}
	return out
}

// waitFor polls cond until it holds; the bound catches a regression, it is
// not a timing the test depends on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scrape reads GET /metrics into families by name.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: got %d, want 200", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// value sums the series of a family whose labels include want (a
// histogram counts its observations).
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	mf := mfs[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			if v, ok := want[lp.GetName()]; ok && v != lp.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Summary != nil:
			sum += float64(m.GetSummary().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// TestServeOperable runs `herald serve --log-format json` in-process and
// drives a session: two identities, a thread, messages sent until the write
// rate refuses one, a WebSocket receiver that acknowledges them. Then:
// /healthz and /readyz answer 200; /metrics has every metric the dashboard
// and the alert rules use, with values that match the session; every log
// line is JSON, every request's line carries its request id, and neither
// the admin key nor a token appears anywhere in the log. Last, a shutdown
// (the context a SIGTERM cancels) closes the receiver with 4000 going_away
// and logs each step in order.
// serveInProcess runs herald serve in this process on 127.0.0.1:0 with a
// temporary --data, JSON logs and args, until ctx is cancelled; it returns
// the base URL once the server listens, its logs, and its exit status.
func serveInProcess(t *testing.T, ctx context.Context, args ...string) (base string, logs *lockedBuffer, exited <-chan int) {
	t.Helper()
	logs = &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--log-format", "json"}, args...),
			&bytes.Buffer{}, logs)
	}()
	waitFor(t, "herald listening", func() bool {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before listening:\n%s", code, logs.String())
		default:
		}
		for _, l := range logs.logLines(t) {
			if l["msg"] == "herald listening" {
				base = "http://" + l["addr"].(string)
				return true
			}
		}
		return false
	})
	return base, logs, done
}

func TestServeOperable(t *testing.T) {
	const adminKey = "hak_operable_test_admin_key_0123456789"
	t.Setenv("HERALD_ADMIN_KEY", adminKey)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	base, logs, exited := serveInProcess(t, ctx, "--write-rate", "0.001", "--write-burst", "5", "--retention", "0")

	admin := client.NewAdmin(base, adminKey)
	var tokens []string
	var users []string
	for range 2 {
		id, err := admin.CreateIdentity(ctx, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}})
		if err != nil {
			t.Fatalf("create identity: %v", err)
		}
		users, tokens = append(users, id.Identity.ID), append(tokens, id.AccessToken.Token)
	}
	sender, receiver := client.New(base, client.StaticToken(tokens[0])), client.New(base, client.StaticToken(tokens[1]))
	participants := []wire.ChatParticipant{}
	for _, u := range users {
		participants = append(participants, wire.ChatParticipant{CommunicationIdentifier: wire.CommunicationIdentifier{CommunicationUser: &wire.CommunicationUser{ID: u}}})
	}
	th, err := sender.CreateThread(ctx, wire.CreateThreadRequest{Topic: "operable", Participants: participants}, "")
	if err != nil {
		t.Fatalf("create thread: %v", err)
	}

	rt := receiver.Realtime(client.RealtimeOptions{Transport: wire.TransportWebSocket})
	var mu sync.Mutex
	var received int
	var closeCodes []int
	rt.On(herald.EventMessageReceived, func(context.Context, client.Event) error {
		mu.Lock()
		defer mu.Unlock()
		received++
		return nil
	})
	connected := make(chan struct{}, 1)
	rt.OnState(func(sc client.StateChange) {
		mu.Lock()
		defer mu.Unlock()
		switch sc.State {
		case client.StateConnected:
			select {
			case connected <- struct{}{}:
			default:
			}
		case client.StateDisconnected:
			closeCodes = append(closeCodes, sc.Code)
		}
	})
	rtCtx, stopRT := context.WithCancel(context.Background()) // not ctx: the server's shutdown must close it
	defer stopRT()
	go rt.Start(rtCtx)
	within(t, "the receiver's connection", connected)

	// The thread's creation is the first write of the burst of 5; the
	// sends take the rest, and the one after them is refused.
	sent := 0
	var limited *herald.Error
	for i := 0; i < 10 && limited == nil; i++ {
		_, err := sender.SendMessage(ctx, th.ChatThread.ID, wire.SendMessageRequest{Content: "hello"}, "")
		switch {
		case err == nil:
			sent++
		case errors.As(err, &limited) && limited.Reason == herald.ReasonRateLimited:
		default:
			t.Fatalf("send: %v", err)
		}
	}
	if sent == 0 || limited == nil {
		t.Fatalf("got %d sends and refusal %v, want some sends and then 429 rate_limited", sent, limited)
	}
	waitFor(t, "the receiver to get every message", func() bool { mu.Lock(); defer mu.Unlock(); return received >= sent })
	waitFor(t, "the receiver's acks", func() bool { return value(scrape(t, base), "herald_acks_total", nil) >= 1 })

	req, _ := http.NewRequest(http.MethodGet, base+"/chat/threads", nil)
	req.Header.Set("Authorization", "Bearer "+tokens[0])
	req.Header.Set("X-Request-Id", "ops-test-request")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "ops-test-request" {
		t.Errorf("X-Request-Id: got %q, want the caller's echoed", got)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: got %d, want 200", path, resp.StatusCode)
		}
	}

	mfs := scrape(t, base)
	families := map[string]bool{}
	for name := range mfs {
		families[name] = true
	}
	for _, name := range metricstest.Names(t, "../..") {
		if !families[metricstest.Family(name, families)] {
			t.Errorf("the dashboard or alerts use %s; GET /metrics has no such family", name)
		}
	}
	fsent := float64(sent)
	for _, c := range []struct {
		name   string
		labels map[string]string
		ok     func(float64) bool
		want   string
	}{
		{"herald_http_requests_total", map[string]string{"operation": "SendChatMessage", "status": "201"}, eq(fsent), "the sends"},
		{"herald_http_requests_total", map[string]string{"operation": "SendChatMessage", "status": "429", "reason": "rate_limited"}, eq(1), "1"},
		{"herald_http_requests_total", map[string]string{"operation": "CreateChatThread", "status": "201"}, eq(1), "1"},
		{"herald_rate_limited_requests_total", map[string]string{"reason": "rate_limited"}, eq(1), "1"},
		{"herald_send_commit_seconds", nil, eq(fsent), "one per send"},
		{"herald_deliveries_total", nil, atLeast(fsent), "at least the sends"},
		{"herald_fanout_seconds", nil, atLeast(fsent), "at least the sends"},
		{"herald_acks_total", nil, atLeast(1), "at least 1"},
		{"herald_connections", map[string]string{"transport": "websocket"}, eq(1), "1"},
		{"herald_connections", map[string]string{"transport": "sse"}, eq(0), "0"},
		{"herald_store_errors_total", nil, eq(0), "0"},
		{"herald_publish_failures_total", nil, eq(0), "0"},
		{"herald_hub_queue_size", nil, eq(1024), "the default 1024"},
		{"go_goroutines", nil, atLeast(1), "some"},
		{"process_resident_memory_bytes", nil, atLeast(1), "some"},
	} {
		if got := value(mfs, c.name, c.labels); !c.ok(got) {
			t.Errorf("%s%v: got %v, want %s (%d sent)", c.name, c.labels, got, c.want, sent)
		}
	}

	// Shutdown, as SIGTERM does it.
	stop()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("serve exited with %d after the signal, want 0", code)
		}
	case <-time.After(30 * time.Second): // a bound for a regression, not a timing
		t.Fatalf("serve did not exit after the signal:\n%s", logs.String())
	}
	stopRT()
	mu.Lock()
	codes := closeCodes
	mu.Unlock()
	if len(codes) == 0 || codes[0] != wire.CloseGoingAway {
		t.Errorf("the receiver's close codes: got %v, want %d going_away first", codes, wire.CloseGoingAway)
	}

	lines := logs.logLines(t)
	var steps []string
	requests := 0
	for _, l := range lines {
		msg, _ := l["msg"].(string)
		if strings.HasPrefix(msg, "shutdown: ") {
			steps = append(steps, strings.SplitN(strings.TrimPrefix(msg, "shutdown: "), ";", 2)[0])
		}
		if msg == "request" {
			requests++
			if id, _ := l["request_id"].(string); id == "" {
				t.Errorf("request line without request_id: %v", l)
			}
		}
	}
	wantSteps := []string{"signal received", "stopped accepting connections", "real-time connections closed with 4000 going_away",
		"in-flight requests finished", "request log flushed", "store and broker closed"}
	if strings.Join(steps, "|") != strings.Join(wantSteps, "|") {
		t.Errorf("shutdown steps logged:\n got %q\nwant %q", steps, wantSteps)
	}
	if requests < sent+4 {
		t.Errorf("got %d request lines, want one per request (at least %d)", requests, sent+4)
	}
	if !strings.Contains(logs.String(), `"request_id":"ops-test-request"`) {
		t.Errorf("no log line carries the caller's request id ops-test-request")
	}
	for _, secret := range append([]string{adminKey}, tokens...) {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains a credential (%.12s...)", secret)
		}
	}
}

func eq(want float64) func(float64) bool      { return func(got float64) bool { return got == want } }
func atLeast(want float64) func(float64) bool { return func(got float64) bool { return got >= want } }

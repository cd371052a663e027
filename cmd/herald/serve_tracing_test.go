package main

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// collector is an OTLP/HTTP traces endpoint that keeps what it is sent.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Write(out)
}

func (c *collector) named(name string) []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range c.spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			if v := kv.Value.GetStringValue(); v != "" {
				return v
			}
			return strings.TrimSpace(kv.Value.String())
		}
	}
	return ""
}

// TestServeTraces (issue 15): with --otlp-endpoint, a send is one trace
// from the caller's traceparent through the request, the commit and the
// publish to the socket write to the receiver, exported over OTLP/HTTP
// (the spans still batched go out at shutdown).
func TestServeTraces(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	col := &collector{}
	otlp := httptest.NewServer(col)
	defer otlp.Close()
	const adminKey = "hak_tracing_test_admin_key_0123456789"
	t.Setenv("HERALD_ADMIN_KEY", adminKey)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	base, logs, exited := serveInProcess(t, ctx, "--otlp-endpoint", otlp.URL+"/v1/traces")

	admin := client.NewAdmin(base, adminKey)
	var users, tokens []string
	for range 2 {
		id, err := admin.CreateIdentity(ctx, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}})
		if err != nil {
			t.Fatal(err)
		}
		users, tokens = append(users, id.Identity.ID), append(tokens, id.AccessToken.Token)
	}
	sender := client.New(base, client.StaticToken(tokens[0]))
	th, err := sender.CreateThread(ctx, wire.CreateThreadRequest{Topic: "traced", Participants: []wire.ChatParticipant{
		{CommunicationIdentifier: wire.Identifier(users[0])}, {CommunicationIdentifier: wire.Identifier(users[1])}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	rt := client.New(base, client.StaticToken(tokens[1])).Realtime(client.RealtimeOptions{Transport: wire.TransportWebSocket})
	got := make(chan struct{}, 1)
	rt.On(herald.EventMessageReceived, func(context.Context, client.Event) error {
		select {
		case got <- struct{}{}:
		default:
		}
		return nil
	})
	connected := make(chan struct{}, 1)
	rt.OnState(func(sc client.StateChange) {
		if sc.State == client.StateConnected {
			select {
			case connected <- struct{}{}:
			default:
			}
		}
	})
	rtCtx, stopRT := context.WithCancel(context.Background())
	defer stopRT()
	go rt.Start(rtCtx)
	within(t, "the receiver's connection", connected)

	// The caller's own trace: Herald's spans must join it.
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodPost, base+"/chat/threads/"+th.ChatThread.ID+"/messages", strings.NewReader(`{"content":"traced"}`))
	req.Header.Set("Authorization", "Bearer "+tokens[0])
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("send: got %d, want 201", res.StatusCode)
	}
	within(t, "the receiver to get the message", got)
	stop() // a graceful shutdown exports the batched spans
	if code := within(t, "serve to exit", exited); code != 0 {
		t.Fatalf("serve exited with %d:\n%s", code, logs.String())
	}

	inTrace := func(name string) *tracepb.Span {
		t.Helper()
		for _, s := range col.named(name) {
			if hex.EncodeToString(s.TraceId) == traceID {
				return s
			}
		}
		t.Fatalf("no span %q in the caller's trace %s (spans: %d %q)", name, traceID, len(col.spans), names(col))
		return nil
	}
	request, commit, publish, write := inTrace("SendChatMessage"), inTrace("herald.commit"), inTrace("herald.publish"), inTrace("herald.write")
	for _, c := range []struct {
		child, parent *tracepb.Span
		want          string
	}{
		{request, nil, parentID},
		{commit, request, ""},
		{publish, request, ""},
		{write, publish, ""},
	} {
		want := c.want
		if c.parent != nil {
			want = hex.EncodeToString(c.parent.SpanId)
		}
		if got := hex.EncodeToString(c.child.ParentSpanId); got != want {
			t.Errorf("span %s: parent %s, want %s", c.child.Name, got, want)
		}
	}
	if got := attr(request, "http.response.status_code"); got != "int_value:201" {
		t.Errorf("SendChatMessage span: http.response.status_code %q, want 201", got)
	}
	if got := attr(write, "herald.user_id"); got != users[1] {
		t.Errorf("herald.write span: herald.user_id %q, want the receiver %s", got, users[1])
	}
	if got := attr(write, "herald.transport"); got != wire.TransportWebSocket {
		t.Errorf("herald.write span: herald.transport %q, want %s", got, wire.TransportWebSocket)
	}
}

// within waits for a value from ch, failing the test after a minute
// instead of hanging until go test's own timeout (a bound on a wait, not a
// measurement).
func within[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("no %s within a minute", what)
		var zero T
		return zero
	}
}

func names(c *collector) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.spans {
		out = append(out, s.Name)
	}
	return out
}

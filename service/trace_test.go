package service_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// TestTracedSend: a send records a commit and a publish span under the
// caller's, and its event carries the publish span's traceparent (the
// parent of the socket writes) only when the trace is sampled: an
// unsampled trace costs the receivers nothing.
func TestTracedSend(t *testing.T) {
	for _, c := range []struct {
		name    string
		sampler sdktrace.Sampler
	}{{"sampled", sdktrace.AlwaysSample()}, {"not sampled", sdktrace.NeverSample()}} {
		t.Run(c.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(c.sampler), sdktrace.WithSpanProcessor(rec))
			ctx := context.Background()
			store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			_, key, _ := ed25519.GenerateKey(rand.Reader)
			clock, broker := herald.SystemClock{}, inmem.New()
			defer broker.Close()
			svc, err := service.New(store, token.New(key, "", "", clock), broker, clock, herald.RandomIDs{}, service.DefaultLimits(), service.WithTracer(tp))
			if err != nil {
				t.Fatal(err)
			}
			alice := mustCaller(t, svc)
			th := mustThread(t, svc, alice, 1)
			var mu sync.Mutex
			var signals []herald.Signal
			unsub, err := broker.Subscribe(func(s herald.Signal) { mu.Lock(); signals = append(signals, s); mu.Unlock() })
			if err != nil {
				t.Fatal(err)
			}
			reqCtx, req := tp.Tracer("test").Start(ctx, "SendChatMessage")
			if _, err := svc.SendMessage(reqCtx, alice, th, service.NewMessage{Content: "hi"}); err != nil {
				t.Fatal(err)
			}
			req.End()
			unsub()

			mu.Lock()
			defer mu.Unlock()
			if len(signals) != 1 {
				t.Fatalf("got %d signals, want 1", len(signals))
			}
			tp0 := signals[0].TraceParent
			if c.name == "not sampled" {
				if tp0 != "" || len(rec.Ended()) != 0 {
					t.Errorf("not sampled: traceparent %q and %d spans, want none", tp0, len(rec.Ended()))
				}
				return
			}
			spans := map[string]sdktrace.ReadOnlySpan{}
			for _, s := range rec.Ended() {
				spans[s.Name()] = s
			}
			root, commit, publish := spans["SendChatMessage"], spans["herald.commit"], spans["herald.publish"]
			if root == nil || commit == nil || publish == nil {
				t.Fatalf("got spans %v, want SendChatMessage, herald.commit, herald.publish", spans)
			}
			for _, s := range []sdktrace.ReadOnlySpan{commit, publish} {
				if s.Parent().SpanID() != root.SpanContext().SpanID() {
					t.Errorf("%s: parent %s, want the request's %s", s.Name(), s.Parent().SpanID(), root.SpanContext().SpanID())
				}
			}
			want := "00-" + publish.SpanContext().TraceID().String() + "-" + publish.SpanContext().SpanID().String() + "-01"
			if tp0 != want {
				t.Errorf("the event's traceparent %q, want the publish span's %q", tp0, want)
			}
			if !strings.HasPrefix(tp0, "00-") {
				t.Errorf("traceparent %q is not W3C version 00", tp0)
			}
		})
	}
}

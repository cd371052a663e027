package nats_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/nats"
)

// TestRelay: a request forwarded to a node reaches that node only and
// comes back with its answer; a node nobody serves is not_found at once
// (NATS's no-responders), not after the wait.
func TestRelay(t *testing.T) {
	url, prefix := testURL(t), testPrefix()
	a := mustNew(t, url, nats.WithPrefix(prefix))
	b := mustNew(t, url, nats.WithPrefix(prefix))
	c := mustNew(t, url, nats.WithPrefix(prefix))
	got := make(chan string, 4)
	serve := func(br *nats.Broker, node string) {
		stop, err := br.ServeRelay(node, func(_ context.Context, req []byte) []byte {
			got <- node
			return append([]byte(node+":"), req...)
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	serve(b, "rb")
	serve(c, "rc")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := a.Forward(ctx, "rc", []byte("poll"))
	if err != nil || !bytes.Equal(out, []byte("rc:poll")) {
		t.Fatalf("Forward to rc: got %q, %v; want rc's answer", out, err)
	}
	if n := <-got; n != "rc" || len(got) != 0 {
		t.Errorf("the request reached %s (and %d more), want rc only", n, len(got))
	}
	_, err = a.Forward(ctx, "gone", []byte("poll"))
	if !herald.IsNotFound(err) {
		t.Errorf("Forward to a node nobody serves: got %v, want not_found", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Forward to a node nobody serves waited for the deadline, want an answer at once")
	}
}

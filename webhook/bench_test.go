package webhook_test

import (
	"strconv"
	"testing"

	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/webhook"
)

// BenchmarkSendWithWebhooks measures what the outbox adds to a send: with
// no subscription (an atomic load), and with one or three, each of which
// makes one delivery row (the Event Grid batch, built and stored in the
// send's transaction). Nothing is delivered during the loop.
func BenchmarkSendWithWebhooks(b *testing.B) {
	for _, hooks := range []int{0, 1, 3} {
		b.Run("subscriptions="+strconv.Itoa(hooks), func(b *testing.B) {
			f := newFixture(b)
			r := newReceiver(b)
			for range hooks {
				f.subscribe(b, r, webhook.Spec{})
			}
			alice, bob := f.caller(b), f.caller(b)
			th, _, err := f.svc.CreateThread(b.Context(), alice, service.NewThread{Topic: "bench",
				Participants: []service.NewParticipant{{User: bob.User}}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.svc.SendMessage(b.Context(), alice, th.ID, service.NewMessage{Content: "hello"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

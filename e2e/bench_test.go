package e2e

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

// BenchmarkSendToReceive measures send-to-receive latency with 100
// connected recipients in one thread over WebSocket, on the embedded
// default (SQLite, synchronous=FULL): from the moment the sender's request
// is issued until each recipient's client has the event. It reports the
// percentiles over every (message, recipient) pair.
//
//	go test ./e2e -run '^$' -bench SendToReceive -benchtime 500x
func BenchmarkSendToReceive(b *testing.B) {
	const recipients = 100
	e := start(b, func(l *service.Limits) { l.WriteRate = 0 })
	alice := e.newUser()
	users := make([]user, recipients)
	for i := range users {
		users[i] = e.newUser()
	}
	th := e.newThread(alice, users...)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	conns := make([]*rt, recipients)
	for i, u := range users {
		c, _, err := e.dialWS(u.Token, wire.ClientFrame{})
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		c.expect(wire.FrameWelcome)
		c.expect(wire.FrameCaughtUp)
	}
	done := make(chan struct{})
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case f, ok := <-c.frames:
					if !ok {
						return
					}
					if f.Type != wire.FrameEvent || f.Event != "chatMessageReceived" {
						continue
					}
					now := time.Now()
					var d wire.EventData
					json.Unmarshal(f.Data, &d)
					sentAt, _ := strconv.ParseInt(d.Message.Content.Message, 10, 64)
					mu.Lock()
					lat = append(lat, now.Sub(time.Unix(0, sentAt)))
					mu.Unlock()
				case <-done:
					return
				}
			}
		}()
	}
	b.ResetTimer()
	for range b.N {
		e.send(alice, th, strconv.FormatInt(time.Now().UnixNano(), 10))
	}
	want := b.N * recipients
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	close(done)
	for _, c := range conns {
		c.close()
	}
	wg.Wait()
	if len(lat) != want {
		b.Fatalf("got %d deliveries, want %d", len(lat), want)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkResumeAfterGap measures a resume after a long absence: a client
// that missed 1,000 or 10,000 messages of one thread reconnects with its
// cursor, and the time from hello to caughtUp is one op. Every missed
// event must arrive before caughtUp (the benchmark fails otherwise).
//
//	go test ./e2e -run '^$' -bench ResumeAfterGap -benchtime 5x
func BenchmarkResumeAfterGap(b *testing.B) {
	for _, gap := range []int{1000, 10000} {
		b.Run("missed="+strconv.Itoa(gap), func(b *testing.B) {
			e := start(b, func(l *service.Limits) { l.WriteRate = 0 })
			alice, bob := e.newUser(), e.newUser()
			th := e.newThread(alice, bob)
			from := int64(e.threadSeq(th))
			e.sendMany(alice, th, gap, 8)
			for b.Loop() {
				c, _, err := e.dialWS(bob.Token, wire.ClientFrame{Resume: true, Cursor: map[string]int64{th: from}})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for f := c.next(); f.Type != wire.FrameCaughtUp; f = c.next() {
					if f.Type == wire.FrameEvent {
						n++
					}
				}
				if n != gap {
					b.Fatalf("got %d events before caughtUp, want %d", n, gap)
				}
				c.close()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(gap), "µs/event")
		})
	}
}

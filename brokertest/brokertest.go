// Package brokertest is the one conformance suite every herald.Broker
// engine runs (inmem and nats). A broker only
// signals: the suite checks fan-out to every subscriber, per-publisher
// order, unsubscribe and close — not durability, which is the Store's.
package brokertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
)

// Run runs the suite. open returns two handles on one broker: a signal
// published through either must reach subscribers of both (for inmem both
// are the same value; for a networked broker, two nodes).
func Run(t *testing.T, open func(t *testing.T) (a, b herald.Broker)) {
	t.Run("FanOutInOrder", func(t *testing.T) {
		a, b := open(t)
		const n = 200
		got := [2]*collector{newCollector(), newCollector()}
		for i, br := range []herald.Broker{a, b} {
			unsub, err := br.Subscribe(got[i].add)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(unsub)
		}
		for i := 1; i <= n; i++ {
			if err := a.Publish(context.Background(), herald.Signal{Kind: herald.SignalEvent, ThreadID: "t", Seq: herald.Seq(i)}); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range got {
			seqs := c.wait(t, n)
			for j, s := range seqs {
				if s != herald.Seq(j+1) {
					t.Fatalf("subscriber %d: got seq %d at %d, want %d (order kept per publisher)", i, s, j, j+1)
				}
			}
		}
	})
	t.Run("Unsubscribe", func(t *testing.T) {
		a, _ := open(t)
		c := newCollector()
		unsub, err := a.Subscribe(c.add)
		if err != nil {
			t.Fatal(err)
		}
		a.Publish(context.Background(), herald.Signal{Kind: herald.SignalEvent, Seq: 1})
		c.wait(t, 1)
		unsub()
		// A subscriber that stays tells when the next signal went out; Close
		// then hands out everything already received, so c's count is final.
		d := newCollector()
		if _, err := a.Subscribe(d.add); err != nil {
			t.Fatal(err)
		}
		a.Publish(context.Background(), herald.Signal{Kind: herald.SignalEvent, Seq: 2})
		d.wait(t, 1)
		a.Close()
		if got := c.seqs(); len(got) != 1 {
			t.Errorf("got signals %v after unsubscribe, want only 1", got)
		}
	})
	t.Run("PublishAfterClose", func(t *testing.T) {
		a, _ := open(t)
		a.Close()
		if err := a.Publish(context.Background(), herald.Signal{Kind: herald.SignalEvent, Seq: 1}); err == nil {
			t.Errorf("publish after close: got nil error, want an error")
		}
	})
}

type collector struct {
	mu  sync.Mutex
	got []herald.Seq
	ch  chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) add(s herald.Signal) {
	c.mu.Lock()
	c.got = append(c.got, s.Seq)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *collector) seqs() []herald.Seq {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]herald.Seq(nil), c.got...)
}

// wait returns the signals once n have arrived, failing after 5 s.
func (c *collector) wait(t *testing.T, n int) []herald.Seq {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if s := c.seqs(); len(s) >= n {
			return s
		}
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("got %d signals in 5s, want %d", len(c.seqs()), n)
		}
	}
}

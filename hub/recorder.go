package hub

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-chat/herald"
)

// recorder batches the delivery ledger: connections hand it their changed
// delivery runs and the acks they accept, and it writes them every
// interval in one batch each (every commit is an fsync).
type recorder struct {
	ledger herald.Ledger
	clock  herald.Clock
	log    *slog.Logger
	obs    herald.Observer

	mu    sync.Mutex // guards runs and acks
	runs  map[runKey]herald.Delivery
	acks  []herald.Ack
	stop  chan struct{}
	done  chan struct{}
	flush chan chan struct{}

	lost      atomic.Int64 // ledger rows the store refused (see Hub.LostLedgerRows)
	lostSince atomic.Int64 // unix ms of the first loss; 0 before
}

type runKey struct {
	conn   herald.ConnectionID
	thread herald.ThreadID
	from   herald.Seq
}

func newRecorder(l herald.Ledger, clock herald.Clock, every time.Duration, log *slog.Logger, obs herald.Observer) *recorder {
	r := &recorder{ledger: l, clock: clock, log: log, obs: obs, runs: map[runKey]herald.Delivery{},
		stop: make(chan struct{}), done: make(chan struct{}), flush: make(chan chan struct{})}
	go r.loop(every)
	return r
}

func (r *recorder) deliveries(d herald.Delivery) {
	r.mu.Lock()
	r.runs[runKey{d.ConnectionID, d.ThreadID, d.FromSeq}] = d
	r.mu.Unlock()
}

func (r *recorder) ack(a herald.Ack) {
	r.mu.Lock()
	r.acks = append(r.acks, a)
	r.mu.Unlock()
}

func (r *recorder) loop(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.write()
		case ch := <-r.flush:
			r.write()
			close(ch)
		case <-r.stop:
			r.write()
			return
		}
	}
}

func (r *recorder) write() {
	r.mu.Lock()
	runs := make([]herald.Delivery, 0, len(r.runs))
	for _, d := range r.runs {
		runs = append(runs, d)
	}
	clear(r.runs)
	acks := r.acks
	r.acks = nil
	r.mu.Unlock()
	ctx := context.Background()
	if err := r.ledger.RecordDeliveries(ctx, runs); err != nil {
		r.obs.StoreError("ledger")
		r.lose(len(runs))
		r.log.Error("delivery ledger: rows lost, the doctor's reports say so", "rows", len(runs), "err", err)
	}
	if err := r.ledger.RecordAcks(ctx, acks); err != nil {
		r.obs.StoreError("ledger")
		r.lose(len(acks))
		r.log.Error("ack ledger: rows lost, the doctor's reports say so", "rows", len(acks), "err", err)
	}
}

// lose counts n ledger rows the store refused.
func (r *recorder) lose(n int) {
	if n == 0 {
		return
	}
	r.lostSince.CompareAndSwap(0, r.clock.Now().UnixMilli())
	r.lost.Add(int64(n))
}

// sync writes everything recorded so far; for tests and shutdown.
func (r *recorder) sync() {
	ch := make(chan struct{})
	select {
	case r.flush <- ch:
		<-ch
	case <-r.done:
	}
}

func (r *recorder) close() {
	close(r.stop)
	<-r.done
}

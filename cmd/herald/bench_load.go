package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// BenchFanoutCmd is "bench fanout".
type BenchFanoutCmd struct {
	BenchOptions
	Threads      int           `default:"1" help:"Threads, each with its own participants."`
	Participants int           `default:"100" help:"Connected participants per thread, the creator included; each receives every message of its thread."`
	Senders      int           `default:"0" help:"Participants per thread who send, in turn (default: 4, or all if fewer)."`
	Rate         float64       `default:"200" help:"Messages per second, all threads together."`
	Duration     time.Duration `default:"10s" help:"How long to send."`
	Concurrency  int           `default:"64" help:"Most sends in flight at once."`
	Size         int           `default:"0" help:"Pad each message's content to this many bytes."`
	Drain        time.Duration `default:"20s" help:"After the last send, wait at most this long for the deliveries still due."`
}

// Run runs the scenario.
func (c *BenchFanoutCmd) Run(g *Globals) error {
	if c.Rate <= 0 {
		return errors.New("--rate must be positive (bench throughput sends as fast as possible)")
	}
	return benchRunLoad(g, &c.BenchOptions, "fanout", benchLoadSpec{threads: c.Threads, participants: c.Participants, senders: c.Senders,
		rate: c.Rate, duration: c.Duration, concurrency: c.Concurrency, size: c.Size, drain: c.Drain})
}

// BenchThroughputCmd is "bench throughput".
type BenchThroughputCmd struct {
	BenchOptions
	Participants int           `default:"100" help:"Connected participants of the thread, the creator included."`
	Senders      int           `default:"0" help:"Participants who send, in turn (default: 4, or all if fewer)."`
	Duration     time.Duration `default:"10s" help:"How long to send."`
	Concurrency  int           `default:"16" help:"Sends in flight at once, each issued as soon as the previous one is answered."`
	Size         int           `default:"0" help:"Pad each message's content to this many bytes."`
	Drain        time.Duration `default:"20s" help:"After the last send, wait at most this long for the deliveries still due."`
}

// Run runs the scenario.
func (c *BenchThroughputCmd) Run(g *Globals) error {
	return benchRunLoad(g, &c.BenchOptions, "throughput", benchLoadSpec{threads: 1, participants: c.Participants, senders: c.Senders,
		duration: c.Duration, concurrency: c.Concurrency, size: c.Size, drain: c.Drain})
}

// benchLoadSpec is a fanout (rate > 0) or throughput (rate 0) run.
type benchLoadSpec struct {
	threads, participants, senders, concurrency, size int
	rate                                              float64
	duration, drain                                   time.Duration
}

func (s *benchLoadSpec) check() error {
	if s.senders == 0 {
		s.senders = min(4, s.participants)
	}
	switch {
	case s.threads < 1 || s.participants < 1 || s.concurrency < 1:
		return errors.New("--threads, --participants and --concurrency must be at least 1")
	case s.senders < 1 || s.senders > s.participants:
		return fmt.Errorf("--senders must be between 1 and --participants (%d)", s.participants)
	case s.duration <= 0 || s.duration > time.Hour:
		return errors.New("--duration must be positive and at most an hour")
	case s.rate*s.duration.Seconds() > 50_000_000:
		return errors.New("--rate × --duration is more than 50 million messages")
	}
	return nil
}

// benchBitset is a growable set of message indexes.
type benchBitset []uint64

// add sets i and reports whether it was already set.
func (b *benchBitset) add(i int64) (had bool) {
	w := int(i / 64)
	for w >= len(*b) {
		*b = append(*b, 0)
	}
	m := uint64(1) << (i % 64)
	had = (*b)[w]&m != 0
	(*b)[w] |= m
	return had
}

func (b benchBitset) has(i int64) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

// benchReceiver is one connected participant: it reads frames, answers pings,
// and records each message of its thread once, with its latency.
type benchReceiver struct {
	s       benchStream
	thread  int64
	threads int64
	got     benchBitset
	lat     []uint32 // send-to-receive, microseconds
	dups    int64
	foreign int64 // messages of another thread
	last    time.Time
	n       atomic.Int64 // distinct messages received
	closing atomic.Bool  // set before we close it
	err     error        // how it ended
	done    chan struct{}
}

func (rc *benchReceiver) run() {
	defer close(rc.done)
	for {
		f, err := rc.s.next()
		if err != nil {
			rc.err = err
			return
		}
		now := time.Now()
		switch benchFrameType(f) {
		case wire.FrameEvent:
			idx, sent, ok := benchParseContent(f)
			if !ok {
				continue
			}
			if idx%rc.threads != rc.thread {
				rc.foreign++
				continue
			}
			if rc.got.add(idx) {
				rc.dups++
				continue
			}
			rc.lat = append(rc.lat, benchMicros(now.Sub(time.Unix(0, sent))))
			rc.last = now
			rc.n.Add(1)
		case wire.FramePing:
			rc.s.pong()
		}
	}
}

// benchSender is one goroutine issuing sends; its figures are merged at the end.
type benchSender struct {
	reqLat []uint32
	maxLag time.Duration
	fixed  bool
	errs   map[string]int
}

// benchRunLoad sets up spec.threads threads of spec.participants connected
// participants, sends, drains and reports.
func benchRunLoad(g *Globals, o *BenchOptions, scenario string, spec benchLoadSpec) error {
	if err := spec.check(); err != nil {
		return err
	}
	params := map[string]any{"threads": spec.threads, "participants": spec.participants, "senders": spec.senders,
		"duration": spec.duration.String(), "concurrency": spec.concurrency, "size": spec.size}
	if spec.rate > 0 {
		params["rate"] = spec.rate
	}
	r, cancel, err := newBenchRun(g, o, scenario, params)
	if err != nil {
		return err
	}
	defer cancel()
	users, err := r.createUsers(spec.threads * spec.participants)
	if err != nil {
		return err
	}
	groups := make([][]benchUser, spec.threads)
	for t := range groups {
		groups[t] = users[t*spec.participants : (t+1)*spec.participants]
	}
	threads, err := r.createThreads(groups)
	if err != nil {
		return err
	}
	r.res.Setup.SetupSeconds = benchRound1(time.Since(r.start).Seconds())

	rcs, err := r.connectReceivers(users, spec)
	defer benchCloseReceivers(rcs)
	if err != nil {
		return err
	}

	// Send, then drain.
	senders := make([]*client.Client, len(users))
	for i, u := range users {
		senders[i] = r.user(u.Token)
	}
	sc := &benchSendCounter{}
	var lastDelivered int64
	stop := r.progress(func(time.Duration) string {
		d := benchDelivered(rcs)
		l := fmt.Sprintf("%s; delivered %d (%d/s)", sc.progress(), d, d-lastDelivered)
		lastDelivered = d
		return l
	})
	defer stop()
	r.server.mark()
	r.self.mark()
	sendStart := time.Now()
	workers := benchRunSenders(r.ctx, spec.rate, spec.duration, spec.concurrency, func(w *benchSender, idx int64, due time.Time) {
		t := idx % int64(spec.threads)
		from := senders[t*int64(spec.participants)+(idx/int64(spec.threads))%int64(spec.senders)]
		sc.send(r.ctx, w, from, threads[t].ID, idx, due, spec.size)
	})
	sends := sc.summary(workers, time.Since(sendStart))
	expected := sends.Accepted * int64(spec.participants)
	drainUntil := time.Now().Add(spec.drain)
	for benchDelivered(rcs) < expected && time.Now().Before(drainUntil) && r.ctx.Err() == nil && benchAlive(rcs) > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	benchCloseReceivers(rcs)
	r.res.Sends = sends
	r.countDeliveries(rcs, sc.set(), expected, int64(spec.threads), sendStart)
	if d := r.res.Deliveries; d.Lost > 0 && r.ctx.Err() == nil {
		r.note("%d deliveries still missing %s after the last send", d.Lost, spec.drain)
	}
	return r.finish()
}

// connectReceivers connects every participant; each is live once it has
// caughtUp. Participant i is in thread i / spec.participants.
func (r *benchRun) connectReceivers(users []benchUser, spec benchLoadSpec) ([]*benchReceiver, error) {
	connectStart := time.Now()
	rcs := make([]*benchReceiver, len(users))
	var connected atomic.Int64
	stop := r.progress(func(time.Duration) string { return fmt.Sprintf("connect: %d/%d live", connected.Load(), len(users)) })
	defer stop()
	err := benchParallel(r.ctx, len(users), r.o.SetupConcurrency, func(ctx context.Context, i int) error {
		s, err := r.openStream(ctx, users[i].Token)
		if err != nil {
			return fmt.Errorf("connect %s: %w", users[i].ID, err)
		}
		rcs[i] = &benchReceiver{s: s, thread: int64(i / spec.participants), threads: int64(spec.threads), done: make(chan struct{})}
		go rcs[i].run()
		connected.Add(1)
		return nil
	})
	r.res.Setup.Connections = int(connected.Load())
	r.res.Setup.ConnectSeconds = benchRound1(time.Since(connectStart).Seconds())
	return rcs, err
}

// benchDelivered counts the distinct messages received so far.
func benchDelivered(rcs []*benchReceiver) int64 {
	var n int64
	for _, rc := range rcs {
		n += rc.n.Load()
	}
	return n
}

// countDeliveries fills the deliveries, the latencies and the closes from
// the stopped receivers: each accepted message of a receiver's thread
// counts once.
func (r *benchRun) countDeliveries(rcs []*benchReceiver, accepted benchBitset, expected, threads int64, sendStart time.Time) {
	var lat []uint32
	d := &benchDeliveries{Expected: expected}
	var last time.Time
	for _, rc := range rcs {
		for i := rc.thread; i < int64(len(accepted))*64; i += threads {
			if accepted.has(i) && rc.got.has(i) {
				d.Delivered++
			}
		}
		d.Duplicates += rc.dups
		lat = append(lat, rc.lat...)
		if rc.last.After(last) {
			last = rc.last
		}
		if rc.foreign > 0 {
			r.note("%d messages of another thread reached a participant", rc.foreign)
		}
		if rc.err != nil && !rc.closing.Load() {
			if r.res.Closes == nil {
				r.res.Closes = map[string]int{}
			}
			r.res.Closes[benchCloseKey(rc.err)]++
		}
	}
	d.Lost = d.Expected - d.Delivered
	if !last.IsZero() {
		d.Seconds = benchRound3(last.Sub(sendStart).Seconds())
		d.PerSec = benchRound1(float64(d.Delivered) / last.Sub(sendStart).Seconds())
	}
	r.res.Deliveries, r.res.LatencyMs = d, benchLatencies(lat)
}

// benchSendCounter sends the messages of a run and counts the answers.
type benchSendCounter struct {
	attempted, accepted, failed atomic.Int64

	mu          sync.Mutex // guards accepted
	acceptedSet benchBitset
}

// send sends message idx as from to thread, its content carrying the moment
// the request is issued; due is when a fixed rate wanted it issued.
func (sc *benchSendCounter) send(ctx context.Context, w *benchSender, from *client.Client, thread string, idx int64, due time.Time, size int) {
	issued := time.Now()
	if !due.IsZero() {
		w.maxLag = max(w.maxLag, issued.Sub(due))
		w.fixed = true
	}
	sc.attempted.Add(1)
	_, err := from.SendMessage(ctx, thread, wire.SendMessageRequest{Content: benchContent(idx, issued, size)}, "")
	if err != nil {
		if ctx.Err() == nil {
			sc.failed.Add(1)
			w.errs[benchSendError(err)]++
		}
		return
	}
	w.reqLat = append(w.reqLat, benchMicros(time.Since(issued)))
	sc.mu.Lock()
	sc.acceptedSet.add(idx)
	sc.mu.Unlock()
	sc.accepted.Add(1)
}

func (sc *benchSendCounter) progress() string {
	return fmt.Sprintf("sent %d (%d failed)", sc.accepted.Load(), sc.failed.Load())
}

// set returns the indexes of the accepted messages.
func (sc *benchSendCounter) set() benchBitset {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return slices.Clone(sc.acceptedSet)
}

// summary merges the senders' figures.
func (sc *benchSendCounter) summary(workers []*benchSender, el time.Duration) *benchSends {
	s := &benchSends{Attempted: sc.attempted.Load(), Accepted: sc.accepted.Load(), Failed: sc.failed.Load(),
		Seconds: benchRound3(el.Seconds()), PerSec: benchRound1(float64(sc.accepted.Load()) / el.Seconds()), Errors: map[string]int{}}
	var reqLat []uint32
	for _, w := range workers {
		reqLat = append(reqLat, w.reqLat...)
		s.MaxLagMs = max(s.MaxLagMs, benchRound3(float64(w.maxLag.Microseconds())/1000))
		for k, v := range w.errs {
			s.Errors[k] += v
		}
	}
	s.RequestMs = benchLatencies(reqLat)
	return s
}

// benchRunSenders calls send from concurrency goroutines: at a fixed total
// rate (messages due at start + idx/rate) for duration, or with rate 0 as
// fast as they are answered until duration has passed. It returns when
// every send has returned.
func benchRunSenders(ctx context.Context, rate float64, duration time.Duration, concurrency int,
	send func(w *benchSender, idx int64, due time.Time)) []*benchSender {
	start := time.Now()
	workers := make([]*benchSender, concurrency)
	var wg sync.WaitGroup
	due := func(idx int64) time.Time { return start.Add(time.Duration(float64(idx) / rate * float64(time.Second))) }
	if rate > 0 {
		jobs := make(chan int64, concurrency)
		for i := range workers {
			workers[i] = &benchSender{errs: map[string]int{}}
			wg.Add(1)
			go func(w *benchSender) {
				defer wg.Done()
				for idx := range jobs {
					send(w, idx, due(idx))
				}
			}(workers[i])
		}
		total := int64(rate * duration.Seconds())
	schedule:
		for idx := range total {
			if d := time.Until(due(idx)); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					break schedule
				}
			}
			select {
			case jobs <- idx:
			case <-ctx.Done():
				break schedule
			}
		}
		close(jobs)
	} else {
		deadline := start.Add(duration)
		var next atomic.Int64
		for i := range workers {
			workers[i] = &benchSender{errs: map[string]int{}}
			wg.Add(1)
			go func(w *benchSender) {
				defer wg.Done()
				for time.Now().Before(deadline) && ctx.Err() == nil {
					send(w, next.Add(1)-1, time.Time{})
				}
			}(workers[i])
		}
	}
	wg.Wait()
	return workers
}

// benchSendError names a failed send for the error counts.
func benchSendError(err error) string {
	if s := client.Status(err); s != 0 {
		return fmt.Sprintf("%d %s", s, herald.ErrorReason(err))
	}
	return "network"
}

// benchAlive counts receivers still reading.
func benchAlive(rcs []*benchReceiver) int {
	n := 0
	for _, rc := range rcs {
		select {
		case <-rc.done:
		default:
			n++
		}
	}
	return n
}

// benchCloseReceivers closes every stream and waits for the readers to end.
func benchCloseReceivers(rcs []*benchReceiver) {
	for _, rc := range rcs {
		if rc != nil && rc.closing.CompareAndSwap(false, true) {
			rc.s.close()
		}
	}
	for _, rc := range rcs {
		if rc != nil {
			<-rc.done
		}
	}
}

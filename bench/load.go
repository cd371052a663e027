package bench

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

// FanoutCmd is "bench fanout".
type FanoutCmd struct {
	Options
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
func (c *FanoutCmd) Run(env *Env) error {
	if c.Rate <= 0 {
		return errors.New("--rate must be positive (bench throughput sends as fast as possible)")
	}
	return runLoad(env, &c.Options, "fanout", loadSpec{threads: c.Threads, participants: c.Participants, senders: c.Senders,
		rate: c.Rate, duration: c.Duration, concurrency: c.Concurrency, size: c.Size, drain: c.Drain})
}

// ThroughputCmd is "bench throughput".
type ThroughputCmd struct {
	Options
	Participants int           `default:"100" help:"Connected participants of the thread, the creator included."`
	Senders      int           `default:"0" help:"Participants who send, in turn (default: 4, or all if fewer)."`
	Duration     time.Duration `default:"10s" help:"How long to send."`
	Concurrency  int           `default:"16" help:"Sends in flight at once, each issued as soon as the previous one is answered."`
	Size         int           `default:"0" help:"Pad each message's content to this many bytes."`
	Drain        time.Duration `default:"20s" help:"After the last send, wait at most this long for the deliveries still due."`
}

// Run runs the scenario.
func (c *ThroughputCmd) Run(env *Env) error {
	return runLoad(env, &c.Options, "throughput", loadSpec{threads: 1, participants: c.Participants, senders: c.Senders,
		duration: c.Duration, concurrency: c.Concurrency, size: c.Size, drain: c.Drain})
}

// loadSpec is a fanout (rate > 0) or throughput (rate 0) run.
type loadSpec struct {
	threads, participants, senders, concurrency, size int
	rate                                              float64
	duration, drain                                   time.Duration
}

func (s *loadSpec) check() error {
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

// bitset is a growable set of message indexes.
type bitset []uint64

// add sets i and reports whether it was already set.
func (b *bitset) add(i int64) (had bool) {
	w := int(i / 64)
	for w >= len(*b) {
		*b = append(*b, 0)
	}
	m := uint64(1) << (i % 64)
	had = (*b)[w]&m != 0
	(*b)[w] |= m
	return had
}

func (b bitset) has(i int64) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

// receiver is one connected participant: it reads frames, answers pings,
// and records each message of its thread once, with its latency.
type receiver struct {
	s       stream
	thread  int64
	threads int64
	got     bitset
	lat     []uint32 // send-to-receive, microseconds
	dups    int64
	foreign int64 // messages of another thread
	last    time.Time
	n       atomic.Int64 // distinct messages received
	closing atomic.Bool  // set before we close it
	err     error        // how it ended
	done    chan struct{}
}

func (rc *receiver) run() {
	defer close(rc.done)
	for {
		f, err := rc.s.next()
		if err != nil {
			rc.err = err
			return
		}
		now := time.Now()
		switch frameType(f) {
		case wire.FrameEvent:
			idx, sent, ok := parseContent(f)
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
			rc.lat = append(rc.lat, micros(now.Sub(time.Unix(0, sent))))
			rc.last = now
			rc.n.Add(1)
		case wire.FramePing:
			rc.s.pong()
		}
	}
}

// sender is one goroutine issuing sends; its figures are merged at the end.
type sender struct {
	reqLat []uint32
	maxLag time.Duration
	fixed  bool
	errs   map[string]int
}

// runLoad sets up spec.threads threads of spec.participants connected
// participants, sends, drains and reports.
func runLoad(env *Env, o *Options, scenario string, spec loadSpec) error {
	if err := spec.check(); err != nil {
		return err
	}
	params := map[string]any{"threads": spec.threads, "participants": spec.participants, "senders": spec.senders,
		"duration": spec.duration.String(), "concurrency": spec.concurrency, "size": spec.size}
	if spec.rate > 0 {
		params["rate"] = spec.rate
	}
	r, cancel, err := newRunner(env, o, scenario, params)
	if err != nil {
		return err
	}
	defer cancel()
	users, err := r.createUsers(spec.threads * spec.participants)
	if err != nil {
		return err
	}
	groups := make([][]user, spec.threads)
	for t := range groups {
		groups[t] = users[t*spec.participants : (t+1)*spec.participants]
	}
	threads, err := r.createThreads(groups)
	if err != nil {
		return err
	}
	r.res.Setup.SetupSeconds = round1(time.Since(r.start).Seconds())

	rcs, err := r.connectReceivers(users, spec)
	defer closeReceivers(rcs)
	if err != nil {
		return err
	}

	// Send, then drain.
	senders := make([]*client.Client, len(users))
	for i, u := range users {
		senders[i] = r.user(u.Token)
	}
	sc := &sendCounter{}
	var lastDelivered int64
	stop := r.progress(func(time.Duration) string {
		d := deliveredCount(rcs)
		l := fmt.Sprintf("%s; delivered %d (%d/s)", sc.progress(), d, d-lastDelivered)
		lastDelivered = d
		return l
	})
	defer stop()
	r.server.mark()
	r.self.mark()
	sendStart := time.Now()
	workers := runSenders(r.ctx, spec.rate, spec.duration, spec.concurrency, func(w *sender, idx int64, due time.Time) {
		t := idx % int64(spec.threads)
		from := senders[t*int64(spec.participants)+(idx/int64(spec.threads))%int64(spec.senders)]
		sc.send(r.ctx, w, from, threads[t].ID, idx, due, spec.size)
	})
	sends := sc.summary(workers, time.Since(sendStart))
	expected := sends.Accepted * int64(spec.participants)
	drainUntil := time.Now().Add(spec.drain)
	for deliveredCount(rcs) < expected && time.Now().Before(drainUntil) && r.ctx.Err() == nil && aliveCount(rcs) > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	closeReceivers(rcs)
	r.res.Sends = sends
	r.countDeliveries(rcs, sc.set(), expected, int64(spec.threads), sendStart)
	if d := r.res.Deliveries; d.Lost > 0 && r.ctx.Err() == nil {
		r.note("%d deliveries still missing %s after the last send", d.Lost, spec.drain)
	}
	return r.finish()
}

// connectReceivers connects every participant; each is live once it has
// caughtUp. Participant i is in thread i / spec.participants.
func (r *runner) connectReceivers(users []user, spec loadSpec) ([]*receiver, error) {
	connectStart := time.Now()
	rcs := make([]*receiver, len(users))
	var connected atomic.Int64
	stop := r.progress(func(time.Duration) string { return fmt.Sprintf("connect: %d/%d live", connected.Load(), len(users)) })
	defer stop()
	err := parallel(r.ctx, len(users), r.o.SetupConcurrency, func(ctx context.Context, i int) error {
		s, err := r.openStream(ctx, users[i].Token)
		if err != nil {
			return fmt.Errorf("connect %s: %w", users[i].ID, err)
		}
		rcs[i] = &receiver{s: s, thread: int64(i / spec.participants), threads: int64(spec.threads), done: make(chan struct{})}
		go rcs[i].run()
		connected.Add(1)
		return nil
	})
	r.res.Setup.Connections = int(connected.Load())
	r.res.Setup.ConnectSeconds = round1(time.Since(connectStart).Seconds())
	return rcs, err
}

// deliveredCount counts the distinct messages received so far.
func deliveredCount(rcs []*receiver) int64 {
	var n int64
	for _, rc := range rcs {
		n += rc.n.Load()
	}
	return n
}

// countDeliveries fills the deliveries, the latencies and the closes from
// the stopped receivers: each accepted message of a receiver's thread
// counts once.
func (r *runner) countDeliveries(rcs []*receiver, accepted bitset, expected, threads int64, sendStart time.Time) {
	var lat []uint32
	d := &Deliveries{Expected: expected}
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
			r.res.Closes[closeKey(rc.err)]++
		}
	}
	d.Lost = d.Expected - d.Delivered
	if !last.IsZero() {
		d.Seconds = round3(last.Sub(sendStart).Seconds())
		d.PerSec = round1(float64(d.Delivered) / last.Sub(sendStart).Seconds())
	}
	r.res.Deliveries, r.res.LatencyMs = d, latencies(lat)
}

// sendCounter sends the messages of a run and counts the answers.
type sendCounter struct {
	attempted, accepted, failed atomic.Int64

	mu          sync.Mutex // guards accepted
	acceptedSet bitset
}

// send sends message idx as from to thread, its content carrying the moment
// the request is issued; due is when a fixed rate wanted it issued.
func (sc *sendCounter) send(ctx context.Context, w *sender, from *client.Client, thread string, idx int64, due time.Time, size int) {
	issued := time.Now()
	if !due.IsZero() {
		w.maxLag = max(w.maxLag, issued.Sub(due))
		w.fixed = true
	}
	sc.attempted.Add(1)
	_, err := from.SendMessage(ctx, thread, wire.SendMessageRequest{Content: content(idx, issued, size)}, "")
	if err != nil {
		if ctx.Err() == nil {
			sc.failed.Add(1)
			w.errs[sendError(err)]++
		}
		return
	}
	w.reqLat = append(w.reqLat, micros(time.Since(issued)))
	sc.mu.Lock()
	sc.acceptedSet.add(idx)
	sc.mu.Unlock()
	sc.accepted.Add(1)
}

func (sc *sendCounter) progress() string {
	return fmt.Sprintf("sent %d (%d failed)", sc.accepted.Load(), sc.failed.Load())
}

// set returns the indexes of the accepted messages.
func (sc *sendCounter) set() bitset {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return slices.Clone(sc.acceptedSet)
}

// summary merges the senders' figures.
func (sc *sendCounter) summary(workers []*sender, el time.Duration) *Sends {
	s := &Sends{Attempted: sc.attempted.Load(), Accepted: sc.accepted.Load(), Failed: sc.failed.Load(),
		Seconds: round3(el.Seconds()), PerSec: round1(float64(sc.accepted.Load()) / el.Seconds()), Errors: map[string]int{}}
	var reqLat []uint32
	for _, w := range workers {
		reqLat = append(reqLat, w.reqLat...)
		s.MaxLagMs = max(s.MaxLagMs, round3(float64(w.maxLag.Microseconds())/1000))
		for k, v := range w.errs {
			s.Errors[k] += v
		}
	}
	s.RequestMs = latencies(reqLat)
	return s
}

// runSenders calls send from concurrency goroutines: at a fixed total
// rate (messages due at start + idx/rate) for duration, or with rate 0 as
// fast as they are answered until duration has passed. It returns when
// every send has returned.
func runSenders(ctx context.Context, rate float64, duration time.Duration, concurrency int,
	send func(w *sender, idx int64, due time.Time)) []*sender {
	start := time.Now()
	workers := make([]*sender, concurrency)
	var wg sync.WaitGroup
	due := func(idx int64) time.Time { return start.Add(time.Duration(float64(idx) / rate * float64(time.Second))) }
	if rate > 0 {
		jobs := make(chan int64, concurrency)
		for i := range workers {
			workers[i] = &sender{errs: map[string]int{}}
			wg.Add(1)
			go func(w *sender) {
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
			workers[i] = &sender{errs: map[string]int{}}
			wg.Add(1)
			go func(w *sender) {
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

// sendError names a failed send for the error counts.
func sendError(err error) string {
	if s := client.Status(err); s != 0 {
		return fmt.Sprintf("%d %s", s, herald.ErrorReason(err))
	}
	return "network"
}

// aliveCount counts receivers still reading.
func aliveCount(rcs []*receiver) int {
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

// closeReceivers closes every stream and waits for the readers to end.
func closeReceivers(rcs []*receiver) {
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

package bench

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
)

// ResumeCmd is "bench resume".
type ResumeCmd struct {
	Options
	Participants int           `default:"20" help:"Participants of the thread, each a Go SDK real-time client."`
	Senders      int           `default:"0" help:"Participants who send, in turn (default: 4, or all if fewer)."`
	Rate         float64       `default:"100" help:"Messages per second."`
	Duration     time.Duration `default:"10s" help:"How long to send."`
	Drops        int           `default:"3" help:"Times each client's network is cut while the sends go on."`
	GapMin       time.Duration `name:"gap-min" default:"100ms" help:"Shortest time a client stays cut off."`
	GapMax       time.Duration `name:"gap-max" default:"3s" help:"Longest time a client stays cut off."`
	Seed         uint64        `default:"1" help:"Seed of the drop times and gaps."`
	Drain        time.Duration `default:"30s" help:"After the last send, wait at most this long for every client to have every message."`
}

type Resume struct {
	Clients      int      `json:"clients"`
	Drops        int      `json:"drops"`
	Resumes      int      `json:"resumes"` // connections after a drop that reached caughtUp
	GapMinMs     float64  `json:"gapMinMs"`
	GapMaxMs     float64  `json:"gapMaxMs"`
	Expected     int64    `json:"expected"`
	Delivered    int64    `json:"delivered"`
	Replayed     int64    `json:"replayed"` // events the server sent from history on resume
	Missed       int64    `json:"missed"`
	Duplicates   int64    `json:"duplicates"`
	RecoveredPct float64  `json:"recoveredPct"` // replayed / (replayed + missed)
	ResumeMs     *Latency `json:"resumeMs"`     // the successful open after a drop to caughtUp
	ReconnectMs  *Latency `json:"reconnectMs"`  // the end of the gap to caughtUp (client backoff included)
}

// Run runs the scenario.
func (c *ResumeCmd) Run(env *Env) error {
	if c.Senders == 0 {
		c.Senders = min(4, c.Participants)
	}
	switch {
	case c.Participants < 1 || c.Senders < 1 || c.Senders > c.Participants:
		return errors.New("--participants must be at least 1, and --senders between 1 and --participants")
	case c.Rate <= 0 || c.Duration <= 0 || c.Duration > time.Hour:
		return errors.New("--rate must be positive, --duration between 0 and an hour")
	case c.GapMin < 0 || c.GapMax < c.GapMin || c.Drops < 0 || c.Drops > 1000:
		return errors.New("want 0 <= --gap-min <= --gap-max and 0 <= --drops <= 1000")
	}
	r, cancel, err := newRunner(env, &c.Options, "resume", map[string]any{"participants": c.Participants, "senders": c.Senders,
		"rate": c.Rate, "duration": c.Duration.String(), "drops": c.Drops, "gapMin": c.GapMin.String(), "gapMax": c.GapMax.String(), "seed": c.Seed})
	if err != nil {
		return err
	}
	defer cancel()
	users, err := r.createUsers(c.Participants)
	if err != nil {
		return err
	}
	threads, err := r.createThreads([][]user{users})
	if err != nil {
		return err
	}
	r.res.Setup.SetupSeconds = round1(time.Since(r.start).Seconds())

	// Start a Realtime per participant, each through a dialer we can cut.
	rctx, stopClients := context.WithCancel(r.ctx)
	defer stopClients()
	clients := make([]*resumeClient, len(users))
	var wg sync.WaitGroup
	connectStart := time.Now()
	for i, u := range users {
		rc := newResumeClient(r, u.Token, c.Transport)
		clients[i] = rc
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc.err = rc.rt.Start(rctx)
		}()
	}
	defer func() { stopClients(); wg.Wait() }()
	for _, rc := range clients {
		select {
		case <-rc.live:
		case <-r.ctx.Done():
			return fmt.Errorf("clients did not connect: %w", r.ctx.Err())
		}
	}
	r.res.Setup.Connections = len(clients)
	r.res.Setup.ConnectSeconds = round1(time.Since(connectStart).Seconds())

	// Cut each client off c.Drops times at random moments of the sending,
	// for a random gap, while the sends go on.
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	var drops sync.WaitGroup
	dropCtx, stopDrops := context.WithCancel(r.ctx)
	defer stopDrops()
	for _, rc := range clients {
		plan := dropPlan(rng, c.Drops, c.Duration, c.GapMin, c.GapMax)
		drops.Add(1)
		go func() {
			defer drops.Done()
			rc.follow(dropCtx, plan)
		}()
	}
	senders := make([]*client.Client, c.Senders)
	for i := range senders {
		senders[i] = r.user(users[i].Token)
	}
	sc := &sendCounter{}
	stop := r.progress(func(time.Duration) string {
		var got, off int64
		for _, rc := range clients {
			got += rc.count.Load()
			if rc.dialer.offline() {
				off++
			}
		}
		return fmt.Sprintf("%s; received %d; %d clients cut off", sc.progress(), got, off)
	})
	defer stop()
	r.server.mark()
	r.self.mark()
	sendStart := time.Now()
	workers := runSenders(r.ctx, c.Rate, c.Duration, 8, func(w *sender, idx int64, due time.Time) {
		sc.send(r.ctx, w, senders[idx%int64(c.Senders)], threads[0].ID, idx, due, 0)
	})
	r.res.Sends = sc.summary(workers, time.Since(sendStart))
	drops.Wait()
	accepted := sc.set()
	expected := r.res.Sends.Accepted
	drainUntil := time.Now().Add(c.Drain)
	for time.Now().Before(drainUntil) && r.ctx.Err() == nil && !allHave(clients, accepted, expected) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	stopClients()
	wg.Wait()

	res := countResumes(clients, accepted, expected)
	res.GapMinMs, res.GapMaxMs = float64(c.GapMin.Milliseconds()), float64(c.GapMax.Milliseconds())
	for _, rc := range clients {
		if rc.err != nil {
			r.note("a client ended: %v", rc.err)
		}
	}
	r.res.Resume = res
	r.res.Deliveries = &Deliveries{Expected: res.Expected, Delivered: res.Delivered, Lost: res.Missed, Duplicates: res.Duplicates}
	return r.finish()
}

// countResumes sums the clients' figures once they have stopped.
func countResumes(clients []*resumeClient, accepted bitset, expected int64) *Resume {
	res := &Resume{Clients: len(clients), Expected: expected * int64(len(clients))}
	var resumes, reconnects []uint32
	for _, rc := range clients {
		rc.mu.Lock()
		res.Drops += rc.drops
		res.Replayed += rc.replayed
		res.Duplicates += rc.dups
		res.Delivered += rc.have(accepted)
		resumes = append(resumes, rc.resumes...)
		reconnects = append(reconnects, rc.reconnects...)
		rc.mu.Unlock()
	}
	res.Resumes = len(resumes)
	res.Missed = res.Expected - res.Delivered
	res.RecoveredPct = 100
	if res.Replayed+res.Missed > 0 {
		res.RecoveredPct = round1(100 * float64(res.Replayed) / float64(res.Replayed+res.Missed))
	}
	res.ResumeMs, res.ReconnectMs = latencies(resumes), latencies(reconnects)
	return res
}

// dropPlan picks n moments in the middle 80% of the sending and a gap for
// each, so that a client is back (a gap and a second later) before its
// next drop.
func dropPlan(rng *rand.Rand, n int, d, gapMin, gapMax time.Duration) []drop {
	plan := make([]drop, n)
	for i := range plan {
		plan[i].at = d/10 + time.Duration(rng.Int64N(int64(d*8/10)+1))
		plan[i].gap = gapMin + time.Duration(rng.Int64N(int64(gapMax-gapMin)+1))
	}
	slices.SortFunc(plan, func(a, b drop) int { return int(a.at - b.at) })
	for i := 1; i < n; i++ {
		plan[i].at = max(plan[i].at, plan[i-1].at+plan[i-1].gap+time.Second)
	}
	return plan
}

type drop struct{ at, gap time.Duration }

// allHave reports whether every client has every accepted message.
func allHave(clients []*resumeClient, accepted bitset, n int64) bool {
	for _, rc := range clients {
		if rc.count.Load() < n {
			return false
		}
		rc.mu.Lock()
		h := rc.have(accepted)
		rc.mu.Unlock()
		if h < n {
			return false
		}
	}
	return true
}

// resumeClient is one Go SDK Realtime whose network can be cut.
type resumeClient struct {
	rt     *client.Realtime
	dialer *cuttableDialer
	live   chan struct{} // closed at the first caughtUp
	count  atomic.Int64  // distinct messages received
	err    error         // what Start returned

	mu         sync.Mutex // guards the fields below
	got        bitset
	dups       int64
	replayed   int64
	drops      int
	dropped    bool // a drop awaits its resume
	resumes    []uint32
	reconnects []uint32
	liveOnce   sync.Once
}

func newResumeClient(r *runner, token, transport string) *resumeClient {
	d := &cuttableDialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, DisableCompression: true}}
	rc := &resumeClient{dialer: d, live: make(chan struct{})}
	cl := client.New(r.env.URL, client.StaticToken(token), client.WithHTTPClient(hc), client.WithUserAgent(userAgent))
	rc.rt = cl.Realtime(client.RealtimeOptions{Transport: transport,
		Backoff: client.Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond}})
	rc.rt.On(herald.EventMessageReceived, rc.event)
	rc.rt.OnState(rc.state)
	return rc
}

func (rc *resumeClient) event(_ context.Context, ev client.Event) error {
	if ev.Data.Message == nil || ev.Data.Message.Content == nil {
		return nil
	}
	idx, _, ok := parseContent([]byte(`"message":"` + ev.Data.Message.Content.Message))
	if !ok {
		return nil
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.got.add(idx) {
		rc.dups++
		return nil
	}
	if ev.Replayed {
		rc.replayed++
	}
	rc.count.Add(1)
	return nil
}

func (rc *resumeClient) state(sc client.StateChange) {
	if sc.State != client.StateConnected || !sc.CaughtUp {
		return
	}
	rc.liveOnce.Do(func() { close(rc.live) })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.dropped {
		return
	}
	rc.dropped = false
	dial, gapEnd := rc.dialer.times()
	rc.resumes = append(rc.resumes, micros(sc.At.Sub(dial)))
	rc.reconnects = append(rc.reconnects, micros(sc.At.Sub(gapEnd)))
}

// follow cuts the client off as plan says, counted from now.
func (rc *resumeClient) follow(ctx context.Context, plan []drop) {
	start := time.Now()
	for _, p := range plan {
		select {
		case <-time.After(time.Until(start.Add(p.at))):
		case <-ctx.Done():
			return
		}
		rc.mu.Lock()
		rc.drops++
		rc.dropped = true
		rc.mu.Unlock()
		rc.dialer.cut(p.gap)
	}
}

// have counts the accepted messages the client received; call with mu held.
func (rc *resumeClient) have(accepted bitset) int64 {
	var n int64
	for i := range accepted {
		if i < len(rc.got) {
			n += int64(bits.OnesCount64(accepted[i] & rc.got[i]))
		}
	}
	return n
}

// cuttableDialer dials TCP connections it can all close at once, and
// refuses to dial while cut off.
type cuttableDialer struct {
	mu       sync.Mutex // guards the fields below
	conns    []net.Conn
	until    time.Time // cut off until
	lastDial time.Time // start of the last dial allowed
}

var errBenchCutOff = errors.New("bench: network cut off")

// DialContext dials unless cut off.
func (d *cuttableDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	if time.Now().Before(d.until) {
		d.mu.Unlock()
		return nil, errBenchCutOff
	}
	d.lastDial = time.Now()
	d.mu.Unlock()
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.conns = append(d.conns, c)
	d.mu.Unlock()
	return c, nil
}

// cut closes every connection and refuses new ones for gap.
func (d *cuttableDialer) cut(gap time.Duration) {
	d.mu.Lock()
	conns := d.conns
	d.conns, d.until = nil, time.Now().Add(gap)
	d.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (d *cuttableDialer) offline() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return time.Now().Before(d.until)
}

// times returns when the last allowed dial started and when the last gap
// ended.
func (d *cuttableDialer) times() (dial, gapEnd time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastDial, d.until
}

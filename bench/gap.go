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
)

// GapCmd is "bench gap": resume after a long absence.
type GapCmd struct {
	Options
	Missed          []int         `default:"1000,10000" placeholder:"N" help:"Messages sent while the receiver is away, per round; one run per N."`
	Participants    int           `default:"2" help:"Participants of the thread: the receiver and the participants who send."`
	Senders         int           `default:"4" help:"Sends in flight at once while the receiver is away (one message per request, from the participants other than the receiver in turn)."`
	Rounds          int           `default:"3" help:"Absences per N."`
	CaughtUpTimeout time.Duration `name:"caught-up-timeout" default:"60s" help:"Longest wait for caughtUp after reconnecting, and for a connection to close."`
}

// Help is the longer help of bench gap.
func (c *GapCmd) Help() string {
	return `One thread; one receiver on the Go SDK's Realtime. It connects, reaches caughtUp and closes cleanly,
keeping its cursor. While it is away the senders send N messages over REST and wait for every answer; then
the receiver opens a new connection that resumes from its cursor. Resume time is from the "connecting"
state the SDK reports just before it dials and sends hello (the dial, and the WebSocket upgrade or the SSE
request, included: the welcome figure shows how much) to the caughtUp state. Recovered counts the messages of the gap that the handler took before caughtUp;
missed is the accepted sends of the gap minus them; duplicates are messages handed to the handler twice
(the SDK itself drops events at or below its cursor). Events/s is recovered over the summed resume times.`
}

// Gap is what bench gap measured, per N and in all.
type Gap struct {
	Runs         []GapRow `json:"runs"`
	Expected     int64    `json:"expected"`
	Recovered    int64    `json:"recovered"`
	Missed       int64    `json:"missed"`
	Duplicates   int64    `json:"duplicates"`
	RecoveredPct float64  `json:"recoveredPct"` // recovered / expected
}

// GapRow is the rounds of one N.
type GapRow struct {
	Gap           int      `json:"gap"`           // messages sent while away, per round
	Rounds        int      `json:"rounds"`        // rounds that reached caughtUp
	Expected      int64    `json:"expected"`      // sends accepted while away, all rounds
	Recovered     int64    `json:"recovered"`     // of them, taken before caughtUp
	Missed        int64    `json:"missed"`        // expected - recovered
	Duplicates    int64    `json:"duplicates"`    // taken a second time
	AfterCaughtUp int64    `json:"afterCaughtUp"` // of the gap, taken after caughtUp
	Retries       int      `json:"retries"`       // connection attempts beyond one per round
	ResumeFailed  int      `json:"resumeFailed"`  // threads the server could not replay
	ResumeMs      *Latency `json:"resumeMs"`      // connecting to caughtUp, per round
	WelcomeMs     *Latency `json:"welcomeMs"`     // connecting to welcome, per round
	EventsPerSec  float64  `json:"eventsPerSec"`  // recovered / summed resume time
	SendsPerSec   float64  `json:"sendsPerSec"`   // accepted sends / time spent sending the gaps
}

// Run runs the scenario.
func (c *GapCmd) Run(env *Env) error {
	switch {
	case len(c.Missed) == 0 || slices.Min(c.Missed) < 1 || slices.Max(c.Missed) > 1_000_000:
		return errors.New("--missed must list numbers between 1 and 1,000,000")
	case c.Participants < 2 || c.Senders < 1 || c.Rounds < 1 || c.Rounds > 1000:
		return errors.New("--participants must be at least 2, --senders at least 1, --rounds between 1 and 1000")
	case c.CaughtUpTimeout <= 0:
		return errors.New("--caught-up-timeout must be positive")
	}
	r, cancel, err := newRunner(env, &c.Options, "gap", map[string]any{"missed": c.Missed, "participants": c.Participants,
		"senders": c.Senders, "rounds": c.Rounds})
	if err != nil {
		return err
	}
	defer cancel()
	users, thread, err := r.createThreadOf(c.Participants)
	if err != nil {
		return err
	}
	s := &gapRun{c: c, r: r, thread: thread.ID, sc: &sendCounter{},
		rc: &gapReceiver{r: r, token: users[0].Token, cursors: client.NewMemoryCursors(), wait: c.CaughtUpTimeout}}
	for _, u := range users[1:] {
		s.senders = append(s.senders, r.user(u.Token))
	}
	s.say("connecting")
	stop := r.progress(func(time.Duration) string {
		return fmt.Sprintf("%s; %s; receiver took %d", *s.phase.Load(), s.sc.progress(), s.rc.taken.Load())
	})
	defer stop()

	// The first visit only places the cursor at the thread's head.
	connectStart := time.Now()
	if _, err := s.rc.visit(0, 0); err != nil {
		return err
	}
	r.res.Setup.Connections = 1
	r.res.Setup.ConnectSeconds = round1(time.Since(connectStart).Seconds())
	r.server.mark()
	r.self.mark()
	res := &Gap{}
	for _, n := range c.Missed {
		row, err := s.rounds(n)
		res.add(row)
		if err != nil {
			r.note("%v", err)
			break
		}
	}
	stop()
	r.res.Sends = s.sc.summary(s.workers, s.sending)
	r.res.Gap = res
	return r.finish()
}

// createThreadOf creates n identities and one thread of them, and records
// the time the setup took.
func (r *runner) createThreadOf(n int) ([]user, thread, error) {
	users, err := r.createUsers(n)
	if err != nil {
		return nil, thread{}, err
	}
	threads, err := r.createThreads([][]user{users})
	if err != nil {
		return nil, thread{}, err
	}
	r.res.Setup.SetupSeconds = round1(time.Since(r.start).Seconds())
	return users, threads[0], nil
}

// gapRun is a run of bench gap under way.
type gapRun struct {
	c       *GapCmd
	r       *runner
	rc      *gapReceiver
	sc      *sendCounter
	senders []*client.Client // the participants other than the receiver
	thread  string
	phase   atomic.Pointer[string] // what the progress line says
	workers []*sender              // every sender so far
	sending time.Duration          // time spent sending, all gaps
	next    int64                  // index of the next message
}

func (s *gapRun) say(format string, args ...any) {
	p := fmt.Sprintf(format, args...)
	s.phase.Store(&p)
}

// rounds runs the --rounds absences of n messages each.
func (s *gapRun) rounds(n int) (GapRow, error) {
	row := GapRow{Gap: n}
	var resumes, welcomes []uint32
	var resumeTime, sendTime time.Duration
	accepted0, lo := s.sc.accepted.Load(), s.next
	var err error
	for round := 1; round <= s.c.Rounds && err == nil; round++ {
		s.say("N=%d round %d/%d: sending", n, round, s.c.Rounds)
		t := time.Now()
		s.workers = append(s.workers, sendRange(s.r.ctx, s.sc, s.senders, s.thread, s.next, s.next+int64(n), s.c.Senders)...)
		sendTime += time.Since(t)
		s.next += int64(n)
		if s.r.ctx.Err() != nil {
			err = fmt.Errorf("N=%d round %d: sending the gap: %w", n, round, s.r.ctx.Err())
			break
		}
		s.say("N=%d round %d/%d: resuming", n, round, s.c.Rounds)
		v, verr := s.rc.visit(s.next-int64(n), s.next)
		row.Duplicates += v.dups
		row.AfterCaughtUp += v.after
		row.Retries += max(v.attempts-1, 0)
		row.ResumeFailed += v.resumeFailed
		if verr != nil {
			err = fmt.Errorf("N=%d round %d: %w", n, round, verr)
			break
		}
		row.Rounds++
		resumes = append(resumes, micros(v.caughtUp.Sub(v.opened)))
		welcomes = append(welcomes, micros(v.welcomed.Sub(v.opened)))
		resumeTime += v.caughtUp.Sub(v.opened)
	}
	accepted := s.sc.set()
	for i := lo; i < s.next; i++ {
		if accepted.has(i) {
			row.Expected++
			if s.rc.before(i) {
				row.Recovered++
			}
		}
	}
	row.Missed = row.Expected - row.Recovered
	row.ResumeMs, row.WelcomeMs = latencies(resumes), latencies(welcomes)
	if resumeTime > 0 {
		row.EventsPerSec = round1(float64(row.Recovered) / resumeTime.Seconds())
	}
	if sendTime > 0 {
		row.SendsPerSec = round1(float64(s.sc.accepted.Load()-accepted0) / sendTime.Seconds())
	}
	s.sending += sendTime
	return row, err
}

// add counts run into the totals.
func (g *Gap) add(run GapRow) {
	g.Runs = append(g.Runs, run)
	g.Expected += run.Expected
	g.Recovered += run.Recovered
	g.Missed += run.Missed
	g.Duplicates += run.Duplicates
	g.RecoveredPct = 100
	if g.Expected > 0 {
		g.RecoveredPct = round1(100 * float64(g.Recovered) / float64(g.Expected))
	}
}

// sendRange sends messages lo..hi-1 to thread, conc requests in flight,
// from senders in turn, and returns when every one is answered.
func sendRange(ctx context.Context, sc *sendCounter, senders []*client.Client, thread string, lo, hi int64, conc int) []*sender {
	workers := make([]*sender, min(int64(conc), hi-lo))
	idle := make(chan *sender, len(workers))
	for i := range workers {
		workers[i] = &sender{errs: map[string]int{}}
		idle <- workers[i]
	}
	parallel(ctx, int(hi-lo), conc, func(ctx context.Context, i int) error {
		w := <-idle
		defer func() { idle <- w }()
		idx := lo + int64(i)
		sc.send(ctx, w, senders[idx%int64(len(senders))], thread, idx, time.Time{}, 0)
		return nil
	})
	return workers
}

// gapReceiver is the receiver: one Realtime per visit, the cursors kept
// between them.
type gapReceiver struct {
	r       *runner
	token   string
	cursors *client.MemoryCursors
	wait    time.Duration
	taken   atomic.Int64 // messages taken, all visits

	mu  sync.Mutex // guards the fields below
	got bitset
	pre bitset // taken before the caughtUp of their visit
	v   *gapVisit
}

// gapVisit is one connection of the receiver, from connecting to its
// close.
type gapVisit struct {
	lo, hi       int64 // the gap it should recover
	opened       time.Time
	welcomed     time.Time
	caughtUp     time.Time
	attempts     int
	resumeFailed int
	dups, after  int64
	live         chan struct{} // closed at caughtUp
}

// visit connects, waits for caughtUp, and closes cleanly; the cursor stays
// in rc.cursors for the next visit.
func (rc *gapReceiver) visit(lo, hi int64) (gapVisit, error) {
	v := &gapVisit{lo: lo, hi: hi, live: make(chan struct{})}
	rc.mu.Lock()
	rc.v = v
	rc.mu.Unlock()
	rt := rc.r.user(rc.token).Realtime(client.RealtimeOptions{Transport: rc.r.o.Transport, Cursors: rc.cursors,
		Backoff: client.Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond}})
	rt.On(herald.EventMessageReceived, rc.event)
	rt.OnState(rc.state)
	rt.OnResumeFailed(func(string, string) {
		rc.mu.Lock()
		v.resumeFailed++
		rc.mu.Unlock()
	})
	ended := make(chan error, 1)
	go func() { ended <- rt.Start(rc.r.ctx) }()
	var err error
	returned := false
	select {
	case <-v.live:
	case end := <-ended:
		returned = true
		err = fmt.Errorf("the receiver's connection ended before caughtUp: %v", end)
	case <-time.After(rc.wait):
		err = fmt.Errorf("no caughtUp within %s", rc.wait)
	case <-rc.r.ctx.Done():
		err = fmt.Errorf("no caughtUp: %w", rc.r.ctx.Err())
	}
	rt.Close()
	if !returned {
		select {
		case end := <-ended:
			if end != nil && err == nil {
				err = fmt.Errorf("the receiver's connection ended: %w", end)
			}
		case <-time.After(rc.wait):
			err = errors.Join(err, fmt.Errorf("the receiver's connection did not close within %s", rc.wait))
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.v = nil
	return *v, err
}

// event takes a message of the thread.
func (rc *gapReceiver) event(_ context.Context, ev client.Event) error {
	idx, ok := messageIndex(ev)
	if !ok {
		return nil
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.v == nil {
		return nil // a visit that did not close in time
	}
	if rc.got.add(idx) {
		rc.v.dups++
		return nil
	}
	rc.taken.Add(1)
	switch {
	case rc.v.caughtUp.IsZero():
		rc.pre.add(idx)
	case idx >= rc.v.lo && idx < rc.v.hi:
		rc.v.after++
	}
	return nil
}

// state records the moments of the visit: every attempt to open, the
// welcome and caughtUp.
func (rc *gapReceiver) state(sc client.StateChange) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	v := rc.v
	if v == nil {
		return
	}
	switch {
	case sc.State == client.StateConnecting || sc.State == client.StateReconnecting:
		if v.attempts == 0 {
			v.opened = sc.At
		}
		v.attempts++
	case sc.State == client.StateConnected && !sc.CaughtUp && v.welcomed.IsZero():
		v.welcomed = sc.At
	case sc.State == client.StateConnected && sc.CaughtUp && v.caughtUp.IsZero():
		v.caughtUp = sc.At
		close(v.live)
	}
}

// before reports whether message idx was taken before the caughtUp of its
// visit.
func (rc *gapReceiver) before(idx int64) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.pre.has(idx)
}

// messageIndex returns the index of a message the load generator sent,
// as the Go SDK hands it to a handler.
func messageIndex(ev client.Event) (int64, bool) {
	if ev.Data.Message == nil || ev.Data.Message.Content == nil {
		return 0, false
	}
	idx, _, ok := parseContent([]byte(`"message":"` + ev.Data.Message.Content.Message))
	return idx, ok
}

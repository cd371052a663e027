package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// IdleCmd is "bench idle".
type IdleCmd struct {
	Options
	Connections int           `default:"1000" help:"Connections to hold open."`
	Users       int           `default:"0" help:"Identities to connect as, in turn (default: one per connection)."`
	Procs       int           `default:"0" help:"Client processes holding the connections (0: as many as this process's file-descriptor limit requires)."`
	Hold        time.Duration `default:"5s" help:"How long to hold every connection open before reading the server's RSS."`
}

type Idle struct {
	Connections    int     `json:"connections"`
	Failed         int     `json:"failed"`
	Procs          int     `json:"procs"`
	ConnectsPerSec float64 `json:"connectsPerSec"`
	RSSBeforeMiB   float64 `json:"rssBeforeMiB"`
	RSSAfterMiB    float64 `json:"rssAfterMiB"`
	PerConnKiB     float64 `json:"perConnKiB"`
}

// fdsPerProcSpare are the descriptors a client process keeps for itself.
const fdsPerProcSpare = 256

// Run runs the scenario.
func (c *IdleCmd) Run(env *Env) error {
	if c.Connections < 1 || c.Connections > 1_000_000 {
		return errors.New("--connections must be between 1 and 1,000,000")
	}
	users := c.Users
	if users <= 0 || users > c.Connections {
		users = c.Connections
	}
	procs := c.Procs
	if procs <= 0 {
		procs = 1
		var lim syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur > fdsPerProcSpare*2 {
			per := int(lim.Cur) - fdsPerProcSpare
			procs = (c.Connections + per - 1) / per
		}
	}
	procs = min(procs, c.Connections)
	if procs > 1 && len(env.Worker) == 0 {
		return fmt.Errorf("bench idle: %d client processes are needed and this program cannot start them (bench.Env.Worker is not set)", procs)
	}
	r, cancel, err := newRunner(env, &c.Options, "idle", map[string]any{"connections": c.Connections, "users": users,
		"procs": procs, "hold": c.Hold.String()})
	if err != nil {
		return err
	}
	defer cancel()
	if r.server.pid == 0 {
		r.note("the server is not watched: RSS per connection needs the server on this machine (or --server-pid)")
	}
	us, err := r.createUsers(users)
	if err != nil {
		return err
	}
	r.res.Setup.SetupSeconds = round1(time.Since(r.start).Seconds())
	tokens := make([]string, c.Connections)
	for i := range tokens {
		tokens[i] = us[i%len(us)].Token
	}
	time.Sleep(time.Second) // let the setup's garbage settle before the baseline
	before := r.server.rss()
	idle := &Idle{Procs: procs, RSSBeforeMiB: mib(before)}
	r.server.mark()
	r.self.mark()

	connectStart := time.Now()
	var hold idleHolder
	if procs == 1 {
		hold, err = holdInProcess(r, tokens)
	} else {
		hold, err = holdInWorkers(r, tokens, procs)
	}
	if hold != nil {
		defer hold.release()
	}
	if err != nil {
		return err
	}
	ok, failed, firstErr := hold.counts()
	el := time.Since(connectStart)
	idle.Connections, idle.Failed, idle.ConnectsPerSec = ok, failed, round1(float64(ok)/el.Seconds())
	r.res.Setup.Connections, r.res.Setup.ConnectSeconds = ok, round1(el.Seconds())
	if failed > 0 {
		r.note("%d connections failed to open; the first: %s", failed, firstErr)
	}
	stop := r.progress(func(time.Duration) string { return fmt.Sprintf("holding %d connections", ok) })
	select {
	case <-time.After(c.Hold):
	case <-r.ctx.Done():
	}
	stop()
	after := r.server.rss()
	idle.RSSAfterMiB = mib(after)
	if ok > 0 && r.server.pid != 0 {
		idle.PerConnKiB = round1(float64(after-before) / float64(ok))
	}
	r.res.Idle = idle
	if n := hold.ended(); n > 0 {
		r.note("%d connections ended while held", n)
	}
	hold.release()
	return r.finish()
}

// idleHolder holds connections open until release.
type idleHolder interface {
	counts() (ok, failed int, firstErr string)
	ended() int // connections that ended while held
	release()
}

// --- In this process ---

type localHold struct {
	rcs    []*receiver
	failed int
	first  string
	once   sync.Once
}

func holdInProcess(r *runner, tokens []string) (*localHold, error) {
	h, err := holdStreams(r.ctx, r.o.Transport, r.base, r.hc, tokens, r.o.SetupConcurrency, func(ok, failed int) {})
	return h, err
}

// holdStreams opens a stream per token, each answered by a reader that
// answers pings; a connection that fails to open is counted, not fatal.
func holdStreams(ctx context.Context, transport string, base *url.URL, hc *http.Client, tokens []string, conc int,
	progress func(ok, failed int)) (*localHold, error) {
	h := &localHold{rcs: make([]*receiver, len(tokens))}
	var mu sync.Mutex
	var ok, failed atomic.Int64
	err := parallel(ctx, len(tokens), conc, func(ctx context.Context, i int) error {
		s, err := openStream(ctx, transport, base, hc, tokens[i])
		if err != nil {
			mu.Lock()
			if h.first == "" {
				h.first = err.Error()
			}
			mu.Unlock()
			failed.Add(1)
			progress(int(ok.Load()), int(failed.Load()))
			return nil
		}
		rc := &receiver{s: s, threads: 1, done: make(chan struct{})}
		h.rcs[i] = rc
		go rc.run()
		ok.Add(1)
		progress(int(ok.Load()), int(failed.Load()))
		return nil
	})
	h.failed = int(failed.Load())
	return h, err
}

func (h *localHold) counts() (int, int, string) {
	n := 0
	for _, rc := range h.rcs {
		if rc != nil {
			n++
		}
	}
	return n, h.failed, h.first
}

func (h *localHold) ended() int {
	n := 0
	for _, rc := range h.rcs {
		if rc == nil {
			continue
		}
		select {
		case <-rc.done:
			n++
		default:
		}
	}
	return n
}

func (h *localHold) release() { h.once.Do(func() { closeReceivers(h.rcs) }) }

// --- In worker processes (herald bench idle-worker) ---

type workerHold struct {
	cmds   []*exec.Cmd
	stdins []io.WriteCloser
	ok     int
	failed int
	lost   int
	first  string
	once   sync.Once
}

// holdInWorkers starts procs idle workers (Env.Worker), hands
// each its share of the tokens and waits until each says it is ready.
func holdInWorkers(r *runner, tokens []string, procs int) (*workerHold, error) {
	h := &workerHold{}
	type ready struct {
		ok, failed int
		first      string
		err        error
	}
	readies := make(chan ready, procs)
	for p := range procs {
		share := tokens[p*len(tokens)/procs : (p+1)*len(tokens)/procs]
		args := append(slices.Clone(r.env.Worker[1:]), "--url", r.env.URL, "--transport", r.o.Transport,
			"--concurrency", strconv.Itoa(max(1, r.o.SetupConcurrency/procs)))
		cmd := exec.CommandContext(r.ctx, r.env.Worker[0], args...)
		cmd.Stderr = r.env.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return h, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return h, err
		}
		if err := cmd.Start(); err != nil {
			return h, fmt.Errorf("start idle worker: %w", err)
		}
		h.cmds, h.stdins = append(h.cmds, cmd), append(h.stdins, in)
		go func() {
			w := bufio.NewWriter(in)
			for _, t := range share {
				w.WriteString(t + "\n")
			}
			w.WriteString("\n")
			w.Flush()
		}()
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.SplitN(sc.Text(), " ", 4)
				if len(f) >= 3 && f[0] == "ready" {
					var rd ready
					rd.ok, _ = strconv.Atoi(f[1])
					rd.failed, _ = strconv.Atoi(f[2])
					if len(f) == 4 {
						rd.first = f[3]
					}
					readies <- rd
					io.Copy(io.Discard, out)
					return
				}
			}
			readies <- ready{err: errors.New("an idle worker ended before it was ready")}
		}()
	}
	for range procs {
		select {
		case rd := <-readies:
			if rd.err != nil {
				return h, rd.err
			}
			h.ok, h.failed = h.ok+rd.ok, h.failed+rd.failed
			if h.first == "" {
				h.first = rd.first
			}
		case <-r.ctx.Done():
			return h, r.ctx.Err()
		}
	}
	return h, nil
}

func (h *workerHold) counts() (int, int, string) { return h.ok, h.failed, h.first }

func (h *workerHold) ended() int { return 0 } // the workers report ended connections on stderr

// release closes the workers' stdin, which ends them, and waits.
func (h *workerHold) release() {
	h.once.Do(func() {
		for _, in := range h.stdins {
			in.Close()
		}
		for _, c := range h.cmds {
			c.Wait()
		}
	})
}

// IdleWorkerCmd is "bench idle-worker", started by bench idle: it
// reads tokens from stdin, one a line, up to an empty line; opens a
// connection for each; prints "ready OK FAILED [FIRST ERROR]"; and holds
// them until stdin closes (or --max-hold passes).
type IdleWorkerCmd struct {
	Transport   string        `enum:"websocket,sse" default:"websocket" help:"Real-time transport."`
	Concurrency int           `default:"8" help:"Parallel connection opens."`
	MaxHold     time.Duration `name:"max-hold" default:"30m" help:"Let go after this long even if stdin stays open."`
}

// Run runs the worker.
func (c *IdleWorkerCmd) Run(env *Env) error {
	base, err := url.Parse(env.URL)
	if err != nil {
		return err
	}
	in := bufio.NewScanner(env.Stdin)
	in.Buffer(make([]byte, 64<<10), 64<<10)
	var tokens []string
	for in.Scan() && in.Text() != "" {
		tokens = append(tokens, in.Text())
	}
	ctx, cancel := context.WithTimeout(env.Context, c.MaxHold)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	h, err := holdStreams(ctx, c.Transport, base, hc, tokens, max(1, c.Concurrency), func(int, int) {})
	defer h.release()
	if err != nil {
		return err
	}
	ok, failed, first := h.counts()
	fmt.Fprintf(env.Stdout, "ready %d %d %s\n", ok, failed, strings.ReplaceAll(first, "\n", " "))
	if f, isFile := env.Stdout.(*os.File); isFile {
		f.Sync()
	}
	released := make(chan struct{})
	go func() {
		io.Copy(io.Discard, env.Stdin)
		close(released)
	}()
	select {
	case <-released:
	case <-ctx.Done():
	}
	if n := h.ended(); n > 0 {
		fmt.Fprintf(env.Stderr, "idle worker: %d of %d connections ended while held\n", n, ok)
	}
	return nil
}

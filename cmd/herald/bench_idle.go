package main

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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// BenchIdleCmd is "bench idle".
type BenchIdleCmd struct {
	BenchOptions
	Connections int           `default:"1000" help:"Connections to hold open."`
	Users       int           `default:"0" help:"Identities to connect as, in turn (default: one per connection)."`
	Procs       int           `default:"0" help:"Client processes holding the connections (0: as many as this process's file-descriptor limit requires)."`
	Hold        time.Duration `default:"5s" help:"How long to hold every connection open before reading the server's RSS."`
}

type benchIdle struct {
	Connections    int     `json:"connections"`
	Failed         int     `json:"failed"`
	Procs          int     `json:"procs"`
	ConnectsPerSec float64 `json:"connectsPerSec"`
	RSSBeforeMiB   float64 `json:"rssBeforeMiB"`
	RSSAfterMiB    float64 `json:"rssAfterMiB"`
	PerConnKiB     float64 `json:"perConnKiB"`
}

// benchFdsPerProcSpare are the descriptors a client process keeps for itself.
const benchFdsPerProcSpare = 256

// Run runs the scenario.
func (c *BenchIdleCmd) Run(g *Globals) error {
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
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur > benchFdsPerProcSpare*2 {
			per := int(lim.Cur) - benchFdsPerProcSpare
			procs = (c.Connections + per - 1) / per
		}
	}
	procs = min(procs, c.Connections)
	r, cancel, err := newBenchRun(g, &c.BenchOptions, "idle", map[string]any{"connections": c.Connections, "users": users,
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
	r.res.Setup.SetupSeconds = benchRound1(time.Since(r.start).Seconds())
	tokens := make([]string, c.Connections)
	for i := range tokens {
		tokens[i] = us[i%len(us)].Token
	}
	time.Sleep(time.Second) // let the setup's garbage settle before the baseline
	before := r.server.rss()
	idle := &benchIdle{Procs: procs, RSSBeforeMiB: benchMib(before)}
	r.server.mark()
	r.self.mark()

	connectStart := time.Now()
	var hold benchIdleHolder
	if procs == 1 {
		hold, err = benchHoldInProcess(r, tokens)
	} else {
		hold, err = benchHoldInWorkers(r, tokens, procs)
	}
	if hold != nil {
		defer hold.release()
	}
	if err != nil {
		return err
	}
	ok, failed, firstErr := hold.counts()
	el := time.Since(connectStart)
	idle.Connections, idle.Failed, idle.ConnectsPerSec = ok, failed, benchRound1(float64(ok)/el.Seconds())
	r.res.Setup.Connections, r.res.Setup.ConnectSeconds = ok, benchRound1(el.Seconds())
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
	idle.RSSAfterMiB = benchMib(after)
	if ok > 0 && r.server.pid != 0 {
		idle.PerConnKiB = benchRound1(float64(after-before) / float64(ok))
	}
	r.res.Idle = idle
	if n := hold.ended(); n > 0 {
		r.note("%d connections ended while held", n)
	}
	hold.release()
	return r.finish()
}

// benchIdleHolder holds connections open until release.
type benchIdleHolder interface {
	counts() (ok, failed int, firstErr string)
	ended() int // connections that ended while held
	release()
}

// --- In this process ---

type benchLocalHold struct {
	rcs    []*benchReceiver
	failed int
	first  string
	once   sync.Once
}

func benchHoldInProcess(r *benchRun, tokens []string) (*benchLocalHold, error) {
	h, err := benchHoldStreams(r.ctx, r.o.Transport, r.base, r.hc, tokens, r.o.SetupConcurrency, func(ok, failed int) {})
	return h, err
}

// benchHoldStreams opens a stream per token, each answered by a reader that
// answers pings; a connection that fails to open is counted, not fatal.
func benchHoldStreams(ctx context.Context, transport string, base *url.URL, hc *http.Client, tokens []string, conc int,
	progress func(ok, failed int)) (*benchLocalHold, error) {
	h := &benchLocalHold{rcs: make([]*benchReceiver, len(tokens))}
	var mu sync.Mutex
	var ok, failed atomic.Int64
	err := benchParallel(ctx, len(tokens), conc, func(ctx context.Context, i int) error {
		s, err := benchOpenStream(ctx, transport, base, hc, tokens[i])
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
		rc := &benchReceiver{s: s, threads: 1, done: make(chan struct{})}
		h.rcs[i] = rc
		go rc.run()
		ok.Add(1)
		progress(int(ok.Load()), int(failed.Load()))
		return nil
	})
	h.failed = int(failed.Load())
	return h, err
}

func (h *benchLocalHold) counts() (int, int, string) {
	n := 0
	for _, rc := range h.rcs {
		if rc != nil {
			n++
		}
	}
	return n, h.failed, h.first
}

func (h *benchLocalHold) ended() int {
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

func (h *benchLocalHold) release() { h.once.Do(func() { benchCloseReceivers(h.rcs) }) }

// --- In worker processes (herald bench idle-worker) ---

type benchWorkerHold struct {
	cmds   []*exec.Cmd
	stdins []io.WriteCloser
	ok     int
	failed int
	lost   int
	first  string
	once   sync.Once
}

// benchHoldInWorkers starts procs copies of this binary as idle workers, hands
// each its share of the tokens and waits until each says it is ready.
func benchHoldInWorkers(r *benchRun, tokens []string, procs int) (*benchWorkerHold, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	h := &benchWorkerHold{}
	type ready struct {
		ok, failed int
		first      string
		err        error
	}
	readies := make(chan ready, procs)
	for p := range procs {
		share := tokens[p*len(tokens)/procs : (p+1)*len(tokens)/procs]
		cmd := exec.CommandContext(r.ctx, exe, "bench", "idle-worker", "--url", r.g.URL, "--transport", r.o.Transport,
			"--concurrency", strconv.Itoa(max(1, r.o.SetupConcurrency/procs)))
		cmd.Stderr = r.g.stderr
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

func (h *benchWorkerHold) counts() (int, int, string) { return h.ok, h.failed, h.first }

func (h *benchWorkerHold) ended() int { return 0 } // the workers report ended connections on stderr

// release closes the workers' stdin, which ends them, and waits.
func (h *benchWorkerHold) release() {
	h.once.Do(func() {
		for _, in := range h.stdins {
			in.Close()
		}
		for _, c := range h.cmds {
			c.Wait()
		}
	})
}

// BenchIdleWorkerCmd is "bench idle-worker", started by bench idle: it
// reads tokens from stdin, one a line, up to an empty line; opens a
// connection for each; prints "ready OK FAILED [FIRST ERROR]"; and holds
// them until stdin closes (or --max-hold passes).
type BenchIdleWorkerCmd struct {
	Transport   string        `enum:"websocket,sse" default:"websocket" help:"Real-time transport."`
	Concurrency int           `default:"8" help:"Parallel connection opens."`
	MaxHold     time.Duration `name:"max-hold" default:"30m" help:"Let go after this long even if stdin stays open."`
}

// Run runs the worker.
func (c *BenchIdleWorkerCmd) Run(g *Globals) error {
	base, err := url.Parse(g.URL)
	if err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 64<<10)
	var tokens []string
	for in.Scan() && in.Text() != "" {
		tokens = append(tokens, in.Text())
	}
	ctx, cancel := context.WithTimeout(g.Context(), c.MaxHold)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	h, err := benchHoldStreams(ctx, c.Transport, base, hc, tokens, max(1, c.Concurrency), func(int, int) {})
	defer h.release()
	if err != nil {
		return err
	}
	ok, failed, first := h.counts()
	fmt.Fprintf(g.stdout, "ready %d %d %s\n", ok, failed, strings.ReplaceAll(first, "\n", " "))
	if f, isFile := g.stdout.(*os.File); isFile {
		f.Sync()
	}
	released := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(released)
	}()
	select {
	case <-released:
	case <-ctx.Done():
	}
	if n := h.ended(); n > 0 {
		fmt.Fprintf(g.stderr, "idle worker: %d of %d connections ended while held\n", n, ok)
	}
	return nil
}

package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// Options are the flags every scenario takes.
type Options struct {
	Transport        string        `enum:"websocket,sse" default:"websocket" help:"Real-time transport of the clients: ${enum}."`
	ServerPID        int           `name:"server-pid" default:"0" help:"Process to sample server CPU and RSS from; 0 finds it by the listening port when the server runs on this machine; -1 samples nothing."`
	Out              string        `placeholder:"DIR" help:"Also write the result to DIR/NAME.json and DIR/NAME.md."`
	Name             string        `help:"Name of the result (default: the scenario)."`
	Targets          []string      `name:"target" placeholder:"METRIC<=N" help:"Check the result against a target, e.g. lost=0 or p99<=5 (repeat, or separate with commas). Metrics: lost, duplicates, p50, p95, p99, max (ms), sends_per_s, delivered_per_s, rss_per_conn_kib, failed_connections, missed, recovered_pct, resume_p99 (ms)."`
	SetupConcurrency int           `name:"setup-concurrency" default:"16" help:"Parallel requests when creating identities and threads, and parallel connection opens."`
	AddBatch         int           `name:"add-batch" default:"200" help:"Participants per create or add request (at most the server's --max-add-batch)."`
	Timeout          time.Duration `default:"10m" help:"Upper bound on the whole run, setup included."`
}

// userAgent marks the load generator's requests in the server's logs.
const userAgent = "herald-bench"

// Result is what a scenario measured. Times are in milliseconds,
// rates per second, memory in MiB unless the name says otherwise.
type Result struct {
	Name       string         `json:"name"`
	Scenario   string         `json:"scenario"`
	At         time.Time      `json:"at"`
	URL        string         `json:"url"`
	Transport  string         `json:"transport"`
	Params     map[string]any `json:"params"`
	Machine    Machine        `json:"machine"`
	Setup      Setup          `json:"setup"`
	Sends      *Sends         `json:"sends,omitempty"`
	Deliveries *Deliveries    `json:"deliveries,omitempty"`
	LatencyMs  *Latency       `json:"latencyMs,omitempty"`
	Idle       *Idle          `json:"idle,omitempty"`
	Resume     *Resume        `json:"resume,omitempty"`
	Gap        *Gap           `json:"gap,omitempty"`
	Server     *Proc          `json:"server,omitempty"`
	LoadGen    *Proc          `json:"loadGenerator,omitempty"`
	Closes     map[string]int `json:"closes,omitempty"` // connections the server ended, by code and reason
	Targets    []Target       `json:"targets,omitempty"`
	Notes      []string       `json:"notes,omitempty"`
}

type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpuModel"`
	MemoryMiB int64  `json:"memoryMiB"`
	Go        string `json:"go"`
	OS        string `json:"os"`
	// LoadAvg is /proc/loadavg's 1-minute figure when the run started:
	// other work on the machine skews the figures.
	LoadAvg float64 `json:"loadAvg"`
}

type Setup struct {
	Identities     int     `json:"identities"`
	Threads        int     `json:"threads"`
	Connections    int     `json:"connections"`
	SetupSeconds   float64 `json:"setupSeconds"`
	ConnectSeconds float64 `json:"connectSeconds"`
}

type Sends struct {
	Attempted int64          `json:"attempted"`
	Accepted  int64          `json:"accepted"`
	Failed    int64          `json:"failed"`
	Seconds   float64        `json:"seconds"`
	PerSec    float64        `json:"perSec"`    // accepted sends per second
	MaxLagMs  float64        `json:"maxLagMs"`  // fixed rate: latest issue behind schedule
	RequestMs *Latency       `json:"requestMs"` // issue to 201
	Errors    map[string]int `json:"errors,omitempty"`
}

type Deliveries struct {
	Expected   int64   `json:"expected"`
	Delivered  int64   `json:"delivered"` // distinct (message, recipient) pairs
	Lost       int64   `json:"lost"`
	Duplicates int64   `json:"duplicates"`
	Seconds    float64 `json:"seconds"` // first send to last delivery
	PerSec     float64 `json:"perSec"`
}

type Latency struct {
	Samples int64   `json:"samples"`
	P50     float64 `json:"p50"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

type Proc struct {
	PID         int     `json:"pid"`
	CPUPercent  float64 `json:"cpuPercent"` // of one core, averaged over the measured window
	RSSStartMiB float64 `json:"rssStartMiB"`
	RSSPeakMiB  float64 `json:"rssPeakMiB"`
	RSSEndMiB   float64 `json:"rssEndMiB"`
	Seconds     float64 `json:"seconds"`
	Error       string  `json:"error,omitempty"`
}

// latencies summarizes durations in microseconds as milliseconds.
func latencies(us []uint32) *Latency {
	if len(us) == 0 {
		return &Latency{}
	}
	slices.Sort(us)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(us)))) - 1
		return round3(float64(us[max(i, 0)]) / 1000)
	}
	return &Latency{Samples: int64(len(us)), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: round3(float64(us[len(us)-1]) / 1000)}
}

func micros(d time.Duration) uint32 {
	if d < 0 {
		return 0
	}
	return uint32(min(d.Microseconds(), math.MaxUint32))
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// runner is what every scenario shares: flags, clients of the server, the
// result being filled, the server watch and the progress line.
type runner struct {
	env    *Env
	o      *Options
	ctx    context.Context
	base   *url.URL
	hc     *http.Client // keep-alive pool for REST and SSE
	admin  *client.Admin
	res    *Result
	server *procWatch
	self   *procWatch
	start  time.Time
}

// newRunner checks the flags and prepares a run of scenario.
func newRunner(env *Env, o *Options, scenario string, params map[string]any) (*runner, context.CancelFunc, error) {
	if env.AdminKey == "" {
		return nil, nil, fmt.Errorf("no admin key: set HERALD_ADMIN_KEY or pass --admin-key (bench creates its own identities)")
	}
	base, err := url.Parse(env.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, nil, fmt.Errorf("--url %q is not an absolute http or https URL", env.URL)
	}
	if o.AddBatch < 1 || o.SetupConcurrency < 1 {
		return nil, nil, fmt.Errorf("--add-batch and --setup-concurrency must be at least 1")
	}
	if _, err := parseTargets(o.Targets); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(env.Context, o.Timeout)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute,
		DisableCompression: true}}
	name := o.Name
	if name == "" {
		name = scenario
	}
	r := &runner{env: env, o: o, ctx: ctx, base: base, hc: hc, start: time.Now(),
		admin: client.NewAdmin(env.URL, env.AdminKey, client.WithHTTPClient(hc), client.WithUserAgent(userAgent)),
		res: &Result{Name: name, Scenario: scenario, At: time.Now().UTC().Truncate(time.Second), URL: env.URL,
			Transport: o.Transport, Params: params, Machine: machineInfo()}}
	pid := o.ServerPID
	if pid == 0 {
		found, err := findServerPID(env.URL)
		if err != nil {
			r.note("server CPU and RSS not sampled: %v (pass --server-pid)", err)
		}
		pid = found
	}
	if pid < 0 {
		pid = 0
	}
	r.server = watchProc(pid, 250*time.Millisecond)
	r.self = watchProc(os.Getpid(), 250*time.Millisecond)
	return r, func() { cancel(); hc.CloseIdleConnections() }, nil
}

func (r *runner) note(format string, args ...any) {
	r.res.Notes = append(r.res.Notes, fmt.Sprintf(format, args...))
}

// user returns a client acting as the holder of token.
func (r *runner) user(token string) *client.Client {
	return client.New(r.env.URL, client.StaticToken(token), client.WithHTTPClient(r.hc), client.WithUserAgent(userAgent))
}

// closeKey names how a connection ended, for the counts.
func closeKey(err error) string {
	if c, ok := err.(*closedError); ok {
		return strings.TrimSpace(fmt.Sprintf("%d %s", c.Code, c.Reason))
	}
	return "network: " + err.Error()
}

// finish stops the watches, checks the targets and prints the result.
func (r *runner) finish() error {
	r.res.Server = r.server.finish()
	r.res.LoadGen = r.self.finish()
	targets, _ := parseTargets(r.o.Targets)
	for _, t := range targets {
		r.res.Targets = append(r.res.Targets, t.check(r.res))
	}
	if r.o.Out != "" {
		if err := writeResult(r.o.Out, r.res); err != nil {
			return err
		}
	}
	if r.env.JSON {
		enc := json.NewEncoder(r.env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r.res)
	}
	_, err := io.WriteString(r.env.Stdout, resultMarkdown(r.res))
	return err
}

// writeResult writes DIR/NAME.json and DIR/NAME.md.
func writeResult(dir string, res *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, res.Name+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, res.Name+".md"), []byte(resultMarkdown(res)), 0o644)
}

// progress prints line() on stderr every second until stop is called: in
// place on a terminal, one line per tick otherwise.
func (r *runner) progress(line func(el time.Duration) string) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	tty := isTerminal(r.env.Stderr)
	start := time.Now()
	go func() {
		defer close(exited)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprintln(r.env.Stderr)
				}
				return
			case <-t.C:
				l := fmt.Sprintf("[%s %4.0fs] %s", r.res.Name, time.Since(start).Seconds(), line(time.Since(start)))
				if srv, cpu := r.server.now(); r.server.pid != 0 {
					l += fmt.Sprintf(" | server cpu %.0f%% rss %.0f MiB", cpu, float64(srv.rssKiB)/1024)
				}
				if tty {
					fmt.Fprintf(r.env.Stderr, "\r%s\x1b[K", l)
				} else {
					fmt.Fprintln(r.env.Stderr, l)
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-exited }) }
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// say prints a setup step on stderr.
func (r *runner) say(format string, args ...any) {
	fmt.Fprintf(r.env.Stderr, "[%s] %s\n", r.res.Name, fmt.Sprintf(format, args...))
}

// machineInfo describes where the load generator runs.
func machineInfo() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.LoadAvg, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				m.MemoryMiB = kib / 1024
			}
		}
	}
	return m
}

// content is a message's content: a marker the receivers find with a
// byte search, the message's index and its send time (Unix ns), padded to
// size bytes.
func content(idx int64, sent time.Time, size int) string {
	s := "hb:" + strconv.FormatInt(idx, 10) + ":" + strconv.FormatInt(sent.UnixNano(), 10) + ":"
	if n := size - len(s); n > 0 {
		s += strings.Repeat("x", n)
	}
	return s
}

var contentMarker = []byte(`"message":"hb:`)

// parseContent finds the marker in an event frame and returns the index
// and send time it carries.
func parseContent(f []byte) (idx int64, sent int64, ok bool) {
	i := bytes.Index(f, contentMarker)
	if i < 0 {
		return 0, 0, false
	}
	p := f[i+len(contentMarker):]
	idx, p, ok = parseDigits(p)
	if !ok || len(p) == 0 || p[0] != ':' {
		return 0, 0, false
	}
	sent, p, ok = parseDigits(p[1:])
	return idx, sent, ok && len(p) > 0 && p[0] == ':'
}

func parseDigits(p []byte) (int64, []byte, bool) {
	var n int64
	i := 0
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		n = n*10 + int64(p[i]-'0')
	}
	return n, p[i:], i > 0
}

// frameType returns the type of a server frame encoded by Herald, which
// always begins with it; "" if f does not.
func frameType(f []byte) string {
	const prefix = `{"type":"`
	if len(f) < len(prefix) || string(f[:len(prefix)]) != prefix {
		var sf wire.ServerFrame
		if json.Unmarshal(f, &sf) == nil {
			return sf.Type
		}
		return ""
	}
	rest := f[len(prefix):]
	for i, c := range rest {
		if c == '"' {
			return string(rest[:i])
		}
	}
	return ""
}

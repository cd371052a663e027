// Command peer drives Centrifugo (the in-memory real-time server issue 11
// compares Herald with) through the scenarios of `herald bench fanout` and
// `herald bench throughput`, measured the same way: each message carries
// its index and send time, receivers find them with a byte search, latency
// is receive time minus send time on the same machine. It is its own
// module so that Herald's build never depends on it.
//
//	go run . -url http://127.0.0.1:8000 -api-key KEY -secret SECRET fanout -participants 1000 -rate 200 -duration 10s
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}

type options struct {
	url, apiKey, secret, channel string
	participants, concurrency    int
	rate                         float64
	duration, drain              time.Duration
	serverPID                    int
}

func run(args []string) error {
	var o options
	global := flag.NewFlagSet("peer", flag.ContinueOnError)
	global.StringVar(&o.url, "url", "http://127.0.0.1:8000", "Centrifugo base URL (loopback only)")
	global.StringVar(&o.apiKey, "api-key", "", "Centrifugo HTTP API key")
	global.StringVar(&o.secret, "secret", "", "Centrifugo client token HMAC secret")
	global.IntVar(&o.serverPID, "server-pid", 0, "sample this process's CPU time and RSS")
	if err := global.Parse(args); err != nil {
		return err
	}
	if !strings.HasPrefix(o.url, "http://127.0.0.1:") && !strings.HasPrefix(o.url, "http://localhost:") {
		return errors.New("-url must be a loopback address")
	}
	rest := global.Args()
	if len(rest) == 0 {
		return errors.New("want a scenario: fanout or throughput")
	}
	fs := flag.NewFlagSet(rest[0], flag.ContinueOnError)
	fs.IntVar(&o.participants, "participants", 100, "connected receivers of the channel")
	fs.Float64Var(&o.rate, "rate", 200, "messages per second (fanout)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send")
	fs.DurationVar(&o.drain, "drain", 20*time.Second, "after the last send, wait at most this long")
	switch rest[0] {
	case "fanout":
		fs.IntVar(&o.concurrency, "concurrency", 64, "most publishes in flight")
	case "throughput":
		fs.IntVar(&o.concurrency, "concurrency", 16, "publishes in flight, each issued when the previous is answered")
	case "idle":
	default:
		return fmt.Errorf("unknown scenario %q", rest[0])
	}
	if err := fs.Parse(rest[1:]); err != nil {
		return err
	}
	if rest[0] == "throughput" {
		o.rate = 0
	}
	if o.duration <= 0 || o.duration > 10*time.Minute || o.participants < 1 || o.participants > 20000 {
		return errors.New("-duration must be in (0, 10m] and -participants in [1, 20000]")
	}
	o.channel = "bench" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if rest[0] == "idle" {
		return idle(o)
	}
	return load(o, rest[0])
}

// token is a Centrifugo connection JWT (HS256) for user sub.
func token(secret, sub string) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()})
	body := head + "." + enc.EncodeToString(claims)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return body + "." + enc.EncodeToString(m.Sum(nil))
}

type receiver struct {
	conn *websocket.Conn
	seen map[int64]bool
	lat  []uint32 // µs
	dups int64
	n    atomic.Int64
	done chan struct{}
}

var marker = []byte(`"hb:`)

// connect opens a WebSocket, sends connect and subscribe, and waits for the
// subscribe reply.
func connect(ctx context.Context, o options, i int) (*receiver, error) {
	wsURL := "ws" + strings.TrimPrefix(o.url, "http") + "/connection/websocket"
	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	cmds := fmt.Sprintf(`{"id":1,"connect":{"token":%q}}`+"\n"+`{"id":2,"subscribe":{"channel":%q}}`, token(o.secret, "u"+strconv.Itoa(i)), o.channel)
	if err := c.Write(ctx, websocket.MessageText, []byte(cmds)); err != nil {
		return nil, err
	}
	for subscribed := false; !subscribed; {
		_, data, err := c.Read(ctx)
		if err != nil {
			return nil, err
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if bytes.Contains(line, []byte(`"error"`)) {
				return nil, fmt.Errorf("centrifugo refused: %s", line)
			}
			if bytes.HasPrefix(line, []byte(`{"id":2`)) {
				subscribed = true
			}
		}
	}
	return &receiver{conn: c, seen: map[int64]bool{}, done: make(chan struct{})}, nil
}

func (r *receiver) run(ctx context.Context) {
	defer close(r.done)
	for {
		_, data, err := r.conn.Read(ctx)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(line) == 2 && string(line) == "{}" { // a ping: answer with a pong
				r.conn.Write(ctx, websocket.MessageText, []byte("{}"))
				continue
			}
			i := bytes.Index(line, marker)
			if i < 0 {
				continue
			}
			f := strings.SplitN(string(line[i+len(marker):]), ":", 3)
			if len(f) < 3 {
				continue
			}
			idx, err1 := strconv.ParseInt(f[0], 10, 64)
			sent, err2 := strconv.ParseInt(f[1], 10, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			if r.seen[idx] {
				r.dups++
				continue
			}
			r.seen[idx] = true
			r.lat = append(r.lat, uint32(max(0, (now-sent)/1000)))
			r.n.Add(1)
		}
	}
}

// idle connects -participants subscribers, holds them for -duration and
// reports the server's RSS per connection (the server's RSS before the
// connections and at the end of the hold, from /proc).
func idle(o options) error {
	if o.serverPID <= 0 {
		return errors.New("idle needs -server-pid")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := rssKiB(o.serverPID)
	rcs, err := connectAll(ctx, o)
	if err != nil {
		return err
	}
	time.Sleep(o.duration)
	after := rssKiB(o.serverPID)
	fmt.Printf("idle centrifugo connections=%d: server RSS %.1f -> %.1f MiB, %.1f KiB per connection\n",
		len(rcs), float64(before)/1024, float64(after)/1024, float64(after-before)/float64(len(rcs)))
	cancel()
	for _, r := range rcs {
		r.conn.CloseNow()
		<-r.done
	}
	return nil
}

// connectAll connects -participants receivers, 32 at a time.
func connectAll(ctx context.Context, o options) ([]*receiver, error) {
	rcs := make([]*receiver, o.participants)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for i := range rcs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := connect(ctx, o, i)
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			rcs[i] = r
			go r.run(ctx)
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return rcs, nil
}

func load(o options, scenario string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rcs, err := connectAll(ctx, o)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency}, Timeout: 10 * time.Second}
	var accepted, failed atomic.Int64
	publish := func(idx int64) {
		body := fmt.Sprintf(`{"channel":%q,"data":{"message":"hb:%d:%d:"}}`, o.channel, idx, time.Now().UnixNano())
		req, _ := http.NewRequest(http.MethodPost, o.url+"/api/publish", strings.NewReader(body))
		req.Header.Set("X-API-Key", o.apiKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			failed.Add(1)
			return
		}
		var out bytes.Buffer
		out.ReadFrom(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || bytes.Contains(out.Bytes(), []byte(`"error"`)) {
			failed.Add(1)
			return
		}
		accepted.Add(1)
	}
	cpu0, at0 := cpuTicks(o.serverPID), time.Now()
	start := time.Now()
	var next atomic.Int64
	var sendWG sync.WaitGroup
	if o.rate > 0 {
		jobs := make(chan int64, o.concurrency)
		for range o.concurrency {
			sendWG.Go(func() {
				for idx := range jobs {
					publish(idx)
				}
			})
		}
		total := int64(o.rate * o.duration.Seconds())
		for idx := range total {
			if d := time.Until(start.Add(time.Duration(float64(idx) / o.rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
			jobs <- idx
		}
		close(jobs)
	} else {
		deadline := start.Add(o.duration)
		for range o.concurrency {
			sendWG.Go(func() {
				for time.Now().Before(deadline) {
					publish(next.Add(1) - 1)
				}
			})
		}
	}
	sendWG.Wait()
	sendSecs := time.Since(start).Seconds()
	expected := accepted.Load() * int64(o.participants)
	until := time.Now().Add(o.drain)
	delivered := func() (n int64) {
		for _, r := range rcs {
			n += r.n.Load()
		}
		return n
	}
	for delivered() < expected && time.Now().Before(until) {
		time.Sleep(10 * time.Millisecond)
	}
	deliverSecs := time.Since(start).Seconds()
	cpu1, at1 := cpuTicks(o.serverPID), time.Now()
	cancel()
	for _, r := range rcs {
		r.conn.Close(websocket.StatusNormalClosure, "")
		<-r.done
	}
	var lat []uint32
	var dups int64
	for _, r := range rcs {
		lat = append(lat, r.lat...)
		dups += r.dups
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1000
	}
	got := delivered()
	fmt.Printf("%s centrifugo participants=%d rate=%g concurrency=%d duration=%s: accepted %d (%.1f/s), failed %d; delivered %d of %d (%.0f events/s), lost %d, dup %d; latency ms p50 %.3f p95 %.3f p99 %.3f max %.3f",
		scenario, o.participants, o.rate, o.concurrency, o.duration, accepted.Load(), float64(accepted.Load())/sendSecs, failed.Load(),
		got, expected, float64(got)/deliverSecs, expected-got, dups, q(0.50), q(0.95), q(0.99), q(1))
	if o.serverPID > 0 {
		fmt.Printf("; server CPU %.0f%%, RSS %d MiB", float64(cpu1-cpu0)/100/at1.Sub(at0).Seconds()*100, rssKiB(o.serverPID)/1024)
	}
	fmt.Println()
	return nil
}

// cpuTicks is a process's user+system CPU time in clock ticks (100/s).
func cpuTicks(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func rssKiB(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

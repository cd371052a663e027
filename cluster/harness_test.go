package cluster_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-chat/herald/client"
)

// adminKey is the admin key every node of a test cluster is given.
const adminKey = "hak_cluster_test_admin_key_0001" // serve refuses keys under 24 characters

// baseURL is the URL every test client is given. It is never resolved:
// the clients' dialer picks a node (see cluster.httpClient), as an L4 load
// balancer in front of the nodes would.
const baseURL = "http://herald.test"

var (
	workDir   string // TestMain's temporary directory
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "herald-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// mustBinary returns the herald binary, built once per run (without -race:
// the servers are the system under test, the race detector watches the
// clients).
func mustBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(workDir, "herald")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/herald-chat/herald/cmd/herald")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// testPostgres returns HERALD_TEST_POSTGRES, skipping the test when unset.
func testPostgres(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("HERALD_TEST_POSTGRES")
	if dsn == "" {
		tb.Skip("HERALD_TEST_POSTGRES is not set")
	}
	return dsn
}

// testNATS returns HERALD_TEST_NATS, skipping the test when unset.
func testNATS(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("HERALD_TEST_NATS")
	if u == "" {
		tb.Skip("HERALD_TEST_NATS is not set")
	}
	return u
}

// randomName returns prefix followed by 16 random hex digits.
func randomName(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// clusterConfig describes a test cluster.
type clusterConfig struct {
	nodes    int
	postgres string // server URL; the cluster uses a fresh schema of it
	nats     string // server URL(s); the cluster uses a fresh subject prefix
	// natsFor, when set, gives node i its own NATS URL (a proxy to cut).
	natsFor func(i int) string
	// resyncEvery is --resync-every; zero keeps the server's default.
	resyncEvery string
	// writeRate is --write-rate; empty turns the limit off ("0").
	writeRate string
	// writeBurst is --write-burst; empty keeps the server's default.
	writeBurst string
	// adminKeyOnFirst gives the admin key to node 0 only: the others find
	// the deployment's in the store.
	adminKeyOnFirst bool
}

// cluster is a set of herald serve processes sharing a schema and a
// subject prefix.
type cluster struct {
	t      *testing.T
	cfg    clusterConfig
	bin    string
	schema string
	prefix string
	nodes  []*node
}

// node is one herald serve process, restartable at the same address.
type node struct {
	index int
	name  string
	data  string     // its own --data: nothing is shared but the store and the broker
	mu    sync.Mutex // guards the fields below
	addr  string     // host:port of the running (or last) process
	cmd   *exec.Cmd
	done  chan struct{}  // closed when the process has exited
	logs  []string       // the last lines of its log, for failures
	msgs  map[string]int // every log line's msg, counted
}

var (
	listening = regexp.MustCompile(`herald listening"? addr=(\S+)`)
	logMsg    = regexp.MustCompile(`msg=(?:"((?:[^"\\]|\\.)*)"|(\S+))`)
)

// startCluster starts cfg.nodes nodes and stops them when the test ends;
// the schema is dropped after that.
func startCluster(t *testing.T, cfg clusterConfig) *cluster {
	t.Helper()
	c := &cluster{t: t, cfg: cfg, bin: mustBinary(t),
		schema: randomName("h_cluster_"), prefix: randomName("herald_cluster.p")}
	t.Cleanup(func() { dropSchema(t, cfg.postgres, c.schema) })
	for i := range cfg.nodes {
		c.nodes = append(c.nodes, &node{index: i, name: fmt.Sprintf("n%d", i), addr: "127.0.0.1:0", data: t.TempDir()})
	}
	t.Cleanup(c.stopAll)
	// Every node starts at once, each with a data directory of its own, on
	// a schema none has seen: the migrations, the signing key and the
	// admin key are made by whichever comes first, and all agree. With
	// adminKeyOnFirst the others must wait for node 0 to store its key.
	if cfg.adminKeyOnFirst {
		c.start(c.nodes[0])
	}
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		if cfg.adminKeyOnFirst && n.index == 0 {
			continue
		}
		wg.Go(func() { c.start(n) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return c
}

// dropSchema drops a test's schema.
func dropSchema(tb testing.TB, dsn, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Errorf("connect to drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
		tb.Errorf("drop schema %s: %v", schema, err)
	}
}

// start runs node n at its address (any free port the first time) and
// waits until it listens. If the old port is taken, it takes a new one.
func (c *cluster) start(n *node) {
	c.t.Helper()
	n.mu.Lock()
	addr := n.addr
	n.mu.Unlock()
	err := c.run(n, addr)
	if err != nil && addr != "127.0.0.1:0" {
		c.t.Logf("%s: restart at %s failed (%v); taking another port", n.name, addr, err)
		err = c.run(n, "127.0.0.1:0")
	}
	if err != nil {
		c.t.Errorf("%s: %v\n%s", n.name, err, n.tail())
	}
}

// run starts the process and waits for its "herald listening" line.
func (c *cluster) run(n *node, addr string) error {
	broker := c.cfg.nats
	if c.cfg.natsFor != nil {
		broker = c.cfg.natsFor(n.index)
	}
	rate := c.cfg.writeRate
	if rate == "" {
		rate = "0"
	}
	args := []string{"serve", "--addr", addr, "--data", n.data, "--store", c.cfg.postgres, "--schema", c.schema,
		"--broker", broker, "--broker-prefix", c.prefix, "--node", n.name, "--write-rate", rate}
	if c.cfg.writeBurst != "" {
		args = append(args, "--write-burst", c.cfg.writeBurst)
	}
	if c.cfg.resyncEvery != "" {
		args = append(args, "--resync-every", c.cfg.resyncEvery)
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "HERALD_ADMIN_KEY="+adminKey)
	if c.cfg.adminKeyOnFirst && n.index > 0 {
		cmd.Env = append(os.Environ(), "HERALD_ADMIN_KEY=")
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	listen := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			n.log(line)
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case listen <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
	select {
	case a := <-listen:
		n.mu.Lock()
		n.addr, n.cmd, n.done = a, cmd, done
		n.mu.Unlock()
		return nil
	case <-done:
		return fmt.Errorf("herald serve exited before listening (%v)", cmd.ProcessState)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return errors.New("herald serve did not listen within 30s")
	}
}

// log keeps the last lines of the node's log and counts its messages.
func (n *node) log(line string) {
	const keep = 200
	n.mu.Lock()
	defer n.mu.Unlock()
	if m := logMsg.FindStringSubmatch(line); m != nil {
		if n.msgs == nil {
			n.msgs = map[string]int{}
		}
		n.msgs[m[1]+m[2]]++
	}
	n.logs = append(n.logs, line)
	if len(n.logs) > 2*keep {
		n.logs = append(n.logs[:0], n.logs[len(n.logs)-keep:]...)
	}
}

// tail returns the last lines of the node's log.
func (n *node) tail() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	lines := n.logs
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return n.name + " log:\n  " + strings.Join(lines, "\n  ")
}

// count returns how many lines the node (all its processes) logged with
// a msg containing s.
func (n *node) count(s string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := 0
	for msg, c := range n.msgs {
		if strings.Contains(msg, s) {
			k += c
		}
	}
	return k
}

// address returns where the node listens (or listened last).
func (n *node) address() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addr
}

// pid returns the running process's id.
func (n *node) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd.Process.Pid
}

// kill stops node n with sig and waits for it to exit.
func (c *cluster) kill(n *node, sig syscall.Signal) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// stopAll stops every node: SIGTERM, then SIGKILL after 10 s.
func (c *cluster) stopAll() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(func() { c.kill(n, syscall.SIGTERM) })
	}
	wg.Wait()
	if c.t.Failed() {
		for _, n := range c.nodes {
			c.t.Log(n.tail())
		}
	}
}

// httpClient returns an HTTP client whose connections go to node prefer
// while it accepts them and else to the next node that does: what an L4
// load balancer with failover does. Each client has its own connection
// pool.
func (c *cluster) httpClient(prefer int) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var errs []error
			for i := range c.nodes {
				n := c.nodes[(prefer+i)%len(c.nodes)]
				d := net.Dialer{Timeout: time.Second}
				conn, err := d.DialContext(ctx, "tcp", n.address())
				if err == nil {
					return conn, nil
				}
				errs = append(errs, err)
			}
			return nil, fmt.Errorf("no node accepts connections: %w", errors.Join(errs...))
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	c.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// admin returns an admin client that prefers node prefer.
func (c *cluster) admin(prefer int) *client.Admin {
	return client.NewAdmin(baseURL, adminKey, client.WithHTTPClient(c.httpClient(prefer)))
}

// user returns a client of the user with token that prefers node prefer.
func (c *cluster) user(token string, prefer int) *client.Client {
	return client.New(baseURL, client.StaticToken(token), client.WithHTTPClient(c.httpClient(prefer)))
}

// db connects to the cluster's schema, for checking what is stored.
func (c *cluster) db(tb testing.TB) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc, err := pgx.ParseConfig(c.cfg.postgres)
	if err != nil {
		tb.Fatal(err)
	}
	cc.RuntimeParams["search_path"] = pgx.Identifier{c.schema}.Sanitize()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		tb.Fatalf("connect to %s: %v", c.schema, err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// rssKiB returns the resident memory of a process, from /proc.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int64
			_, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib)
			return kib, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuSeconds returns the CPU time (user and system) a process has used,
// from /proc (in clock ticks of 1/100 s, Linux's USER_HZ).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed stat")
	}
	var utime, stime int64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return 0, err
	}
	return float64(utime+stime) / 100, nil
}

// cpu returns the CPU seconds the cluster's running nodes have used.
func (c *cluster) cpu() float64 {
	total := 0.0
	for _, n := range c.nodes {
		if s, err := cpuSeconds(n.pid()); err == nil {
			total += s
		}
	}
	return total
}

// waitLog waits until the node's kept log has at least want lines
// containing s, or within has passed; it reports whether it has.
func (n *node) waitLog(s string, want int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for n.count(s) < want {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

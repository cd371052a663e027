package cluster_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// natsServer is a nats-server process of the test's own, which it may kill
// and restart: the machine's shared server is never touched.
type natsServer struct {
	bin  string
	port int
	mu   sync.Mutex // guards cmd and done
	cmd  *exec.Cmd
	done chan struct{}
}

// startNATS runs nats-server on a free loopback port until the test ends.
func startNATS(t *testing.T) *natsServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("nats-server binary not found (PATH, /usr/sbin): %v", err)
	}
	s := &natsServer{bin: bin, port: freePort(t)}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

// URL is where the server listens.
func (s *natsServer) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// start runs the server and waits until it accepts connections.
func (s *natsServer) start(tb testing.TB) {
	tb.Helper()
	cmd := exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port))
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start nats-server: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	if err := waitListening(fmt.Sprintf("127.0.0.1:%d", s.port), 10*time.Second); err != nil {
		tb.Fatalf("nats-server: %v", err)
	}
}

// stop kills the server (SIGKILL: the nodes see the connection drop) and
// waits for it to exit.
func (s *natsServer) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// waitListening waits until addr accepts a TCP connection.
func waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not accept connections after %s: %w", addr, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// proxy forwards TCP connections from a loopback port to a target, and can
// cut them: a network failure between one node and NATS while the server
// stays up for the others.
type proxy struct {
	target string
	l      net.Listener
	mu     sync.Mutex // guards conns and refuseUntil
	conns  []net.Conn
	// refuseUntil: connections accepted before it are closed at once, as
	// if the network were down.
	refuseUntil time.Time
}

// startProxy forwards 127.0.0.1:<free port> to target until the test ends.
func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: target, l: l}
	go p.serve()
	t.Cleanup(func() { l.Close(); p.cut(0) })
	return p
}

// URL is the proxy's address as a NATS URL.
func (p *proxy) URL() string { return "nats://" + p.l.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := time.Now().Before(p.refuseUntil)
		p.mu.Unlock()
		if refuse {
			in.Close()
			continue
		}
		out, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// cut closes every forwarded connection and refuses new ones for d.
func (p *proxy) cut(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.refuseUntil = time.Now().Add(d)
}

// pgServer is a throwaway PostgreSQL cluster of the test's own, which it
// may stop and start: the machine's shared server is never touched.
type pgServer struct {
	bin  string // the directory of initdb and pg_ctl
	dir  string
	port int
}

// startPostgres makes and starts a throwaway cluster, removed when the
// test ends. It skips when initdb is missing or the test is not root (the
// server must run as the postgres user).
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a throwaway PostgreSQL cluster needs root (to run initdb and pg_ctl as postgres)")
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		t.Skip("initdb not found under /usr/lib/postgresql/*/bin: cannot make a throwaway PostgreSQL cluster")
	}
	slices.SortFunc(found, func(a, b string) int { return version(b) - version(a) }) // the newest first
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("runuser not found: cannot run PostgreSQL as the postgres user")
	}
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres user: cannot run a throwaway PostgreSQL cluster")
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	// Not t.TempDir: its parents are root's and closed to postgres.
	dir, err := os.MkdirTemp("", "herald-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	s := &pgServer{bin: filepath.Dir(found[0]), dir: dir, port: freePort(t)}
	if out, err := s.asPostgres("initdb", "-D", dir, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// version is the major version in an /usr/lib/postgresql/<v>/bin path.
func version(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

func (s *pgServer) asPostgres(tool string, args ...string) *exec.Cmd {
	return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(s.bin, tool)}, args...)...)
}

// URL is the server's postgres:// URL.
func (s *pgServer) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// start starts the server and waits until it accepts connections.
func (s *pgServer) start(tb testing.TB) {
	tb.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", s.port, s.dir)
	cmd := s.asPostgres("pg_ctl", "-D", s.dir, "-l", filepath.Join(s.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start")
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		tb.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// stop stops the server at once (-m immediate: a crash, recovered from the
// write-ahead log at the next start).
func (s *pgServer) stop(tb testing.TB) {
	if out, err := s.asPostgres("pg_ctl", "-D", s.dir, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		tb.Logf("pg_ctl stop: %v\n%s", err, out)
	}
}

package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tlsServer is a herald serve process over HTTPS and what it logged.
type tlsServer struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	log  []string
}

func (s *tlsServer) logged(substr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.log {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func startTLSServer(t *testing.T, bin string, args ...string) *tlsServer {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), "HERALD_ADMIN_KEY="+crashAdminKey)
	s := &tlsServer{cmd: cmd}
	s.addr = startListening(t, cmd, func(line string) {
		s.mu.Lock()
		s.log = append(s.log, line)
		s.mu.Unlock()
	})
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return s
}

// certOf makes a self-signed certificate in a directory of its own and
// returns its files and the pool that trusts it.
func certOf(t *testing.T) (certFile, keyFile string, pool *x509.CertPool, sum [32]byte) {
	t.Helper()
	certFile, keyFile, err := selfSigned(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(certFile)
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	blk, _ := pem.Decode(b)
	return certFile, keyFile, pool, sha256.Sum256(blk.Bytes)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeTLS (issue 13): --tls-cert/--tls-key serve HTTPS with HTTP/2
// and HSTS; SIGHUP reloads the files; a bad file keeps the certificate in
// use.
func TestServeTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildHerald(t)
	dir := t.TempDir()
	certA, keyA, poolA, sumA := certOf(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	copyFile(t, certA, certFile)
	copyFile(t, keyA, keyFile)
	s := startTLSServer(t, bin, "--tls-cert", certFile, "--tls-key", keyFile)

	served := func() [32]byte { // the certificate a new connection gets
		conn, err := tls.Dial("tcp", s.addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: poolA, ServerName: "localhost"}, ForceAttemptHTTP2: true}}
	res, err := c.Get("https://" + s.addr + "/.well-known/jwks.json")
	if err != nil {
		t.Fatalf("GET over HTTPS: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.ProtoMajor != 2 || !strings.HasPrefix(res.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("got %d over HTTP/%d, HSTS %q; want 200 over HTTP/2 with HSTS", res.StatusCode, res.ProtoMajor, res.Header.Get("Strict-Transport-Security"))
	}
	if plain, err := http.Get("http://" + s.addr + "/.well-known/jwks.json"); err == nil {
		plain.Body.Close()
		if plain.StatusCode == 200 {
			t.Errorf("plain HTTP on the TLS port: got 200, want it refused")
		}
	}

	certB, keyB, _, sumB := certOf(t)
	copyFile(t, certB, certFile)
	copyFile(t, keyB, keyFile)
	if got := served(); got != sumA {
		t.Fatalf("before SIGHUP: the new files are served already, want the loaded certificate")
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	for i := 0; served() != sumB; i++ {
		if i > 100 {
			t.Fatalf("after SIGHUP: the new certificate is not served (log %v)", s.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	for i := 0; !s.logged("TLS certificate not reloaded"); i++ {
		if i > 100 {
			t.Fatalf("a bad certificate file on SIGHUP was not reported")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := served(); got != sumB {
		t.Errorf("after a bad reload: the certificate changed, want the previous one kept")
	}
}

// TestSlowlorisDoesNotStarve (issue 13): 200 connections trickling their
// headers do not keep a normal client from being served. The latency is
// logged (the 1 s target is a measurement, not asserted); each request must
// be answered.
func TestSlowlorisDoesNotStarve(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	s := startServer(t, buildHerald(t), t.TempDir())
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	addr := strings.TrimPrefix(s.url, "http://")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 200 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /chat/threads HTTP/1.1\r\nHost: x\r\n")
		wg.Go(func() {
			defer conn.Close()
			for {
				select {
				case <-stop:
					return
				case <-time.After(500 * time.Millisecond):
					if _, err := conn.Write([]byte("X")); err != nil {
						return
					}
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	var worst time.Duration
	client := &http.Client{Timeout: 10 * time.Second}
	for range 20 {
		began := time.Now()
		res, err := client.Get(s.url + "/.well-known/jwks.json")
		if err != nil {
			t.Fatalf("a normal request beside 200 slow ones: %v", err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		worst = max(worst, time.Since(began))
		if res.StatusCode != 200 {
			t.Fatalf("a normal request beside 200 slow ones: got %d, want 200", res.StatusCode)
		}
	}
	t.Logf("beside 200 slowloris connections: 20 normal requests answered, the slowest in %v", worst)
}

// fakeAddrListener hands out pipe connections that claim a remote
// address.
type fakeAddrListener struct {
	conns chan net.Conn
}

func (l *fakeAddrListener) Accept() (net.Conn, error) { return <-l.conns, nil }
func (l *fakeAddrListener) Close() error              { return nil }
func (l *fakeAddrListener) Addr() net.Addr            { return &net.TCPAddr{} }

type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// TestConnectionsPerAddress: past the budget, a client address's new
// connections are closed at once; a closed one frees its slot; loopback and
// other addresses are not counted against it.
func TestConnectionsPerAddress(t *testing.T) {
	fake := &fakeAddrListener{conns: make(chan net.Conn, 16)}
	ln := limitPerAddress(fake, 2, slog.New(slog.DiscardHandler))
	dial := func(ip string) net.Conn {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		fake.conns <- addrConn{Conn: a, remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 1}}
		return b
	}
	accept := func() net.Conn {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dial("203.0.113.5")
	first := accept()
	dial("203.0.113.5")
	accept()
	over := dial("203.0.113.5") // the third: closed at once
	dial("198.51.100.7")        // another address: accepted
	if c := accept(); c.RemoteAddr().String() != "198.51.100.7:1" {
		t.Fatalf("accepted %s, want the other address (the third from 203.0.113.5 refused)", c.RemoteAddr())
	}
	if _, err := over.Read(make([]byte, 1)); err == nil {
		t.Errorf("the connection over the budget is open, want it closed")
	}
	first.Close()
	dial("203.0.113.5")
	if c := accept(); c.RemoteAddr().String() != "203.0.113.5:1" {
		t.Errorf("after one closed: accepted %s, want 203.0.113.5 again", c.RemoteAddr())
	}
	for range 5 { // loopback is exempt
		dial("127.0.0.1")
		accept()
	}
}

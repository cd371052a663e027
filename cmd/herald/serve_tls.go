package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// certificate holds the serving certificate and reloads it from its
// files (on SIGHUP), keeping the old one when the new files are bad.
type certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func loadCertificate(certFile, keyFile string) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again; on an error the certificate in use stays.
func (c *certificate) Reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s / key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cur.Store(&cert)
	return nil
}

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }

// fingerprint is the SHA-256 of the certificate in use, for the log.
func (c *certificate) fingerprint() string {
	sum := sha256.Sum256(c.cur.Load().Certificate[0])
	return hex.EncodeToString(sum[:])
}

// tlsConfig returns the TLS configuration for --tls-cert/--tls-key or
// --tls-self-signed, and the certificate to reload; nil when TLS is off.
func (c *ServeCmd) tlsConfig(log *slog.Logger) (*tls.Config, *certificate, error) {
	certFile, keyFile := c.TLSCert, c.TLSKey
	switch {
	case c.TLSSelfSigned && (certFile != "" || keyFile != ""):
		return nil, nil, errors.New("--tls-self-signed and --tls-cert/--tls-key exclude each other")
	case (certFile == "") != (keyFile == ""):
		return nil, nil, errors.New("--tls-cert and --tls-key go together")
	case c.TLSSelfSigned:
		var err error
		if certFile, keyFile, err = selfSigned(c.Data, time.Now()); err != nil {
			return nil, nil, err
		}
	case certFile == "":
		return nil, nil, nil
	}
	cert, err := loadCertificate(certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	if c.TLSSelfSigned {
		log.Warn("DEVELOPMENT ONLY: serving HTTPS with a self-signed certificate (--tls-self-signed); clients must trust it explicitly",
			"cert", certFile, "sha256", cert.fingerprint())
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cert.get}, cert, nil
}

// selfSigned returns the development certificate in dir, made on first
// use: ECDSA P-256, for localhost, 127.0.0.1 and ::1, valid for a year.
func selfSigned(dir string, now time.Time) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, "tls-self-signed.crt"), filepath.Join(dir, "tls-self-signed.key")
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		if b, err := os.ReadFile(certFile); err == nil {
			if blk, _ := pem.Decode(b); blk != nil {
				if x, err := x509.ParseCertificate(blk.Bytes); err == nil && now.Add(24*time.Hour).Before(x.NotAfter) {
					return certFile, keyFile, nil
				}
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Herald development (self-signed)"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// hsts tells browsers to use HTTPS only, once they reached the server over
// it with a certificate they trust (a year; subdomains are the operator's
// choice, not Herald's).
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}

// addressLimit closes connections past max open ones from one client
// address, before any byte is read: the per-address connection budget.
// Loopback addresses are exempt (local tools, a proxy on the same host).
type addressLimit struct {
	net.Listener
	max     int
	log     *slog.Logger
	mu      sync.Mutex // guards open
	open    map[string]int
	refused atomic.Int64
}

func limitPerAddress(ln net.Listener, max int, log *slog.Logger) net.Listener {
	if max <= 0 {
		return ln
	}
	return &addressLimit{Listener: ln, max: max, log: log, open: map[string]int{}}
}

func (l *addressLimit) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return conn, nil
		}
		l.mu.Lock()
		n := l.open[host]
		if n >= l.max {
			l.mu.Unlock()
			conn.Close()
			if l.refused.Add(1)%100 == 1 { // logged, not once per connection
				l.log.Warn("connection refused: too many open from one address (--max-connections-per-address)",
					"address", host, "open", n, "refused_total", l.refused.Load())
			}
			continue
		}
		l.open[host] = n + 1
		l.mu.Unlock()
		return &countedConn{Conn: conn, release: func() { l.release(host) }}, nil
	}
}

func (l *addressLimit) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host]--; l.open[host] <= 0 {
		delete(l.open, host)
	}
}

// countedConn gives its slot back once, when closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// reloadOnHangup reloads cert on every SIGHUP until stop is called, and
// logs the outcome (a bad file keeps the certificate in use).
func reloadOnHangup(cert *certificate, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				if err := cert.Reload(); err != nil {
					log.Error("TLS certificate not reloaded; still serving the previous one", "err", err)
				} else {
					log.Info("TLS certificate reloaded", "sha256", cert.fingerprint())
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// endpoint is the URL clients reach this server at (in connection strings).
func (c *ServeCmd) endpoint(addr string) string {
	if c.TLSCert != "" || c.TLSSelfSigned {
		return "https://" + addr + "/"
	}
	return "http://" + addr + "/"
}

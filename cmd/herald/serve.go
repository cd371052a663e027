package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/httpapi"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/metrics"
	"github.com/herald-chat/herald/nats"
	"github.com/herald-chat/herald/postgres"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/webhook"
	"github.com/herald-chat/herald/wire"
)

// ServeCmd starts the server. With no flags it runs on the embedded
// default: SQLite in ./herald-data, listening on 127.0.0.1:8080.
type ServeCmd struct {
	Addr             string        `default:"127.0.0.1:8080" env:"HERALD_ADDR" help:"Address to listen on."`
	Data             string        `default:"./herald-data" env:"HERALD_DATA" help:"Data directory (the SQLite database, the admin key file)."`
	TLSCert          string        `name:"tls-cert" env:"HERALD_TLS_CERT" placeholder:"FILE" help:"Serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate chain; reloaded with its key on SIGHUP. Sends HSTS."`
	TLSKey           string        `name:"tls-key" env:"HERALD_TLS_KEY" placeholder:"FILE" help:"The PEM private key of --tls-cert."`
	TLSSelfSigned    bool          `name:"tls-self-signed" env:"HERALD_TLS_SELF_SIGNED" help:"Development only: serve HTTPS with a self-signed certificate for localhost, made in --data on first use (for SDKs that refuse tokens over plain HTTP)."`
	MaxAddrConns     int           `name:"max-connections-per-address" default:"0" env:"HERALD_MAX_CONNECTIONS_PER_ADDRESS" help:"Open connections one client address may hold (loopback exempt); past it new ones are closed at once. 0 (the default) is no limit: set it when Herald faces clients directly, not behind a proxy."`
	ReplaceAdminKey  bool          `env:"HERALD_REPLACE_ADMIN_KEY" help:"Make this node's admin key (HERALD_ADMIN_KEY or the key file) the deployment's, in place of the one in the store."`
	Issuer           string        `default:"herald" env:"HERALD_ISSUER" help:"Token issuer (iss)."`
	Audience         string        `default:"herald-chat" env:"HERALD_AUDIENCE" help:"Token audience (aud)."`
	MaxParticipants  int           `default:"250" env:"HERALD_MAX_PARTICIPANTS" help:"Participants per thread."`
	MaxAddBatch      int           `default:"200" env:"HERALD_MAX_ADD_BATCH" help:"Participants per create or add request."`
	MaxContentBytes  int           `default:"28672" env:"HERALD_MAX_CONTENT_BYTES" help:"Message content size limit."`
	MaxMetadataBytes int           `default:"1024" env:"HERALD_MAX_METADATA_BYTES" help:"Metadata size limit (as JSON)."`
	MaxPageSize      int           `default:"200" env:"HERALD_MAX_PAGE_SIZE" help:"Largest page a list returns."`
	MaxBodyBytes     int64         `default:"524288" env:"HERALD_MAX_BODY_BYTES" help:"Request body size limit."`
	ReadTimeout      time.Duration `default:"30s" env:"HERALD_READ_TIMEOUT" help:"Time a request body may take to arrive after its headers; slower bodies get 400 body_timeout. Real-time streams are exempt once open."`
	WriteTimeout     time.Duration `default:"60s" env:"HERALD_WRITE_TIMEOUT" help:"Time a REST answer may take to be written; real-time streams are exempt."`
	MaxUserConns     int           `name:"max-connections-per-user" default:"100" env:"HERALD_MAX_CONNECTIONS_PER_USER" help:"Real-time connections one user may hold open on this node; more are refused with 429 before the upgrade."`
	AllowedOrigins   []string      `env:"HERALD_ALLOWED_ORIGINS" help:"Browser origins (scheme://host[:port], compared exactly) allowed to open real-time connections. Without it only pages served under an IP address or localhost (same origin) may; list the server's own origin when it is served under a DNS name."`
	Heartbeat        time.Duration `default:"25s" env:"HERALD_HEARTBEAT" help:"Real-time ping interval; a peer silent for twice this plus 5s is closed."`
	QueueSize        int           `default:"1024" env:"HERALD_QUEUE_SIZE" help:"Real-time signals queued per connection; past it the queue is dropped and the connection catches up from the store."`
	WriteRate        float64       `default:"100" env:"HERALD_WRITE_RATE" help:"Writes per second per user (sends, edits, thread and membership changes); 0 disables the limit."`
	WriteBurst       int           `default:"200" env:"HERALD_WRITE_BURST" help:"Writes a user may make at once before the rate applies."`
	Store            string        `env:"HERALD_STORE" placeholder:"URL" help:"Where the data lives: empty for SQLite in --data (the embedded default), or a postgres:// URL that every node of a deployment shares."`
	Schema           string        `default:"public" env:"HERALD_SCHEMA" help:"PostgreSQL schema of Herald's tables, created if missing (with a postgres:// --store)."`
	Broker           string        `env:"HERALD_BROKER" placeholder:"URL" help:"How nodes hear of committed changes: empty for the in-process broker (one node), or nats:// URLs (comma-separated) that every node shares."`
	BrokerPrefix     string        `default:"herald" env:"HERALD_BROKER_PREFIX" help:"NATS subject prefix; every node of a deployment uses the same one."`
	ResyncEvery      time.Duration `default:"30s" env:"HERALD_RESYNC_EVERY" help:"With a NATS broker, catch every connection up from the store this often, as a backstop for lost signals; 0 disables."`
	Node             string        `env:"HERALD_NODE" help:"This node's name in the connection log (default hostname:port)."`
	Pprof            string        `env:"HERALD_PPROF" placeholder:"ADDR" help:"Serve net/http/pprof on this address, on its own listener (off by default; for profiling)."`
	Retention        time.Duration `default:"720h" env:"HERALD_RETENTION" help:"Keep evidence (request log, connection log, delivery ledger) this long; 0 keeps it forever."`
	DevLogin         bool          `env:"HERALD_DEV_LOGIN" help:"Development only: let anyone create an identity and chat token with POST /dev/login (the chat page's dev sign-in)."`
	AuthFailureRate  float64       `default:"1" env:"HERALD_AUTH_FAILURE_RATE" help:"Failed authentications per second a client address earns back (wrong admin keys, tokens this server did not issue); 0 disables the limit."`
	AuthFailureBurst int           `default:"30" env:"HERALD_AUTH_FAILURE_BURST" help:"Failed authentications a client address may make at once; past them it gets 429 until it has earned one back."`
	DrainDelay       time.Duration `default:"0s" env:"HERALD_DRAIN_DELAY" help:"On SIGTERM, answer /readyz with 503 for this long before closing the listener, so that load balancers stop sending new clients first (for example 5s behind Kubernetes)."`
	LogFormat        string        `default:"text" enum:"text,json" env:"HERALD_LOG_FORMAT" help:"Log format on stderr: text (key=value) or json (one object a line). Every request's line carries its request_id (X-Request-Id)."`
	OTLPEndpoint     string        `name:"otlp-endpoint" env:"HERALD_OTLP_ENDPOINT" placeholder:"URL" help:"Export traces of the send path (request → commit → publish → socket write) over OTLP/HTTP to this collector URL, e.g. http://127.0.0.1:4318/v1/traces. Off unless set (or OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is)."`
	OTLPSampleRatio  float64       `name:"otlp-sample-ratio" default:"1" env:"HERALD_OTLP_SAMPLE_RATIO" help:"With tracing on, the fraction of requests traced (0 to 1); a request that carries a traceparent keeps its caller's decision."`
	DevMinToken      time.Duration `name:"dev-min-token-lifetime" env:"HERALD_DEV_MIN_TOKEN_LIFETIME" placeholder:"DURATION" help:"Development only: allow tokens as short as this (whole minutes, 1m to 60m) instead of 60 minutes, to see token expiry end to end (herald demo). Refused unless --addr is a loopback address."`

	// keyInArgs is set when the admin key came on the command line, where
	// every user of the machine can read it (ps, /proc).
	keyInArgs bool
}

// AfterApply notes whether the admin key was passed as --admin-key.
func (c *ServeCmd) AfterApply(kctx *kong.Context) error {
	for _, a := range kctx.Args {
		if a == "--admin-key" || strings.HasPrefix(a, "--admin-key=") {
			c.keyInArgs = true
		}
	}
	return nil
}

// checkDev refuses the development options on an address other machines
// can reach.
func (c *ServeCmd) checkDev() error {
	if c.DevMinToken == 0 {
		return nil
	}
	if c.DevMinToken < time.Minute || c.DevMinToken > service.MinTokenLifetime || c.DevMinToken%time.Minute != 0 {
		return fmt.Errorf("--dev-min-token-lifetime must be whole minutes from 1m to %v, not %v", service.MinTokenLifetime, c.DevMinToken)
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", c.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--dev-min-token-lifetime is for development only and is refused with --addr %s: listen on a loopback address (127.0.0.1:PORT)", c.Addr)
	}
	return nil
}

// Run starts the server and blocks until SIGINT or SIGTERM, then shuts
// down gracefully (see node.shutdown).
func (c *ServeCmd) Run(g *Globals) error {
	parent := g.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(g.stderr, c.LogFormat)
	if c.keyInArgs {
		log.Warn("--admin-key on the command line is visible to every user of this machine (ps, /proc/*/cmdline); " +
			"set HERALD_ADMIN_KEY instead, or leave it unset to use the key file in --data")
	}
	if err := c.checkDev(); err != nil {
		return err
	}
	tlsCfg, cert, err := c.tlsConfig(log)
	if err != nil {
		return err
	}
	raw, err := net.Listen("tcp", c.Addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen on %s: the address is in use (another herald serve?); choose another with --addr or HERALD_ADDR", c.Addr)
	}
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	ln := &closeListener{Listener: limitPerAddress(raw, c.MaxAddrConns, log), closed: make(chan struct{})}
	n, err := c.build(ctx, g, log, ln.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	defer n.close()
	hs := &http.Server{Handler: n.api, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	scheme := "http"
	if tlsCfg != nil {
		scheme, hs.TLSConfig = "https", tlsCfg
		if !c.TLSSelfSigned {
			hs.Handler = hsts(n.api)
		}
		stopReload := reloadOnHangup(cert, log)
		defer stopReload()
		go func() { errc <- hs.ServeTLS(ln, "", "") }() // HTTP/2 and HTTP/1.1 by ALPN
	} else {
		go func() { errc <- hs.Serve(ln) }()
	}
	log.Info("herald listening", "addr", ln.Addr().String(), "scheme", scheme, "data", c.Data)
	defer servePprof(c.Pprof, log)()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return n.shutdown(hs, ln, errc, c.DrainDelay, log)
}

// newLogger returns the server's logger: text (the default) or JSON lines.
func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// closeListener tells when the HTTP server has closed it: the moment the
// node stops accepting connections.
type closeListener struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *closeListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

// shutdownTimeout bounds the wait for in-flight requests.
const shutdownTimeout = 10 * time.Second

// shutdown stops the node in an order that loses nothing, logging each
// step:
//  1. /readyz answers 503 going_away (for --drain-delay before the next step);
//  2. the listener closes: no new connection is accepted;
//  3. every real-time connection is closed with 4000 going_away (a
//     connection that opens meanwhile is closed so at once), so that its
//     client reconnects to another node and resumes there; the delivery
//     ledger is flushed;
//  4. in-flight requests finish (within shutdownTimeout);
//  5. the request log is flushed, then the broker and the store close.
func (n *node) shutdown(hs *http.Server, ln *closeListener, served <-chan error, drainDelay time.Duration, log *slog.Logger) error {
	log.Info("shutdown: signal received; /readyz now answers 503 going_away")
	n.api.Drain()
	if drainDelay > 0 {
		log.Info("shutdown: waiting for load balancers to see /readyz (--drain-delay)", "delay", drainDelay)
		t := n.clock.NewTimer(drainDelay)
		<-t.C()
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- hs.Shutdown(ctx) }()
	select {
	case <-ln.closed:
	case err := <-done: // Shutdown closes the listener first: only a failure lands here first
		done <- err
	}
	<-served // Serve returns ErrServerClosed once the listener is closed
	log.Info("shutdown: stopped accepting connections")
	open := n.hub.Count()
	n.stopResync()
	n.hub.Close()
	log.Info("shutdown: real-time connections closed with 4000 going_away; delivery ledger flushed", "connections", open)
	err := <-done
	if err != nil {
		log.Warn("shutdown: in-flight requests did not finish in time", "timeout", shutdownTimeout, "err", err)
	} else {
		log.Info("shutdown: in-flight requests finished")
	}
	n.api.Close()
	log.Info("shutdown: request log flushed")
	n.close()
	log.Info("shutdown: store and broker closed; bye")
	return nil
}

// node is one wired server and what stopping it takes.
type node struct {
	api        *httpapi.Server
	hub        *hub.Hub
	clock      herald.Clock
	metrics    *metrics.Metrics
	stopResync func()
	close      func() // idempotent: stops everything that is still running
}

// build opens the data directory and wires the server.
func (c *ServeCmd) build(ctx context.Context, g *Globals, log *slog.Logger, addr string) (*node, error) {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	store, err := c.openStore(ctx, log)
	if err != nil {
		return nil, err
	}
	clock, ids := herald.SystemClock{}, herald.RandomIDs{}
	keys, err := c.setupKeys(ctx, store, g.AdminKey, clock)
	if err != nil {
		store.Close()
		return nil, err
	}
	limits := service.DefaultLimits()
	limits.MaxParticipants, limits.MaxAddBatch = c.MaxParticipants, c.MaxAddBatch
	limits.MaxContentBytes, limits.MaxMetadataBytes, limits.MaxPageSize = c.MaxContentBytes, c.MaxMetadataBytes, c.MaxPageSize
	limits.WriteRate, limits.WriteBurst = c.WriteRate, c.WriteBurst
	limits.AuthFailureRate, limits.AuthFailureBurst = c.AuthFailureRate, c.AuthFailureBurst
	if c.DevMinToken > 0 {
		limits.MinTokenLifetime = c.DevMinToken
		log.Warn("DEVELOPMENT ONLY: tokens may be issued for as little as "+c.DevMinToken.String()+" (--dev-min-token-lifetime); never run this in production",
			"min_token_lifetime", c.DevMinToken.String())
	}
	if limits.DefaultPageSize > limits.MaxPageSize {
		limits.DefaultPageSize = limits.MaxPageSize
	}
	causes := doctor.Causes()
	names := make([]string, len(causes))
	for i, cause := range causes {
		names[i] = string(cause)
	}
	m := metrics.New(metrics.Options{DoctorCauses: names,
		Transports: []string{wire.TransportWebSocket, wire.TransportSSE, wire.TransportLongPoll}})
	nodeName := c.nodeName(addr)
	broker, lost, resyncEvery, err := c.openBroker(nodeName, log, m)
	if err != nil {
		store.Close()
		return nil, err
	}
	tp, stopTracing, err := c.openTracing(ctx, nodeName, log)
	if err != nil {
		broker.Close()
		store.Close()
		return nil, err
	}
	built := false
	defer func() {
		if !built {
			stopTracing()
		}
	}()
	hooks := webhook.New(store, clock, ids, webhook.Options{Node: nodeName, Log: log, Observer: m})
	if err := hooks.Load(ctx); err != nil {
		broker.Close()
		store.Close()
		return nil, fmt.Errorf("read the webhook subscriptions: %w", err)
	}
	svc, err := service.New(store, keys.signer, broker, clock, ids, limits, service.WithOutbox(hooks),
		service.WithLogger(log), service.WithObserver(m), service.WithRateLimiter(rateLimiter(store)), service.WithTracer(tp))
	if err != nil {
		broker.Close()
		store.Close()
		return nil, err
	}
	relay, route := relayOf(broker)
	h, err := hub.New(svc, store, broker, clock, ids, hub.Config{Heartbeat: c.Heartbeat, QueueSize: c.QueueSize, Node: nodeName,
		ResyncEvery: resyncEvery, Observer: m, Route: route, Tracer: tp}, log)
	if err != nil {
		broker.Close()
		store.Close()
		return nil, err
	}
	stopResync := resyncOnLoss(h, lost)
	server, err := httpapi.New(svc, store, clock, ids, httpapi.Config{Doctor: doctor.New(store, clock), AdminKeyHash: keys.adminHash, Keys: keys.signer, Webhooks: hooks, Relay: relay, Route: route, MaxBodyBytes: c.MaxBodyBytes, Logger: log,
		Hub: h, AllowedOrigins: c.AllowedOrigins, DevLogin: c.DevLogin, ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout,
		MaxConnectionsPerUser: c.MaxUserConns, Observer: m, Tracer: tp, Metrics: m.Handler(), Checks: readiness(store, broker)})
	if err != nil {
		stopResync()
		h.Close()
		broker.Close()
		store.Close()
		return nil, err
	}
	queueSize := int64(h.Config().QueueSize)
	m.Watch(func() metrics.Counts {
		st := h.Stats()
		lostRows, _ := server.LostRequestRows()
		return metrics.Counts{QueueOverflows: st.Overflows, DroppedEvents: st.DroppedEvents, DroppedSignals: st.DroppedSignals,
			DroppedControl: st.DroppedControl, Queued: st.Queued, MaxQueued: st.MaxQueued, QueueSize: queueSize,
			PublishFailures: svc.PublishFailures(), LostRequestRows: lostRows}
	})
	keys.report(g.stderr, log, c.LogFormat == "json", c.Data, c.endpoint(addr))
	stopPrune := prune(store, clock, c.Retention, log)
	stopHooks := runWebhooks(hooks)
	var once sync.Once
	n := &node{api: server, hub: h, clock: clock, metrics: m, stopResync: stopResync}
	n.close = func() {
		once.Do(func() {
			stopResync()
			h.Close()
			stopPrune()
			stopHooks()
			server.Close()
			broker.Close()
			store.Close()
			stopTracing() // after the hub and the request log: their last spans go out
		})
	}
	built = true
	return n, nil
}

// runWebhooks delivers the webhook outbox until the returned function is
// called; an attempt cut short by it is retried (by this node after a
// restart, or another node when the lease ends).
func runWebhooks(d *webhook.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// readiness returns the checks of GET /readyz: the store and the broker,
// each if it can tell (the in-process broker is always there).
func readiness(store herald.Store, broker herald.Broker) []httpapi.Check {
	var checks []httpapi.Check
	if p, ok := store.(herald.Pinger); ok {
		checks = append(checks, httpapi.Check{Name: "store", Reason: herald.ReasonStoreUnavailable, Ping: p.Ping})
	}
	if p, ok := broker.(herald.Pinger); ok {
		checks = append(checks, httpapi.Check{Name: "broker", Reason: herald.ReasonBrokerUnavailable, Ping: p.Ping})
	}
	return checks
}

// pruner is the part of the Store that retention needs.
type pruner interface {
	PruneEvidence(ctx context.Context, before time.Time) (int64, error)
}

// prune deletes evidence older than the retention period, at once and then
// hourly by clock, until the returned function is called. A retention of 0
// keeps everything.
func prune(store pruner, clock herald.Clock, retention time.Duration, log *slog.Logger) (stop func()) {
	if retention <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			n, err := store.PruneEvidence(context.Background(), clock.Now().Add(-retention))
			if err != nil {
				log.Error("prune evidence", "err", err)
			} else if n > 0 {
				log.Info("pruned evidence", "rows", n, "older than", retention)
			}
			t := clock.NewTimer(time.Hour)
			select {
			case <-done:
				t.Stop()
				return
			case <-t.C():
			}
		}
	}()
	return func() { close(done); <-finished }
}

// openStore opens the Store --store names: SQLite in the data directory
// (the embedded default), or a PostgreSQL database shared by every node.
func (c *ServeCmd) openStore(ctx context.Context, log *slog.Logger) (herald.Store, error) {
	switch {
	case c.Store == "" || c.Store == "sqlite":
		s, err := sqlite.Open(ctx, filepath.Join(c.Data, "herald.db"))
		if err != nil {
			return nil, err
		}
		return s, nil
	case strings.HasPrefix(c.Store, "postgres://") || strings.HasPrefix(c.Store, "postgresql://"):
		s, err := postgres.Open(ctx, c.Store, postgres.WithSchema(c.Schema))
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", redact(c.Store), err)
		}
		log.Info("herald store", "engine", "postgres", "database", redact(c.Store), "schema", c.Schema)
		return s, nil
	}
	return nil, fmt.Errorf("--store %s: want nothing (SQLite in --data) or a postgres:// URL", redact(c.Store))
}

// openBroker connects the Broker --broker names. With NATS, lost receives
// (without blocking the broker) whenever signals may have been lost: the
// connection came back, or the client dropped some. resyncEvery is the
// hub's periodic backstop; the in-process broker loses nothing and needs
// neither.
func (c *ServeCmd) openBroker(node string, log *slog.Logger, m *metrics.Metrics) (b herald.Broker, lost <-chan struct{}, resyncEvery time.Duration, err error) {
	switch {
	case c.Broker == "" || c.Broker == "inmem":
		if c.Store != "" && c.Store != "sqlite" {
			log.Warn("in-process broker: connections on other nodes sharing this store will not hear of this node's changes; use --broker nats://...")
		}
		return inmem.New(), nil, 0, nil
	case strings.HasPrefix(c.Broker, "nats://") || strings.HasPrefix(c.Broker, "tls://"):
		ch := make(chan struct{}, 1)
		notify := func() {
			select {
			case ch <- struct{}{}:
			default: // a catch-up is pending already
			}
		}
		nb, err := nats.New(c.Broker, nats.WithPrefix(c.BrokerPrefix), nats.WithName(node),
			nats.OnDisconnect(func(err error) {
				m.BrokerError("disconnected")
				log.Warn("broker disconnected: signals from other nodes are missed until it reconnects", "err", err)
			}),
			nats.OnReconnect(func() {
				log.Info("broker reconnected: catching every connection up from the store")
				notify()
			}),
			nats.OnDrop(func(err error) {
				m.BrokerError("dropped")
				log.Warn("broker dropped signals: catching every connection up from the store", "err", err)
				notify()
			}))
		if err != nil {
			return nil, nil, 0, fmt.Errorf("broker %s: %w", redact(c.Broker), err)
		}
		log.Info("herald broker", "engine", "nats", "servers", redact(c.Broker), "prefix", c.BrokerPrefix, "resyncEvery", c.ResyncEvery)
		return nb, ch, c.ResyncEvery, nil
	}
	return nil, nil, 0, fmt.Errorf("--broker %s: want nothing (in-process, one node) or nats:// URLs", redact(c.Broker))
}

// resyncAgain is the pause before the second catch-up after a loss.
const resyncAgain = time.Second

// resyncOnLoss catches every connection of h up from the store each time
// lost says signals may have been lost, and once more resyncAgain later: a
// commit on another node while the restored subscription was still on its
// way to the server is neither in the first pass nor in the live stream.
// The hub fills every other gap itself, on the next signal of the thread.
// It returns the function that stops it.
func resyncOnLoss(h *hub.Hub, lost <-chan struct{}) (stop func()) {
	if lost == nil {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		var again <-chan time.Time
		for {
			select {
			case <-done:
				return
			case <-lost:
				h.Resync()
				again = time.After(resyncAgain)
			case <-again:
				again = nil
				h.Resync()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-exited }) }
}

// nodeName is --node, or else hostname:port.
func (c *ServeCmd) nodeName(addr string) string {
	if c.Node != "" {
		return c.Node
	}
	host, _ := os.Hostname()
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return host + ":" + port
	}
	return host
}

// redact returns the URLs of a --store or --broker value (comma-separated)
// without their passwords, for logs and errors.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "(unparsable URL)"
			continue
		}
		parts[i] = u.Redacted()
	}
	return strings.Join(parts, ",")
}

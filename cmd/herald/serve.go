package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/httpapi"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// ServeCmd starts the server. With no flags it runs on the embedded
// default: SQLite in ./herald-data, listening on 127.0.0.1:8080.
type ServeCmd struct {
	Addr             string        `default:"127.0.0.1:8080" env:"HERALD_ADDR" help:"Address to listen on."`
	Data             string        `default:"./herald-data" env:"HERALD_DATA" help:"Data directory (database, signing key, admin key)."`
	Issuer           string        `default:"herald" env:"HERALD_ISSUER" help:"Token issuer (iss)."`
	Audience         string        `default:"herald-chat" env:"HERALD_AUDIENCE" help:"Token audience (aud)."`
	MaxParticipants  int           `default:"250" env:"HERALD_MAX_PARTICIPANTS" help:"Participants per thread."`
	MaxAddBatch      int           `default:"200" env:"HERALD_MAX_ADD_BATCH" help:"Participants per create or add request."`
	MaxContentBytes  int           `default:"28672" env:"HERALD_MAX_CONTENT_BYTES" help:"Message content size limit."`
	MaxMetadataBytes int           `default:"1024" env:"HERALD_MAX_METADATA_BYTES" help:"Metadata size limit (as JSON)."`
	MaxPageSize      int           `default:"200" env:"HERALD_MAX_PAGE_SIZE" help:"Largest page a list returns."`
	MaxBodyBytes     int64         `default:"524288" env:"HERALD_MAX_BODY_BYTES" help:"Request body size limit."`
	AllowedOrigins   []string      `env:"HERALD_ALLOWED_ORIGINS" help:"Browser origins (scheme://host[:port]) allowed to open real-time connections, besides the server's own."`
	Heartbeat        time.Duration `default:"25s" env:"HERALD_HEARTBEAT" help:"Real-time ping interval; a peer silent for twice this plus 5s is closed."`
	QueueSize        int           `default:"1024" env:"HERALD_QUEUE_SIZE" help:"Real-time events queued per connection before it is closed as a slow consumer."`
	WriteRate        float64       `default:"100" env:"HERALD_WRITE_RATE" help:"Writes per second per user (sends, edits, thread and membership changes); 0 disables the limit."`
	WriteBurst       int           `default:"200" env:"HERALD_WRITE_BURST" help:"Writes a user may make at once before the rate applies."`
}

// Run starts the server and blocks until SIGINT or SIGTERM.
func (c *ServeCmd) Run(g *Globals) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	srv, cleanup, err := c.build(ctx, g, log, ln.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	defer cleanup()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("herald listening", "addr", ln.Addr().String(), "data", c.Data)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shut)
}

// build opens the data directory and wires the server.
func (c *ServeCmd) build(ctx context.Context, g *Globals, log *slog.Logger, addr string) (http.Handler, func(), error) {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	keyPath := filepath.Join(c.Data, "signing-key.pem")
	key, createdKey, err := token.LoadOrCreateKey(keyPath)
	if err != nil {
		return nil, nil, err
	}
	adminKey, adminPath, createdAdmin, err := adminKey(c.Data, g.AdminKey)
	if err != nil {
		return nil, nil, err
	}
	store, err := sqlite.Open(ctx, filepath.Join(c.Data, "herald.db"))
	if err != nil {
		return nil, nil, err
	}
	clock, ids := herald.SystemClock{}, herald.RandomIDs{}
	limits := service.DefaultLimits()
	limits.MaxParticipants, limits.MaxAddBatch = c.MaxParticipants, c.MaxAddBatch
	limits.MaxContentBytes, limits.MaxMetadataBytes, limits.MaxPageSize = c.MaxContentBytes, c.MaxMetadataBytes, c.MaxPageSize
	limits.WriteRate, limits.WriteBurst = c.WriteRate, c.WriteBurst
	if limits.DefaultPageSize > limits.MaxPageSize {
		limits.DefaultPageSize = limits.MaxPageSize
	}
	broker := inmem.New()
	svc, err := service.New(store, token.New(key, c.Issuer, c.Audience, clock), broker, clock, ids, limits)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	node, _ := os.Hostname()
	h, err := hub.New(svc, store, broker, clock, ids, hub.Config{Heartbeat: c.Heartbeat, QueueSize: c.QueueSize, Node: node}, log)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	api, err := httpapi.New(svc, store, clock, ids, httpapi.Config{AdminKey: adminKey, MaxBodyBytes: c.MaxBodyBytes, Logger: log,
		Hub: h, AllowedOrigins: c.AllowedOrigins})
	if err != nil {
		h.Close()
		store.Close()
		return nil, nil, err
	}
	if createdKey || createdAdmin {
		fmt.Fprintf(os.Stderr, `Herald created its keys in %s:
  signing key: %s (keep it secret; tokens are signed with it)
  admin key:   %s
Use the admin key for identity commands, for example:
  export HERALD_URL=http://%s HERALD_ADMIN_KEY=$(cat %s)
  herald identity create --scopes chat
`, c.Data, keyPath, adminPath, addr, adminPath)
	} else if adminPath != "" {
		fmt.Fprintf(os.Stderr, "admin key: %s (export HERALD_ADMIN_KEY=$(cat %s))\n", adminPath, adminPath)
	}
	return api, func() { h.Close(); api.Close(); broker.Close(); store.Close() }, nil
}

// adminKey returns the admin key from the environment or flag if set, or
// else from the data directory, creating it on first start.
func adminKey(dir, given string) (key, path string, created bool, err error) {
	if given != "" {
		return given, "", false, nil
	}
	path = filepath.Join(dir, "admin.key")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), path, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", "", false, fmt.Errorf("admin key: %w", err)
	}
	var raw [32]byte
	rand.Read(raw[:])
	key = "hak_" + base64.RawURLEncoding.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", "", false, fmt.Errorf("write admin key: %w", err)
	}
	return key, path, true, nil
}

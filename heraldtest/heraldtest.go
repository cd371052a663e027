// Package heraldtest runs a Herald server inside a test's process, for the
// tests of packages that drive Herald only over its public API (bench,
// demo, web): SQLite in the test's temporary directory, the in-process broker,
// the service, the hub, the doctor and the HTTP edge on a loopback port,
// all stopped when the test ends. It is the test-only twin of the wiring
// in cmd/herald (which serves the same packages with flags, TLS, metrics,
// tracing and scale-out engines); no non-test package may import it.
package heraldtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/httpapi"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// AdminKey is the admin key of every server Start runs.
const AdminKey = "hak_heraldtest_admin_key"

// Server is a running test server.
type Server struct {
	URL   string // http://127.0.0.1:PORT
	Store herald.Store
	Hub   *hub.Hub
}

// Options change the server Start runs; the zero value is the embedded
// default on the real clock, as herald serve runs it.
type Options struct {
	// DevLogin turns on POST /dev/login and GET /dev/people (herald serve --dev-login).
	DevLogin bool
}

// Start runs a server for the test; it stops when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatalf("heraldtest: open store: %v", err)
	}
	broker := inmem.New()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock, ids := herald.SystemClock{}, herald.RandomIDs{}
	svc, err := service.New(store, token.New(key, "", "", clock), broker, clock, ids, service.DefaultLimits())
	if err != nil {
		t.Fatalf("heraldtest: %v", err)
	}
	h, err := hub.New(svc, store, broker, clock, ids, hub.Config{}, nil)
	if err != nil {
		t.Fatalf("heraldtest: %v", err)
	}
	api, err := httpapi.New(svc, store, clock, ids, httpapi.Config{AdminKey: AdminKey, Hub: h, DevLogin: o.DevLogin, Doctor: doctor.New(store, clock)})
	if err != nil {
		t.Fatalf("heraldtest: %v", err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
		api.Close()
		broker.Close()
		store.Close()
	})
	return &Server{URL: srv.URL, Store: store, Hub: h}
}

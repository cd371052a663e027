package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/httpapi"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

const testAdminKey = "hak_health_test_admin_key_0123456789"

// newServer returns an httpapi.Server on SQLite in a temporary directory,
// with cfg edited by edit.
func newServer(t *testing.T, edit func(*httpapi.Config)) *httpapi.Server {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	broker := inmem.New()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	svc, err := service.New(store, token.New(key, "", "", clk), broker, clk, herald.RandomIDs{}, service.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{AdminKey: testAdminKey, Doctor: doctor.New(store, clk)}
	if edit != nil {
		edit(&cfg)
	}
	api, err := httpapi.New(svc, store, clk, herald.RandomIDs{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close(); broker.Close(); store.Close() })
	return api
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestHealthAndReadiness: /healthz answers 200 whatever the dependencies;
// /readyz answers 200 when every check passes, 503 with the failing
// check's reason and Retry-After when one fails, and 503 going_away once
// the server drains for shutdown.
func TestHealthAndReadiness(t *testing.T) {
	storeDown := false
	api := newServer(t, func(c *httpapi.Config) {
		c.Checks = []httpapi.Check{
			{Name: "store", Reason: herald.ReasonStoreUnavailable, Ping: func(context.Context) error {
				if storeDown {
					return errors.New("connection refused")
				}
				return nil
			}},
			{Name: "broker", Reason: herald.ReasonBrokerUnavailable, Ping: func(context.Context) error { return nil }},
		}
	})
	ready := func(wantStatus int, wantReason string) {
		t.Helper()
		w := get(t, api, "/readyz")
		var body httpapi.Readiness
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("/readyz body %q: %v", w.Body, err)
		}
		if w.Code != wantStatus || body.Reason != wantReason {
			t.Errorf("/readyz: got %d %q, want %d %q", w.Code, body.Reason, wantStatus, wantReason)
		}
		if got := w.Header().Get("Retry-After"); (wantStatus == http.StatusServiceUnavailable) != (got != "") {
			t.Errorf("/readyz %d: got Retry-After %q, want one exactly on 503", w.Code, got)
		}
	}
	if w := get(t, api, "/healthz"); w.Code != http.StatusOK {
		t.Errorf("/healthz: got %d, want 200", w.Code)
	}
	ready(http.StatusOK, "")
	storeDown = true
	ready(http.StatusServiceUnavailable, string(herald.ReasonStoreUnavailable))
	if w := get(t, api, "/healthz"); w.Code != http.StatusOK {
		t.Errorf("/healthz with the store down: got %d, want 200 (a restart does not bring the store back)", w.Code)
	}
	storeDown = false
	ready(http.StatusOK, "")
	api.Drain()
	ready(http.StatusServiceUnavailable, string(herald.ReasonGoingAway))
}

// recordingObserver records the requests it is told of.
type recordingObserver struct {
	herald.NoObserver
	ops []string
}

func (o *recordingObserver) Request(op string, status int, reason herald.Reason, d time.Duration) {
	o.ops = append(o.ops, op+" "+http.StatusText(status)+" "+string(reason))
}

// TestRequestLogLine: every request gets one log line carrying its request
// id (the caller's X-Request-Id, or a generated one, echoed in the answer),
// is counted by the Observer under its operation, status and reason, and
// neither the line nor any other shows the credentials it came with.
func TestRequestLogLine(t *testing.T) {
	var logs bytes.Buffer
	obs := &recordingObserver{}
	api := newServer(t, func(c *httpapi.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		c.Observer = obs
	})
	const wrongKey = "hak_wrong_key_that_must_never_be_logged"
	w := get(t, api, "/identities/u_x?access_token=secret-in-query", "Authorization", "Bearer "+wrongKey, "X-Request-Id", "req-given-1")
	if w.Code != http.StatusUnauthorized || w.Header().Get("X-Request-Id") != "req-given-1" {
		t.Fatalf("got %d with X-Request-Id %q, want 401 echoing req-given-1", w.Code, w.Header().Get("X-Request-Id"))
	}
	w = get(t, api, "/identities/u_x", "Authorization", "Bearer "+testAdminKey)
	generated := w.Header().Get("X-Request-Id")
	if generated == "" {
		t.Fatalf("got no X-Request-Id on a request without one, want a generated id")
	}
	lines := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if m["msg"] == "request" {
			lines[m["request_id"].(string)] = m
		}
	}
	if l := lines["req-given-1"]; l == nil || l["operation"] != "GetIdentity" || l["status"] != 401.0 || l["reason"] != "admin_key_invalid" {
		t.Errorf("log line of req-given-1: got %v, want GetIdentity 401 admin_key_invalid", l)
	}
	if l := lines[generated]; l == nil || l["status"] != 404.0 {
		t.Errorf("log line of %s: got %v, want GetIdentity 404", generated, l)
	}
	for _, secret := range []string{wrongKey, testAdminKey, "secret-in-query"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains the credential %q:\n%s", secret, logs.String())
		}
	}
	want := []string{"GetIdentity Unauthorized admin_key_invalid", "GetIdentity Not Found identity_not_found"}
	if strings.Join(obs.ops, "|") != strings.Join(want, "|") {
		t.Errorf("observed requests: got %q, want %q", obs.ops, want)
	}
}

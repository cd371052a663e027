package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/httpapi"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/nats"
	"github.com/herald-chat/herald/postgres"
	"github.com/herald-chat/herald/postgres/pgtest"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
	"github.com/herald-chat/herald/wire"
)

const adminKey = "hak_test_admin_key"

// env is one running server and what a test needs to reach it.
type env struct {
	t      testing.TB
	URL    string
	Clock  *clocktest.Clock
	Engine string // "sqlite" or "postgres+nats"
	Store  herald.Store
	Key    ed25519.PrivateKey
	Limits service.Limits
	api    *httpapi.Server
	Hub    *hub.Hub
}

// hubConfig makes the real-time layer fast to observe: short heartbeats
// and ticks, a quick ledger flush.
var hubConfig = hub.Config{Heartbeat: 200 * time.Millisecond, Timeout: 2 * time.Second, Tick: 20 * time.Millisecond,
	Recheck: time.Second, FlushEvery: 50 * time.Millisecond, QueueSize: 1024}

// epoch is the date every test server starts at, unless the test runs
// on a shifted clock (TestTimeSensitiveAnyDate). Nothing may depend on the
// machine's date: the server and the SDK both read e.Clock.
var epoch = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// start runs a server on 127.0.0.1:0 whose clock reads epoch. Its store is
// PostgreSQL and its broker NATS where HERALD_TEST_POSTGRES and
// HERALD_TEST_NATS are set (CI sets them), SQLite in t.TempDir() and the
// in-process broker elsewhere; HERALD_E2E_ENGINE=sqlite forces the
// embedded default. Every test on PostgreSQL gets a schema of its own, and
// on NATS a subject prefix of its own.
func start(t testing.TB, edit ...func(*service.Limits)) *env {
	t.Helper()
	return startAt(t, epoch, edit...)
}

// startAt is start with the clock reading at.
func startAt(t testing.TB, at time.Time, edit ...func(*service.Limits)) *env {
	t.Helper()
	return build(t, at, nil, edit...)
}

// startWith is start with the HTTP edge's configuration edited by cfg
// (deadlines, budgets, origins).
func startWith(t testing.TB, cfg func(*httpapi.Config), edit ...func(*service.Limits)) *env {
	t.Helper()
	return build(t, epoch, cfg, edit...)
}

// build runs the test server: clock at at, limits edited by edit, the
// HTTP edge's configuration by cfg (if not nil).
func build(t testing.TB, at time.Time, cfg func(*httpapi.Config), edit ...func(*service.Limits)) *env {
	t.Helper()
	store, broker, engine := openEngine(t)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// The wall clock stands still unless a test moves it; timers also run in
	// real time so that heartbeats and backoff keep going meanwhile.
	clk := clocktest.New(at, clocktest.RealTimers())
	limits := service.DefaultLimits()
	for _, f := range edit {
		f(&limits)
	}
	ids := herald.RandomIDs{}
	svc, err := service.New(store, token.New(key, "", "", clk), broker, clk, ids, limits)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(svc, store, broker, clk, ids, hubConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := httpapi.Config{AdminKey: adminKey, Hub: h, AllowedOrigins: []string{"https://app.example.com"}, Doctor: doctor.New(store, clk)}
	if cfg != nil {
		cfg(&c)
	}
	api, err := httpapi.New(svc, store, clk, ids, c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
		api.Close()
		broker.Close()
		store.Close()
	})
	return &env{t: t, URL: srv.URL, Clock: clk, Engine: engine, Store: store, Key: key, Limits: limits, api: api, Hub: h}
}

// openEngine opens the store and broker start runs on; they are closed by
// start's cleanup.
func openEngine(t testing.TB) (herald.Store, herald.Broker, string) {
	t.Helper()
	ctx := context.Background()
	dsn, natsURL := os.Getenv(pgtest.Env), os.Getenv("HERALD_TEST_NATS")
	if os.Getenv("HERALD_E2E_ENGINE") == "sqlite" || dsn == "" || natsURL == "" {
		store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		return store, inmem.New(), "sqlite"
	}
	store, err := postgres.Open(ctx, dsn, postgres.WithSchema(pgtest.Schema(t, dsn)), postgres.WithMaxConns(8))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	var b [8]byte
	rand.Read(b[:])
	broker, err := nats.New(natsURL, nats.WithPrefix("herald_e2e."+hex.EncodeToString(b[:])), nats.WithName(t.Name()))
	if err != nil {
		store.Close()
		t.Fatalf("connect broker: %v", err)
	}
	return store, broker, "postgres+nats"
}

// flush waits until the request log has been written, by closing the API.
func (e *env) flushRequests() { e.api.Close() }

// resp is an answer as the test sees it.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// Err decodes the error body.
func (r resp) Err() wire.ErrorBody {
	var e wire.ErrorResponse
	json.Unmarshal(r.Body, &e)
	return e.Error
}

// do sends a raw request. body may be nil, a string or []byte (sent as is),
// or any value (JSON-encoded). auth is the bearer credential.
func (e *env) do(method, path, auth string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// ok fails the test unless r has the wanted status; it decodes the body
// into out when out is not nil.
func (e *env) ok(r resp, status int, out any) {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("got status %d (%s), want %d", r.Status, r.Body, status)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			e.t.Fatalf("decode %s: %v", r.Body, err)
		}
	}
}

// fails checks an error answer: status, code and reason.
func (e *env) fails(r resp, status int, reason herald.Reason) wire.ErrorBody {
	e.t.Helper()
	body := r.Err()
	if r.Status != status || body.Reason != string(reason) {
		e.t.Fatalf("got %d %s/%s (%s), want %d reason %s", r.Status, body.Code, body.Reason, body.Message, status, reason)
	}
	if body.Code == "" || body.Message == "" {
		e.t.Errorf("error body lacks code or message: %s", r.Body)
	}
	return body
}

// user is an identity with a token.
type user struct {
	ID    string
	Token string
	TokID string
}

// newUser creates an identity with a token of the given scopes (chat if
// none).
func (e *env) newUser(scopes ...string) user {
	e.t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"chat"}
	}
	var out wire.CreateIdentityResponse
	e.ok(e.do("POST", "/identities", adminKey, wire.CreateIdentityRequest{CreateTokenWithScopes: scopes}), 201, &out)
	return user{ID: out.Identity.ID, Token: out.AccessToken.Token, TokID: out.AccessToken.ID}
}

// newThread creates a thread by u with the other users as participants.
func (e *env) newThread(u user, others ...user) string {
	e.t.Helper()
	req := wire.CreateThreadRequest{Topic: "test"}
	for _, o := range others {
		req.Participants = append(req.Participants, wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(o.ID)})
	}
	var out wire.CreateThreadResponse
	e.ok(e.do("POST", "/chat/threads", u.Token, req), 201, &out)
	return out.ChatThread.ID
}

// send sends a text message and returns its id and sequence id.
func (e *env) send(u user, thread, content string) wire.SendMessageResponse {
	e.t.Helper()
	var out wire.SendMessageResponse
	e.ok(e.do("POST", "/chat/threads/"+thread+"/messages", u.Token, wire.SendMessageRequest{Content: content}), 201, &out)
	return out
}

// sendMany sends n text messages from u to thread over workers concurrent
// senders (every one acknowledged before it returns).
func (e *env) sendMany(u user, thread string, n, workers int) {
	e.t.Helper()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				e.send(u, thread, "m"+strconv.Itoa(i))
			}
		}()
	}
	wg.Wait()
}

// messages lists every message u can see in thread, oldest first.
func (e *env) messages(u user, thread string) []wire.ChatMessage {
	e.t.Helper()
	var all []wire.ChatMessage
	path := "/chat/threads/" + thread + "/messages?since=0&maxPageSize=200"
	for path != "" {
		var page wire.MessageList
		e.ok(e.do("GET", path, u.Token, nil), 200, &page)
		all = append(all, page.Value...)
		path = page.NextLink
	}
	return all
}

// sent lists the users' messages (text and html) u can see in thread,
// oldest first: messages less the system messages (a new thread starts
// with participantAdded and topicUpdated, as in ACS).
func (e *env) sent(u user, thread string) []wire.ChatMessage {
	e.t.Helper()
	var out []wire.ChatMessage
	for _, m := range e.messages(u, thread) {
		if m.Type == "text" || m.Type == "html" {
			out = append(out, m)
		}
	}
	return out
}

// createdSeq is a new thread's head: its creation (sequence 1, with the
// participantAdded message) and its topicUpdated message (2), as in ACS.
const createdSeq = 2

// threadSeq returns the thread's newest sequence number from the store.
func (e *env) threadSeq(thread string) herald.Seq {
	e.t.Helper()
	t, err := e.Store.GetThread(context.Background(), herald.ThreadID(thread))
	if err != nil {
		e.t.Fatal(err)
	}
	return t.LastSeq
}

// jsonInto decodes a 2xx answer.
func jsonInto(r resp, out any) error {
	if r.Status/100 != 2 {
		return fmt.Errorf("status %d: %s", r.Status, r.Body)
	}
	return json.Unmarshal(r.Body, out)
}

// eventually waits until cond holds, checking it every few milliseconds,
// and fails the test after within: for state that changes behind the
// server's back (the ledger, the connection log) where no event announces
// it.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-poll.C:
		case <-deadline.C:
			t.Fatalf("waited %v for %s", within, what)
		}
	}
}

// Package demo reproduces each failure of the delivery playbook against a
// running server, with real clients over its public API, asks the doctor
// about the message that went astray, and says whether the diagnosis names
// what was injected: the scenarios behind `herald demo`, which doubles as a
// smoke test of the doctor. It reads the report through the Go SDK and the
// wire schema; it does not import the server.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// Tally counts what trials showed: scenarios reproduced and whether the
// diagnosis matched, and those that could not be reproduced in this run.
type Tally struct {
	Matched    int
	Reproduced int
	Failed     []string // reproduced, and the diagnosis did not match (or the run failed)
	Skipped    []string // not reproduced
}

// Count tallies trials.
func Count(trials []*Trial) Tally {
	var t Tally
	for _, tr := range trials {
		switch {
		case tr.NotReproduced != "" && tr.Error == "":
			t.Skipped = append(t.Skipped, tr.Scenario)
		case tr.Matched:
			t.Matched++
			t.Reproduced++
		default:
			t.Reproduced++
			t.Failed = append(t.Failed, tr.Scenario)
		}
	}
	return t
}

// Bounds of the demo's waits.
const (
	connectWait = 10 * time.Second // a real-time connection to be caught up
	eventWait   = 10 * time.Second // an event to reach a handler, a connection to end
	settleWait  = 10 * time.Second // the evidence to be recorded (the ledger flushes every 500 ms)
	pollEvery   = 200 * time.Millisecond
	demoAgent   = "herald-demo"
)

// Expect is the diagnosis a scenario calls for: a status, and the cause the
// report names first ("" for a clean delivery).
type Expect struct {
	Status string     `json:"status"`
	Cause  wire.Check `json:"cause,omitempty"`
	Acked  bool       `json:"acknowledged,omitempty"` // the report shows the app's ack
}

func (e Expect) Met(r *wire.DoctorReport) bool {
	return r.Status == e.Status && r.Cause == e.Cause && (!e.Acked || (r.Delivered != nil && r.Delivered.AckedAt != nil))
}

func (e Expect) String() string {
	switch {
	case e.Cause != "":
		return string(e.Cause)
	case e.Acked:
		return e.Status + " and acknowledged"
	}
	return e.Status
}

// Verdict says what the doctor concluded, as expect.String does, with the
// cause's evidence tag.
func Verdict(r *wire.DoctorReport) string {
	if f := CauseOf(r); f != nil {
		return fmt.Sprintf("%s [%s]", r.Cause, f.Tag)
	}
	if r.Delivered != nil && r.Delivered.AckedAt != nil {
		return r.Status + " and acknowledged"
	}
	return r.Status
}

// CauseOf returns the finding of the report's cause, if it names one.
func CauseOf(r *wire.DoctorReport) *wire.DoctorFinding {
	for i := range r.Findings {
		if r.Cause != "" && r.Findings[i].Check == r.Cause {
			return &r.Findings[i]
		}
	}
	return nil
}

// Diagnosis is one question to the doctor and its answer.
type Diagnosis struct {
	Label   string             `json:"label,omitempty"` // which moment of the scenario
	Query   Question           `json:"query"`
	Want    Expect             `json:"want"`
	Report  *wire.DoctorReport `json:"report"`
	Matched bool               `json:"matched"`
}

// Question is what the doctor was asked about.
type Question struct {
	User    string `json:"user"`
	Thread  string `json:"thread"`
	Message string `json:"message,omitempty"`
}

// Trial is one run of a scenario: what was done, and what the doctor said.
type Trial struct {
	Scenario  string      `json:"scenario"`
	Injected  string      `json:"injected"`
	Steps     []string    `json:"steps"`
	Diagnoses []Diagnosis `json:"diagnoses"`
	Matched   bool        `json:"matched"`
	// NotReproduced says why the fault could not be injected in this run;
	// such a trial neither matches nor fails.
	NotReproduced string  `json:"notReproduced,omitempty"`
	Error         string  `json:"error,omitempty"`
	Seconds       float64 `json:"seconds"`
}

func (t *Trial) step(format string, args ...any) {
	t.Steps = append(t.Steps, fmt.Sprintf(format, args...))
}

// Scenario is one failure mode of the playbook (or the healthy case).
type Scenario struct {
	Name     string
	Injected string // the fault, in a sentence
	run      func(d *Runner, ctx context.Context, t *Trial) error
}

var scenarios = []Scenario{
	{"healthy", "nothing: the recipient is connected with a chatMessageReceived handler", (*Runner).healthy},
	{"token-expired", "the recipient's only token expired, in a client that cannot refresh it", (*Runner).tokenExpired},
	{"token-revoked", "an admin revoked the recipient's tokens while it was connected", (*Runner).tokenRevoked},
	{"participant-removed", "the recipient was removed from the thread before the message", (*Runner).participantRemoved},
	{"thread-deleted", "the thread was deleted; the next send to it was refused", (*Runner).threadDeleted},
	{"websocket-blocked", "a proxy passes the recipient's REST calls but strips its WebSocket upgrades", (*Runner).websocketBlocked},
	{"app-not-listening", "the recipient's app connected without registering any event handler", (*Runner).appNotListening},
	{"identity-deleted", "the recipient's identity was deleted while it was connected", (*Runner).identityDeleted},
	{"slow-consumer", "the recipient's client stopped reading its WebSocket while large messages were sent", (*Runner).slowConsumer},
	{"offline-then-resumed", "the recipient was offline when the message was sent, then reconnected and resumed", (*Runner).offlineThenResumed},
	{"history-not-shared", "the recipient was added after the message, with a shareHistoryTime after it", (*Runner).historyNotShared},
}

// Pick returns the scenarios name selects: one by its name, or all.
func Pick(name string) ([]Scenario, error) {
	if name == "all" {
		return slices.Clone(scenarios), nil
	}
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		if s.Name == name {
			return []Scenario{s}, nil
		}
		names[i] = s.Name
	}
	return nil, fmt.Errorf("no scenario %q; the scenarios are: all, %s", name, strings.Join(names, ", "))
}

// CheckScratch refuses a server that already holds messages (any in
// its evidence window): the demo writes into whatever server it is pointed
// at, and should not into one someone uses.
func CheckScratch(ctx context.Context, a *client.Admin, url string) error {
	t, err := a.Events(ctx, "ChatMessageSentEvents", client.EventsOptions{Since: "87600h", Limit: 1})
	if err != nil {
		return fmt.Errorf("check that %s is a scratch server: %w", url, err)
	}
	if len(t.Rows) == 0 {
		return nil
	}
	return fmt.Errorf("%s already holds messages, and the demo adds about 22 identities, 11 threads and 1,300 messages to it. "+
		"Run it against a scratch server:\n  herald serve --data \"$(mktemp -d)\" --addr 127.0.0.1:8090 --dev-min-token-lifetime 1m &\n"+
		"  herald demo --url http://127.0.0.1:8090 --admin-key \"$(cat …/admin.key)\"\nor pass --yes to run it here anyway", url)
}

// Runner runs scenarios against one server.
type Runner struct {
	admin      *client.Admin
	url        string
	waitExpiry bool
}

// New returns a Runner for the server at url, whose admin API admin
// reaches. With waitTokenExpiry, token-expired keeps a connection open
// until its token expires (the server's minimum lifetime, up to two hours)
// instead of reporting that it could not reproduce the fault quickly.
func New(admin *client.Admin, url string, waitTokenExpiry bool) *Runner {
	return &Runner{admin: admin, url: url, waitExpiry: waitTokenExpiry}
}

// Try runs one scenario, bounded in time; the scenario closes its own
// connections.
func (d *Runner) Try(ctx context.Context, s Scenario) *Trial {
	t := &Trial{Scenario: s.Name, Injected: s.Injected}
	start := time.Now()
	limit := time.Minute
	switch {
	case d.waitExpiry && s.Name == "token-expired":
		limit = 2 * time.Hour
	case s.Name == "token-expired":
		limit = 4 * time.Minute // a 1-minute token, on a server started with --dev-min-token-lifetime 1m
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := s.run(d, ctx, t)
	t.Seconds = time.Since(start).Seconds()
	t.Matched = err == nil && t.NotReproduced == "" && len(t.Diagnoses) > 0
	for _, dg := range t.Diagnoses {
		t.Matched = t.Matched && dg.Matched
	}
	if err != nil {
		t.Error = err.Error()
	}
	return t
}

// diagnose asks the doctor about q until its answer meets want or the
// evidence has had settleWait to be recorded, and keeps the last answer.
func (d *Runner) diagnose(ctx context.Context, t *Trial, label string, q client.DiagnoseOptions, want Expect) error {
	deadline := time.Now().Add(settleWait)
	for {
		r, err := d.admin.Diagnose(ctx, q)
		if err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
		if want.Met(r) || time.Now().After(deadline) {
			t.Diagnoses = append(t.Diagnoses, Diagnosis{Label: label, Query: Question{User: q.User, Thread: q.Thread, Message: q.Message},
				Want: want, Report: r, Matched: want.Met(r)})
			return nil
		}
		if err := pause(ctx, pollEvery); err != nil {
			return err
		}
	}
}

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// --- Users, threads, messages ---

// demoUser is an identity with a chat token and a client acting as it.
type demoUser struct {
	id, token string
	c         *client.Client
}

// user creates an identity with a chat token of the server's default
// lifetime, or of minutes if not 0.
func (d *Runner) user(ctx context.Context, minutes int, opts ...client.Option) (*demoUser, error) {
	req := wire.CreateIdentityRequest{CreateTokenWithScopes: []string{string(herald.ScopeChat)}}
	if minutes != 0 {
		req.ExpiresInMinutes = &minutes
	}
	r, err := d.admin.CreateIdentity(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("create identity: %w", err)
	}
	opts = append([]client.Option{client.WithUserAgent(demoAgent)}, opts...)
	return &demoUser{id: r.Identity.ID, token: r.AccessToken.Token, c: client.New(d.url, client.StaticToken(r.AccessToken.Token), opts...)}, nil
}

// cast is a scenario's people: a sender, a recipient connected with the
// Go SDK, and the thread of the two.
type cast struct {
	sender, recipient *demoUser
	thread            string
	l                 *live
}

// castOptions vary a cast. The zero value: a recipient with a token of
// the server's default lifetime, connected with a handler for every event
// type and cursors in memory.
type castOptions struct {
	deaf    bool               // register no handler
	cursors client.CursorStore // kept by the caller, to resume from
	minutes int                // the recipient's token lifetime; 0: the server's default
}

// cast creates a sender, a recipient and their thread "demo-<scenario>",
// and connects the recipient.
func (d *Runner) cast(ctx context.Context, t *Trial, o castOptions) (*cast, error) {
	c := &cast{}
	var err error
	if c.sender, err = d.user(ctx, 0); err != nil {
		return nil, err
	}
	if c.recipient, err = d.user(ctx, o.minutes); err != nil {
		return nil, err
	}
	if c.thread, err = d.thread(ctx, t, c.sender, c.recipient); err != nil {
		return nil, err
	}
	if c.l, err = d.connect(ctx, c.recipient, !o.deaf, o.cursors); err != nil {
		return nil, err
	}
	if !o.deaf {
		t.step("recipient %s connected over WebSocket with the Go SDK, a handler registered for every event type", c.recipient.id)
	}
	return c, nil
}

// about is the question to the doctor about message (or the thread's
// newest message) and the recipient.
func (c *cast) about(message string) client.DiagnoseOptions {
	return client.DiagnoseOptions{User: c.recipient.id, Thread: c.thread, Message: message}
}

// thread creates a thread "demo-<scenario>" by sender with recipient (if
// not nil) and further senders.
func (d *Runner) thread(ctx context.Context, t *Trial, sender, recipient *demoUser, others ...*demoUser) (string, error) {
	req := wire.CreateThreadRequest{Topic: "demo-" + t.Scenario}
	added := "no recipient yet"
	if recipient != nil {
		req.Participants = append(req.Participants, wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(recipient.id), DisplayName: "demo-recipient"})
		added = "recipient " + recipient.id
	}
	for _, o := range others {
		req.Participants = append(req.Participants, wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(o.id), DisplayName: "demo-sender"})
	}
	r, err := sender.c.CreateThread(ctx, req, "")
	if err != nil {
		return "", fmt.Errorf("create thread: %w", err)
	}
	if len(r.InvalidParticipants) > 0 {
		return "", fmt.Errorf("create thread: participant refused: %s", r.InvalidParticipants[0].Message)
	}
	if len(others) > 0 {
		added += fmt.Sprintf(" and %d more senders", len(others))
	}
	t.step("sender %s created thread %s (demo-%s) with %s", sender.id, r.ChatThread.ID, t.Scenario, added)
	return r.ChatThread.ID, nil
}

// send sends text as u, waiting out rate limits, and returns the message id.
func (d *Runner) send(ctx context.Context, u *demoUser, thread, text string) (string, error) {
	for {
		r, err := u.c.SendMessage(ctx, thread, wire.SendMessageRequest{Content: text, SenderDisplayName: "demo-sender"}, "")
		var h *client.HTTPError
		if herald.ErrorReason(err) == herald.ReasonRateLimited && errors.As(err, &h) {
			if err := pause(ctx, max(h.RetryAfter, 100*time.Millisecond)); err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", fmt.Errorf("send to %s: %w", thread, err)
		}
		return r.ID, nil
	}
}

// sendStep sends a message and records the step.
func (d *Runner) sendStep(ctx context.Context, t *Trial, u *demoUser, thread, what string) (string, error) {
	m, err := d.send(ctx, u, thread, "demo: "+what)
	if err == nil {
		t.step("sender %s sent message %s (%s)", u.id, m, what)
	}
	return m, err
}

// refused describes an error the server answered, for a step.
func refused(err error) string {
	if err == nil {
		return "accepted"
	}
	if s := client.Status(err); s != 0 {
		why := string(herald.ErrorReason(err))
		if why == "" {
			why = http.StatusText(s)
		}
		return fmt.Sprintf("refused %d %s", s, why)
	}
	return "failed: " + err.Error()
}

// --- Real-time connections ---

// live is a Go SDK real-time connection run for a scenario.
type live struct {
	rt     *client.Realtime
	events chan client.Event
	caught chan struct{} // closed at the first caughtUp
	done   chan struct{} // closed when Start has returned
	err    error         // Start's result, set before done is closed
}

// connect starts a Realtime for u and waits until it has caught up. With
// listen, handlers are registered for every event type (and acknowledge
// what they take); without, none is.
func (d *Runner) connect(ctx context.Context, u *demoUser, listen bool, cursors client.CursorStore) (*live, error) {
	rt := u.c.Realtime(client.RealtimeOptions{Cursors: cursors})
	l := &live{rt: rt, events: make(chan client.Event, 256), caught: make(chan struct{}), done: make(chan struct{})}
	if listen {
		for _, typ := range herald.EventTypes() {
			rt.On(typ, func(ctx context.Context, ev client.Event) error {
				select {
				case l.events <- ev:
				case <-ctx.Done():
				}
				return nil
			})
		}
	}
	var once sync.Once
	rt.OnState(func(sc client.StateChange) {
		if sc.State == client.StateConnected && sc.CaughtUp {
			once.Do(func() { close(l.caught) })
		}
	})
	go func() {
		l.err = rt.Start(ctx)
		close(l.done)
	}()
	select {
	case <-l.caught:
		return l, nil
	case <-l.done:
		return nil, fmt.Errorf("connect %s: %v", u.id, l.err)
	case <-time.After(connectWait):
		l.close()
		return nil, fmt.Errorf("connect %s: not caught up after %s", u.id, connectWait)
	}
}

// close stops the connection and waits for Start to return.
func (l *live) close() {
	l.rt.Close()
	select {
	case <-l.done:
	case <-time.After(eventWait):
	}
}

// serverClosed waits for the server to end the connection and says how.
func (l *live) serverClosed() (string, error) {
	select {
	case <-l.done:
		return endedWith(l.err), nil
	case <-time.After(eventWait):
		return "", fmt.Errorf("the server did not close the connection within %s", eventWait)
	}
}

// await waits for an event of type typ (of message id, if not empty).
func (l *live) await(typ herald.EventType, id string) (client.Event, error) {
	timer := time.NewTimer(eventWait)
	defer timer.Stop()
	for {
		select {
		case ev := <-l.events:
			if ev.Type == typ && (id == "" || (ev.Data.Message != nil && ev.Data.Message.ID == id)) {
				return ev, nil
			}
		case <-l.done:
			return client.Event{}, fmt.Errorf("waiting for %s: the connection ended: %v", typ, l.err)
		case <-timer.C:
			return client.Event{}, fmt.Errorf("no %s within %s", typ, eventWait)
		}
	}
}

// endedWith describes how the server ended a connection, from Start's
// error.
func endedWith(err error) string {
	var ce *client.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("%d %s", ce.Code, ce.Reason)
	}
	if r := herald.ErrorReason(err); r != "" {
		return string(r)
	}
	return fmt.Sprint(err)
}

// rawConnect opens a WebSocket without the SDK: it sends hello declaring a
// chatMessageReceived handler and reads up to caughtUp, and from then on
// reads nothing (the caller closes it).
func (d *Runner) rawConnect(ctx context.Context, u *demoUser) (*websocket.Conn, error) {
	ws, _, err := websocket.Dial(ctx, strings.TrimSuffix(d.url, "/")+"/realtime/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + u.token}, "User-Agent": {demoAgent}}})
	if err != nil {
		return nil, fmt.Errorf("raw WebSocket: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, connectWait)
	defer cancel()
	hello, _ := json.Marshal(wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion,
		Handles: []string{string(herald.EventMessageReceived)}})
	if err := ws.Write(rctx, websocket.MessageText, hello); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("raw WebSocket hello: %w", err)
	}
	for {
		_, data, err := ws.Read(rctx)
		if err != nil {
			ws.CloseNow()
			return nil, fmt.Errorf("raw WebSocket: waiting for caughtUp: %w", err)
		}
		var f wire.ServerFrame
		if json.Unmarshal(data, &f) == nil && f.Type == wire.FrameCaughtUp {
			return ws, nil
		}
	}
}

// upgradeBlocker is a proxy in the client's path that forwards plain HTTP
// but drops the headers asking for a WebSocket upgrade, as proxies without
// WebSocket support do.
type upgradeBlocker struct{ next http.RoundTripper }

func (p upgradeBlocker) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Upgrade") != "" {
		r = r.Clone(r.Context())
		r.Header.Del("Upgrade")
		r.Header.Del("Connection")
	}
	return p.next.RoundTrip(r)
}

// --- The scenarios ---

func (d *Runner) healthy(ctx context.Context, t *Trial) error {
	c, err := d.cast(ctx, t, castOptions{})
	if err != nil {
		return err
	}
	defer c.l.close()
	m, err := d.sendStep(ctx, t, c.sender, c.thread, "hello")
	if err != nil {
		return err
	}
	if _, err := c.l.await(herald.EventMessageReceived, m); err != nil {
		return err
	}
	t.step("the recipient's handler took %s and the SDK acknowledged it", m)
	return d.diagnose(ctx, t, "", c.about(m), Expect{Status: "delivered", Acked: true})
}

// tokenExpired cannot inject the fault in a bounded run: the server
// issues tokens for at least an hour and refuses them only after their
// real expiry. Unless told to wait for it, it arms the scenario and shows
// the evidence the doctor reads.
func (d *Runner) tokenExpired(ctx context.Context, t *Trial) error {
	minutes := 1 // accepted by a server started with --dev-min-token-lifetime 1m
	c, err := d.cast(ctx, t, castOptions{minutes: minutes})
	if herald.ErrorReason(err) == herald.ReasonInvalidExpiry {
		minutes = 60 // the server's shortest token lifetime
		c, err = d.cast(ctx, t, castOptions{minutes: minutes})
	}
	if err != nil {
		return err
	}
	defer c.l.close()
	t.step("its only token lasts %d minute(s) (the server's minimum) and is held in a static credential, which cannot refresh", minutes)
	if !d.waitExpiry && minutes == 60 {
		m, err := d.sendStep(ctx, t, c.sender, c.thread, "while the token is valid")
		if err != nil {
			return err
		}
		r, err := d.admin.Diagnose(ctx, c.about(m))
		if err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
		now := "no token finding"
		for _, f := range r.Findings {
			if f.Check == wire.CheckTokenExpired {
				now = fmt.Sprintf("%s [%s] %s: %s", f.Title, f.Tag, strings.ReplaceAll(string(f.Verdict), "_", " "), f.Summary)
			}
		}
		t.NotReproduced = fmt.Sprintf("no token expires sooner than %d minutes after it is issued, so a bounded run cannot hold an expired one "+
			"(a token forged for the demo would not be in the token log the doctor reads). Asked now, the doctor says: %s. "+
			"Run \"herald demo --scenario token-expired --wait-token-expiry\" to wait for the real expiry (about %d minutes), "+
			"or start a development server with \"herald serve --dev-min-token-lifetime 1m\" to see it in about a minute.", minutes, now, minutes+1)
		return nil
	}
	t.step("waiting for the token to expire, the connection left open")
	select {
	case <-c.l.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if herald.ErrorReason(c.l.err) != herald.ReasonTokenExpired {
		return fmt.Errorf("the connection ended with %s, want token_expired", endedWith(c.l.err))
	}
	t.step("at the token's expiry the server closed the connection: %s", endedWith(c.l.err))
	m, err := d.sendStep(ctx, t, c.sender, c.thread, "after the expiry")
	if err != nil {
		return err
	}
	return d.diagnose(ctx, t, "", c.about(m), Expect{Status: "not_delivered", Cause: wire.CheckTokenExpired})
}

func (d *Runner) tokenRevoked(ctx context.Context, t *Trial) error {
	c, err := d.cast(ctx, t, castOptions{})
	if err != nil {
		return err
	}
	defer c.l.close()
	if err := d.admin.RevokeTokens(ctx, c.recipient.id); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	end, err := c.l.serverClosed()
	if err != nil {
		return err
	}
	t.step("an admin revoked every token of %s; the server closed its connection: %s", c.recipient.id, end)
	m, err := d.sendStep(ctx, t, c.sender, c.thread, "after the revocation")
	if err != nil {
		return err
	}
	_, err = c.recipient.c.ListThreads(ctx, client.ListThreadsOptions{})
	t.step("the recipient's client called the API with its old token: %s", refused(err))
	return d.diagnose(ctx, t, "", c.about(m), Expect{Status: "not_delivered", Cause: wire.CheckTokenRevoked})
}

func (d *Runner) participantRemoved(ctx context.Context, t *Trial) error {
	c, err := d.cast(ctx, t, castOptions{})
	if err != nil {
		return err
	}
	defer c.l.close()
	if err := c.sender.c.RemoveParticipant(ctx, c.thread, c.recipient.id); err != nil {
		return fmt.Errorf("remove participant: %w", err)
	}
	if _, err := c.l.await(herald.EventParticipantsRemoved, ""); err != nil {
		return err
	}
	t.step("sender removed the recipient from the thread; the recipient's SDK got participantsRemoved")
	m, err := d.sendStep(ctx, t, c.sender, c.thread, "after the removal")
	if err != nil {
		return err
	}
	_, err = c.recipient.c.SendMessage(ctx, c.thread, wire.SendMessageRequest{Content: "demo: reply"}, "")
	t.step("the recipient tried to reply over REST: %s", refused(err))
	return d.diagnose(ctx, t, "", c.about(m), Expect{Status: "not_delivered", Cause: wire.CheckParticipantRemove})
}

// threadDeleted asks about the thread: the message that did not arrive
// is the one the server refused to store.
func (d *Runner) threadDeleted(ctx context.Context, t *Trial) error {
	c, err := d.cast(ctx, t, castOptions{})
	if err != nil {
		return err
	}
	defer c.l.close()
	if err := c.sender.c.DeleteThread(ctx, c.thread); err != nil {
		return fmt.Errorf("delete thread: %w", err)
	}
	if _, err := c.l.await(herald.EventThreadDeleted, ""); err != nil {
		return err
	}
	t.step("sender deleted the thread; the recipient's SDK got chatThreadDeleted")
	reply := wire.SendMessageRequest{Content: "demo: anyone there?"}
	_, err = c.sender.c.SendMessage(ctx, c.thread, reply, "")
	t.step("sender tried to send to it: %s", refused(err))
	_, err = c.l.rt.Send(ctx, c.thread, reply)
	t.step("the recipient's SDK refused a reply without asking the server: %s", herald.ErrorReason(err))
	_, err = c.recipient.c.SendMessage(ctx, c.thread, reply, "")
	t.step("the recipient tried to reply over REST: %s", refused(err))
	return d.diagnose(ctx, t, "", c.about(""), Expect{Status: "not_delivered", Cause: wire.CheckThreadDeleted})
}

func (d *Runner) websocketBlocked(ctx context.Context, t *Trial) error {
	sender, err := d.user(ctx, 0)
	if err != nil {
		return err
	}
	proxied := &http.Client{Transport: upgradeBlocker{next: http.DefaultTransport}}
	recipient, err := d.user(ctx, 0, client.WithHTTPClient(proxied))
	if err != nil {
		return err
	}
	thread, err := d.thread(ctx, t, sender, recipient)
	if err != nil {
		return err
	}
	rt := recipient.c.Realtime(client.RealtimeOptions{})
	rt.On(herald.EventMessageReceived, func(context.Context, client.Event) error { return nil })
	var mu sync.Mutex
	attempts, last := 0, ""
	rt.OnState(func(sc client.StateChange) {
		if sc.State == client.StateDisconnected && sc.Err != nil {
			mu.Lock()
			attempts, last = attempts+1, refused(sc.Err)
			mu.Unlock()
		}
	})
	done := make(chan struct{})
	go func() { rt.Start(ctx); close(done) }()
	defer func() { rt.Close(); <-done }()
	t.step("the recipient %s goes through a proxy that forwards REST calls but strips the Upgrade header of WebSocket requests", recipient.id)
	if _, err := recipient.c.ListThreads(ctx, client.ListThreadsOptions{}); err != nil {
		return fmt.Errorf("recipient's REST call: %w", err)
	}
	if _, err := d.send(ctx, recipient, thread, "demo: I can send"); err != nil {
		return fmt.Errorf("recipient's send: %w", err)
	}
	l, err := recipient.c.ListMessages(ctx, thread, client.ListMessagesOptions{})
	if err != nil {
		return fmt.Errorf("recipient's REST call: %w", err)
	}
	t.step("the recipient listed its threads, sent a message and read %d messages over REST: all succeeded", len(l.Value))
	// The next message only a live connection would bring: the app polls
	// nothing, it waits for the push.
	m, err := d.sendStep(ctx, t, sender, thread, "while the recipient is behind the proxy")
	if err != nil {
		return err
	}
	if err := pause(ctx, 1500*time.Millisecond); err != nil {
		return err
	}
	mu.Lock()
	t.step("meanwhile its SDK tried %d WebSocket connection(s); the last was %s", attempts, last)
	mu.Unlock()
	return d.diagnose(ctx, t, "", client.DiagnoseOptions{User: recipient.id, Thread: thread, Message: m},
		Expect{Status: "not_delivered", Cause: wire.CheckNetworkBlocked})
}

func (d *Runner) appNotListening(ctx context.Context, t *Trial) error {
	c, err := d.cast(ctx, t, castOptions{deaf: true})
	if err != nil {
		return err
	}
	defer c.l.close()
	t.step("recipient %s connected over WebSocket with the Go SDK but registered no handler: its hello declares none, and it acknowledges nothing", c.recipient.id)
	m, err := d.sendStep(ctx, t, c.sender, c.thread, "to an app that does not listen")
	if err != nil {
		return err
	}
	return d.diagnose(ctx, t, "", c.about(m), Expect{Status: "delivered", Cause: wire.CheckAppNotListening})
}

func (d *Runner) identityDeleted(ctx context.Context, t *Trial) error {
	c, err := d.cast(ctx, t, castOptions{})
	if err != nil {
		return err
	}
	defer c.l.close()
	if err := d.admin.DeleteIdentity(ctx, c.recipient.id); err != nil {
		return fmt.Errorf("delete identity: %w", err)
	}
	end, err := c.l.serverClosed()
	if err != nil {
		return err
	}
	t.step("an admin deleted identity %s; the server closed its connection: %s", c.recipient.id, end)
	m, err := d.sendStep(ctx, t, c.sender, c.thread, "after the deletion")
	if err != nil {
		return err
	}
	return d.diagnose(ctx, t, "", c.about(m), Expect{Status: "not_delivered", Cause: wire.CheckIdentityDeleted})
}

// The slow consumer's flood: several senders, each as fast as its rate
// limit allows, of large messages, so that the connection's socket
// buffers fill and then its queue.
const (
	floodSenders = 4
	floodBytes   = 16 << 10
	floodWait    = 30 * time.Second
)

func (d *Runner) slowConsumer(ctx context.Context, t *Trial) error {
	var senders []*demoUser
	for range floodSenders {
		u, err := d.user(ctx, 0)
		if err != nil {
			return err
		}
		senders = append(senders, u)
	}
	recipient, err := d.user(ctx, 0)
	if err != nil {
		return err
	}
	thread, err := d.thread(ctx, t, senders[0], recipient, senders[1:]...)
	if err != nil {
		return err
	}
	ws, err := d.rawConnect(ctx, recipient)
	if err != nil {
		return err
	}
	defer ws.CloseNow()
	t.step("recipient %s opened a raw WebSocket, declared a chatMessageReceived handler in hello, read up to caughtUp and then stopped reading", recipient.id)
	sent, end, err := d.flood(ctx, senders, thread, recipient)
	if err != nil {
		return err
	}
	t.step("%d senders sent %d messages of %d KiB between them; the server closed the recipient's connection: %s", len(senders), sent, floodBytes>>10, end)
	m, err := d.sendStep(ctx, t, senders[0], thread, "after the drop")
	if err != nil {
		return err
	}
	return d.diagnose(ctx, t, "", client.DiagnoseOptions{User: recipient.id, Thread: thread, Message: m},
		Expect{Status: "not_delivered", Cause: wire.CheckSlowConsumer})
}

// flood has every sender send large messages to thread, each as fast as
// its rate limit allows, until the server has closed the recipient's
// connection; it returns how many were sent and how the connection ended.
func (d *Runner) flood(ctx context.Context, senders []*demoUser, thread string, recipient *demoUser) (int64, string, error) {
	fctx, stop := context.WithCancel(ctx)
	var sent atomic.Int64
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	failed := make(chan error, len(senders))
	filler := strings.Repeat("x", floodBytes)
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fctx.Err() == nil {
				if _, err := d.send(fctx, s, thread, filler); err != nil {
					if fctx.Err() == nil {
						failed <- err
					}
					return
				}
				sent.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(floodWait)
	for {
		select {
		case err := <-failed:
			return sent.Load(), "", err
		default:
		}
		end, err := d.closed(ctx, recipient)
		if err != nil || end != "" {
			return sent.Load(), end, err
		}
		if time.Now().After(deadline) {
			return sent.Load(), "", fmt.Errorf("the server had not closed the connection after %d messages in %s", sent.Load(), floodWait)
		}
		if err := pause(ctx, pollEvery); err != nil {
			return sent.Load(), "", err
		}
	}
}

// closed reads the connection log: how u's newest connection ended, or ""
// while it is open.
func (d *Runner) closed(ctx context.Context, u *demoUser) (string, error) {
	tab, err := d.admin.Events(ctx, "Connections", client.EventsOptions{User: u.id, Limit: 1})
	if err != nil {
		return "", fmt.Errorf("events: %w", err)
	}
	if len(tab.Rows) == 0 {
		return "", nil
	}
	cell := func(name string) string {
		if i := slices.Index(tab.Columns, name); i >= 0 && i < len(tab.Rows[0]) {
			return tab.Rows[0][i]
		}
		return ""
	}
	if cell("closed") == "" {
		return "", nil
	}
	return fmt.Sprintf("%s %s (closed by %s)", cell("code"), cell("reason"), cell("closed_by")), nil
}

func (d *Runner) offlineThenResumed(ctx context.Context, t *Trial) error {
	cursors := client.NewMemoryCursors()
	c, err := d.cast(ctx, t, castOptions{cursors: cursors})
	if err != nil {
		return err
	}
	m1, err := d.sendStep(ctx, t, c.sender, c.thread, "while online")
	if err == nil {
		_, err = c.l.await(herald.EventMessageReceived, m1)
	}
	c.l.close()
	if err != nil {
		return err
	}
	saved, _ := cursors.Load(ctx)
	t.step("the recipient took %s, then went offline (the SDK closed the connection; its cursor for the thread is %d)", m1, saved[c.thread])
	m, err := d.sendStep(ctx, t, c.sender, c.thread, "while offline")
	if err != nil {
		return err
	}
	if err := d.diagnose(ctx, t, "while offline", c.about(m), Expect{Status: "pending"}); err != nil {
		return err
	}
	l, err := d.connect(ctx, c.recipient, true, cursors)
	if err != nil {
		return err
	}
	defer l.close()
	ev, err := l.await(herald.EventMessageReceived, m)
	if err != nil {
		return err
	}
	t.step("the recipient reconnected and resumed from its cursor: %s arrived (replayed: %v) and was acknowledged", m, ev.Replayed)
	return d.diagnose(ctx, t, "after resuming", c.about(m), Expect{Status: "delivered", Acked: true})
}

func (d *Runner) historyNotShared(ctx context.Context, t *Trial) error {
	sender, err := d.user(ctx, 0)
	if err != nil {
		return err
	}
	recipient, err := d.user(ctx, 0)
	if err != nil {
		return err
	}
	thread, err := d.thread(ctx, t, sender, nil)
	if err != nil {
		return err
	}
	l, err := d.connect(ctx, recipient, true, nil)
	if err != nil {
		return err
	}
	defer l.close()
	t.step("recipient %s connected over WebSocket with the Go SDK", recipient.id)
	m, err := d.sendStep(ctx, t, sender, thread, "before the recipient joined")
	if err != nil {
		return err
	}
	msg, err := sender.c.GetMessage(ctx, thread, m)
	if err != nil {
		return fmt.Errorf("get message: %w", err)
	}
	share := msg.CreatedOn.Add(time.Millisecond)
	add := wire.AddParticipantsRequest{Participants: []wire.ChatParticipant{{CommunicationIdentifier: wire.Identifier(recipient.id),
		DisplayName: "demo-recipient", ShareHistoryTime: &share}}}
	r, err := sender.c.AddParticipants(ctx, thread, add)
	if err != nil {
		return fmt.Errorf("add participant: %w", err)
	}
	if len(r.InvalidParticipants) > 0 {
		return fmt.Errorf("add participant: refused: %s", r.InvalidParticipants[0].Message)
	}
	if _, err := l.await(herald.EventParticipantsAdded, ""); err != nil {
		return err
	}
	t.step("sender added the recipient with shareHistoryTime %s, 1 ms after the message; the recipient's SDK got participantsAdded",
		share.UTC().Format(time.RFC3339Nano))
	_, err = recipient.c.GetMessage(ctx, thread, m)
	t.step("the recipient asked for the message over REST: %s", refused(err))
	return d.diagnose(ctx, t, "", client.DiagnoseOptions{User: recipient.id, Thread: thread, Message: m},
		Expect{Status: "not_delivered", Cause: wire.CheckHistoryNotShared})
}

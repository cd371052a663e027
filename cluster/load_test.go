package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// sequenced is every event type that carries a Seq: a receiver handles
// them all, so that its per-thread sequence can be checked for gaps.
var sequenced = []herald.EventType{herald.EventMessageReceived, herald.EventMessageEdited, herald.EventMessageDeleted,
	herald.EventThreadCreated, herald.EventThreadPropertiesUpdated, herald.EventThreadDeleted,
	herald.EventParticipantsAdded, herald.EventParticipantsRemoved}

// testBackoff reconnects quickly, so that a killed node's clients are back
// within about a second.
var testBackoff = client.Backoff{Initial: 100 * time.Millisecond, Max: time.Second}

// member is a test user: a sender (a REST client) and a receiver (a
// real-time client), each preferring its own node.
type member struct {
	id    string
	token string
	send  *client.Client
	rx    *receiver
}

// delivered is one event as a receiver's handler took it.
type delivered struct {
	seq     int64
	message string // the message id of a chatMessageReceived
}

// receiver is one real-time client and what its handlers took.
type receiver struct {
	name string
	rt   *client.Realtime
	done chan error // Start's result

	mu       sync.Mutex // guards the fields below
	from     map[string]int64
	last     map[string]int64
	got      map[string][]delivered
	gaps     int64 // events skipped, seen live
	dups     int64 // events taken twice, seen live
	connects int
	closes   map[string]int // disconnections by reason
	history  []string       // the first disconnections: time, code, reason
	caught   chan struct{}  // closed at the first caughtUp
	progress chan struct{}  // pinged at every event
}

// newReceiver makes a real-time client for the member's token that
// prefers node prefer.
func newReceiver(c *cluster, name, token string, prefer int, transport string) *receiver {
	return newReceiverOn(name, c.user(token, prefer), transport)
}

// newReceiverOn makes a real-time client over the client cl.
func newReceiverOn(name string, cl *client.Client, transport string) *receiver {
	r := &receiver{name: name, done: make(chan error, 1), from: map[string]int64{}, last: map[string]int64{},
		got: map[string][]delivered{}, closes: map[string]int{}, caught: make(chan struct{}), progress: make(chan struct{}, 1)}
	r.rt = cl.Realtime(client.RealtimeOptions{Transport: transport, Backoff: testBackoff})
	for _, t := range sequenced {
		r.rt.On(t, r.handle)
	}
	var caughtOnce sync.Once
	r.rt.OnState(func(sc client.StateChange) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case sc.State == client.StateConnected && sc.CaughtUp:
			caughtOnce.Do(func() { close(r.caught) })
		case sc.State == client.StateConnected:
			r.connects++
		case sc.State == client.StateDisconnected:
			r.closes[sc.Reason]++
			if len(r.history) < 50 {
				r.history = append(r.history, fmt.Sprintf("%s %d %s", sc.At.Format("15:04:05.000"), sc.Code, sc.Reason))
			}
		}
	})
	return r
}

// handle is every sequenced event's handler: it records the event and
// counts what breaks the sequence.
func (r *receiver) handle(_ context.Context, ev client.Event) error {
	if ev.Seq <= 0 {
		return nil
	}
	r.mu.Lock()
	last := r.last[ev.ThreadID]
	switch {
	case ev.Seq <= last:
		r.dups++
	case ev.Seq > last+1:
		r.gaps += ev.Seq - last - 1
	}
	r.last[ev.ThreadID] = max(last, ev.Seq)
	d := delivered{seq: ev.Seq}
	if ev.Type == herald.EventMessageReceived && ev.Data.Message != nil {
		d.message = ev.Data.Message.ID
	}
	r.got[ev.ThreadID] = append(r.got[ev.ThreadID], d)
	r.mu.Unlock()
	select {
	case r.progress <- struct{}{}:
	default:
	}
	return nil
}

// start runs the receiver until the test ends and waits until it caught
// up; from then on, the receiver expects every event after its cursors.
func (r *receiver) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- r.rt.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: Start did not return within 10s of Close", r.name)
		}
	})
	select {
	case <-r.caught:
	case err := <-r.done:
		t.Fatalf("%s: Start returned %v before catching up", r.name, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not caught up within 30s", r.name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for th, seq := range r.rt.Cursors() {
		if _, seen := r.last[th]; !seen {
			r.from[th], r.last[th] = seq, seq
		}
	}
}

// at returns the receiver's last seq of a thread.
func (r *receiver) at(thread string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[thread]
}

// mustNewMember creates an identity with a chat token.
func mustNewMember(t *testing.T, c *cluster, admin *client.Admin, sendVia int) *member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := admin.CreateIdentity(ctx, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}})
	if err != nil {
		t.Fatalf("create identity: %v", err)
	}
	return &member{id: res.Identity.ID, token: res.AccessToken.Token, send: c.user(res.AccessToken.Token, sendVia)}
}

// mustNewThread creates a thread of every member, created by the first.
func mustNewThread(t *testing.T, members []*member, topic string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ps []wire.ChatParticipant
	for _, m := range members {
		ps = append(ps, wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(m.id)})
	}
	res, err := members[0].send.CreateThread(ctx, wire.CreateThreadRequest{Topic: topic, Participants: ps}, "")
	if err != nil {
		t.Fatalf("create thread: %v", err)
	}
	return res.ChatThread.ID
}

// load is a group of members in shared threads: each member sends into
// every thread through one node and receives everything through another.
type load struct {
	c       *cluster
	members []*member
	threads []string
	// senders are the members run sends from; all of them if nil.
	senders []*member
	stats   sendStats
}

// loadConfig shapes a load.
type loadConfig struct {
	members   int
	threads   int
	transport func(i int) string // the receiver's transport; WebSocket if nil
}

// newLoad creates the members and threads and starts the receivers:
// member i receives through node i and sends through node i+1 (mod the
// node count), so that every node has both.
func newLoad(t *testing.T, c *cluster, cfg loadConfig) *load {
	t.Helper()
	l := &load{c: c}
	l.stats.ids = map[string]string{}
	admin := c.admin(0)
	n := len(c.nodes)
	for i := range cfg.members {
		l.members = append(l.members, mustNewMember(t, c, admin, (i+1)%n))
	}
	for i := range cfg.threads {
		l.threads = append(l.threads, mustNewThread(t, l.members, fmt.Sprintf("load %d", i)))
	}
	var wg sync.WaitGroup
	for i, m := range l.members {
		transport := wire.TransportWebSocket
		if cfg.transport != nil {
			transport = cfg.transport(i)
		}
		m.rx = newReceiver(c, fmt.Sprintf("receiver %d (%s, node %d)", i, transport, i%n), m.token, i%n, transport)
		wg.Go(func() { m.rx.start(t) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return l
}

// sendStats counts what the senders saw.
type sendStats struct {
	acked       atomic.Int64 // distinct sends acknowledged (201)
	attempts    atomic.Int64
	unavailable atomic.Int64      // 503 store_unavailable answers
	transport   atomic.Int64      // no answer (connection refused or broken)
	mu          sync.Mutex        // guards ids, other and latencies
	ids         map[string]string // client message id → message id, of acknowledged sends
	other       []string          // unexpected answers
	latencies   []time.Duration   // of acknowledged attempts
}

// run sends from every member, each from senders goroutines, until stop
// is closed or each goroutine sent perSender messages. Every send is
// retried with its client message id until acknowledged (bounded): a send
// is acknowledged at most once, and a retry of a stored one returns it.
func (l *load) run(stop <-chan struct{}, senders, perSender int) {
	from := l.senders
	if from == nil {
		from = l.members
	}
	var wg sync.WaitGroup
	for mi, m := range from {
		for g := range senders {
			wg.Go(func() {
				for k := range perSender {
					select {
					case <-stop:
						return
					default:
					}
					thread := l.threads[(mi+g+k)%len(l.threads)]
					l.send(m, thread, fmt.Sprintf("m%d-g%d-%d", mi, g, k))
				}
			})
		}
	}
	wg.Wait()
}

// send sends one message, retrying until acknowledged: at most 120
// attempts or 60 s.
func (l *load) send(m *member, thread, id string) {
	s := &l.stats
	deadline := time.Now().Add(60 * time.Second)
	for attempt := 0; attempt < 120 && time.Now().Before(deadline); attempt++ {
		s.attempts.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		began := time.Now()
		res, err := m.send.SendMessage(ctx, thread, wire.SendMessageRequest{Content: id, ClientMessageID: id}, "")
		cancel()
		if err == nil {
			s.mu.Lock()
			s.ids[id] = res.ID
			s.latencies = append(s.latencies, time.Since(began))
			s.mu.Unlock()
			s.acked.Add(1)
			return
		}
		var he *herald.Error
		var h *client.HTTPError
		switch {
		case errors.As(err, &he) && errors.As(err, &h) && h.Status == 503 && he.Reason == herald.ReasonStoreUnavailable:
			s.unavailable.Add(1)
		case errors.As(err, &he):
			s.mu.Lock()
			s.other = append(s.other, fmt.Sprintf("%s: %v", id, err))
			s.mu.Unlock()
		default:
			s.transport.Add(1)
		}
		time.Sleep(time.Duration(50+attempt*20) * time.Millisecond)
	}
	s.mu.Lock()
	s.other = append(s.other, fmt.Sprintf("%s: not acknowledged after retrying for a minute", id))
	s.mu.Unlock()
}

// percentile returns the p-th percentile of the acknowledged sends'
// latencies.
func (s *sendStats) percentile(p float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.latencies) == 0 {
		return 0
	}
	d := slices.Clone(s.latencies)
	slices.Sort(d)
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

// heads reads every thread's last Seq from the database.
func (l *load) heads(t *testing.T) map[string]int64 {
	t.Helper()
	db := l.c.db(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.Query(ctx, `SELECT id, last_seq FROM threads WHERE id = ANY($1)`, l.threads)
	if err != nil {
		t.Fatalf("read heads: %v", err)
	}
	heads := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			t.Fatal(err)
		}
		heads[id] = seq
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return heads
}

// waitDelivered waits until every receiver has every thread up to its
// head, or within, and returns when the last one got there.
func (l *load) waitDelivered(t *testing.T, within time.Duration) time.Time {
	t.Helper()
	heads := l.heads(t)
	deadline := time.Now().Add(within)
	for _, m := range l.members {
		for {
			behind := ""
			for _, th := range l.threads {
				if got := m.rx.at(th); got < heads[th] {
					behind = fmt.Sprintf("thread %s at %d of %d", th, got, heads[th])
					break
				}
			}
			if behind == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: not caught up %s after the sends ended: %s", m.rx.name, within, behind)
				return time.Now()
			}
			select {
			case <-m.rx.progress:
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return time.Now()
}

// verdict is what a load's check found.
type verdict struct {
	messages   int // stored text messages
	acked      int
	lostAcked  int // acknowledged sends not stored, or stored under another id
	unacked    int // stored messages whose send was never acknowledged
	seqGaps    int // missing Seqs in the stored events
	deliveries int // events the receivers should have had
	lost       int // of those, never handed to a handler
	duplicated int // handed to a handler more than once
	disorder   int // handed out of Seq order
	wrong      int // handed with another message than stored under that Seq
}

func (v verdict) String() string {
	return fmt.Sprintf("messages %d (acknowledged %d, acknowledged but lost %d, stored unacknowledged %d, seq gaps %d); "+
		"deliveries %d: lost %d, duplicated %d, out of order %d, wrong message %d",
		v.messages, v.acked, v.lostAcked, v.unacked, v.seqGaps, v.deliveries, v.lost, v.duplicated, v.disorder, v.wrong)
}

// check compares what was acknowledged, what is stored and what every
// receiver took, and fails the test on any loss, duplicate or disorder.
func (l *load) check(t *testing.T) verdict {
	t.Helper()
	db := l.c.db(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var v verdict

	// The stored history: per thread, events 1..last_seq without a gap,
	// and the message under each Seq.
	events := map[string][]int64{}
	messageAt := map[string]map[int64]string{}
	rows, err := db.Query(ctx, `SELECT e.thread_id, e.seq, e.message_id FROM events e WHERE e.thread_id = ANY($1) ORDER BY e.thread_id, e.seq`, l.threads)
	if err != nil {
		t.Fatalf("read events: %v", err)
	}
	for rows.Next() {
		var th, msg string
		var seq int64
		if err := rows.Scan(&th, &seq, &msg); err != nil {
			t.Fatal(err)
		}
		events[th] = append(events[th], seq)
		if messageAt[th] == nil {
			messageAt[th] = map[int64]string{}
		}
		messageAt[th][seq] = msg
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, th := range l.threads {
		for i, seq := range events[th] {
			if seq != int64(i+1) {
				v.seqGaps++
				t.Errorf("thread %s: stored event %d has Seq %d, want %d (gap-free from 1)", th, i, seq, i+1)
				break
			}
		}
	}

	// Acknowledged sends against stored messages.
	stored := map[string]string{} // client message id → message id
	rows, err = db.Query(ctx, `SELECT client_message_id, id FROM messages WHERE thread_id = ANY($1) AND client_message_id <> ''`, l.threads)
	if err != nil {
		t.Fatalf("read messages: %v", err)
	}
	for rows.Next() {
		var cid, id string
		if err := rows.Scan(&cid, &id); err != nil {
			t.Fatal(err)
		}
		stored[cid] = id
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	l.stats.mu.Lock()
	acked := maps.Clone(l.stats.ids)
	other := slices.Clone(l.stats.other)
	l.stats.mu.Unlock()
	v.messages, v.acked = len(stored), len(acked)
	for cid, id := range acked {
		if stored[cid] != id {
			v.lostAcked++
			if v.lostAcked <= 5 {
				t.Errorf("send %s was acknowledged as %s, stored as %q", cid, id, stored[cid])
			}
		}
	}
	for cid := range stored {
		if _, ok := acked[cid]; !ok {
			v.unacked++
		}
	}
	for i, o := range other {
		if i < 10 {
			t.Errorf("unexpected send result: %s", o)
		}
	}

	// Every receiver, every thread: exactly the stored events after its
	// starting cursor, in order.
	for _, m := range l.members {
		r := m.rx
		r.mu.Lock()
		for _, th := range l.threads {
			got := r.got[th]
			want := events[th][r.from[th]:]
			v.deliveries += len(want)
			seen := map[int64]int{}
			prev := r.from[th]
			for _, d := range got {
				seen[d.seq]++
				if d.seq < prev {
					v.disorder++
				}
				prev = max(prev, d.seq)
				if d.message != "" && messageAt[th][d.seq] != d.message {
					v.wrong++
				}
			}
			for _, seq := range want {
				switch n := seen[seq]; {
				case n == 0:
					v.lost++
				case n > 1:
					v.duplicated += n - 1
				}
			}
		}
		r.mu.Unlock()
	}
	if v.lostAcked+v.seqGaps+v.lost+v.duplicated+v.disorder+v.wrong > 0 {
		t.Errorf("check failed: %v", v)
	}
	return v
}

// reconnects sums the receivers' connections after their first, and
// their disconnections by reason.
func (l *load) reconnects() (int, string) {
	total := 0
	reasons := map[string]int{}
	for _, m := range l.members {
		m.rx.mu.Lock()
		total += m.rx.connects - 1
		for r, n := range m.rx.closes {
			reasons[r] += n
		}
		m.rx.mu.Unlock()
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(reasons)) {
		parts = append(parts, fmt.Sprintf("%s×%d", r, reasons[r]))
	}
	return total, strings.Join(parts, " ")
}

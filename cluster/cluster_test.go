package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// waitAcked waits until the senders have n more acknowledged sends than
// when called, or within has passed; it reports whether they did.
func (l *load) waitAcked(n int64, within time.Duration) bool {
	target := l.stats.acked.Load() + n
	deadline := time.Now().Add(within)
	for l.stats.acked.Load() < target {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// stream runs the load's senders in the background (one goroutine per
// member, at most perSender messages each) and returns the function that
// stops them and waits for them.
func (l *load) stream(perSender int) (stop func()) {
	halt, done := make(chan struct{}), make(chan struct{})
	go func() { l.run(halt, 1, perSender); close(done) }()
	return func() {
		close(halt)
		<-done
	}
}

// TestDeliveryAcrossNodes runs three nodes with receivers spread across
// them (WebSocket and SSE) and senders on every node into shared threads:
// every receiver gets every event once, in order, without a gap. It logs
// the throughput, and the reconnections (none expected, but a client too
// slow on a loaded machine is closed as a slow consumer and resumes, which
// is not a failure).
func TestDeliveryAcrossNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), nats: testNATS(t)})
	l := newLoad(t, c, loadConfig{members: 6, threads: 3, transport: func(i int) string {
		if i%3 == 2 {
			return wire.TransportSSE
		}
		return wire.TransportWebSocket
	}})
	cpu0, began := c.cpu(), time.Now()
	l.run(make(chan struct{}), 2, 150)
	sent := time.Now()
	delivered := l.waitDelivered(t, 60*time.Second)
	cpu := c.cpu() - cpu0
	v := l.check(t)
	sendSecs, allSecs := sent.Sub(began).Seconds(), delivered.Sub(began).Seconds()
	reconnects, reasons := l.reconnects()
	t.Logf("3 nodes, %d members (2 SSE receivers), %d threads, 12 concurrent senders: %v", len(l.members), len(l.threads), v)
	t.Logf("throughput: %.0f sends/s acknowledged (p50 %v, p99 %v), %.0f deliveries/s; last delivery %v after the last send; "+
		"node CPU %.2f s (%.0f µs per delivery); reconnects %d %s",
		float64(v.acked)/sendSecs, l.stats.percentile(0.5), l.stats.percentile(0.99), float64(v.deliveries)/allSecs,
		delivered.Sub(sent).Round(time.Millisecond), cpu, cpu*1e6/float64(v.deliveries), reconnects, reasons)
}

// TestCommitRate measures acknowledged sends per second with 12
// concurrent senders spread over three nodes, into one thread (every
// commit waits for the thread's row lock) and into one thread per sender.
// Nobody listens: this is the commit path alone.
func TestCommitRate(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), nats: testNATS(t)})
	admin := c.admin(0)
	var members []*member
	for i := range 12 {
		members = append(members, mustNewMember(t, c, admin, i%3))
	}
	shared := mustNewThread(t, members, "hot")
	own := make([]string, len(members))
	for i, m := range members {
		own[i] = mustNewThread(t, []*member{m}, "own")
	}
	for _, phase := range []struct {
		name   string
		thread func(i int) string
	}{
		{"one shared thread", func(int) string { return shared }},
		{"a thread per sender", func(i int) string { return own[i] }},
	} {
		l := &load{c: c, members: members}
		l.stats.ids = map[string]string{}
		const perSender = 80
		cpu0, began := c.cpu(), time.Now()
		done := make(chan struct{})
		for i, m := range members {
			go func() {
				defer func() { done <- struct{}{} }()
				for k := range perSender {
					l.send(m, phase.thread(i), fmt.Sprintf("%s-%d-%d", phase.name, i, k))
				}
			}()
		}
		for range members {
			<-done
		}
		secs, cpu := time.Since(began).Seconds(), c.cpu()-cpu0
		l.stats.mu.Lock()
		other := len(l.stats.other)
		l.stats.mu.Unlock()
		if other != 0 || l.stats.acked.Load() != int64(len(members)*perSender) {
			t.Errorf("%s: acknowledged %d of %d, %d unexpected answers", phase.name, l.stats.acked.Load(), len(members)*perSender, other)
		}
		t.Logf("commit rate, 12 senders on 3 nodes, %s: %.0f sends/s (p50 %v, p99 %v); node CPU %.0f µs per send", phase.name,
			float64(l.stats.acked.Load())/secs, l.stats.percentile(0.5), l.stats.percentile(0.99), cpu*1e6/float64(l.stats.acked.Load()))
	}
}

// TestFanOut sends into one thread of 60 participants, each with a
// connection, spread over three nodes: every receiver gets every event;
// it logs deliveries per second and the nodes' CPU per delivery.
func TestFanOut(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), nats: testNATS(t)})
	l := newLoad(t, c, loadConfig{members: 60, threads: 1})
	l.senders = l.members[:6]
	cpu0, began := c.cpu(), time.Now()
	l.run(make(chan struct{}), 1, 50)
	delivered := l.waitDelivered(t, 60*time.Second)
	cpu := c.cpu() - cpu0
	v := l.check(t)
	secs := delivered.Sub(began).Seconds()
	t.Logf("fan-out, 6 senders into one thread of 60 connections on 3 nodes: %v", v)
	t.Logf("%.0f sends/s, %.0f deliveries/s; node CPU %.2f s (%.0f µs per delivery)",
		float64(v.acked)/secs, float64(v.deliveries)/secs, cpu, cpu*1e6/float64(v.deliveries))
}

// TestPeriodicResync runs a misconfigured node with the in-process broker
// beside two NATS nodes: its commits reach the others' connections only
// through the periodic resync (here every second), which must bring every
// event, in order, within a few periods.
func TestPeriodicResync(t *testing.T) {
	natsURL := testNATS(t)
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), resyncEvery: "1s", natsFor: func(i int) string {
		if i == 2 {
			return "" // in-process: no other node hears of n2's commits
		}
		return natsURL
	}})
	// Member 1 sends through n2; members 0 and 1 receive on n0 and n1.
	l := newLoad(t, c, loadConfig{members: 3, threads: 2})
	began := time.Now()
	for k := range 20 {
		l.send(l.members[1], l.threads[k%2], fmt.Sprintf("silent-%d", k))
	}
	delivered := l.waitDelivered(t, 10*time.Second)
	v := l.check(t)
	t.Logf("20 sends through a node without NATS, resync every 1s: %v; last delivery after %v", v, delivered.Sub(began).Round(time.Millisecond))
}

// TestNodeKills kills a node with SIGKILL mid-stream, three times (each
// node once), restarting it at its address: its receivers reconnect to
// another node and resume, its senders retry elsewhere; nothing
// acknowledged is lost and every receiver gets every event once, in order.
func TestNodeKills(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), nats: testNATS(t)})
	l := newLoad(t, c, loadConfig{members: 6, threads: 3})
	stop := l.stream(5000)
	const kills = 3
	for k := range kills {
		if !l.waitAcked(150, 30*time.Second) {
			t.Errorf("before kill %d: fewer than 150 sends acknowledged in 30s", k+1)
		}
		n := c.nodes[k%len(c.nodes)]
		c.kill(n, syscall.SIGKILL)
		l.waitAcked(100, 10*time.Second) // the others carry on meanwhile
		c.start(n)
	}
	if !l.waitAcked(150, 30*time.Second) {
		t.Errorf("after the kills: fewer than 150 sends acknowledged in 30s")
	}
	stop()
	l.waitDelivered(t, 60*time.Second)
	v := l.check(t)
	reconnects, reasons := l.reconnects()
	t.Logf("%d SIGKILLs of 3 nodes mid-stream: %v", kills, v)
	t.Logf("senders: %d attempts, %d without an answer (retried on another node), %d 503; receivers: %d reconnects (%s)",
		l.stats.attempts.Load(), l.stats.transport.Load(), l.stats.unavailable.Load(), reconnects, reasons)
	// Each kill cuts the two receivers that prefer the node.
	if reconnects < 2*kills {
		t.Errorf("receivers reconnected %d times, want at least %d (two per killed node)", reconnects, 2*kills)
	}
}

// TestNATSRestartAndCut runs three nodes on a NATS server of the test's
// own, each through a proxy: a node's link is cut (the others keep
// sending), NATS is killed and restarted, another node's link is cut.
// The periodic resync is off: catching up on reconnection, and filling
// gaps on the next signal, must recover every event alone, and no receiver
// may be closed as a slow consumer for the backlog (issue 12).
func TestNATSRestartAndCut(t *testing.T) {
	pg := testPostgres(t)
	testNATS(t) // the shared server is not used, but NATS tests run only where it is configured
	ns := startNATS(t)
	target := fmt.Sprintf("127.0.0.1:%d", ns.port)
	var proxies []*proxy
	for range 3 {
		proxies = append(proxies, startProxy(t, target))
	}
	c := startCluster(t, clusterConfig{nodes: 3, postgres: pg, natsFor: func(i int) string { return proxies[i].URL() },
		resyncEvery: "0"})
	l := newLoad(t, c, loadConfig{members: 6, threads: 3})
	stop := l.stream(5000)
	// Each fault, and the broker reconnections it makes n0, n1, n2 log
	// (counted from the start); the next fault waits for them.
	faults := []struct {
		name string
		do   func()
		want [3]int
	}{
		{"cut n1 from NATS for 1.5s", func() { proxies[1].cut(1500 * time.Millisecond) }, [3]int{0, 1, 0}},
		{"kill NATS, restart it after 10s", func() {
			ns.stop()
			time.Sleep(10 * time.Second) // sends are stored meanwhile; their signals are lost
			ns.start(t)
		}, [3]int{1, 2, 1}},
		{"cut n2 from NATS for 1.5s", func() { proxies[2].cut(1500 * time.Millisecond) }, [3]int{1, 2, 2}},
	}
	for _, f := range faults {
		if !l.waitAcked(150, 30*time.Second) {
			t.Errorf("before %q: fewer than 150 sends acknowledged in 30s", f.name)
		}
		f.do()
		for i, want := range f.want {
			if !c.nodes[i].waitLog("broker reconnected", want, 20*time.Second) {
				t.Errorf("after %q: n%d logged %d broker reconnections in 20s, want %d", f.name, i, c.nodes[i].count("broker reconnected"), want)
			}
		}
	}
	if !l.waitAcked(150, 30*time.Second) {
		t.Errorf("after the faults: fewer than 150 sends acknowledged in 30s")
	}
	stop()
	l.waitDelivered(t, 60*time.Second)
	v := l.check(t)
	reconnects, reasons := l.reconnects()
	t.Logf("NATS restarted once (after 10 s down), two nodes cut from it once each, periodic resync off: %v", v)
	t.Logf("receivers: %d reconnects (%s)", reconnects, reasons)
	// A broker outage is caught up from the store on every connection: it
	// must not close healthy clients as slow consumers.
	for _, m := range l.members {
		m.rx.mu.Lock()
		if n := m.rx.closes[string(herald.ReasonSlowConsumer)]; n > 0 {
			t.Errorf("%s: closed %d times as a slow consumer across the broker outage, want 0", m.rx.name, n)
		}
		m.rx.mu.Unlock()
	}
}

// TestPostgresRestart stops a throwaway PostgreSQL under two nodes
// mid-stream (an immediate shutdown, as a crash) and starts it again:
// sends meanwhile fail with 503 store_unavailable, nothing is acknowledged
// without being stored, and the nodes serve again by themselves.
func TestPostgresRestart(t *testing.T) {
	testPostgres(t) // the shared server is not used, but PostgreSQL tests run only where it is configured
	natsURL := testNATS(t)
	pg := startPostgres(t)
	c := startCluster(t, clusterConfig{nodes: 2, postgres: pg.URL(), nats: natsURL})
	l := newLoad(t, c, loadConfig{members: 4, threads: 2})
	stop := l.stream(5000)
	if !l.waitAcked(150, 30*time.Second) {
		t.Errorf("before the restart: fewer than 150 sends acknowledged in 30s")
	}
	unavailable := l.stats.unavailable.Load()
	pg.stop(t)
	time.Sleep(2 * time.Second)
	during := l.stats.unavailable.Load() - unavailable
	ackedDown := l.stats.acked.Load()
	pg.start(t)
	up := time.Now()
	if !l.waitAcked(1, 30*time.Second) {
		t.Fatalf("no send acknowledged within 30s of PostgreSQL's restart")
	}
	recovered := time.Since(up)
	if !l.waitAcked(150, 30*time.Second) {
		t.Errorf("after the restart: fewer than 150 sends acknowledged in 30s")
	}
	stop()
	l.waitDelivered(t, 60*time.Second)
	v := l.check(t) // fails on any answer other than 201 or 503 store_unavailable
	reconnects, reasons := l.reconnects()
	t.Logf("PostgreSQL stopped (immediate) for 2s under 2 nodes: %v", v)
	t.Logf("senders: %d answered 503 store_unavailable during the outage (%d in all), %d without an answer; "+
		"first acknowledgement %v after the restart; acknowledged by the end of the outage %d; receivers: %d reconnects (%s)",
		during, l.stats.unavailable.Load(), l.stats.transport.Load(), recovered.Round(time.Millisecond), ackedDown, reconnects, reasons)
	if during == 0 {
		t.Errorf("no send was answered 503 store_unavailable while PostgreSQL was down, want the senders to see the outage")
	}
}

// TestSignalsReachEveryNode gives users a connection on each of three
// nodes and checks that a removal, a thread deletion, a token revocation
// and an identity deletion made through one node reach the connections on
// every node within 5 seconds. It also shows why SSE and long-polling need
// sticky routing: a connection's frames are taken only by its node.
func TestSignalsReachEveryNode(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), nats: testNATS(t)})
	admin := c.admin(0)
	owner := mustNewMember(t, c, admin, 1)
	leaver := mustNewMember(t, c, admin, 1)
	revoked := mustNewMember(t, c, admin, 2)
	everyone := []*member{owner, leaver, revoked}
	kept := mustNewThread(t, everyone, "kept")
	doomed := mustNewThread(t, everyone, "doomed")
	rx := map[*member][]*receiver{}
	for _, m := range everyone {
		for i := range c.nodes {
			r := newReceiver(c, fmt.Sprintf("%s on n%d", m.id, i), m.token, i, wire.TransportWebSocket)
			r.start(t)
			rx[m] = append(rx[m], r)
		}
	}
	const within = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The owner removes the leaver through n1.
	began := time.Now()
	if err := owner.send.RemoveParticipant(ctx, kept, leaver.id); err != nil {
		t.Fatalf("remove participant: %v", err)
	}
	head := c.head(t, kept)
	t.Logf("removal reached the leaver's 3 connections in %v", waitAt(t, rx[leaver], kept, head, began, within))

	// The owner deletes a thread through n1.
	began = time.Now()
	if err := owner.send.DeleteThread(ctx, doomed); err != nil {
		t.Fatalf("delete thread: %v", err)
	}
	head = c.head(t, doomed)
	all := append(append(append([]*receiver(nil), rx[owner]...), rx[leaver]...), rx[revoked]...)
	t.Logf("thread deletion reached 9 connections of 3 users in %v", waitAt(t, all, doomed, head, began, within))

	// The admin revokes a user's tokens, and deletes another identity,
	// through n0.
	for _, tc := range []struct {
		who    *member
		reason herald.Reason
		do     func() error
	}{
		{revoked, herald.ReasonTokenRevoked, func() error { return admin.RevokeTokens(ctx, revoked.id) }},
		{leaver, herald.ReasonIdentityDeleted, func() error { return admin.DeleteIdentity(ctx, leaver.id) }},
	} {
		began := time.Now()
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		var slowest time.Duration
		for _, r := range rx[tc.who] {
			select {
			case err := <-r.done:
				if herald.ErrorReason(err) != tc.reason {
					t.Errorf("%s: Start returned %v, want reason %s", r.name, err, tc.reason)
				}
				slowest = max(slowest, time.Since(began))
				r.done <- err // for the cleanup
			case <-time.After(within - time.Since(began)):
				t.Errorf("%s: still connected %v after %s", r.name, within, tc.reason)
			}
		}
		t.Logf("%s closed the user's 3 connections in %v", tc.reason, slowest.Round(time.Millisecond))
	}

	// An SSE connection's frames (acks, pongs, refreshes) are taken on any
	// node (relayed to the one holding it), and only with its key.
	r := newReceiver(c, "owner over SSE on n0", owner.token, 0, wire.TransportSSE)
	var id, key string
	r.rt.OnState(func(sc client.StateChange) {
		if sc.Welcome != nil && id == "" {
			id, key = sc.Welcome.ConnectionID, sc.Welcome.ConnectionKey
		}
	})
	r.start(t)
	for i := range c.nodes {
		if got, reason := postPing(t, c.nodes[i].address(), id, key); got != 204 {
			t.Errorf("ping frame for an SSE connection of n0 posted to n%d: got %d %s, want 204", i, got, reason)
		}
		if got, reason := postPing(t, c.nodes[i].address(), id, "wrong-key"); got != 404 || reason != herald.ReasonConnectionNotFound {
			t.Errorf("ping frame with a wrong key posted to n%d: got %d %s, want 404 connection_not_found", i, got, reason)
		}
	}
}

// head reads a thread's last Seq from the database.
func (c *cluster) head(t *testing.T, thread string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var seq int64
	if err := c.db(t).QueryRow(ctx, `SELECT last_seq FROM threads WHERE id = $1`, thread).Scan(&seq); err != nil {
		t.Fatalf("read the head of %s: %v", thread, err)
	}
	return seq
}

// waitAt waits until every receiver has taken thread's events up to seq,
// failing the test for each that has not within the bound after began; it
// returns how long the slowest took.
func waitAt(t *testing.T, rs []*receiver, thread string, seq int64, began time.Time, within time.Duration) time.Duration {
	t.Helper()
	var slowest time.Duration
	for _, r := range rs {
		for r.at(thread) < seq {
			if time.Since(began) > within {
				t.Errorf("%s: thread %s at %d, want %d within %v", r.name, thread, r.at(thread), seq, within)
				break
			}
			select {
			case <-r.progress:
			case <-time.After(10 * time.Millisecond):
			}
		}
		slowest = max(slowest, time.Since(began))
	}
	return slowest.Round(time.Millisecond)
}

// postPing posts a ping frame for an SSE or long-polling connection to
// the node at addr and returns the status and error reason.
func postPing(t *testing.T, addr, id, key string) (int, herald.Reason) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+addr+"/realtime/connections/"+id+"/frames", strings.NewReader(`{"type":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(wire.HeaderConnectionKey, key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post a frame to %s: %v", addr, err)
	}
	defer res.Body.Close()
	var body wire.ErrorResponse
	json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, herald.Reason(body.Error.Reason)
}

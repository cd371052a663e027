package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// TestNothingCopiedBetweenNodes (issue 12): three nodes started at once,
// each with a data directory of its own, only node 0 given the admin key.
// The admin key works on every node; a token issued on one node works on
// the others; a signing-key rotation in the middle of traffic fails no
// request, and the new key's tokens work at once on every node.
func TestNothingCopiedBetweenNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), nats: testNATS(t), adminKeyOnFirst: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var members []*member
	for i := range c.nodes {
		members = append(members, mustNewMember(t, c, c.admin(i), i)) // the admin key, through every node
	}
	th := mustNewThread(t, members, "shared state")
	for i := range c.nodes { // a token issued through node i, on every node
		for j := range c.nodes {
			if _, err := c.user(members[i].token, j).ListParticipants(ctx, th, client.ListParticipantsOptions{}); err != nil {
				t.Errorf("token issued via n%d, used on n%d: %v", i, j, err)
			}
		}
	}

	// Traffic on every node with the tokens issued before the rotation.
	var sent, failed atomic.Int64
	var errMu sync.Mutex
	var firstErr error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				if k >= 400 {
					return
				}
				_, err := c.user(m.token, (i+k)%len(c.nodes)).SendMessage(ctx, th, wire.SendMessageRequest{Content: fmt.Sprint(i, "-", k)}, "")
				if err != nil {
					failed.Add(1)
					errMu.Lock()
					firstErr = errors.Join(firstErr, err)
					errMu.Unlock()
					continue
				}
				sent.Add(1)
			}
		})
	}
	time.Sleep(time.Second)
	before, err := c.admin(1).SigningKeys(ctx)
	if err != nil || len(before.Value) != 1 {
		t.Fatalf("signing keys before the rotation: got %+v, %v; want one", before, err)
	}
	rotated, err := c.admin(1).RotateSigningKey(ctx)
	if err != nil || rotated.Generation != 2 || rotated.State != "signing" {
		t.Fatalf("rotate via n1: got %+v, %v; want generation 2, signing", rotated, err)
	}
	// A token from node 1 (which rotated) carries the new key and works on
	// the nodes that have not reread the keys yet.
	fresh, err := c.admin(1).IssueToken(ctx, members[0].id, []string{"chat"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if kid := tokenKid(t, fresh.Token); kid != rotated.KeyID {
		t.Errorf("token issued by the rotating node: kid %s, want the new key %s", kid, rotated.KeyID)
	}
	for j := range c.nodes {
		if _, err := c.user(fresh.Token, j).ListParticipants(ctx, th, client.ListParticipantsOptions{}); err != nil {
			t.Errorf("new key's token on n%d right after the rotation: %v", j, err)
		}
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("sends during the rotation: %d failed (%v), want 0", failed.Load(), firstErr)
	}
	var stored int64
	if err := c.db(t).QueryRow(ctx, `SELECT count(*) FROM messages WHERE thread_id = $1 AND type IN ('text', 'html')`, th).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != sent.Load() {
		t.Errorf("messages stored %d, acknowledged %d; want equal", stored, sent.Load())
	}
	after, err := c.admin(2).SigningKeys(ctx)
	if err != nil || len(after.Value) != 2 || after.Value[1].State != "verifying" || after.Value[1].RetiresOn == nil {
		t.Errorf("signing keys via n2 after the rotation: got %+v, %v; want the old one verifying, with a retirement", after, err)
	}
	t.Logf("%d sends across a rotation, 0 failed", sent.Load())

	// The JWKS of every node names both keys.
	for j, n := range c.nodes {
		res, err := http.Get("http://" + n.address() + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		var set struct{ Keys []struct{ Kid string } }
		err = json.NewDecoder(res.Body).Decode(&set)
		res.Body.Close()
		if err != nil || len(set.Keys) != 2 {
			t.Errorf("JWKS of n%d: got %+v (%v), want 2 keys", j, set, err)
		}
	}
}

func tokenKid(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := p.Header["kid"].(string)
	return kid
}

// TestTicketOnAnyNode gets a real-time ticket (how a browser authenticates
// a WebSocket or EventSource) from one node and opens the connection on
// another, as a load balancer without affinity may route it; a ticket is
// used once, whichever node is asked the second time.
func TestTicketOnAnyNode(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), nats: testNATS(t)})
	m := mustNewMember(t, c, c.admin(0), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ticket := func(from int) string {
		req, err := http.NewRequestWithContext(ctx, "POST", "http://"+c.nodes[from].address()+"/realtime/tickets", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+m.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tk wire.Ticket
		err = json.NewDecoder(res.Body).Decode(&tk)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated || err != nil {
			t.Fatalf("ticket from n%d: got %d %v, want 201", from, res.StatusCode, err)
		}
		return tk.Ticket
	}
	open := func(to int, tk string) int {
		ws, res, err := websocket.Dial(ctx, "ws://"+c.nodes[to].address()+"/realtime/ws?ticket="+tk, nil)
		if err == nil {
			ws.CloseNow()
			return http.StatusSwitchingProtocols
		}
		if res == nil {
			t.Fatalf("dial n%d: %v", to, err)
		}
		return res.StatusCode
	}
	for _, hop := range []struct{ from, to int }{{0, 1}, {1, 2}, {2, 0}} {
		tk := ticket(hop.from)
		if got := open(hop.to, tk); got != http.StatusSwitchingProtocols {
			t.Errorf("ticket from n%d, WebSocket on n%d: got %d, want 101", hop.from, hop.to, got)
		}
		again := (hop.to + 1) % len(c.nodes)
		if got := open(again, tk); got != http.StatusUnauthorized {
			t.Errorf("the same ticket again, on n%d: got %d, want 401 (single use)", again, got)
		}
	}
}

// TestRateLimitAcrossNodes: the write rate limit holds for the deployment.
// A user's sends spread over three nodes get the burst once, not once per
// node; the rest are 429 rate_limited with a Retry-After.
func TestRateLimitAcrossNodes(t *testing.T) {
	const burst = 6
	// One write per 1,000 s: nothing refills while the test runs.
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), nats: testNATS(t), writeRate: "0.001", writeBurst: fmt.Sprint(burst)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	owner := mustNewMember(t, c, c.admin(0), 0)
	th := mustNewThread(t, []*member{owner}, "rate") // one write of the burst
	allowed, limited := 1, 0
	for k := range 3 * burst {
		_, err := c.user(owner.token, k%len(c.nodes)).SendMessage(ctx, th, wire.SendMessageRequest{Content: fmt.Sprint(k)}, "")
		var he *client.HTTPError
		switch {
		case err == nil:
			allowed++
		case herald.ErrorReason(err) == herald.ReasonRateLimited && errors.As(err, &he) && he.RetryAfter > 0:
			limited++
		default:
			t.Fatalf("send %d: got %v, want success or 429 rate_limited with Retry-After", k, err)
		}
	}
	if allowed != burst || limited != 3*burst+1-burst {
		t.Errorf("writes over three nodes with a burst of %d: %d allowed, %d limited; want %d allowed (the burst once, not per node)",
			burst, allowed, limited, burst)
	}
}

// hoppingUser returns a client of the user with token whose every request
// goes to the next node, as a load balancer without affinity (round robin,
// no keep-alive) sends them.
func (c *cluster) hoppingUser(token string) *client.Client {
	var next atomic.Int64
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			n := c.nodes[int(next.Add(1))%len(c.nodes)]
			d := net.Dialer{Timeout: time.Second}
			return d.DialContext(ctx, "tcp", n.address())
		},
		DisableKeepAlives: true,
	}
	return client.New(baseURL, client.StaticToken(token), client.WithHTTPClient(&http.Client{Transport: tr}))
}

// TestSSEAndLongPollWithoutAffinity (issue 12): SSE frames (acks, pongs)
// and long-polls reach a different node on every request; the node that
// holds the connection answers them through the relay, so the clients get
// every message without a single reconnection.
func TestSSEAndLongPollWithoutAffinity(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3, postgres: testPostgres(t), nats: testNATS(t)})
	sender := mustNewMember(t, c, c.admin(0), 0)
	var rxs []*receiver
	var members = []*member{sender}
	for _, transport := range []string{wire.TransportSSE, wire.TransportLongPoll} {
		m := mustNewMember(t, c, c.admin(0), 0)
		members = append(members, m)
		rxs = append(rxs, newReceiverOn(transport+" hopping", c.hoppingUser(m.token), transport))
	}
	th := mustNewThread(t, members, "no affinity")
	for _, r := range rxs {
		r.start(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const messages = 40
	var head int64
	for k := range messages {
		res, err := sender.send.SendMessage(ctx, th, wire.SendMessageRequest{Content: fmt.Sprint(k)}, "")
		if err != nil {
			t.Fatal(err)
		}
		if head, err = strconv.ParseInt(res.SequenceID, 10, 64); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // spread over many polls and acks
	}
	for _, r := range rxs {
		deadline := time.Now().Add(40 * time.Second)
		for r.at(th) < head && time.Now().Before(deadline) {
			select {
			case <-r.progress:
			case <-time.After(100 * time.Millisecond):
			}
		}
		r.mu.Lock()
		last, gaps, dups, connects, closes := r.last[th], r.gaps, r.dups, r.connects, fmt.Sprint(r.closes)
		r.mu.Unlock()
		if last != head || gaps != 0 || dups != 0 {
			t.Errorf("%s: last seq %d of %d, gaps %d, duplicates %d; want everything once", r.name, last, head, gaps, dups)
		}
		if connects != 1 {
			t.Errorf("%s: %d connections (disconnections %s), want 1: every request reached another node and was relayed", r.name, connects, closes)
		}
	}
}

package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-chat/herald/wire"
)

// TestConnectionMemory opens idle WebSocket connections to one node and
// logs how much its resident memory grew per connection: the figure the
// sizing model in docs/scaling.md uses for connection nodes.
func TestConnectionMemory(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 1, postgres: testPostgres(t), nats: testNATS(t)})
	const users, perUser = 10, 50
	admin := c.admin(0)
	var members []*member
	for range users {
		members = append(members, mustNewMember(t, c, admin, 0))
	}
	mustNewThread(t, members, "memory")
	n := c.nodes[0]
	before, err := rssKiB(n.pid())
	if err != nil {
		t.Skipf("cannot read the node's memory: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hello, _ := json.Marshal(wire.ClientFrame{Type: wire.FrameHello, Version: wire.ProtocolVersion})
	var conns []*websocket.Conn
	defer func() {
		for _, ws := range conns {
			ws.CloseNow()
		}
	}()
	for _, m := range members {
		for range perUser {
			ws, _, err := websocket.Dial(ctx, "ws://"+n.address()+"/realtime/ws",
				&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + m.token}}})
			if err != nil {
				t.Fatalf("dial connection %d: %v", len(conns), err)
			}
			conns = append(conns, ws)
			if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
				t.Fatalf("hello: %v", err)
			}
			if err := readUntil(ctx, ws, wire.FrameCaughtUp); err != nil {
				t.Fatalf("connection %d: %v", len(conns), err)
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // let the connection log writes settle
	after, err := rssKiB(n.pid())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d idle WebSocket connections: node RSS %d → %d KiB, %.1f KiB per connection",
		len(conns), before, after, float64(after-before)/float64(len(conns)))
}

// readUntil reads frames until one of type want.
func readUntil(ctx context.Context, ws *websocket.Conn, want string) error {
	for range 100 {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		var f wire.ServerFrame
		if err := json.Unmarshal(data, &f); err != nil {
			return err
		}
		if f.Type == want {
			return nil
		}
	}
	return fmt.Errorf("no %s frame in 100", want)
}

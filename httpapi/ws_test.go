package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/wire"
)

// wsPair returns the server side of a WebSocket on loopback (upgraded by
// gobwas, as the server does) and a coder/websocket client on the other
// end: a second, independent implementation reads what the server writes.
func wsPair(t *testing.T) (*wsTransport, *websocket.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	server := make(chan *wsTransport, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			close(server)
			return
		}
		if _, err := ws.Upgrade(nc); err != nil {
			nc.Close()
			close(server)
			return
		}
		server <- newWSTransport(nc, nil)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	client.SetReadLimit(1 << 20)
	t.Cleanup(func() { client.CloseNow() })
	st, ok := <-server
	if !ok {
		t.Fatal("server side failed to upgrade")
	}
	t.Cleanup(func() { st.nc.Close() })
	return st, client
}

func readText(t *testing.T, c *websocket.Conn) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("client read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("got a %v message, want text", typ)
	}
	return data
}

// One Write carries many frames, of every header size (7-bit, 16-bit and
// 64-bit lengths), each a separate text message, in order, byte for byte.
func TestWSWriteBatch(t *testing.T) {
	st, client := wsPair(t)
	frames := [][]byte{[]byte(`{"type":"ping"}`), []byte{}, bytes.Repeat([]byte("a"), 300), bytes.Repeat([]byte("b"), 70_000), []byte(`{"type":"caughtUp"}`)}
	if err := st.Write(frames, 10*time.Second); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for i, want := range frames {
		if got := readText(t, client); !bytes.Equal(got, want) {
			t.Fatalf("message %d: got %d bytes (%.20q), want %d bytes (%.20q)", i, len(got), got, len(want), want)
		}
	}
}

// A client that does not read makes a Write fail with ErrSlowConsumer
// once the kernel's buffers are full and the timeout has passed.
func TestWSWriteSlowConsumer(t *testing.T) {
	st, _ := wsPair(t) // the client never reads
	big := bytes.Repeat([]byte("x"), 60_000)
	var err error
	for i := 0; i < 2000 && err == nil; i++ { // bounded: ~120 MB, far past any loopback buffer
		err = st.Write([][]byte{big}, 200*time.Millisecond)
	}
	if !errors.Is(err, hub.ErrSlowConsumer) {
		t.Fatalf("got %v, want ErrSlowConsumer", err)
	}
}

// Control frames from the client are answered between batches: a ping gets
// its pong while the server is otherwise silent.
func TestWSAnswersPing(t *testing.T) {
	st, client := wsPair(t)
	go func() {
		for {
			if _, code, _ := st.readFrame(); code != 0 {
				return
			}
		}
	}()
	// coder/websocket reads pongs in its reader: keep one running.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go client.Read(ctx)
	if err := client.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// readFrame classifies what the client sends: a hello is decoded; a
// binary message, invalid UTF-8, an oversized message and a close each
// give their close code and reason; a fragmented text message is joined.
func TestWSReadFrame(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hello := `{"type":"hello","v":1}`
	cases := []struct {
		name       string
		send       func(c *websocket.Conn) error
		wantCode   int
		wantReason herald.Reason
	}{
		{"hello", func(c *websocket.Conn) error { return c.Write(ctx, websocket.MessageText, []byte(hello)) }, 0, ""},
		{"fragmented", func(c *websocket.Conn) error {
			w, err := c.Writer(ctx, websocket.MessageText)
			if err != nil {
				return err
			}
			// Larger than the client's write buffer: it goes out in fragments.
			pad := strings.Repeat(" ", 20_000)
			if _, err := w.Write([]byte(`{"type":"hello",` + pad)); err != nil {
				return err
			}
			if _, err := w.Write([]byte(pad + `"v":1}`)); err != nil {
				return err
			}
			return w.Close()
		}, 0, ""},
		{"binary", func(c *websocket.Conn) error { return c.Write(ctx, websocket.MessageBinary, []byte(hello)) }, wire.CloseUnsupportedData, herald.ReasonProtocolError},
		{"invalid utf8", func(c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageText, []byte("{\"type\":\"\xff\"}"))
		}, wire.CloseInvalidPayload, herald.ReasonInvalidUTF8},
		{"too large", func(c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageText, bytes.Repeat([]byte(" "), wire.MaxFrameBytes+1))
		}, wire.CloseMessageTooBig, herald.ReasonPayloadTooLarge},
		{"not json", func(c *websocket.Conn) error { return c.Write(ctx, websocket.MessageText, []byte("hello")) }, wire.CloseProtocolError, herald.ReasonProtocolError},
		{"close", func(c *websocket.Conn) error { return c.Close(websocket.StatusNormalClosure, "bye") }, 1000, herald.ReasonClientClosed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, client := wsPair(t)
			errc := make(chan error, 1)
			go func() { errc <- tc.send(client) }()
			f, code, reason := st.readFrame()
			if code != tc.wantCode || reason != tc.wantReason {
				t.Fatalf("got close %d %q, want %d %q", code, reason, tc.wantCode, tc.wantReason)
			}
			if code == 0 && (f.Type != wire.FrameHello || f.Version != 1) {
				t.Errorf("got frame %+v, want hello version 1", f)
			}
			if tc.name != "close" {
				if err := <-errc; err != nil {
					t.Errorf("client send: %v", err)
				}
			}
		})
	}
}

// Close sends a close frame with the code and reason the client sees.
func TestWSClose(t *testing.T) {
	st, client := wsPair(t)
	st.Close(wire.CloseSlowConsumer, "slow_consumer")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := client.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || int(ce.Code) != wire.CloseSlowConsumer || ce.Reason != "slow_consumer" {
		t.Fatalf("got %v, want close %d slow_consumer", err, wire.CloseSlowConsumer)
	}
	if err := st.Write([][]byte{[]byte("late")}, time.Second); err == nil {
		t.Error("a Write after Close succeeded; want an error (nothing goes after a close frame)")
	}
}

package httpapi

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// clientFrame encodes one masked client frame, as a browser sends it.
func clientFrame(op ws.OpCode, fin bool, payload []byte) []byte {
	var b bytes.Buffer
	f := ws.NewFrame(op, fin, payload)
	f = ws.MaskFrameInPlace(f)
	ws.WriteFrame(&b, f)
	return b.Bytes()
}

// FuzzWSReadFrame feeds arbitrary bytes from a client to the server's
// WebSocket reader: it must never panic or hang, and every outcome is a
// decoded frame or one of the documented close codes with its reason.
func FuzzWSReadFrame(f *testing.F) {
	hello := []byte(`{"type":"hello","v":1}`)
	f.Add(clientFrame(ws.OpText, true, hello))
	f.Add(append(clientFrame(ws.OpText, false, hello[:5]), clientFrame(ws.OpContinuation, true, hello[5:])...))
	f.Add(append(clientFrame(ws.OpPing, true, []byte("hi")), clientFrame(ws.OpText, true, hello)...))
	f.Add(clientFrame(ws.OpBinary, true, hello))
	f.Add(clientFrame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")))
	f.Add(clientFrame(ws.OpText, true, []byte("\xff")))
	f.Add([]byte{0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(clientFrame(ws.OpContinuation, true, hello))
	allowed := map[int]herald.Reason{
		0: "", wire.CloseUnsupportedData: herald.ReasonProtocolError, wire.CloseInvalidPayload: herald.ReasonInvalidUTF8,
		wire.CloseMessageTooBig: herald.ReasonPayloadTooLarge, wire.CloseProtocolError: herald.ReasonProtocolError,
		int(ws.StatusProtocolError): herald.ReasonProtocolError, 1006: herald.ReasonConnectionLost,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		server, client := net.Pipe()
		defer server.Close()
		go func() {
			client.SetDeadline(time.Now().Add(5 * time.Second))
			client.Write(data)
			client.Close() // then EOF: the reader cannot wait for more
		}()
		go func() { // answers to pings and closes: read and dropped
			buf := make([]byte, 512)
			for {
				if _, err := client.Read(buf); err != nil {
					return
				}
			}
		}()
		tr := newWSTransport(server, nil)
		for range 100 { // bounded: each frame is at least two bytes
			_, code, reason := tr.readFrame() // what a frame's type means is Conn.Receive's to judge
			if reason == herald.ReasonClientClosed && code != 0 {
				return // the client's own close frame: its code is the client's choice (1003 included)
			}
			if want, ok := allowed[code]; ok && reason != want {
				t.Fatalf("close %d with reason %q, want %q", code, reason, want)
			}
			if _, ok := allowed[code]; !ok && reason != herald.ReasonClientClosed {
				t.Fatalf("close %d %q is not a documented outcome", code, reason)
			}
			if code != 0 {
				return
			}
		}
	})
}

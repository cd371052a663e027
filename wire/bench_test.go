package wire_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// benchMessage is a text message of a usual size.
var benchMessage = herald.Message{ID: "m_01JD7Y3K9V5X2Q8W4R6T0M1N3P", ThreadID: "t_01JD7Y3K9V5X2Q8W4R6T0M1N3Q", Seq: 1234,
	Type: herald.MessageText, SenderID: "u_01JD7Y3K9V5X2Q8W4R6T0M1N3R", SenderDisplayName: "Alice",
	Content: "a message of a usual length, about sixty bytes of text here", CreatedAt: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), Version: 1}

// BenchmarkEncodeEventFrame measures encoding a chatMessageReceived frame
// the way the hub does it, once per message: the event data, then the
// frame around it.
//
//	go test ./wire -run '^$' -bench .
func BenchmarkEncodeEventFrame(b *testing.B) {
	b.ReportAllocs()
	var size int
	for b.Loop() {
		m := wire.FromMessage(benchMessage)
		actor := wire.Identifier(string(benchMessage.SenderID))
		data, err := json.Marshal(wire.EventData{Message: &m, Actor: &actor, At: benchMessage.CreatedAt})
		if err != nil {
			b.Fatal(err)
		}
		f, err := json.Marshal(wire.ServerFrame{Type: wire.FrameEvent, ThreadID: string(benchMessage.ThreadID), Seq: int64(benchMessage.Seq),
			Event: string(herald.EventMessageReceived), Data: data})
		if err != nil {
			b.Fatal(err)
		}
		size = len(f)
	}
	b.ReportMetric(float64(size), "bytes/frame")
}

// BenchmarkDecodeEventFrame measures what a client does with each frame:
// decoding it and its event data.
func BenchmarkDecodeEventFrame(b *testing.B) {
	m := wire.FromMessage(benchMessage)
	data, _ := json.Marshal(wire.EventData{Message: &m, At: benchMessage.CreatedAt})
	frame, _ := json.Marshal(wire.ServerFrame{Type: wire.FrameEvent, ThreadID: "t_1", Seq: 1234, Event: "chatMessageReceived", Data: data})
	b.ReportAllocs()
	for b.Loop() {
		var f wire.ServerFrame
		if err := json.Unmarshal(frame, &f); err != nil {
			b.Fatal(err)
		}
		var d wire.EventData
		if err := json.Unmarshal(f.Data, &d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeClientFrame measures the server's strict decoding of a
// client frame (an ack, the most frequent one).
func BenchmarkDecodeClientFrame(b *testing.B) {
	ack := []byte(`{"type":"ack","acks":[{"threadId":"t_01JD7Y3K9V5X2Q8W4R6T0M1N3Q","seq":1234},{"threadId":"t_01JD7Y3K9V5X2Q8W4R6T0M1N3S","seq":17}]}`)
	b.ReportAllocs()
	for b.Loop() {
		var f wire.ClientFrame
		if err := wire.Decode(ack, &f); err != nil {
			b.Fatal(err)
		}
	}
}

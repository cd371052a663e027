package nats

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/herald-chat/herald"
)

// fullSignal returns a signal with every field set, and every field of the
// Event, Message and Thread it points to.
func fullSignal() herald.Signal {
	t0 := time.Date(2025, time.March, 1, 12, 0, 0, 123_000_000, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	return herald.Signal{
		Kind:     herald.SignalEvent,
		ThreadID: "t_a",
		Seq:      1<<53 + 1, // past float64's exact integers
		Event: &herald.Event{
			ThreadID: "t_a", Seq: 1<<53 + 1, Type: herald.EventParticipantsAdded, MessageID: "m_1",
			Actor: "u_a", At: ms(1), Users: []herald.UserID{"u_b", "u_c"},
			Data: json.RawMessage(`{"topic":"<b>café & ✓</b>","n":[1,2.5,-3e-7],"deep":{"x":null,"y":true}}`),
		},
		Message: &herald.Message{
			ID: "m_1", ThreadID: "t_a", Seq: 7, Type: herald.MessageHTML, SenderID: "u_a",
			SenderDisplayName: "Ann \"the\" <admin>", Content: "<p>héllo\n\t✓</p>",
			Metadata: map[string]string{"k": "v", "empty": ""}, Topic: "a topic",
			Participants: []herald.UserID{"u_b"}, CreatedAt: ms(2), EditedAt: ms(3), DeletedAt: ms(4),
			Version: 3, ClientMessageID: "c_1", BodyHash: "sha256:abc",
		},
		Thread: &herald.Thread{
			ID: "t_a", Topic: "topic", Metadata: map[string]string{"kind": "test"}, CreatedBy: "u_a",
			CreatedAt: ms(5), UpdatedAt: ms(6), DeletedAt: ms(7), DeletedBy: "u_b", LastSeq: 9,
			LastMessageAt: ms(8),
		},
		Recipients:  []herald.UserID{"u_a", "u_b", "u_c"},
		Sender:      "u_a",
		DisplayName: "Ann",
		MessageID:   "m_1",
		At:          ms(9),
		Committed:   ms(10),
		User:        "u_d",
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
}

// wantAllSet fails the test for every field of the struct v (following
// pointers) that is its zero value, so that a field added to herald.Signal or
// what it points to must be filled in fullSignal and so is checked.
func wantAllSet(tb testing.TB, path string, v reflect.Value) {
	tb.Helper()
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			tb.Errorf("%s is nil, want it set", path)
			return
		}
		v = v.Elem()
	}
	for i := range v.NumField() {
		f, name := v.Field(i), path+"."+v.Type().Field(i).Name
		switch {
		case f.IsZero():
			tb.Errorf("%s is zero in fullSignal, want it set so the round trip covers it", name)
		case f.Kind() == reflect.Pointer && f.Elem().Kind() == reflect.Struct:
			wantAllSet(tb, name, f)
		}
	}
}

func TestSignalRoundTrip(t *testing.T) {
	want := fullSignal()
	wantAllSet(t, "Signal", reflect.ValueOf(want))
	data, err := encode(want)
	if err != nil {
		t.Fatalf("encode: got error %v, want nil", err)
	}
	got, err := decode(data)
	if err != nil {
		t.Fatalf("decode(%s): got error %v, want nil", data, err)
	}
	// cmp compares times with Equal; everything else, Data's bytes
	// included, must come back as it went.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	for _, tm := range []time.Time{got.At, got.Event.At, got.Message.CreatedAt, got.Thread.LastMessageAt} {
		if tm.Location() != time.UTC {
			t.Errorf("decoded time %v: got location %v, want UTC", tm, tm.Location())
		}
	}
}

// TestSignalRoundTripEmpty checks that nil and empty things stay as they
// were: the zero signal, an event without Data (not the text "null"), and
// empty but non-nil lists and maps.
func TestSignalRoundTripEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    herald.Signal
	}{
		{"zero", herald.Signal{}},
		{"event without data", herald.Signal{Kind: herald.SignalEvent, Event: &herald.Event{ThreadID: "t_a", Seq: 1}}},
		{"empty lists and maps", herald.Signal{Kind: herald.SignalEvent, Recipients: []herald.UserID{},
			Event:   &herald.Event{Users: []herald.UserID{}, Data: json.RawMessage(`{}`)},
			Message: &herald.Message{Metadata: map[string]string{}, Participants: []herald.UserID{}},
			Thread:  &herald.Thread{Metadata: map[string]string{}}}},
		{"typing", herald.Signal{Kind: herald.SignalTyping, ThreadID: "t_a", Sender: "u_a", DisplayName: "Ann",
			At: time.UnixMilli(1).UTC(), Recipients: []herald.UserID{"u_b"}}},
	} {
		data, err := encode(tc.s)
		if err != nil {
			t.Fatalf("%s: encode: got error %v, want nil", tc.name, err)
		}
		got, err := decode(data)
		if err != nil {
			t.Fatalf("%s: decode(%s): got error %v, want nil", tc.name, data, err)
		}
		if diff := cmp.Diff(tc.s, got); diff != "" {
			t.Errorf("%s: round trip mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestSignalDataByValue: Data that is valid JSON but not compact comes back
// equal as JSON (encoding/json compacts it); Data that is not JSON cannot be
// published.
func TestSignalDataByValue(t *testing.T) {
	in := herald.Signal{Event: &herald.Event{Data: json.RawMessage("{ \"a\" : [1, 2],\n \"b\": \"<&>\" }")}}
	data, err := encode(in)
	if err != nil {
		t.Fatalf("encode: got error %v, want nil", err)
	}
	got, err := decode(data)
	if err != nil {
		t.Fatalf("decode: got error %v, want nil", err)
	}
	if want := `{"a":[1,2],"b":"<&>"}`; string(got.Event.Data) != want {
		t.Errorf("Data after a round trip: got %s, want %s", got.Event.Data, want)
	}
	if _, err := encode(herald.Signal{Event: &herald.Event{Data: json.RawMessage(`{not json`)}}); err == nil {
		t.Error("encode with invalid Data: got nil error, want an error")
	}
}

// FuzzDecode: decode never panics, and what it accepts encodes and decodes
// to the same signal, but for the white space of Event.Data, which encode
// compacts (Data is carried by value); the second encoding is a fixed
// point.
func FuzzDecode(f *testing.F) {
	full, _ := encode(fullSignal())
	f.Add(full)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"Event":{"Data":null}}`))
	f.Add([]byte(`{"Seq":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decode(data)
		if err != nil {
			return
		}
		again, err := encode(s)
		if err != nil {
			return // Data that decode accepted but is not valid JSON on its own
		}
		s2, err := decode(again)
		if err != nil {
			t.Fatalf("decode(encode(decode(%q))): got error %v, want nil", data, err)
		}
		if diff := cmp.Diff(compacted(t, s), s2); diff != "" {
			t.Errorf("second round trip mismatch (-first +second):\n%s", diff)
		}
		if third, err := encode(s2); err != nil || !bytes.Equal(third, again) {
			t.Errorf("encode is not a fixed point: got %q (%v), want %q", third, err, again)
		}
	})
}

// compacted returns s with its Event's Data as encode writes it: compacted.
func compacted(t *testing.T, s herald.Signal) herald.Signal {
	if s.Event == nil || len(s.Event.Data) == 0 {
		return s
	}
	var b bytes.Buffer
	if err := json.Compact(&b, s.Event.Data); err != nil {
		t.Fatalf("compact Data that encode accepted: %v", err)
	}
	e := *s.Event
	e.Data = b.Bytes()
	s.Event = &e
	return s
}

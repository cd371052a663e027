package nats

import (
	"bytes"
	"encoding/json"

	"github.com/herald-chat/herald"
)

// wireSignal is the JSON form of a herald.Signal on the wire: the Signal's
// own field names (and those of the Event, Message and Thread it points to),
// with one change. An Event's Data is left out when empty, because
// encoding/json writes a nil json.RawMessage as null and reads null back as
// the four bytes "null", not nil; the shadowing fields below do that. A
// field added to herald.Signal, Event, Message or Thread travels without a
// change here (the round-trip test fails until it is filled in there).
type wireSignal struct {
	herald.Signal
	Event *wireEvent `json:",omitempty"` // shadows Signal.Event
}

type wireEvent struct {
	herald.Event
	Data json.RawMessage `json:",omitempty"` // shadows Event.Data
}

// encode returns s as JSON. Event.Data must be valid JSON (or empty); it is
// carried by value: encoding/json compacts its white space.
func encode(s herald.Signal) ([]byte, error) {
	w := wireSignal{Signal: s}
	if s.Event != nil {
		w.Event = &wireEvent{Event: *s.Event, Data: s.Event.Data}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <, > and & in texts and Data as they are
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decode reads a signal that encode wrote.
func decode(data []byte) (herald.Signal, error) {
	var w wireSignal
	if err := json.Unmarshal(data, &w); err != nil {
		return herald.Signal{}, err
	}
	s := w.Signal
	if w.Event != nil {
		e := w.Event.Event
		e.Data = w.Event.Data
		s.Event = &e
	}
	return s, nil
}

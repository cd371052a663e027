package hub

import (
	"encoding/json"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// eventName maps a signal to its ACS event name.
func eventName(s herald.Signal) string {
	switch s.Kind {
	case herald.SignalTyping:
		return string(herald.EventTypingIndicatorReceived)
	case herald.SignalReceipt:
		return string(herald.EventReadReceiptReceived)
	}
	return string(s.Event.Type)
}

// signalFrame encodes a signal as an event frame. It is called once per
// signal, not per recipient.
func signalFrame(s herald.Signal) ([]byte, error) {
	d := wire.EventData{At: s.At}
	switch s.Kind {
	case herald.SignalTyping:
		id := wire.Identifier(string(s.Sender))
		d.Actor, d.SenderDisplayName = &id, s.DisplayName
	case herald.SignalReceipt:
		id := wire.Identifier(string(s.Sender))
		d.Actor, d.ChatMessageID = &id, string(s.MessageID)
	case herald.SignalEvent:
		e := s.Event
		actor := wire.Identifier(string(e.Actor))
		d.Actor, d.At = &actor, e.At
		if s.Message != nil {
			m := wire.FromMessage(*s.Message)
			d.Message = &m
		}
		if s.Thread != nil {
			t := wire.FromThread(*s.Thread)
			d.Thread = &t
		}
		for _, u := range e.Users {
			d.Participants = append(d.Participants, wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(string(u))})
		}
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return json.Marshal(wire.ServerFrame{Type: wire.FrameEvent, ThreadID: string(s.ThreadID), Seq: int64(s.Seq), Event: eventName(s), Data: data})
}

// pingFrame is the heartbeat, encoded once.
var pingFrame = frame(wire.ServerFrame{Type: wire.FramePing})

// frame encodes a control frame.
func frame(f wire.ServerFrame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		panic("hub: encode frame: " + err.Error()) // only plain values are encoded
	}
	return b
}

// ends reports whether event s ends user's view of its thread.
func ends(s herald.Signal, user herald.UserID) bool {
	if s.Event == nil {
		return false
	}
	switch s.Event.Type {
	case herald.EventThreadDeleted:
		return true
	case herald.EventParticipantsRemoved:
		for _, u := range s.Event.Users {
			if u == user {
				return true
			}
		}
	}
	return false
}

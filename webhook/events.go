package webhook

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// The Event Grid event types of ACS chat, as Herald delivers them.
const (
	TypeMessageReceived         = "Microsoft.Communication.ChatMessageReceived"
	TypeMessageEdited           = "Microsoft.Communication.ChatMessageEdited"
	TypeMessageDeleted          = "Microsoft.Communication.ChatMessageDeleted"
	TypeThreadCreatedWithUser   = "Microsoft.Communication.ChatThreadCreatedWithUser"
	TypeThreadWithUserDeleted   = "Microsoft.Communication.ChatThreadWithUserDeleted"
	TypeThreadPropertiesPerUser = "Microsoft.Communication.ChatThreadPropertiesUpdatedPerUser"
	TypeParticipantAddedToUser  = "Microsoft.Communication.ChatParticipantAddedToThreadWithUser"
	TypeParticipantRemovedUser  = "Microsoft.Communication.ChatParticipantRemovedFromThreadWithUser"

	TypeThreadCreated            = "Microsoft.Communication.ChatThreadCreated"
	TypeThreadDeleted            = "Microsoft.Communication.ChatThreadDeleted"
	TypeThreadParticipantAdded   = "Microsoft.Communication.ChatThreadParticipantAdded"
	TypeThreadParticipantRemoved = "Microsoft.Communication.ChatThreadParticipantRemoved"
	TypeMessageReceivedInThread  = "Microsoft.Communication.ChatMessageReceivedInThread"
	TypeThreadPropertiesUpdated  = "Microsoft.Communication.ChatThreadPropertiesUpdated"
	TypeMessageEditedInThread    = "Microsoft.Communication.ChatMessageEditedInThread"
	TypeMessageDeletedInThread   = "Microsoft.Communication.ChatMessageDeletedInThread"
)

// kinds maps each Herald event to its thread-level and per-user types.
var kinds = map[herald.EventType][2]string{
	herald.EventMessageReceived:         {TypeMessageReceivedInThread, TypeMessageReceived},
	herald.EventMessageEdited:           {TypeMessageEditedInThread, TypeMessageEdited},
	herald.EventMessageDeleted:          {TypeMessageDeletedInThread, TypeMessageDeleted},
	herald.EventThreadCreated:           {TypeThreadCreated, TypeThreadCreatedWithUser},
	herald.EventThreadPropertiesUpdated: {TypeThreadPropertiesUpdated, TypeThreadPropertiesPerUser},
	herald.EventThreadDeleted:           {TypeThreadDeleted, TypeThreadWithUserDeleted},
	herald.EventParticipantsAdded:       {TypeThreadParticipantAdded, TypeParticipantAddedToUser},
	herald.EventParticipantsRemoved:     {TypeThreadParticipantRemoved, TypeParticipantRemovedUser},
}

// EventTypes returns every event type a subscription may ask for.
func EventTypes() []string {
	return []string{TypeMessageReceived, TypeMessageEdited, TypeMessageDeleted, TypeThreadCreatedWithUser,
		TypeThreadWithUserDeleted, TypeThreadPropertiesPerUser, TypeParticipantAddedToUser, TypeParticipantRemovedUser,
		TypeThreadCreated, TypeThreadDeleted, TypeThreadParticipantAdded, TypeThreadParticipantRemoved,
		TypeMessageReceivedInThread, TypeThreadPropertiesUpdated, TypeMessageEditedInThread, TypeMessageDeletedInThread}
}

// event is one event before its envelope: the fields both schemas carry.
type event struct {
	ID        string
	Type      string
	Subject   string
	Time      time.Time
	Recipient herald.UserID // empty for thread-level events
	Data      map[string]any
}

// gridEvent is the Event Grid schema.
type gridEvent struct {
	ID              string         `json:"id"`
	Topic           string         `json:"topic"`
	Subject         string         `json:"subject"`
	EventType       string         `json:"eventType"`
	EventTime       time.Time      `json:"eventTime"`
	Data            map[string]any `json:"data"`
	DataVersion     string         `json:"dataVersion"`
	MetadataVersion string         `json:"metadataVersion"`
}

// cloudEvent is CloudEvents 1.0 in its JSON format.
type cloudEvent struct {
	SpecVersion     string         `json:"specversion"`
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Type            string         `json:"type"`
	Subject         string         `json:"subject"`
	Time            time.Time      `json:"time"`
	DataContentType string         `json:"datacontenttype"`
	Data            map[string]any `json:"data"`
}

// encode returns the batch of events in schema, as delivered.
func encode(schema herald.WebhookSchema, topic string, evs []event) (json.RawMessage, error) {
	var docs []any
	for _, e := range evs {
		if schema == herald.SchemaCloudEvents {
			docs = append(docs, cloudEvent{SpecVersion: "1.0", ID: e.ID, Source: topic, Type: e.Type, Subject: e.Subject,
				Time: e.Time, DataContentType: "application/json", Data: e.Data})
		} else {
			docs = append(docs, gridEvent{ID: e.ID, Topic: topic, Subject: e.Subject, EventType: e.Type, EventTime: e.Time,
				Data: e.Data, DataVersion: "1.0", MetadataVersion: "1"})
		}
	}
	return json.Marshal(docs)
}

// eventID is the same for every attempt of an event, so that a receiver
// can drop a repeat: a UUID-shaped hash of what the event is about.
func eventID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)
	b[6] = b[6]&0x0f | 0x50 // shaped as a name-based UUID
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// names looks up participants' display names.
type names func(herald.UserID) string

// build returns the thread-level and per-user events of one committed
// thread event. A per-user event goes to each recipient but the actor, as
// in ACS.
func build(sig herald.Signal, name names) []event {
	e := sig.Event
	k, ok := kinds[e.Type]
	if !ok {
		return nil
	}
	id := func(u herald.UserID) wire.CommunicationIdentifier { return wire.Identifier(string(u)) }
	base := map[string]any{"threadId": string(e.ThreadID), "transactionId": eventID(string(e.ThreadID), strconv.FormatInt(int64(e.Seq), 10)),
		"sequenceId": strconv.FormatInt(int64(e.Seq), 10)}
	if sig.Thread != nil {
		base["createTime"] = sig.Thread.CreatedAt
		base["version"] = e.Seq
	}
	if m := sig.Message; m != nil {
		base["messageId"] = string(m.ID)
		base["senderCommunicationIdentifier"] = id(m.SenderID)
		base["senderDisplayName"] = m.SenderDisplayName
		base["composeTime"] = m.CreatedAt
		base["type"] = gridMessageType(m.Type)
		base["version"] = m.Version
		if len(m.Metadata) > 0 {
			base["metadata"] = m.Metadata
		}
		switch e.Type {
		case herald.EventMessageReceived:
			base["messageBody"] = m.Content
		case herald.EventMessageEdited:
			base["messageBody"], base["editTime"] = m.Content, e.At
		case herald.EventMessageDeleted:
			base["deleteTime"] = e.At
		}
	}
	participant := func(u herald.UserID) map[string]any {
		return map[string]any{"participantCommunicationIdentifier": id(u), "displayName": name(u)}
	}
	switch e.Type {
	case herald.EventThreadCreated:
		base["createdByCommunicationIdentifier"] = id(e.Actor)
		var ps []map[string]any
		for _, u := range sig.Recipients {
			ps = append(ps, participant(u))
		}
		base["participants"] = ps
	case herald.EventThreadPropertiesUpdated:
		base["editedByCommunicationIdentifier"], base["editTime"] = id(e.Actor), e.At
	case herald.EventThreadDeleted:
		base["deletedByCommunicationIdentifier"], base["deleteTime"] = id(e.Actor), e.At
	}
	if t := sig.Thread; t != nil && (e.Type == herald.EventThreadCreated || e.Type == herald.EventThreadPropertiesUpdated) {
		base["properties"] = map[string]any{"topic": t.Topic}
		if len(t.Metadata) > 0 {
			base["metadata"] = t.Metadata
		}
	}
	// One event per participant added or removed; one for anything else.
	subjects := []herald.UserID{""}
	if e.Type == herald.EventParticipantsAdded || e.Type == herald.EventParticipantsRemoved {
		subjects = e.Users
	}
	seq := strconv.FormatInt(int64(e.Seq), 10)
	var out []event
	for _, about := range subjects {
		data := clone(base)
		switch e.Type {
		case herald.EventParticipantsAdded:
			data["time"], data["addedByCommunicationIdentifier"], data["participantAdded"] = e.At, id(e.Actor), participant(about)
		case herald.EventParticipantsRemoved:
			data["time"], data["removedByCommunicationIdentifier"], data["participantRemoved"] = e.At, id(e.Actor), participant(about)
		}
		subject := "thread/" + string(e.ThreadID) + "/sender/" + string(e.Actor)
		out = append(out, event{ID: eventID(string(e.ThreadID), seq, k[0], string(about)), Type: k[0], Subject: subject,
			Time: e.At, Data: data})
		for _, r := range sig.Recipients {
			if r == e.Actor {
				continue
			}
			d := clone(data)
			d["recipientCommunicationIdentifier"] = id(r)
			out = append(out, event{ID: eventID(string(e.ThreadID), seq, k[1], string(about), string(r)), Type: k[1],
				Subject: subject + "/recipient/" + string(r), Time: e.At, Recipient: r, Data: d})
		}
	}
	return out
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+4)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// gridMessageType is a message type as Event Grid writes it.
func gridMessageType(t herald.MessageType) string {
	if t == herald.MessageHTML {
		return "RichText/Html"
	}
	return "Text"
}

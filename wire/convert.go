package wire

import (
	"strconv"
	"time"

	"github.com/herald-chat/herald"
)

// FromMessage converts a stored message to its wire form. Deleted messages
// keep their id, type, sequence and times; their content is gone.
func FromMessage(m herald.Message) ChatMessage {
	out := ChatMessage{ID: string(m.ID), Type: string(m.Type), SequenceID: seqString(m.Seq), Version: strconv.FormatInt(m.Version, 10),
		SenderDisplayName: m.SenderDisplayName, CreatedOn: m.CreatedAt, DeletedOn: Opt(m.DeletedAt), EditedOn: Opt(m.EditedAt), Metadata: m.Metadata}
	sender := Identifier(string(m.SenderID))
	switch {
	case m.Deleted():
	case m.Type == herald.MessageTopicUpdated:
		out.Content = &MessageContent{Topic: m.Topic, InitiatorCommunicationIdentifier: &sender}
	case m.Type == herald.MessageParticipantAdded || m.Type == herald.MessageParticipantRemoved:
		c := &MessageContent{InitiatorCommunicationIdentifier: &sender}
		for _, u := range m.Participants {
			c.Participants = append(c.Participants, ChatParticipant{CommunicationIdentifier: Identifier(string(u))})
		}
		out.Content = c
	default:
		out.Content = &MessageContent{Message: m.Content}
	}
	if !m.Type.System() {
		out.SenderCommunicationIdentifier = &sender
	}
	return out
}

// FromThread converts a thread to its properties.
func FromThread(t herald.Thread) ChatThreadProperties {
	return ChatThreadProperties{ID: string(t.ID), Topic: t.Topic, CreatedOn: t.CreatedAt,
		CreatedByCommunicationIdentifier: Identifier(string(t.CreatedBy)), DeletedOn: Opt(t.DeletedAt),
		Metadata: t.Metadata, SequenceID: seqString(t.LastSeq)}
}

// Opt returns nil for the zero time.
func Opt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func seqString(s herald.Seq) string { return strconv.FormatInt(int64(s), 10) }

package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-chat/herald"
)

// NewParticipant is a participant to add.
type NewParticipant struct {
	User             herald.UserID
	DisplayName      string
	ShareHistoryTime time.Time
	Metadata         map[string]string
}

// NewThread is a thread to create.
type NewThread struct {
	Topic        string
	Participants []NewParticipant
	Metadata     map[string]string
	// RequestID is the repeatability id: the same creator and id create the
	// thread once.
	RequestID string
	// Strict refuses the whole creation when a participant is refused
	// (a Herald addition; ACS creates the thread and lists the refused in
	// invalidParticipants).
	Strict bool
}

// Refused is a participant of a batch that was not added, and why.
type Refused struct {
	User herald.UserID
	Err  *herald.Error
}

// CreateThread creates a thread with the caller as its first participant,
// plus the listed participants that can be added (the others are returned
// as Refused). Requires scope chat.
func (s *Service) CreateThread(ctx context.Context, c Caller, in NewThread) (herald.Thread, []Refused, error) {
	if err := s.write(ctx, c); err != nil {
		return herald.Thread{}, nil, err
	}
	if err := require(c, "creating a thread", herald.ScopeChat); err != nil {
		return herald.Thread{}, nil, err
	}
	if err := s.checkTopic(in.Topic, true); err != nil {
		return herald.Thread{}, nil, err
	}
	if err := s.checkMetadata("metadata", in.Metadata); err != nil {
		return herald.Thread{}, nil, err
	}
	if err := s.checkBatch(in.Participants); err != nil {
		return herald.Thread{}, nil, err
	}
	reqHash := hash(in)
	if in.RequestID != "" {
		t, h, err := s.store.GetThreadByRequest(ctx, c.User, in.RequestID)
		if err == nil {
			return s.replayCreate(t, h, reqHash)
		}
		if !herald.IsNotFound(err) {
			return herald.Thread{}, nil, internal("find thread by request", err)
		}
	}
	now := s.clock.Now()
	t := herald.Thread{
		ID: herald.ThreadID(s.ids.New(herald.PrefixThread)), Topic: in.Topic, Metadata: in.Metadata,
		CreatedBy: c.User, CreatedAt: now, UpdatedAt: now,
	}
	var refused []Refused
	err := s.update(ctx, func(tx herald.Tx, b *batch) error {
		if err := tx.CreateThread(ctx, t, in.RequestID, reqHash); err != nil {
			if herald.IsConflict(err) {
				return herald.Errorf(herald.CodeConflict, herald.ReasonIdempotencyKeyReused, "a concurrent request used this repeatability-request-id")
			}
			return internal("create thread", err)
		}
		all := append([]NewParticipant{{User: c.User}}, in.Participants...)
		admitted, ref, err := s.screen(ctx, tx, t.ID, all)
		if err != nil {
			return err
		}
		refused = ref
		if in.Strict && len(ref) > 0 {
			return strictRefusal(ref)
		}
		// As in ACS, a new thread's history starts with two system
		// messages: participantAdded with everyone added at creation (the
		// creator included) at sequence 1, the creation itself, and
		// topicUpdated with the topic at sequence 2.
		t.LastSeq = 1
		seq, err := s.record(ctx, tx, b, change{event: herald.Event{ThreadID: t.ID, Type: herald.EventThreadCreated, Actor: c.User, At: now,
			Users: users(admitted), Data: mustJSON(map[string]string{"topic": t.Topic})}, thread: &t,
			create: &herald.Message{Type: herald.MessageParticipantAdded, Participants: users(admitted)}})
		if err != nil {
			return err
		}
		t.LastSeq = seq
		if err := s.put(ctx, tx, t.ID, c.User, admitted, seq, now); err != nil {
			return err
		}
		t.LastSeq++
		seq, err = s.record(ctx, tx, b, change{event: herald.Event{ThreadID: t.ID, Type: herald.EventThreadPropertiesUpdated, Actor: c.User, At: now,
			Data: mustJSON(map[string]any{"topic": t.Topic, "metadata": t.Metadata})}, thread: &t,
			create: &herald.Message{Type: herald.MessageTopicUpdated, Topic: t.Topic}})
		t.LastSeq = seq
		return err
	})
	if herald.IsConflict(err) && in.RequestID != "" {
		// A concurrent request with the same id won; answer as a retry.
		if t, h, gerr := s.store.GetThreadByRequest(ctx, c.User, in.RequestID); gerr == nil {
			return s.replayCreate(t, h, reqHash)
		}
	}
	if err != nil {
		return herald.Thread{}, nil, err
	}
	return t, refused, nil
}

func (s *Service) replayCreate(t herald.Thread, storedHash, reqHash string) (herald.Thread, []Refused, error) {
	if storedHash != reqHash {
		return herald.Thread{}, nil, herald.Errorf(herald.CodeConflict, herald.ReasonIdempotencyKeyReused,
			"repeatability-request-id was already used for a different thread request").WithTarget("repeatability-request-id")
	}
	return t, nil, nil
}

// GetThread returns a thread's properties to a current participant.
func (s *Service) GetThread(ctx context.Context, c Caller, id herald.ThreadID) (herald.Thread, error) {
	m, err := member(ctx, s.store, c, id)
	return m.thread, err
}

// ListThreads returns the threads the caller is or was in (deleted ones
// included, with DeletedAt set), most recently active first. A thread the
// caller was removed from shows only what they could see up to the
// removal: no topic or metadata (either may have changed since), and
// LastMessageAt of the last message visible to them.
func (s *Service) ListThreads(ctx context.Context, c Caller, f herald.ThreadFilter) ([]herald.Thread, error) {
	p, err := s.page(f.Page)
	if err != nil {
		return nil, err
	}
	f.Page = p
	ts, err := s.store.ListThreads(ctx, c.User, f)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		if ts[i], err = s.asSeenBy(ctx, c, ts[i]); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// asSeenBy returns t as the caller may see it in a list: unchanged for a
// current participant, reduced to what was visible up to the removal for
// a removed one.
func (s *Service) asSeenBy(ctx context.Context, c Caller, t herald.Thread) (herald.Thread, error) {
	p, err := s.store.GetParticipant(ctx, t.ID, c.User)
	if err != nil {
		return t, internal("list threads: get participant", err)
	}
	if !p.Removed() {
		return t, nil
	}
	m := membership{thread: t, member: p}
	last, err := s.store.ListMessages(ctx, t.ID, m.window(herald.MessageFilter{Limit: 1}))
	if err != nil {
		return t, internal("list threads: last visible message", err)
	}
	t.Topic, t.Metadata, t.LastMessageAt = "", nil, time.Time{}
	if len(last) == 1 {
		t.LastMessageAt = last[0].CreatedAt
	}
	return t, nil
}

// ThreadUpdate changes a thread's topic and/or metadata; nil leaves a
// field as it is.
type ThreadUpdate struct {
	Topic    *string
	Metadata map[string]string
}

// UpdateThread changes the topic or metadata. Requires scope chat. A topic
// change adds a topicUpdated system message.
func (s *Service) UpdateThread(ctx context.Context, c Caller, id herald.ThreadID, u ThreadUpdate) error {
	if err := s.write(ctx, c); err != nil {
		return err
	}
	if err := require(c, "updating a thread", herald.ScopeChat); err != nil {
		return err
	}
	if u.Topic != nil {
		if err := s.checkTopic(*u.Topic, true); err != nil {
			return err
		}
	}
	if err := s.checkMetadata("metadata", u.Metadata); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.update(ctx, func(tx herald.Tx, b *batch) error {
		m, err := member(ctx, tx, c, id)
		if err != nil {
			return err
		}
		t := m.thread
		var msg *herald.Message
		changed := false
		if u.Topic != nil && *u.Topic != t.Topic {
			t.Topic = *u.Topic
			msg = &herald.Message{Type: herald.MessageTopicUpdated, Topic: t.Topic}
			changed = true
		}
		if u.Metadata != nil && !maps.Equal(u.Metadata, t.Metadata) {
			t.Metadata = u.Metadata
			changed = true
		}
		if !changed {
			return nil // nothing to record
		}
		t.UpdatedAt = now
		if err := tx.UpdateThread(ctx, t); err != nil {
			return internal("update thread", err)
		}
		t.LastSeq++
		_, err = s.record(ctx, tx, b, change{event: herald.Event{ThreadID: id, Type: herald.EventThreadPropertiesUpdated, Actor: c.User, At: now,
			Data: mustJSON(map[string]any{"topic": t.Topic, "metadata": t.Metadata})}, create: msg, thread: &t})
		return err
	})
}

// DeleteThread deletes a thread. Requires scope chat and a current
// participant (as in ACS, not only the creator).
func (s *Service) DeleteThread(ctx context.Context, c Caller, id herald.ThreadID) error {
	if err := s.write(ctx, c); err != nil {
		return err
	}
	if err := require(c, "deleting a thread", herald.ScopeChat); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.update(ctx, func(tx herald.Tx, b *batch) error {
		m, err := member(ctx, tx, c, id)
		if err != nil {
			return err
		}
		t := m.thread
		t.DeletedAt, t.DeletedBy, t.UpdatedAt = now, c.User, now
		if err := tx.UpdateThread(ctx, t); err != nil {
			return internal("delete thread", err)
		}
		t.LastSeq++
		_, err = s.record(ctx, tx, b, change{event: herald.Event{ThreadID: id, Type: herald.EventThreadDeleted, Actor: c.User, At: now}, thread: &t})
		return err
	})
}

// change is one sequenced change to a thread.
type change struct {
	event  herald.Event
	head   herald.Head     // the caller's NextSeq of the event's thread in this transaction; zero: record calls it
	create *herald.Message // a message to store under the event's Seq
	about  *herald.Message // the message an edit or deletion concerns
	thread *herald.Thread  // the thread after a thread event
}

// record allocates the next Seq (unless c.head holds one allocated
// already), appends the event, stores c.create under the same Seq, and
// queues the signal that b publishes after the commit.
func (s *Service) record(ctx context.Context, tx herald.Tx, b *batch, c change) (herald.Seq, error) {
	e, head := c.event, c.head
	if head.Seq == 0 {
		var err error
		if head, err = tx.NextSeq(ctx, e.ThreadID, e.At, c.create != nil); err != nil {
			return 0, internal("allocate seq", err)
		}
	}
	e.Seq = head.Seq
	if msg := c.create; msg != nil {
		if msg.ID == "" {
			msg.ID = herald.MessageID(s.ids.New(herald.PrefixMessage))
		}
		msg.ThreadID, msg.Seq, msg.CreatedAt, msg.Version = e.ThreadID, e.Seq, e.At, 1
		if msg.SenderID == "" {
			msg.SenderID = e.Actor
		}
		if err := tx.CreateMessage(ctx, *msg); err != nil {
			return 0, internal("store message", err)
		}
		e.MessageID = msg.ID
	}
	if err := tx.AppendEvent(ctx, e); err != nil {
		return 0, internal("append event", err)
	}
	subject := c.create
	if subject == nil {
		subject = c.about
	}
	to, err := s.recipients(ctx, tx, b, e, head.Roster, subject)
	if err != nil {
		return 0, err
	}
	b.add(herald.Signal{Kind: herald.SignalEvent, ThreadID: e.ThreadID, Seq: e.Seq, Event: &e, Message: copyMessage(subject),
		Thread: c.thread, Recipients: to, At: e.At})
	return e.Seq, nil
}

// recipients returns who receives event e: the current participants and
// the users e adds or removes, less those who may not see msg (a message
// created before their shareHistoryTime). roster is what NextSeq returned
// for e in tx (see members).
func (s *Service) recipients(ctx context.Context, tx herald.Tx, b *batch, e herald.Event, roster int64, msg *herald.Message) ([]herald.UserID, error) {
	ps, err := s.members(ctx, tx, b, e.ThreadID, roster)
	if err != nil {
		return nil, internal("list recipients", err)
	}
	out := make([]herald.UserID, 0, len(ps)+len(e.Users))
	for _, p := range ps {
		if msg != nil && historyHides(p.ShareHistoryTime, *msg) {
			continue
		}
		out = append(out, p.UserID)
	}
	if len(e.Users) == 0 { // a send: the members are distinct already
		return out, nil
	}
	seen := make(map[herald.UserID]bool, len(out)+len(e.Users))
	for _, u := range out {
		seen[u] = true
	}
	for _, u := range e.Users {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out, nil
}

func copyMessage(m *herald.Message) *herald.Message {
	if m == nil {
		return nil
	}
	c := *m
	return &c
}

func (s *Service) checkTopic(topic string, required bool) error {
	if required && topic == "" {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField, "topic is required").WithTarget("topic")
	}
	if len(topic) > s.limits.MaxTopicBytes {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "topic is longer than %d bytes", s.limits.MaxTopicBytes).WithTarget("topic")
	}
	return nil
}

func (s *Service) checkMetadata(field string, md map[string]string) error {
	if md == nil {
		return nil
	}
	if n := len(mustJSON(md)); n > s.limits.MaxMetadataBytes {
		return herald.Errorf(herald.CodeTooLarge, herald.ReasonMetadataTooLarge,
			"%s is %d bytes as JSON; the limit is %d", field, n, s.limits.MaxMetadataBytes).WithTarget(field)
	}
	return nil
}

func (s *Service) checkName(field, name string) error {
	if len(name) > s.limits.MaxNameBytes || !utf8.ValidString(name) {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "%s is longer than %d bytes", field, s.limits.MaxNameBytes).WithTarget(field)
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(errors.New("mustJSON: " + err.Error()))
	}
	return b
}

// strictRefusal is the error of a strict creation that refused
// participants: nothing is created, and the message names each.
func strictRefusal(ref []Refused) error {
	parts := make([]string, len(ref))
	for i, r := range ref {
		parts[i] = fmt.Sprintf("%s (%s: %s)", r.User, r.Err.Reason, r.Err.Message)
	}
	return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField,
		"nothing was created: %d participant(s) cannot be added: %s", len(ref), strings.Join(parts, "; ")).WithTarget("participants")
}

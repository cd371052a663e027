package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/herald-chat/herald"
)

// NewMessage is a message to send.
type NewMessage struct {
	Content           string
	Type              herald.MessageType // text (default) or html
	SenderDisplayName string
	Metadata          map[string]string
	// ClientMessageID is the idempotency key: a retry with the same key and
	// body stores one message; the same key with another body is refused.
	ClientMessageID string
}

// errReplay carries an existing message out of a rolled-back transaction.
type errReplay struct{ msg herald.Message }

func (errReplay) Error() string { return "replay" }

// SendMessage commits a message and its chatMessageReceived event under the
// thread's next Seq, and returns only after the commit is durable. Sends
// are idempotent by ClientMessageID.
func (s *Service) SendMessage(ctx context.Context, c Caller, id herald.ThreadID, in NewMessage) (herald.Message, error) {
	if err := s.write(ctx, c); err != nil {
		return herald.Message{}, err
	}
	if in.Type == "" {
		in.Type = herald.MessageText
	}
	if in.Type != herald.MessageText && in.Type != herald.MessageHTML {
		return herald.Message{}, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "type must be text or html, not %q", in.Type).WithTarget("type")
	}
	if err := s.checkContent(in.Content); err != nil {
		return herald.Message{}, err
	}
	if err := s.checkName("senderDisplayName", in.SenderDisplayName); err != nil {
		return herald.Message{}, err
	}
	if err := s.checkMetadata("metadata", in.Metadata); err != nil {
		return herald.Message{}, err
	}
	if len(in.ClientMessageID) > 128 {
		return herald.Message{}, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "clientMessageId is longer than 128 bytes").WithTarget("clientMessageId")
	}
	now := s.clock.Now()
	msg := herald.Message{
		Type: in.Type, SenderID: c.User, SenderDisplayName: in.SenderDisplayName, Content: in.Content,
		Metadata: in.Metadata, ClientMessageID: in.ClientMessageID, BodyHash: hash(in),
	}
	err := s.update(ctx, func(tx herald.Tx, b *batch) error {
		b.send = true
		p, err := member(ctx, tx, c, id)
		if err != nil {
			return err
		}
		if in.SenderDisplayName == "" {
			msg.SenderDisplayName = p.member.DisplayName // the participant's name, unless the sender gave one
		}
		// NextSeq locks the thread, so two nodes cannot both miss the key.
		head, err := tx.NextSeq(ctx, id, now, true)
		if err != nil {
			return internal("allocate seq", err)
		}
		if in.ClientMessageID != "" {
			prev, err := tx.GetMessageByClientID(ctx, id, c.User, in.ClientMessageID)
			if err == nil {
				return errReplay{prev} // rolls back the allocated seq
			}
			if !herald.IsNotFound(err) {
				return internal("find message by client id", err)
			}
		}
		_, err = s.record(ctx, tx, b, change{event: herald.Event{ThreadID: id, Type: herald.EventMessageReceived, Actor: c.User, At: now}, head: head, create: &msg})
		return err
	})
	var replay errReplay
	if errors.As(err, &replay) {
		if replay.msg.BodyHash != msg.BodyHash {
			return herald.Message{}, herald.Errorf(herald.CodeConflict, herald.ReasonIdempotencyKeyReused,
				"the client message id %q was already used for a different message (%s)", in.ClientMessageID, replay.msg.ID).WithTarget("clientMessageId")
		}
		return replay.msg, nil
	}
	if err != nil {
		return herald.Message{}, err
	}
	return msg, nil
}

// GetMessage returns one message the caller may see.
func (s *Service) GetMessage(ctx context.Context, c Caller, id herald.ThreadID, mid herald.MessageID) (herald.Message, error) {
	m, err := reader(ctx, s.store, c, id)
	if err != nil {
		return herald.Message{}, err
	}
	msg, err := s.store.GetMessage(ctx, id, mid)
	if herald.IsNotFound(err) {
		return herald.Message{}, messageNotFound(mid)
	}
	if err != nil {
		return herald.Message{}, internal("get message", err)
	}
	if err := m.visible(msg); err != nil {
		return herald.Message{}, err
	}
	return msg, nil
}

// MessageQuery selects messages: newest first before a Seq, or, with
// Oldest, oldest first after Since (0: from the start), from StartTime.
type MessageQuery struct {
	Before    herald.Seq
	Oldest    bool
	Since     herald.Seq
	StartTime time.Time
	Limit     int
}

// ListMessages returns a page of the messages the caller may see: a removed
// participant sees history up to the removal, a participant added with a
// shareHistoryTime sees messages from that time.
func (s *Service) ListMessages(ctx context.Context, c Caller, id herald.ThreadID, q MessageQuery) ([]herald.Message, error) {
	n, err := s.pageSize(q.Limit)
	if err != nil {
		return nil, err
	}
	if q.Before < 0 || q.Since < 0 || (q.Before > 0 && q.Oldest) {
		return nil, herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidCursor, "before and since are positive sequence numbers, and only one may be given").WithTarget("since")
	}
	m, err := reader(ctx, s.store, c, id)
	if err != nil {
		return nil, err
	}
	f := m.window(herald.MessageFilter{Oldest: q.Oldest, After: q.Since, Before: q.Before, CreatedFrom: q.StartTime, Limit: n})
	if m.removed() && q.Oldest && q.Since >= m.member.RemovedSeq {
		return nil, nil // nothing after the removal is visible
	}
	return s.store.ListMessages(ctx, id, f)
}

// MessageUpdate edits a message; nil leaves a field as it is.
type MessageUpdate struct {
	Content  *string
	Metadata map[string]string
}

// EditMessage changes the caller's own message, bumps its version and
// appends chatMessageEdited.
func (s *Service) EditMessage(ctx context.Context, c Caller, id herald.ThreadID, mid herald.MessageID, u MessageUpdate) error {
	if err := s.write(ctx, c); err != nil {
		return err
	}
	if u.Content != nil {
		if err := s.checkContent(*u.Content); err != nil {
			return err
		}
	}
	if err := s.checkMetadata("metadata", u.Metadata); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.update(ctx, func(tx herald.Tx, b *batch) error {
		msg, err := s.own(ctx, tx, c, id, mid)
		if err != nil {
			return err
		}
		if msg.Deleted() {
			return herald.Errorf(herald.CodeNotFound, herald.ReasonMessageDeleted, "the message %s was deleted at %s", mid, stamp(msg.DeletedAt)).WithTarget(string(mid))
		}
		if u.Content == nil && u.Metadata == nil {
			return nil
		}
		if u.Content != nil {
			msg.Content = *u.Content
		}
		if u.Metadata != nil {
			msg.Metadata = u.Metadata
		}
		msg.EditedAt = now
		msg.Version++
		if err := tx.UpdateMessage(ctx, msg); err != nil {
			return internal("edit message", err)
		}
		_, err = s.record(ctx, tx, b, change{event: herald.Event{ThreadID: id, Type: herald.EventMessageEdited, MessageID: mid, Actor: c.User, At: now}, about: &msg})
		return err
	})
}

// DeleteMessage deletes the caller's own message (its content is erased),
// bumps its version and appends chatMessageDeleted. Deleting a deleted
// message changes nothing.
func (s *Service) DeleteMessage(ctx context.Context, c Caller, id herald.ThreadID, mid herald.MessageID) error {
	if err := s.write(ctx, c); err != nil {
		return err
	}
	now := s.clock.Now()
	return s.update(ctx, func(tx herald.Tx, b *batch) error {
		msg, err := s.own(ctx, tx, c, id, mid)
		if err != nil || msg.Deleted() {
			return err
		}
		msg.DeletedAt, msg.Content, msg.Metadata = now, "", nil
		msg.Version++
		if err := tx.UpdateMessage(ctx, msg); err != nil {
			return internal("delete message", err)
		}
		_, err = s.record(ctx, tx, b, change{event: herald.Event{ThreadID: id, Type: herald.EventMessageDeleted, MessageID: mid, Actor: c.User, At: now}, about: &msg})
		return err
	})
}

// own loads a message that the caller, a current participant, sent.
func (s *Service) own(ctx context.Context, tx herald.Tx, c Caller, id herald.ThreadID, mid herald.MessageID) (herald.Message, error) {
	m, err := member(ctx, tx, c, id)
	if err != nil {
		return herald.Message{}, err
	}
	msg, err := tx.GetMessage(ctx, id, mid)
	if herald.IsNotFound(err) {
		return msg, messageNotFound(mid)
	}
	if err != nil {
		return msg, internal("get message", err)
	}
	if err := m.visible(msg); err != nil {
		return msg, err
	}
	if msg.Type.System() {
		return msg, herald.Errorf(herald.CodeForbidden, herald.ReasonNotSystemMessage, "system messages cannot be edited or deleted").WithTarget(string(mid))
	}
	if msg.SenderID != c.User {
		return msg, herald.Errorf(herald.CodeForbidden, herald.ReasonNotSender, "only the sender can edit or delete message %s", mid).WithTarget(string(mid))
	}
	return msg, nil
}

// MarkRead records that the caller read up to message mid.
func (s *Service) MarkRead(ctx context.Context, c Caller, id herald.ThreadID, mid herald.MessageID) error {
	if err := s.write(ctx, c); err != nil {
		return err
	}
	if mid == "" {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField, "chatMessageId is required").WithTarget("chatMessageId")
	}
	now := s.clock.Now()
	return s.update(ctx, func(tx herald.Tx, b *batch) error {
		m, err := member(ctx, tx, c, id)
		if err != nil {
			return err
		}
		msg, err := tx.GetMessage(ctx, id, mid)
		if herald.IsNotFound(err) {
			return messageNotFound(mid)
		}
		if err != nil {
			return internal("get message", err)
		}
		if err := m.visible(msg); err != nil {
			return err
		}
		if newer, err := readPast(ctx, tx, id, c.User, msg.Seq); err != nil || newer {
			return err // a receipt never moves back: an older message changes nothing
		}
		if err := tx.PutReadReceipt(ctx, herald.ReadReceipt{ThreadID: id, UserID: c.User, MessageID: mid, ReadAt: now}); err != nil {
			return internal("store read receipt", err)
		}
		to, err := s.participantsOf(ctx, tx, id)
		if err != nil {
			return err
		}
		b.add(herald.Signal{Kind: herald.SignalReceipt, ThreadID: id, Sender: c.User, MessageID: mid, Recipients: to, At: now})
		return nil
	})
}

// ListReadReceipts returns each participant's newest receipt. Unlike ACS,
// receipts work in threads of any size. A receipt of a message the caller
// may not see (created before their shareHistoryTime) is left out: its id
// is not theirs to learn. scanned is how many receipts the page covered,
// shown or not, for the next page's skip.
func (s *Service) ListReadReceipts(ctx context.Context, c Caller, id herald.ThreadID, p herald.Page) (rs []herald.ReadReceipt, scanned int, err error) {
	p, err = s.page(p)
	if err != nil {
		return nil, 0, err
	}
	m, err := member(ctx, s.store, c, id)
	if err != nil {
		return nil, 0, err
	}
	all, err := s.store.ListReadReceipts(ctx, id, p)
	if err != nil || m.member.ShareHistoryTime.IsZero() {
		return all, len(all), err // the whole history is shared: every receipt is visible
	}
	seen := map[herald.MessageID]bool{} // visibility by message, for receipts of the same one
	for _, r := range all {
		ok, known := seen[r.MessageID]
		if !known {
			msg, err := s.store.GetMessage(ctx, id, r.MessageID)
			if err != nil && !herald.IsNotFound(err) {
				return nil, 0, internal("read receipt message", err)
			}
			ok = err == nil && m.visible(msg) == nil
			seen[r.MessageID] = ok
		}
		if ok {
			rs = append(rs, r)
		}
	}
	return rs, len(all), nil
}

// Typing checks that the caller may signal typing in the thread. Typing is
// not stored; the real-time layer carries it.
func (s *Service) Typing(ctx context.Context, c Caller, id herald.ThreadID, displayName string) error {
	if err := s.write(ctx, c); err != nil {
		return err
	}
	if err := s.checkName("senderDisplayName", displayName); err != nil {
		return err
	}
	if _, err := member(ctx, s.store, c, id); err != nil {
		return err
	}
	to, err := s.participantsOf(ctx, s.store, id)
	if err != nil {
		return err
	}
	s.publish(ctx, herald.Signal{Kind: herald.SignalTyping, ThreadID: id, Sender: c.User, DisplayName: displayName, Recipients: to, At: s.clock.Now()})
	return nil
}

func (s *Service) checkContent(content string) error {
	if strings.TrimSpace(content) == "" {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonEmptyMessage, "content must not be empty").WithTarget("content")
	}
	if len(content) > s.limits.MaxContentBytes {
		return herald.Errorf(herald.CodeTooLarge, herald.ReasonMessageTooLarge,
			"content is %d bytes; the limit is %d", len(content), s.limits.MaxContentBytes).WithTarget("content")
	}
	return nil
}

// readPast reports whether the user's receipt in the thread is already at
// or past seq.
func readPast(ctx context.Context, tx herald.Tx, id herald.ThreadID, user herald.UserID, seq herald.Seq) (bool, error) {
	rs, err := tx.ListReadReceipts(ctx, id, herald.Page{})
	if err != nil {
		return false, internal("list read receipts", err)
	}
	for _, r := range rs {
		if r.UserID != user {
			continue
		}
		prev, err := tx.GetMessage(ctx, id, r.MessageID)
		if err != nil {
			return false, internal("get read message", err)
		}
		return prev.Seq >= seq, nil
	}
	return false, nil
}

package service

import (
	"context"
	"time"

	"github.com/herald-chat/herald"
)

// AddParticipants adds users to a thread. Users who cannot be added (no
// such identity, deleted identity) are returned as Refused and the others
// are added; users already in the thread are left as they are. A batch
// that would exceed the limits is refused whole. Requires scope chat or
// chat.join.
func (s *Service) AddParticipants(ctx context.Context, c Caller, id herald.ThreadID, in []NewParticipant) ([]Refused, error) {
	if err := s.write(ctx, c); err != nil {
		return nil, err
	}
	if err := require(c, "adding participants", herald.ScopeChat, herald.ScopeChatJoin); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField, "participants must list at least one participant").WithTarget("participants")
	}
	if err := s.checkBatch(in); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var refused []Refused
	err := s.update(ctx, func(tx herald.Tx, b *batch) error {
		if _, err := member(ctx, tx, c, id); err != nil {
			return err
		}
		admitted, ref, err := s.screen(ctx, tx, id, in)
		if err != nil {
			return err
		}
		refused = ref
		if len(admitted) == 0 {
			return nil
		}
		seq, err := s.record(ctx, tx, b, change{event: herald.Event{ThreadID: id, Type: herald.EventParticipantsAdded, Actor: c.User, At: now, Users: users(admitted)},
			create: &herald.Message{Type: herald.MessageParticipantAdded, Participants: users(admitted)}})
		if err != nil {
			return err
		}
		return s.put(ctx, tx, id, c.User, admitted, seq, now)
	})
	return refused, err
}

// RemoveParticipant removes a user from a thread. The user keeps read
// access to history up to the removal. Requires scope chat or chat.join,
// except that anyone may remove themselves (leave).
func (s *Service) RemoveParticipant(ctx context.Context, c Caller, id herald.ThreadID, user herald.UserID) error {
	if err := s.write(ctx, c); err != nil {
		return err
	}
	if user != c.User {
		if err := require(c, "removing participants", herald.ScopeChat, herald.ScopeChatJoin); err != nil {
			return err
		}
	}
	now := s.clock.Now()
	return s.update(ctx, func(tx herald.Tx, b *batch) error {
		if _, err := member(ctx, tx, c, id); err != nil {
			return err
		}
		p, err := tx.GetParticipant(ctx, id, user)
		if herald.IsNotFound(err) || (err == nil && p.Removed()) {
			return herald.Errorf(herald.CodeNotFound, herald.ReasonParticipantNotFound, "%s is not a participant of the thread", user).WithTarget(string(user))
		}
		if err != nil {
			return internal("get participant", err)
		}
		seq, err := s.record(ctx, tx, b, change{event: herald.Event{ThreadID: id, Type: herald.EventParticipantsRemoved, Actor: c.User, At: now, Users: []herald.UserID{user}},
			create: &herald.Message{Type: herald.MessageParticipantRemoved, Participants: []herald.UserID{user}}})
		if err != nil {
			return err
		}
		p.RemovedAt, p.RemovedBy, p.RemovedSeq = now, c.User, seq
		if err := tx.PutParticipant(ctx, p); err != nil {
			return internal("remove participant", err)
		}
		return nil
	})
}

// ListParticipants returns the current participants to a current
// participant.
func (s *Service) ListParticipants(ctx context.Context, c Caller, id herald.ThreadID, p herald.Page) ([]herald.Participant, error) {
	p, err := s.page(p)
	if err != nil {
		return nil, err
	}
	if _, err := member(ctx, s.store, c, id); err != nil {
		return nil, err
	}
	return s.store.ListParticipants(ctx, id, p)
}

// checkBatch validates a batch of participants before any store access.
func (s *Service) checkBatch(in []NewParticipant) error {
	if len(in) > s.limits.MaxAddBatch {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonTooManyParticipants,
			"a request may add at most %d participants, not %d", s.limits.MaxAddBatch, len(in)).WithTarget("participants")
	}
	for _, p := range in {
		if p.User == "" {
			return herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField,
				"every participant needs communicationIdentifier.rawId or communicationUser.id").WithTarget("participants")
		}
		if err := s.checkName("displayName", p.DisplayName); err != nil {
			return err
		}
		if err := s.checkMetadata("participants.metadata", p.Metadata); err != nil {
			return err
		}
	}
	return nil
}

// screen decides which of in can join the thread: duplicates and current
// participants are skipped, unknown or deleted identities refused, and a
// batch that would take the thread past its limit is an error.
func (s *Service) screen(ctx context.Context, tx herald.Tx, id herald.ThreadID, in []NewParticipant) ([]NewParticipant, []Refused, error) {
	var admitted []NewParticipant
	var refused []Refused
	seen := map[herald.UserID]bool{}
	for _, p := range in {
		if seen[p.User] {
			continue
		}
		seen[p.User] = true
		ident, err := liveIdentity(ctx, tx, p.User)
		if err != nil {
			if e, ok := err.(*herald.Error); ok {
				refused = append(refused, Refused{User: p.User, Err: e})
				continue
			}
			return nil, nil, err
		}
		cur, err := tx.GetParticipant(ctx, id, p.User)
		if err == nil && !cur.Removed() {
			continue // already a participant: no change, as in ACS
		}
		if err != nil && !herald.IsNotFound(err) {
			return nil, nil, internal("get participant", err)
		}
		if p.DisplayName == "" {
			p.DisplayName = ident.DisplayName // the identity's name, unless the adder gave one
		}
		admitted = append(admitted, p)
	}
	count, err := tx.CountParticipants(ctx, id)
	if err != nil {
		return nil, nil, internal("count participants", err)
	}
	if count+len(admitted) > s.limits.MaxParticipants {
		return nil, nil, herald.Errorf(herald.CodeInvalid, herald.ReasonTooManyParticipants,
			"the thread has %d participants; adding %d would pass the limit of %d", count, len(admitted), s.limits.MaxParticipants).WithTarget("participants")
	}
	return admitted, refused, nil
}

// put stores the admitted participants as added by the event at seq.
func (s *Service) put(ctx context.Context, tx herald.Tx, id herald.ThreadID, by herald.UserID, in []NewParticipant, seq herald.Seq, now time.Time) error {
	for _, p := range in {
		err := tx.PutParticipant(ctx, herald.Participant{
			ThreadID: id, UserID: p.User, DisplayName: p.DisplayName, Metadata: p.Metadata,
			ShareHistoryTime: p.ShareHistoryTime, AddedAt: now, AddedBy: by, AddedSeq: seq,
		})
		if err != nil {
			return internal("add participant", err)
		}
	}
	return nil
}

func users(ps []NewParticipant) []herald.UserID {
	out := make([]herald.UserID, len(ps))
	for i, p := range ps {
		out[i] = p.User
	}
	return out
}

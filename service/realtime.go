package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/herald-chat/herald"
)

// Verify authenticates a bearer token for the real-time layer (the
// opening of a connection, or an in-band refresh) and returns the token's
// log entry. Errors are those of Authenticate.
func (s *Service) Verify(ctx context.Context, bearer string) (herald.Token, error) {
	c, err := s.Authenticate(ctx, bearer)
	if err != nil {
		return herald.Token{UserID: c.User, ID: c.Token.ID}, err
	}
	return c.Token, nil
}

// Recheck tells whether a token that was valid still is: not revoked, its
// identity not deleted. The real-time layer asks it when a credential
// signal arrives and periodically. Expiry is checked by the caller, which
// knows the token's exp.
func (s *Service) Recheck(ctx context.Context, tok herald.Token) error {
	id, err := s.store.GetIdentity(ctx, tok.UserID)
	if err != nil {
		return internal("recheck identity", err)
	}
	if id.Deleted() {
		return herald.Errorf(herald.CodeUnauthorized, herald.ReasonIdentityDeleted, "the identity %s was deleted at %s", id.ID, stamp(id.DeletedAt))
	}
	t, err := s.store.GetToken(ctx, tok.ID)
	if err != nil {
		return internal("recheck token", err)
	}
	if t.Revoked() {
		return herald.Errorf(herald.CodeUnauthorized, herald.ReasonTokenRevoked, "the access token was revoked at %s", stamp(t.RevokedAt))
	}
	return nil
}

// Positions returns where user stands in every thread they are or were in.
func (s *Service) Positions(ctx context.Context, user herald.UserID) ([]herald.Position, error) {
	const page = 500
	var out []herald.Position
	for skip := 0; ; skip += page {
		ms, err := s.store.ListMemberships(ctx, user, herald.Page{Skip: skip, Limit: page})
		if err != nil {
			return nil, internal("list memberships", err)
		}
		for _, m := range ms {
			out = append(out, position(m.Thread, m.Participant))
		}
		if len(ms) < page {
			return out, nil
		}
	}
}

// position is the visible window of thread t for participant p.
func position(t herald.Thread, p herald.Participant) herald.Position {
	pos := herald.Position{ThreadID: t.ID, Joined: p.AddedSeq, Head: t.LastSeq}
	if p.Removed() {
		pos.Head, pos.Ended = p.RemovedSeq, true
	} else if t.Deleted() {
		pos.Ended = true // the deletion is the thread's last event
	}
	return pos
}

// Replay returns up to limit events of the thread after Seq after, as user
// may see them: from the event that added them, up to their removal or the
// thread's deletion, without messages from before their shareHistoryTime.
// This is the resume and gap-fill path; it applies the same rules as the
// REST reads. A user who never was a participant gets thread_not_found.
func (s *Service) Replay(ctx context.Context, user herald.UserID, id herald.ThreadID, after herald.Seq, limit int) (herald.Catchup, error) {
	t, err := s.store.GetThread(ctx, id)
	if herald.IsNotFound(err) {
		return herald.Catchup{}, threadNotFound(id)
	}
	if err != nil {
		return herald.Catchup{}, internal("get thread", err)
	}
	p, err := s.store.GetParticipant(ctx, id, user)
	if herald.IsNotFound(err) {
		return herald.Catchup{}, threadNotFound(id)
	}
	if err != nil {
		return herald.Catchup{}, internal("get participant", err)
	}
	pos := position(t, p)
	out := herald.Catchup{Head: pos.Head, Ended: pos.Ended, Through: after}
	if after < pos.Joined-1 {
		after = pos.Joined - 1
		out.Through = after
	}
	if after >= pos.Head || limit <= 0 {
		return out, nil
	}
	events, err := s.store.ListEvents(ctx, id, after, limit)
	if err != nil {
		return herald.Catchup{}, internal("list events", err)
	}
	// The page's messages in one read, not one per event.
	var ids []herald.MessageID
	for _, e := range events {
		if e.MessageID != "" && e.Seq <= pos.Head {
			ids = append(ids, e.MessageID)
		}
	}
	found, err := s.store.GetMessages(ctx, id, ids)
	if err != nil {
		return herald.Catchup{}, internal("get messages", err)
	}
	messages := make(map[herald.MessageID]herald.Message, len(found))
	for _, m := range found {
		messages[m.ID] = m
	}
	for i := range events {
		e := events[i]
		if e.Seq > pos.Head {
			break
		}
		out.Through = e.Seq
		sig := herald.Signal{Kind: herald.SignalEvent, ThreadID: id, Seq: e.Seq, Event: &e, At: e.At, Recipients: []herald.UserID{user}}
		if e.MessageID != "" {
			m, ok := messages[e.MessageID]
			if !ok {
				return herald.Catchup{}, internal("get messages", fmt.Errorf("event %d of %s names message %s, which is missing", e.Seq, id, e.MessageID))
			}
			if historyHides(p.ShareHistoryTime, m) {
				continue // a message this user may not see
			}
			sig.Message = &m
		}
		if e.Type == herald.EventThreadCreated || e.Type == herald.EventThreadPropertiesUpdated || e.Type == herald.EventThreadDeleted {
			th := t
			th.LastSeq = e.Seq
			var d struct {
				Topic    *string           `json:"topic"`
				Metadata map[string]string `json:"metadata"`
			}
			if json.Unmarshal(e.Data, &d) == nil && d.Topic != nil {
				th.Topic, th.Metadata = *d.Topic, d.Metadata
			}
			if e.Type != herald.EventThreadDeleted {
				th.DeletedAt, th.DeletedBy = herald.Thread{}.DeletedAt, ""
			}
			sig.Thread = &th
		}
		out.Signals = append(out.Signals, sig)
	}
	return out, nil
}

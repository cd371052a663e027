package service

import (
	"context"
	"time"

	"github.com/herald-chat/herald"
)

// membership is what the caller may see of a thread.
type membership struct {
	thread herald.Thread
	member herald.Participant
}

// removed reports whether the caller was removed (and so reads history up
// to the removal only).
func (m membership) removed() bool { return m.member.Removed() }

// window returns the message filter bounds of the caller's visibility:
// from shareHistoryTime, up to the removal if removed.
func (m membership) window(f herald.MessageFilter) herald.MessageFilter {
	if sh := m.member.ShareHistoryTime; !sh.IsZero() && sh.After(f.CreatedFrom) {
		f.CreatedFrom = sh
	}
	if m.removed() && (f.UpTo == 0 || m.member.RemovedSeq < f.UpTo) {
		f.UpTo = m.member.RemovedSeq
	}
	return f
}

// visible reports whether the caller may read message msg, and if not why.
func (m membership) visible(msg herald.Message) error {
	if m.removed() && msg.Seq > m.member.RemovedSeq {
		return notParticipant(m)
	}
	if historyHides(m.member.ShareHistoryTime, msg) {
		return messageNotFound(msg.ID)
	}
	return nil
}

// historyHides reports whether a participant whose history starts at
// shareHistory may not see msg: the one rule the REST reads
// (membership.visible, window), the resume (Replay) and the live push
// (recipients) apply, pinned by TestVisibilityPathsAgree. A zero
// shareHistory shares everything.
func historyHides(shareHistory time.Time, msg herald.Message) bool {
	return !shareHistory.IsZero() && msg.CreatedAt.Before(shareHistory)
}

// reader loads a thread for a caller who wants to read its history. A
// caller who never was a participant gets thread_not_found, exactly as for
// a thread that does not exist; a deleted thread is thread_deleted.
func reader(ctx context.Context, r herald.Reader, c Caller, id herald.ThreadID) (membership, error) {
	t, err := r.GetThread(ctx, id)
	if herald.IsNotFound(err) {
		return membership{}, threadNotFound(id)
	}
	if err != nil {
		return membership{}, internal("get thread", err)
	}
	p, err := r.GetParticipant(ctx, id, c.User)
	if herald.IsNotFound(err) {
		return membership{}, threadNotFound(id)
	}
	if err != nil {
		return membership{}, internal("get participant", err)
	}
	if t.Deleted() {
		return membership{}, herald.Errorf(herald.CodeNotFound, herald.ReasonThreadDeleted,
			"the thread %s was deleted at %s", id, stamp(t.DeletedAt)).WithTarget(string(id))
	}
	return membership{thread: t, member: p}, nil
}

// member loads a thread for a caller who must be a current participant.
// Inside a transaction (r is a herald.Tx) it locks the thread first, so
// that a removal or deletion committed by another writer cannot slip in
// between this check and the commit.
func member(ctx context.Context, r herald.Reader, c Caller, id herald.ThreadID) (membership, error) {
	if tx, ok := r.(herald.Tx); ok {
		if _, err := tx.LockThread(ctx, id); herald.IsNotFound(err) {
			return membership{}, threadNotFound(id)
		} else if err != nil {
			return membership{}, internal("lock thread", err)
		}
	}
	m, err := reader(ctx, r, c, id)
	if err != nil {
		return m, err
	}
	if m.removed() {
		return m, notParticipant(m)
	}
	return m, nil
}

func notParticipant(m membership) error {
	return herald.Errorf(herald.CodeForbidden, herald.ReasonNotParticipant,
		"you were removed from the thread at %s (sequence %d); history after that is not visible and you cannot act in it",
		stamp(m.member.RemovedAt), m.member.RemovedSeq).WithTarget(string(m.thread.ID))
}

func threadNotFound(id herald.ThreadID) error {
	return herald.Errorf(herald.CodeNotFound, herald.ReasonThreadNotFound, "no thread %s", id).WithTarget(string(id))
}

func messageNotFound(id herald.MessageID) error {
	return herald.Errorf(herald.CodeNotFound, herald.ReasonMessageNotFound, "no message %s", id).WithTarget(string(id))
}

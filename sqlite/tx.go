package sqlite

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/herald-chat/herald"
)

// tx is a herald.Tx: the write methods, plus the Reader methods on the same
// transaction so they see its writes. It is valid only inside the function
// passed to Update.
type tx struct {
	queries // q is the *sql.Tx
}

var _ herald.Tx = (*tx)(nil)

// CreateIdentity stores id; ErrConflict if the identity exists.
func (t *tx) CreateIdentity(ctx context.Context, id herald.Identity) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO identities (id, created_at, deleted_at, last_token_at, display_name)
		VALUES (?, ?, ?, ?, ?)`,
		id.ID, millis(id.CreatedAt), millis(id.DeletedAt), millis(id.LastTokenIssuedAt), id.DisplayName)
	if err != nil {
		return classify(err, "create identity %s", id.ID)
	}
	return nil
}

// DeleteIdentity records that the identity was deleted at at. The first
// deletion's time is kept, as evidence; ErrNotFound if there is no identity.
func (t *tx) DeleteIdentity(ctx context.Context, id herald.UserID, at time.Time) error {
	res, err := t.q.ExecContext(ctx, `UPDATE identities
		SET deleted_at = CASE WHEN deleted_at = 0 THEN ? ELSE deleted_at END
		WHERE id = ?`, millis(at), id)
	return mustAffect(res, err, "delete identity %s", id)
}

// CreateToken logs the issued token and sets the identity's
// LastTokenIssuedAt to its IssuedAt. ErrNotFound if the identity does not
// exist, ErrConflict if the token id was logged before.
func (t *tx) CreateToken(ctx context.Context, tok herald.Token) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO tokens (id, user_id, scopes, issued_at, expires_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		tok.ID, tok.UserID, jsonArg(tok.Scopes), millis(tok.IssuedAt), millis(tok.ExpiresAt), millis(tok.RevokedAt))
	if err != nil {
		return classify(err, "create token %s of %s", tok.ID, tok.UserID)
	}
	res, err := t.q.ExecContext(ctx, `UPDATE identities SET last_token_at = ? WHERE id = ?`,
		millis(tok.IssuedAt), tok.UserID)
	return mustAffect(res, err, "create token %s: set last token time of %s", tok.ID, tok.UserID)
}

// RevokeTokens marks every unrevoked token of user revoked at at and returns
// how many it marked; tokens revoked before keep their time.
func (t *tx) RevokeTokens(ctx context.Context, user herald.UserID, at time.Time) (int, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE tokens SET revoked_at = ?
		WHERE user_id = ? AND revoked_at = 0`, millis(at), user)
	if err != nil {
		return 0, classify(err, "revoke tokens of %s", user)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, classify(err, "revoke tokens of %s", user)
	}
	return int(n), nil
}

// CreateThread stores a new thread with LastSeq 0, whatever th.LastSeq says:
// Seqs come only from NextSeq. A non-empty requestID records the creation
// for GetThreadByRequest; ErrConflict if th.ID exists or th.CreatedBy already
// made a thread with requestID.
func (t *tx) CreateThread(ctx context.Context, th herald.Thread, requestID, requestHash string) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO threads (id, topic, metadata, created_by, created_at,
		updated_at, deleted_at, deleted_by, last_seq, last_message_at, request_id, request_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
		th.ID, th.Topic, jsonArg(th.Metadata), th.CreatedBy, millis(th.CreatedAt),
		millis(th.UpdatedAt), millis(th.DeletedAt), th.DeletedBy, millis(th.LastMessageAt),
		requestID, requestHash)
	if err != nil {
		return classify(err, "create thread %s", th.ID)
	}
	return nil
}

// UpdateThread stores th's Topic, Metadata, UpdatedAt, DeletedAt and
// DeletedBy; ErrNotFound if the thread does not exist.
func (t *tx) UpdateThread(ctx context.Context, th herald.Thread) error {
	res, err := t.q.ExecContext(ctx, `UPDATE threads
		SET topic = ?, metadata = ?, updated_at = ?, deleted_at = ?, deleted_by = ?
		WHERE id = ?`,
		th.Topic, jsonArg(th.Metadata), millis(th.UpdatedAt), millis(th.DeletedAt), th.DeletedBy, th.ID)
	return mustAffect(res, err, "update thread %s", th.ID)
}

// NextSeq allocates the thread's next Seq and records at as its UpdatedAt
// (and LastMessageAt when message is true), and returns it with the
// thread's roster; ErrNotFound if the thread does not exist. The write lock
// the transaction took at BEGIN IMMEDIATE holds every other writer off
// until it ends.
func (t *tx) NextSeq(ctx context.Context, thread herald.ThreadID, at time.Time, message bool) (herald.Head, error) {
	var h herald.Head
	ms := millis(at)
	err := t.q.QueryRowContext(ctx, `UPDATE threads
		SET last_seq = last_seq + 1, updated_at = ?,
			last_message_at = CASE WHEN ? THEN ? ELSE last_message_at END
		WHERE id = ? RETURNING last_seq, roster`, ms, message, ms, thread).Scan(&h.Seq, &h.Roster)
	if err != nil {
		return herald.Head{}, classify(err, "next seq of %s", thread)
	}
	return h, nil
}

// AppendEvent stores e; ErrConflict if the thread already has e.Seq,
// ErrNotFound if the thread does not exist.
func (t *tx) AppendEvent(ctx context.Context, e herald.Event) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO events (thread_id, seq, type, message_id, actor, at, users, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ThreadID, e.Seq, e.Type, e.MessageID, e.Actor, millis(e.At), jsonArg(e.Users), rawArg(e.Data))
	if err != nil {
		return classify(err, "append event %d of %s", e.Seq, e.ThreadID)
	}
	return nil
}

// PutParticipant inserts or wholly replaces p's membership of its thread
// and gives the thread a new roster; ErrNotFound if the thread does not
// exist.
func (t *tx) PutParticipant(ctx context.Context, p herald.Participant) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO participants (thread_id, user_id, display_name,
		metadata, share_history_time, added_at, added_by, added_seq, removed_at, removed_by, removed_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (thread_id, user_id) DO UPDATE SET
			display_name = excluded.display_name, metadata = excluded.metadata,
			share_history_time = excluded.share_history_time,
			added_at = excluded.added_at, added_by = excluded.added_by, added_seq = excluded.added_seq,
			removed_at = excluded.removed_at, removed_by = excluded.removed_by,
			removed_seq = excluded.removed_seq`,
		p.ThreadID, p.UserID, p.DisplayName, jsonArg(p.Metadata), millis(p.ShareHistoryTime),
		millis(p.AddedAt), p.AddedBy, p.AddedSeq, millis(p.RemovedAt), p.RemovedBy, p.RemovedSeq)
	if err != nil {
		return classify(err, "put participant %s of %s", p.UserID, p.ThreadID)
	}
	_, err = t.q.ExecContext(ctx, `UPDATE threads SET roster = ? WHERE id = ?`, newRoster(), p.ThreadID)
	if err != nil {
		return classify(err, "roster of %s", p.ThreadID)
	}
	return nil
}

// newRoster returns a fresh roster version: random, non-zero, so that a
// value a rolled-back transaction wrote is never committed by another.
func newRoster() int64 { return rand.Int64N(math.MaxInt64) + 1 }

// CreateMessage stores m. ErrConflict if its id or (thread, Seq) exists or
// its sender already used its non-empty ClientMessageID in the thread;
// ErrNotFound if the thread does not exist.
func (t *tx) CreateMessage(ctx context.Context, m herald.Message) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO messages (id, thread_id, seq, type, sender_id,
		sender_display_name, content, metadata, topic, participants, created_at, edited_at,
		deleted_at, version, client_message_id, body_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.ThreadID, m.Seq, m.Type, m.SenderID, m.SenderDisplayName, m.Content,
		jsonArg(m.Metadata), m.Topic, jsonArg(m.Participants), millis(m.CreatedAt),
		millis(m.EditedAt), millis(m.DeletedAt), m.Version, m.ClientMessageID, m.BodyHash)
	if err != nil {
		return classify(err, "create message %s in %s", m.ID, m.ThreadID)
	}
	return nil
}

// UpdateMessage stores m's Content, Metadata, EditedAt, DeletedAt and
// Version; ErrNotFound if the thread has no message m.ID.
func (t *tx) UpdateMessage(ctx context.Context, m herald.Message) error {
	res, err := t.q.ExecContext(ctx, `UPDATE messages
		SET content = ?, metadata = ?, edited_at = ?, deleted_at = ?, version = ?
		WHERE id = ? AND thread_id = ?`,
		m.Content, jsonArg(m.Metadata), millis(m.EditedAt), millis(m.DeletedAt), m.Version,
		m.ID, m.ThreadID)
	return mustAffect(res, err, "update message %s in %s", m.ID, m.ThreadID)
}

// PutReadReceipt inserts or replaces the user's receipt in the thread;
// ErrNotFound if the thread does not exist.
func (t *tx) PutReadReceipt(ctx context.Context, r herald.ReadReceipt) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO read_receipts (thread_id, user_id, message_id, read_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (thread_id, user_id) DO UPDATE SET
			message_id = excluded.message_id, read_at = excluded.read_at`,
		r.ThreadID, r.UserID, r.MessageID, millis(r.ReadAt))
	if err != nil {
		return classify(err, "put read receipt of %s in %s", r.UserID, r.ThreadID)
	}
	return nil
}

// LockThread returns thread id. SQLite has one writer: the transaction
// (BEGIN IMMEDIATE) already excludes every other writer until it ends.
func (t *tx) LockThread(ctx context.Context, id herald.ThreadID) (herald.Thread, error) {
	return t.GetThread(ctx, id)
}

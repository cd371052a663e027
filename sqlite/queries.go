package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/herald-chat/herald"
)

// querier is what the read and write code needs of a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements herald.Reader on a querier: the read-only pool for the
// Store, the write transaction for a Tx (so it sees its own writes).
type queries struct {
	q querier
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// collect scans every row of a query into a slice; no rows give nil.
func collect[T any](rows *sql.Rows, err error, scan func(scanner, *T) error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// page returns the LIMIT and OFFSET of p; SQLite reads LIMIT -1 as no limit.
func page(p herald.Page) (limit, offset int) {
	limit, offset = p.Limit, p.Skip
	if limit <= 0 {
		limit = -1
	}
	return limit, max(offset, 0)
}

const identityColumns = `id, created_at, deleted_at, last_token_at, display_name`

func scanIdentity(s scanner, i *herald.Identity) error {
	return s.Scan(&i.ID, timeCol{&i.CreatedAt}, timeCol{&i.DeletedAt}, timeCol{&i.LastTokenIssuedAt}, &i.DisplayName)
}

// GetIdentity returns the identity id, deleted or not; ErrNotFound if none.
func (r queries) GetIdentity(ctx context.Context, id herald.UserID) (herald.Identity, error) {
	var i herald.Identity
	row := r.q.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE id = ?`, id)
	if err := scanIdentity(row, &i); err != nil {
		return herald.Identity{}, classify(err, "get identity %s", id)
	}
	return i, nil
}

const tokenColumns = `id, user_id, scopes, issued_at, expires_at, revoked_at`

func scanToken(s scanner, t *herald.Token) error {
	return s.Scan(&t.ID, &t.UserID, jsonCol[[]herald.Scope]{&t.Scopes},
		timeCol{&t.IssuedAt}, timeCol{&t.ExpiresAt}, timeCol{&t.RevokedAt})
}

// GetToken returns the issue-log entry of token id; ErrNotFound if none.
func (r queries) GetToken(ctx context.Context, id herald.TokenID) (herald.Token, error) {
	var t herald.Token
	row := r.q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id)
	if err := scanToken(row, &t); err != nil {
		return herald.Token{}, classify(err, "get token %s", id)
	}
	return t, nil
}

// ListTokens returns user's tokens, newest issued first (ties by id, descending).
func (r queries) ListTokens(ctx context.Context, user herald.UserID) ([]herald.Token, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens
		WHERE user_id = ? ORDER BY issued_at DESC, id DESC`, user)
	ts, err := collect(rows, err, scanToken)
	if err != nil {
		return nil, classify(err, "list tokens of %s", user)
	}
	return ts, nil
}

// threadColumns are read from the threads table aliased t.
const threadColumns = `t.id, t.topic, t.metadata, t.created_by, t.created_at, t.updated_at,
	t.deleted_at, t.deleted_by, t.last_seq, t.last_message_at`

func scanThread(s scanner, t *herald.Thread) error {
	return s.Scan(&t.ID, &t.Topic, jsonCol[map[string]string]{&t.Metadata}, &t.CreatedBy,
		timeCol{&t.CreatedAt}, timeCol{&t.UpdatedAt}, timeCol{&t.DeletedAt}, &t.DeletedBy,
		&t.LastSeq, timeCol{&t.LastMessageAt})
}

// GetThread returns thread id, deleted or not; ErrNotFound if none.
func (r queries) GetThread(ctx context.Context, id herald.ThreadID) (herald.Thread, error) {
	var t herald.Thread
	row := r.q.QueryRowContext(ctx, `SELECT `+threadColumns+` FROM threads t WHERE t.id = ?`, id)
	if err := scanThread(row, &t); err != nil {
		return herald.Thread{}, classify(err, "get thread %s", id)
	}
	return t, nil
}

// GetThreadByRequest returns the thread creator made with repeatability id
// requestID and that request's hash; ErrNotFound if none (always for an
// empty requestID).
func (r queries) GetThreadByRequest(ctx context.Context, creator herald.UserID, requestID string) (herald.Thread, string, error) {
	if requestID == "" {
		return herald.Thread{}, "", notFound("get thread of %s by empty request id", creator)
	}
	var t herald.Thread
	var hash string
	// "<> ''" lets SQLite use the partial index threads_request.
	row := r.q.QueryRowContext(ctx, `SELECT `+threadColumns+`, t.request_hash FROM threads t
		WHERE t.created_by = ? AND t.request_id = ? AND t.request_id <> ''`, creator, requestID)
	err := row.Scan(&t.ID, &t.Topic, jsonCol[map[string]string]{&t.Metadata}, &t.CreatedBy,
		timeCol{&t.CreatedAt}, timeCol{&t.UpdatedAt}, timeCol{&t.DeletedAt}, &t.DeletedBy,
		&t.LastSeq, timeCol{&t.LastMessageAt}, &hash)
	if err != nil {
		return herald.Thread{}, "", classify(err, "get thread of %s by request %s", creator, requestID)
	}
	return t, hash, nil
}

// ListThreads returns the threads user is or was a participant of, deleted
// ones included, by UpdatedAt descending then id descending.
func (r queries) ListThreads(ctx context.Context, user herald.UserID, f herald.ThreadFilter) ([]herald.Thread, error) {
	query := `SELECT ` + threadColumns + ` FROM threads t
		JOIN participants p ON p.thread_id = t.id
		WHERE p.user_id = ?`
	args := []any{user}
	if !f.UpdatedAfter.IsZero() {
		query += ` AND t.updated_at > ?`
		args = append(args, millis(f.UpdatedAfter))
	}
	limit, offset := page(f.Page)
	query += ` ORDER BY t.updated_at DESC, t.id DESC LIMIT ? OFFSET ?`
	args = append(args, limit, offset)
	rows, err := r.q.QueryContext(ctx, query, args...)
	ts, err := collect(rows, err, scanThread)
	if err != nil {
		return nil, classify(err, "list threads of %s", user)
	}
	return ts, nil
}

const participantColumns = `thread_id, user_id, display_name, metadata, share_history_time,
	added_at, added_by, added_seq, removed_at, removed_by, removed_seq`

func scanParticipant(s scanner, p *herald.Participant) error {
	return s.Scan(&p.ThreadID, &p.UserID, &p.DisplayName, jsonCol[map[string]string]{&p.Metadata},
		timeCol{&p.ShareHistoryTime}, timeCol{&p.AddedAt}, &p.AddedBy, &p.AddedSeq,
		timeCol{&p.RemovedAt}, &p.RemovedBy, &p.RemovedSeq)
}

// GetParticipant returns user's membership of thread, current or removed;
// ErrNotFound if the user was never a participant.
func (r queries) GetParticipant(ctx context.Context, thread herald.ThreadID, user herald.UserID) (herald.Participant, error) {
	var p herald.Participant
	row := r.q.QueryRowContext(ctx, `SELECT `+participantColumns+` FROM participants
		WHERE thread_id = ? AND user_id = ?`, thread, user)
	if err := scanParticipant(row, &p); err != nil {
		return herald.Participant{}, classify(err, "get participant %s of %s", user, thread)
	}
	return p, nil
}

// ListParticipants returns the thread's current participants by AddedSeq,
// then user id.
func (r queries) ListParticipants(ctx context.Context, thread herald.ThreadID, p herald.Page) ([]herald.Participant, error) {
	limit, offset := page(p)
	rows, err := r.q.QueryContext(ctx, `SELECT `+participantColumns+` FROM participants
		WHERE thread_id = ? AND removed_seq = 0
		ORDER BY added_seq, user_id LIMIT ? OFFSET ?`, thread, limit, offset)
	ps, err := collect(rows, err, scanParticipant)
	if err != nil {
		return nil, classify(err, "list participants of %s", thread)
	}
	return ps, nil
}

// ListMembers returns the thread's current participants' ids and
// shareHistoryTimes, by AddedSeq, then user id.
func (r queries) ListMembers(ctx context.Context, thread herald.ThreadID) ([]herald.Member, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT user_id, share_history_time FROM participants
		WHERE thread_id = ? AND removed_seq = 0 ORDER BY added_seq, user_id`, thread)
	ms, err := collect(rows, err, func(s scanner, m *herald.Member) error {
		return s.Scan(&m.UserID, timeCol{&m.ShareHistoryTime})
	})
	if err != nil {
		return nil, classify(err, "list members of %s", thread)
	}
	return ms, nil
}

// CountParticipants counts the thread's current participants.
func (r queries) CountParticipants(ctx context.Context, thread herald.ThreadID) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT count(*) FROM participants
		WHERE thread_id = ? AND removed_seq = 0`, thread).Scan(&n)
	if err != nil {
		return 0, classify(err, "count participants of %s", thread)
	}
	return n, nil
}

const messageColumns = `id, thread_id, seq, type, sender_id, sender_display_name, content, metadata,
	topic, participants, created_at, edited_at, deleted_at, version, client_message_id, body_hash`

func scanMessage(s scanner, m *herald.Message) error {
	return s.Scan(&m.ID, &m.ThreadID, &m.Seq, &m.Type, &m.SenderID, &m.SenderDisplayName,
		&m.Content, jsonCol[map[string]string]{&m.Metadata}, &m.Topic,
		jsonCol[[]herald.UserID]{&m.Participants}, timeCol{&m.CreatedAt}, timeCol{&m.EditedAt},
		timeCol{&m.DeletedAt}, &m.Version, &m.ClientMessageID, &m.BodyHash)
}

// GetMessage returns message id of thread, deleted or not; ErrNotFound if
// the thread has no such message.
func (r queries) GetMessage(ctx context.Context, thread herald.ThreadID, id herald.MessageID) (herald.Message, error) {
	var m herald.Message
	row := r.q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE id = ? AND thread_id = ?`, id, thread)
	if err := scanMessage(row, &m); err != nil {
		return herald.Message{}, classify(err, "get message %s of %s", id, thread)
	}
	return m, nil
}

// GetMessages returns the thread's messages with the given ids, in one
// query (the ids travel as one JSON array).
func (r queries) GetMessages(ctx context.Context, thread herald.ThreadID, ids []herald.MessageID) ([]herald.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get messages of %s: %w", thread, err)
	}
	rows, err := r.q.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE thread_id = ? AND id IN (SELECT value FROM json_each(?))`, thread, string(list))
	ms, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, classify(err, "get %d messages of %s", len(ids), thread)
	}
	return ms, nil
}

// GetMessageByClientID returns the message sender sent to thread with
// idempotency key clientID; ErrNotFound if none (always for an empty key).
func (r queries) GetMessageByClientID(ctx context.Context, thread herald.ThreadID, sender herald.UserID, clientID string) (herald.Message, error) {
	if clientID == "" {
		return herald.Message{}, notFound("get message of %s in %s by empty client id", sender, thread)
	}
	var m herald.Message
	// "<> ''" lets SQLite use the partial index messages_client_id.
	row := r.q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE thread_id = ? AND sender_id = ? AND client_message_id = ? AND client_message_id <> ''`,
		thread, sender, clientID)
	if err := scanMessage(row, &m); err != nil {
		return herald.Message{}, classify(err, "get message of %s in %s by client id %s", sender, thread, clientID)
	}
	return m, nil
}

// ListMessages returns the thread's messages in the window f describes,
// oldest first if f.Oldest, newest first otherwise, at most f.Limit of them.
// A Limit that is not positive is an error.
func (r queries) ListMessages(ctx context.Context, thread herald.ThreadID, f herald.MessageFilter) ([]herald.Message, error) {
	if f.Limit <= 0 {
		return nil, fmt.Errorf("sqlite: list messages of %s: limit %d, want > 0", thread, f.Limit)
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + messageColumns + ` FROM messages WHERE thread_id = ?`)
	args := []any{thread}
	if f.After > 0 {
		b.WriteString(` AND seq > ?`)
		args = append(args, f.After)
	}
	if f.Before > 0 {
		b.WriteString(` AND seq < ?`)
		args = append(args, f.Before)
	}
	if f.UpTo > 0 {
		b.WriteString(` AND seq <= ?`)
		args = append(args, f.UpTo)
	}
	if !f.CreatedFrom.IsZero() {
		b.WriteString(` AND created_at >= ?`)
		args = append(args, millis(f.CreatedFrom))
	}
	if f.Oldest {
		b.WriteString(` ORDER BY seq ASC`)
	} else {
		b.WriteString(` ORDER BY seq DESC`)
	}
	b.WriteString(` LIMIT ?`)
	args = append(args, f.Limit)
	rows, err := r.q.QueryContext(ctx, b.String(), args...)
	ms, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, classify(err, "list messages of %s", thread)
	}
	return ms, nil
}

const eventColumns = `thread_id, seq, type, message_id, actor, at, users, data`

func scanEvent(s scanner, e *herald.Event) error {
	return s.Scan(&e.ThreadID, &e.Seq, &e.Type, &e.MessageID, &e.Actor, timeCol{&e.At},
		jsonCol[[]herald.UserID]{&e.Users}, rawCol{&e.Data})
}

// ListEvents returns the thread's events with Seq > after in Seq order, at
// most limit of them. A limit that is not positive is an error.
func (r queries) ListEvents(ctx context.Context, thread herald.ThreadID, after herald.Seq, limit int) ([]herald.Event, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlite: list events of %s: limit %d, want > 0", thread, limit)
	}
	rows, err := r.q.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
		WHERE thread_id = ? AND seq > ? ORDER BY seq LIMIT ?`, thread, after, limit)
	es, err := collect(rows, err, scanEvent)
	if err != nil {
		return nil, classify(err, "list events of %s after %d", thread, after)
	}
	return es, nil
}

func scanReceipt(s scanner, r *herald.ReadReceipt) error {
	return s.Scan(&r.ThreadID, &r.UserID, &r.MessageID, timeCol{&r.ReadAt})
}

// ListReadReceipts returns each user's receipt in the thread (one per user),
// most recently read first, then by user id.
func (r queries) ListReadReceipts(ctx context.Context, thread herald.ThreadID, p herald.Page) ([]herald.ReadReceipt, error) {
	limit, offset := page(p)
	rows, err := r.q.QueryContext(ctx, `SELECT thread_id, user_id, message_id, read_at
		FROM read_receipts WHERE thread_id = ?
		ORDER BY read_at DESC, user_id LIMIT ? OFFSET ?`, thread, limit, offset)
	rs, err := collect(rows, err, scanReceipt)
	if err != nil {
		return nil, classify(err, "list read receipts of %s", thread)
	}
	return rs, nil
}

// defaultRequestLimit caps ListRequests when the filter sets no Limit.
const defaultRequestLimit = 100

func scanRequest(s scanner, r *herald.Request) error {
	var us int64
	err := s.Scan(&r.ID, timeCol{&r.At}, &r.RequestID, &r.Caller, &r.TokenID, &r.Operation,
		&r.ThreadID, &r.MessageID, &r.Status, &r.Reason, &us)
	r.Duration = time.Duration(us) * time.Microsecond
	return err
}

// ListRequests returns request-log rows matching f, most recently logged
// first. Each non-empty field of f filters: Since is inclusive, Until
// exclusive. A Limit that is not positive means 100.
func (r queries) ListRequests(ctx context.Context, f herald.RequestFilter) ([]herald.Request, error) {
	var b strings.Builder
	b.WriteString(`SELECT id, at, request_id, caller, token_id, operation, thread_id, message_id,
		status, reason, duration_us FROM requests WHERE 1 = 1`)
	var args []any
	if f.Caller != "" {
		b.WriteString(` AND caller = ?`)
		args = append(args, f.Caller)
	}
	if f.Thread != "" {
		b.WriteString(` AND thread_id = ?`)
		args = append(args, f.Thread)
	}
	if !f.Since.IsZero() {
		b.WriteString(` AND at >= ?`)
		args = append(args, millis(f.Since))
	}
	if !f.Until.IsZero() {
		b.WriteString(` AND at < ?`)
		args = append(args, millis(f.Until))
	}
	if f.Operation != "" {
		b.WriteString(` AND operation = ?`)
		args = append(args, f.Operation)
	}
	if f.Reason != "" {
		b.WriteString(` AND reason = ?`)
		args = append(args, f.Reason)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultRequestLimit
	}
	b.WriteString(` ORDER BY id DESC LIMIT ?`)
	args = append(args, limit)
	rows, err := r.q.QueryContext(ctx, b.String(), args...)
	rs, err := collect(rows, err, scanRequest)
	if err != nil {
		return nil, classify(err, "list requests")
	}
	return rs, nil
}

// memberColumns are participantColumns read from the participants table
// aliased p.
var memberColumns = "p." + strings.ReplaceAll(strings.Join(strings.Fields(participantColumns), " "), ", ", ", p.")

// fields collects the scan targets a scan function passes, so that two of
// them can read one row.
type fields []any

func (f *fields) Scan(dest ...any) error { *f = append(*f, dest...); return nil }

func scanMembership(s scanner, m *herald.Membership) error {
	var f fields
	scanThread(&f, &m.Thread)
	scanParticipant(&f, &m.Participant)
	return s.Scan(f...)
}

// ListMemberships returns the threads user is or was in with user's
// membership of each, in ListThreads order, in one query.
func (r queries) ListMemberships(ctx context.Context, user herald.UserID, pg herald.Page) ([]herald.Membership, error) {
	limit, offset := page(pg)
	rows, err := r.q.QueryContext(ctx, `SELECT `+threadColumns+`, `+memberColumns+` FROM threads t
		JOIN participants p ON p.thread_id = t.id
		WHERE p.user_id = ? ORDER BY t.updated_at DESC, t.id DESC LIMIT ? OFFSET ?`, user, limit, offset)
	ms, err := collect(rows, err, scanMembership)
	if err != nil {
		return nil, classify(err, "list memberships of %s", user)
	}
	return ms, nil
}

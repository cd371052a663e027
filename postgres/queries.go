package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/herald-chat/herald"
)

// querier is what the read and write code needs of a *pgxpool.Pool or a
// pgx.Tx.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queries implements herald.Reader on a querier: the pool for the Store, the
// write transaction for a Tx (so it sees its own writes).
type queries struct {
	q querier
}

// collect scans every row of a query into a slice; no rows give nil.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row, *T) error) ([]T, error) {
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

// params collects the arguments of a query built piece by piece.
type params []any

// add appends v and returns its placeholder ($1, $2, ...).
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// page returns the LIMIT and OFFSET arguments of p. PostgreSQL reads LIMIT
// NULL as no limit (it refuses a negative one).
func page(p herald.Page) (limit any, offset int) {
	if p.Limit > 0 {
		limit = p.Limit
	}
	return limit, max(p.Skip, 0)
}

const identityColumns = `id, created_at, deleted_at, last_token_at, display_name`

func scanIdentity(s pgx.Row, i *herald.Identity) error {
	return s.Scan(&i.ID, timeCol{&i.CreatedAt}, timeCol{&i.DeletedAt}, timeCol{&i.LastTokenIssuedAt}, &i.DisplayName)
}

// GetIdentity returns the identity id, deleted or not; ErrNotFound if none.
func (r queries) GetIdentity(ctx context.Context, id herald.UserID) (herald.Identity, error) {
	var i herald.Identity
	row := r.q.QueryRow(ctx, `SELECT `+identityColumns+` FROM identities WHERE id = $1`, id)
	if err := scanIdentity(row, &i); err != nil {
		return herald.Identity{}, classify(err, "get identity %s", id)
	}
	return i, nil
}

const tokenColumns = `id, user_id, scopes, issued_at, expires_at, revoked_at`

func scanToken(s pgx.Row, t *herald.Token) error {
	return s.Scan(&t.ID, &t.UserID, &t.Scopes, timeCol{&t.IssuedAt}, timeCol{&t.ExpiresAt}, timeCol{&t.RevokedAt})
}

// GetToken returns the issue-log entry of token id; ErrNotFound if none.
func (r queries) GetToken(ctx context.Context, id herald.TokenID) (herald.Token, error) {
	var t herald.Token
	row := r.q.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`, id)
	if err := scanToken(row, &t); err != nil {
		return herald.Token{}, classify(err, "get token %s", id)
	}
	return t, nil
}

// ListTokens returns user's tokens, newest issued first (ties by id, descending).
func (r queries) ListTokens(ctx context.Context, user herald.UserID) ([]herald.Token, error) {
	rows, err := r.q.Query(ctx, `SELECT `+tokenColumns+` FROM tokens
		WHERE user_id = $1 ORDER BY issued_at DESC, id DESC`, user)
	ts, err := collect(rows, err, scanToken)
	if err != nil {
		return nil, classify(err, "list tokens of %s", user)
	}
	return ts, nil
}

// threadColumns are read from the threads table aliased t.
const threadColumns = `t.id, t.topic, t.metadata, t.created_by, t.created_at, t.updated_at,
	t.deleted_at, t.deleted_by, t.last_seq, t.last_message_at`

// threadFields are the scan targets of threadColumns.
func threadFields(t *herald.Thread) []any {
	return []any{&t.ID, &t.Topic, &t.Metadata, &t.CreatedBy, timeCol{&t.CreatedAt},
		timeCol{&t.UpdatedAt}, timeCol{&t.DeletedAt}, &t.DeletedBy, &t.LastSeq, timeCol{&t.LastMessageAt}}
}

func scanThread(s pgx.Row, t *herald.Thread) error { return s.Scan(threadFields(t)...) }

// GetThread returns thread id, deleted or not; ErrNotFound if none.
func (r queries) GetThread(ctx context.Context, id herald.ThreadID) (herald.Thread, error) {
	var t herald.Thread
	row := r.q.QueryRow(ctx, `SELECT `+threadColumns+` FROM threads t WHERE t.id = $1`, id)
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
	// "<> ''" lets PostgreSQL use the partial index threads_request.
	row := r.q.QueryRow(ctx, `SELECT `+threadColumns+`, t.request_hash FROM threads t
		WHERE t.created_by = $1 AND t.request_id = $2 AND t.request_id <> ''`, creator, requestID)
	if err := row.Scan(append(threadFields(&t), &hash)...); err != nil {
		return herald.Thread{}, "", classify(err, "get thread of %s by request %s", creator, requestID)
	}
	return t, hash, nil
}

// ListThreads returns the threads user is or was a participant of, deleted
// ones included, by UpdatedAt descending then id descending.
func (r queries) ListThreads(ctx context.Context, user herald.UserID, f herald.ThreadFilter) ([]herald.Thread, error) {
	var p params
	var b strings.Builder
	b.WriteString(`SELECT ` + threadColumns + ` FROM threads t
		JOIN participants p ON p.thread_id = t.id
		WHERE p.user_id = ` + p.add(user))
	if !f.UpdatedAfter.IsZero() {
		b.WriteString(` AND t.updated_at > ` + p.add(millis(f.UpdatedAfter)))
	}
	limit, offset := page(f.Page)
	b.WriteString(` ORDER BY t.updated_at DESC, t.id DESC LIMIT ` + p.add(limit) + ` OFFSET ` + p.add(offset))
	rows, err := r.q.Query(ctx, b.String(), p...)
	ts, err := collect(rows, err, scanThread)
	if err != nil {
		return nil, classify(err, "list threads of %s", user)
	}
	return ts, nil
}

const participantColumns = `thread_id, user_id, display_name, metadata, share_history_time,
	added_at, added_by, added_seq, removed_at, removed_by, removed_seq`

func scanParticipant(s pgx.Row, p *herald.Participant) error {
	return s.Scan(&p.ThreadID, &p.UserID, &p.DisplayName, &p.Metadata, timeCol{&p.ShareHistoryTime},
		timeCol{&p.AddedAt}, &p.AddedBy, &p.AddedSeq, timeCol{&p.RemovedAt}, &p.RemovedBy, &p.RemovedSeq)
}

// GetParticipant returns user's membership of thread, current or removed;
// ErrNotFound if the user was never a participant.
func (r queries) GetParticipant(ctx context.Context, thread herald.ThreadID, user herald.UserID) (herald.Participant, error) {
	var p herald.Participant
	row := r.q.QueryRow(ctx, `SELECT `+participantColumns+` FROM participants
		WHERE thread_id = $1 AND user_id = $2`, thread, user)
	if err := scanParticipant(row, &p); err != nil {
		return herald.Participant{}, classify(err, "get participant %s of %s", user, thread)
	}
	return p, nil
}

// ListParticipants returns the thread's current participants by AddedSeq,
// then user id.
func (r queries) ListParticipants(ctx context.Context, thread herald.ThreadID, p herald.Page) ([]herald.Participant, error) {
	limit, offset := page(p)
	rows, err := r.q.Query(ctx, `SELECT `+participantColumns+` FROM participants
		WHERE thread_id = $1 AND removed_seq = 0
		ORDER BY added_seq, user_id LIMIT $2 OFFSET $3`, thread, limit, offset)
	ps, err := collect(rows, err, scanParticipant)
	if err != nil {
		return nil, classify(err, "list participants of %s", thread)
	}
	return ps, nil
}

// ListMembers returns the thread's current participants' ids and
// shareHistoryTimes, by AddedSeq, then user id.
func (r queries) ListMembers(ctx context.Context, thread herald.ThreadID) ([]herald.Member, error) {
	rows, err := r.q.Query(ctx, `SELECT user_id, share_history_time FROM participants
		WHERE thread_id = $1 AND removed_seq = 0 ORDER BY added_seq, user_id`, thread)
	ms, err := collect(rows, err, func(s pgx.Row, m *herald.Member) error {
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
	err := r.q.QueryRow(ctx, `SELECT count(*) FROM participants
		WHERE thread_id = $1 AND removed_seq = 0`, thread).Scan(&n)
	if err != nil {
		return 0, classify(err, "count participants of %s", thread)
	}
	return n, nil
}

const messageColumns = `id, thread_id, seq, type, sender_id, sender_display_name, content, metadata,
	topic, participants, created_at, edited_at, deleted_at, version, client_message_id, body_hash`

func scanMessage(s pgx.Row, m *herald.Message) error {
	return s.Scan(&m.ID, &m.ThreadID, &m.Seq, &m.Type, &m.SenderID, &m.SenderDisplayName,
		&m.Content, &m.Metadata, &m.Topic, &m.Participants, timeCol{&m.CreatedAt},
		timeCol{&m.EditedAt}, timeCol{&m.DeletedAt}, &m.Version, &m.ClientMessageID, &m.BodyHash)
}

// GetMessage returns message id of thread, deleted or not; ErrNotFound if
// the thread has no such message.
func (r queries) GetMessage(ctx context.Context, thread herald.ThreadID, id herald.MessageID) (herald.Message, error) {
	var m herald.Message
	row := r.q.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE id = $1 AND thread_id = $2`, id, thread)
	if err := scanMessage(row, &m); err != nil {
		return herald.Message{}, classify(err, "get message %s of %s", id, thread)
	}
	return m, nil
}

// GetMessages returns the thread's messages with the given ids, in one
// query.
func (r queries) GetMessages(ctx context.Context, thread herald.ThreadID, ids []herald.MessageID) ([]herald.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = string(id)
	}
	rows, err := r.q.Query(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE thread_id = $1 AND id = ANY($2)`, thread, strs)
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
	// "<> ''" lets PostgreSQL use the partial index messages_client_id.
	row := r.q.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE thread_id = $1 AND sender_id = $2 AND client_message_id = $3 AND client_message_id <> ''`,
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
		return nil, fmt.Errorf("postgres: list messages of %s: limit %d, want > 0", thread, f.Limit)
	}
	var p params
	var b strings.Builder
	b.WriteString(`SELECT ` + messageColumns + ` FROM messages WHERE thread_id = ` + p.add(thread))
	if f.After > 0 {
		b.WriteString(` AND seq > ` + p.add(f.After))
	}
	if f.Before > 0 {
		b.WriteString(` AND seq < ` + p.add(f.Before))
	}
	if f.UpTo > 0 {
		b.WriteString(` AND seq <= ` + p.add(f.UpTo))
	}
	if !f.CreatedFrom.IsZero() {
		b.WriteString(` AND created_at >= ` + p.add(millis(f.CreatedFrom)))
	}
	if f.Oldest {
		b.WriteString(` ORDER BY seq ASC`)
	} else {
		b.WriteString(` ORDER BY seq DESC`)
	}
	b.WriteString(` LIMIT ` + p.add(f.Limit))
	rows, err := r.q.Query(ctx, b.String(), p...)
	ms, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, classify(err, "list messages of %s", thread)
	}
	return ms, nil
}

const eventColumns = `thread_id, seq, type, message_id, actor, at, users, data`

func scanEvent(s pgx.Row, e *herald.Event) error {
	return s.Scan(&e.ThreadID, &e.Seq, &e.Type, &e.MessageID, &e.Actor, timeCol{&e.At}, &e.Users, rawCol{&e.Data})
}

// ListEvents returns the thread's events with Seq > after in Seq order, at
// most limit of them. A limit that is not positive is an error.
func (r queries) ListEvents(ctx context.Context, thread herald.ThreadID, after herald.Seq, limit int) ([]herald.Event, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("postgres: list events of %s: limit %d, want > 0", thread, limit)
	}
	rows, err := r.q.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE thread_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, thread, after, limit)
	es, err := collect(rows, err, scanEvent)
	if err != nil {
		return nil, classify(err, "list events of %s after %d", thread, after)
	}
	return es, nil
}

func scanReceipt(s pgx.Row, r *herald.ReadReceipt) error {
	return s.Scan(&r.ThreadID, &r.UserID, &r.MessageID, timeCol{&r.ReadAt})
}

// ListReadReceipts returns each user's receipt in the thread (one per user),
// most recently read first, then by user id.
func (r queries) ListReadReceipts(ctx context.Context, thread herald.ThreadID, p herald.Page) ([]herald.ReadReceipt, error) {
	limit, offset := page(p)
	rows, err := r.q.Query(ctx, `SELECT thread_id, user_id, message_id, read_at
		FROM read_receipts WHERE thread_id = $1
		ORDER BY read_at DESC, user_id LIMIT $2 OFFSET $3`, thread, limit, offset)
	rs, err := collect(rows, err, scanReceipt)
	if err != nil {
		return nil, classify(err, "list read receipts of %s", thread)
	}
	return rs, nil
}

// defaultRequestLimit caps ListRequests when the filter sets no Limit.
const defaultRequestLimit = 100

func scanRequest(s pgx.Row, r *herald.Request) error {
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
	var p params
	var b strings.Builder
	b.WriteString(`SELECT id, at, request_id, caller, token_id, operation, thread_id, message_id,
		status, reason, duration_us FROM requests WHERE true`)
	if f.Caller != "" {
		b.WriteString(` AND caller = ` + p.add(f.Caller))
	}
	if f.Thread != "" {
		b.WriteString(` AND thread_id = ` + p.add(f.Thread))
	}
	if !f.Since.IsZero() {
		b.WriteString(` AND at >= ` + p.add(millis(f.Since)))
	}
	if !f.Until.IsZero() {
		b.WriteString(` AND at < ` + p.add(millis(f.Until)))
	}
	if f.Operation != "" {
		b.WriteString(` AND operation = ` + p.add(f.Operation))
	}
	if f.Reason != "" {
		b.WriteString(` AND reason = ` + p.add(f.Reason))
	}
	b.WriteString(` ORDER BY id DESC LIMIT ` + p.add(limitOr(f.Limit, defaultRequestLimit)))
	rows, err := r.q.Query(ctx, b.String(), p...)
	rs, err := collect(rows, err, scanRequest)
	if err != nil {
		return nil, classify(err, "list requests")
	}
	return rs, nil
}

// limitOr returns limit, or def when limit is not positive.
func limitOr(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return limit
}

// memberColumns are participantColumns read from the participants table
// aliased p.
var memberColumns = "p." + strings.ReplaceAll(strings.Join(strings.Fields(participantColumns), " "), ", ", ", p.")

// fields collects the scan targets a scan function passes, so that two of
// them can read one row.
type fields []any

func (f *fields) Scan(dest ...any) error { *f = append(*f, dest...); return nil }

func scanMembership(s pgx.Row, m *herald.Membership) error {
	var f fields
	scanThread(&f, &m.Thread)
	scanParticipant(&f, &m.Participant)
	return s.Scan(f...)
}

// ListMemberships returns the threads user is or was in with user's
// membership of each, in ListThreads order, in one query.
func (r queries) ListMemberships(ctx context.Context, user herald.UserID, pg herald.Page) ([]herald.Membership, error) {
	limit, offset := page(pg)
	rows, err := r.q.Query(ctx, `SELECT `+threadColumns+`, `+memberColumns+` FROM threads t
		JOIN participants p ON p.thread_id = t.id
		WHERE p.user_id = $1 ORDER BY t.updated_at DESC, t.id DESC LIMIT $2 OFFSET $3`, user, limit, offset)
	ms, err := collect(rows, err, scanMembership)
	if err != nil {
		return nil, classify(err, "list memberships of %s", user)
	}
	return ms, nil
}

package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/herald-chat/herald"
)

// likePrefix escapes s for a LIKE pattern (ESCAPE '\') and appends %.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(strings.ToLower(s)) + "%"
}

// SearchPeople finds the people user shares or shared a thread with, by
// name prefix.
func (r queries) SearchPeople(ctx context.Context, user herald.UserID, prefix string, limit int) ([]herald.Person, error) {
	rows, err := r.q.Query(ctx, `SELECT user_id, min(name) FROM (
			SELECT o.user_id, CASE WHEN lower(o.display_name) LIKE $1 ESCAPE '\' THEN o.display_name ELSE i.display_name END AS name
			FROM participants me
			JOIN participants o ON o.thread_id = me.thread_id AND o.user_id <> me.user_id
			JOIN identities i ON i.id = o.user_id AND i.deleted_at = 0
			WHERE me.user_id = $2 AND (lower(o.display_name) LIKE $1 ESCAPE '\' OR lower(i.display_name) LIKE $1 ESCAPE '\')) AS found
		GROUP BY user_id ORDER BY min(name), user_id LIMIT $3`, likePrefix(prefix), user, limit)
	ps, err := collect(rows, err, func(s pgx.Row, p *herald.Person) error { return s.Scan(&p.ID, &p.DisplayName) })
	if err != nil {
		return nil, classify(err, "search people of %s", user)
	}
	return ps, nil
}

// ListIdentities returns the named, live identities whose name starts
// with prefix, by name.
func (r queries) ListIdentities(ctx context.Context, prefix string, limit int) ([]herald.Identity, error) {
	rows, err := r.q.Query(ctx, `SELECT `+identityColumns+` FROM identities WHERE deleted_at = 0 AND display_name <> ''
		AND lower(display_name) LIKE $1 ESCAPE '\' ORDER BY display_name, id LIMIT $2`, likePrefix(prefix), limit)
	is, err := collect(rows, err, func(s pgx.Row, i *herald.Identity) error { return scanIdentity(s, i) })
	if err != nil {
		return nil, classify(err, "list identities")
	}
	return is, nil
}

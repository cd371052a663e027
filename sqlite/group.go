package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/groupcommit"
)

// maxGroup bounds the Updates one transaction (and one fsync) carries.
const maxGroup = 128

// errClosed is returned by Update after Close.
var errClosed = fmt.Errorf("sqlite: the store is closed: %w", herald.ErrUnavailable)

// groupWriter runs Updates in groups until Close: it takes every Update
// queued when it starts a transaction (up to maxGroup), runs each in a
// savepoint of one BEGIN IMMEDIATE transaction, and commits once. The
// fsync of that commit — SQLite's cost of durability — is shared by the
// group, and no Update is answered before it. An Update whose fn fails or
// panics rolls back to its savepoint, so the others of its group are
// unaffected, exactly as if each had had its own transaction in the order
// they ran. This is the group commit of databases with a write-ahead log:
// concurrent sends wait for one fsync, not one each.
func (s *Store) groupWriter() {
	defer close(s.writerDone)
	for {
		group, ok := s.queue.Take(nil, maxGroup)
		if !ok {
			return
		}
		s.runGroup(group)
	}
}

// runGroup runs a group in one transaction and answers every job.
func (s *Store) runGroup(group []*groupcommit.Job) {
	sqlTx, err := s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		groupcommit.Fail(group, classify(err, "begin"))
		return
	}
	t := &tx{queries{q: newUncancelled(sqlTx)}}
	var ok []*groupcommit.Job
	for i, j := range group {
		if err := j.Ctx.Err(); err != nil {
			j.Answer(groupcommit.Result{Err: classify(err, "begin")})
			continue
		}
		if _, err := sqlTx.Exec(`SAVEPOINT g`); err != nil {
			s.abort(sqlTx, append(ok, group[i:]...), classify(err, "savepoint"))
			return
		}
		r := groupcommit.Run(j.Fn, t)
		if r.Err == nil && !r.Panicked {
			if _, err := sqlTx.Exec(`RELEASE g`); err != nil {
				s.abort(sqlTx, append(ok, group[i:]...), classify(err, "release savepoint"))
				return
			}
			ok = append(ok, j)
			continue
		}
		if _, err := sqlTx.Exec(`ROLLBACK TO g; RELEASE g`); err != nil {
			// The transaction is gone (SQLite rolls back whole transactions on
			// some I/O errors): nothing of the group is committed.
			j.Answer(r)
			s.abort(sqlTx, append(ok, group[i+1:]...), classify(err, "roll back to savepoint"))
			return
		}
		j.Answer(r)
	}
	if len(ok) == 0 {
		_ = sqlTx.Rollback() // nothing to keep; a failure leaves nothing committed either
		return
	}
	err = sqlTx.Commit()
	if err != nil {
		err = classify(err, "commit")
	}
	groupcommit.Fail(ok, err) // err is nil when the commit held
}

// abort rolls the group's transaction back and fails the jobs not yet
// answered with err.
func (s *Store) abort(sqlTx *sql.Tx, pending []*groupcommit.Job, err error) {
	_ = sqlTx.Rollback()
	groupcommit.Fail(pending, err)
}

// uncancelled runs a group's statements without the callers' contexts:
// SQLite interrupts a cancelled statement, and an interrupted write in an
// explicit transaction rolls back the whole transaction — every Update of
// the group, not only the cancelled one. A caller that gave up is answered
// all the same; its Update finishes or fails on its own.
//
// It also prepares each statement once per group (see prepared.go): the
// Updates of a group run the same few queries. Only statements that end
// within the call are reused (Exec, and QueryRow, whose Row every caller
// scans at once); a multi-row query may still be open when the same text
// runs again, and a compiled statement runs one query at a time, so Query
// is never reused.
type uncancelled struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // this transaction's; closed with it
}

func newUncancelled(tx *sql.Tx) uncancelled {
	return uncancelled{tx: tx, stmts: map[string]*sql.Stmt{}}
}

// stmt returns query prepared in the transaction, or nil to run it
// unprepared (preparing failed: running it reports the error).
func (u uncancelled) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := u.stmts[query]; ok {
		return st
	}
	st, err := u.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	u.stmts[query] = st
	return st
}

func (u uncancelled) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if st := u.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return u.tx.ExecContext(ctx, query, args...)
}

func (u uncancelled) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return u.tx.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (u uncancelled) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if st := u.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return u.tx.QueryRowContext(ctx, query, args...)
}

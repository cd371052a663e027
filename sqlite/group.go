package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/herald-chat/herald"
)

// maxGroup bounds the Updates one transaction (and one fsync) carries.
const maxGroup = 128

// errClosed is returned by Update after Close.
var errClosed = fmt.Errorf("sqlite: the store is closed: %w", herald.ErrUnavailable)

// job is one Update waiting for the group writer.
type job struct {
	ctx  context.Context
	fn   func(herald.Tx) error
	done chan result // buffered 1; answered once
}

// result is how a job ended: fn's error, the commit's, or fn's panic.
type result struct {
	err      error
	panicked bool
	panicVal any
}

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
		select {
		case j := <-s.jobs:
			group := []*job{j}
			for len(group) < maxGroup {
				select {
				case j := <-s.jobs:
					group = append(group, j)
					continue
				default:
				}
				break
			}
			s.runGroup(group)
		case <-s.stop:
			return
		}
	}
}

// runGroup runs a group in one transaction and answers every job.
func (s *Store) runGroup(group []*job) {
	s.waiting.Add(-int64(len(group)))
	sqlTx, err := s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		for _, j := range group {
			j.done <- result{err: classify(err, "begin")}
		}
		return
	}
	t := &tx{queries{q: uncancelled{sqlTx}}}
	var ok []*job
	for i, j := range group {
		if err := j.ctx.Err(); err != nil {
			j.done <- result{err: classify(err, "begin")}
			continue
		}
		if _, err := sqlTx.Exec(`SAVEPOINT g`); err != nil {
			s.abort(sqlTx, append(ok, group[i:]...), classify(err, "savepoint"))
			return
		}
		r := run(j.fn, t)
		if r.err == nil && !r.panicked {
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
			j.done <- r
			s.abort(sqlTx, append(ok, group[i+1:]...), classify(err, "roll back to savepoint"))
			return
		}
		j.done <- r
	}
	if len(ok) == 0 {
		_ = sqlTx.Rollback() // nothing to keep; a failure leaves nothing committed either
		return
	}
	err = sqlTx.Commit()
	if err != nil {
		err = classify(err, "commit")
	}
	for _, j := range ok {
		j.done <- result{err: err}
	}
}

// abort rolls the group's transaction back and fails the jobs not yet
// answered with err.
func (s *Store) abort(sqlTx *sql.Tx, pending []*job, err error) {
	_ = sqlTx.Rollback()
	for _, j := range pending {
		select {
		case j.done <- result{err: err}:
		default: // already answered
		}
	}
}

// run calls fn, turning a panic into a result.
func run(fn func(herald.Tx) error, t *tx) (r result) {
	defer func() {
		if v := recover(); v != nil {
			r = result{panicked: true, panicVal: v, err: errors.New("sqlite: update panicked")}
		}
	}()
	return result{err: fn(t)}
}

// uncancelled runs a group's statements without the callers' contexts:
// SQLite interrupts a cancelled statement, and an interrupted write in an
// explicit transaction rolls back the whole transaction — every Update of
// the group, not only the cancelled one. A caller that gave up is answered
// all the same; its Update finishes or fails on its own.
type uncancelled struct{ tx *sql.Tx }

func (u uncancelled) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return u.tx.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (u uncancelled) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return u.tx.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (u uncancelled) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return u.tx.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}

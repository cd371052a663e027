package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/groupcommit"
)

// Group commit on PostgreSQL.
//
// A send holds its thread's row lock from NextSeq to its commit, and the
// commit waits for the WAL flush: on its own, every send of a thread pays
// one flush in turn, whatever PostgreSQL's own grouping of concurrent
// flushes (sends of one thread are never concurrent). So Updates go to a
// few group writers; each takes every Update queued when it begins a
// transaction (up to maxGroup), runs each in a savepoint, and commits once:
// the sends of a busy thread share one lock hold and one flush.
//
// Deadlocks: a group holds the locks of its earlier Updates while a later
// one waits, so two groups (on two writers or two nodes) could wait for
// each other, and PostgreSQL would break that off only after
// deadlock_timeout (1 s by default). Every Update but the first of a group
// therefore runs with a short lock_timeout; one that would wait longer is
// rolled back to its savepoint and runs again first in its writer's next
// group, where it waits as long as it must while holding nothing else.
// The first Update of a group has taken no lock before it waits, so no
// wait for a lock lasts long while its transaction holds another.

const (
	// maxGroup bounds the Updates one transaction carries.
	maxGroup = 128
	// defaultWriters is how many groups run at once on one node.
	defaultWriters = 2
	// laterLockTimeout is the lock_timeout of every Update but the first
	// of a group.
	laterLockTimeout = "20ms"
)

// errClosed is returned by Update after Close.
var errClosed = fmt.Errorf("postgres: the store is closed: %w", herald.ErrUnavailable)

// groupWriter runs groups until Close. carried are Updates of its last
// group that gave up on a lock: they go first in the next one.
func (s *Store) groupWriter() {
	defer s.writers.Done()
	var carried []*groupcommit.Job
	for {
		group, ok := s.queue.Take(carried, maxGroup)
		if !ok {
			groupcommit.Fail(carried, errClosed)
			return
		}
		carried = s.runGroup(group)
	}
}

// runGroup runs a group in one transaction, answers every job that ran to
// an end, and returns those to run again (they gave up on a lock).
func (s *Store) runGroup(group []*groupcommit.Job) (again []*groupcommit.Job) {
	ctx := context.Background() // the callers' contexts do not cut the group's statements
	pt, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		groupcommit.Fail(group, classify(err, "begin"))
		return nil
	}
	t := &tx{queries{q: uncancelled{pt}}}
	var ok []*groupcommit.Job
	for i, j := range group {
		if err := j.Ctx.Err(); err != nil {
			j.Answer(groupcommit.Result{Err: classify(err, "begin")})
			continue
		}
		later := i > 0 // the group may hold locks already: do not wait long for another
		open := `SAVEPOINT g`
		if later {
			open = `SAVEPOINT g; SET LOCAL lock_timeout = '` + laterLockTimeout + `'`
		}
		if _, err := pt.Exec(ctx, open); err != nil {
			rollback(ctx, pt)
			groupcommit.Fail(append(ok, group[i:]...), classify(err, "savepoint"))
			return again
		}
		r := groupcommit.Run(j.Fn, t)
		if r.Err == nil && !r.Panicked {
			_, err := pt.Exec(ctx, `RELEASE g`)
			if err == nil {
				ok = append(ok, j)
				continue
			}
			r.Err = classify(err, "commit") // fn returned nil after a failed statement
		}
		if _, err := pt.Exec(ctx, `ROLLBACK TO g; RELEASE g`); err != nil {
			rollback(ctx, pt)
			j.Answer(r)
			groupcommit.Fail(append(ok, group[i+1:]...), classify(err, "roll back to savepoint"))
			return again
		}
		if later && lockTimedOut(r.Err) {
			again = append(again, j) // first in the next group, where it may wait
			continue
		}
		j.Answer(r)
	}
	if len(ok) == 0 {
		rollback(ctx, pt)
		return again
	}
	err = pt.Commit(ctx)
	if err != nil {
		err = classify(err, "commit")
	}
	groupcommit.Fail(ok, err) // err is nil when the commit held
	return again
}

// lockTimedOut reports whether err comes from lock_timeout (55P03
// lock_not_available).
func lockTimedOut(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}

// uncancelled runs a group's statements without the callers' contexts: a
// cancelled statement aborts the transaction, every Update of the group
// with it. A caller that gave up is answered all the same.
type uncancelled struct{ tx pgx.Tx }

func (u uncancelled) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return u.tx.Exec(context.WithoutCancel(ctx), sql, args...)
}

func (u uncancelled) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return u.tx.Query(context.WithoutCancel(ctx), sql, args...)
}

func (u uncancelled) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return u.tx.QueryRow(context.WithoutCancel(ctx), sql, args...)
}
